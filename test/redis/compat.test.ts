import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobPayload } from '../../lib/engine';
import { connect, startEngine, zsetJobs, useRedis } from '../helpers/engine';
import { waitFor } from '../helpers/wait';

const ctx = useRedis();

test('a job pushed raw exactly as Sidekiq writes it runs', async () => {
  const calls: unknown[][] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 2 } }, { ExampleWorker: { perform: (args) => void calls.push(args) } });
  try {
    await ctx.redis.sadd('queues', 'default');
    await ctx.redis.lpush(
      'queue:default',
      '{"class":"ExampleWorker","args":[1,2],"jid":"b4a577edbccf1d805744efa9","retry":true,"queue":"default","created_at":1700000000.123,"enqueued_at":1700000000.124}',
    );
    await waitFor(() => calls.length === 1, 'Sidekiq job run');
    assert.deepEqual(calls[0], [1, 2]);
    await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 1, 'counted');
  } finally {
    await engine.stop();
  }
});

test('a job from the client carries Sidekiq\'s fields and is pushed where Sidekiq reads', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {} });
  try {
    const before = Date.now() / 1000;
    const jid = await engine.client.enqueue({ queue: 'mailers', class: 'Mailer::Send', args: ['a@b.c', { html: true }], maxRetryCount: 5 });
    assert.match(jid, /^[0-9a-f]{24}$/);
    assert.deepEqual(await ctx.redis.smembers('queues'), ['mailers']);
    const [member] = await ctx.redis.lrange('queue:mailers', 0, -1);
    const job = JSON.parse(member) as JobPayload;
    assert.deepEqual(Object.keys(job).sort(), ['args', 'class', 'created_at', 'enqueued_at', 'jid', 'max_retry_count', 'queue', 'retry']);
    assert.equal(job.class, 'Mailer::Send');
    assert.deepEqual(job.args, ['a@b.c', { html: true }]);
    assert.equal(job.jid, jid);
    assert.equal(job.queue, 'mailers');
    assert.equal(job.retry, true);
    assert.equal(job.max_retry_count, 5);
    assert.ok(job.created_at! >= before && job.created_at! < before + 5, 'created_at in epoch seconds');
    assert.equal(job.enqueued_at, job.created_at);
  } finally {
    await engine.stop();
  }
});

test('fields this code does not know survive a retry round trip', async () => {
  const seen: JobPayload[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, pollInterval: 50 }, {
    Picky: {
      perform(_args, job) {
        seen.push(job);
        if (seen.length === 1) throw new Error('once');
      },
      retryAt: (failedAt) => failedAt,
    },
  });
  try {
    const raw = { class: 'Picky', args: [], jid: 'c'.repeat(24), queue: 'default', retry: 3, backtrace: true, tags: ['billing'], custom: { nested: [1, 'two', null] } };
    await ctx.redis.lpush('queue:default', JSON.stringify(raw));
    await waitFor(() => seen.length === 2, 'second run after the retry');
    for (const field of ['backtrace', 'tags', 'custom', 'retry'] as const) assert.deepEqual(seen[1][field], raw[field], `${field} kept`);
    assert.equal(seen[1].retry_count, 1);
    assert.equal(seen[1].error_message, 'once');
  } finally {
    await engine.stop();
  }
});

test('garbage payloads end in dead with a message saying what was wrong, and the jobs behind them still run', async () => {
  const ran: unknown[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 } }, { Good: { perform: (args) => void ran.push(args[0]) } });
  try {
    // LPUSH: the first pushed is the first taken, so the good jobs sit behind the garbage.
    await ctx.redis.lpush(
      'queue:default',
      'not json',
      '{"class":1,"args":[]}',
      '{"class":"Good","args":"not-an-array"}',
      '[1,2]',
      JSON.stringify({ class: 'Good', args: ['after garbage'], jid: 'd'.repeat(24), queue: 'default' }),
      JSON.stringify({ class: 'Good', args: ['also'], jid: 'e'.repeat(24), queue: 'default' }),
    );
    await waitFor(() => ran.length === 2, 'good jobs behind the garbage run');
    assert.deepEqual(ran, ['after garbage', 'also']);
    await waitFor(async () => (await ctx.redis.zcard('dead')) === 4, 'four dead');
    const messages = (await zsetJobs(ctx.redis, 'dead')).map((job) => `${job.error_class}: ${job.error_message}`).sort();
    assert.equal(messages.length, 4);
    assert.ok(messages.some((m) => /payload is not valid JSON/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /"class" must be a non-empty string, got 1/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /"args" must be an array, got "not-an-array"/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /payload must be a JSON object, got an array/.test(m)), messages.join('\n'));
    assert.ok(messages.every((m) => m.startsWith('InvalidJobError: Invalid job payload')));
    assert.equal(await ctx.redis.llen('inprogress:default:test-node'), 0);
  } finally {
    await engine.stop();
  }
});
