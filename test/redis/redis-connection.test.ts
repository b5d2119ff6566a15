import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConnectionRole, closeConnection, createConnection } from '../../lib/engine/redis/redis';
import { silentLogger } from '../../lib/engine/logger';
import { RedisServer } from '../helpers/redis-server';
import { waitFor } from '../helpers/wait';

/**
 * The heartbeat waits 2 × heartbeat + 2 s after (re)connecting before it judges other
 * nodes dead (README, Reliability), which is only safe if every node's connections retry
 * at most 2 s apart. ioredis 6 changed its default retryStrategy to exponential backoff
 * up to 5 s plus jitter, so the engine sets its own; this watches the delays a real
 * outage produces.
 */
test('every engine connection retries at most 2 s apart while Redis is down, and comes back', async () => {
  const server = await RedisServer.start();
  const roles: ConnectionRole[] = ['engine', 'blocking', 'client', 'health'];
  const connections = roles.map((role) => createConnection(server.url, role, `verk:test:${role}`, silentLogger));
  const delays = new Map<ConnectionRole, number[]>(roles.map((role) => [role, []]));
  try {
    for (const connection of connections) assert.equal(await connection.ping(), 'PONG');
    connections.forEach((connection, index) => connection.on('reconnecting', (delay: number) => delays.get(roles[index])?.push(delay)));
    await server.kill();
    // Eight attempts: ioredis 6's default would be at 3.2 s by the 7th and 5 s by the 8th.
    await waitFor(() => roles.every((role) => (delays.get(role)?.length ?? 0) >= 8), 'eight reconnect attempts on each connection', 30_000);
    for (const role of roles) {
      const seen = delays.get(role) ?? [];
      assert.ok(seen.every((delay) => delay <= 2000), `${role} connection retried after ${seen.join(', ')} ms`);
    }
    await server.restart();
    for (const connection of connections) await waitFor(async () => (await connection.ping().catch(() => undefined)) === 'PONG', 'PING after the restart', 30_000);
  } finally {
    await Promise.all(connections.map((connection) => closeConnection(connection)));
    await server.cleanup();
  }
});

/**
 * The engine reads RESP2-shaped replies (WITHSCORES as a flat member, score list, scores
 * as strings): ioredis 6's default 'legacy' replyMapping gives them on RESP3 too, but an
 * app that passes its own ioredis options with replyMapping: 'resp3' must not change them.
 */
test("engine connections keep RESP2-shaped replies even when the options ask for replyMapping 'resp3'", async () => {
  const server = await RedisServer.start();
  const roles: ConnectionRole[] = ['engine', 'blocking', 'client', 'health'];
  const connections = roles.map((role) => createConnection({ host: '127.0.0.1', port: server.port, protocol: 3, replyMapping: 'resp3' }, role, `verk:test:${role}`, silentLogger));
  try {
    await connections[0].zadd('z', 1.5, 'a');
    for (const [index, connection] of connections.entries()) {
      assert.deepEqual(await connection.zrange('z', 0, '-1', 'WITHSCORES'), ['a', '1.5'], `${roles[index]}: ZRANGE WITHSCORES`);
      assert.equal(await connection.zscore('z', 'a'), '1.5', `${roles[index]}: ZSCORE`);
      assert.match(String(await connection.client('INFO')), /resp=3/, `${roles[index]}: still RESP3 on the wire`);
    }
  } finally {
    await Promise.all(connections.map((connection) => closeConnection(connection)));
    await server.cleanup();
  }
});
