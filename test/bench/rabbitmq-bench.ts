/**
 * The RabbitMQ broker's side of `npm run bench` (a child process, so its RSS and CPU are
 * its own): the same no-op jobs as verk-bench.ts, on the local RabbitMQ (RABBITMQ_HOST,
 * default 127.0.0.1:5672), in a vhost of its own that is deleted afterwards. Quorum
 * queues unless BENCH_RABBITMQ_QUEUE_TYPE=classic.
 */
import { VerkRabbitEngine, type VerkLogger } from '../../lib/engine';
import type { RabbitQueueType } from '../../lib/engine/rabbitmq/rabbit-options';
import { RabbitVhost } from '../helpers/rabbitmq';
import { enqueueNoops, env, measureVerkEnqueue, measureVerkPickupLatency, measureProcessing, report, sleep } from './measure';

const quiet: VerkLogger = { log: () => undefined, warn: (m) => console.error(m), error: (m) => console.error(m) };
const queueType = (process.env.BENCH_RABBITMQ_QUEUE_TYPE ?? 'quorum') as RabbitQueueType;

async function main(): Promise<void> {
  const vhost = await RabbitVhost.create();
  try {
    const broker = { rabbitmq: vhost.url, confirmTimeout: 60_000 };
    const producer = new VerkRabbitEngine({ nodeId: 'bench-producer', broker, queueType }, { logger: quiet });
    // Enqueue: each single call awaits its own confirm.
    const enqueue = await measureVerkEnqueue(producer.client);
    await enqueueNoops(producer.client, 'bench', env.processN);

    const worker = new VerkRabbitEngine({ nodeId: 'bench-worker', broker, queueType, queues: { bench: env.concurrency } }, { logger: quiet });
    let done = 0;
    worker.workers.register('Noop', { perform: () => void done++ });
    const processing = await measureProcessing(env.processN, async () => {
      await worker.start();
      while (worker.counters.processed < env.processN) await sleep(5);
    });
    if (done !== env.processN) throw new Error(`ran ${done} jobs, expected ${env.processN}`);

    // Pickup latency into an idle queue: enqueue (confirmed), then wait for the handler to start.
    const latency = await measureVerkPickupLatency(worker, producer.client);
    await worker.stop();
    await producer.stop();
    report({ system: `rabbitmq (${queueType})`, ...enqueue, ...processing, ...latency });
  } finally {
    await vhost.delete();
  }
}

void main();
