import 'reflect-metadata';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Perform, type TrackedJobEvent, VerkModule, VerkService, VerkValidationError, Worker } from 'nestjs-verk';
import { type JobEvent, VerkEngine } from '../../lib/engine';
import { MemoryLogger, startEngine, useRedis } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';
import { failOnce } from '../helpers/workers';

const ctx = useRedis();

/** test/fixtures/track-subscriber.ts in its own process: subscribes with just a Redis URL. */
class Subscriber {
  readonly events: TrackedJobEvent[] = [];
  private output = '';
  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => {
      this.output += chunk.toString();
      let newline: number;
      while ((newline = this.output.indexOf('\n')) >= 0) {
        const line = this.output.slice(0, newline);
        this.output = this.output.slice(newline + 1);
        if (line.startsWith('EVENT ')) this.events.push(JSON.parse(line.slice(6)) as TrackedJobEvent);
        else if (line === 'READY') this.onReady?.();
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  }
  private onReady?: () => void;

  static async start(env: Record<string, string>): Promise<Subscriber> {
    const child = spawn(process.execPath, [join(__dirname, '..', 'fixtures', 'track-subscriber.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const subscriber = new Subscriber(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('subscriber did not start in 10 s')), 10_000);
      subscriber.onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      child.once('exit', (code) => reject(new Error(`subscriber exited with ${code}`)));
    });
    return subscriber;
  }

  of(jid: string): string[] {
    return this.events.filter((event) => event.jid === jid).map((event) => event.event);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

test("a tracked job's events arrive in another process, in order; untracked jobs publish nothing", async () => {
  const subscriber = await Subscriber.start({ REDIS_URL: ctx.server.url });
  // No history: tracking works on its own.
  const worker = await startEngine({ redis: ctx.server.url, nodeId: 'worker-1', queues: { default: 2 }, pollInterval: 50 }, { Flaky: failOnce('first run fails', 0.1), Noop: { perform: () => undefined } });
  try {
    const jid = await worker.client.enqueue({ queue: 'default', class: 'Flaky', args: [1], track: true });
    const other = await worker.client.enqueue({ queue: 'default', class: 'Noop' });
    await waitFor(() => subscriber.of(jid).includes('finished'), 'the tracked job finished, as seen by the subscriber');
    // qless's names: put, popped, failed, retried, popped, completed.
    assert.deepEqual(subscriber.of(jid), ['enqueued', 'started', 'failed', 'retried', 'started', 'finished']);
    const events = subscriber.events.filter((event) => event.jid === jid);
    assert.ok(events.every((event) => event.queue === 'default'));
    assert.deepEqual([...new Set(events.slice(1).map((event) => event.node))], ['worker-1']);
    assert.deepEqual(events[2].error, { class: 'Error', message: 'first run fails' });
    assert.deepEqual(subscriber.of(other), [], 'not tracked');
    assert.deepEqual(await ctx.redis.keys('verk:history*'), [], 'tracking alone keeps no history');
  } finally {
    await worker.stop();
    await subscriber.stop();
  }
});

test('track() and untrack() later, from another node: running nodes follow the announcement', async () => {
  const worker = await startEngine({ redis: ctx.server.url, nodeId: 'worker-1', queues: { default: 1 }, pollInterval: 50 }, { Noop: { perform: () => undefined } });
  const operator = new VerkEngine({ redis: ctx.server.url, nodeId: 'operator' }, { logger: new MemoryLogger() });
  const seen: JobEvent[] = [];
  const unsubscribe = operator.subscribe((event) => void seen.push(event));
  try {
    await operator.subscribed();
    const jid = await operator.client.schedule({ queue: 'default', class: 'Noop' }, Date.now() + 300);
    assert.equal(worker.recorder.isTracking, false);
    await operator.recorder.track(jid);
    assert.equal(await operator.recorder.isTracked(jid), true);
    await waitFor(() => seen.some((event) => event.event === 'finished'), 'tracked job finished');
    assert.deepEqual(seen.map((event) => event.event), ['enqueued', 'started', 'finished']);
    assert.deepEqual([...new Set(seen.map((event) => event.node))], ['worker-1']);

    // After finishing, the entry stays an hour (a dead job may be retried by hand), then goes.
    const expires = Number(await ctx.redis.zscore('verk:tracked', jid));
    assert.ok(expires > Date.now() + 3_500_000 && expires <= Date.now() + 3_600_000);

    assert.equal(await operator.recorder.untrack(jid), true);
    assert.equal(await operator.recorder.untrack(jid), false);
    await waitFor(() => !worker.recorder.isTracking, 'the worker stops publishing once nothing is tracked');
    const next = await operator.client.enqueue({ queue: 'default', class: 'Noop' });
    await waitFor(async () => (await ctx.redis.get('stat:processed')) === '2', 'second job done');
    await sleep(50);
    assert.equal(seen.filter((event) => event.jid === next).length, 0);
  } finally {
    unsubscribe();
    await worker.stop();
    await operator.stop();
  }
});

test('tags: at enqueue and later, find by tag (newest first), untag; bad tags are refused naming the field', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, history: true });
  try {
    const first = await engine.client.enqueue({ queue: 'default', class: 'Import', args: [1], tags: ['customer-42', 'import'] });
    await sleep(2);
    const [second, third] = await engine.client.enqueueMany([
      { queue: 'default', class: 'Import', args: [2], tags: ['import'] },
      { queue: 'other', class: 'Export', args: [3] },
    ]);
    await sleep(2);
    const later = await engine.client.schedule({ queue: 'default', class: 'Import', args: [4], tags: ['import', 'import'] }, Date.now() + 60_000);

    const stored = JSON.parse((await ctx.redis.lrange('queue:default', -1, -1))[0]) as { jid: string; tags: string[] };
    assert.equal(stored.jid, first);
    assert.deepEqual(stored.tags, ['customer-42', 'import'], 'tags are in the payload (qless)');
    assert.deepEqual(JSON.parse((await ctx.redis.zrange('schedule', 0, '-1'))[0]).tags, ['import'], 'duplicates dropped');

    assert.deepEqual(await engine.recorder.jobsByTag('import'), { tag: 'import', total: 3, offset: 0, limit: 25, jids: [later, second, first] });
    assert.deepEqual((await engine.recorder.jobsByTag('import', { offset: 1, limit: 1 })).jids, [second]);
    assert.deepEqual((await engine.recorder.jobsByTag('customer-42')).jids, [first]);

    await sleep(2);
    await engine.recorder.tag(third, 'customer-42', 'urgent');
    assert.deepEqual((await engine.recorder.jobsByTag('customer-42')).jids, [third, first]);
    assert.deepEqual((await engine.recorder.jobsByTag('urgent')).jids, [third]);
    assert.equal(await engine.recorder.untag(first, 'customer-42', 'never-had'), 1);
    assert.deepEqual((await engine.recorder.jobsByTag('customer-42')).jids, [third]);
    assert.deepEqual((await engine.recorder.jobsByTag('unknown-tag')).total, 0);

    await engine.recorder.flush();
    const history = await engine.recorder.history(third);
    assert.deepEqual(history.map((event) => event.event), ['enqueued', 'tagged']);
    assert.deepEqual(history[1].tags, ['customer-42', 'urgent']);
    assert.deepEqual((await engine.recorder.history(first)).map((event) => [event.event, event.tags]), [
      ['enqueued', ['customer-42', 'import']],
      ['untagged', ['customer-42', 'never-had']],
    ]);

    const refused = (promise: Promise<unknown>, field: string) => assert.rejects(promise, (error: Error) => error instanceof VerkValidationError && error.field === field);
    await refused(engine.client.enqueue({ queue: 'default', class: 'Import', tags: ['has space'] }), 'job.tags[0]');
    await refused(engine.client.enqueue({ queue: 'default', class: 'Import', tags: 'import' as unknown as string[] }), 'job.tags');
    await refused(engine.client.enqueueMany([{ queue: 'default', class: 'Import' }, { queue: 'default', class: 'Import', tags: [''] }]), 'jobs[1].tags[0]');
    await refused(engine.client.enqueue({ queue: 'default', class: 'Import', tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }), 'job.tags');
    await refused(engine.client.enqueue({ queue: 'default', class: 'Import', track: 'yes' as unknown as boolean }), 'job.track');
    await refused(engine.recorder.tag(first), 'tags');
    await refused(engine.recorder.tag(first, 'a b'), 'tags[0]');
    await refused(engine.recorder.jobsByTag('import', { limit: 0 }), 'options.limit');
    assert.equal(await ctx.redis.llen('queue:default'), 2, 'nothing written by refused calls');
  } finally {
    await engine.stop();
  }
});

test('a unique duplicate is neither tagged nor recorded; flow jobs are recorded as scheduled, then enqueued', async () => {
  const worker = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, pollInterval: 50, history: true }, { Slow: { perform: () => sleep(200) }, Noop: { perform: () => undefined } });
  try {
    const first = await worker.client.enqueue({ queue: 'default', class: 'Slow', unique: { ttl: 10_000 }, tags: ['sync'], dependable: true });
    const dup = await worker.client.enqueue({ queue: 'default', class: 'Slow', unique: { ttl: 10_000 }, tags: ['sync'], dependable: true });
    assert.equal(dup, first);
    const child = await worker.client.enqueue({ queue: 'default', class: 'Noop', dependsOn: [first] });
    await waitFor(async () => (await worker.recorder.history(child)).some((event) => event.event === 'finished'), 'dependent finished');
    assert.deepEqual((await worker.recorder.history(first)).map((event) => event.event), ['scheduled', 'enqueued', 'started', 'finished']);
    const history = await worker.recorder.history(child);
    assert.deepEqual(history.map((event) => event.event), ['scheduled', 'enqueued', 'started', 'finished']);
    assert.deepEqual(history[0].dependsOn, [first]);
    assert.deepEqual((await worker.recorder.jobsByTag('sync')).jids, [first]);
  } finally {
    await worker.stop();
  }
});

@Worker()
class Shipment {
  @Perform() perform(): void {}
}

test('VerkService: history, tags, track and the subscribe() Observable', async () => {
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'nest-1', queues: { default: 2 }, history: { queues: ['default'] } })], providers: [Shipment] })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  await app.init();
  const verk = app.get(VerkService);
  const seen: TrackedJobEvent[] = [];
  const subscription = verk.subscribe().subscribe((event) => seen.push(event));
  try {
    const engine = app.get(VerkEngine);
    await engine.subscribed();
    const jid = await verk.enqueue({ queue: 'default', class: Shipment, tags: ['order-7'], track: true });
    await waitFor(() => seen.some((event) => event.event === 'finished'), 'tracked job finished');
    assert.deepEqual(seen.map((event) => event.event), ['enqueued', 'started', 'finished']);
    assert.deepEqual((await verk.jobsByTag('order-7')).jids, [jid]);
    await verk.tag(jid, 'shipped');
    assert.equal(await verk.untag(jid, 'order-7'), 1);
    await engine.recorder.flush();
    const status = await verk.job(jid);
    assert.equal(status.state, 'finished');
    assert.deepEqual(status.history?.map((event) => event.event), ['enqueued', 'started', 'finished', 'tagged', 'untagged']);
    assert.deepEqual((await verk.history(jid)).length, 5);
    assert.equal(await verk.untrack(jid), true);
    await verk.track(jid);
  } finally {
    subscription.unsubscribe();
    await app.close();
  }
});
