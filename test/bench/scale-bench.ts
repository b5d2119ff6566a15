/**
 * Beyond one Redis (`npm run bench` with BENCH_MODE=cluster | shards | durability):
 *
 * - cluster: the same no-op processing through one instance on a single redis-server and
 *   on a 3-master Redis Cluster (all of an instance's keys are in one slot, so one master
 *   does the work): jobs/s, worker CPU and Redis CPU per job (`INFO cpu` of the servers).
 * - shards: 1 and then 3 independent shards (one redis-server and one worker process
 *   each, what three named instances are), BENCH_N jobs in total split evenly: jobs/s of
 *   the whole, Redis CPU and worker CPU per job, so the scaling on a machine with more
 *   cores can be projected (docs/redis-cluster.md).
 * - durability: enqueue and processing on a cluster with a replica per master, with and
 *   without `durability: { replicas: 1 }` (WAIT after each enqueue and acknowledgement).
 *
 * Each prints one JSON line per result. BENCH_N (default 50,000 here), BENCH_CONCURRENCY (50).
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { VerkEngine, type VerkLogger, type VerkOptions } from '../../lib/engine';
import { RedisCluster } from '../helpers/redis-cluster';
import { RedisServer } from '../helpers/redis-server';
import { measureProcessing, now, rate, sleep } from './measure';

const N = Number(process.env.BENCH_N ?? 50_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const quiet: VerkLogger = { log: () => undefined, warn: (m) => console.error(m), error: (m) => console.error(m) };
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
const round = (value: number, digits = 3): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** used_cpu_sys + used_cpu_user of one server, seconds. */
async function redisCpu(port: number): Promise<number> {
  const redis = new Redis({ port, host: '127.0.0.1' });
  try {
    const info = await redis.info('cpu');
    return Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]);
  } finally {
    redis.disconnect();
  }
}

async function totalRedisCpu(ports: number[]): Promise<number> {
  return (await Promise.all(ports.map(redisCpu))).reduce((sum, value) => sum + value, 0);
}

async function fill(producer: VerkEngine, total: number): Promise<void> {
  for (let i = 0; i < total; i += 1000) await producer.client.enqueueMany(Array.from({ length: Math.min(1000, total - i) }, (_, k) => ({ queue: 'bench', class: 'Noop', args: [i + k] })));
}

/** N no-op jobs through one worker engine on `redis`; Redis CPU summed over `ports`. */
async function processOn(redis: VerkOptions['redis'], ports: number[], probe: Redis | Cluster, processedKey: string, extra: VerkOptions = {}) {
  const producer = new VerkEngine({ redis, nodeId: 'scale-producer', ...extra }, { logger: quiet });
  const enqueueStarted = now();
  await Promise.all(Array.from({ length: Math.min(N, 20_000) }, (_, i) => producer.client.enqueue({ queue: 'single', class: 'Noop', args: [i] })));
  const enqueueSingle = rate(Math.min(N, 20_000), now() - enqueueStarted);
  await fill(producer, N);
  const worker = new VerkEngine({ redis, nodeId: 'scale-worker', queues: { bench: CONCURRENCY }, ...extra }, { logger: quiet });
  worker.workers.register('Noop', { perform: () => undefined });
  const cpuBefore = await totalRedisCpu(ports);
  const result = await measureProcessing(N, async () => {
    await worker.start();
    while (Number(await probe.get(processedKey)) < N) await sleep(5);
  });
  const redisCpuPerJobUs = round((((await totalRedisCpu(ports)) - cpuBefore) / N) * 1e6, 1);
  await worker.stop();
  await producer.stop();
  return { enqueueSingle, processing: result.processing, workerCpuPer10k: result.cpuSecondsPer10k, redisCpuPerJobUs };
}

async function clusterMode(): Promise<void> {
  const server = await RedisServer.start();
  const single = new Redis(server.url);
  const cluster = await RedisCluster.start({ masters: 3 });
  const probe = new Cluster(cluster.seeds);
  try {
    const one = await processOn(server.url, [server.port], single, 'stat:processed');
    const many = await processOn({ cluster: cluster.seeds }, cluster.ports, probe, '{verk}:stat:processed');
    console.log(JSON.stringify({ metric: 'cluster', unit: 'jobs/s', single: one, cluster: many, ratio: round(many.processing / one.processing, 2), jobs: N, concurrency: CONCURRENCY, machine }));
  } finally {
    single.disconnect();
    probe.disconnect();
    await cluster.stop();
    await server.cleanup();
  }
}

async function durabilityMode(): Promise<void> {
  const cluster = await RedisCluster.start({ masters: 3, replicas: 1 });
  const probe = new Cluster(cluster.seeds);
  try {
    const rows: Record<string, Awaited<ReturnType<typeof processOn>>> = {};
    // Alternated twice, so a busier moment of the machine does not favour one side.
    for (const round of [1, 2]) {
      for (const mode of ['off', 'on'] as const) {
        await Promise.all(probe.nodes('master').map((node) => node.flushall()));
        await cluster.waitUntilOk(1);
        const result = await processOn({ cluster: cluster.seeds }, cluster.ports, probe, '{verk}:stat:processed', mode === 'on' ? { durability: { replicas: 1, timeout: 1000 } } : {});
        rows[`${mode}${round}`] = result;
      }
    }
    const best = (mode: 'off' | 'on', key: 'enqueueSingle' | 'processing') => Math.max(rows[`${mode}1`][key], rows[`${mode}2`][key]);
    console.log(
      JSON.stringify({
        metric: 'durabilityCost',
        unit: 'jobs/s',
        enqueueSingle: { off: best('off', 'enqueueSingle'), on: best('on', 'enqueueSingle'), ratio: round(best('on', 'enqueueSingle') / best('off', 'enqueueSingle'), 2) },
        processing: { off: best('off', 'processing'), on: best('on', 'processing'), ratio: round(best('on', 'processing') / best('off', 'processing'), 2) },
        runs: rows,
        jobs: N,
        concurrency: CONCURRENCY,
        machine,
      }),
    );
  } finally {
    probe.disconnect();
    await cluster.stop();
  }
}

/** One worker process per shard; resolves with the wall time of the whole and each worker's CPU. */
async function runShards(servers: RedisServer[]): Promise<{ ms: number; workerCpuSeconds: number }> {
  const perShard = Math.floor(N / servers.length);
  const children = servers.map((server) =>
    spawn(process.execPath, [join(__dirname, 'shard-worker.js')], { env: { ...process.env, REDIS_URL: server.url, SHARD_N: String(perShard), BENCH_CONCURRENCY: String(CONCURRENCY) }, stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const lines = children.map(
    (child) =>
      new Promise<string[]>((resolve, reject) => {
        const out: string[] = [];
        let buffer = '';
        child.stdout.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          const parts = buffer.split('\n');
          buffer = parts.pop() ?? '';
          out.push(...parts);
          if (out.length >= 2) resolve(out);
        });
        child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`shard worker exited with ${code}`))));
      }),
  );
  await Promise.all(children.map((child) => new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))));
  const started = now();
  for (const child of children) child.stdin.end('GO\n');
  const results = (await Promise.all(lines)).map((out) => JSON.parse(out[1]) as { ms: number; cpuSeconds: number });
  const ms = now() - started;
  await Promise.all(children.map((child) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())))));
  return { ms, workerCpuSeconds: results.reduce((sum, result) => sum + result.cpuSeconds, 0) };
}

async function shardsMode(): Promise<void> {
  const servers = await Promise.all([RedisServer.start(), RedisServer.start(), RedisServer.start()]);
  try {
    const rows: Record<string, { jobsPerSecond: number; redisCpuPerJobUs: number; workerCpuPerJobUs: number }> = {};
    for (const count of [1, 3]) {
      const shards = servers.slice(0, count);
      const perShard = Math.floor(N / count);
      for (const server of shards) {
        const redis = new Redis(server.url);
        await redis.flushall();
        redis.disconnect();
        const producer = new VerkEngine({ redis: server.url, nodeId: 'shard-producer' }, { logger: quiet });
        await fill(producer, perShard);
        await producer.stop();
      }
      const cpuBefore = await totalRedisCpu(shards.map((server) => server.port));
      const { ms, workerCpuSeconds } = await runShards(shards);
      const jobs = perShard * count;
      rows[String(count)] = {
        jobsPerSecond: rate(jobs, ms),
        redisCpuPerJobUs: round((((await totalRedisCpu(shards.map((server) => server.port))) - cpuBefore) / jobs) * 1e6, 1),
        workerCpuPerJobUs: round((workerCpuSeconds / jobs) * 1e6, 1),
      };
    }
    console.log(JSON.stringify({ metric: 'shards', unit: 'jobs/s', one: rows['1'], three: rows['3'], ratio: round(rows['3'].jobsPerSecond / rows['1'].jobsPerSecond, 2), jobs: N, concurrency: CONCURRENCY, machine }));
  } finally {
    await Promise.all(servers.map((server) => server.cleanup()));
  }
}

/** Runs the scale bench of `mode`. */
export async function scaleBench(mode: string): Promise<void> {
  if (mode === 'cluster') await clusterMode();
  else if (mode === 'shards') await shardsMode();
  else if (mode === 'durability') await durabilityMode();
  else throw new Error(`unknown scale bench ${mode}`);
}
