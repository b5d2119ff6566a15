/**
 * The RabbitMQ broker's side of `npm run bench` (a child process, so its RSS and CPU are
 * its own): the same no-op jobs as verk-bench.ts, on the local RabbitMQ (RABBITMQ_HOST,
 * default 127.0.0.1:5672), in a vhost of its own that is deleted afterwards. Quorum
 * queues unless BENCH_RABBITMQ_QUEUE_TYPE=classic.
 */
import { VerkRabbitEngine, type VerkLogger } from '../../lib/engine';
import type { RabbitQueueType } from '../../lib/engine/rabbitmq/rabbit-options';
import { RabbitVhost } from '../helpers/rabbitmq';
import { env, measureProcessing, now, percentile, rate, report, sleep } from './measure';

const quiet: VerkLogger = { log: () => undefined, warn: (m) => console.error(m), error: (m) => console.error(m) };
const queueType = (process.env.BENCH_RABBITMQ_QUEUE_TYPE ?? 'quorum') as RabbitQueueType;

async function main(): Promise<void> {
  const vhost = await RabbitVhost.create();
  try {
    const broker = { rabbitmq: vhost.url, confirmTimeout: 60_000 };
    const producer = new VerkRabbitEngine({ nodeId: 'bench-producer', broker, queueType }, { logger: quiet });
    const job = (i: number, queue: string) => ({ queue, class: 'Noop', args: [i] });

    // Enqueue, one call per job, all in flight at once (each awaits its own confirm).
    let started = now();
    await Promise.all(Array.from({ length: env.enqueueN }, (_, i) => producer.client.enqueue(job(i, 'single'))));
    const enqueueSingle = rate(env.enqueueN, now() - started);

    started = now();
    for (let i = 0; i < env.enqueueN; i += 1000) await producer.client.enqueueMany(Array.from({ length: Math.min(1000, env.enqueueN - i) }, (_, k) => job(i + k, 'bulk')));
    const enqueueBulk = rate(env.enqueueN, now() - started);

    for (let i = 0; i < env.processN; i += 1000) await producer.client.enqueueMany(Array.from({ length: Math.min(1000, env.processN - i) }, (_, k) => job(i + k, 'bench')));

    const worker = new VerkRabbitEngine({ nodeId: 'bench-worker', broker, queueType, queues: { bench: env.concurrency } }, { logger: quiet });
    let done = 0;
    worker.workers.register('Noop', { perform: () => void done++ });
    const processing = await measureProcessing(env.processN, async () => {
      await worker.start();
      while (worker.counters.processed < env.processN) await sleep(5);
    });
    if (done !== env.processN) throw new Error(`ran ${done} jobs, expected ${env.processN}`);

    // Pickup latency into an idle queue: enqueue (confirmed), then wait for the handler to start.
    let resolveStart: (at: number) => void = () => undefined;
    worker.workers.register('Ping', { perform: () => resolveStart(now()) });
    await worker.addQueue('latency', 1);
    await sleep(100);
    const latencies: number[] = [];
    for (let i = 0; i < env.latencyN; i++) {
      const startedAt = new Promise<number>((resolve) => (resolveStart = resolve));
      const t0 = now();
      await producer.client.enqueue({ queue: 'latency', class: 'Ping' });
      latencies.push((await startedAt) - t0);
      await sleep(1);
    }
    await worker.stop();
    await producer.stop();
    report({ system: `rabbitmq (${queueType})`, enqueueSingle, enqueueBulk, ...processing, latencyP50: percentile(latencies, 50), latencyP99: percentile(latencies, 99) });
  } finally {
    await vhost.delete();
  }
}

void main();
