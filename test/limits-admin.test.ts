import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobPayload, VerkEngine } from '../lib/engine';
import { useRedis } from './helpers/engine';
import { Journal, jobs, useNodes } from './helpers/limits';
import { sleep, waitFor } from './helpers/wait';

const ctx = useRedis();
const { nodes } = useNodes(() => ctx.server.url);

/**
 * A queue `api` with groups: { concurrency: 1 } and one node whose handler blocks: the first
 * job of g0 runs and holds it, the other `count - 1` jobs wait in the grouped set (g1, g2
 * are free but its concurrency of 1 is taken). `finish` lets the blocked job end.
 */
async function groupedWaiting(count: number): Promise<{ producer: VerkEngine; journal: Journal; finish: () => void }> {
  const [producer] = await nodes(1, {}, {});
  await producer.setQueueLimits('api', { groups: { concurrency: 1 } });
  await producer.client.enqueueMany(jobs(count, (i) => ({ args: [String(i)], group: `g${i % 3}` })));
  const journal = new Journal();
  let finish: () => void = () => undefined;
  const blocked = new Promise<void>((resolve) => (finish = resolve));
  await nodes(1, { queues: { api: 1 } }, {
    Rec: {
      perform: async (args: unknown[], job: JobPayload) => {
        journal.begin(String(args[0]), job.group);
        await blocked;
        journal.end(job.group);
      },
    },
  });
  await waitFor(() => journal.starts.length === 1, 'one job runs');
  await waitFor(async () => (await ctx.redis.zcard('verk:queue:api:grouped')) === count - 1, 'the others wait in their groups');
  return { producer, journal, finish };
}

test('clear(queue) empties the grouped set and the ring: after Clear no grouped job runs', async () => {
  const { producer, journal, finish } = await groupedWaiting(12);
  assert.equal(await ctx.redis.llen('queue:api'), 0, 'the list is empty');
  assert.equal(await producer.admin.clear({ queue: 'api' }), 11, 'clear counts the grouped jobs');
  assert.equal(await ctx.redis.zcard('verk:queue:api:grouped'), 0);
  assert.equal(await ctx.redis.zcard('verk:limits:api:ring'), 0, 'no group left in the round-robin');
  const stats = await producer.admin.queueStats('api');
  assert.equal(stats.size, 0);
  assert.equal(stats.limits.grouped, 0);
  assert.equal(stats.limits.groups, 0);
  finish();
  await waitFor(() => journal.done === 1, 'the running job done');
  await sleep(500);
  assert.equal(journal.starts.length, 1, 'no cleared job ran');
});
