/**
 * Before/after cost of a change on plain jobs: the same no-op processing run by two builds
 * of this package, alternated on one private redis-server, each run a child process of its
 * own (so its CPU is its own). Usage, after building both checkouts:
 *
 *   node dist/test/bench/paired-builds.js <old checkout>/dist <new checkout>/dist
 *
 * BENCH_PAIRED_ROUNDS (default 8) pairs, BENCH_N jobs (default 50000) at BENCH_CONCURRENCY
 * (default 50). Prints each run and the medians of jobs/s and worker CPU per 10,000 jobs.
 * Run on a quiet machine: the spread between runs of one build is often 10-15 %.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import Redis from 'ioredis';
import { RedisServer } from '../helpers/redis-server';

interface Run {
  jobsPerSecond: number;
  cpuPer10k: number;
}

const N = Number(process.env.BENCH_N ?? 50_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);

/** The child: `paired-builds.js --run <dist>` processes N no-op jobs with that build's engine. */
async function runOne(dist: string): Promise<void> {
  const { VerkEngine } = require(resolve(dist, 'lib', 'engine')) as typeof import('../../lib/engine');
  const url = process.env.REDIS_URL as string;
  const quiet = { log: () => undefined, warn: (message: string) => console.error(message), error: (message: string) => console.error(message) };
  const redis = new Redis(url);
  await redis.flushall();
  const producer = new VerkEngine({ redis: url, nodeId: 'paired-producer' }, { logger: quiet });
  for (let i = 0; i < N; i += 1000) await producer.client.enqueueMany(Array.from({ length: Math.min(1000, N - i) }, () => ({ queue: 'bench', class: 'Noop', args: [] })));
  const worker = new VerkEngine({ redis: url, nodeId: 'paired-worker', queues: { bench: CONCURRENCY } }, { logger: quiet });
  worker.workers.register('Noop', { perform: () => undefined });
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await worker.start();
  while (Number(await redis.get('stat:processed')) < N) await new Promise((done) => setTimeout(done, 5));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const run: Run = { jobsPerSecond: Math.round(N / seconds), cpuPer10k: Number((((used.user + used.system) / 1e6) * (10_000 / N)).toFixed(4)) };
  console.log(JSON.stringify(run));
  await worker.stop();
  await producer.stop();
  redis.disconnect();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--run') return runOne(process.argv[3]);
  const [oldDist, newDist] = process.argv.slice(2).map((dist) => resolve(dist));
  if (!oldDist || !newDist) throw new Error('usage: node dist/test/bench/paired-builds.js <old>/dist <new>/dist');
  const rounds = Number(process.env.BENCH_PAIRED_ROUNDS ?? 8);
  const server = await RedisServer.start();
  const runs: Record<'old' | 'new', Run[]> = { old: [], new: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      // Alternating which goes first, so neither build always runs on a warmer machine.
      for (const name of round % 2 === 0 ? (['old', 'new'] as const) : (['new', 'old'] as const)) {
        const out = execFileSync(process.execPath, [__filename, '--run', name === 'old' ? oldDist : newDist], { env: { ...process.env, REDIS_URL: server.url }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
        const run = JSON.parse(out.trim().split('\n').pop() as string) as Run;
        runs[name].push(run);
        console.log(`round ${round + 1} ${name}: ${run.jobsPerSecond} jobs/s, ${run.cpuPer10k} s CPU per 10k`);
      }
    }
  } finally {
    await server.stop();
  }
  for (const name of ['old', 'new'] as const) {
    console.log(`${name}: median ${median(runs[name].map((run) => run.jobsPerSecond))} jobs/s, ${median(runs[name].map((run) => run.cpuPer10k))} s CPU per 10k (${rounds} runs, ${N} jobs each)`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
