import 'reflect-metadata';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Injectable, Module, ServiceUnavailableException, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type HealthCheckResult, HealthCheckService, type HealthIndicatorFunction, TerminusModule } from '@nestjs/terminus';
import { Perform, VerkHealthIndicator, VerkModule, VerkService, VerkValidationError, Worker } from 'nestjs-verk';
import { freePort, RedisServer } from '../helpers/redis-server';
import { waitFor } from '../helpers/wait';

const root = join(__dirname, '..', '..', '..');

// A PING that loses its race settles later; that must never be an unhandled rejection.
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

// Anything this file starts is killed even when a test fails or times out.
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

let server: RedisServer;
before(async () => {
  server = await RedisServer.start();
});
after(async () => {
  await server.cleanup();
  assert.deepEqual(unhandled, [], 'no unhandled rejections');
});

/** Holds every job until release(), so a test can stop the node while one runs. */
@Injectable()
class Gate {
  started = 0;
  private waiters: (() => void)[] = [];
  wait(): Promise<void> {
    this.started++;
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

@Worker()
@Injectable()
class HoldJob {
  constructor(private readonly gate: Gate) {}

  @Perform()
  async perform(): Promise<void> {
    await this.gate.wait();
  }
}

const HEARTBEAT = 200;

async function boot(nodeId: string): Promise<INestApplicationContext> {
  @Module({
    imports: [VerkModule.forRoot({ redis: server.url, nodeId, heartbeat: HEARTBEAT, queues: { default: 2 }, shutdownTimeout: 10_000 }), TerminusModule],
    providers: [Gate, HoldJob],
  })
  class HealthTestModule {}
  return NestFactory.createApplicationContext(HealthTestModule, { logger: false });
}

type Entry = { status: string; message?: string; [detail: string]: unknown };

test('isHealthy, checkRedis and checkHeartbeat are up on a running node, in the shape terminus expects', async () => {
  const app = await boot('health-up');
  try {
    const indicator = app.get(VerkHealthIndicator);
    // Compiles only if the results fit terminus's HealthIndicatorFunction.
    const checks: HealthIndicatorFunction[] = [() => indicator.isHealthy('verk'), () => indicator.checkRedis('redis', { timeout: 500 }), () => indicator.checkHeartbeat('heartbeat')];

    const healthy = (await indicator.isHealthy('verk')).verk;
    assert.equal(healthy.status, 'up');
    assert.equal(healthy.message, undefined);
    assert.equal(healthy.nodeId, 'health-up');
    assert.equal(typeof healthy.pingMs, 'number');
    assert.equal(healthy.heartbeatLimitMs, 2 * HEARTBEAT);
    assert.deepEqual(healthy.queues, { default: 'running' });

    assert.deepEqual(Object.keys(await indicator.checkRedis('redis')), ['redis']);
    assert.equal((await indicator.checkRedis('redis')).redis.status, 'up');
    assert.equal((await indicator.checkHeartbeat('heartbeat')).heartbeat.status, 'up');

    const result: HealthCheckResult = await app.get(HealthCheckService).check(checks);
    assert.equal(result.status, 'ok');
    assert.deepEqual(Object.keys(result.info ?? {}).sort(), ['heartbeat', 'redis', 'verk']);

    await assert.rejects(indicator.isHealthy('verk', { timeout: 0 }), (error: unknown) => error instanceof VerkValidationError && error.field === 'options.timeout');
    await assert.rejects(indicator.checkRedis('redis', { timeout: Number.NaN }), VerkValidationError);
  } finally {
    await app.close();
  }
});

test('Redis down: checkRedis fails within its timeout, the heartbeat goes stale after 2 × heartbeat, terminus answers 503; all up again after a restart', async () => {
  const app = await boot('health-outage');
  let restarted = false;
  try {
    const indicator = app.get(VerkHealthIndicator);
    const terminus = app.get(HealthCheckService);
    await server.stop();

    const started = Date.now();
    const redis = (await indicator.checkRedis('redis', { timeout: 300 })).redis;
    // Bounded: the PING races a timer (its connection would otherwise retry).
    assert.ok(Date.now() - started < 2000, `checkRedis returned after ${Date.now() - started} ms`);
    assert.equal(redis.status, 'down');
    assert.match(String(redis.message), /^Redis (is unreachable \(.*ECONNREFUSED.*\)|did not answer PING within 300 ms)/);

    const heartbeat = await waitFor(async () => {
      const entry = (await indicator.checkHeartbeat('heartbeat')).heartbeat;
      return entry.status === 'down' ? entry : undefined;
    }, 'a stale heartbeat', 5000);
    assert.match(String(heartbeat.message), /^heartbeat is [\d.]+ s old \(limit 0\.4 s\)$/);
    assert.ok(Number(heartbeat.heartbeatAgeMs) > 2 * HEARTBEAT);

    const all = (await indicator.isHealthy('verk', { timeout: 300 })).verk as Entry;
    assert.equal(all.status, 'down');
    assert.match(String(all.message), /Redis .*; heartbeat is [\d.]+ s old \(limit 0\.4 s\)/);

    // Terminus turns a 'down' result into a 503 whose body names the problem.
    const error = await terminus.check([() => indicator.isHealthy('verk', { timeout: 300 })]).then(
      () => assert.fail('expected a 503'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof ServiceUnavailableException);
    const body = error.getResponse() as HealthCheckResult;
    assert.equal(body.status, 'error');
    assert.equal(body.error?.verk?.status, 'down');
    assert.match(String(body.error?.verk?.message), /^Redis /);

    // Many checks during the outage leave no timers behind.
    const timers = (): number => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
    const before = timers();
    await Promise.all(Array.from({ length: 20 }, () => indicator.checkRedis('redis', { timeout: 50 })));
    assert.ok(timers() - before < 5, `timers before ${before}, after ${timers()}`);

    await server.restart();
    restarted = true;
    const back = await waitFor(async () => {
      const entry = (await indicator.isHealthy('verk')).verk;
      return entry.status === 'up' ? entry : undefined;
    }, 'health after the restart', 15_000, 100);
    assert.equal(back.message, undefined);
    assert.equal((await terminus.check([() => indicator.isHealthy('verk')])).status, 'ok');
  } finally {
    if (!restarted) await server.restart(); // for the tests after this one
    await app.close();
  }
});

test('while the node stops with a job still running, isHealthy names the queue that is not running; after close it answers at once', async () => {
  const app = await boot('health-stopping');
  const gate = app.get(Gate);
  let closed: Promise<void> | undefined;
  try {
    const indicator = app.get(VerkHealthIndicator);
    await app.get(VerkService).enqueue({ queue: 'default', class: HoldJob, args: [] });
    await waitFor(() => gate.started > 0, 'the job to start');

    closed = app.close();
    const stopping = await waitFor(async () => {
      const entry = (await indicator.isHealthy('verk')).verk;
      return entry.status === 'down' ? entry : undefined;
    }, 'isHealthy down while stopping', 5000);
    assert.match(String(stopping.message), /node health-stopping is stopping/);
    assert.match(String(stopping.message), /queue default is not running/);
    assert.deepEqual(stopping.queues, { default: 'not running' });

    gate.release();
    await closed;
    closed = undefined;

    const started = Date.now();
    const afterClose = (await indicator.isHealthy('verk')).verk;
    assert.ok(Date.now() - started < 1500);
    assert.equal(afterClose.status, 'down');
    assert.match(String(afterClose.message), /node health-stopping is stopped/);
  } finally {
    gate.release();
    await (closed ?? app.close());
  }
});

test("'nestjs-verk' loads and VerkHealthIndicator works in an app without @nestjs/terminus", async () => {
  // Nothing in the built library requires terminus at runtime ...
  const files = (dir: string): string[] => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)]));
  for (const file of files(join(root, 'dist', 'lib')).filter((name) => name.endsWith('.js') || name.endsWith('.d.ts'))) {
    assert.doesNotMatch(readFileSync(file, 'utf8'), /require\(["']@nestjs\/terminus|from ["']@nestjs\/terminus|import\(["']@nestjs\/terminus/, file);
  }
  // ... and an app where it cannot be resolved gets a working indicator.
  const script = `
    const Module = require('node:module');
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      if (request.startsWith('@nestjs/terminus')) throw Object.assign(new Error('Cannot find module ' + request), { code: 'MODULE_NOT_FOUND' });
      return resolve.call(this, request, ...rest);
    };
    require('reflect-metadata');
    const { NestFactory } = require('@nestjs/core');
    const { VerkModule, VerkHealthIndicator } = require(${JSON.stringify(join(root, 'dist', 'lib', 'index.js'))});
    let terminus = 'resolvable';
    try { require('@nestjs/terminus'); } catch { terminus = 'missing'; }
    (async () => {
      const app = await NestFactory.createApplicationContext(VerkModule.forRoot({ redis: ${JSON.stringify(server.url)}, nodeId: 'no-terminus' }), { logger: false });
      const result = await app.get(VerkHealthIndicator).isHealthy('verk');
      await app.close();
      console.log(JSON.stringify({ terminus, status: result.verk.status }));
    })().catch((error) => { console.error(error); process.exit(1); });
  `;
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0) resolve(text);
      else reject(new Error(`child exited with ${code}:\n${text}`));
    });
  });
  assert.deepEqual(JSON.parse(output.trim().split('\n').pop() ?? ''), { terminus: 'missing', status: 'up' });
});

interface HttpHealth {
  status: number;
  body: HealthCheckResult;
}

async function getHealth(port: number): Promise<HttpHealth | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(5000) });
    return { status: response.status, body: (await response.json()) as HealthCheckResult };
  } catch {
    return undefined; // not listening yet
  }
}

test('sample app: GET /health is 200, 503 naming the problem while Redis is down, 200 again after it returns; SIGTERM ends the app', async () => {
  const redis = await RedisServer.start();
  const port = await freePort();
  const output: string[] = [];
  const app = spawn(process.execPath, [join(root, 'dist', 'sample', 'main.js')], {
    cwd: root,
    env: { ...process.env, REDIS_URL: redis.url, PORT: String(port), VERK_NODE_ID: 'health-test', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(app);
  app.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  app.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    app.once('exit', (code, signal) => {
      children.delete(app);
      resolve({ code, signal });
    }),
  );
  const log = (): string => output.join('');
  try {
    const up = await waitFor(() => (app.exitCode === null ? getHealth(port) : Promise.reject(new Error(`the app exited:\n${log()}`))), 'the sample app to listen', 20_000, 100);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.status, 'ok');
    assert.equal(up.body.info?.verk?.status, 'up');
    assert.equal(up.body.info?.verk?.nodeId, 'health-test');

    await redis.stop();
    const down = await waitFor(async () => {
      const health = await getHealth(port);
      return health?.status === 503 ? health : undefined;
    }, 'GET /health to answer 503', 10_000, 100);
    assert.equal(down.body.status, 'error');
    assert.equal(down.body.error?.verk?.status, 'down');
    assert.match(String(down.body.error?.verk?.message), /^Redis (is unreachable|did not answer PING within 1000 ms)/);

    await redis.restart();
    const back = await waitFor(async () => {
      const health = await getHealth(port);
      return health?.status === 200 ? health : undefined;
    }, 'GET /health to answer 200 again', 15_000, 100);
    assert.equal(back.body.info?.verk?.status, 'up');

    app.kill('SIGTERM');
    const timer = setTimeout(() => app.kill('SIGKILL'), 20_000);
    const end = await exited;
    clearTimeout(timer);
    assert.deepEqual(end, { code: 0, signal: null }, `the app did not exit by itself:\n${log()}`);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- sample app output ---\n${log()}`, { cause: error });
  } finally {
    if (app.exitCode === null && app.signalCode === null) {
      app.kill('SIGKILL');
      await exited;
    }
    await redis.cleanup();
  }
});
