/** What each bench child prints as its last stdout line. */
export interface SystemResult {
  system: string;
  enqueueSingle: number; // jobs/s, one enqueue call per job, awaited in parallel
  enqueueBulk: number; // jobs/s, bulk calls of 1,000
  processing: number; // jobs/s, no-op jobs at concurrency 50
  latencyP50: number; // ms, enqueue -> handler start, idle queue
  latencyP99: number;
  rssBeforeMb: number; // worker RSS before / after processing
  rssAfterMb: number;
  cpuSecondsPer10k: number; // user+system CPU of the worker process per 10,000 jobs
  /** nestjs-verk only: the same processing run with `history: true` (3 events per job: enqueued, started, finished). */
  processingWithHistory?: number;
  cpuSecondsPer10kWithHistory?: number;
  /** Redis memory the histories of the run take, per job (bytes). */
  historyBytesPerJob?: number;
  /** nestjs-verk only (metricsCost): a plain processing run and one with `metrics: true`, back to back on a flushed Redis. */
  processingPlain?: number;
  processingWithMetrics?: number;
  cpuSecondsPer10kPlain?: number;
  cpuSecondsPer10kWithMetrics?: number;
  /** nestjs-verk only (rateLimited): the plain run with a rate limit far above the achievable rate (the limited fetch's overhead). */
  processingRateLimited?: number;
  cpuSecondsPer10kRateLimited?: number;
  /** nestjs-verk only (groups): 1,000 groups x 100 jobs enqueued group after group, served round-robin. */
  processingGroups?: number;
  cpuSecondsPer10kGroups?: number;
  /** Start position of the last group's first job (round-robin: 999; FIFO: 99,900), and the fewest/most jobs a group started in the first tenth (ideal: 10/10). */
  groupsFairness?: { lastFirstStart: number; minInFirstTenth: number; maxInFirstTenth: number };
}

export const env = {
  redisUrl: process.env.REDIS_URL as string,
  processN: Number(process.env.BENCH_N ?? 100_000),
  enqueueN: Number(process.env.BENCH_ENQUEUE_N ?? 20_000),
  latencyN: Number(process.env.BENCH_LATENCY_N ?? 1000),
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 50),
};

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const now = (): number => Number(process.hrtime.bigint()) / 1e6;
export const rssMb = (): number => Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const rate = (count: number, ms: number): number => Math.round((count / ms) * 1000);

/** Measures CPU and RSS around `work`, which resolves when `count` jobs are done. */
export async function measureProcessing(count: number, work: () => Promise<void>): Promise<Pick<SystemResult, 'processing' | 'rssBeforeMb' | 'rssAfterMb' | 'cpuSecondsPer10k'>> {
  global.gc?.();
  const rssBeforeMb = rssMb();
  const cpu = process.cpuUsage();
  const started = now();
  await work();
  const elapsed = now() - started;
  const used = process.cpuUsage(cpu);
  return {
    processing: rate(count, elapsed),
    rssBeforeMb,
    rssAfterMb: rssMb(),
    cpuSecondsPer10k: Math.round(((used.user + used.system) / 1e6 / count) * 10_000 * 1000) / 1000,
  };
}

/** What the bench needs of a VerkEngine's or VerkRabbitEngine's client (both have these calls). */
export interface NoopClient {
  enqueue(job: { queue: string; class: string; args?: unknown[] }): Promise<unknown>;
  enqueueMany(jobs: { queue: string; class: string; args: unknown[] }[]): Promise<unknown>;
}

/** What the pickup-latency row needs of a VerkEngine or VerkRabbitEngine worker. */
export interface LatencyWorker {
  workers: { register(name: string, handler: { perform: () => void }): unknown };
  addQueue(queue: string, concurrency: number): Promise<unknown>;
}

/** `count` no-op jobs (class Noop, args [n], n counting from `from`) into `queue`, in bulk calls of 1,000. */
export async function enqueueNoops(client: NoopClient, queue: string, count: number, from = 0): Promise<void> {
  for (let i = 0; i < count; i += 1000) await client.enqueueMany(Array.from({ length: Math.min(1000, count - i) }, (_, k) => ({ queue, class: 'Noop', args: [from + i + k] })));
}

/**
 * The two enqueue rows, measured alike for every system: `enqueueN` jobs by one call each,
 * all in flight at once (`single(i)`), then `enqueueN` jobs in bulk calls of 1,000
 * (`bulk(from, count)`).
 */
export async function measureEnqueue(single: (i: number) => Promise<unknown>, bulk: (from: number, count: number) => Promise<unknown>): Promise<Pick<SystemResult, 'enqueueSingle' | 'enqueueBulk'>> {
  let started = now();
  await Promise.all(Array.from({ length: env.enqueueN }, (_, i) => single(i)));
  const enqueueSingle = rate(env.enqueueN, now() - started);
  started = now();
  for (let i = 0; i < env.enqueueN; i += 1000) await bulk(i, Math.min(1000, env.enqueueN - i));
  return { enqueueSingle, enqueueBulk: rate(env.enqueueN, now() - started) };
}

/**
 * Idle pickup latency, measured alike for every system: `latencyN` times, enqueue one job
 * and wait for its handler to start. `ready` sets the handler up; the handler calls the
 * `started` it was given first thing. The queue has 100 ms to go idle before the first job.
 */
export async function measurePickupLatency(ready: (started: () => void) => Promise<void>, enqueue: () => Promise<unknown>): Promise<Pick<SystemResult, 'latencyP50' | 'latencyP99'>> {
  let resolveStart: (at: number) => void = () => undefined;
  await ready(() => resolveStart(now()));
  await sleep(100);
  const latencies: number[] = [];
  for (let i = 0; i < env.latencyN; i++) {
    const startedAt = new Promise<number>((resolve) => (resolveStart = resolve));
    const t0 = now();
    await enqueue();
    latencies.push((await startedAt) - t0);
    await sleep(1);
  }
  return { latencyP50: percentile(latencies, 50), latencyP99: percentile(latencies, 99) };
}

/** The enqueue rows for nestjs-verk (either broker): jobs of class Noop into queues `single` and `bulk`. */
export function measureVerkEnqueue(client: NoopClient): Promise<Pick<SystemResult, 'enqueueSingle' | 'enqueueBulk'>> {
  return measureEnqueue(
    (i) => client.enqueue({ queue: 'single', class: 'Noop', args: [i] }),
    (from, count) => enqueueNoops(client, 'bulk', count, from),
  );
}

/** The pickup-latency row for nestjs-verk (either broker): Ping jobs into a queue `latency` that `worker` adds, at concurrency 1. */
export function measureVerkPickupLatency(worker: LatencyWorker, client: NoopClient): Promise<Pick<SystemResult, 'latencyP50' | 'latencyP99'>> {
  return measurePickupLatency(
    async (started) => {
      worker.workers.register('Ping', { perform: started });
      await worker.addQueue('latency', 1);
    },
    () => client.enqueue({ queue: 'latency', class: 'Ping' }),
  );
}

export function report(result: SystemResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
