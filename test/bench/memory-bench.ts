/**
 * RSS of a worker while BENCH_MEMORY_N (default 1,000,000) no-op jobs pass through it.
 * The jobs are enqueued by the parent before this process starts, so its RSS is the
 * worker's alone. Prints the curve: RSS after every tenth of the jobs.
 */
import Redis from 'ioredis';
import { VerkEngine, type VerkLogger } from '../../lib/engine';
import { env, rssMb, sleep } from './measure';

const quiet: VerkLogger = { log: () => undefined, warn: (m) => console.error(m), error: (m) => console.error(m) };
const total = Number(process.env.BENCH_MEMORY_N ?? 1_000_000);

async function main(): Promise<void> {
  const redis = new Redis(env.redisUrl);
  const worker = new VerkEngine({ redis: env.redisUrl, nodeId: 'memory-worker', queues: { bench: env.concurrency } }, { logger: quiet });
  worker.workers.register('Noop', { perform: () => undefined });
  global.gc?.();
  const curve: { jobs: number; rssMb: number }[] = [{ jobs: 0, rssMb: rssMb() }];
  await worker.start();
  const step = total / 10;
  const started = Date.now();
  for (let next = step; next <= total; next += step) {
    while (Number(await redis.get('stat:processed')) < next) await sleep(10);
    curve.push({ jobs: next, rssMb: rssMb() });
  }
  const seconds = (Date.now() - started) / 1000;
  await worker.stop();
  redis.disconnect();
  // Growth after warm-up (first tenth), when pools and JIT have settled.
  const growth = Math.round((curve[curve.length - 1].rssMb - curve[1].rssMb) * 10) / 10;
  process.stdout.write(`${JSON.stringify({ system: 'nestjs-verk', jobs: total, seconds, rssGrowthAfterWarmupMb: growth, curve })}\n`);
}

void main();
