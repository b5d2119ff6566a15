import { VerkConfigError } from '../errors';

/** `tracing` option: OpenTelemetry spans around enqueue and perform (see docs/tracing.md). */
export interface TracingOptions {
  /**
   * Makes each perform's span a child of the span that enqueued the job (one trace from
   * the request that enqueued it to the job), instead of the root of a trace of its own
   * that only links to it. Default false, the messaging conventions' default: a job may
   * run hours later, or many times, and would stretch the enqueuing trace over all of it.
   */
  parent?: boolean;
}

/** The `tracing` option with its defaults filled in. */
export interface ResolvedTracingOptions {
  /** False: no span, no `trace_context`, and `@opentelemetry/api` is never loaded (the default). */
  enabled: boolean;
  parent: boolean;
}

function fail(field: string, message: string): never {
  throw new VerkConfigError(`Invalid Verk option "${field}": ${message}`, { field });
}

/** Validates `tracing`: false/undefined (off), true, or TracingOptions. */
export function resolveTracingOptions(value: unknown): ResolvedTracingOptions {
  if (value === undefined || value === false) return { enabled: false, parent: false };
  if (value === true) return { enabled: true, parent: false };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail('tracing', `must be true, false or { parent?: boolean }, got ${JSON.stringify(value)}`);
  }
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (key !== 'parent') fail(`tracing.${key}`, 'unknown option (known: parent)');
  }
  if (input.parent !== undefined && typeof input.parent !== 'boolean') fail('tracing.parent', `must be a boolean, got ${JSON.stringify(input.parent)}`);
  return { enabled: true, parent: input.parent === true };
}
