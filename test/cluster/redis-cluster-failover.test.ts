import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Cluster } from 'ioredis';
import { VerkRedisError, type VerkEngine } from '../../lib/engine';
import { MemoryLogger, startEngine } from '../helpers/engine';
import { RedisCluster } from '../helpers/redis-cluster';
import { sleep, waitFor } from '../helpers/wait';

/*
 * Failover on a real cluster of 3 masters + 3 replicas: kill -9 the master holding the
 * `{verk}` slot while jobs run; its replica is promoted and the nodes carry on. With
 * `durability` every enqueue the producer saw succeed is on a replica before it returns,
 * so none is lost; a job runs twice only when its fetch or acknowledgement was in flight.
 */

let cluster: RedisCluster;
let inspect: Cluster;

before(async () => {
  cluster = await RedisCluster.start({ masters: 3, replicas: 1, nodeTimeout: 1000 });
  inspect = new Cluster(cluster.seeds, { redisOptions: { replyMapping: 'legacy' }, retryDelayOnFailover: 200, retryDelayOnClusterDown: 200, maxRedirections: 100 });
  inspect.on('error', () => undefined);
});
after(async () => {
  inspect?.disconnect();
  await cluster?.stop();
});

const TOTAL = 5000;
const CHUNK = 50;
const CONCURRENCY = 20;

test('failover: kill -9 the slot\'s master while 5,000 jobs run; the replica takes over, every acknowledged enqueue runs, duplicates bounded by what was in flight (durability on)', async () => {
  const runs = new Map<string, number>();
  const logger = new MemoryLogger();
  const options = { redis: { cluster: cluster.seeds }, queues: { work: CONCURRENCY }, pollInterval: 100, durability: { replicas: 1, timeout: 2000 } };
  const nodes: VerkEngine[] = [];
  for (const nodeId of ['a', 'b']) {
    nodes.push(
      await startEngine({ ...options, nodeId }, { Work: { perform: async (args) => void runs.set(String(args[0]), (runs.get(String(args[0])) ?? 0) + 1) } }, logger),
    );
  }
  const acknowledged = new Set<string>();
  let refused = 0;
  const master = await cluster.masterOf('{verk}');
  let killed = false;
  let ranAtKill = 0;
  try {
    // The producer enqueues in chunks with fixed ids, resending a chunk until it is confirmed.
    const producer = (async () => {
      for (let start = 0; start < TOTAL; start += CHUNK) {
        const ids = Array.from({ length: CHUNK }, (_, i) => `job-${start + i}`);
        for (;;) {
          try {
            await nodes[0].client.enqueueMany(ids.map((id) => ({ queue: 'work', class: 'Work', args: [id] })));
            for (const id of ids) acknowledged.add(id);
            break;
          } catch (error) {
            if (error instanceof VerkRedisError && /replica/.test(error.message)) refused++;
            await sleep(100);
          }
        }
        if (start === 1500) {
          // Mid-run: 1,500 enqueued, some running, some waiting.
          killed = true;
          ranAtKill = runs.size;
          await cluster.kill(master);
        }
      }
    })();
    await waitFor(() => killed, 'the kill', 120_000, 50);
    const promoted = await cluster.waitForFailover('{verk}', master);
    assert.notEqual(promoted, master, 'a replica now serves the slot');
    // The killed master comes back as the new master's replica, so WAIT can be satisfied again.
    await cluster.restart(master);
    await producer;
    assert.equal(acknowledged.size, TOTAL);
    await waitFor(() => [...acknowledged].every((id) => runs.has(id)), 'every acknowledged job ran', 180_000, 200);
    const duplicates = [...runs.values()].reduce((sum, count) => sum + count - 1, 0);
    // In flight at the kill, at most: what both nodes held (concurrency each) and one fetch
    // batch per node, plus a resent chunk of the producer.
    assert.ok(duplicates <= 2 * CONCURRENCY * 2 + CHUNK, `${duplicates} duplicate run(s) are within what was in flight`);
    await sleep(500);
    assert.equal(await inspect.llen('{verk}:queue:work'), 0, 'nothing left waiting');
    assert.ok(ranAtKill > 0 && ranAtKill < TOTAL, `the master died mid-run (${ranAtKill} jobs had run)`);
    if (process.env.VERK_TEST_VERBOSE) console.log({ ranAtKill, duplicates, refused, warnings: logger.lines.filter((line) => line.startsWith('warn')).slice(0, 10) });
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
  }
});

test('durability: with no replica to confirm, an enqueue fails with a VerkRedisError naming the option (WAIT timed out)', async () => {
  const engine = await startEngine({ redis: { cluster: cluster.seeds }, nodeId: 'lonely', durability: { replicas: 5, timeout: 200 } }, {});
  try {
    await assert.rejects(
      engine.client.enqueue({ queue: 'w', class: 'X' }),
      (error: unknown) => error instanceof VerkRedisError && /only \d of 5 replica\(s\) confirmed it within 200 ms \(option durability\)/.test(error.message),
    );
    // With replicas: 1 the same enqueue is confirmed.
  } finally {
    await engine.stop();
  }
  const one = await startEngine({ redis: { cluster: cluster.seeds }, nodeId: 'confirmed', durability: { replicas: 1, timeout: 5000 } }, {});
  try {
    await cluster.waitUntilOk(1);
    const jid = await one.client.enqueue({ queue: 'w2', class: 'X' });
    assert.match(jid, /^[0-9a-f]{24}$/);
    assert.equal(await inspect.llen('{verk}:queue:w2'), 1);
  } finally {
    await one.stop();
  }
});
