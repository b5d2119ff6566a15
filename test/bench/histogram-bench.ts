/**
 * The cost of run/wait histograms (option `histograms`) on the hot path: the same no-op
 * processing run with histograms off and on, paired and alternated (off/on, on/off, ...)
 * on one private redis-server, after a warm-up run that is not counted. Prints one JSON
 * line per run and a summary line with the median ratio (on / off).
 *
 * On a busy machine the throughput of whole runs swings more than the cost measured, so
 * it also times the acknowledgement script alone, as Redis counts it (INFO commandstats):
 * blocks of finishJobs calls of one batch each (BENCH_BATCH jobs, default 50, the batch a
 * concurrency of 50 makes), histograms off and on in turn, and the JS that sums a batch.
 *
 * `npm run build && node --expose-gc dist/test/bench/histogram-bench.js`; scale with
 * BENCH_N (jobs per run, default 20000), BENCH_PAIRS (default 4), BENCH_CONCURRENCY (50).
 */
import Redis from 'ioredis';
import { VerkEngine, type VerkLogger } from '../../lib/engine';
import { DurationSums } from '../../lib/engine/core/histogram';
import { Keys } from '../../lib/engine/redis/keys';
import { defineScripts } from '../../lib/engine/redis/scripts';
import { VerkScripts } from '../../lib/engine/redis/verk-scripts';
import { RedisServer } from '../helpers/redis-server';
import { measureProcessing, sleep } from './measure';

const quiet: VerkLogger = { log: () => undefined, warn: (m) => console.error(m), error: (m) => console.error(m) };
const N = Number(process.env.BENCH_N ?? 20_000);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);

interface RunResult {
  processing: number;
  /** CPU of this (worker) process per 10,000 jobs, s. */
  cpuSecondsPer10k: number;
  /** CPU of redis-server per 10,000 jobs, s (INFO cpu). */
  redisCpuSecondsPer10k: number;
  /** Time Redis spent in scripts (EVALSHA, INFO commandstats) per job, µs: the acknowledgement's own cost. */
  scriptMicrosPerJob: number;
  /** Script calls (fetch + acknowledge) per job: fewer means bigger batches. */
  scriptCallsPerJob: number;
}

async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
}

async function scriptStats(redis: Redis): Promise<{ calls: number; micros: number }> {
  const info = await redis.info('commandstats');
  let calls = 0;
  let micros = 0;
  for (const [, count, usec] of info.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+),usec=(\d+)/g)) {
    calls += Number(count);
    micros += Number(usec);
  }
  return { calls, micros };
}

async function run(url: string, redis: Redis, histograms: boolean): Promise<RunResult> {
  await redis.flushall();
  const producer = new VerkEngine({ redis: url, nodeId: 'bench-producer' }, { logger: quiet });
  for (let i = 0; i < N; i += 1000) await producer.client.enqueueMany(Array.from({ length: Math.min(1000, N - i) }, (_, k) => ({ queue: 'bench', class: 'Noop', args: [i + k] })));
  await producer.stop();
  const worker = new VerkEngine({ redis: url, nodeId: 'bench-worker', queues: { bench: CONCURRENCY }, histograms }, { logger: quiet });
  worker.workers.register('Noop', { perform: () => undefined });
  await redis.config('RESETSTAT');
  const cpuBefore = await redisCpu(redis);
  const result = await measureProcessing(N, async () => {
    await worker.start();
    while (Number(await redis.get('stat:processed')) < N) await sleep(5);
  });
  const redisCpuSeconds = (await redisCpu(redis)) - cpuBefore;
  const { calls, micros } = await scriptStats(redis);
  await worker.stop();
  const written = (await redis.keys('verk:hist:*')).length;
  if (histograms !== written > 0) throw new Error(`histograms ${histograms} but ${written} histogram keys`);
  return {
    processing: result.processing,
    cpuSecondsPer10k: result.cpuSecondsPer10k,
    redisCpuSecondsPer10k: Math.round((redisCpuSeconds / N) * 10_000 * 1000) / 1000,
    scriptMicrosPerJob: Math.round((micros / N) * 100) / 100,
    scriptCallsPerJob: Math.round((calls / N) * 1000) / 1000,
  };
}

const BATCH = Number(process.env.BENCH_BATCH ?? 50);

/** µs Redis spends in one finishJobs call of BATCH jobs, histograms off and on (medians of alternating blocks). */
async function scriptCost(url: string, redis: Redis): Promise<{ offMicrosPerBatch: number; onMicrosPerBatch: number; sumMicrosPerBatch: number }> {
  const conn = new Redis(url);
  defineScripts(conn);
  const scripts = new VerkScripts(conn, new Keys());
  const jobs = Array.from({ length: BATCH }, (_, i) => JSON.stringify({ class: 'Noop', args: [i], jid: i.toString(16).padStart(24, '0'), queue: 'bench' }));
  const batchSums = () => {
    const run = new DurationSums();
    const wait = new DurationSums();
    for (let i = 0; i < BATCH; i++) {
      run.add(0);
      wait.add(1 + (i % 7));
    }
    return { run: run.encode(), wait: wait.encode(), retentionDays: 30 };
  };
  const off: number[] = [];
  const on: number[] = [];
  const CALLS = 200;
  for (let block = 0; block < 20; block++) {
    const histograms = block % 2 === 1;
    let micros = 0;
    for (let i = 0; i < CALLS; i++) {
      await conn.lpush('inprogress:bench:n1', ...jobs);
      await redis.config('RESETSTAT');
      await scripts.finishJobs({ queue: 'bench', nodeId: 'n1', jobs, histograms: histograms ? batchSums() : undefined });
      micros += (await scriptStats(redis)).micros;
    }
    (histograms ? on : off).push(micros / CALLS);
  }
  // The JS side: summing a batch's times and encoding them (what flushAcks adds per batch).
  const rounds = 20_000;
  let started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) batchSums();
  const sumMicros = Number(process.hrtime.bigint() - started) / 1000 / rounds;
  conn.disconnect();
  return { offMicrosPerBatch: Math.round(median(off) * 10) / 10, onMicrosPerBatch: Math.round(median(on) * 10) / 10, sumMicrosPerBatch: Math.round(sumMicros * 100) / 100 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const server = await RedisServer.start();
  const redis = new Redis(server.url);
  try {
    await redis.flushall();
    const cost = await scriptCost(server.url, redis);
    console.log(JSON.stringify({ metric: 'histogramScriptCost', batch: BATCH, ...cost, addedMicrosPerJob: Math.round(((cost.onMicrosPerBatch - cost.offMicrosPerBatch + cost.sumMicrosPerBatch) / BATCH) * 100) / 100 }));
    await run(server.url, redis, true); // warm-up, not counted
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    const redisCpuRatios: number[] = [];
    const scriptRatios: number[] = [];
    for (let pair = 0; pair < PAIRS; pair++) {
      // Alternate which goes first, so drift in the machine's load favours neither.
      const order = pair % 2 === 0 ? [false, true] : [true, false];
      const results: Record<string, RunResult> = {};
      for (const on of order) {
        results[String(on)] = await run(server.url, redis, on);
        console.log(JSON.stringify({ pair, histograms: on, jobs: N, concurrency: CONCURRENCY, ...results[String(on)] }));
      }
      ratios.push(results.true.processing / results.false.processing);
      cpuRatios.push(results.true.cpuSecondsPer10k / results.false.cpuSecondsPer10k);
      redisCpuRatios.push(results.true.redisCpuSecondsPer10k / results.false.redisCpuSecondsPer10k);
      scriptRatios.push(results.true.scriptMicrosPerJob / results.false.scriptMicrosPerJob);
    }
    console.log(JSON.stringify({ metric: 'histogramCost', jobs: N, pairs: PAIRS, concurrency: CONCURRENCY, ratios: ratios.map((r) => Math.round(r * 1000) / 1000), medianRatio: Math.round(median(ratios) * 1000) / 1000, medianCpuRatio: Math.round(median(cpuRatios) * 1000) / 1000, medianRedisCpuRatio: Math.round(median(redisCpuRatios) * 1000) / 1000, medianScriptTimeRatio: Math.round(median(scriptRatios) * 1000) / 1000 }));
  } finally {
    redis.disconnect();
    await server.cleanup();
  }
}

void main();
