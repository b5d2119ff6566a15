/**
 * `tracingCost` (a child of `npm run bench`, one per run so its CPU and the global tracer
 * provider are its own): the processing of no-op jobs with TRACING_BENCH_MODE =
 * `off` (no `tracing`), `api` (`tracing: true`, no SDK registered: the API's no-op tracer)
 * or `sdk` (`tracing: true` and a NodeTracerProvider with a BatchSpanProcessor whose
 * exporter drops the spans: the SDK's own cost, without any network). The jobs are enqueued
 * by an engine of the same mode, so in `sdk` mode each carries a trace context to link to.
 */
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import Redis from 'ioredis';
import { VerkEngine, type VerkLogger } from '../../lib/engine';
import { env, measureProcessing, sleep } from './measure';

export type TracingBenchMode = 'off' | 'api' | 'sdk';

/** An exporter that accepts every span and sends it nowhere. */
const dropSpans: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
};

const quiet: VerkLogger = { log: () => undefined, warn: (m) => console.error(m), error: (m) => console.error(m) };

async function main(): Promise<void> {
  const mode = (process.env.TRACING_BENCH_MODE ?? 'off') as TracingBenchMode;
  const provider = mode === 'sdk' ? new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropSpans)] }) : undefined;
  provider?.register();
  const tracing = mode !== 'off';
  const redis = new Redis(env.redisUrl);
  const producer = new VerkEngine({ redis: env.redisUrl, nodeId: `bench-producer-${mode}`, tracing }, { logger: quiet });
  for (let i = 0; i < env.processN; i += 1000) {
    await producer.client.enqueueMany(Array.from({ length: Math.min(1000, env.processN - i) }, (_, k) => ({ queue: 'bench', class: 'Noop', args: [i + k] })));
  }
  const worker = new VerkEngine({ redis: env.redisUrl, nodeId: `bench-worker-${mode}`, queues: { bench: env.concurrency }, tracing }, { logger: quiet });
  worker.workers.register('Noop', { perform: () => undefined });
  const result = await measureProcessing(env.processN, async () => {
    await worker.start();
    while (Number(await redis.get('stat:processed')) < env.processN) await sleep(5);
  });
  await worker.stop();
  await producer.stop();
  await provider?.shutdown();
  redis.disconnect();
  process.stdout.write(`${JSON.stringify({ mode, processing: result.processing, cpuSecondsPer10k: result.cpuSecondsPer10k })}\n`);
}

void main();
