import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Cluster } from 'ioredis';
import { type VerkClusterConfig, VerkEngine } from '../../lib/engine';
import { runVerk } from '../helpers/cli';
import { MemoryLogger, startEngine } from '../helpers/engine';
import { RedisCluster } from '../helpers/redis-cluster';
import { makeTlsFiles, removeTls, type TlsFiles } from '../helpers/tls-certs';
import { sleep, waitFor } from '../helpers/wait';
import { assertUnblockReachesSlotMaster } from '../helpers/cluster-unblock';

/*
 * Managed cluster-mode Redis usually requires TLS: one instance on a real 3-master Redis
 * Cluster whose nodes serve TLS only (clients, cluster bus and replication), reached with
 * `redis: { cluster, options: { redisOptions: { tls: { ca } } } }`. Every node connection
 * the Cluster opens from the slot table must keep TLS.
 */

let tls: TlsFiles;
let cluster: RedisCluster;
let inspect: Cluster;

before(async () => {
  tls = makeTlsFiles();
  cluster = await RedisCluster.start({ masters: 3, tls });
  inspect = new Cluster(cluster.seeds, { redisOptions: { ...cluster.redisOptions, replyMapping: 'legacy' } });
  inspect.on('error', () => undefined);
});
after(async () => {
  inspect?.disconnect();
  await cluster?.stop();
  removeTls(tls);
});

function redis(): VerkClusterConfig {
  return { cluster: cluster.seeds, options: { redisOptions: { tls: { ca: tls.ca } } } };
}

test('TLS cluster: 500 jobs once each, a scheduled job, pause/resume and a wake-up on sharded channels', async () => {
  const runs = new Map<string, number>();
  const ran: string[] = [];
  const engine = await startEngine({ redis: redis(), queues: { default: 8, s: 1 }, pollInterval: 50 }, {
    Track: { perform: (args) => void runs.set(String(args[0]), (runs.get(String(args[0])) ?? 0) + 1) },
    Step: { perform: (args) => void ran.push(String(args[0])) },
  });
  try {
    assert.ok((await engine.ping()) >= 0, 'the health connection pings over TLS');
    await engine.client.enqueueMany(Array.from({ length: 500 }, (_, i) => ({ queue: 'default', class: 'Track', args: [`job-${i}`] })));
    await waitFor(async () => Number(await inspect.get('{verk}:stat:processed')) === 500, 'all 500 jobs processed', 90_000);
    assert.equal(runs.size, 500);
    for (const [id, count] of runs) assert.equal(count, 1, `${id} ran ${count} times`);

    await engine.client.schedule({ queue: 's', class: 'Step', args: ['scheduled'] }, Date.now() + 300);
    await waitFor(() => ran.includes('scheduled'), 'the scheduled job', 30_000);

    // Pause/resume travel on SSUBSCRIBE to the master of the {verk} slot.
    const master = await cluster.masterOf('{verk}');
    assert.deepEqual(((await cluster.onNode(master, 'PUBSUB', 'SHARDCHANNELS')) as string[]).sort(), ['{verk}:verk:control', '{verk}:verk:wake']);
    await engine.pauseQueue('s');
    await sleep(200);
    await engine.client.enqueue({ queue: 's', class: 'Step', args: ['while-paused'] });
    await sleep(400);
    assert.equal(ran.includes('while-paused'), false, 'nothing runs while paused');
    await engine.resumeQueue('s');
    await waitFor(() => ran.includes('while-paused'), 'the job after resume', 30_000);

    // Blocked in BLMOVE on the empty queue: a prioritized job wakes it with CLIENT UNBLOCK on that master.
    await sleep(300);
    const before = await unblockCalls(master);
    await engine.client.enqueue({ queue: 's', class: 'Step', args: ['urgent'], priority: 5 });
    await waitFor(() => ran.includes('urgent'), 'the prioritized job', 30_000);
    assert.ok((await unblockCalls(master)) > before, 'the wake-up sent CLIENT UNBLOCK to the slot\'s master');
  } finally {
    await engine.stop();
  }
});

/** Calls of CLIENT UNBLOCK one node counted so far. */
async function unblockCalls(port: number): Promise<number> {
  const stats = String(await cluster.onNode(port, 'INFO', 'commandstats'));
  return Number(/cmdstat_client\|unblock:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

test('TLS cluster: CLIENT UNBLOCK reaches a 30 s BLMOVE on the master of the queue\'s slot', async () => {
  await assertUnblockReachesSlotMaster(redis());
});

test('verk --cluster over TLS: rediss:// seeds, or host:port seeds with --tls, the CA from NODE_EXTRA_CA_CERTS; stats --json', async () => {
  const processed = Number(await inspect.get('{verk}:stat:processed'));
  assert.ok(processed >= 500, 'the first test ran its jobs');
  // One seed that is not the slot's master: the CLI follows the slot table over TLS.
  const master = await cluster.masterOf('{verk}');
  const other = cluster.ports.find((port) => port !== master);
  const env = { NODE_EXTRA_CA_CERTS: tls.caFile };
  for (const args of [['--cluster', `rediss://127.0.0.1:${other}`], ['--cluster', cluster.seeds.map(({ host, port }) => `${host}:${port}`).join(','), '--tls'], ['--tls']]) {
    const result = await runVerk([...args, 'stats', '--json'], { ...env, REDIS_CLUSTER: `127.0.0.1:${other}` });
    assert.equal(result.code, 0, `verk ${args.join(' ')}: ${result.stderr}`);
    assert.equal((JSON.parse(result.stdout) as { processed: number }).processed, processed, `verk ${args.join(' ')}`);
  }
});

test('verk --cluster over TLS: an untrusted server certificate, or no TLS at all, exits 1 in seconds saying why', async () => {
  const seed = `127.0.0.1:${cluster.ports[0]}`;
  const started = Date.now();
  const untrusted = await runVerk(['--cluster', `rediss://${seed}`, 'stats'], {}, 20_000);
  assert.equal(untrusted.code, 1, untrusted.stderr);
  assert.match(untrusted.stderr, /^verk: cannot reach the Redis Cluster \(seeds 127\.0\.0\.1:\d+ \(TLS\)\): .*certificate/i);
  const plain = await runVerk(['--cluster', seed, 'stats'], { NODE_EXTRA_CA_CERTS: tls.caFile }, 20_000);
  assert.equal(plain.code, 1, plain.stderr);
  assert.match(plain.stderr, /^verk: cannot reach the Redis Cluster \(seeds 127\.0\.0\.1:\d+\): /);
  assert.ok(Date.now() - started < 25_000, 'no hang');
});

test('TLS cluster: an untrusted server certificate is named in the engine\'s log and its ping, not hidden behind "Failed to refresh slots cache"', async () => {
  const logger = new MemoryLogger();
  const other = makeTlsFiles('other');
  const engine = new VerkEngine({ nodeId: 'untrusting', redis: { cluster: cluster.seeds, options: { redisOptions: { tls: { ca: other.ca } } } }, queues: {}, pollInterval: 50 }, { logger });
  // start() waits for Redis (an outage ends), so it is stopped once the log has said why.
  const started = engine.start().then(
    () => undefined,
    (error: unknown) => error,
  );
  try {
    await assert.rejects(engine.ping(3000), /certificate/i, 'the health check says why');
    await waitFor(() => logger.lines.some((line) => /certificate/i.test(line)), 'a warning about the certificate', 10_000).catch(() => undefined);
    assert.ok(
      logger.lines.some((line) => /^warn Redis connection verk:untrusting:\S+ to cluster 127\.0\.0\.1:\d+.* \(TLS\): .*certificate/i.test(line)),
      `a warning naming the certificate problem, got:\n${logger.lines.join('\n')}`,
    );
  } finally {
    await engine.stop();
    await started;
    removeTls(other);
  }
});
