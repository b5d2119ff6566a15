import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { Controller, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { context, propagation, type SpanContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { VerkModule, VerkService } from 'nestjs-verk';
import { type JobPayload, VerkConfigError, VerkEngine, type VerkOptions } from 'nestjs-verk/engine';
import { startEngine, useRedis, zsetJobs } from '../helpers/engine';
import { waitFor } from '../helpers/wait';

const ctx = useRedis();

// The real SDK, registered globally for each test (as an application's tracing setup does)
// and removed after it, so no test sees another's provider, context manager or spans.
let exporter: InMemorySpanExporter;
let provider: NodeTracerProvider;

beforeEach(() => {
  exporter = new InMemorySpanExporter();
  provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
});

afterEach(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const named = (name: string): ReadableSpan[] => spans().filter((span) => span.name === name);
const byStart = (a: ReadableSpan, b: ReadableSpan): number => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1];
const traceparentOf = (span: ReadableSpan): string => `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;

function one(name: string, where: (span: ReadableSpan) => boolean = () => true): ReadableSpan {
  const found = named(name).filter(where);
  assert.equal(found.length, 1, `one span "${name}" expected, got ${found.length} (all: ${spans().map((span) => span.name).join(', ')})`);
  return found[0];
}

function assertSame(actual: SpanContext | undefined, expected: ReadableSpan, what: string): void {
  assert.ok(actual, `${what}: missing`);
  assert.equal(actual.traceId, expected.spanContext().traceId, `${what}: trace id`);
  assert.equal(actual.spanId, expected.spanContext().spanId, `${what}: span id of "${expected.name}"`);
}

function assertLinkedTo(consumer: ReadableSpan, producer: ReadableSpan): void {
  assert.equal(consumer.links.length, 1, `${consumer.name} has one link`);
  assertSame(consumer.links[0].context, producer, `${consumer.name}'s link`);
}

// ---------------------------------------------------------------------------------------

@Controller('orders')
class OrdersController {
  constructor(private readonly verk: VerkService) {}

  @Post()
  async create(): Promise<{ jid: string }> {
    return { jid: await this.verk.enqueue({ queue: 'default', class: 'ChargeCard', args: [42] }) };
  }
}

test('one trace from an HTTP request: enqueue on the web node, perform on another node, a failure and its retry, middleware inside', async () => {
  // Node "worker": a plain engine; its job fails once and is retried at once.
  const payloads: JobPayload[] = [];
  const worker = await startEngine(
    { redis: ctx.server.url, nodeId: 'worker', queues: { default: 1 }, pollInterval: 50, tracing: true },
    {
      ChargeCard: {
        perform: (_args, job) => {
          payloads.push(job);
          const span = trace.getTracer('app').startSpan('charge card');
          span.end();
          if (payloads.length === 1) throw new Error('card declined');
        },
        retryAt: (failedAt) => failedAt,
      },
    },
  );
  worker.middleware.use(async (_job, next) => {
    const tracer = trace.getTracer('app');
    await tracer.startActiveSpan('middleware', async (span) => {
      try {
        await next();
      } finally {
        span.end();
      }
    });
  });

  // Node "web": a Nest HTTP app that only enqueues. A server span per request stands for
  // the HTTP instrumentation an application would have.
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'web', tracing: true })], controllers: [OrdersController] })
  class WebModule {}
  const app = await NestFactory.create(WebModule, { logger: false });
  app.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const span = trace.getTracer('http').startSpan(`${req.method} /orders`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': String(req.method), 'url.path': String(req.url) } });
    res.on('finish', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      span.end();
    });
    context.with(trace.setSpan(context.active(), span), next);
  });
  let engineStopped = false;
  try {
    await app.listen(0, '127.0.0.1');
    const port = (app.getHttpServer().address() as AddressInfo).port;
    const response = await fetch(`http://127.0.0.1:${port}/orders`, { method: 'POST' });
    assert.equal(response.status, 201);
    const { jid } = (await response.json()) as { jid: string };

    await waitFor(() => named('process default').length === 2, 'two runs of the job (a failure and its retry)');
    await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 1, 'the retry to be acknowledged');
    await worker.stop();
    engineStopped = true;

    // The request, and the producer span inside it.
    const http = one('POST /orders');
    assert.equal(http.kind, SpanKind.SERVER);
    assert.equal(http.parentSpanContext, undefined);
    const send = one('send default');
    assert.equal(send.kind, SpanKind.PRODUCER);
    assertSame(send.parentSpanContext, http, 'the producer span is a child of the request');
    assert.deepEqual(send.attributes, {
      'messaging.system': 'verk',
      'messaging.destination.name': 'default',
      'messaging.message.id': jid,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.verk.job.class': 'ChargeCard',
    });
    assert.equal(send.status.code, SpanStatusCode.UNSET);
    assert.equal(send.instrumentationScope.name, 'nestjs-verk');

    // The payload carried the producer's context, and the retry kept it.
    assert.equal(payloads.length, 2);
    for (const payload of payloads) assert.deepEqual(payload.trace_context, { traceparent: traceparentOf(send), tracestate: '' });

    // Two runs: each a root CONSUMER span linked to the producer.
    const [failed, retried] = named('process default').sort(byStart);
    for (const run of [failed, retried]) {
      assert.equal(run.kind, SpanKind.CONSUMER);
      assert.equal(run.parentSpanContext, undefined, 'a consumer span is the root of its own trace by default');
      assert.notEqual(run.spanContext().traceId, http.spanContext().traceId);
      assertLinkedTo(run, send);
      assert.equal(run.attributes['messaging.system'], 'verk');
      assert.equal(run.attributes['messaging.destination.name'], 'default');
      assert.equal(run.attributes['messaging.message.id'], jid);
      assert.equal(run.attributes['messaging.operation.type'], 'process');
      assert.equal(run.attributes['messaging.operation.name'], 'process');
      assert.equal(run.attributes['messaging.client.id'], 'worker');
      assert.equal(run.attributes['messaging.verk.job.class'], 'ChargeCard');
    }
    assert.notEqual(failed.spanContext().traceId, retried.spanContext().traceId, 'a retry is a new span of its own');
    assert.equal(failed.status.code, SpanStatusCode.ERROR);
    assert.equal(failed.status.message, 'card declined');
    assert.equal(failed.attributes['error.type'], 'Error');
    assert.equal(failed.attributes['messaging.verk.job.retry_count'], undefined);
    const exception = failed.events.find((event) => event.name === 'exception');
    assert.equal(exception?.attributes?.['exception.message'], 'card declined');
    assert.equal(exception?.attributes?.['exception.type'], 'Error');
    assert.equal(retried.status.code, SpanStatusCode.UNSET);
    assert.equal(retried.events.length, 0);
    assert.equal(retried.attributes['messaging.verk.job.retry_count'], 1);

    // Middleware runs inside the consumer span, the worker inside the middleware.
    const middleware = named('middleware').sort(byStart);
    const charges = named('charge card').sort(byStart);
    assert.equal(middleware.length, 2);
    assert.equal(charges.length, 2);
    [failed, retried].forEach((run, i) => {
      assertSame(middleware[i].parentSpanContext, run, `middleware span of run ${i + 1}`);
      assertSame(charges[i].parentSpanContext, middleware[i], `worker's span of run ${i + 1}`);
    });
    assert.equal((await zsetJobs(ctx.redis, 'retry')).length, 0);
  } finally {
    if (!engineStopped) await worker.stop();
    await app.close();
  }
});

test('tracing: { parent: true } makes each consumer span a child of its producer span: enqueue, enqueueMany (create + send), schedule; client middleware runs inside the producer span', async () => {
  const seen: string[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 2, other: 1 }, pollInterval: 50, tracing: { parent: true } }, { Echo: { perform: (args) => void seen.push(String(args[0])) } });
  const activeInClientMiddleware = new Map<string, SpanContext | undefined>();
  engine.middleware.useClient(async (job, next) => {
    activeInClientMiddleware.set(String(job.args[0]), trace.getActiveSpan()?.spanContext());
    if (job.args[0] === 'refused') throw new Error('refused by policy');
    await next();
  });
  try {
    const tracer = trace.getTracer('app');
    const ids = await tracer.startActiveSpan('request', async (request) => {
      try {
        const single = await engine.client.enqueue({ queue: 'default', class: 'Echo', args: ['single'] });
        const many = await engine.client.enqueueMany([
          { queue: 'default', class: 'Echo', args: ['many-1'] },
          { queue: 'other', class: 'Echo', args: ['many-2'] },
        ]);
        const later = await engine.client.schedule({ queue: 'default', class: 'Echo', args: ['later'] }, Date.now() + 300);
        await assert.rejects(engine.client.enqueue({ queue: 'default', class: 'Echo', args: ['refused'] }), /refused by policy/);
        return { single, many, later };
      } finally {
        request.end();
      }
    });
    await waitFor(() => named('process default').length + named('process other').length === 4, 'four jobs performed');
    const request = one('request');
    const trace0 = request.spanContext().traceId;

    // enqueue: one PRODUCER span; the job's consumer is its child (same trace) and links to it.
    const send = one('send default', (span) => span.attributes['messaging.message.id'] === ids.single);
    assertSame(send.parentSpanContext, request, 'send');
    assertSame(activeInClientMiddleware.get('single'), send, 'active span in the client middleware');
    const single = one('process default', (span) => span.attributes['messaging.message.id'] === ids.single);
    assertSame(single.parentSpanContext, send, 'the consumer is a child of the producer');
    assert.equal(single.spanContext().traceId, trace0);
    assertLinkedTo(single, send);

    // enqueueMany: a create span per job (in its payload), one CLIENT send span linking to them.
    const creates = named('create default').concat(named('create other'));
    assert.equal(creates.length, 2);
    const batch = one('send', (span) => span.kind === SpanKind.CLIENT);
    assertSame(batch.parentSpanContext, request, 'the batch send');
    assert.equal(batch.attributes['messaging.batch.message_count'], 2);
    assert.equal(batch.attributes['messaging.destination.name'], undefined, 'two queues: no one destination');
    assert.equal(batch.links.length, 2);
    ids.many.forEach((jid, index) => {
      const create = one(index === 0 ? 'create default' : 'create other');
      assert.equal(create.kind, SpanKind.PRODUCER);
      assert.equal(create.attributes['messaging.message.id'], jid);
      assert.equal(create.attributes['messaging.operation.type'], 'create');
      assertSame(create.parentSpanContext, request, `create ${index}`);
      assertSame(batch.links[index].context, create, `the batch's link ${index}`);
      assert.equal(batch.links[index].attributes?.['messaging.message.id'], jid);
      const consumer = one(index === 0 ? 'process default' : 'process other', (span) => span.attributes['messaging.message.id'] === jid);
      assertSame(consumer.parentSpanContext, create, `consumer of many-${index + 1}`);
      assertLinkedTo(consumer, create);
    });

    // schedule: a `schedule <queue>` PRODUCER span; the job runs later as its child.
    const scheduled = one('schedule default');
    assert.equal(scheduled.kind, SpanKind.PRODUCER);
    assert.equal(scheduled.attributes['messaging.operation.type'], 'send');
    assert.equal(scheduled.attributes['messaging.operation.name'], 'schedule');
    assert.equal(scheduled.attributes['messaging.message.id'], ids.later);
    const later = one('process default', (span) => span.attributes['messaging.message.id'] === ids.later);
    assertSame(later.parentSpanContext, scheduled, 'the scheduled job');

    // A refused enqueue: its producer span says so, and nothing was written.
    const refused = named('send default').find((span) => span.status.code === SpanStatusCode.ERROR);
    assert.ok(refused, 'the refused enqueue has a span with status ERROR');
    assert.equal(refused.status.message, 'refused by policy');
    assert.deepEqual(seen.sort(), ['later', 'many-1', 'many-2', 'single']);
  } finally {
    await engine.stop();
  }
});

test('a job without trace_context (pushed by Sidekiq) runs with a root consumer span and no link; a top-level traceparent (Sidekiq instrumentation) is linked; a malformed or all-zero one is ignored', async () => {
  const ran: string[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, tracing: true }, { HardWorker: { perform: (args) => void ran.push(String(args[0])) } });
  const remote = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
  const sidekiq = (arg: string, jid: string, extra: string): string =>
    `{"class":"HardWorker","args":["${arg}"],"retry":true,"queue":"default","jid":"${jid}","created_at":1700000000.123,"enqueued_at":1700000000.124${extra}}`;
  try {
    await ctx.redis.lpush(
      'queue:default',
      sidekiq('plain', 'aaaaaaaaaaaaaaaaaaaaaaaa', ''),
      sidekiq('instrumented', 'bbbbbbbbbbbbbbbbbbbbbbbb', `,"traceparent":"00-${remote.traceId}-${remote.spanId}-01","tracestate":"vendor=x"`),
      sidekiq('malformed', 'cccccccccccccccccccccccc', ',"trace_context":{"traceparent":"00-zz-not-a-context-01"}'),
      sidekiq('zeros', 'dddddddddddddddddddddddd', `,"trace_context":{"traceparent":"00-${'0'.repeat(32)}-${remote.spanId}-01","tracestate":""}`),
    );
    await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 4, 'four Sidekiq jobs processed');
    await waitFor(() => named('process default').length === 4, 'four consumer spans');
    assert.deepEqual(ran, ['plain', 'instrumented', 'malformed', 'zeros']);
    assert.equal(Number(await ctx.redis.get('stat:failed') ?? 0), 0);
    const run = (jid: string) => one('process default', (span) => span.attributes['messaging.message.id'] === jid);
    for (const jid of ['aaaaaaaaaaaaaaaaaaaaaaaa', 'cccccccccccccccccccccccc', 'dddddddddddddddddddddddd']) {
      assert.equal(run(jid).parentSpanContext, undefined);
      assert.deepEqual(run(jid).links, []);
      assert.equal(run(jid).status.code, SpanStatusCode.UNSET);
    }
    const linked = run('bbbbbbbbbbbbbbbbbbbbbbbb').links;
    assert.equal(linked.length, 1);
    assert.equal(linked[0].context.traceId, remote.traceId);
    assert.equal(linked[0].context.spanId, remote.spanId);
    assert.equal(linked[0].context.traceState?.get('vendor'), 'x');
  } finally {
    await engine.stop();
  }
});

test('tracing off: no span from the engine and no trace_context in any payload, even inside an active span with an SDK registered', async () => {
  let performed = 0;
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 } }, { Quiet: { perform: () => void performed++ } });
  try {
    await engine.pauseQueue('default');
    await trace.getTracer('app').startActiveSpan('request', async (span) => {
      await engine.client.enqueue({ queue: 'default', class: 'Quiet' });
      await engine.client.enqueueMany([{ queue: 'default', class: 'Quiet' }]);
      await engine.client.schedule({ queue: 'default', class: 'Quiet' }, Date.now() + 60_000);
      span.end();
    });
    const stored = [...(await ctx.redis.lrange('queue:default', 0, -1)), ...(await ctx.redis.zrange('schedule', 0, '-1'))];
    assert.equal(stored.length, 3);
    for (const raw of stored) assert.equal((JSON.parse(raw) as JobPayload).trace_context, undefined, raw);
    await engine.resumeQueue('default');
    await waitFor(() => performed === 2, 'the two waiting jobs performed');
    assert.deepEqual(spans().map((span) => span.name), ['request']);
  } finally {
    await engine.stop();
  }
});

function runFixture(name: string, env: Record<string, string> = {}): string {
  return execFileSync(process.execPath, [join(__dirname, '..', 'fixtures', `${name}.js`)], { env: { ...process.env, REDIS_URL: ctx.server.url, ...env }, encoding: 'utf8', timeout: 30_000 });
}

test('tracing off: @opentelemetry/api is never loaded; tracing on without an SDK loads it and writes no trace_context', () => {
  const off = JSON.parse(runFixture('tracing-require', { TRACING: 'off' })) as { loaded: string[]; job: JobPayload };
  assert.deepEqual(off.loaded, []);
  assert.equal(off.job.trace_context, undefined);
  const on = JSON.parse(runFixture('tracing-require', { TRACING: 'on' })) as { loaded: string[]; job: JobPayload };
  assert.ok(
    on.loaded.some((path) => /@opentelemetry[\\/]api[\\/]/.test(path)),
    `tracing: true loads @opentelemetry/api: ${on.loaded.join(', ')}`,
  );
  // No SDK: the API's no-op spans have no valid context, so there is nothing to carry.
  assert.equal(on.job.trace_context, undefined);
  assert.equal(on.job.class, 'Probe');
});

test('tracing: true without @opentelemetry/api installed is a VerkConfigError naming the option and the package', () => {
  const { thrown } = JSON.parse(runFixture('tracing-missing-api')) as { thrown?: { name: string; field?: string; message: string } };
  assert.ok(thrown, 'new VerkEngine({ tracing: true }) threw');
  assert.equal(thrown.name, 'VerkConfigError');
  assert.equal(thrown.field, 'tracing');
  assert.match(thrown.message, /npm i @opentelemetry\/api/);
});

test('the tracing option is validated: a wrong value is a VerkConfigError naming the field', () => {
  const attempt = (tracing: unknown): VerkConfigError => {
    try {
      new VerkEngine({ redis: ctx.server.url, nodeId: 'options', tracing } as VerkOptions);
    } catch (error) {
      assert.ok(error instanceof VerkConfigError, String(error));
      return error;
    }
    assert.fail(`tracing: ${JSON.stringify(tracing)} was accepted`);
  };
  assert.equal(attempt('yes').field, 'tracing');
  assert.equal(attempt(null).field, 'tracing');
  assert.equal(attempt({ parent: 'yes' }).field, 'tracing.parent');
  assert.equal(attempt({ sampler: 1 }).field, 'tracing.sampler');
});
