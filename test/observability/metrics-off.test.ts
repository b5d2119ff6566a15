import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Module } from '@nestjs/common';
import { VerkModule } from 'nestjs-verk';
import { startEngine, useRedis } from '../helpers/engine';
import { boot, Hello, helloRuns, runsAJob } from '../helpers/nest';
import { waitFor } from '../helpers/wait';

const ctx = useRedis();

const promClientLoaded = () => Object.keys(require.cache).some((file) => /[\\/]node_modules[\\/]prom-client[\\/]/.test(file));

test('metrics off (the default): prom-client is never loaded, by the engine or the Nest module', async () => {
  assert.equal(promClientLoaded(), false);
  const engine = await startEngine({ redis: ctx.server.url, nodeId: 'plain', queues: { default: 1 }, metrics: false }, { Hello: { perform: (args) => void helloRuns.push(String(args[0])) } });
  try {
    await engine.client.enqueue({ queue: 'default', class: 'Hello', args: ['engine'] });
    await waitFor(() => helloRuns.includes('engine'), 'the engine runs a job');
    assert.equal(engine.metricsRegistry, undefined);
  } finally {
    await engine.stop();
  }

  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'nest', queues: { default: 1 } })], providers: [Hello] })
  class AppModule {}
  const app = await boot(AppModule);
  try {
    await runsAJob(app, 'nest');
  } finally {
    await app.close();
  }
  assert.equal(promClientLoaded(), false);
});
