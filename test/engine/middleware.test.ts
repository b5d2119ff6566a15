import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Injectable, Module, Scope, type INestApplicationContext, type Type } from '@nestjs/common';
import {
  currentJob,
  type JobContext,
  JobFinished,
  type JobPayload,
  Perform,
  type VerkClientMiddleware,
  type VerkEvent,
  type VerkMiddleware,
  VerkMiddlewareError,
  VerkModule,
  type VerkModuleOptions,
  VerkService,
  VerkValidationError,
  Worker,
} from 'nestjs-verk';
import { startEngine, useRedis, zsetJobs } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';
import { boot } from '../helpers/nest';

const ctx = useRedis();

/** Every test records what ran, in order, here (an ordinary provider, injected into middleware). */
@Injectable()
class Trace {
  readonly entries: string[] = [];
  add(entry: string): void {
    this.entries.push(entry);
  }
}

/** An application with VerkModule.forRoot(options) on this test's Redis, and the given providers. */
async function app(options: Partial<VerkModuleOptions>, providers: Type<unknown>[]): Promise<INestApplicationContext> {
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'mw', queues: { default: 5 }, ...options })], providers: [Trace, ...providers] })
  class AppModule {}
  return boot(AppModule);
}

async function queueJobs(queue = 'default'): Promise<JobPayload[]> {
  return (await ctx.redis.lrange(`queue:${queue}`, 0, -1)).map((member) => JSON.parse(member) as JobPayload);
}

// ---------------------------------------------------------------------------------------
// Order and DI

@Injectable()
class G1 implements VerkMiddleware {
  calls = 0;
  constructor(private readonly trace: Trace) {}
  async perform(_job: JobContext, next: () => Promise<void>): Promise<void> {
    this.calls++;
    this.trace.add('g1>');
    await next();
    this.trace.add('<g1');
  }
}

@Injectable()
class G2 implements VerkMiddleware {
  constructor(private readonly trace: Trace) {}
  async perform(_job: JobContext, next: () => Promise<void>): Promise<void> {
    this.trace.add('g2>');
    await next();
    this.trace.add('<g2');
  }
}

/** Not registered as a provider: created in the worker's module, where Trace is. */
@Injectable()
class W1 implements VerkMiddleware {
  constructor(private readonly trace: Trace) {}
  async perform(_job: JobContext, next: () => Promise<void>): Promise<void> {
    this.trace.add('w1>');
    await next();
    this.trace.add('<w1');
  }
}

@Worker({ name: 'Ordered', middleware: [W1] })
@Injectable()
class OrderedWorker {
  constructor(private readonly trace: Trace) {}
  @Perform() run(): void {
    this.trace.add('perform');
  }
}

test('order: global middleware in option order, then the worker\'s, then perform; after next() in reverse', async () => {
  const nest = await app({ middleware: [G1, G2] }, [G1, G2, OrderedWorker]);
  try {
    const trace = nest.get(Trace);
    await nest.get(VerkService).enqueue({ queue: 'default', class: 'Ordered' });
    await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 1, 'job done');
    assert.deepEqual(trace.entries, ['g1>', 'g2>', 'w1>', 'perform', '<w1', '<g2', '<g1']);
    // A middleware registered as a provider is that provider (one singleton).
    assert.equal(nest.get(G1).calls, 1);
  } finally {
    await nest.close();
  }
});

/** Not a provider, injecting VerkService (global): created by VerkModule. */
@Injectable()
class NodeStamp implements VerkMiddleware {
  constructor(private readonly verk: VerkService) {}
  async perform(job: JobContext, next: () => Promise<void>): Promise<void> {
    job.context.set('stampedBy', this.verk.nodeId);
    await next();
  }
}

@Injectable()
class Clock {
  now(): number {
    return 42;
  }
}

/** A provider with an injected provider of its own module. */
@Injectable()
class Timing implements VerkMiddleware {
  constructor(
    private readonly clock: Clock,
    private readonly trace: Trace,
  ) {}
  async perform(job: JobContext, next: () => Promise<void>): Promise<void> {
    const started = this.clock.now();
    await next();
    this.trace.add(`${job.class} took ${this.clock.now() - started}`);
  }
}

@Worker('Stamped')
class StampedWorker {
  constructor(private readonly trace: Trace) {}
  @Perform() run(): void {
    this.trace.add(`stamped by ${String(currentJob()?.context.get('stampedBy'))}`);
  }
}

/** Not a provider, listed on two workers: one instance for the module. */
@Injectable()
class Counting implements VerkMiddleware {
  private calls = 0;
  constructor(private readonly trace: Trace) {}
  async perform(job: JobContext, next: () => Promise<void>): Promise<void> {
    this.trace.add(`${job.class} is call ${++this.calls}`);
    await next();
  }
}

@Worker({ middleware: [Counting] })
class CountedA {
  @Perform() run(): void {}
}

@Worker({ middleware: [Counting] })
class CountedB {
  @Perform() run(): void {}
}

test('DI: middleware get their constructor dependencies, registered as providers or not', async () => {
  const nest = await app({ middleware: [NodeStamp, Timing], queues: { default: 1 } }, [Clock, Timing, StampedWorker, CountedA, CountedB]);
  try {
    const verk = nest.get(VerkService);
    await verk.enqueue({ queue: 'default', class: 'Stamped' });
    await waitFor(() => nest.get(Trace).entries.length === 2, 'job done');
    assert.deepEqual(nest.get(Trace).entries, ['stamped by mw', 'Stamped took 0']);
    await verk.enqueue({ queue: 'default', class: CountedA });
    await verk.enqueue({ queue: 'default', class: CountedB });
    await waitFor(() => nest.get(Trace).entries.length === 6, 'both jobs done');
    assert.deepEqual(nest.get(Trace).entries.slice(2), ['CountedA is call 1', 'CountedA took 0', 'CountedB is call 2', 'CountedB took 0']);
  } finally {
    await nest.close();
  }
});

// ---------------------------------------------------------------------------------------
// Context

@Injectable()
class Tenant implements VerkMiddleware {
  async perform(job: JobContext, next: () => Promise<void>): Promise<void> {
    job.context.set('tenant', `tenant-${String(job.args[0])}`);
    await next();
  }
}

@Worker('TenantJob')
class TenantWorker {
  constructor(private readonly trace: Trace) {}
  @Perform() async run(n: number, delayMs: number): Promise<void> {
    const before = currentJob();
    // Other jobs run while this one waits; each keeps its own context.
    await sleep(delayMs);
    await Promise.resolve();
    const after = currentJob();
    assert.equal(after, before);
    this.trace.add(`${n}:${String(after?.context.get('tenant'))}:${after?.jid === before?.jid}:${after?.queue}:${after?.nodeId}:${JSON.stringify(after?.args)}`);
  }
}

test('context: middleware set values the worker reads through currentJob(); concurrent jobs see their own; undefined outside a job', async () => {
  const nest = await app({ middleware: [Tenant], queues: { default: 10 } }, [TenantWorker]);
  const outside: (JobContext | undefined)[] = [];
  const subscription = nest.get(VerkService).events$.subscribe(() => outside.push(currentJob()));
  try {
    assert.equal(currentJob(), undefined);
    const jobs = Array.from({ length: 20 }, (_, n) => ({ queue: 'default', class: 'TenantJob', args: [n, (n * 7) % 20] }));
    await nest.get(VerkService).enqueueMany(jobs);
    const trace = nest.get(Trace);
    await waitFor(() => trace.entries.length === 20, 'all jobs run');
    assert.deepEqual(
      [...trace.entries].sort(),
      jobs.map(({ args: [n, delay] }) => `${n}:tenant-${n}:true:default:mw:${JSON.stringify([n, delay])}`).sort(),
    );
    assert.equal(currentJob(), undefined, 'no context leaks into the caller');
    await waitFor(() => outside.length >= 40, 'events delivered');
    assert.ok(outside.every((job) => job === undefined), 'event listeners run outside the job');
  } finally {
    subscription.unsubscribe();
    await nest.close();
  }
});

@Worker('Plain')
class PlainWorker {
  constructor(private readonly trace: Trace) {}
  @Perform() run(): void {
    this.trace.add(`current job: ${String(currentJob())}`);
  }
}

test('context: a job that runs through no middleware has no currentJob() (no AsyncLocalStorage on that path)', async () => {
  const nest = await app({}, [PlainWorker]);
  try {
    await nest.get(VerkService).enqueue({ queue: 'default', class: 'Plain' });
    await waitFor(() => nest.get(Trace).entries.length === 1, 'job run');
    assert.deepEqual(nest.get(Trace).entries, ['current job: undefined']);
  } finally {
    await nest.close();
  }
});

// ---------------------------------------------------------------------------------------
// Failure

class GuardRefused extends Error {
  override readonly name = 'GuardRefused';
}

@Injectable()
class Guard implements VerkMiddleware {
  async perform(job: JobContext, next: () => Promise<void>): Promise<void> {
    if (job.args[0] === 'before') throw new GuardRefused(`refused job ${job.jid}`);
    await next();
    if (job.args[0] === 'after') throw new Error('rejected after perform');
  }
}

@Worker({ name: 'Guarded', middleware: [Guard] })
class GuardedWorker {
  constructor(private readonly trace: Trace) {}
  @Perform() run(mode: string): void {
    this.trace.add(`perform ${mode}`);
  }
}

test('failure: a throw before next() fails the job (retry, with its error) and perform never runs', async () => {
  const nest = await app({}, [GuardedWorker]);
  try {
    const jid = await nest.get(VerkService).enqueue({ queue: 'default', class: 'Guarded', args: ['before'] });
    await waitFor(async () => (await ctx.redis.zcard('retry')) === 1, 'job in retry');
    const [failed] = await zsetJobs(ctx.redis, 'retry');
    assert.equal(failed.jid, jid);
    assert.equal(failed.error_message, `refused job ${jid}`);
    assert.equal(failed.error_class, 'GuardRefused');
    assert.equal(failed.retry_count, 1);
    assert.deepEqual(nest.get(Trace).entries, [], 'perform never ran');
    assert.equal(await ctx.redis.llen('inprogress:default:mw'), 0);
    assert.equal(await ctx.redis.get('stat:failed'), '1');
  } finally {
    await nest.close();
  }
});

test('failure: a throw after next() fails the job too, after perform ran (at-least-once: it will run again)', async () => {
  const nest = await app({}, [GuardedWorker]);
  try {
    await nest.get(VerkService).enqueue({ queue: 'default', class: 'Guarded', args: ['after'] });
    await waitFor(async () => (await ctx.redis.zcard('retry')) === 1, 'job in retry');
    const [failed] = await zsetJobs(ctx.redis, 'retry');
    assert.equal(failed.error_message, 'rejected after perform');
    assert.equal(failed.error_class, 'Error');
    assert.deepEqual(nest.get(Trace).entries, ['perform after'], 'perform ran and its side effects stay');
    assert.equal(await ctx.redis.get('stat:processed'), null);
  } finally {
    await nest.close();
  }
});

/** Turns a worker's failure into success (Sidekiq: a middleware that rescues). */
@Injectable()
class Swallow implements VerkMiddleware {
  constructor(private readonly trace: Trace) {}
  async perform(_job: JobContext, next: () => Promise<void>): Promise<void> {
    try {
      await next();
    } catch (error) {
      this.trace.add(`swallowed ${(error as Error).message}`);
    }
  }
}

@Worker({ name: 'Failing', middleware: [Swallow] })
class FailingWorker {
  @Perform() run(): void {
    throw new Error('worker broke');
  }
}

test('failure: next() rejects with the worker\'s error; a middleware that catches it makes the job succeed', async () => {
  const nest = await app({}, [FailingWorker]);
  try {
    await nest.get(VerkService).enqueue({ queue: 'default', class: 'Failing' });
    await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 1, 'job done');
    assert.deepEqual(nest.get(Trace).entries, ['swallowed worker broke']);
    assert.equal(await ctx.redis.zcard('retry'), 0);
    assert.equal(await ctx.redis.zcard('dead'), 0);
  } finally {
    await nest.close();
  }
});

// ---------------------------------------------------------------------------------------
// Not calling next

@Injectable()
class SkipCancelled implements VerkMiddleware {
  constructor(private readonly trace: Trace) {}
  async perform(job: JobContext, next: () => Promise<void>): Promise<void> {
    if (job.args[0] === 'cancelled') {
      this.trace.add(`skipped ${job.jid}`);
      return;
    }
    await next();
  }
}

@Worker('Cancellable')
class CancellableWorker {
  constructor(private readonly trace: Trace) {}
  @Perform() run(state: string): void {
    this.trace.add(`perform ${state}`);
  }
}

test('returning without next(): the worker is skipped and the job is acknowledged as done (Sidekiq semantics)', async () => {
  const nest = await app({ middleware: [SkipCancelled] }, [SkipCancelled, CancellableWorker]);
  const finished: string[] = [];
  const subscription = nest.get(VerkService).events$.subscribe((event: VerkEvent) => {
    if (event instanceof JobFinished) finished.push(event.job.jid);
  });
  try {
    const verk = nest.get(VerkService);
    const skipped = await verk.enqueue({ queue: 'default', class: 'Cancellable', args: ['cancelled'] });
    const ran = await verk.enqueue({ queue: 'default', class: 'Cancellable', args: ['active'] });
    await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 2, 'both acknowledged');
    assert.deepEqual(nest.get(Trace).entries.sort(), ['perform active', `skipped ${skipped}`]);
    // Gone from every structure: not waiting, not in progress, not retried, not dead.
    assert.equal(await ctx.redis.llen('queue:default'), 0);
    assert.equal(await ctx.redis.llen('inprogress:default:mw'), 0);
    assert.equal(await ctx.redis.zcard('retry'), 0);
    assert.equal(await ctx.redis.zcard('dead'), 0);
    assert.equal(await ctx.redis.get('stat:failed'), null);
    assert.equal(await verk.findJob(skipped), null);
    await waitFor(() => finished.length === 2, 'JobFinished for both');
    assert.deepEqual(finished.sort(), [skipped, ran].sort());
  } finally {
    subscription.unsubscribe();
    await nest.close();
  }
});

test('engine: middleware must be functions; next() called twice fails the job; next() not awaited still waits for perform before the outcome', async () => {
  const events: string[] = [];
  const engine = await startEngine(
    { redis: ctx.server.url, queues: { default: 2 } },
    {
      Twice: {
        perform: () => void events.push('twice performed'),
        middleware: [
          async function twice(_job, next) {
            await next();
            await next();
          },
        ],
      },
      Slow: {
        perform: async ([fail]) => {
          await sleep(200);
          events.push('slow finished');
          if (fail) throw new Error('slow failed');
        },
        middleware: [
          async function forgetful(_job, next) {
            void next(); // a bug: not awaited; the job still waits for perform
          },
        ],
      },
    },
  );
  try {
    assert.throws(() => engine.middleware.use(null as never), /^VerkConfigError: Invalid Verk option "middleware\[0\]": a middleware must be a function \(job, next\) => Promise<void>, got null$/);
    assert.throws(() => engine.middleware.useClient(async (_job, next) => next(), 'x' as never), /Invalid Verk option "clientMiddleware\[1\]": .* got string$/);
    assert.throws(() => engine.workers.register('Bad', { perform: () => undefined, middleware: [1 as never] }), /Invalid option "middleware\[0\]" of worker "Bad": a middleware must be a function/);
    assert.deepEqual([engine.middleware.server.length, engine.middleware.client.length], [0, 0], 'nothing added by a refused call');

    await engine.client.enqueue({ queue: 'default', class: 'Twice' });
    await waitFor(async () => (await ctx.redis.zcard('retry')) === 1, 'twice in retry');
    const [failed] = await zsetJobs(ctx.redis, 'retry');
    assert.equal(failed.error_class, 'VerkMiddlewareError');
    assert.equal(failed.error_message, 'Server middleware twice called next() more than once');
    assert.deepEqual(events, ['twice performed'], 'perform ran once');

    await engine.client.enqueue({ queue: 'default', class: 'Slow', args: [false] });
    await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 1, 'slow done');
    assert.deepEqual(events.slice(1), ['slow finished'], 'acknowledged only after perform finished');

    await engine.client.enqueue({ queue: 'default', class: 'Slow', args: [true] });
    await waitFor(async () => (await ctx.redis.zcard('retry')) === 2, 'failing slow in retry');
    assert.ok((await zsetJobs(ctx.redis, 'retry')).some((job) => job.error_message === 'slow failed'), 'its error is the job\'s');
    assert.equal(await ctx.redis.llen('inprogress:default:test-node'), 0);
  } finally {
    await engine.stop();
  }
});

// ---------------------------------------------------------------------------------------
// Client middleware

@Injectable()
class TraceId implements VerkClientMiddleware {
  constructor(private readonly trace: Trace) {}
  async enqueue(job: JobPayload, next: () => Promise<void>): Promise<void> {
    this.trace.add('c1>');
    job.trace_id = `trace-${String(job.args[0])}`;
    await next();
    this.trace.add('<c1');
  }
}

class Forbidden extends Error {
  override readonly name = 'Forbidden';
}

@Injectable()
class Refuse implements VerkClientMiddleware {
  constructor(private readonly trace: Trace) {}
  async enqueue(job: JobPayload, next: () => Promise<void>): Promise<void> {
    this.trace.add('c2>');
    if (job.args[0] === 'forbidden') throw new Forbidden(`job ${job.class} is not allowed`);
    if (job.args[0] === 'silent') return;
    if (job.args[0] === 'date') job.when = new Date();
    if (job.args[0] === 'urgent') job.queue = 'urgent';
    await next();
    this.trace.add('<c2');
  }
}

/** Reads the field the client middleware added, in the worker (through a server middleware). */
@Worker('Traced')
class TracedWorker {
  constructor(private readonly trace: Trace) {}
  @Perform() run(): void {
    this.trace.add(`worker sees ${String(currentJob()?.payload.trace_id)}`);
  }
}

test('client middleware: run in order before the write and may add fields, for enqueue, enqueueMany and schedule', async () => {
  const nest = await app({ clientMiddleware: [TraceId, Refuse], queues: {} }, [TraceId, Refuse]);
  try {
    const verk = nest.get(VerkService);
    const trace = nest.get(Trace);
    const jid = await verk.enqueue({ queue: 'default', class: 'Traced', args: [1] });
    assert.deepEqual(trace.entries, ['c1>', 'c2>', '<c2', '<c1']);
    const [stored] = await queueJobs();
    assert.equal(stored.jid, jid);
    assert.equal(stored.trace_id, 'trace-1');

    await verk.enqueueMany([
      { queue: 'default', class: 'Traced', args: [2] },
      { queue: 'other', class: 'Traced', args: [3] },
    ]);
    assert.deepEqual((await queueJobs()).map((job) => job.trace_id), ['trace-2', 'trace-1']);
    assert.deepEqual((await queueJobs('other')).map((job) => job.trace_id), ['trace-3']);

    await verk.schedule({ queue: 'default', class: 'Traced', args: [4] }, Date.now() + 60_000);
    assert.deepEqual((await zsetJobs(ctx.redis, 'schedule')).map((job) => job.trace_id), ['trace-4']);

    // A middleware may route a job to another queue: it is written there.
    await verk.enqueue({ queue: 'default', class: 'Traced', args: ['urgent'] });
    assert.deepEqual((await queueJobs('urgent')).map((job) => job.queue), ['urgent']);
    assert.ok(await ctx.redis.sismember('queues', 'urgent'));
  } finally {
    await nest.close();
  }
});

test('client middleware: the added field reaches the worker', async () => {
  const nest = await app({ clientMiddleware: [TraceId], middleware: [Tenant] }, [TraceId, TracedWorker]);
  try {
    await nest.get(VerkService).enqueue({ queue: 'default', class: 'Traced', args: ['x'] });
    await waitFor(() => nest.get(Trace).entries.includes('worker sees trace-x'), 'worker ran');
  } finally {
    await nest.close();
  }
});

test('client middleware: a throw (or no next()) refuses the enqueue, and nothing is written, also for enqueueMany and schedule', async () => {
  const nest = await app({ clientMiddleware: [TraceId, Refuse], queues: {} }, [TraceId, Refuse]);
  try {
    const verk = nest.get(VerkService);
    const nothingWritten = async (what: string) => {
      assert.equal(await ctx.redis.llen('queue:default'), 0, what);
      assert.equal(await ctx.redis.zcard('schedule'), 0, what);
      assert.equal(await ctx.redis.scard('queues'), 0, what);
    };
    await assert.rejects(verk.enqueue({ queue: 'default', class: 'Traced', args: ['forbidden'] }), (error: Error) => error instanceof Forbidden && error.message === 'job Traced is not allowed');
    await nothingWritten('enqueue');

    await assert.rejects(
      verk.enqueueMany([
        { queue: 'default', class: 'Traced', args: [1] },
        { queue: 'default', class: 'Traced', args: ['forbidden'] },
        { queue: 'default', class: 'Traced', args: [3] },
      ]),
      Forbidden,
    );
    await nothingWritten('enqueueMany: one refused job means none is written');

    await assert.rejects(verk.schedule({ queue: 'default', class: 'Traced', args: ['forbidden'] }, Date.now() + 60_000), Forbidden);
    await assert.rejects(verk.schedule({ queue: 'default', class: 'Traced', args: ['forbidden'] }, Date.now() - 1000), Forbidden);
    await nothingWritten('schedule');

    await assert.rejects(verk.enqueue({ queue: 'default', class: 'Traced', args: ['silent'] }), (error: Error) => {
      assert.ok(error instanceof VerkMiddlewareError);
      assert.equal(error.middleware, 'Refuse');
      assert.equal(error.message, 'job: client middleware Refuse returned without calling next(); the job was not enqueued');
      return true;
    });
    await assert.rejects(verk.enqueueMany([{ queue: 'default', class: 'Traced', args: [1] }, { queue: 'default', class: 'Traced', args: ['silent'] }]), /^VerkMiddlewareError: jobs\[1\]: client middleware Refuse returned without calling next\(\)/);
    await nothingWritten('no next()');

    // What a middleware leaves must still be JSON.
    await assert.rejects(verk.enqueue({ queue: 'default', class: 'Traced', args: ['date'] }), (error: Error) => error instanceof VerkValidationError && error.field === 'job.when');
    await nothingWritten('bad field');
    assert.deepEqual((await ctx.redis.keys('*')).filter((key) => !key.startsWith('verk')), [], 'no job key at all');
  } finally {
    await nest.close();
  }
});

// ---------------------------------------------------------------------------------------
// Boot errors

class NoPerform {
  run(): void {}
}

class NoEnqueue {
  async perform(_job: JobContext, next: () => Promise<void>): Promise<void> {
    await next();
  }
}

@Injectable()
class NotProvided {
  hello(): string {
    return 'hi';
  }
}

/** Depends on a class no module provides: neither resolvable nor creatable. */
@Injectable()
class Unresolvable implements VerkMiddleware {
  constructor(private readonly missing: NotProvided) {}
  async perform(_job: JobContext, next: () => Promise<void>): Promise<void> {
    this.missing.hello();
    await next();
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestScoped implements VerkMiddleware {
  async perform(_job: JobContext, next: () => Promise<void>): Promise<void> {
    await next();
  }
}

test('boot errors: invalid or unresolvable middleware refuse to boot with a message naming it', async () => {
  const cases: [Partial<VerkModuleOptions>, Type<unknown>[], RegExp][] = [
    [{ middleware: [NoPerform as never] }, [], /Invalid Verk option "middleware\[0\]": must be a class with a perform\(job, next\) method, got class NoPerform/],
    [{ middleware: [G1, {} as never] }, [G1], /Invalid Verk option "middleware\[1\]": must be a class with a perform\(job, next\) method, got an object \(pass the class, not an instance\)/],
    [{ middleware: G1 as never }, [], /Invalid Verk option "middleware": must be an array of classes with a perform\(job, next\) method, got class G1/],
    [{ clientMiddleware: [NoEnqueue as never] }, [], /Invalid Verk option "clientMiddleware\[0\]": must be a class with a enqueue\(job, next\) method, got class NoEnqueue/],
    [{ middleware: [Unresolvable] }, [], /^VerkConfigError: Verk middleware Unresolvable \(module option "middleware"\) could not be resolved: it is not a provider of any module, and creating it failed: Nest can't resolve dependencies of the Unresolvable \(\?\)\. Please make sure that the argument NotProvided at index \[0\] is available in the VerkModule module\. Register Unresolvable as a provider in the module that provides its dependencies\.$/],
    // Global middleware not registered as providers are created in VerkModule's scope: they cannot inject the application's providers.
    [{ middleware: [G2] }, [], /Verk middleware G2 \(module option "middleware"\) could not be resolved: .*the argument Trace at index \[0\] is available in the VerkModule module\. Register G2 as a provider/],
    [{ middleware: [RequestScoped] }, [RequestScoped], /Verk middleware RequestScoped \(module option "middleware"\) must be a singleton provider \(it is request-scoped or transient; a job has no request\)/],
  ];
  for (const [options, providers, message] of cases) {
    await assert.rejects(app(options, providers), message, String(message));
  }

  @Worker({ name: 'BadMiddleware', middleware: [NoPerform as never] })
  class BadMiddlewareWorker {
    @Perform() run(): void {}
  }
  await assert.rejects(app({}, [BadMiddlewareWorker]), /Invalid @Worker\(\) option of BadMiddlewareWorker: "middleware\[0\]" must be a class with a perform\(job, next\) method, got class NoPerform/);

  @Worker({ name: 'NeedsMissing', middleware: [Unresolvable] })
  class NeedsMissingWorker {
    @Perform() run(): void {}
  }
  await assert.rejects(app({}, [NeedsMissingWorker]), /Verk middleware Unresolvable \(@Worker\(\) of NeedsMissingWorker\) could not be resolved: .*the argument NotProvided at index \[0\] is available in the AppModule module\. Register Unresolvable as a provider/);

  // forRootAsync options are checked the same way.
  @Module({ imports: [VerkModule.forRootAsync({ useFactory: () => ({ redis: ctx.server.url, nodeId: 'async', clientMiddleware: [NoEnqueue as never] }) })] })
  class AsyncModule {}
  await assert.rejects(boot(AsyncModule), /Invalid Verk option "clientMiddleware\[0\]"/);
  assert.equal(await ctx.redis.dbsize(), 0, 'nothing written');
});
