import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { VerkEngine, VerkStateError } from '../../lib/engine';
import { MemoryLogger, useRedis } from '../helpers/engine';
import { freePort } from '../helpers/redis-server';

/*
 * stop() called while start() is still under way (a Nest app whose Redis is unreachable at
 * boot gets SIGTERM; or a test that tears down at once): start() must settle, with a
 * VerkStateError, and nothing of the node may be left running or connected.
 */

const ctx = useRedis();

/** Resolves with the promise's outcome, or 'pending' if it has not settled within ms. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<{ ok: T } | { error: unknown } | 'pending'> {
  return Promise.race([promise.then((ok) => ({ ok }), (error: unknown) => ({ error })), sleep(ms).then(() => 'pending' as const)]);
}

test('stop() while start() waits for an unreachable Redis: start() rejects with VerkStateError and stop() returns', async () => {
  // A port that accepts and drops every connection: ioredis keeps reconnecting, commands wait in its queue.
  const sockets = new Set<Socket>();
  const blackhole = createServer((socket) => {
    sockets.add(socket);
    socket.destroy();
  });
  const port = await freePort();
  await new Promise<void>((resolve) => blackhole.listen(port, '127.0.0.1', resolve));
  try {
    const engine = new VerkEngine({ redis: `redis://127.0.0.1:${port}`, nodeId: 'unreachable', queues: { default: 1 }, shutdownTimeout: 1000 }, { logger: new MemoryLogger() });
    // Its outcome is taken at once (as Nest's bootstrap awaits it), read after stop().
    const starting = engine.start().then(() => 'started', (error: unknown) => Promise.reject(error));
    starting.catch(() => undefined);
    await sleep(500);
    assert.notEqual(await settledWithin(engine.stop(), 5000), 'pending', 'stop() returned');
    const outcome = await settledWithin(starting, 5000);
    assert.notEqual(outcome, 'pending', 'start() settled after stop()');
    assert.ok('error' in (outcome as object), 'start() rejected');
    const error = (outcome as { error: unknown }).error;
    assert.ok(error instanceof VerkStateError, `a VerkStateError, got ${String(error)}`);
    assert.match(error.message, /stopped while (it was )?starting/);
  } finally {
    await new Promise<void>((resolve) => blackhole.close(() => resolve()));
  }
});

test('stop() right after start() on a live Redis: no queue loop, heartbeat or connection survives', async () => {
  for (const delay of [0, 1, 3, 10]) {
    await ctx.redis.flushall();
    const engine = new VerkEngine({ redis: ctx.server.url, nodeId: `racer-${delay}`, queues: { a: 2, b: 2 }, heartbeat: 1000, shutdownTimeout: 1000 }, { logger: new MemoryLogger() });
    const starting = engine.start().catch((error: unknown) => error);
    await sleep(delay);
    await engine.stop();
    const outcome = await starting;
    // Either start() won the race (then stop() stopped a running node) or it was cut short.
    if (outcome !== undefined) assert.ok(outcome instanceof VerkStateError, `start() rejected with ${String(outcome)}`);
    await sleep(300);
    const clients = (await ctx.redis.client('LIST')) as string;
    const others = clients.split('\n').filter((line) => line.includes('id=') && !line.includes('cmd=client'));
    assert.deepEqual(others, [], `no connection of node racer-${delay} left open`);
    assert.equal(await ctx.redis.exists(`verk:node:racer-${delay}`), 0, 'no heartbeat key left behind');
  }
});

test('addQueue racing stop(): no queue loop or connection is started after stop(); a second addQueue of the same queue under way is refused', async () => {
  for (const delay of [0, 1, 2]) {
    await ctx.redis.flushall();
    const engine = new VerkEngine({ redis: ctx.server.url, nodeId: `adder-${delay}`, queues: { a: 1 }, heartbeat: 1000, shutdownTimeout: 1000 }, { logger: new MemoryLogger() });
    await engine.start();
    // addQueue reads the queue's pause and limits from Redis before it starts the queue.
    const adding = engine.addQueue('late', 1).then(() => undefined, (error: unknown) => error);
    const twice = engine.addQueue('late', 1).then(() => undefined, (error: unknown) => error);
    await sleep(delay);
    await engine.stop();
    const [first, second] = await Promise.all([adding, twice]);
    assert.ok(second instanceof VerkStateError, `the second addQueue('late') was refused (${String(second)})`);
    // addQueue either finished before stop() (then stop() stopped the queue) or was refused.
    if (first !== undefined) assert.ok(first instanceof VerkStateError, `addQueue rejected with ${String(first)}`);
    await sleep(300);
    const clients = ((await ctx.redis.client('LIST')) as string).split('\n').filter((line) => line.includes('id=') && !line.includes('cmd=client'));
    assert.deepEqual(clients, [], `no connection of node adder-${delay} left open`);
    await ctx.redis.lpush('queue:late', JSON.stringify({ class: 'Nope', args: [], jid: 'a'.repeat(24), queue: 'late' }));
    await sleep(300);
    assert.equal(await ctx.redis.llen('queue:late'), 1, 'nothing fetches from the queue after stop()');
  }
});

test('a start() that fails after the queues started (the first heartbeat refused) stops them: no loop, timer or connection is left', async () => {
  await ctx.redis.flushall();
  // The node set holds a string: the first heartbeat's SADD fails with WRONGTYPE.
  await ctx.redis.set('verk_nodes', 'not a set');
  const logger = new MemoryLogger();
  const engine = new VerkEngine({ redis: ctx.server.url, nodeId: 'failing-start', queues: { a: 1 }, heartbeat: 1000, shutdownTimeout: 1000 }, { logger });
  await assert.rejects(engine.start(), /WRONGTYPE/);
  assert.deepEqual(engine.health().queues, {}, 'no queue left running');
  await ctx.redis.lpush('queue:a', JSON.stringify({ class: 'Nope', args: [], jid: 'b'.repeat(24), queue: 'a' }));
  await sleep(500);
  assert.equal(await ctx.redis.llen('queue:a'), 1, 'nothing fetches after the failed start');
  const clients = ((await ctx.redis.client('LIST')) as string).split('\n').filter((line) => line.includes('id=') && !line.includes('cmd=client'));
  assert.deepEqual(clients, [], 'no connection of the node left open');
  const warnings = logger.lines.length;
  await sleep(1500);
  assert.equal(logger.lines.length, warnings, `nothing keeps running and logging: ${logger.lines.slice(warnings).join(' | ')}`);
});
