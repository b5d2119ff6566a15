import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type Redis from 'ioredis';
import { JobFailed, JobFinished, JobStarted, OnVerkEvent, Perform, QueuePaused, QueuePausing, QueueRunning, type VerkEvent, VerkModule, VerkService, Worker } from 'nestjs-verk';
import { connect, startEngine, useRedis } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';

const ctx = useRedis();

/** A worker whose jobs wait until the test releases them. */
function gate() {
  const started: string[] = [];
  const finished: string[] = [];
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    started,
    finished,
    open,
    handler: {
      async perform(args: unknown[]) {
        started.push(String(args[0]));
        await opened;
        finished.push(String(args[0]));
      },
    },
  };
}

test('addQueue starts a queue at runtime; removeQueue lets running jobs finish and leaves waiting ones in Redis', async () => {
  const g = gate();
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, shutdownTimeout: 5000 }, { Gate: g.handler });
  try {
    await engine.client.enqueueMany(['a', 'b', 'c', 'd', 'e'].map((id) => ({ queue: 'late', class: 'Gate', args: [id] })));
    await sleep(100);
    assert.deepEqual(g.started, [], 'nothing runs before the queue is added');
    await engine.addQueue('late', 2);
    assert.deepEqual(engine.queues(), { late: 2 });
    await waitFor(() => g.started.length === 2, 'two running');
    const removing = engine.removeQueue('late');
    await sleep(100);
    // While its running jobs finish, the queue cannot be added again (the removal's last
    // steps would drop the new loop's gauges and its entry in the node's queue set).
    await assert.rejects(engine.addQueue('late', 1), /Queue "late" is being removed on node test-node/);
    g.open();
    await removing;
    assert.deepEqual(g.finished.sort(), ['a', 'b'], 'running jobs finished');
    assert.equal(await ctx.redis.llen('queue:late'), 3, 'waiting jobs stay');
    assert.equal(await ctx.redis.llen('inprogress:late:test-node'), 0);
    assert.deepEqual(engine.queues(), {});
    assert.equal(await ctx.redis.sismember('verk:node:test-node:queues', 'late'), 0, 'the node no longer lists the queue');
    await assert.rejects(engine.removeQueue('late'), /Queue "late" is not running/);
    await engine.addQueue('late', 1);
    await waitFor(async () => (await ctx.redis.llen('queue:late')) === 0 && g.finished.length === 5, 'the rest run after adding it again');
    await assert.rejects(engine.addQueue('late', 1), /already running/);
    await assert.rejects(engine.addQueue('other', 0), /concurrency: must be an integer >= 1/);
  } finally {
    await engine.stop();
  }
});

test('pause on node A stops node B too, events Pausing -> Paused -> Running, and the pause survives restarts', async () => {
  const g = gate();
  const a = await startEngine({ redis: ctx.server.url, nodeId: 'node-a', queues: {} });
  const b = await startEngine({ redis: ctx.server.url, nodeId: 'node-b', queues: { work: 2 } }, { Gate: g.handler });
  const events: string[] = [];
  b.events.subscribe((event) => {
    if (event instanceof QueuePausing || event instanceof QueuePaused || event instanceof QueueRunning) events.push(event.type);
  });
  try {
    await a.client.enqueue({ queue: 'work', class: 'Gate', args: ['running'] });
    await waitFor(() => g.started.length === 1, 'one job running on B');
    await sleep(50); // B is now blocked waiting on the empty queue
    await a.pauseQueue('work');
    assert.equal(await a.isPaused('work'), true);
    await waitFor(() => events.includes('QueuePausing'), 'B is pausing');
    assert.deepEqual(events, ['QueuePausing'], 'a job still runs: not Paused yet');
    await a.client.enqueue({ queue: 'work', class: 'Gate', args: ['waiting'] });
    g.open();
    await waitFor(() => events.includes('QueuePaused'), 'B paused once the running job finished');
    await sleep(300);
    assert.deepEqual(g.started, ['running'], 'B took nothing while paused');
    assert.equal(await ctx.redis.llen('queue:work'), 1);

    // A node starting later, or B restarting, obeys the stored pause.
    const c = await startEngine({ redis: ctx.server.url, nodeId: 'node-c', queues: { work: 1 } }, { Gate: g.handler });
    await sleep(300);
    assert.deepEqual(g.started, ['running'], 'a new node obeys the pause');
    await c.stop();

    await a.resumeQueue('work');
    await waitFor(() => g.finished.includes('waiting'), 'runs after resume');
    assert.deepEqual(events, ['QueuePausing', 'QueuePaused', 'QueueRunning']);
    assert.equal(await a.isPaused('work'), false);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('the fetch script refuses a paused queue even when the announcement never arrived', async () => {
  const ran: string[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { quiet: 1 } }, { Note: { perform: (args) => void ran.push(String(args[0])) } });
  const events: string[] = [];
  engine.events.subscribe((event) => void events.push(event.type));
  try {
    // Paused behind the engine's back: no pub/sub message.
    await ctx.redis.sadd('verk:paused_queues', 'quiet');
    await ctx.redis.lpush('queue:quiet', JSON.stringify({ class: 'Note', args: ['x'], jid: 'f'.repeat(24), queue: 'quiet' }));
    await waitFor(() => events.includes('QueuePaused'), 'paused by the fetch script');
    await sleep(200);
    assert.deepEqual(ran, []);
    assert.equal(await ctx.redis.llen('queue:quiet'), 1);
  } finally {
    await engine.stop();
  }
});

@Injectable()
class EventSink {
  readonly all: VerkEvent[] = [];
  readonly failed: JobFailed[] = [];
  readonly startedOrFinished: string[] = [];

  @OnVerkEvent()
  onAny(event: VerkEvent): void {
    this.all.push(event);
  }

  @OnVerkEvent(JobFailed)
  onFailed(event: JobFailed): void {
    this.failed.push(event);
  }

  @OnVerkEvent(JobStarted, JobFinished)
  onStartOrFinish(event: JobStarted | JobFinished): void {
    this.startedOrFinished.push(`${event.type}:${String(event.job.args[0])}`);
  }

  @OnVerkEvent(JobFinished)
  explode(): void {
    throw new Error('handler bug');
  }

  @OnVerkEvent(JobStarted)
  async slowReject(): Promise<void> {
    await sleep(2000);
    throw new Error('late handler bug');
  }
}

@Worker()
class Flaky {
  @Perform() run(id: string, fail: boolean): void {
    if (fail) throw new RangeError(`job ${id} failed`);
  }
}

test('@OnVerkEvent handlers get each event type; events$ sees them too; a throwing or slow handler never stops jobs', async () => {
  const logs: string[] = [];
  const capture = (message: unknown) => void logs.push(String(message));
  const logger = { log: capture, warn: capture, error: capture, debug: capture, verbose: capture, fatal: capture };
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'events', queues: { default: 4 }, maxRetryCount: 0 })], providers: [EventSink, Flaky] })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, { logger, abortOnError: false });
  try {
    const verk = app.get(VerkService);
    const sink = app.get(EventSink);
    const streamed: string[] = [];
    const subscription = verk.events$.subscribe((event) => streamed.push(event.type));
    const started = Date.now();
    const jobs = Array.from({ length: 20 }, (_, i) => ({ queue: 'default', class: Flaky, args: [`j${i}`, i === 7] }));
    await verk.enqueueMany(jobs);
    await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 19 && Number(await ctx.redis.get('stat:failed')) === 1, 'all jobs done');
    assert.ok(Date.now() - started < 1500, 'the slow handler did not hold the jobs back');
    await waitFor(() => sink.startedOrFinished.length === 39, 'start/finish events');
    assert.equal(sink.failed.length, 1);
    const [failed] = sink.failed;
    assert.equal(failed.job.args[0], 'j7');
    assert.ok(failed.error instanceof RangeError);
    assert.match(failed.stacktrace, /RangeError: job j7 failed/);
    assert.equal(failed.dead, true);
    assert.equal(failed.job.error_class, 'RangeError');
    const finished = sink.all.filter((event): event is JobFinished => event instanceof JobFinished);
    assert.equal(finished.length, 19);
    assert.ok(finished.every((event) => event.durationMs >= 0 && event.finishedAt >= event.startedAt));
    assert.ok(sink.all.some((event) => event instanceof QueueRunning), 'queue events reach catch-all handlers');
    assert.equal(streamed.filter((type) => type === 'JobStarted').length, 20);
    subscription.unsubscribe();
    await waitFor(() => logs.some((line) => /A listener of JobFinished failed: handler bug/.test(line)), 'handler error logged');
  } finally {
    await app.close();
  }
});
