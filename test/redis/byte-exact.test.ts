import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkerHandler } from '../../lib/engine';
import { fieldText, scanObject } from '../../lib/engine/core/payload-text';
import { startEngine, useRedis } from '../helpers/engine';
import { waitFor } from '../helpers/wait';

const ctx = useRedis();

const JID = 'a1b2c3d4e5f6a7b8c9d0e1f2';
/**
 * Shaped like a Ruby job: integers above 2^53, floats JavaScript would shorten (1.0,
 * -0.0), escaped unicode and quotes, non-ASCII text, a nested object holding keys of the
 * engine's own fields, fields this code does not know, an unusual key order and spacing.
 */
const ARGS = String.raw`[9007199254740993,12345678901234567891,1.0,0.1,-0.0,1.5e300,"\u2028 \"quoted\" \u00fc","grüße ✓ 日本"]`;
const META = String.raw`{"queue":"nested","enqueued_at":1.0,"retry_count":7,"deep":[1.10,{"error_message":"not me"}]}`;
const ORIGINAL = `{"jid":"${JID}", "class":"ByteWorker","retry":1,"args":${ARGS},"created_at":1700000000.0,"meta":${META},"queue":"default","unknown_field":"x}\\"y","big":12345678901234567891, "ratio" : 2.50 }`;
const FAILURE_FIELDS = ['retry_count', 'error_message', 'error_class', 'failed_at', 'retried_at', 'error_backtrace'];

/**
 * Every field of the original, except those the engine may change, has the very same
 * text in `stored`. Compared as text, never through JSON.parse (which would hide the
 * re-encoding this guards against); the literal args and nested object are also looked
 * for with a plain substring search, independent of the scanner.
 */
function assertKept(stored: string, changed: readonly string[], where: string, original = ORIGINAL): void {
  for (const member of scanObject(original).members) {
    if (changed.includes(member.name)) continue;
    assert.equal(fieldText(stored, member.name), original.slice(member.valueStart, member.valueEnd), `${where}: field "${member.name}" byte-identical`);
  }
  assert.ok(stored.includes(`"args":${ARGS}`), `${where}: args text kept in ${stored}`);
  assert.ok(stored.includes(`"meta":${META}`), `${where}: nested object text kept`);
}

function field(stored: string, name: string): unknown {
  const text = fieldText(stored, name);
  return text === undefined ? undefined : JSON.parse(text);
}

test('a Ruby-shaped payload keeps every original byte through schedule → queue → fail → retry → dead → retryNow → success', async () => {
  const runs: unknown[][] = [];
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const worker: WorkerHandler = {
    async perform(args) {
      runs.push(args);
      if (runs.length === 1) await gate;
      if (runs.length <= 2) throw new Error(`boom ${runs.length} "quoted" \u2028 ü`);
    },
    // Far away: the test moves it when it has looked at it.
    retryAt: (failedAt) => failedAt + 3600,
  };
  // No queue runs until the test adds it, so every stop can be looked at.
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 50 }, { ByteWorker: worker });
  try {
    await ctx.redis.zadd('schedule', String(Date.now() / 1000 - 1), ORIGINAL);

    // schedule → queue: the scheduler adds enqueued_at, nothing else changes.
    await waitFor(async () => (await ctx.redis.llen('queue:default')) === 1, 'scheduled job moved to its queue');
    const [queued] = await ctx.redis.lrange('queue:default', 0, -1);
    assertKept(queued, ['enqueued_at'], 'queue (from schedule)');
    assert.equal(typeof field(queued, 'enqueued_at'), 'number');
    assert.ok(queued.startsWith(`${ORIGINAL.slice(0, -2)},"enqueued_at":`) && queued.endsWith(' }'), `appended after the last member: ${queued}`);

    // queue → in progress: moved as it is.
    await engine.addQueue('default', 1);
    await waitFor(() => runs.length === 1, 'first run');
    assert.deepEqual(await ctx.redis.lrange('inprogress:default:test-node', 0, -1), [queued], 'in progress exactly as queued');

    // fail → retry: the failure fields are spliced in.
    release();
    await waitFor(async () => (await ctx.redis.zcard('retry')) === 1, 'failed job in retry');
    await engine.removeQueue('default');
    const [retrying] = await ctx.redis.zrange('retry', 0, '-1');
    assertKept(retrying, ['enqueued_at', ...FAILURE_FIELDS], 'retry');
    assert.equal(fieldText(retrying, 'enqueued_at'), fieldText(queued, 'enqueued_at'));
    assert.equal(field(retrying, 'retry_count'), 1);
    assert.equal(field(retrying, 'error_message'), 'boom 1 "quoted" \u2028 ü');
    assert.equal(field(retrying, 'error_class'), 'Error');
    assert.equal(typeof field(retrying, 'failed_at'), 'number');
    assert.equal(field(retrying, 'retried_at'), undefined);

    // retry → queue by the scheduler once due: only enqueued_at changes.
    await ctx.redis.zadd('retry', 'XX', String(Date.now() / 1000), retrying);
    await waitFor(async () => (await ctx.redis.llen('queue:default')) === 1, 'due retry moved to its queue');
    const requeued = (await ctx.redis.lrange('queue:default', 0, -1))[0];
    assertKept(requeued, ['enqueued_at', ...FAILURE_FIELDS], 'queue (from retry)');
    assertKept(requeued, ['enqueued_at'], 'queue (from retry), against the retry member', retrying);

    // fail again → dead (retry: 1): retry_count 2, retried_at added, failed_at kept.
    await engine.addQueue('default', 1);
    await waitFor(async () => (await ctx.redis.zcard('dead')) === 1, 'job in dead');
    await engine.removeQueue('default');
    const [dead] = await ctx.redis.zrange('dead', 0, '-1');
    assertKept(dead, ['enqueued_at', ...FAILURE_FIELDS], 'dead');
    assert.equal(field(dead, 'retry_count'), 2);
    assert.equal(field(dead, 'error_message'), 'boom 2 "quoted" \u2028 ü');
    assert.equal(fieldText(dead, 'failed_at'), fieldText(retrying, 'failed_at'), 'first failure time kept');
    assert.equal(typeof field(dead, 'retried_at'), 'number');

    // dead → queue by retryNow: only enqueued_at changes.
    assert.equal(await engine.admin.retryNow(JID, 'dead'), true);
    const [revived] = await ctx.redis.lrange('queue:default', 0, -1);
    assertKept(revived, ['enqueued_at', ...FAILURE_FIELDS], 'queue (from retryNow)');
    assertKept(revived, ['enqueued_at'], 'queue (from retryNow), against the dead member', dead);

    // success: runs and is acknowledged (the stored text matched what was fetched).
    await engine.addQueue('default', 1);
    await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 1, 'third run acknowledged');
    assert.equal(runs.length, 3);
    assert.deepEqual(runs[2], JSON.parse(ARGS), 'a JS worker sees the args as JSON.parse reads them');
    assert.equal(await ctx.redis.llen('inprogress:default:test-node'), 0);
    assert.equal(await ctx.redis.zcard('dead'), 0);
  } finally {
    await engine.stop();
  }
});

test('recovery splices recovery_count (and a poison job\'s error fields) into the original text', async () => {
  const withCount = ORIGINAL.replace('"retry":1,', '"retry":1,"recovery_count":1,');
  // This node's earlier run left both in progress: recovered when it starts.
  await ctx.redis.sadd('verk:node:test-node:queues', 'default');
  await ctx.redis.lpush('inprogress:default:test-node', ORIGINAL, withCount.replace(JID, 'f'.repeat(24)));
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, maxRecoveries: 1 });
  try {
    const [back] = await ctx.redis.lrange('queue:default', 0, -1);
    assertKept(back, ['recovery_count'], 'recovered to the queue');
    assert.equal(field(back, 'recovery_count'), 1);
    const [poison] = await ctx.redis.zrange('dead', 0, '-1');
    assertKept(poison, ['jid', 'recovery_count', ...FAILURE_FIELDS], 'poison job in dead', withCount);
    assert.equal(field(poison, 'recovery_count'), 2);
    assert.ok(poison.includes('"retry":1,"recovery_count":2,'), `recovery_count replaced where it was: ${poison}`);
    assert.equal(field(poison, 'error_class'), 'PoisonJobError');
  } finally {
    await engine.stop();
  }
});

test('move and setPriority splice queue, enqueued_at and priority; nothing else changes', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 50 });
  try {
    const withEnqueuedAt = ORIGINAL.replace('"created_at"', '"enqueued_at":1700000001.0,"created_at"');
    await ctx.redis.sadd('queues', 'default');
    await ctx.redis.lpush('queue:default', withEnqueuedAt);
    // A waiting job goes through schedule (enqueued_at removed) into the new queue.
    assert.equal(await engine.control.move(JID, 'other'), true);
    await waitFor(async () => (await ctx.redis.llen('queue:other')) === 1, 'moved job in its new queue');
    const [moved] = await ctx.redis.lrange('queue:other', 0, -1);
    assertKept(moved, ['queue', 'enqueued_at'], 'moved', withEnqueuedAt);
    assert.equal(field(moved, 'queue'), 'other');
    assert.notEqual(fieldText(moved, 'enqueued_at'), '1700000001.0');

    // A job in retry keeps its place with the new queue.
    await ctx.redis.del('queue:other');
    await ctx.redis.zadd('retry', '4102444800', ORIGINAL);
    assert.equal(await engine.control.move(JID, 'third'), true);
    const [inRetry] = await ctx.redis.zrange('retry', 0, '-1');
    assert.equal(inRetry, ORIGINAL.replace('"queue":"default"', '"queue":"third"'), 'only the queue field changed');

    // setPriority adds the field, and priority 0 removes it again.
    await ctx.redis.del('retry');
    await ctx.redis.lpush('queue:default', ORIGINAL);
    assert.equal(await engine.admin.setPriority(JID, 5, 'default'), true);
    const [prioritized] = await ctx.redis.zrange('verk:queue:default:prioritized', 0, '-1');
    assert.equal(prioritized, ORIGINAL.replace(/ }$/, ',"priority":5 }'));
    assert.equal(await engine.admin.setPriority(JID, 0, 'default'), true);
    assert.deepEqual(await ctx.redis.lrange('queue:default', 0, -1), [ORIGINAL], 'back to the original text');
  } finally {
    await engine.stop();
  }
});

test('members that cannot run go to dead with their original text and the error fields spliced in', async () => {
  const noClass = String.raw`{"jid":"b1b2c3d4e5f6a7b8c9d0e1f2","args":[9007199254740993,1.0],"queue":"default","x":"\u2028"}`;
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, pollInterval: 50 });
  try {
    // One from schedule (the scheduler), one from the queue (the runner), one not an object.
    await ctx.redis.zadd('schedule', '1', noClass);
    await waitFor(async () => (await ctx.redis.zcard('dead')) === 1, 'invalid scheduled member in dead');
    const [fromSchedule] = await ctx.redis.zrange('dead', 0, '-1');
    assert.ok(fromSchedule.startsWith(noClass.slice(0, -1) + ','), `original text kept, fields appended: ${fromSchedule}`);
    assert.equal(field(fromSchedule, 'error_class'), 'InvalidJobError');
    await ctx.redis.del('dead');

    await ctx.redis.lpush('queue:default', noClass);
    await waitFor(async () => (await ctx.redis.zcard('dead')) === 1, 'invalid queued member in dead');
    const [fromQueue] = await ctx.redis.zrange('dead', 0, '-1');
    assert.ok(fromQueue.startsWith(noClass.slice(0, -1) + ','), `original text kept, fields appended: ${fromQueue}`);
    await ctx.redis.del('dead');

    await ctx.redis.lpush('queue:default', '[1.0]');
    await waitFor(async () => (await ctx.redis.zcard('dead')) === 1, 'non-object member in dead');
    const [wrapped] = await ctx.redis.zrange('dead', 0, '-1');
    assert.equal(field(wrapped, 'raw_payload'), '[1.0]', 'not an object: kept whole in raw_payload');
  } finally {
    await engine.stop();
  }
});

test('flow-control jobs (dependable) keep their bytes when they fail and when they die as poison', async () => {
  const flowJob = ORIGINAL.replace('"retry":1,', '"retry":1,"dependable":true,');
  const poison = flowJob.replace(JID, 'e'.repeat(24)).replace('"dependable":true,', '"dependable":true,"recovery_count":1,');
  await ctx.redis.sadd('verk:node:test-node:queues', 'default');
  await ctx.redis.lpush('inprogress:default:test-node', poison);
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, maxRecoveries: 1 }, {
    ByteWorker: {
      perform() {
        throw new Error('flow failure');
      },
      retryAt: (failedAt) => failedAt + 3600,
    },
  });
  try {
    const [dead] = await ctx.redis.zrange('dead', 0, '-1');
    assertKept(dead, ['jid', 'recovery_count', ...FAILURE_FIELDS], 'poison flow job in dead', poison);
    assert.equal(field(dead, 'error_class'), 'PoisonJobError');

    await ctx.redis.lpush('queue:default', flowJob);
    await waitFor(async () => (await ctx.redis.zcard('retry')) === 1, 'failed flow job in retry');
    const [retrying] = await ctx.redis.zrange('retry', 0, '-1');
    assertKept(retrying, FAILURE_FIELDS, 'failed flow job in retry', flowJob);
    assert.equal(field(retrying, 'error_message'), 'flow failure');
  } finally {
    await engine.stop();
  }
});
