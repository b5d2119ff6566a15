import type { DashboardDataSource } from '../data/data-source';
import type { DashboardAction, ResolvedDashboardOptions } from '../dashboard-options';
import type { Html } from '../html/html';

/** A request as the dashboard reads it, the same on Express and Fastify. */
export interface DashRequest {
  method: 'GET' | 'POST';
  params: Record<string, string>;
  /** Query parameters, first value of each. */
  query: Record<string, string>;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  body: unknown;
  /** The framework's own request (what guards and `authorize` receive). */
  raw: unknown;
}

export interface PageContext {
  req: DashRequest;
  data: DashboardDataSource;
  /** Where the dashboard is mounted, global prefix included, without a trailing slash ('' at the root). */
  base: string;
  options: ResolvedDashboardOptions;
  /** Actions this viewer may take: none when read-only; else what `authorize` allows. */
  allowed: ReadonlySet<DashboardAction>;
  /** A dashboard URL: base + path, with the query parameters that have a value. */
  url(path: string, query?: Record<string, string | number | undefined | null>): string;
}

export type PageResult = { title: string; body: Html; section: string } | { redirect: string };

/** An error with the HTTP status to answer (400 bad input, 404 not found, 501 not available). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The first value of a query parameter, or undefined. */
export function firstValue(value: unknown): string | undefined {
  if (Array.isArray(value)) return firstValue(value[0]);
  return typeof value === 'string' ? value : undefined;
}

export function makeUrl(base: string, path: string, query: Record<string, string | number | undefined | null> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return `${base}${path}${text ? `?${text}` : ''}` || '/';
}
