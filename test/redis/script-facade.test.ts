import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type Redis from 'ioredis';
import { Keys } from '../../lib/engine/redis/keys';
import { defineScripts, loadScripts } from '../../lib/engine/redis/scripts';
import { VerkScripts } from '../../lib/engine/redis/verk-scripts';
import { connect, useRedis } from '../helpers/engine';
import { waitFor } from '../helpers/wait';

/**
 * Issue 14, item 5: every Lua script is called through one typed façade (VerkScripts)
 * that builds KEYS and ARGV from named parameters. This checks, against a real
 * redis-server watched with MONITOR, that the façade has one method per script of lua/
 * and that each method passes as many keys as the script's file name says (for the
 * scripts whose key count varies, as many as its header's formula gives for the call).
 */

const ctx = useRedis();

/** `verkFetchJobs` -> `fetchJobs`: the façade's method for a command. */
function methodOf(command: string): string {
  return command[4].toLowerCase() + command.slice(5);
}

const job = (queue: string, extra: Record<string, unknown> = {}): string => JSON.stringify({ class: 'W', args: [], jid: 'a'.repeat(24), queue, ...extra });

/**
 * One call of each method, and the keys it must pass: the file name's count, or for a
 * script that takes a variable count, the count its header gives for these parameters.
 */
function calls(scripts: VerkScripts): Record<string, { keys?: number; run: () => Promise<unknown> }> {
  const now = Date.now() / 1000;
  return {
    // core
    fetchJobs: { run: () => scripts.fetchJobs({ queue: 'q', nodeId: 'n1', count: 5 }) },
    confirmBlockedFetch: { run: () => scripts.confirmBlockedFetch({ queue: 'q', nodeId: 'n1', raw: job('q') }) },
    finishJobs: { run: () => scripts.finishJobs({ queue: 'q', nodeId: 'n1', jobs: [job('q')] }) },
    failJob: { run: () => scripts.failJob({ queue: 'q', nodeId: 'n1', target: 'retry', raw: job('q'), payload: job('q', { retry_count: 1 }), score: now + 10, maxDeadJobs: 10, now }) },
    requeueInProgress: { run: () => scripts.requeueInProgress({ queue: 'q', nodeId: 'n1' }) },
    reconcileInProgress: { run: () => scripts.reconcileInProgress({ queue: 'q', nodeId: 'n1', held: [job('q')] }) },
    recoverJobs: { run: () => scripts.recoverJobs({ queue: 'q', nodeId: 'gone', maxDeadJobs: 10, now, own: false, jobs: [{ raw: job('q'), target: 'queue', payload: job('q', { recovery_count: 1 }) }] }) },
    // 3 fixed keys, then one in-progress list per queue.
    forgetNode: { keys: 3 + 2, run: () => scripts.forgetNode({ nodeId: 'gone', queues: ['q', 'r'] }) },
    enqueueJob: { run: () => scripts.enqueueJob({ queue: 'q', payload: job('q') }) },
    enqueuePrioritized: { run: () => scripts.enqueuePrioritized({ queue: 'q', jobs: [{ priority: 5, payload: job('q', { priority: 5 }) }] }) },
    // 6 fixed keys, 3 per target queue (q and r), 5 flow keys.
    enqueueDue: {
      keys: 6 + 2 * 3 + 5,
      run: () =>
        scripts.enqueueDue({
          from: 'schedule',
          maxDeadJobs: 10,
          now,
          jobs: [
            { member: job('q'), queue: 'q', payload: job('q', { enqueued_at: now }) },
            { member: job('r'), queue: 'r', payload: job('r', { enqueued_at: now }) },
            { member: job('q', { n: 2 }), queue: 'q', payload: job('q', { n: 2 }) },
            { member: 'not a job', queue: null, payload: 'not a job' },
          ],
        }),
    },
    // flow
    completeFlowJob: { run: () => scripts.completeFlowJob({ queue: 'q', nodeId: 'n1', raw: job('q'), job: { jid: 'a'.repeat(24), dependable: true }, now, retentionSeconds: 60, maxDone: 100 }) },
    failFlowJob: {
      run: () => scripts.failFlowJob({ queue: 'q', nodeId: 'n1', target: 'dead', raw: job('q'), payload: job('q'), score: now, maxDeadJobs: 10, now, job: { jid: 'a'.repeat(24), unique_key: 'u', bid: 'b' }, retentionSeconds: 60 }),
    },
    // 6 fixed keys, then the lock u1 (twice, passed once) and the batch hash.
    enqueueFlowJobs: {
      keys: 6 + 2,
      run: () =>
        scripts.enqueueFlowJobs({
          jobs: [
            { job: { jid: 'j1', unique_key: 'u1', unique_ttl: 1000, dependable: true }, payload: job('q'), score: now },
            { job: { jid: 'j2', unique_key: 'u1', depends_on: ['j1'] }, payload: job('q'), score: now },
          ],
          batch: { bid: 'b1', callback: job('q'), placeholder: '"@@"', createdAt: now },
        }),
    },
    cancelBlockedJobs: { run: () => scripts.cancelBlockedJobs({ jid: 'j1' }) },
    removeBlockedJob: { run: () => scripts.removeBlockedJob({ jid: 'j1' }) },
    releaseLock: { run: () => scripts.releaseLock({ uniqueKey: 'u1', jid: 'j1' }) },
    // 2 fixed keys, then a batch hash and a lock for the first entry, a lock for the second.
    settleLostJobs: {
      keys: 2 + 3,
      run: () =>
        scripts.settleLostJobs({
          now,
          retentionSeconds: 60,
          entries: [
            { entry: job('q'), job: { jid: 'a'.repeat(24), bid: 'b1', unique_key: 'u1' } },
            { entry: 'x', job: { jid: 'x', unique_key: 'u2' } },
            { entry: 'y', job: null },
          ],
        }),
    },
    // admin
    listQueue: { run: () => scripts.listQueue({ queue: 'q', offset: 0, limit: 10 }) },
    relocateJob: { run: () => scripts.relocateJob({ from: 'queue:q', kind: 'list', raw: job('q'), to: { where: 'schedule', payload: job('q'), at: now } }) },
    removeJobs: { run: () => scripts.removeJobs({ from: 'dead', kind: 'zset', what: { oldest: 10 }, removedFrom: 'cleared from dead', dependents: 'lose', maxDeadJobs: 10, now }) },
    reprioritize: { run: () => scripts.reprioritize({ queue: 'q', raw: job('q'), where: 'list', payload: job('q', { priority: 3 }), priority: 3 }) },
    reprioritizeGrouped: { run: () => scripts.reprioritizeGrouped({ queue: 'q', member: `g\u00000000000000000000001${job('q')}`, group: 'g', payload: job('q', { priority: 3 }) }) },
    retryNow: { run: () => scripts.retryNow({ from: 'dead', queue: 'q', raw: job('q'), payload: job('q') }) },
    scanJobs: { run: () => scripts.scanJobs({ from: { queue: 'q' }, order: 'asc', start: 0, bound: 10, limit: 5, filter: { class: 'W', queue: '', text: '' } }) },
    // 3 fixed keys, 3 per target queue (q and r).
    retryJobs: {
      keys: 3 + 2 * 3,
      run: () =>
        scripts.retryJobs({
          from: 'dead',
          jobs: [
            { member: job('q'), queue: 'q', payload: job('q', { enqueued_at: now }) },
            { member: job('r'), queue: 'r', payload: job('r', { enqueued_at: now }) },
            { member: job('q', { n: 2 }), queue: 'q', payload: job('q', { n: 2 }) },
          ],
        }),
    },
    killJobs: { run: () => scripts.killJobs({ from: 'retry', members: [job('q')], maxDeadJobs: 10, now }) },
    // history: 3 fixed keys and one history per stored event; 1 fixed key and one per jid or tag.
    recordEvents: {
      keys: 3 + 2,
      run: () =>
        scripts.recordEvents({
          now: Date.now(),
          maxAge: 60_000,
          grace: 1000,
          tracking: true,
          maxEventsPerJob: 100,
          events: [
            { jid: 'j1', event: '{"event":"enqueued"}', mode: 1, ends: false },
            { jid: 'j2', event: '{"event":"finished"}', mode: 2, ends: true },
          ],
        }),
    },
    trimHistory: { keys: 1 + 3, run: () => scripts.trimHistory({ bound: Date.now(), jids: ['j1', 'j2', 'j3'] }) },
    trimTags: { keys: 1 + 2, run: () => scripts.trimTags({ cutoff: Date.now(), tags: ['t1', 't2'] }) },
    // recurring: 4 fixed keys, 3 per target queue.
    putRecurring: { run: () => scripts.putRecurring({ name: 'r', expected: null, expectedTick: null, definition: '{}', nextTick: Date.now() }) },
    tickRecurring: {
      keys: 4 + 3,
      run: () => scripts.tickRecurring({ name: 'r', expected: '{}', due: Date.now(), definition: '', next: null, jobs: [{ queue: 'q', priority: 0, payload: job('q') }, { queue: 'q', priority: 2, payload: job('q') }] }),
    },
    fetchLimited: { run: () => scripts.fetchLimited({ queue: 'q', nodeId: 'n1', count: 5 }) },
    releaseSlots: { run: () => scripts.releaseSlots({ queue: 'q', nodeId: 'n1', jobs: [job('q')] }) },
    releaseNodeSlots: { run: () => scripts.releaseNodeSlots({ queue: 'q', nodeId: 'gone', own: false }) },
    rateLimitedJob: { run: () => scripts.rateLimitedJob({ queue: 'q', nodeId: 'n1', raw: job('q'), ms: 100 }) },
  };
}

test('the script façade has one method per Lua script, and each passes the number of keys its script takes', async () => {
  const scripts = loadScripts();
  assert.equal(scripts.length, 36, `scripts in lua/: ${scripts.map((s) => s.command).join(', ')}`);
  const methods = new Set(Object.getOwnPropertyNames(VerkScripts.prototype));
  for (const script of scripts) assert.ok(methods.has(methodOf(script.command)), `VerkScripts has no method ${methodOf(script.command)} for ${script.command}`);

  const byHash = new Map(scripts.map((script) => [createHash('sha1').update(script.lua).digest('hex'), script.command]));
  const redis: Redis = connect(ctx.server.url);
  defineScripts(redis);
  const watcher = connect(ctx.server.url);
  const monitor = await watcher.monitor();
  const seen = new Map<string, number[]>();
  let done = false;
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0] === 'echo' && args[1] === 'facade-test-done') done = true;
    const command = args[0] === 'evalsha' ? byHash.get(args[1]) : undefined;
    if (command) seen.set(command, [...(seen.get(command) ?? []), Number(args[2])]);
  });
  try {
    const table = calls(new VerkScripts(redis, new Keys()));
    assert.deepEqual(Object.keys(table).sort(), scripts.map((script) => methodOf(script.command)).sort(), 'the test calls every script');
    // Replies do not matter here (the suites check behaviour); some calls may be refused.
    // Twice: ioredis sends a script's first call on a connection as EVAL with the text
    // (which MONITOR shows escaped), the later ones as EVALSHA with the SHA.
    for (let round = 0; round < 2; round++) for (const call of Object.values(table)) await call.run().catch(() => undefined);
    // The same façade over a MULTI: the call is queued and runs with EXEC.
    const multi = redis.multi();
    // (enqueuePrioritized ran on this connection above: EVALSHA here too.)
    VerkScripts.inPipeline(multi, new Keys()).enqueuePrioritized({ queue: 'm', jobs: [{ priority: 1, payload: job('m', { priority: 1 }) }, { priority: 2, payload: job('m', { priority: 2 }) }] });
    const replies = await multi.exec();
    assert.deepEqual(replies, [[null, 2]], 'the pipelined call ran and added both jobs');

    await redis.echo('facade-test-done');
    await waitFor(async () => done, 'MONITOR saw every call', 5000);
    for (const script of scripts) {
      const counts = seen.get(script.command);
      assert.ok(counts && counts.length > 0, `${script.command} was never called`);
      const expected = script.numberOfKeys ?? table[methodOf(script.command)].keys;
      assert.notEqual(expected, undefined, `the test gives the key count of ${script.command}`);
      for (const count of counts) assert.equal(count, expected, `${script.command} got ${count} keys, its script takes ${expected}`);
    }
  } finally {
    monitor.disconnect();
    watcher.disconnect();
    redis.disconnect();
  }
});
