/** BullMQ's side of `npm run bench`, measured the same way as verk-bench.ts. */
import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { env, measureProcessing, now, percentile, rate, report, sleep } from './measure';

async function main(): Promise<void> {
  const connection = { url: env.redisUrl, maxRetriesPerRequest: null };
  const redis = new Redis(env.redisUrl);
  const single = new Queue('single', { connection });
  const bulk = new Queue('bulk', { connection });

  let started = now();
  await Promise.all(Array.from({ length: env.enqueueN }, (_, i) => single.add('Noop', { i })));
  const enqueueSingle = rate(env.enqueueN, now() - started);

  started = now();
  for (let i = 0; i < env.enqueueN; i += 1000) await bulk.addBulk(Array.from({ length: Math.min(1000, env.enqueueN - i) }, (_, k) => ({ name: 'Noop', data: { i: i + k } })));
  const enqueueBulk = rate(env.enqueueN, now() - started);
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

  let resolveStart: (at: number) => void = () => undefined;
  const latencyQueue = new Queue('latency', { connection });
  const latencyWorker = new Worker('latency', async () => void resolveStart(now()), { connection, concurrency: 1, removeOnComplete: { count: 0 } });
  await latencyWorker.waitUntilReady();
  await sleep(100);
  const latencies: number[] = [];
  for (let i = 0; i < env.latencyN; i++) {
    const startedAt = new Promise<number>((resolve) => (resolveStart = resolve));
    const t0 = now();
    await latencyQueue.add('Ping', {});
    latencies.push((await startedAt) - t0);
    await sleep(1);
  }
  await Promise.all([latencyWorker.close(), latencyQueue.close(), queue.close()]);
  redis.disconnect();
  report({ system: 'bullmq', enqueueSingle, enqueueBulk, ...processing, latencyP50: percentile(latencies, 50), latencyP99: percentile(latencies, 99) });
}

void main();
