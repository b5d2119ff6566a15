/** BullMQ's side of `npm run bench`, measured the same way as verk-bench.ts. */
import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { env, measureEnqueue, measurePickupLatency, measureProcessing, report } from './measure';

async function main(): Promise<void> {
  const connection = { url: env.redisUrl, maxRetriesPerRequest: null };
  const redis = new Redis(env.redisUrl);
  const single = new Queue('single', { connection });
  const bulk = new Queue('bulk', { connection });

  const enqueue = await measureEnqueue(
    (i) => single.add('Noop', { i }),
    (from, count) => bulk.addBulk(Array.from({ length: count }, (_, k) => ({ name: 'Noop', data: { i: from + k } }))),
  );
  await Promise.all([single.close(), bulk.close()]);
  await redis.flushall();

  const queue = new Queue('bench', { connection });
  for (let i = 0; i < env.processN; i += 1000) await queue.addBulk(Array.from({ length: Math.min(1000, env.processN - i) }, (_, k) => ({ name: 'Noop', data: { i: i + k } })));

  let completed = 0;
  let worker!: Worker;
  const processing = await measureProcessing(env.processN, async () => {
    await new Promise<void>((resolve) => {
      worker = new Worker('bench', async () => undefined, { connection, concurrency: env.concurrency, removeOnComplete: { count: 0 }, removeOnFail: { count: 0 } });
      worker.on('completed', () => {
        if (++completed === env.processN) resolve();
      });
    });
  });
  await worker.close();

  const latencyQueue = new Queue('latency', { connection });
  let latencyWorker!: Worker;
  const latency = await measurePickupLatency(
    async (started) => {
      latencyWorker = new Worker('latency', async () => void started(), { connection, concurrency: 1, removeOnComplete: { count: 0 } });
      await latencyWorker.waitUntilReady();
    },
    () => latencyQueue.add('Ping', {}),
  );
  await Promise.all([latencyWorker.close(), latencyQueue.close(), queue.close()]);
  redis.disconnect();
  report({ system: 'bullmq', ...enqueue, ...processing, ...latency });
}

void main();
