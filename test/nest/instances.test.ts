import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Injectable, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  getVerkHealthToken,
  getVerkServiceToken,
  InjectVerk,
  InjectVerkHealth,
  JobFinished,
  OnVerkEvent,
  Perform,
  VerkConfigError,
  VerkDashboardModule,
  VerkHealthIndicator,
  VerkModule,
  type VerkModuleOptions,
  type VerkOptionsFactory,
  VerkService,
  VerkValidationError,
  Worker,
} from 'nestjs-verk';
import type Redis from 'ioredis';
import { RedisServer } from '../helpers/redis-server';
import { connect, MemoryLogger } from '../helpers/engine';
import { VerkEngine } from '../../lib/engine';
import { waitFor } from '../helpers/wait';
import { boot, serve } from '../helpers/nest';

/*
 * Named instances: two VerkModule.forRoot({ name }) on two private redis-servers (plus the
 * unnamed default one) in one Nest application; workers bound to each, @InjectVerk, health
 * and events carrying the instance's name.
 */

let eu: RedisServer;
let us: RedisServer;
let euRedis: Redis;
let usRedis: Redis;
before(async () => {
  [eu, us] = await Promise.all([RedisServer.start(), RedisServer.start()]);
  euRedis = connect(eu.url);
  usRedis = connect(us.url);
});
after(async () => {
  euRedis.disconnect();
  usRedis.disconnect();
  await Promise.all([eu.cleanup(), us.cleanup()]);
});

@Injectable()
class Ran {
  readonly jobs: string[] = [];
  readonly finished: (string | undefined)[] = [];
}

@Worker({ instance: 'eu' })
@Injectable()
class EuWork {
  constructor(private readonly ran: Ran) {}
  @Perform() perform(what: string): void {
    this.ran.jobs.push(`eu:${what}`);
  }
}

@Worker({ instance: 'us' })
@Injectable()
class UsWork {
  constructor(private readonly ran: Ran) {}
  @Perform() perform(what: string): void {
    this.ran.jobs.push(`us:${what}`);
  }
}

@Worker()
@Injectable()
class MainWork {
  constructor(private readonly ran: Ran) {}
  @Perform() perform(what: string): void {
    this.ran.jobs.push(`main:${what}`);
  }
}

@Injectable()
class Producer {
  constructor(
    @InjectVerk('eu') readonly eu: VerkService,
    @InjectVerk('us') readonly us: VerkService,
    readonly main: VerkService,
    @InjectVerk() readonly alsoMain: VerkService,
    @InjectVerkHealth('us') readonly usHealth: VerkHealthIndicator,
  ) {}
}

@Injectable()
class Listener {
  constructor(private readonly ran: Ran) {}
  @OnVerkEvent(JobFinished) onFinished(event: JobFinished): void {
    this.ran.finished.push(event.instance);
  }
}

function appModule(): Type<unknown> {
  const common = { queues: { default: 2 }, pollInterval: 50 };
  @Module({
    imports: [
      VerkModule.forRoot({ ...common, redis: eu.url, nodeId: 'main-node', prefix: 'main:' }),
      VerkModule.forRoot({ ...common, name: 'eu', redis: eu.url, nodeId: 'eu-node' }),
      VerkModule.forRootAsync({ name: 'us', useFactory: () => ({ ...common, redis: us.url, nodeId: 'us-node' }) }),
    ],
    providers: [Ran, EuWork, UsWork, MainWork, Producer, Listener],
  })
  class AppModule {}
  return AppModule;
}

test('two named instances on two redis-servers: each worker runs only its instance\'s jobs; @InjectVerk resolves the right service', async () => {
  const app = await boot(appModule());
  try {
    const producer = app.get(Producer);
    const ran = app.get(Ran);
    assert.equal(producer.eu, app.get(getVerkServiceToken('eu')));
    assert.equal(producer.main, app.get(VerkService));
    assert.equal(producer.alsoMain, producer.main);
    assert.notEqual(producer.eu, producer.us);
    assert.equal(producer.eu.nodeId, 'eu-node');
    assert.equal(producer.us.nodeId, 'us-node');
    assert.equal(producer.main.nodeId, 'main-node');

    await producer.eu.enqueue({ queue: 'default', class: EuWork, args: ['1'] });
    await producer.us.enqueue({ queue: 'default', class: UsWork, args: ['2'] });
    await producer.main.enqueue({ queue: 'default', class: MainWork, args: ['3'] });
    // A us job enqueued into eu: eu has no worker for it (a normal failure), us never sees it.
    await producer.eu.enqueue({ queue: 'default', class: 'UsWork', args: ['lost'], maxRetryCount: 0 });
    await waitFor(() => ran.jobs.length === 3, 'the three jobs ran');
    await waitFor(async () => (await euRedis.zcard('dead')) === 1, 'the misdirected job failed in eu');
    assert.deepEqual([...ran.jobs].sort(), ['eu:1', 'main:3', 'us:2']);
    const dead = JSON.parse((await euRedis.zrange('dead', '0', '0'))[0]) as { error_class: string; class: string };
    assert.equal(dead.error_class, 'UnknownWorkerError');
    // Each instance's keys are on its own Redis (the unnamed one under its prefix).
    assert.equal(await euRedis.get('stat:processed'), '1');
    assert.equal(await euRedis.get('main:stat:processed'), '1');
    assert.equal(await usRedis.get('stat:processed'), '1');
    assert.equal(await usRedis.exists('dead'), 0);

    // Events carry the instance's name (undefined for the unnamed one).
    await waitFor(() => ran.finished.length >= 3, 'three JobFinished events');
    assert.deepEqual(new Set(ran.finished), new Set(['eu', 'us', undefined]));

    // Health per instance, naming it.
    const usHealth = await producer.usHealth.isHealthy('verk-us');
    assert.equal(usHealth['verk-us'].status, 'up');
    assert.equal(usHealth['verk-us'].instance, 'us');
    assert.equal(usHealth['verk-us'].nodeId, 'us-node');
    const euHealth = await app.get<VerkHealthIndicator>(getVerkHealthToken('eu')).isHealthy('verk-eu');
    assert.equal(euHealth['verk-eu'].instance, 'eu');
    const mainHealth = await app.get(VerkHealthIndicator).isHealthy('verk');
    assert.equal(mainHealth.verk.instance, undefined);
    assert.equal(mainHealth.verk.nodeId, 'main-node');

    // Flow features work within one instance: a dependency on another instance's job is refused.
    const parent = await producer.eu.enqueue({ queue: 'default', class: EuWork, args: ['parent'], dependable: true });
    await assert.rejects(
      producer.us.enqueue({ queue: 'default', class: UsWork, args: ['child'], dependsOn: [parent] }),
      (error: unknown) => error instanceof VerkValidationError && /same Verk instance/.test(error.message),
    );
    assert.equal(await usRedis.llen('queue:default'), 0, 'nothing was written');
  } finally {
    await app.close();
  }
});

test('a worker bound to an instance no module registers, an unbound worker with only named instances, and a bad instance name fail at boot saying why', async () => {
  @Worker({ instance: 'mars' })
  class MarsWork {
    @Perform() perform(): void {}
  }
  @Module({ imports: [VerkModule.forRoot({ redis: eu.url, nodeId: 'n' })], providers: [MarsWork] })
  class Missing {}
  await assert.rejects(boot(Missing), (error: unknown) => error instanceof VerkConfigError && /bound to Verk instance "mars"/.test(error.message));
  @Worker()
  class Unbound {
    @Perform() perform(): void {}
  }
  @Module({ imports: [VerkModule.forRoot({ name: 'only', redis: eu.url, nodeId: 'n' })], providers: [Unbound] })
  class OnlyNamed {}
  await assert.rejects(boot(OnlyNamed), (error: unknown) => error instanceof VerkConfigError && /Unbound belongs to the unnamed Verk instance/.test(error.message));
  assert.throws(() => VerkModule.forRoot({ name: 'e u', redis: eu.url, nodeId: 'n' }), (error: unknown) => error instanceof VerkConfigError && error.field === 'name');
});

test('forRootAsync({ name, useClass }) builds a named instance from an options factory class', async () => {
  @Injectable()
  class EuOptions implements VerkOptionsFactory {
    createVerkOptions(): VerkModuleOptions {
      return { redis: eu.url, nodeId: 'from-class', queues: { default: 1 } };
    }
  }
  @Module({ imports: [VerkModule.forRootAsync({ name: 'eu', useClass: EuOptions })] })
  class AsyncApp {}
  const app = await boot(AsyncApp);
  try {
    const service = app.get<VerkService>(getVerkServiceToken('eu'));
    assert.equal(service.nodeId, 'from-class');
    assert.deepEqual(service.queues(), { default: 1 });
  } finally {
    await app.close();
  }
});

test('the dashboard shows the instance it is given (one per instance, at different paths)', async () => {
  @Module({
    imports: [
      VerkModule.forRoot({ name: 'eu', redis: eu.url, nodeId: 'dash-eu' }),
      VerkModule.forRoot({ name: 'us', redis: us.url, nodeId: 'dash-us' }),
      VerkDashboardModule.forRoot({ path: '/verk/eu', instance: 'eu' }),
      VerkDashboardModule.forRoot({ path: '/verk/us', instance: 'us' }),
    ],
  })
  class DashboardApp {}
  const { app, url } = await serve(DashboardApp);
  try {
    await app.get<VerkService>(getVerkServiceToken('eu')).enqueue({ queue: 'eu-only', class: 'X' });
    await app.get<VerkService>(getVerkServiceToken('us')).enqueue({ queue: 'us-only', class: 'X' });
    const queuesAt = async (path: string) => {
      const response = await fetch(`${url}${path}/api/queues`);
      assert.equal(response.status, 200);
      return JSON.stringify(await response.json());
    };
    const euQueues = await queuesAt('/verk/eu');
    const usQueues = await queuesAt('/verk/us');
    assert.match(euQueues, /eu-only/);
    assert.doesNotMatch(euQueues, /us-only/);
    assert.match(usQueues, /us-only/);
    assert.doesNotMatch(usQueues, /eu-only/);
  } finally {
    await app.close();
  }
  @Module({ imports: [VerkModule.forRoot({ redis: eu.url, nodeId: 'n' }), VerkDashboardModule.forRoot({ instance: 'nowhere' })] })
  class MissingInstance {}
  const broken = await NestFactory.create(MissingInstance, { logger: false, abortOnError: false });
  await assert.rejects(broken.init(), (error: unknown) => error instanceof VerkConfigError && /instance "nowhere"/.test(error.message));
  await broken.close().catch(() => undefined);
});

test('an ioredis Redis the application made: the engine runs on copies of it and never closes it', async () => {
  const own = connect(us.url);
  const engine = new VerkEngine({ redis: own, nodeId: 'own-redis', queues: { mine: 1 }, pollInterval: 50, prefix: 'own:' }, { logger: new MemoryLogger() });
  const ran: unknown[] = [];
  engine.workers.register('Own', { perform: (args) => void ran.push(args[0]) });
  await engine.start();
  try {
    await engine.client.enqueue({ queue: 'mine', class: 'Own', args: ['x'] });
    await waitFor(() => ran.length === 1, 'the job ran');
  } finally {
    await engine.stop();
  }
  assert.equal(await own.ping(), 'PONG', 'the application\'s connection is still open');
  assert.equal(await own.get('own:stat:processed'), '1');
  own.disconnect();
});
