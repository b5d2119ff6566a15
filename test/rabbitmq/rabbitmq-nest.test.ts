import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { Injectable, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  JobFinished,
  OnVerkEvent,
  Perform,
  VerkConfigError,
  VerkDashboardModule,
  VerkHealthIndicator,
  VerkModule,
  type VerkModuleOptions,
  VerkService,
  VerkValidationError,
  Worker,
} from 'nestjs-verk';
import { RabbitVhost, useRabbitVhost, rabbitTest } from '../helpers/rabbitmq';
import { waitFor } from '../helpers/wait';
import { boot } from '../helpers/nest';

const ctx = useRabbitVhost();

@Injectable()
class Ledger {
  readonly entries: string[] = [];
  readonly finished: string[] = [];
}

@Worker()
class AddNumbers {
  constructor(private readonly ledger: Ledger) {}
  @Perform() perform(a: number, b: number): void {
    this.ledger.entries.push(`${a}+${b}=${a + b}`);
  }
}

@Injectable()
class Listener {
  constructor(private readonly ledger: Ledger) {}
  @OnVerkEvent(JobFinished) onFinished(event: JobFinished): void {
    this.ledger.finished.push(event.job.jid);
  }
}

function appModule(options: Partial<VerkModuleOptions>, providers: Type<unknown>[] = []): Type<unknown> {
  @Module({ imports: [VerkModule.forRoot({ broker: { rabbitmq: ctx.vhost.url }, nodeId: 'nest-rabbit', queues: { default: 3 }, ...options })], providers: [Ledger, AddNumbers, Listener, ...providers] })
  class AppModule {}
  return AppModule;
}

test('VerkModule on RabbitMQ: the same @Worker, VerkService.enqueue/enqueueMany/schedule, @OnVerkEvent and health indicator', rabbitTest, async () => {
  const app = await boot(appModule({}));
  try {
    const verk = app.get(VerkService);
    const ledger = app.get(Ledger);
    const one = await verk.enqueue({ queue: 'default', class: AddNumbers, args: [1, 2] });
    const many = await verk.enqueueMany([{ queue: 'default', class: 'AddNumbers', args: [3, 4] }, { queue: 'default', class: 'AddNumbers', args: [5, 6] }]);
    const later = await verk.schedule({ queue: 'default', class: 'AddNumbers', args: [7, 8] }, Date.now() + 1000);
    await waitFor(() => ledger.finished.length === 4, 'four jobs to finish');
    assert.deepEqual([...ledger.entries].sort(), ['1+2=3', '3+4=7', '5+6=11', '7+8=15']);
    assert.deepEqual([...ledger.finished].sort(), [one, ...many, later].sort());
    assert.deepEqual(verk.queues(), { default: 3 });
    const health = (await app.get(VerkHealthIndicator).isHealthy('verk')).verk;
    assert.equal(health.status, 'up', String(health.message));
    assert.equal(typeof health.pingMs, 'number');
    assert.equal(await verk.clearDead(), 0);
    assert.equal(await verk.retryDead(10), 0);
    await verk.pauseQueue('default');
    assert.equal(await verk.isQueuePaused('default'), true);
    await verk.resumeQueue('default');
  } finally {
    await app.close();
  }
});

test('Redis-only features on RabbitMQ: refused at boot (options, recurring workers, the dashboard) or at the call, naming the feature and why', rabbitTest, async () => {
  // Options of Redis-only features: the module does not boot.
  for (const [option, value, feature] of [['history', true, /job history/], ['metrics', true, /Prometheus metrics/], ['histograms', true, /histograms/], ['prefix', 'app:', /key prefixes/], ['redis', 'redis://127.0.0.1:1', /Redis connection/]] as const) {
    await assert.rejects(boot(appModule({ [option]: value })), (error: unknown) => error instanceof VerkConfigError && error.field === option && feature.test(error.message) && /RabbitMQ/.test(error.message), option);
  }
  // A recurring worker.
  @Worker({ every: 60_000 })
  class Tick {
    @Perform() perform(): void {}
  }
  await assert.rejects(boot(appModule({}, [Tick])), (error: unknown) => error instanceof VerkConfigError && /recurring jobs: Redis only/.test(error.message));
  // The dashboard (in an HTTP application).
  @Module({ imports: [appModule({}), VerkDashboardModule.forRoot({ path: '/verk' })] })
  class WithDashboard {}
  await assert.rejects(
    NestFactory.create(WithDashboard, { logger: false, abortOnError: false }).then((app) => app.init().finally(() => app.close())),
    (error: unknown) => error instanceof VerkConfigError && /VerkDashboardModule: Redis only/.test(error.message),
  );
  // At the call: admin, flow, history; job fields of Redis-only features.
  const app = await boot(appModule({}));
  try {
    const verk = app.get(VerkService);
    await assert.rejects(async () => verk.stats(), (error: unknown) => error instanceof VerkConfigError && /stats.*Redis only.*head/.test(error.message));
    await assert.rejects(async () => verk.batch([{ queue: 'default', class: 'AddNumbers' }], { onComplete: { class: 'AddNumbers' } }), /batches need the Redis broker/);
    await assert.rejects(async () => verk.history('x'), /job history, tags and tracking: Redis only/);
    await assert.rejects(async () => verk.recur('r', { class: 'AddNumbers', every: 1000 }), /recurring jobs: Redis only/);
    for (const [field, value] of [['priority', 5], ['dependsOn', ['a']], ['unique', { key: 'k' }], ['tags', ['t']], ['track', true]] as const) {
      await assert.rejects(verk.enqueue({ queue: 'default', class: 'AddNumbers', [field]: value }), (error: unknown) => error instanceof VerkValidationError && error.field === `job.${field}` && /Redis broker/.test(error.message), field);
    }
    await assert.rejects(verk.enqueue({ queue: 'a.*.b', class: 'AddNumbers' }), (error: unknown) => error instanceof VerkValidationError && error.field === 'job.queue');
  } finally {
    await app.close();
  }
  // queueType without the RabbitMQ broker.
  @Module({ imports: [VerkModule.forRoot({ nodeId: 'x', queueType: 'classic' })] })
  class RedisWithQueueType {}
  await assert.rejects(boot(RedisWithQueueType), (error: unknown) => error instanceof VerkConfigError && error.field === 'queueType');
});

test("queueType: 'classic' declares classic queues, and a queue of another type is a boot error naming it", rabbitTest, async () => {
  const classic = await RabbitVhost.create();
  try {
    @Module({ imports: [VerkModule.forRoot({ broker: { rabbitmq: classic.url }, queueType: 'classic', nodeId: 'classic', queues: { default: 2 } })], providers: [Ledger, AddNumbers, Listener] })
    class ClassicModule {}
    const app = await boot(ClassicModule);
    try {
      await app.get(VerkService).enqueue({ queue: 'default', class: 'AddNumbers', args: [2, 2] });
      await waitFor(() => app.get(Ledger).entries.includes('2+2=4'), 'the job to run');
    } finally {
      await app.close();
    }
    const types = execFileSync('rabbitmqctl', ['-q', 'list_queues', '-p', classic.name, 'name', 'type'], { encoding: 'utf8' });
    assert.match(types, /verk\.queue\.default\tclassic/);
    @Module({ imports: [VerkModule.forRoot({ broker: { rabbitmq: classic.url }, nodeId: 'quorum', queues: { default: 2 } })], providers: [Ledger, AddNumbers] })
    class QuorumModule {}
    await assert.rejects(boot(QuorumModule), (error: unknown) => error instanceof VerkConfigError && /queueType/.test(error.message));
  } finally {
    await classic.delete();
  }
});

test('amqplib is loaded only with the RabbitMQ broker, and its absence is a clear setup error', () => {
  // A process where amqplib cannot be found: the package loads, a Redis engine is created, the RabbitMQ broker is refused.
  const script = `
    const Module = require('node:module');
    const load = Module._load;
    Module._load = function (request, ...rest) {
      if (request === 'amqplib') { const e = new Error("Cannot find module 'amqplib'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
      return load.call(this, request, ...rest);
    };
    const { VerkEngine, VerkRabbitEngine } = require(${JSON.stringify(join(__dirname, '..', '..', 'lib', 'engine'))});
    require(${JSON.stringify(join(__dirname, '..', '..', 'lib'))});
    const redis = new VerkEngine({ nodeId: 'n', redis: 'redis://127.0.0.1:1' });
    void redis.stop();
    try { new VerkRabbitEngine({ nodeId: 'n', broker: { rabbitmq: 'amqp://127.0.0.1:1' } }); } catch (e) { console.log(e.name + ': ' + e.message); }
    console.log('amqplib loaded: ' + Object.keys(require.cache).some((file) => file.includes('amqplib')));
  `;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.match(out, /VerkConfigError: Invalid Verk option "broker": install amqplib to use the RabbitMQ broker/);
  assert.match(out, /amqplib loaded: false/);
});
