import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type CanActivate, HttpException, type Type } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { VerkError, VerkValidationError, VerkFlowError, VerkConfigError } from '../../engine/errors';
import type { VerkLogger } from '../../engine/logger';
import type { DashboardDataSource } from '../data/data-source';
import { DASHBOARD_ACTIONS, type DashboardAction, type ResolvedDashboardOptions } from '../dashboard-options';
import { html } from '../html/html';
import { layout } from '../pages/layout';
import { PAGE_ROUTES } from '../pages/page-routes';
import { API_ROUTES } from '../api/api-routes';
import { newNonce, securityHeaders } from '../security/headers';
import { isSameOrigin } from '../security/same-origin';
import { runGuards } from '../security/guards';
import { type DashRequest, firstValue, HttpError, makeUrl, type PageContext } from './context';

interface RawRequest {
  method?: string;
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  headers?: Record<string, string | string[] | undefined>;
  body?: unknown;
}

export interface RouterSetup {
  adapter: AbstractHttpAdapter;
  /** Mount point with the global prefix, e.g. '/api/verk' ('' for the root). */
  base: string;
  options: ResolvedDashboardOptions;
  data: DashboardDataSource;
  guards: CanActivate[];
  owner: Type<unknown>;
  logger: VerkLogger;
}

/** Our assets directory: next to the compiled file when copied there, else the package's lib/dashboard/assets. */
function assetsDir(): string {
  for (const candidate of [resolve(__dirname, '../assets'), resolve(__dirname, '../../../../lib/dashboard/assets')]) {
    if (existsSync(resolve(candidate, 'dashboard.js'))) return candidate;
  }
  throw new VerkConfigError(`nestjs-verk: cannot find the dashboard's assets next to ${__dirname}; is the package installed completely?`);
}

function normalize(raw: RawRequest): DashRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(raw.headers ?? {})) headers[name.toLowerCase()] = Array.isArray(value) ? value[0] : value;
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw.query ?? {})) {
    const first = firstValue(value);
    if (first !== undefined) query[name] = first;
  }
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw.params ?? {})) if (typeof value === 'string') params[name] = value;
  return { method: raw.method === 'POST' ? 'POST' : 'GET', params, query, headers, body: raw.body, raw };
}

/**
 * Registers every route of the dashboard in the application's own HTTP server, through
 * Nest's adapter (Express and Fastify alike): pages, the JSON API, our two assets. Every
 * response carries the security headers; guards run first on every route; a POST must be
 * same-origin and allowed by `authorize`. In read-only mode no POST route exists.
 */
export function registerDashboardRoutes(setup: RouterSetup): void {
  const { adapter, base, options } = setup;
  const dir = assetsDir();
  const assets: Record<string, [string, string]> = {
    'dashboard.css': ['text/css; charset=utf-8', readFileSync(resolve(dir, 'dashboard.css'), 'utf8')],
    'dashboard.js': ['text/javascript; charset=utf-8', readFileSync(resolve(dir, 'dashboard.js'), 'utf8')],
  };

  const send = (response: unknown, status: number, type: string, body: string, nonce = newNonce()): void => {
    for (const [name, value] of Object.entries(securityHeaders(nonce))) adapter.setHeader(response, name, value);
    adapter.setHeader(response, 'Content-Type', type);
    adapter.reply(response, body, status);
  };

  const handler = (kind: 'page' | 'json' | 'asset', handle: (ctx: PageContext, nonce: string, response: unknown) => Promise<void>, action?: DashboardAction) => {
    const route = (request: RawRequest, response: unknown): void => {
      const nonce = newNonce();
      const req = normalize(request);
      const fail = (status: number, message: string): void => {
        if (kind === 'json' || req.method === 'POST') send(response, status, 'application/json; charset=utf-8', JSON.stringify({ ok: false, error: message }), nonce);
        else send(response, status, 'text/html; charset=utf-8', html`<!doctype html><meta charset="utf-8"><title>${status}</title><h1>${status}</h1><p>${message}</p>`.text, nonce);
      };
      void (async () => {
        try {
          if (!(await runGuards(setup.guards, request, response, setup.owner, route))) return fail(403, 'Forbidden');
          if (req.method === 'POST') {
            if (!isSameOrigin(req.headers)) return fail(403, 'Cross-site request refused: a POST must come from this site (Sec-Fetch-Site: same-origin, or a matching Origin)');
            if (action && options.authorize && !(await options.authorize(request, action))) return fail(403, `Not allowed: ${action}`);
          }
          const allowed = new Set<DashboardAction>();
          if (!options.readOnly && kind === 'page') {
            for (const candidate of DASHBOARD_ACTIONS) if (!options.authorize || (await options.authorize(request, candidate))) allowed.add(candidate);
          }
          const ctx: PageContext = { req, data: setup.data, base, options, allowed, url: (path, query) => makeUrl(base, path, query) };
          await handle(ctx, nonce, response);
        } catch (error) {
          if (error instanceof HttpException) return fail(error.getStatus(), error.message);
          if (error instanceof HttpError) return fail(error.status, error.message);
          if (error instanceof VerkValidationError || error instanceof VerkFlowError) return fail(400, error.message);
          if (error instanceof VerkError && /not available/.test(error.message)) return fail(501, error.message);
          setup.logger.error(`Dashboard: ${req.method} failed: ${(error as Error).stack ?? String(error)}`);
          return fail(500, 'The dashboard could not answer; see the server log');
        }
      })();
    };
    return route;
  };

  for (const [name, [type, body]] of Object.entries(assets)) {
    adapter.get(`${base}/assets/${name}`, handler('asset', async (_ctx, nonce, response) => send(response, 200, type, body, nonce)));
  }
  for (const page of PAGE_ROUTES) {
    adapter.get(
      `${base}${page.path}` || '/',
      handler('page', async (ctx, nonce, response) => {
        const result = await page.handle(ctx);
        if ('redirect' in result) {
          for (const [name, value] of Object.entries(securityHeaders(nonce))) adapter.setHeader(response, name, value);
          adapter.redirect(response, 302, result.redirect);
          return;
        }
        send(response, 200, 'text/html; charset=utf-8', layout(ctx, nonce, result).text, nonce);
      }),
    );
  }
  for (const route of API_ROUTES) {
    if (route.method === 'POST' && options.readOnly) continue;
    const json = handler('json', async (ctx, nonce, response) => send(response, 200, 'application/json; charset=utf-8', JSON.stringify(await route.handle(ctx)), nonce), route.action);
    if (route.method === 'GET') adapter.get(`${base}/api${route.path}`, json);
    else adapter.post(`${base}/api${route.path}`, json);
  }
}
