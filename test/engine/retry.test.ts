import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, startEngine, zsetJobs, useRedis } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';

const ctx = useRedis();

class PaymentDeclined extends Error {
  override name = 'PaymentDeclined';
}

test('a throwing job lands in retry with Sidekiq\'s failure fields and the default backoff', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 } }, {
    Charge: {
      perform() {
        throw new PaymentDeclined('card declined');
      },
    },
  });
  try {
    const before = Date.now() / 1000;
    const jid = await engine.client.enqueue({ queue: 'default', class: 'Charge', args: [42] });
    await waitFor(async () => (await ctx.redis.zcard('retry')) === 1, 'job in retry');
    const [member, score] = await ctx.redis.zrange('retry', 0, '-1', 'WITHSCORES');
    const job = JSON.parse(member) as Record<string, unknown>;
    assert.equal(job.jid, jid);
    assert.deepEqual(job.args, [42]);
    assert.equal(job.retry_count, 1);
    assert.equal(job.error_message, 'card declined');
    assert.equal(job.error_class, 'PaymentDeclined');
    assert.equal(typeof job.failed_at, 'number');
    assert.ok((job.failed_at as number) >= before);
    assert.match(job.error_backtrace as string, /PaymentDeclined: card declined/);
    // Sidekiq's first retry: 15 + rand(10) seconds after the failure.
    const delay = Number(score) - (job.failed_at as number);
    assert.ok(delay >= 15 && delay < 25, `first retry after ${delay} s, expected 15..24`);
    assert.equal(Number(await ctx.redis.get('stat:failed')), 1);
    assert.equal(await ctx.redis.llen('inprogress:default:test-node'), 0, 'left in-progress');
  } finally {
    await engine.stop();
  }
});

test('a failing job runs again when due, then lands in dead after maxRetryCount; retryAt is honoured', async () => {
  const attempts: number[] = [];
  const retryAtCalls: [number, number][] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 2 }, pollInterval: 50 }, {
    Flaky: {
      perform() {
        attempts.push(Date.now());
        throw new Error(`attempt ${attempts.length}`);
      },
      retryAt(failedAt, retryCount) {
        retryAtCalls.push([failedAt, retryCount]);
        return failedAt + retryCount * 0.2; // 200 ms, 400 ms, ...
      },
    },
  });
  try {
    const jid = await engine.client.enqueue({ queue: 'default', class: 'Flaky', maxRetryCount: 2 });
    await waitFor(async () => (await ctx.redis.zcard('dead')) === 1, 'job in dead', 10_000);
    assert.equal(attempts.length, 3, 'first run plus two retries');
    assert.deepEqual(retryAtCalls.map(([, count]) => count), [1, 2], 'retryAt got the retry count');
    // Each retry ran no earlier than retryAt said.
    assert.ok(attempts[1] - attempts[0] >= 190, `second run ${attempts[1] - attempts[0]} ms after the first`);
    assert.ok(attempts[2] - attempts[1] >= 390, `third run ${attempts[2] - attempts[1]} ms after the second`);
    const [dead] = await zsetJobs(ctx.redis, 'dead');
    assert.equal(dead.jid, jid);
    assert.equal(dead.retry_count, 3);
    assert.equal(dead.max_retry_count, 2);
    assert.equal(dead.error_message, 'attempt 3');
    assert.equal(typeof dead.retried_at, 'number', 'later failures set retried_at, failed_at stays the first');
    assert.equal(await ctx.redis.zcard('retry'), 0);
    assert.equal(Number(await ctx.redis.get('stat:failed')), 3);
    assert.equal(Number(await ctx.redis.get('verk:stat:failed:queue:default')), 3);
    assert.equal(Number(await ctx.redis.get('stat:processed') ?? 0), 0);
  } finally {
    await engine.stop();
  }
});

test('a job that fails and then succeeds on retry is processed once and leaves nothing behind', async () => {
  let calls = 0;
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 2 }, pollInterval: 50 }, {
    SecondTime: {
      perform() {
        if (++calls === 1) throw new Error('first time fails');
      },
      retryAt: (failedAt) => failedAt,
    },
  });
  try {
    await engine.client.enqueue({ queue: 'default', class: 'SecondTime' });
    await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 1, 'processed after retry');
    assert.equal(calls, 2);
    assert.equal(await ctx.redis.zcard('retry'), 0);
    assert.equal(await ctx.redis.zcard('dead'), 0);
  } finally {
    await engine.stop();
  }
});

test('retry: false and retry: 0 send a failing job straight to dead; dead is trimmed to maxDeadJobs, oldest first', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, maxDeadJobs: 3 }, {
    Boom: {
      perform(args) {
        throw new Error(`boom ${String(args[0])}`);
      },
    },
  });
  try {
    for (let i = 0; i < 5; i++) {
      await engine.client.enqueue({ queue: 'default', class: 'Boom', args: [i], retry: i % 2 === 0 ? false : 0 });
      // one at a time, so the order of deaths is the order of enqueueing
      await waitFor(async () => Number(await ctx.redis.get('stat:failed')) === i + 1, `death ${i}`);
      await sleep(2);
    }
    const dead = await zsetJobs(ctx.redis, 'dead');
    assert.deepEqual(dead.map((job) => (job.args as number[])[0]), [2, 3, 4], 'the three newest are kept');
    assert.equal(await ctx.redis.zcard('retry'), 0);
  } finally {
    await engine.stop();
  }
});

test('the module-wide maxRetryCount applies when the job sets none; a job without a known worker fails with UnknownWorkerError', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, maxRetryCount: 0 }, {});
  try {
    await engine.client.enqueue({ queue: 'default', class: 'NotDeployedYet', args: ['x'] });
    await waitFor(async () => (await ctx.redis.zcard('dead')) === 1, 'unknown class in dead');
    const [job] = await zsetJobs(ctx.redis, 'dead');
    assert.equal(job.error_class, 'UnknownWorkerError');
    assert.match(job.error_message as string, /No worker for job class "NotDeployedYet"/);
  } finally {
    await engine.stop();
  }
  const retrying = await startEngine({ redis: ctx.server.url, queues: { default: 1 } }, {});
  try {
    await retrying.client.enqueue({ queue: 'default', class: 'NotDeployedYet' });
    await waitFor(async () => (await ctx.redis.zcard('retry')) === 1, 'unknown class retried by default, so a later deploy runs it');
  } finally {
    await retrying.stop();
  }
});
