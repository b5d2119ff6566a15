/**
 * One shard's worker process of BENCH_MODE=shards (scale-bench.ts): an engine on its own
 * redis-server (what a named instance is under Nest), no-op jobs. Prints READY, starts
 * on a `GO` line on stdin, prints its result as one JSON line once SHARD_N jobs are done.
 */
import Redis from 'ioredis';
import { VerkEngine, type VerkLogger } from '../../lib/engine';
import { now, sleep } from './measure';

const quiet: VerkLogger = { log: () => undefined, warn: (m) => console.error(m), error: (m) => console.error(m) };

async function main(): Promise<void> {
  const redis = process.env.REDIS_URL as string;
  const total = Number(process.env.SHARD_N);
  const worker = new VerkEngine({ redis, nodeId: `shard-${process.pid}`, queues: { bench: Number(process.env.BENCH_CONCURRENCY ?? 50) } }, { logger: quiet });
  worker.workers.register('Noop', { perform: () => undefined });
  process.stdout.write('READY\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  const cpu = process.cpuUsage();
  const started = now();
  await worker.start();
  const probe = new Redis(redis);
  while (Number(await probe.get('stat:processed')) < total) await sleep(10);
  probe.disconnect();
  const ms = now() - started;
  const used = process.cpuUsage(cpu);
  await worker.stop();
  process.stdout.write(`${JSON.stringify({ ms, cpuSeconds: (used.user + used.system) / 1e6 })}\n`);
  process.stdin.destroy();
}

void main();
