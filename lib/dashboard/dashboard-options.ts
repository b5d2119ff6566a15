import type { CanActivate, Type } from '@nestjs/common';
import { VerkConfigError } from '../engine/errors';

/** What a mutating request does; `authorize(request, action)` decides each one. */
export type DashboardAction = 'retry' | 'delete' | 'kill' | 'pause' | 'resume' | 'clear' | 'cancel' | 'move' | 'priority' | 'enqueue' | 'remove';

export const DASHBOARD_ACTIONS: readonly DashboardAction[] = ['retry', 'delete', 'kill', 'pause', 'resume', 'clear', 'cancel', 'move', 'priority', 'enqueue', 'remove'];

/** Options of `VerkDashboardModule.forRoot`. */
export interface VerkDashboardOptions {
  /** Where the dashboard is mounted, under the app's global prefix. Default '/verk'. */
  path?: string;
  /** No mutating route at all (every POST answers 404) and no buttons. Default false. */
  readOnly?: boolean;
  /** Nest guards (classes resolved through DI, or instances) run before every route; a denial answers 403. */
  guards?: (Type<CanActivate> | CanActivate)[];
  /**
   * Decides each mutating request (role-based access): false answers 403. Also asked, per
   * page, which buttons to show. `request` is the framework's request (Express or Fastify).
   */
  authorize?: (request: unknown, action: DashboardAction) => boolean | Promise<boolean>;
  /** The live chart's default polling period, ms (the viewer may change it from 2 to 20 s). Default 5000. */
  pollInterval?: number;
  /**
   * The named Verk instance to show (`VerkModule.forRoot({ name })`); default the unnamed
   * one. Import the dashboard once per instance, at different paths, to see several.
   */
  instance?: string;
}

export interface ResolvedDashboardOptions {
  path: string;
  readOnly: boolean;
  guards: (Type<CanActivate> | CanActivate)[];
  authorize?: VerkDashboardOptions['authorize'];
  pollInterval: number;
  instance?: string;
}

const KNOWN = ['path', 'readOnly', 'guards', 'authorize', 'pollInterval', 'instance'];

/** Checks the options, naming the field that is wrong. */
export function resolveDashboardOptions(input: VerkDashboardOptions | undefined): ResolvedDashboardOptions {
  const options = input ?? {};
  if (typeof options !== 'object' || Array.isArray(options)) throw new VerkConfigError(`VerkDashboardModule options must be an object, got ${JSON.stringify(options)}`);
  for (const key of Object.keys(options)) if (!KNOWN.includes(key)) throw new VerkConfigError(`VerkDashboardModule option "${key}": unknown option (known: ${KNOWN.join(', ')})`);
  const path = options.path ?? '/verk';
  if (typeof path !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(path) || path.includes('//')) {
    throw new VerkConfigError(`VerkDashboardModule option "path": must start with / and hold only letters, digits, . _ ~ - and /, got ${JSON.stringify(path)}`);
  }
  const pollInterval = options.pollInterval ?? 5000;
  if (typeof pollInterval !== 'number' || !Number.isInteger(pollInterval) || pollInterval < 2000 || pollInterval > 20_000) {
    throw new VerkConfigError(`VerkDashboardModule option "pollInterval": must be an integer from 2000 to 20000 ms, got ${JSON.stringify(pollInterval)}`);
  }
  const guards = options.guards ?? [];
  if (!Array.isArray(guards) || guards.some((guard) => typeof guard !== 'function' && (typeof guard !== 'object' || guard === null || typeof guard.canActivate !== 'function'))) {
    throw new VerkConfigError('VerkDashboardModule option "guards": must be an array of guard classes or objects with canActivate()');
  }
  if (options.authorize !== undefined && typeof options.authorize !== 'function') throw new VerkConfigError('VerkDashboardModule option "authorize": must be a function (request, action) => boolean');
  if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') throw new VerkConfigError(`VerkDashboardModule option "readOnly": must be a boolean, got ${JSON.stringify(options.readOnly)}`);
  if (options.instance !== undefined && (typeof options.instance !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(options.instance))) {
    throw new VerkConfigError(`VerkDashboardModule option "instance": must be the name of a VerkModule instance, got ${JSON.stringify(options.instance)}`);
  }
  return { path: path.length > 1 ? path.replace(/\/+$/, '') : path, readOnly: options.readOnly === true, guards, authorize: options.authorize, pollInterval, instance: options.instance };
}
