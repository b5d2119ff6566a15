import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEngine, useRedis } from '../helpers/engine';
import { waitFor } from '../helpers/wait';

/**
 * Issue 12 (Queues page, "concurrency per node"): each node publishes queue -> concurrency
 * with its heartbeat, next to its liveness key and with the same TTL, so every node's shows
 * on any node's dashboard; a node that stops leaves nothing behind.
 */

const ctx = useRedis();

test("each node's concurrency per queue is stored with its heartbeat (same TTL, replaced each beat, removed on stop) and browse.queues sums it", async () => {
  const heartbeat = 200;
  const one = await startEngine({ redis: ctx.server.url, nodeId: 'node-a', queues: { mail: 3, reports: 1 }, heartbeat });
  const two = await startEngine({ redis: ctx.server.url, nodeId: 'node-b', queues: { mail: 4 }, heartbeat });
  try {
    assert.deepEqual(await ctx.redis.hgetall('verk:node:node-a:concurrency'), { mail: '3', reports: '1' });
    const ttl = await ctx.redis.pttl('verk:node:node-a:concurrency');
    assert.ok(ttl > 0 && ttl <= 2 * heartbeat, `expires with the node key (pttl ${ttl})`);
    // Still there after several periods: each beat refreshes it.
    await new Promise((resolve) => setTimeout(resolve, 3 * heartbeat));
    assert.deepEqual(await ctx.redis.hgetall('verk:node:node-b:concurrency'), { mail: '4' });

    const { queues } = await one.browse.queues();
    const mail = queues.find((queue) => queue.name === 'mail');
    assert.deepEqual(mail?.concurrency, { total: 7, nodes: 2, byNode: { 'node-a': 3, 'node-b': 4 } });
    assert.deepEqual(queues.find((queue) => queue.name === 'reports')?.concurrency, { total: 1, nodes: 1, byNode: { 'node-a': 1 } });

    await two.stop();
    assert.equal(await ctx.redis.exists('verk:node:node-b:concurrency'), 0, 'a node that leaves takes its entry with it');
    await waitFor(async () => (await one.browse.queues()).queues.find((queue) => queue.name === 'mail')?.concurrency.total === 3, 'the sum without node-b');
  } finally {
    await two.stop();
    await one.stop();
  }
});

test('a node that dies without leaving: its concurrency expires with its heartbeat key', async () => {
  const reader = await startEngine({ redis: ctx.server.url, nodeId: 'reader', queues: {}, heartbeat: 10_000 });
  try {
    // Written after the reader started, with a TTL long enough for one read on a busy machine
    // (150 ms was not: a CI run read the keys after they had expired).
    await ctx.redis.multi().sadd('verk_nodes', 'ghost').psetex('verk:node:ghost', 1500, 'alive').hset('verk:node:ghost:concurrency', 'mail', '9').pexpire('verk:node:ghost:concurrency', 1500).exec();
    assert.equal((await reader.browse.queues()).queues.find((queue) => queue.name === 'mail')?.concurrency.total, 9);
    await waitFor(async () => (await reader.browse.queues()).queues.find((queue) => queue.name === 'mail') === undefined, 'the dead node to drop out', 10_000);
  } finally {
    await reader.stop();
  }
});
