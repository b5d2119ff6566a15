/** nestjs-verk's side of `npm run bench` (a child process, so its RSS and CPU are its own). */
import Redis from 'ioredis';
import { VerkEngine, type VerkLogger, type VerkOptions } from '../../lib/engine';
import { enqueueNoops, env, measureVerkEnqueue, measureVerkPickupLatency, measureProcessing, report, sleep, type SystemResult } from './measure';

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? 0);
}

const quiet: VerkLogger = { log: () => undefined, warn: (m) => console.error(m), error: (m) => console.error(m) };

/** No-op jobs through a fresh worker with `options`, on a flushed Redis (the metricsCost rows). */
async function processRun(redis: Redis, options: VerkOptions, name: string): Promise<{ processing: number; cpuSecondsPer10k: number }> {
  await redis.flushall();
  const producer = new VerkEngine({ redis: env.redisUrl, nodeId: `bench-producer-${name}` }, { logger: quiet });
  await enqueueNoops(producer.client, 'bench', env.processN);
  const worker = new VerkEngine({ redis: env.redisUrl, nodeId: `bench-worker-${name}`, queues: { bench: env.concurrency }, ...options }, { logger: quiet });
  worker.workers.register('Noop', { perform: () => undefined });
  const result = await measureProcessing(env.processN, async () => {
    await worker.start();
    while (Number(await redis.get('stat:processed')) < env.processN) await sleep(5);
  });
  // A scrape, so a broken exposition fails the bench rather than going unnoticed.
  if (options.metrics && !(await worker.metricsRegistry?.metrics())?.includes(`verk_jobs_processed_total{queue="bench",class="Noop"} ${env.processN}`)) throw new Error('metrics run: the exposition does not count every job');
  await worker.stop();
  await producer.stop();
  return result;
}

/**
 * groups: 1,000 groups x 100 no-op jobs, enqueued group after group (FIFO would serve the
 * last group's first job 99,900th), through one worker: throughput, and how evenly the
 * groups were served (the start position of each group's first job, and the jobs each
 * group started in the first tenth).
 */
async function groupsRun(redis: Redis): Promise<Pick<SystemResult, 'processingGroups' | 'cpuSecondsPer10kGroups' | 'groupsFairness'>> {
  const groups = 1000;
  const perGroup = 100;
  const total = groups * perGroup;
  await redis.flushall();
  const producer = new VerkEngine({ redis: env.redisUrl, nodeId: 'bench-producer-groups' }, { logger: quiet });
  for (let g = 0; g < groups; g += 10) {
    await producer.client.enqueueMany(Array.from({ length: 10 * perGroup }, (_, k) => ({ queue: 'bench', class: 'Noop', args: [g + Math.floor(k / perGroup)], group: `tenant-${g + Math.floor(k / perGroup)}` })));
  }
  const order: number[] = [];
  const worker = new VerkEngine({ redis: env.redisUrl, nodeId: 'bench-worker-groups', queues: { bench: env.concurrency } }, { logger: quiet });
  worker.workers.register('Noop', { perform: (args) => void order.push(args[0] as number) });
  const result = await measureProcessing(total, async () => {
    await worker.start();
    while (Number(await redis.get('stat:processed')) < total) await sleep(5);
  });
  await worker.stop();
  await producer.stop();
  const firstStart = new Map<number, number>();
  order.forEach((group, index) => firstStart.has(group) || firstStart.set(group, index));
  const tenth = new Array<number>(groups).fill(0);
  for (const group of order.slice(0, total / 10)) tenth[group]++;
  return {
    processingGroups: result.processing,
    cpuSecondsPer10kGroups: result.cpuSecondsPer10k,
    groupsFairness: { lastFirstStart: Math.max(...firstStart.values()), minInFirstTenth: Math.min(...tenth), maxInFirstTenth: Math.max(...tenth) },
  };
}

async function main(): Promise<void> {
  const redis = new Redis(env.redisUrl);
  const producer = new VerkEngine({ redis: env.redisUrl, nodeId: 'bench-producer' }, { logger: quiet });
  const enqueue = await measureVerkEnqueue(producer.client);
  await redis.flushall();

  await enqueueNoops(producer.client, 'bench', env.processN);

  const worker = new VerkEngine({ redis: env.redisUrl, nodeId: 'bench-worker', queues: { bench: env.concurrency } }, { logger: quiet });
  worker.workers.register('Noop', { perform: () => undefined });
  const processing = await measureProcessing(env.processN, async () => {
    await worker.start();
    while (Number(await redis.get('stat:processed')) < env.processN) await sleep(5);
  });

  // Pickup latency into an idle queue: enqueue, then wait for the handler to start.
  const latency = await measureVerkPickupLatency(worker, producer.client);

  await worker.stop();
  await producer.stop();

  // The same processing run with job history on: the cost of history per job.
  await redis.flushall();
  const memoryBefore = await usedMemory(redis);
  const historyProducer = new VerkEngine({ redis: env.redisUrl, nodeId: 'bench-producer-h', history: true }, { logger: quiet });
  await enqueueNoops(historyProducer.client, 'bench', env.processN);
  const historyWorker = new VerkEngine({ redis: env.redisUrl, nodeId: 'bench-worker-h', queues: { bench: env.concurrency }, history: true }, { logger: quiet });
  historyWorker.workers.register('Noop', { perform: () => undefined });
  const withHistory = await measureProcessing(env.processN, async () => {
    await historyWorker.start();
    while (Number(await redis.get('stat:processed')) < env.processN) await sleep(5);
    await historyWorker.recorder.flush();
  });
  await historyProducer.recorder.flush();
  const historyBytesPerJob = Math.round((await usedMemory(redis)) - memoryBefore) / env.processN;
  await historyWorker.stop();
  await historyProducer.stop();

  // The same processing run with Prometheus metrics on (prom-client's default registry), scraped
  // once at the end, against plain runs on the same flushed Redis: the cost per job. Interleaved
  // (plain, metrics, metrics, plain) and the best of each kept, as a busy machine slows any one run.
  const runs: { metrics: boolean; processing: number; cpuSecondsPer10k: number }[] = [];
  for (const metrics of [false, true, true, false]) runs.push({ metrics, ...(await processRun(redis, metrics ? { metrics: true } : {}, `${metrics ? 'metrics' : 'plain'}-${runs.length}`)) });
  const best = (metrics: boolean) => runs.filter((run) => run.metrics === metrics).reduce((a, b) => (b.processing > a.processing ? b : a));
  const [plainRun, metricsRun] = [best(false), best(true)];

  // rateLimited: the plain run with a limit no run reaches, so what it measures is the
  // limited fetch (window, slots, their release) against the plain one.
  const rateLimited = await processRun(redis, { queues: { bench: { concurrency: env.concurrency, rateLimit: { max: 1_000_000_000, duration: 1000 } } } }, 'rate-limited');
  const groups = await groupsRun(redis);

  redis.disconnect();
  report({
    system: 'nestjs-verk',
    ...enqueue,
    ...processing,
    ...latency,
    processingWithHistory: withHistory.processing,
    cpuSecondsPer10kWithHistory: withHistory.cpuSecondsPer10k,
    historyBytesPerJob: Math.round(historyBytesPerJob),
    processingPlain: plainRun.processing,
    processingWithMetrics: metricsRun.processing,
    cpuSecondsPer10kPlain: plainRun.cpuSecondsPer10k,
    cpuSecondsPer10kWithMetrics: metricsRun.cpuSecondsPer10k,
    processingRateLimited: rateLimited.processing,
    cpuSecondsPer10kRateLimited: rateLimited.cpuSecondsPer10k,
    ...groups,
  });
}

void main();
