import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { JobPayload } from '../../lib/engine';
import { useRabbitVhost, rabbitTest } from '../helpers/rabbitmq';
import { startRabbitEngine } from '../helpers/rabbit-engine';
import { waitFor } from '../helpers/wait';

const ctx = useRabbitVhost();
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
before(() => provider.register());
after(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

test('tracing on RabbitMQ: a producer span per enqueue, its context in the payload, a consumer span per run linked to it', rabbitTest, async () => {
  const performed: JobPayload[] = [];
  const node = await startRabbitEngine(ctx.vhost.url, { nodeId: 'traced', queues: { mail: 1 }, tracing: true }, { Mail: { perform: (_args, job) => void performed.push(job) } });
  await node.client.enqueue({ queue: 'mail', class: 'Mail', args: ['a@b.c'] });
  await waitFor(() => performed.length === 1 && exporter.getFinishedSpans().some((span) => span.name === 'process mail'), 'the traced run');
  const send = exporter.getFinishedSpans().find((span) => span.name === 'send mail');
  const processed = exporter.getFinishedSpans().find((span) => span.name === 'process mail');
  assert.ok(send && processed);
  assert.equal(send.kind, SpanKind.PRODUCER);
  assert.equal(processed.kind, SpanKind.CONSUMER);
  assert.equal(processed.links[0]?.context.spanId, send.spanContext().spanId, 'the run links to its enqueue');
  assert.equal((performed[0].trace_context as { traceparent: string }).traceparent, `00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`);
  await node.stop();
});
