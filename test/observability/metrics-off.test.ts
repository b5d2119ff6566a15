import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Perform, VerkModule, VerkService, Worker } from 'nestjs-verk';
import { startEngine, useRedis } from '../helpers/engine';
import { waitFor } from '../helpers/wait';

const ctx = useRedis();
const runs: string[] = [];

@Worker()
@Injectable()
class Hello {
  @Perform()
  perform(name: string): void {
    runs.push(name);
  }
}

const promClientLoaded = () => Object.keys(require.cache).some((file) => /[\\/]node_modules[\\/]prom-client[\\/]/.test(file));

test('metrics off (the default): prom-client is never loaded, by the engine or the Nest module', async () => {
  assert.equal(promClientLoaded(), false);
  const engine = await startEngine({ redis: ctx.server.url, nodeId: 'plain', queues: { default: 1 }, metrics: false }, { Hello: { perform: (args) => void runs.push(String(args[0])) } });
  try {
    await engine.client.enqueue({ queue: 'default', class: 'Hello', args: ['engine'] });
    await waitFor(() => runs.includes('engine'), 'the engine runs a job');
    assert.equal(engine.metricsRegistry, undefined);
  } finally {
    await engine.stop();
  }

  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'nest', queues: { default: 1 } })], providers: [Hello] })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
  try {
    await app.get(VerkService).enqueue({ queue: 'default', class: Hello, args: ['nest'] });
    await waitFor(() => runs.includes('nest'), 'the module runs a job');
  } finally {
    await app.close();
  }
  assert.equal(promClientLoaded(), false);
});
