import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VerkEngine } from '../lib/engine';
import { RedisServer } from './helpers/redis-server';
import { waitFor } from './helpers/wait';

test('smoke', async () => {
  const redis = await RedisServer.start();
  const engine = new VerkEngine({ redis: redis.url, nodeId: 'n1', queues: { default: 5 } });
  const seen: number[] = [];
  engine.workers.register('Add', { perform: (args) => { seen.push((args[0] as number) + (args[1] as number)); } });
  await engine.start();
  for (let i = 0; i < 10; i++) await engine.client.enqueue({ queue: 'default', class: 'Add', args: [i, 1] });
  await waitFor(() => seen.length === 10, '10 jobs');
  assert.equal(seen.length, 10);
  await engine.stop();
  await redis.cleanup();
});
