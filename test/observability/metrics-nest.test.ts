import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Module } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { VerkConfigError, VerkModule } from 'nestjs-verk';
import { useRedis } from '../helpers/engine';
import { boot, Hello, runsAJob, serve } from '../helpers/nest';
import { waitFor } from '../helpers/wait';

const ctx = useRedis();

test('metrics: { endpoint: "/metrics" } serves the registry over HTTP: verk_ metrics next to Node\'s default ones', async () => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'web', queues: { default: 2 }, metrics: { registry, endpoint: '/metrics' } })], providers: [Hello] })
  class AppModule {}
  const { app, url } = await serve(AppModule);
  try {
    await runsAJob(app, 'world');
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), registry.contentType);
    const text = await response.text();
    await waitFor(async () => (await (await fetch(`${url}/metrics`)).text()).includes('verk_jobs_processed_total{queue="default",class="Hello"} 1'), 'the job counted');
    assert.match(text, /^verk_queue_concurrency\{queue="default"\} 2$/m);
    assert.match(text, /^verk_redis_metrics_stale 0$/m);
    assert.match(text, /^# TYPE verk_job_duration_seconds histogram$/m);
    // Node's default metrics, from the same registry.
    assert.match(text, /^process_cpu_user_seconds_total \d/m);
    assert.match(text, /^nodejs_heap_size_total_bytes \d/m);
  } finally {
    await app.close();
  }
});

test('the endpoint on Fastify: same text, the registry\'s Content-Type', async () => {
  const registry = new Registry();
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'fastify', queues: { default: 3 }, metrics: { registry, endpoint: '/internal/metrics' } })], providers: [Hello] })
  class AppModule {}
  const { app, url } = await serve(AppModule, 'fastify');
  try {
    const response = await fetch(`${url}/internal/metrics`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), registry.contentType);
    assert.match(await response.text(), /^verk_queue_concurrency\{queue="default"\} 3$/m);
  } finally {
    await app.close();
  }
});

test('without endpoint no route is added; metrics still land in the registry the app serves itself', async () => {
  const registry = new Registry();
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'no-endpoint', queues: { default: 1 }, metrics: { registry } })], providers: [Hello] })
  class AppModule {}
  const { app, url } = await serve(AppModule);
  try {
    assert.equal((await fetch(`${url}/metrics`)).status, 404);
    assert.match(await registry.metrics(), /^verk_queue_concurrency\{queue="default"\} 1$/m);
  } finally {
    await app.close();
  }
});

test('forRootAsync cannot add the endpoint (controllers are declared before the factory runs): a clear error at boot', async () => {
  @Module({ imports: [VerkModule.forRootAsync({ useFactory: () => ({ redis: ctx.server.url, nodeId: 'async', metrics: { registry: new Registry(), endpoint: '/metrics' } }) })] })
  class AppModule {}
  const booted = boot(AppModule);
  // An app that boots after all is closed, so the failure shows instead of a hang.
  void booted.then((app) => app.close(), () => undefined);
  await assert.rejects(booted, (error: unknown) => error instanceof VerkConfigError && error.field === 'metrics.endpoint' && /forRoot/.test(error.message));
});
