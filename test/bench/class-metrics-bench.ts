/**
 * The cost of the per job class metrics (option `histograms`, lib/engine/class-metrics):
 * what one run adds on the node (ClassMetricsRecorder.record, memory only) and what one
 * flush costs (a MULTI of HINCRBYs for a minute of CLASSES classes) on a private redis-server.
 *
 * `npm run build && node dist/test/bench/class-metrics-bench.js`; BENCH_N records (default
 * 2,000,000), BENCH_CLASSES classes (default 20).
 */
import Redis from 'ioredis';
import { ClassMetricsRecorder } from '../../lib/engine/class-metrics/class-metrics-recorder';
import { Keys } from '../../lib/engine/redis/keys';
import { RedisServer } from '../helpers/redis-server';

const N = Number(process.env.BENCH_N ?? 2_000_000);
const CLASSES = Number(process.env.BENCH_CLASSES ?? 20);
const quiet = { log: () => undefined, warn: (m: string) => console.error(m), error: (m: string) => console.error(m) };

async function main(): Promise<void> {
  const server = await RedisServer.start();
  const redis = new Redis(server.url);
  try {
    const names = Array.from({ length: CLASSES }, (_, i) => `Worker${i}`);
    const registered = new Set(names);
    const now = Date.now();
    const recorder = new ClassMetricsRecorder({ keys: new Keys(), redis, logger: quiet, isRegistered: (name) => registered.has(name), clock: () => now });
    // Warm-up, then timed: varied run and wait times over the buckets.
    for (let i = 0; i < 100_000; i++) recorder.record(names[i % CLASSES], now, i % 5000, i % 700, i % 17 === 0);
    await recorder.flush();
    const started = process.hrtime.bigint();
    for (let i = 0; i < N; i++) recorder.record(names[i % CLASSES], now, i % 5000, i % 700, i % 17 === 0);
    const recordNs = Number(process.hrtime.bigint() - started) / N;
    const flushes: number[] = [];
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 10_000; i++) recorder.record(names[i % CLASSES], now, i % 5000, i % 700, i % 17 === 0);
      const t = process.hrtime.bigint();
      await recorder.flush();
      flushes.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    flushes.sort((a, b) => a - b);
    const fields = await redis.hlen((await redis.keys('verk:metrics:*'))[0]);
    console.log(JSON.stringify({ records: N, classes: CLASSES, recordNsPerRun: Number(recordNs.toFixed(1)), flushMsMedian: Number(flushes[10].toFixed(2)), flushMsMax: Number(flushes[19].toFixed(2)), fieldsPerMinuteHash: fields }));
  } finally {
    redis.disconnect();
    await server.cleanup();
  }
}

void main();
