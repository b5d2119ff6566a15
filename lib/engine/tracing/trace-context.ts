import type { SpanContext } from '@opentelemetry/api';
import type { JobPayload } from '../core/job';
import type { OtelApi } from './otel-api';

/**
 * The payload field that carries the producer's span context: W3C Trace Context
 * (`traceparent`, `tracestate`) in an object of its own, a field Sidekiq and Verk ignore
 * and keep. Written in W3C form whatever propagator the application registered, so any
 * consumer (another language included) can read it.
 */
export interface TraceContextField {
  traceparent: string;
  tracestate: string;
}

/** version-traceid-parentid-flags; a later version may append fields after a dash. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Writes the span context into a payload being built; an invalid one (no SDK) writes nothing. */
export function injectTraceContext(api: OtelApi, payload: JobPayload, context: SpanContext): void {
  if (!api.isSpanContextValid(context)) return;
  const flags = (context.traceFlags & 0xff).toString(16).padStart(2, '0');
  const field: TraceContextField = { traceparent: `00-${context.traceId}-${context.spanId}-${flags}`, tracestate: context.traceState?.serialize() ?? '' };
  payload.trace_context = field;
}

/**
 * The producer's span context of a fetched job: from `trace_context`, else from top-level
 * `traceparent`/`tracestate` (where OpenTelemetry's Sidekiq instrumentation puts them).
 * Undefined when there is none or it does not parse: the job then runs all the same.
 */
export function extractTraceContext(api: OtelApi, job: JobPayload): SpanContext | undefined {
  const carrier = job.trace_context;
  const source = carrier !== null && typeof carrier === 'object' ? (carrier as Record<string, unknown>) : job;
  const traceparent = source.traceparent;
  if (typeof traceparent !== 'string') return undefined;
  const match = TRACEPARENT.exec(traceparent.trim());
  // Version ff is invalid; version 00 has exactly four fields.
  if (!match || match[1] === 'ff' || (match[1] === '00' && match[5] !== undefined)) return undefined;
  // The pattern checked the form; all zeros is the one invalid id of that form.
  if (match[2] === INVALID_TRACE_ID || match[3] === INVALID_SPAN_ID) return undefined;
  const context: SpanContext = { traceId: match[2], spanId: match[3], traceFlags: parseInt(match[4], 16), isRemote: true };
  const tracestate = source.tracestate;
  if (typeof tracestate === 'string' && tracestate.length > 0) context.traceState = api.createTraceState(tracestate);
  return context;
}

const INVALID_TRACE_ID = '0'.repeat(32);
const INVALID_SPAN_ID = '0'.repeat(16);
