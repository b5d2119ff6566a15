import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Cluster } from 'ioredis';
import { type VerkClusterConfig } from '../../lib/engine';
import { BlockingConnectionId } from '../../lib/engine/redis/blocking-connection';
import { closeConnection, createConnection } from '../../lib/engine/redis/redis';
import { MemoryLogger, startEngine } from '../helpers/engine';
import { RedisCluster } from '../helpers/redis-cluster';
import { makeTlsFiles, removeTls, type TlsFiles } from '../helpers/tls-certs';
import { sleep, waitFor } from '../helpers/wait';

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
  const logger = new MemoryLogger();
  const blocking = createConnection(redis(), 'blocking', 'verk:test:blocking', logger);
  const via = createConnection(redis(), 'engine', 'verk:test:engine', logger);
  const key = '{verk}:queue:blocked';
  const id = new BlockingConnectionId(blocking, key);
  try {
    await blocking.exists(key);
    await waitFor(() => id.current !== undefined, 'the id of the connection to the slot\'s master');
    let waiting = true;
    const started = Date.now();
    const fetch = blocking.blmove(key, '{verk}:inprogress:blocked:n', 'RIGHT', 'LEFT', 30).finally(() => (waiting = false));
    assert.equal(await id.unblock(via, () => waiting), true, 'Redis reports the client unblocked');
    assert.equal(await fetch, null);
    assert.ok(Date.now() - started < 20_000, 'the BLMOVE ended long before its timeout');
  } finally {
    id.detach();
    await closeConnection(blocking);
    await closeConnection(via);
  }
});
