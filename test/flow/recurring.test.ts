import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Injectable, Module, type INestApplicationContext, type Type } from '@nestjs/common';
import { JobFinished, OnVerkEvent, Perform, type RecurringJob, VerkModule, VerkService, VerkValidationError, Worker } from 'nestjs-verk';
import { VerkEngine } from 'nestjs-verk/engine';
import { MemoryLogger, startEngine, useRedis } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';
import { boot } from '../helpers/nest';

const ctx = useRedis();

interface QueuedJob {
  class: string;
  args: unknown[];
  jid: string;
  queue: string;
  enqueued_at: number;
  created_at: number;
  recurring: string;
  recurring_at: number;
  priority?: number;
}

/** The jobs waiting in a queue (nobody consumes them in these tests), oldest first. */
async function queued(queue = 'default'): Promise<QueuedJob[]> {
  return (await ctx.redis.lrange(`queue:${queue}`, 0, -1)).reverse().map((member) => JSON.parse(member) as QueuedJob);
}

/** The tick (epoch ms) of each job of a recurring job, in queue order. */
async function ticksOf(name: string, queue = 'default'): Promise<number[]> {
  return (await queued(queue)).filter((job) => job.recurring === name).map((job) => Math.round(job.recurring_at * 1000));
}

/** Sleeps until the wall clock is `ms` into a second (so ticks on whole seconds are far away). */
async function untilMsIntoSecond(ms: number): Promise<void> {
  await sleep((ms - (Date.now() % 1000) + 1000) % 1000);
}

function nodes(count: number, prefix: string, pollInterval = 200): Promise<VerkEngine[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => startEngine({ redis: ctx.server.url, nodeId: `${prefix}-${index}`, queues: {}, pollInterval })));
}

test('three nodes, one cron job every second for 10 s: one job per tick, no duplicates', async () => {
  const engines = await nodes(3, 'cron3');
  try {
    await untilMsIntoSecond(500);
    const startedAt = Date.now();
    const def = await engines[1].recurring.recur('every-second', { class: 'Tick', cron: '* * * * * *', args: ['x'] });
    assert.equal(def.nextRunAt, Math.ceil(startedAt / 1000) * 1000, 'the first tick is the next whole second');
    await sleep(10_000);
    const stoppedAt = Date.now();
    await Promise.all(engines.map((engine) => engine.stop()));
    const ticks = await ticksOf('every-second');
    const expected = Math.floor(stoppedAt / 1000) - Math.floor(startedAt / 1000);
    assert.equal(new Set(ticks).size, ticks.length, `a tick was enqueued twice: ${ticks.join(', ')}`);
    assert.ok(Math.abs(ticks.length - expected) <= 1 && ticks.length >= 9 && ticks.length <= 11, `${ticks.length} jobs for ${expected} ticks`);
    assert.deepEqual(ticks, [...ticks].sort((a, b) => a - b), 'in tick order');
    for (const tick of ticks) assert.equal(tick % 1000, 0, 'ticks fall on whole seconds');
    const jobs = await queued();
    for (const job of jobs) {
      assert.equal(job.class, 'Tick');
      assert.deepEqual(job.args, ['x']);
      assert.match(job.jid, /^[0-9a-f]{24}$/);
      assert.ok(job.enqueued_at >= job.recurring_at && job.enqueued_at - job.recurring_at < 1, `enqueued ${job.enqueued_at - job.recurring_at} s after its tick`);
    }
    assert.deepEqual(await ctx.redis.smembers('queues'), ['default']);
    assert.equal(JSON.parse((await ctx.redis.hget('verk:recurring', 'every-second')) as string).runs, ticks.length, 'runs counts the jobs');
  } finally {
    await Promise.all(engines.map((engine) => engine.stop()));
  }
});

test('every with an offset ticks at creation + offset + k × every', async () => {
  const pollInterval = 100;
  const [engine] = await nodes(1, 'every', pollInterval);
  try {
    const def = await engine.recurring.recur('interval', { class: 'Poll', every: 1000, offset: 500, queue: 'polls' });
    assert.equal(def.every, 1000);
    assert.equal(def.offset, 500);
    assert.equal(def.nextRunAt, def.createdAt + 500);
    await waitFor(async () => (await ticksOf('interval', 'polls')).length >= 3, 'three ticks', 5000);
    const jobs = (await queued('polls')).slice(0, 3);
    assert.deepEqual(
      jobs.map((job) => Math.round(job.recurring_at * 1000)),
      [0, 1, 2].map((k) => def.createdAt + 500 + k * 1000),
    );
    for (const job of jobs) {
      const lateMs = job.enqueued_at * 1000 - job.recurring_at * 1000;
      assert.ok(lateMs >= 0 && lateMs <= pollInterval + 250, `enqueued ${lateMs} ms after its tick`);
    }
    // Without an offset the first job is enqueued at once (qless).
    const now = await engine.recurring.recur('at-once', { class: 'Poll', every: 60_000 });
    assert.equal(now.nextRunAt, now.createdAt);
    await waitFor(async () => (await ticksOf('at-once')).length === 1, 'the first job at once', 2000);
  } finally {
    await engine.stop();
  }
});

test('catch-up after 5 s with every node stopped: all enqueues each missed tick, one the latest, none nothing', async () => {
  const pollInterval = 100;
  const policies = ['all', 'one', 'none'] as const;
  let engines = await nodes(2, 'catch', pollInterval);
  try {
    for (const catchUp of policies) await engines[0].recurring.recur(`catch-${catchUp}`, { class: 'Catch', cron: '* * * * * *', catchUp, args: [catchUp] });
    await sleep(2200);
    await Promise.all(engines.map((engine) => engine.stop()));
    const before = new Map<string, number>();
    for (const catchUp of policies) {
      const ticks = await ticksOf(`catch-${catchUp}`);
      assert.ok(ticks.length >= 2, `${catchUp} ran before the stop`);
      before.set(catchUp, Math.max(...ticks));
    }
    const stoppedAt = Date.now();
    // Restart one node 5.5 s later, half-way between two ticks: the latest missed tick is
    // then 500 ms old, more than twice pollInterval (so missed, for 'none').
    await sleep(5000);
    await untilMsIntoSecond(500);
    const restartedAt = Date.now();
    assert.ok(restartedAt - stoppedAt >= 5000);
    engines = [await startEngine({ redis: ctx.server.url, nodeId: 'catch-0', queues: {}, pollInterval })];
    await sleep(1700);
    await engines[0].stop();

    const latestMissed = Math.floor(restartedAt / 1000) * 1000;
    for (const catchUp of policies) {
      const last = before.get(catchUp) as number;
      const ticks = await ticksOf(`catch-${catchUp}`);
      assert.equal(new Set(ticks).size, ticks.length, `${catchUp}: no tick twice`);
      const missed = ticks.filter((tick) => tick > last && tick <= restartedAt);
      const after = ticks.filter((tick) => tick > restartedAt);
      const missedCount = (latestMissed - last) / 1000;
      assert.ok(missedCount >= 5, `${missedCount} ticks were missed`);
      if (catchUp === 'all') assert.deepEqual(missed, Array.from({ length: missedCount }, (_, k) => last + (k + 1) * 1000), 'all: every missed tick');
      if (catchUp === 'one') assert.deepEqual(missed, [latestMissed], 'one: the latest missed tick only');
      if (catchUp === 'none') assert.deepEqual(missed, [], 'none: nothing for the past');
      assert.ok(after.length >= 1, `${catchUp}: resumes after the restart`);
      assert.deepEqual(after, Array.from({ length: after.length }, (_, k) => latestMissed + (k + 1) * 1000), `${catchUp}: then every tick`);
    }
  } finally {
    await Promise.all(engines.map((engine) => engine.stop()));
  }
});

test("catchUp 'none' still enqueues a tick written by a process that does not tick, which a node reaches within pollInterval", async () => {
  const pollInterval = 300;
  const [node] = await nodes(1, 'reach', pollInterval);
  const writer = new VerkEngine({ redis: ctx.server.url, nodeId: 'writer' }, { logger: new MemoryLogger() }); // never started
  try {
    await sleep(50); // the node is asleep until its next look
    const def = await writer.recurring.recur('first', { class: 'First', every: 60_000, catchUp: 'none' });
    assert.equal(def.nextRunAt, def.createdAt, 'due at once');
    await waitFor(async () => (await ticksOf('first')).length === 1, 'the first tick', 2 * pollInterval + 500);
  } finally {
    await writer.stop();
    await node.stop();
  }
});

test('maxRuns and endAt end a schedule; list shows the next run, null once ended', async () => {
  const [engine] = await nodes(1, 'limits', 100);
  try {
    await untilMsIntoSecond(200);
    const createdAt = Date.now();
    const limited = await engine.recurring.recur('limited', { class: 'Limited', every: 1000, maxRuns: 3 });
    const ending = await engine.recurring.recur('ending', { class: 'Ending', cron: '* * * * * *', endAt: new Date(createdAt + 2500) });
    assert.equal(ending.endAt, createdAt + 2500, 'endAt is stored as epoch ms');
    const forever = await engine.recurring.recur('forever', { class: 'Forever', cron: '0 0 1 1 *', timezone: 'Europe/Berlin' });
    const year = new Date().getUTCFullYear();
    const newYearInBerlin = [Date.UTC(year - 1, 11, 31, 23), Date.UTC(year, 11, 31, 23)].find((at) => at > Date.now());
    assert.equal(forever.nextRunAt, newYearInBerlin, 'midnight of Jan 1 in Berlin (UTC+1)');

    await waitFor(async () => (await engine.recurring.getRecurring('limited'))?.nextRunAt === null, 'limited ends', 5000);
    await waitFor(async () => (await engine.recurring.getRecurring('ending'))?.nextRunAt === null, 'ending ends', 5000);
    await sleep(1300);
    assert.deepEqual(await ticksOf('limited'), [0, 1, 2].map((k) => limited.createdAt + k * 1000), 'maxRuns: 3 jobs');
    const endingTicks = await ticksOf('ending');
    assert.deepEqual(endingTicks, [1000, 2000].map((k) => Math.ceil(createdAt / 1000) * 1000 + k - 1000), 'endAt: the ticks up to it');
    assert.equal(await ctx.redis.zscore('verk:recurring:due', 'limited'), null, 'an ended schedule has no next tick');

    const list = await engine.recurring.listRecurring();
    assert.deepEqual(list.map((job) => job.name), ['ending', 'forever', 'limited']);
    const byName = new Map(list.map((job) => [job.name, job]));
    assert.equal(byName.get('limited')?.runs, 3);
    assert.equal(byName.get('limited')?.lastRunAt, limited.createdAt + 2000);
    assert.equal(byName.get('limited')?.nextRunAt, null);
    assert.equal(byName.get('forever')?.nextRunAt, forever.nextRunAt);
    assert.equal(byName.get('forever')?.timezone, 'Europe/Berlin');
    assert.equal(byName.get('forever')?.catchUp, 'one', 'the default policy');

    // Raising maxRuns lets it run again.
    const more = await engine.recurring.updateRecurring('limited', { maxRuns: 4 });
    assert.ok(more?.nextRunAt !== null && (more?.nextRunAt ?? 0) > Date.now() - 1000);
    await waitFor(async () => (await ticksOf('limited')).length === 4, 'one more run', 3000);
  } finally {
    await engine.stop();
  }
});

test('update changes the interval or expression, keeps the run count; remove stops it', async () => {
  const [engine] = await nodes(1, 'update', 100);
  try {
    const def = await engine.recurring.recur('changing', { class: 'Change', every: 1000, args: [1] });
    await waitFor(async () => (await ticksOf('changing')).length === 2, 'two ticks at 1 s', 3000);
    const updated = (await engine.recurring.updateRecurring('changing', { every: 3000, args: [2] })) as RecurringJob;
    assert.equal(updated.every, 3000);
    assert.equal(updated.createdAt, def.createdAt, 'every still counts from creation');
    assert.equal((updated.nextRunAt as number - def.createdAt) % 3000, 0);
    assert.ok((updated.nextRunAt as number) > Date.now() - 100);
    assert.ok(updated.runs >= 2, 'runs are kept');
    await waitFor(async () => (await ticksOf('changing')).length >= 3, 'a tick at the new interval', 5000);
    const jobs = (await queued()).filter((job) => job.recurring === 'changing');
    assert.equal(Math.round(jobs[2].recurring_at * 1000), updated.nextRunAt);
    assert.deepEqual(jobs[2].args, [2], 'the new args');

    // A bad patch names the field and changes nothing.
    const stored = await ctx.redis.hget('verk:recurring', 'changing');
    await assert.rejects(engine.recurring.updateRecurring('changing', { cron: '* * * * * * * *' }), (error: unknown) => error instanceof VerkValidationError && error.field === 'cron');
    await assert.rejects(engine.recurring.updateRecurring('changing', { every: 10 }), (error: unknown) => error instanceof VerkValidationError && error.field === 'every');
    await assert.rejects(engine.recurring.updateRecurring('changing', { timezone: 'Europe/Berlin' }), /timezone: only applies to a cron expression/);
    await assert.rejects(engine.recurring.updateRecurring('changing', { nope: 1 } as never), /nope: unknown recurring job update field/);
    assert.equal(await ctx.redis.hget('verk:recurring', 'changing'), stored);

    // From an interval to a cron expression, with a time zone.
    const cron = (await engine.recurring.updateRecurring('changing', { cron: '*/2 * * * * *', timezone: 'America/New_York' })) as RecurringJob;
    assert.equal(cron.every, undefined);
    assert.equal(cron.cron, '*/2 * * * * *');
    assert.equal((cron.nextRunAt as number) % 2000, 0);
    assert.equal(await engine.recurring.updateRecurring('missing', { every: 2000 }), null);

    assert.equal(await engine.recurring.removeRecurring('changing'), true);
    assert.equal(await engine.recurring.removeRecurring('changing'), false);
    assert.equal(await engine.recurring.getRecurring('changing'), null);
    const count = (await ticksOf('changing')).length;
    await sleep(2300);
    assert.equal((await ticksOf('changing')).length, count, 'no job after remove');
    assert.deepEqual(await engine.recurring.listRecurring(), []);
  } finally {
    await engine.stop();
  }
});

test('recur replaces a definition: runs start again, a tick already enqueued is not enqueued twice', async () => {
  const [engine] = await nodes(1, 'replace', 100);
  try {
    await untilMsIntoSecond(300);
    await engine.recurring.recur('replaced', { class: 'R', cron: '* * * * * *' });
    await waitFor(async () => (await ticksOf('replaced')).length === 1, 'first tick', 2000);
    const again = await engine.recurring.recur('replaced', { class: 'R', cron: '* * * * * *', args: ['new'] });
    assert.equal(again.runs, 0);
    assert.ok((again.nextRunAt as number) > (again.lastRunAt as number));
    await waitFor(async () => (await ticksOf('replaced')).length === 2, 'next tick', 2000);
    const ticks = await ticksOf('replaced');
    assert.equal(ticks[1] - ticks[0], 1000);
  } finally {
    await engine.stop();
  }
});

test('a recurring job with a priority goes to the prioritized set; client middleware run on its jobs', async () => {
  const engine = await startEngine({ redis: ctx.server.url, nodeId: 'prio', queues: {}, pollInterval: 100 });
  engine.middleware.useClient(async (job, next) => {
    job.stamped = true;
    await next();
  });
  try {
    await engine.recurring.recur('urgent', { class: 'Urgent', every: 60_000, priority: 5, retry: 2, maxRetryCount: 3 });
    await waitFor(async () => (await ctx.redis.zcard('verk:queue:default:prioritized')) === 1, 'prioritized job', 2000);
    const [member] = await ctx.redis.zrange('verk:queue:default:prioritized', 0, '-1');
    const job = JSON.parse(member) as Record<string, unknown>;
    assert.equal(job.priority, 5);
    assert.equal(job.retry, 2);
    assert.equal(job.max_retry_count, 3);
    assert.equal(job.recurring, 'urgent');
    assert.equal(job.stamped, true);
    assert.equal(await ctx.redis.llen('queue:default'), 0);
  } finally {
    await engine.stop();
  }
});

test('bad definitions throw VerkValidationError naming the field, and write nothing', async () => {
  const engine = await startEngine({ redis: ctx.server.url, nodeId: 'valid', queues: {} });
  try {
    const cases: [unknown, string, RegExp][] = [
      [{ class: 'X', cron: '61 * * * *' }, 'cron', /minute field "61"/],
      [{ class: 'X', cron: '* 25 * * *' }, 'cron', /hour field "25"/],
      [{ class: 'X', cron: '0 0 * * * 9' }, 'cron', /day of week field "9"/],
      [{ class: 'X', cron: '* * *' }, 'cron', /has 3 field\(s\)/],
      [{ class: 'X', cron: '' }, 'cron', /must be a cron expression/],
      [{ class: 'X', cron: '0 * * * *', timezone: 'Mars/Olympus' }, 'timezone', /not a known time zone/],
      [{ class: 'X', cron: '0 * * * *', every: 60_000 }, 'cron', /cannot be combined with every/],
      [{ class: 'X' }, 'every', /needs every .* or cron/],
      [{ class: 'X', every: 999 }, 'every', /integer >= 1000/],
      [{ class: 'X', every: 1500.5 }, 'every', /integer >= 1000/],
      [{ class: 'X', every: 1000, offset: -1 }, 'offset', /integer >= 0/],
      [{ class: 'X', cron: '0 * * * *', offset: 10 }, 'offset', /only applies to every/],
      [{ class: 'X', every: 1000, timezone: 'UTC' }, 'timezone', /only applies to a cron/],
      [{ class: 'X', every: 1000, catchUp: 'some' }, 'catchUp', /'all', 'one', 'none'/],
      [{ class: 'X', every: 1000, maxRuns: 0 }, 'maxRuns', /integer >= 1/],
      [{ class: 'X', every: 1000, endAt: new Date('nope') }, 'endAt', /invalid Date/],
      [{ class: 'X', every: 1000, priority: 5000 }, 'priority', /-1000 to 1000/],
      [{ class: 'X', every: 1000, args: [() => 1] }, 'args[0]', /function/],
      [{ class: 'X', every: 1000, queue: 'a b' }, 'queue', /white space/],
      [{ class: 42, every: 1000 }, 'class', /worker class/],
      [{ class: 'X', every: 1000, cronn: '* * * * *' }, 'cronn', /unknown recurring job field/],
    ];
    for (const [options, field, message] of cases) {
      await assert.rejects(
        engine.recurring.recur('bad', options as never),
        (error: unknown) => error instanceof VerkValidationError && error.field === field && message.test(error.message),
        `${JSON.stringify(options)} -> ${field}`,
      );
    }
    await assert.rejects(engine.recurring.recur('two words', { class: 'X', every: 1000 }), (error: unknown) => error instanceof VerkValidationError && error.field === 'name');
    assert.equal(await ctx.redis.exists('verk:recurring', 'verk:recurring:due'), 0, 'nothing written');
    // Predefined names and 5-field expressions with a time zone are fine.
    assert.equal((await engine.recurring.recur('hourly', { class: 'X', cron: '@hourly' })).nextRunAt! % 3_600_000, 0);
    assert.ok((await engine.recurring.recur('berlin', { class: 'X', cron: '30 9 * * 1-5', timezone: 'Europe/Berlin' })).nextRunAt);
  } finally {
    await engine.stop();
  }
});

test('a stored definition that is not valid is skipped with an error, not retried in a loop', async () => {
  const logger = new MemoryLogger();
  await ctx.redis.hset('verk:recurring', 'broken', '{"name":"broken","cron":"nope"}');
  await ctx.redis.zadd('verk:recurring:due', Date.now() - 1000, 'broken');
  const engine = await startEngine({ redis: ctx.server.url, nodeId: 'broken', queues: {}, pollInterval: 50 }, {}, logger);
  try {
    await waitFor(async () => (await ctx.redis.zcard('verk:recurring:due')) === 0, 'stray tick dropped', 2000);
    assert.ok(logger.lines.some((line) => line.startsWith('error Recurring job broken: the stored definition is not valid')), logger.lines.join('\n'));
    assert.equal(await ctx.redis.hexists('verk:recurring', 'broken'), 1, 'kept for inspection');
    assert.equal(await ctx.redis.llen('queue:default'), 0);
  } finally {
    await engine.stop();
  }
});

// --- Declared in code: @Worker({ cron }) ---

@Injectable()
class TickLedger {
  readonly ticks: number[] = [];
  runs = 0;

  @OnVerkEvent(JobFinished)
  onFinished(event: JobFinished): void {
    if (event.job.recurring === 'Heartbeat') this.ticks.push(Math.round(Number(event.job.recurring_at) * 1000));
  }
}

@Worker({ name: 'Heartbeat', cron: '* * * * * *', args: ['beat'], catchUp: 'none' })
@Injectable()
class HeartbeatWorker {
  constructor(private readonly ledger: TickLedger) {}

  @Perform()
  perform(what: string): void {
    if (what === 'beat') this.ledger.runs++;
  }
}

@Worker({ name: 'Heartbeat', cron: '*/2 * * * * *', args: ['beat'], catchUp: 'none' })
@Injectable()
class HeartbeatWorkerV2 {
  @Perform()
  perform(): void {}
}

function appModule(nodeId: string, worker: Type<unknown> = HeartbeatWorker): Type<unknown> {
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId, queues: { default: 2 }, pollInterval: 200 })], providers: [TickLedger, worker] })
  class AppModule {}
  return AppModule;
}

test('@Worker({ cron }) stores its schedule at boot and runs; a second app with the same declaration adds no ticks', async () => {
  const first = await boot(appModule('decl-1'));
  let second: INestApplicationContext | undefined;
  try {
    const verk = first.get(VerkService);
    const stored = await verk.getRecurring('Heartbeat');
    assert.ok(stored, 'stored at boot');
    assert.equal(stored.class, 'Heartbeat');
    assert.equal(stored.queue, 'default');
    assert.deepEqual(stored.args, ['beat']);
    assert.equal(stored.cron, '* * * * * *');
    await waitFor(() => first.get(TickLedger).ticks.length >= 2, 'the worker runs', 4000);

    second = await boot(appModule('decl-2'));
    const after = await second.get(VerkService).getRecurring('Heartbeat');
    assert.equal(after?.createdAt, stored.createdAt, 'the identical declaration kept the stored definition');
    assert.ok((after?.runs ?? 0) >= 2, 'and its run count');
    await sleep(3000);
  } finally {
    await first.close();
    await second?.close();
  }
  const ticks = [...first.get(TickLedger).ticks, ...(second?.get(TickLedger).ticks ?? [])].sort((a, b) => a - b);
  assert.equal(new Set(ticks).size, ticks.length, `no tick ran twice: ${ticks.join(', ')}`);
  for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i] - ticks[i - 1], 1000, 'one job per second, none missing');
  assert.ok(ticks.length >= 4);
  assert.ok((second?.get(TickLedger).ticks.length ?? 0) + first.get(TickLedger).ticks.length === ticks.length);

  // A changed declaration replaces the stored one at the next boot.
  const third = await boot(appModule('decl-3', HeartbeatWorkerV2));
  try {
    const replaced = await third.get(VerkService).getRecurring('Heartbeat');
    assert.equal(replaced?.cron, '*/2 * * * * *');
    assert.equal(replaced?.runs, 0);
    assert.equal((replaced?.nextRunAt ?? 1) % 2000, 0);
  } finally {
    await third.close();
  }
});

test('@Worker() with a bad schedule refuses to boot, naming the worker and the field', async () => {
  @Worker({ cron: '* * * * * 8' })
  class BadCron {
    @Perform() run(): void {}
  }
  @Worker({ args: [1] })
  class NoSchedule {
    @Perform() run(): void {}
  }
  for (const [worker, message] of [
    [BadCron, /@Worker\(\) of BadCron: cron: "\* \* \* \* \* 8" is not a valid cron expression \(day of week field "8"\)/],
    [NoSchedule, /@Worker\(\) of NoSchedule: every: a recurring job needs every/],
  ] as const) {
    @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'bad-decl', queues: {} })], providers: [worker] })
    class AppModule {}
    await assert.rejects(boot(AppModule), message);
  }
  assert.equal(await ctx.redis.exists('verk:recurring'), 0);
});
