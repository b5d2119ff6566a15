import type { Attributes, Context, Link, Span, Tracer } from '@opentelemetry/api';
import type { JobPayload } from '../core/job';
import { loadOpenTelemetry, type OtelApi } from './otel-api';
import { extractTraceContext, injectTraceContext } from './trace-context';
import type { ResolvedTracingOptions } from './tracing-options';

/**
 * `messaging.system` of every span: the job system, not its transport. Redis is where jobs
 * wait, but `redis` names the database in `db.system` (the ioredis instrumentation's
 * spans), and the value names the system whose conventions the spans follow — Sidekiq's
 * instrumentation says `sidekiq` for the same reason.
 */
export const MESSAGING_SYSTEM = 'verk';

/** The tracer's name (the instrumentation scope on every span). */
export const TRACER_NAME = 'nestjs-verk';

/**
 * OpenTelemetry spans of one engine, following the messaging semantic conventions:
 * PRODUCER spans around enqueue and schedule whose context is written into the payload
 * (`trace_context`), and a CONSUMER span around each perform that links to it (or, with
 * `parent: true`, is its child). Created only when `tracing` is set; with no SDK
 * registered every call goes to the API's no-op tracer and no `trace_context` is written.
 */
export class JobTracing {
  private readonly api: OtelApi;
  private readonly tracer: Tracer;
  private readonly parent: boolean;

  constructor(options: ResolvedTracingOptions) {
    this.api = loadOpenTelemetry();
    // The global provider's tracer: a proxy until the application registers an SDK, so the
    // SDK may be registered before or after the engine is created.
    this.tracer = this.api.trace.getTracer(TRACER_NAME);
    this.parent = options.parent;
  }

  /**
   * One job written by enqueue (`send`) or schedule (`schedule`): a PRODUCER span, child of
   * the active context (the request that enqueues), around `write` (client middleware and
   * the Redis write, so the middleware's own spans are its children). Its context goes in
   * the payload before the middleware runs.
   */
  send<T>(payload: JobPayload, operation: 'send' | 'schedule', write: () => Promise<T>): Promise<T> {
    const { api } = this;
    const active = api.context.active();
    const span = this.tracer.startSpan(`${operation} ${payload.queue}`, { kind: api.SpanKind.PRODUCER, attributes: messageAttributes(payload, 'send', operation) }, active);
    if (this.isNoop(span)) return write();
    injectTraceContext(api, payload, span.spanContext());
    return this.around(span, api.trace.setSpan(active, span), write);
  }

  /**
   * Jobs written in one call (enqueueMany): a `create` PRODUCER span per job, whose context
   * goes in that job's payload, and one `send` CLIENT span around the write that links to
   * them (the conventions' batch publishing).
   */
  sendMany<T>(payloads: JobPayload[], write: () => Promise<T>): Promise<T> {
    const { api } = this;
    const active = api.context.active();
    const links: Link[] = [];
    for (const payload of payloads) {
      const create = this.tracer.startSpan(`create ${payload.queue}`, { kind: api.SpanKind.PRODUCER, attributes: messageAttributes(payload, 'create', 'create') }, active);
      const context = create.spanContext();
      injectTraceContext(api, payload, context);
      create.end();
      if (api.isSpanContextValid(context)) links.push({ context, attributes: { 'messaging.message.id': payload.jid } });
    }
    const queue = payloads[0].queue;
    const oneQueue = payloads.every((payload) => payload.queue === queue);
    const attributes: Attributes = {
      'messaging.system': MESSAGING_SYSTEM,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.batch.message_count': payloads.length,
    };
    if (oneQueue) attributes['messaging.destination.name'] = queue;
    const span = this.tracer.startSpan(oneQueue ? `send ${queue}` : 'send', { kind: api.SpanKind.CLIENT, attributes, links }, active);
    return this.around(span, api.trace.setSpan(active, span), write);
  }

  /**
   * One run of a job: a CONSUMER span around `perform` (the middleware and the worker, so
   * their own spans are its children) that links to the producer's span, and is its child
   * with `parent: true`. A job without a trace context (pushed by Sidekiq) gets a root span
   * without a link. A retry is another run: another span, linked to the same producer.
   */
  process(job: JobPayload, queue: string, nodeId: string, perform: () => unknown): unknown {
    const { api } = this;
    const producer = extractTraceContext(api, job);
    // Not the active context: whatever the fetch loop happened to run in is no parent of a job.
    const parent = producer && this.parent ? api.trace.setSpanContext(api.ROOT_CONTEXT, producer) : api.ROOT_CONTEXT;
    const attributes = messageAttributes(job, 'process', 'process', queue);
    attributes['messaging.client.id'] = nodeId;
    if (typeof job.retry_count === 'number') attributes['messaging.verk.job.retry_count'] = job.retry_count;
    const span = this.tracer.startSpan(`process ${queue}`, { kind: api.SpanKind.CONSUMER, attributes, links: producer ? [{ context: producer }] : undefined }, parent);
    if (this.isNoop(span)) return perform();
    return this.around(span, api.trace.setSpan(parent, span), perform);
  }

  /**
   * The API's no-op span (no SDK registered): nothing to record and no context to pass
   * on, so the work runs as it would without tracing. A span the SDK sampled out is not
   * one: its valid context still goes to the children, which follow its decision.
   */
  private isNoop(span: Span): boolean {
    if (span.isRecording()) return false;
    const context = span.spanContext();
    // The no-op tracer's spans share this one object: no id to validate on the common path.
    return context === this.api.INVALID_SPAN_CONTEXT || !this.api.isSpanContextValid(context);
  }

  /** Runs `fn` with `span` active; an error is recorded on it (status ERROR) and rethrown. */
  private async around<T>(span: Span, context: Context, fn: () => T): Promise<Awaited<T>> {
    try {
      return await this.api.context.with(context, fn);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      span.setAttribute('error.type', error instanceof Error ? error.name || error.constructor.name : typeof error);
      throw error;
    } finally {
      span.end();
    }
  }
}

/** The attributes every span of one job has (semantic conventions, plus the job's class). */
function messageAttributes(payload: JobPayload, type: string, name: string, queue: string = payload.queue): Attributes {
  return {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.destination.name': queue,
    'messaging.message.id': payload.jid,
    'messaging.operation.type': type,
    'messaging.operation.name': name,
    'messaging.verk.job.class': payload.class,
  };
}
