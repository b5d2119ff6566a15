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

export function report(result: SystemResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
