import { VerkConfigError } from '../errors';

/**
 * What Verk needs of a prom-client `Registry`, typed by shape so the engine's public types
 * never name prom-client (an optional peer: an application without it must still compile
 * against `nestjs-verk`). A prom-client 15 `Registry` is one.
 */
export interface VerkMetricsRegistry {
  /** The exposition's Content-Type (Prometheus text or OpenMetrics). */
  readonly contentType: string;
  /** The text exposition of every metric in the registry. */
  metrics(): Promise<string>;
  getSingleMetric(name: string): unknown;
  registerMetric(metric: object): void;
}

/** `metrics` option: Prometheus metrics through prom-client (see docs/metrics.md). */
export interface VerkMetricsOptions {
  /** The registry to register in. Default: prom-client's default registry (`register`). */
  registry?: VerkMetricsRegistry;
  /** Prefix of every metric name. Default `verk_`. */
  prefix?: string;
  /** Upper bounds (seconds) of the job duration and wait histograms' buckets, increasing. */
  buckets?: number[];
  /**
   * VerkModule only: serve the registry at this path (e.g. `/metrics`) with
   * VerkMetricsController, for an application that has no metrics endpoint of its own.
   * Needs `VerkModule.forRoot` (the controller is declared when the module is built).
   */
  endpoint?: string;
}

export interface ResolvedMetricsOptions {
  /** Undefined: prom-client's default registry. */
  registry?: VerkMetricsRegistry;
  prefix: string;
  buckets: readonly number[];
  endpoint?: string;
}

/**
 * Seconds, from 5 ms (a no-op job) to an hour (a long wait in a busy queue); one set for
 * both histograms so a dashboard can compare them bucket by bucket.
 */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

const KNOWN = ['registry', 'prefix', 'buckets', 'endpoint'];

function fail(field: string, message: string): never {
  throw new VerkConfigError(`Invalid Verk option "${field}": ${message}`, { field });
}

function isRegistry(value: unknown): value is VerkMetricsRegistry {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.metrics === 'function' && typeof candidate.registerMetric === 'function' && typeof candidate.getSingleMetric === 'function';
}

/** Validates `metrics`: false/undefined (off: prom-client is never loaded), true, or VerkMetricsOptions. */
export function resolveMetricsOptions(value: unknown): ResolvedMetricsOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { prefix: 'verk_', buckets: DEFAULT_BUCKETS };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail('metrics', `must be true, false or { registry?, prefix?, buckets?, endpoint? }, got ${JSON.stringify(value)}`);
  }
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) if (!KNOWN.includes(key)) fail(`metrics.${key}`, `unknown option (known: ${KNOWN.join(', ')})`);

  const { registry, prefix = 'verk_', buckets = DEFAULT_BUCKETS, endpoint } = input;
  if (registry !== undefined && !isRegistry(registry)) fail('metrics.registry', 'must be a prom-client Registry');
  // Prometheus's metric name grammar; the prefix starts every name.
  if (typeof prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix)) fail('metrics.prefix', `must be a valid start of a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${JSON.stringify(prefix)}`);
  if (!Array.isArray(buckets) || buckets.length === 0 || !buckets.every((b, i) => typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > (buckets[i - 1] as number)))) {
    fail('metrics.buckets', `must be a non-empty array of increasing positive numbers (seconds), got ${JSON.stringify(buckets)}`);
  }
  if (endpoint !== undefined && (typeof endpoint !== 'string' || !/^\/\S*$/.test(endpoint))) fail('metrics.endpoint', `must be a path starting with '/', got ${JSON.stringify(endpoint)}`);
  return { registry, prefix, buckets: [...(buckets as number[])], endpoint };
}
