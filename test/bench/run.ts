/**
 * `npm run bench`: nestjs-verk against BullMQ, same machine, same private redis-server,
 * same run. Each system runs in its own child process (so RSS and CPU are its own), on a
 * flushed Redis. Prints one JSON line per result with both figures and the ratio, then a
 * table. Scale with BENCH_N (processing jobs, default 100000), BENCH_ENQUEUE_N (20000),
 * BENCH_LATENCY_N (1000), BENCH_CONCURRENCY (50). BENCH_MODE=memory: a worker's RSS over
 * 1,000,000 jobs; BENCH_MODE=dashboard: the dashboard's engine calls on large sets
 * (dashboard-bench.ts); BENCH_MODE=tracing runs the tracingCost row alone
 * (BENCH_TRACING_ROUNDS, default 3). BENCH_MODE=cluster | shards | durability: processing on a
 * Redis Cluster, over 1 and 3 shards, and the cost of `durability` (scale-bench.ts).
 * (BENCH_TRACING_ROUNDS, default 3); BENCH_MODE=rabbitmq runs the rabbitmq row alone (the RabbitMQ
 * broker on the local RabbitMQ, rabbitmq-bench.ts; BENCH_RABBITMQ=0 leaves it out of the full run).
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { RedisServer } from '../helpers/redis-server';
import type { SystemResult } from './measure';
import { dashboard } from './dashboard-bench';
import { scaleBench } from './scale-bench';

function runChild(script: string, redisUrl: string): SystemResult {
  const out = execFileSync(process.execPath, ['--expose-gc', join(__dirname, script)], { env: { ...process.env, REDIS_URL: redisUrl }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
  const lines = out.trim().split('\n');
  const result = JSON.parse(lines[lines.length - 1]) as SystemResult;
  result.latencyP50 = Math.round(result.latencyP50 * 1000) / 1000;
  result.latencyP99 = Math.round(result.latencyP99 * 1000) / 1000;
  return result;
}

const METRICS: { key: keyof SystemResult; label: string; unit: string; higherIsBetter: boolean }[] = [
  { key: 'enqueueSingle', label: 'enqueue, one call per job', unit: 'jobs/s', higherIsBetter: true },
  { key: 'enqueueBulk', label: 'enqueue, bulk (enqueueMany / addBulk)', unit: 'jobs/s', higherIsBetter: true },
  { key: 'processing', label: 'processing, no-op jobs', unit: 'jobs/s', higherIsBetter: true },
  { key: 'latencyP50', label: 'idle pickup latency p50', unit: 'ms', higherIsBetter: false },
  { key: 'latencyP99', label: 'idle pickup latency p99', unit: 'ms', higherIsBetter: false },
  { key: 'rssBeforeMb', label: 'worker RSS before processing', unit: 'MB', higherIsBetter: false },
  { key: 'rssAfterMb', label: 'worker RSS after processing', unit: 'MB', higherIsBetter: false },
  { key: 'cpuSecondsPer10k', label: 'worker CPU per 10,000 jobs', unit: 's', higherIsBetter: false },
];

/** BENCH_MODE=memory: the RSS curve of a worker over 1,000,000 jobs (nestjs-verk only). */
async function memory(server: RedisServer, redis: Redis): Promise<void> {
  const total = Number(process.env.BENCH_MEMORY_N ?? 1_000_000);
  for (let i = 0; i < total; i += 10_000) {
    const batch = Array.from({ length: Math.min(10_000, total - i) }, (_, k) => JSON.stringify({ class: 'Noop', args: [i + k], jid: (i + k).toString(16).padStart(24, '0'), queue: 'bench', retry: true }));
    await redis.lpush('queue:bench', ...batch);
  }
  const out = execFileSync(process.execPath, ['--expose-gc', join(__dirname, 'memory-bench.js')], { env: { ...process.env, REDIS_URL: server.url }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const result = JSON.parse(out.trim().split('\n').pop() as string) as { curve: { jobs: number; rssMb: number }[]; rssGrowthAfterWarmupMb: number; seconds: number };
  console.log(JSON.stringify({ metric: 'memoryCurve', ...result }));
  console.log(`\nRSS of a worker over ${total} jobs (${result.seconds} s):`);
  for (const point of result.curve) console.log(`  ${String(point.jobs).padStart(8)} jobs  ${point.rssMb} MB`);
  console.log(`  growth after the first tenth: ${result.rssGrowthAfterWarmupMb} MB`);
}

/**
 * tracingCost: processing no-op jobs with tracing off, on without an SDK, and on with the
 * SDK and an exporter that drops the spans (tracing-bench.ts). Each run is a process of its
 * own on a flushed Redis; the modes alternate over BENCH_TRACING_ROUNDS rounds so a busy
 * moment of the machine does not land on one mode only, and the medians are reported.
 */
async function tracingCost(server: RedisServer, redis: Redis): Promise<void> {
  const rounds = Number(process.env.BENCH_TRACING_ROUNDS ?? 3);
  const modes = ['off', 'api', 'sdk'] as const;
  const samples: Record<(typeof modes)[number], { processing: number; cpuSecondsPer10k: number }[]> = { off: [], api: [], sdk: [] };
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) {
      await redis.flushall();
      const out = execFileSync(process.execPath, ['--expose-gc', join(__dirname, 'tracing-bench.js')], { env: { ...process.env, REDIS_URL: server.url, TRACING_BENCH_MODE: mode }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      samples[mode].push(JSON.parse(out.trim().split('\n').pop() as string) as { processing: number; cpuSecondsPer10k: number });
    }
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const figure = (mode: (typeof modes)[number]) => ({ processing: median(samples[mode].map((s) => s.processing)), cpuSecondsPer10k: median(samples[mode].map((s) => s.cpuSecondsPer10k)) });
  const [off, api, sdk] = modes.map(figure);
  // The least disturbed run of each mode (fastest, least CPU): on a busy machine the medians move with its load.
  const best = (mode: (typeof modes)[number]) => ({ processing: Math.max(...samples[mode].map((s) => s.processing)), cpuSecondsPer10k: Math.min(...samples[mode].map((s) => s.cpuSecondsPer10k)) });
  const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, redis ${/redis_version:(\S+)/.exec(await redis.info('server'))?.[1]}`;
  console.log(
    JSON.stringify({
      metric: 'tracingCost',
      unit: 'jobs/s',
      off: off.processing,
      noSdk: api.processing,
      sdk: sdk.processing,
      noSdkRatio: ratio(api.processing, off.processing),
      sdkRatio: ratio(sdk.processing, off.processing),
      cpuSecondsPer10k: { off: off.cpuSecondsPer10k, noSdk: api.cpuSecondsPer10k, sdk: sdk.cpuSecondsPer10k },
      best: { off: best('off'), noSdk: best('api'), sdk: best('sdk') },
      rounds,
      samples,
      jobs: Number(process.env.BENCH_N ?? 100_000),
      concurrency: Number(process.env.BENCH_CONCURRENCY ?? 50),
      machine,
    }),
  );
  console.log(`\nnestjs-verk with tracing (no-op jobs, median of ${rounds} runs each):`);
  console.log(`  off                           ${off.processing} jobs/s, worker CPU ${off.cpuSecondsPer10k} s per 10,000 jobs`);
  console.log(`  tracing: true, no SDK         ${api.processing} jobs/s (${ratio(api.processing, off.processing)}x), worker CPU ${api.cpuSecondsPer10k} s (${ratio(api.cpuSecondsPer10k, off.cpuSecondsPer10k)}x)`);
  console.log(`  tracing: true, SDK, no export ${sdk.processing} jobs/s (${ratio(sdk.processing, off.processing)}x), worker CPU ${sdk.cpuSecondsPer10k} s (${ratio(sdk.cpuSecondsPer10k, off.cpuSecondsPer10k)}x)`);
  const [bestOff, bestApi, bestSdk] = modes.map(best);
  console.log(`  best runs: off ${bestOff.processing} jobs/s ${bestOff.cpuSecondsPer10k} s; no SDK ${bestApi.processing} (${ratio(bestApi.processing, bestOff.processing)}x) ${bestApi.cpuSecondsPer10k} s; SDK ${bestSdk.processing} (${ratio(bestSdk.processing, bestOff.processing)}x) ${bestSdk.cpuSecondsPer10k} s`);
}

/**
 * The rabbitmq row: the same no-op jobs through the RabbitMQ broker on the local RabbitMQ
 * (its own vhost), next to nestjs-verk on Redis when that was measured in the same run.
 */
function rabbitmqRow(machine: string, redis?: SystemResult): void {
  let rabbit: SystemResult;
  try {
    execFileSync('rabbitmqctl', ['-q', 'status'], { stdio: 'ignore' });
  } catch {
    console.log(JSON.stringify({ metric: 'rabbitmq', skipped: 'no local RabbitMQ (rabbitmqctl status failed)' }));
    return;
  }
  rabbit = runChild('rabbitmq-bench.js', '');
  const version = /RabbitMQ version: (\S+)/.exec(execFileSync('rabbitmqctl', ['status'], { encoding: 'utf8' }))?.[1];
  console.log(JSON.stringify({ metric: 'rabbitmq', broker: rabbit.system, rabbitmqVersion: version, ...Object.fromEntries(METRICS.map(({ key }) => [key, rabbit[key]])), redis: redis ? Object.fromEntries(METRICS.map(({ key }) => [key, redis[key]])) : undefined, concurrency: Number(process.env.BENCH_CONCURRENCY ?? 50), jobs: Number(process.env.BENCH_N ?? 100_000), machine }));
  console.log(`\nnestjs-verk on RabbitMQ ${version} (${rabbit.system}, persistent messages, publisher confirms, manual acks)${redis ? ' next to nestjs-verk on Redis' : ''}:`);
  for (const { key, label, unit } of METRICS) console.log(`  ${label.padEnd(40)} ${`${rabbit[key]} ${unit}`.padEnd(16)}${redis ? ` Redis: ${redis[key]} ${unit}` : ''}`);
}

async function main(): Promise<void> {
  if (process.env.BENCH_MODE === 'cluster' || process.env.BENCH_MODE === 'shards' || process.env.BENCH_MODE === 'durability') {
    await scaleBench(process.env.BENCH_MODE);
    return;
  }
  if (process.env.BENCH_MODE === 'rabbitmq') {
    rabbitmqRow(`${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
    return;
  }
  const server = await RedisServer.start();
  if (process.env.BENCH_MODE === 'dashboard') {
    const redis = new Redis(server.url);
    try {
      await dashboard(server.url, redis, async () => `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, redis ${/redis_version:(\S+)/.exec(await redis.info('server'))?.[1]}`);
    } finally {
      redis.disconnect();
      await server.cleanup();
    }
    return;
  }
  if (process.env.BENCH_MODE === 'tracing') {
    const redis = new Redis(server.url);
    try {
      await tracingCost(server, redis);
    } finally {
      redis.disconnect();
      await server.cleanup();
    }
    return;
  }
  if (process.env.BENCH_MODE === 'memory') {
    const redis = new Redis(server.url);
    try {
      await memory(server, redis);
    } finally {
      redis.disconnect();
      await server.cleanup();
    }
    return;
  }
  const redis = new Redis(server.url);
  try {
    const results: Record<string, SystemResult> = {};
    for (const [system, script] of [['nestjs-verk', 'verk-bench.js'], ['bullmq', 'bullmq-bench.js']] as const) {
      await redis.flushall();
      results[system] = runChild(script, server.url);
    }
    const verk = results['nestjs-verk'];
    const bull = results.bullmq;
    const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, redis ${/redis_version:(\S+)/.exec(await redis.info('server'))?.[1]}`;
    const rows: string[][] = [];
    for (const { key, label, unit, higherIsBetter } of METRICS) {
      const ratio = Math.round(((verk[key] as number) / (bull[key] as number)) * 100) / 100;
      console.log(JSON.stringify({ metric: key, unit, 'nestjs-verk': verk[key], bullmq: bull[key], ratio, higherIsBetter, concurrency: Number(process.env.BENCH_CONCURRENCY ?? 50), jobs: Number(process.env.BENCH_N ?? 100_000), machine }));
      rows.push([label, `${verk[key]} ${unit}`, `${bull[key]} ${unit}`, `${ratio}x`]);
    }
    console.log(`\n${machine}`);
    const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i].length), ['', 'nestjs-verk', 'BullMQ', 'ratio'][i].length));
    const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
    console.log(line(['', 'nestjs-verk', 'BullMQ', 'ratio']));
    console.log(line(widths.map((w) => '-'.repeat(w))));
    for (const row of rows) console.log(line(row));
    if (verk.processingWithHistory !== undefined && verk.cpuSecondsPer10kWithHistory !== undefined) {
      // Job history (nestjs-verk only): the same processing run with `history: true`.
      const ratio = Math.round((verk.processingWithHistory / verk.processing) * 100) / 100;
      const cpuRatio = Math.round((verk.cpuSecondsPer10kWithHistory / verk.cpuSecondsPer10k) * 100) / 100;
      console.log(JSON.stringify({ metric: 'historyCost', unit: 'jobs/s', without: verk.processing, with: verk.processingWithHistory, ratio, cpuSecondsPer10kWithout: verk.cpuSecondsPer10k, cpuSecondsPer10kWith: verk.cpuSecondsPer10kWithHistory, cpuRatio, redisBytesPerJob: verk.historyBytesPerJob, machine }));
      console.log(`\nnestjs-verk with job history (history: true, 3 events per job):`);
      console.log(`  processing ${verk.processingWithHistory} jobs/s (${ratio}x of ${verk.processing} without), worker CPU ${verk.cpuSecondsPer10kWithHistory} s per 10,000 jobs (${cpuRatio}x), Redis ${verk.historyBytesPerJob} bytes per job history`);
    }
    if (verk.processingWithMetrics !== undefined && verk.processingPlain !== undefined && verk.cpuSecondsPer10kPlain !== undefined && verk.cpuSecondsPer10kWithMetrics !== undefined) {
      // Prometheus metrics (nestjs-verk only): a plain run and a `metrics: true` run, back to back.
      const ratio = Math.round((verk.processingWithMetrics / verk.processingPlain) * 100) / 100;
      const cpuRatio = Math.round((verk.cpuSecondsPer10kWithMetrics / verk.cpuSecondsPer10kPlain) * 100) / 100;
      console.log(JSON.stringify({ metric: 'metricsCost', unit: 'jobs/s', without: verk.processingPlain, with: verk.processingWithMetrics, ratio, cpuSecondsPer10kWithout: verk.cpuSecondsPer10kPlain, cpuSecondsPer10kWith: verk.cpuSecondsPer10kWithMetrics, cpuRatio, machine }));
      console.log(`\nnestjs-verk with Prometheus metrics (metrics: true): processing ${verk.processingWithMetrics} jobs/s (${ratio}x of ${verk.processingPlain} without), worker CPU ${verk.cpuSecondsPer10kWithMetrics} s per 10,000 jobs (${cpuRatio}x)`);
    }
    if (verk.processingRateLimited !== undefined && verk.processingPlain !== undefined && verk.cpuSecondsPer10kPlain !== undefined) {
      // Limits (nestjs-verk only, docs/limits.md): a rate limit no run reaches, and 1,000 groups x 100 jobs.
      const ratio = Math.round((verk.processingRateLimited / verk.processingPlain) * 100) / 100;
      const cpuRatio = Math.round(((verk.cpuSecondsPer10kRateLimited ?? 0) / verk.cpuSecondsPer10kPlain) * 100) / 100;
      console.log(JSON.stringify({ metric: 'rateLimited', unit: 'jobs/s', without: verk.processingPlain, with: verk.processingRateLimited, ratio, cpuSecondsPer10kWithout: verk.cpuSecondsPer10kPlain, cpuSecondsPer10kWith: verk.cpuSecondsPer10kRateLimited, cpuRatio, machine }));
      console.log(JSON.stringify({ metric: 'groups', unit: 'jobs/s', groups: 1000, jobsPerGroup: 100, processing: verk.processingGroups, cpuSecondsPer10k: verk.cpuSecondsPer10kGroups, fairness: verk.groupsFairness, machine }));
      console.log(`\nnestjs-verk with a rate limit far above the achievable rate: processing ${verk.processingRateLimited} jobs/s (${ratio}x of ${verk.processingPlain} without), worker CPU ${verk.cpuSecondsPer10kRateLimited} s per 10,000 jobs (${cpuRatio}x)`);
      console.log(`nestjs-verk, 1,000 groups x 100 jobs enqueued group after group: ${verk.processingGroups} jobs/s, worker CPU ${verk.cpuSecondsPer10kGroups} s per 10,000 jobs; last group's first start at position ${verk.groupsFairness?.lastFirstStart} (FIFO: 99900), jobs per group in the first tenth ${verk.groupsFairness?.minInFirstTenth}-${verk.groupsFairness?.maxInFirstTenth} (ideal 10)`);
    }
    if (process.env.BENCH_RABBITMQ !== '0') rabbitmqRow(machine, verk);
    await tracingCost(server, redis);
  } finally {
    redis.disconnect();
    await server.cleanup();
  }
}

void main();
