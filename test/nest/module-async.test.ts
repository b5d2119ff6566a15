import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Injectable, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { VerkConfigError, VerkModule, type VerkModuleOptions, type VerkOptionsFactory, VerkService } from 'nestjs-verk';
import { useRedis } from '../helpers/engine';
import { boot, Hello, runsAJob } from '../helpers/nest';

const ctx = useRedis();

/** ConfigModule.forRoot with the private Redis' URL, as an app reading REDIS_URL from its environment would. */
function configModule() {
  return ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ REDIS_URL: ctx.server.url })] });
}

@Injectable()
class VerkConfig implements VerkOptionsFactory {
  constructor(private readonly config: ConfigService) {}
  createVerkOptions(): VerkModuleOptions {
    return { redis: this.config.getOrThrow<string>('REDIS_URL'), queues: { default: 2 }, generateNodeId: true };
  }
}

test('forRootAsync with useFactory and inject: options from ConfigService', async () => {
  @Module({
    imports: [
      configModule(),
      VerkModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (config: ConfigService) => ({ redis: config.getOrThrow<string>('REDIS_URL'), queues: { default: 2 }, generateNodeId: true }) }),
    ],
    providers: [Hello],
  })
  class AppModule {}
  const app = await boot(AppModule);
  try {
    await runsAJob(app, 'factory');
  } finally {
    await app.close();
  }
});

test('forRootAsync with useClass: the module instantiates the options factory with its dependencies', async () => {
  @Module({ imports: [configModule(), VerkModule.forRootAsync({ imports: [ConfigModule], useClass: VerkConfig })], providers: [Hello] })
  class AppModule {}
  const app = await boot(AppModule);
  try {
    await runsAJob(app, 'class');
  } finally {
    await app.close();
  }
});

test('forRootAsync with useExisting: an options factory provided by another module is reused', async () => {
  @Module({ imports: [ConfigModule], providers: [VerkConfig], exports: [VerkConfig] })
  class VerkConfigModule {}
  @Module({ imports: [configModule(), VerkModule.forRootAsync({ imports: [VerkConfigModule], useExisting: VerkConfig })], providers: [Hello] })
  class AppModule {}
  const app = await boot(AppModule);
  try {
    await runsAJob(app, 'existing');
  } finally {
    await app.close();
  }
});

test('forRootAsync refuses zero or two ways of building the options, naming them', () => {
  assert.throws(() => VerkModule.forRootAsync({}), (error: unknown) => error instanceof VerkConfigError && /exactly one of useFactory, useClass or useExisting, got 0/.test(error.message));
  assert.throws(() => VerkModule.forRootAsync({ useClass: VerkConfig, useFactory: () => ({}) }), /got 2/);
});

test('isGlobal: true by default (VerkService injectable in a module that does not import VerkModule); false keeps it to importers', async () => {
  @Injectable()
  class Sender {
    constructor(readonly verk: VerkService) {}
  }
  @Module({ providers: [Sender] })
  class FeatureModule {}

  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, generateNodeId: true, queues: {} }), FeatureModule] })
  class GlobalApp {}
  const app = await boot(GlobalApp);
  try {
    assert.ok(app.get(Sender).verk instanceof VerkService);
  } finally {
    await app.close();
  }

  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, generateNodeId: true, queues: {}, isGlobal: false }), FeatureModule] })
  class LocalApp {}
  await assert.rejects(boot(LocalApp), /can't resolve dependencies of the Sender/i);
});

test('isGlobal is not passed to the engine as an option', async () => {
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, generateNodeId: true, queues: { default: 1 }, isGlobal: true })], providers: [Hello] })
  class AppModule {}
  const app = await boot(AppModule);
  try {
    await runsAJob(app, 'global-option');
  } finally {
    await app.close();
  }
});
