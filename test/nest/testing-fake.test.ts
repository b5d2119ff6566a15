import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newJid, VerkHealthIndicator, VerkModule, VerkService, VerkStateError, VerkValidationError, UnknownWorkerError } from 'nestjs-verk';
import { AuditMiddleware, FlakyWorker, Ledger, SignupService, StampMiddleware, useTestingApp } from '../helpers/testing-app';
import { waitFor } from '../helpers/wait';
import Redis from 'ioredis';
import { VerkEngine } from 'nestjs-verk/engine';
import { MemoryLogger } from '../helpers/engine';
import { workerName } from '../../lib/nest/worker-name';

/*
 * VerkModule.forTesting({ mode: 'fake' }) in a Nest application, with no redis-server
 * anywhere: jobs are kept in memory and VerkTesting runs them through the real workers
 * (Nest DI) and the real middleware. A TCP listener stands where the application's Redis
 * would be, and must see no connection.
 */

const ctx = useTestingApp(VerkModule.forTesting({ mode: 'fake', middleware: [AuditMiddleware], clientMiddleware: [StampMiddleware], maxRetryCount: 3 }));

test('a service that enqueues is asserted on jobs(): payloads as stored (Sidekiq fields, client middleware applied)', async () => {
  ctx.reset();
  const before = ctx.redis.connections();
  const jid = await ctx.app.get(SignupService).signUp(42);
  assert.match(jid, /^[0-9a-f]{24}$/);
  const jobs = ctx.testing.jobs('mail');
  assert.equal(jobs.length, 1);
  const [job] = jobs;
  assert.deepEqual({ class: job.class, args: job.args, jid: job.jid, queue: job.queue, retry: job.retry, stamped_by: job.stamped_by }, {
    class: 'SendWelcome',
    args: [42],
    jid,
    queue: 'mail',
    retry: true,
    stamped_by: 'StampMiddleware',
  });
  assert.equal(typeof job.created_at, 'number');
  assert.equal(typeof job.enqueued_at, 'number');
  assert.deepEqual(ctx.testing.jobs('default'), []);
  assert.equal(ctx.ledger.entries.length, 0, 'fake mode runs nothing until drained');
  // A copy: changing it changes nothing stored.
  job.args.push('x');
  assert.deepEqual(ctx.testing.jobs('mail')[0].args, [42]);

  const run = await ctx.testing.drain();
  assert.deepEqual(run.runs.map((entry) => [entry.class, entry.outcome]), [['SendWelcome', 'done']]);
  // Real DI (Ledger), real global middleware (the context value, the audit after the worker).
  assert.deepEqual(ctx.ledger.entries, ['welcome:42:t-1', 'audit:SendWelcome']);
  assert.deepEqual(ctx.testing.jobs(), []);
  assert.equal(ctx.redis.connections(), before, 'nothing connected');
});

test('validation errors are the real module\'s: same class, field and message; nothing stored', async () => {
  ctx.reset();
  const cases: [Promise<unknown>, string][] = [
    [ctx.verk.enqueue({ queue: '', class: 'SendWelcome' }), 'job.queue: must be a non-empty queue name without white space, got ""'],
    [ctx.verk.enqueue({ queue: 'mail', class: 'SendWelcome', args: [new Date(0)] }), 'job.args[0]: Date is not a plain JSON value (pass date.toISOString() or date.getTime())'],
    [ctx.verk.enqueue({ queue: 'mail', class: 'SendWelcome', priority: 5000 }), 'job.priority'],
    [ctx.verk.enqueueMany([{ queue: 'mail', class: 'SendWelcome' }, { queue: 'mail', class: 'SendWelcome', bogus: 1 } as never]), 'jobs[1].bogus: unknown job field'],
    [ctx.verk.schedule({ queue: 'mail', class: 'SendWelcome' }, new Date('nope')), 'at: must be a valid Date or epoch milliseconds, got an invalid Date'],
    [ctx.verk.enqueue({ queue: 'mail', class: 'SendWelcome', dependsOn: [newJid()] }), 'job.dependsOn[0]: job '],
    [ctx.verk.batch([], { onComplete: { class: 'ImportDone' } }), 'jobs: must be a non-empty array of jobs'],
    [ctx.verk.batch([{ queue: 'q', class: 'X', unique: { ttl: 10 } }], { onComplete: { class: 'ImportDone' } }), 'jobs[0].unique: unique jobs cannot be part of a batch'],
    [ctx.verk.enqueue({ queue: 'mail', class: FlakyWorker, unique: { ttl: 0 } }), 'job.unique.ttl: must be the lock\'s lifetime in ms'],
    [ctx.verk.enqueue({ queue: 'mail', class: Ledger }), 'class: Ledger is not decorated with @Worker()'],
  ];
  for (const [call, message] of cases) {
    await assert.rejects(call, (error: Error) => {
      assert.ok(error instanceof VerkValidationError, `${message}: got ${error.name}: ${error.message}`);
      assert.ok(error.message.startsWith(message), `expected "${message}", got "${error.message}"`);
      return true;
    });
  }
  // The unknown dependency is the real FlowWriter's message.
  await assert.rejects(ctx.verk.enqueue({ queue: 'mail', class: 'SendWelcome', dependsOn: ['abc'] }), /job abc is neither pending nor recorded as finished.*nothing was written/);
  assert.deepEqual(ctx.testing.jobs(), []);
  assert.deepEqual(ctx.testing.scheduled(), []);
});

test('validation parity: the same bad inputs give the same error class and message as a real (never started) engine client', async () => {
  ctx.reset();
  const real = new VerkEngine({ redis: ctx.redis.url, nodeId: 'parity' }, { logger: new MemoryLogger(), className: workerName });
  type Api = Pick<VerkService, 'enqueue' | 'enqueueMany' | 'schedule' | 'batch'>;
  const realApi: Api = {
    enqueue: (job) => real.client.enqueue(job),
    enqueueMany: (jobs) => real.client.enqueueMany(jobs),
    schedule: (job, at) => real.client.schedule(job, at),
    batch: (jobs, options) => real.client.batch(jobs, options),
  };
  const calls: ((api: Api) => Promise<unknown>)[] = [
    (api) => api.enqueue({ queue: ' ', class: 'X' }),
    (api) => api.enqueue({ queue: 'q', class: 42 as never }),
    (api) => api.enqueue({ queue: 'q', class: 'X', args: [undefined] }),
    (api) => api.enqueue({ queue: 'q', class: 'X', args: [{ big: 1n }] }),
    (api) => api.enqueue({ queue: 'q', class: 'X', retry: -1 }),
    (api) => api.enqueue({ queue: 'q', class: 'X', maxRetryCount: 1.5 }),
    (api) => api.enqueue({ queue: 'q', class: 'X', jid: 'a b' }),
    (api) => api.enqueue({ queue: 'q', class: 'X', tags: ['has space'] }),
    (api) => api.enqueue({ queue: 'q', class: 'X', dependsOn: 'abc' as never }),
    (api) => api.enqueue({ queue: 'q', class: 'X', unique: { ttl: 5, extra: 1 } as never }),
    (api) => api.enqueue({ queue: 'q', class: Ledger }),
    (api) => api.enqueueMany('nope' as never),
    (api) => api.enqueueMany([{ queue: 'q', class: 'X', jid: 'b1', dependsOn: ['b2'] }, { queue: 'q', class: 'X', jid: 'b2' }]),
    (api) => api.schedule({ queue: 'q', class: 'X' }, 'tomorrow' as never),
    (api) => api.batch([{ queue: 'q', class: 'X' }], {} as never),
    (api) => api.batch([{ queue: 'q', class: 'X', priority: 1.5 }], { onComplete: { class: 'Done' } }),
  ];
  try {
    for (const [index, call] of calls.entries()) {
      const expected = await call(realApi).then(() => undefined, (error: Error) => error);
      const actual = await call(ctx.verk).then(() => undefined, (error: Error) => error);
      assert.ok(expected instanceof Error, `case ${index}: the real client accepted it`);
      assert.equal(actual?.constructor, expected.constructor, `case ${index}: ${expected.message}`);
      assert.equal(actual?.message, expected.message, `case ${index}`);
    }
  } finally {
    await real.stop();
  }
  assert.deepEqual(ctx.testing.jobs(), []);
  assert.equal(ctx.redis.connections(), 0, 'validation never reaches Redis, in either');
});

test('drain runs a chain of jobs that enqueue more jobs, each after its parent, through DI', async () => {
  ctx.reset();
  await ctx.verk.enqueue({ queue: 'default', class: 'ChainStep', args: [1, 4] });
  const result = await ctx.testing.drain();
  assert.equal(result.succeeded, 4);
  assert.equal(result.failed, 0);
  assert.deepEqual(ctx.ledger.entries.filter((entry) => entry.startsWith('step')), ['step:1', 'step-done:1', 'step:2', 'step-done:2', 'step:3', 'step-done:3', 'step:4', 'step-done:4']);
  assert.deepEqual(result.runs.map((run) => run.args[0]), [1, 2, 3, 4]);
});

test('drain honours priorities (higher first, FIFO within one) and a dependency diamond', async () => {
  ctx.reset();
  const [fetch, resize, index, publish] = await ctx.app.get(SignupService).diamond();
  const waiting = ctx.testing.jobs('default');
  // Ready jobs first (next to run first), then the three waiting for dependencies.
  assert.deepEqual(waiting.map((job) => job.args[0]), ['fetch', 'publish-never-first', 'resize', 'index', 'publish']);
  assert.equal(waiting[0].dependable, true);
  assert.deepEqual(waiting[4].depends_on, [resize, index]);
  await ctx.verk.enqueue({ queue: 'default', class: 'Graph::Node', args: ['urgent'], priority: 10 });
  await ctx.verk.enqueue({ queue: 'default', class: 'Graph::Node', args: ['urgent-2'], priority: 10 });
  await ctx.testing.drain('default');
  const order = ctx.ledger.entries.filter((entry) => entry.startsWith('node:')).map((entry) => entry.slice(5));
  assert.deepEqual(order, ['urgent', 'urgent-2', 'fetch', 'resize', 'index', 'publish', 'publish-never-first']);
  // Finished dependable jobs can still be depended on.
  await ctx.verk.enqueue({ queue: 'default', class: 'Graph::Node', args: ['late'], dependsOn: [fetch, publish] });
  assert.equal(ctx.testing.jobs('default')[0].args[0], 'late');
});

test('a batch runs its callback once, with the counts, after every job finished (one died)', async () => {
  ctx.reset();
  ctx.ledger.failuresLeft.set('b-bad', 99);
  const { bid, jids, callbackJid } = await ctx.verk.batch(
    [
      { queue: 'imports', class: 'Graph::Node', args: ['b1'] },
      { queue: 'imports', class: FlakyWorker, args: ['b-bad'], retry: 1 },
      { queue: 'imports', class: 'Graph::Node', args: ['b3'] },
    ],
    { onComplete: { class: 'ImportDone', args: ['nightly'] } },
  );
  assert.equal(jids.length, 3);
  assert.ok(ctx.testing.jobs('imports').every((job) => job.bid === bid));
  await ctx.testing.drain();
  assert.deepEqual(ctx.ledger.entries.filter((entry) => entry.startsWith('batch:')), [], 'not before the failed job is done');
  assert.equal(ctx.testing.retries().length, 1);
  const result = await ctx.testing.drain({ retries: true });
  assert.deepEqual(ctx.ledger.entries.filter((entry) => entry.startsWith('batch:')), ['batch:nightly:3/2/1']);
  const callbackRun = result.runs.find((run) => run.class === 'ImportDone');
  assert.equal(callbackRun?.jid, callbackJid);
  assert.equal(ctx.testing.dead().length, 1);
  assert.equal(ctx.testing.dead()[0].payload.retry_count, 2);
});

test('a throwing job goes to retries() with the real failure fields; drain({ retries: true }) runs it again until it succeeds', async () => {
  ctx.reset();
  ctx.ledger.failuresLeft.set('k1', 2);
  const jid = await ctx.verk.enqueue({ queue: 'default', class: FlakyWorker, args: ['k1'] });
  const first = await ctx.testing.drain();
  assert.deepEqual(first.runs.map((run) => [run.jid, run.outcome]), [[jid, 'retry']]);
  assert.ok(first.runs[0].error instanceof TypeError);
  const [retry] = ctx.testing.retries();
  assert.equal(retry.payload.jid, jid);
  assert.equal(retry.payload.retry_count, 1);
  assert.equal(retry.payload.error_class, 'TypeError');
  assert.equal(retry.payload.error_message, 'flaky k1 failed (2 left)');
  assert.equal(typeof retry.payload.failed_at, 'number');
  assert.ok(retry.at.getTime() > Date.now(), 'due later, by the real backoff');
  // A plain drain leaves it in retry.
  assert.equal((await ctx.testing.drain()).runs.length, 0);
  const second = await ctx.testing.drain({ retries: true });
  assert.deepEqual(second.runs.map((run) => run.outcome), ['retry', 'done']);
  assert.deepEqual(ctx.testing.retries(), []);
  assert.deepEqual(ctx.ledger.entries.filter((entry) => entry.startsWith('flaky')), ['flaky:k1:fail', 'flaky:k1:fail', 'flaky:k1:ok']);
});

test('a job that keeps failing dies after maxRetryCount (the module option); its dependents keep waiting; unknown classes fail', async () => {
  ctx.reset();
  ctx.ledger.failuresLeft.set('doomed', 99);
  const doomed = await ctx.verk.enqueue({ queue: 'default', class: FlakyWorker, args: ['doomed'], dependable: true });
  await ctx.verk.enqueue({ queue: 'default', class: 'Graph::Node', args: ['after-doomed'], dependsOn: [doomed] });
  const ghost = await ctx.verk.enqueue({ queue: 'default', class: 'NoSuchWorker', retry: false });
  const result = await ctx.testing.drain({ retries: true });
  // 1 run + maxRetryCount (3) retries, then dead.
  assert.equal(result.runs.filter((run) => run.jid === doomed).length, 4);
  const dead = ctx.testing.dead();
  assert.deepEqual(dead.map((entry) => entry.payload.jid).sort(), [doomed, ghost].sort());
  const ghostRun = result.runs.find((run) => run.jid === ghost);
  assert.ok(ghostRun?.error instanceof UnknownWorkerError);
  assert.equal(dead.find((entry) => entry.payload.jid === ghost)?.payload.error_class, 'UnknownWorkerError');
  assert.deepEqual(ctx.testing.jobs().map((job) => job.args[0]), ['after-doomed']);
});

test('unique: a duplicate returns the holder\'s jid while it waits or is in retry; the lock goes when it finishes', async () => {
  ctx.reset();
  const first = await ctx.verk.enqueue({ queue: 'default', class: FlakyWorker, args: ['u'], unique: { ttl: 60_000 } });
  assert.equal(await ctx.verk.enqueue({ queue: 'default', class: FlakyWorker, args: ['u'], unique: { ttl: 60_000 } }), first);
  assert.equal(ctx.testing.jobs().length, 1);
  ctx.ledger.failuresLeft.set('u', 1);
  await ctx.testing.drain();
  assert.equal(ctx.testing.retries().length, 1);
  assert.equal(await ctx.verk.enqueue({ queue: 'default', class: FlakyWorker, args: ['u'], unique: { ttl: 60_000 } }), first, 'lock kept in retry');
  await ctx.testing.drain({ retries: true });
  const next = await ctx.verk.enqueue({ queue: 'default', class: FlakyWorker, args: ['u'], unique: { ttl: 60_000 } });
  assert.notEqual(next, first);
});

test('performNext runs one job; scheduled() and runScheduled({ until }) run jobs due by then; paused queues wait', async () => {
  ctx.reset();
  const soon = await ctx.verk.schedule({ queue: 'default', class: 'Graph::Node', args: ['soon'] }, Date.now() + 60_000);
  const later = await ctx.verk.schedule({ queue: 'default', class: 'Graph::Node', args: ['later'] }, new Date(Date.now() + 3_600_000));
  const now = await ctx.verk.schedule({ queue: 'default', class: 'Graph::Node', args: ['past'] }, Date.now() - 1000);
  assert.deepEqual(ctx.testing.scheduled().map((entry) => entry.payload.jid), [soon, later]);
  assert.equal(ctx.testing.scheduled()[0].payload.enqueued_at, undefined, 'stored as Sidekiq stores a scheduled job');
  assert.deepEqual(ctx.testing.jobs().map((job) => job.jid), [now]);
  const one = await ctx.testing.performNext('default');
  assert.equal(one?.jid, now);
  assert.equal(await ctx.testing.performNext('default'), undefined);

  const result = await ctx.testing.runScheduled({ until: new Date(Date.now() + 120_000) });
  assert.deepEqual(result.runs.map((run) => run.jid), [soon]);
  assert.deepEqual(ctx.testing.scheduled().map((entry) => entry.payload.jid), [later]);

  await ctx.verk.pauseQueue('default');
  assert.equal(await ctx.verk.isQueuePaused('default'), true);
  assert.deepEqual((await ctx.testing.runScheduled()).runs, [], 'a paused queue is not drained');
  assert.equal(ctx.testing.jobs('default').length, 1);
  await ctx.verk.resumeQueue('default');
  assert.deepEqual((await ctx.testing.drain()).runs.map((run) => run.jid), [later]);
});

test('drain(queue) leaves other queues; maxJobs stops a job that enqueues itself forever', async () => {
  ctx.reset();
  await ctx.verk.enqueue({ queue: 'mail', class: 'SendWelcome', args: [1] });
  await ctx.verk.enqueue({ queue: 'default', class: 'Graph::Node', args: ['d'] });
  assert.deepEqual((await ctx.testing.drain('default')).runs.map((run) => run.queue), ['default']);
  assert.equal(ctx.testing.jobs('mail').length, 1);
  await ctx.verk.enqueue({ queue: 'default', class: 'ChainStep', args: [1, 1_000_000] });
  await assert.rejects(ctx.testing.drain({ queue: 'default', maxJobs: 20 }), (error: Error) => error instanceof VerkStateError && /ran 20 jobs/.test(error.message));
  await assert.rejects(ctx.testing.drain({ bogus: true } as never), /options.bogus: unknown option/);
});

test('events reach @OnVerkEvent handlers and events$; Redis-only calls reject with a VerkStateError saying so; health is up', async () => {
  ctx.reset();
  // Events of earlier tests are delivered on a later turn: let them land first.
  await new Promise((resolve) => setImmediate(resolve));
  ctx.ledger.finishedEvents.length = 0;
  const seen: string[] = [];
  const subscription = ctx.verk.events$.subscribe((event) => seen.push(`${event.type}:${'job' in event ? String(event.job.args[0]) : ''}`));
  await ctx.verk.enqueue({ queue: 'default', class: 'Graph::Node', args: ['e'] });
  await ctx.testing.drain();
  await waitFor(() => ctx.ledger.finishedEvents.length === 1 && seen.length === 2, 'events delivered');
  subscription.unsubscribe();
  assert.deepEqual(seen, ['JobStarted:e', 'JobFinished:e']);
  assert.deepEqual(ctx.ledger.finishedEvents, ['Graph::Node']);

  await assert.rejects(ctx.verk.stats(), (error: Error) => error instanceof VerkStateError && /VerkService.stats\(\) needs Redis/.test(error.message));
  await assert.rejects(ctx.verk.cancel('x'), VerkStateError);
  assert.equal(await ctx.verk.clear({ queue: 'default' }), 0);
  assert.equal(ctx.verk.nodeId, 'testing');
  await ctx.verk.addQueue('extra', 2);
  assert.deepEqual(ctx.verk.queues(), { extra: 2 });
  await assert.rejects(ctx.verk.addQueue('extra', 2), VerkStateError);
  const health = await ctx.app.get(VerkHealthIndicator).isHealthy('verk');
  assert.equal(health.verk.status, 'up');
});

test('forTesting options are checked like forRoot\'s', () => {
  assert.throws(() => VerkModule.forTesting({ mode: 'sloppy' as never }), /"mode": must be 'fake' or 'inline'/);
  assert.throws(() => VerkModule.forTesting({ redis: 'redis://x' } as never), /unknown option/);
  assert.throws(() => VerkModule.forTesting({ maxRetryCount: -1 }), (error: Error & { field?: string }) => error.field === 'maxRetryCount');
  assert.throws(() => VerkModule.forTesting({ middleware: [{}] as never }), /middleware\[0\]/);
});

test('no connection was attempted and no TCP socket is open after all of the above', () => {
  assert.equal(ctx.redis.connections(), 0);
  const sockets = process.getActiveResourcesInfo().filter((resource) => resource === 'TCPSocketWrap');
  assert.deepEqual(sockets, []);
});

test('control: a Redis client pointed at the listener is counted (so the no-connection checks above can fail)', async () => {
  const client = new Redis(ctx.redis.url, { retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  await waitFor(() => ctx.redis.connections() > 0, 'a connection from the client');
  client.disconnect();
});
