import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as main from 'nestjs-verk';
import * as engineEntry from 'nestjs-verk/engine';
import { VerkHealthIndicator } from 'nestjs-verk';
import { VerkEngine } from 'nestjs-verk/engine';
import { MemoryLogger, startEngine, useRedis } from '../helpers/engine';
import { RedisServer } from '../helpers/redis-server';

const ctx = useRedis();

type ErrorClass = new (...args: never[]) => Error;

/** An exported class by name, read at run time (so a missing one fails the test, not the build). */
function exported(name: string): ErrorClass {
  const value = (main as unknown as Record<string, unknown>)[name];
  assert.equal(typeof value, 'function', `nestjs-verk exports ${name}`);
  assert.equal((engineEntry as unknown as Record<string, unknown>)[name], value, `nestjs-verk/engine exports the same ${name}`);
  return value as ErrorClass;
}

/** The error a call throws or rejects with (fails the test when it does not). */
async function caught(call: () => unknown): Promise<Error> {
  try {
    await call();
  } catch (error) {
    assert.ok(error instanceof Error, `threw an Error, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to throw');
}

/** One instance of every public error class, built as the package builds it. */
const SAMPLES: Record<string, (cls: ErrorClass) => Error> = {
  VerkError: (cls) => new (cls as unknown as new (message: string) => Error)('base'),
  VerkConfigError: (cls) => new (cls as unknown as new (message: string) => Error)('bad option'),
  VerkValidationError: (cls) => new (cls as unknown as new (field: string, message: string) => Error)('queue', 'must be a name'),
  VerkStateError: (cls) => new (cls as unknown as new (message: string) => Error)('not running'),
  VerkRedisError: (cls) => new (cls as unknown as new (message: string) => Error)('unreachable'),
  VerkBrokerError: (cls) => new (cls as unknown as new (message: string) => Error)('not confirmed'),
  VerkFlowError: (cls) => new (cls as unknown as new (message: string) => Error)('refused'),
  VerkMiddlewareError: (cls) => new (cls as unknown as new (middleware: string, message: string) => Error)('mw', 'next() twice'),
  UnknownWorkerError: (cls) => new (cls as unknown as new (message: string) => Error)('no worker'),
  InvalidJobError: (cls) => new (cls as unknown as new (message: string) => Error)('not a job'),
  VerkRateLimitError: (cls) => new (cls as unknown as new (retryAfterMs: number, options?: { group?: string }) => Error)(1000, { group: 'tenant-1' }),
};

test('every public error class is a VerkError and an Error, with its own name, exported by both entries', () => {
  const errorNames = Object.keys(main).filter((name) => name.endsWith('Error')).sort();
  assert.deepEqual(errorNames, Object.keys(SAMPLES).sort(), 'the exported error classes are the ones this test knows');
  const base = exported('VerkError');
  for (const [name, build] of Object.entries(SAMPLES)) {
    const error = build(exported(name));
    assert.ok(error instanceof base, `${name} is a VerkError`);
    assert.ok(error instanceof Error, `${name} is an Error`);
    assert.equal(error.name, name);
    assert.match(String(error.stack), new RegExp(`^${name}: `), `${name}'s stack starts with its name`);
  }
});

test('lifecycle misuse throws VerkStateError: start twice, addQueue before start and after stop, removeQueue of a queue not running, subscribe after stop', async () => {
  const VerkStateError = exported('VerkStateError');
  const VerkValidationError = exported('VerkValidationError');
  const fresh = new VerkEngine({ redis: ctx.server.url, nodeId: 'n1', queues: {} }, { logger: new MemoryLogger() });
  try {
    const early = await caught(() => fresh.addQueue('late', 1));
    assert.ok(early instanceof VerkStateError, `addQueue before start: ${early.name}: ${early.message}`);
    assert.match(early.message, /not running/);
  } finally {
    await fresh.stop();
  }

  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 } });
  try {
    const twice = await caught(() => engine.start());
    assert.ok(twice instanceof VerkStateError, `start twice: ${twice.name}: ${twice.message}`);
    assert.match(twice.message, /already started/);
    const again = await caught(() => engine.addQueue('default', 1));
    assert.ok(again instanceof VerkStateError, `addQueue of a running queue: ${again.name}: ${again.message}`);
    const absent = await caught(() => engine.removeQueue('absent'));
    assert.ok(absent instanceof VerkStateError, `removeQueue of a queue not running: ${absent.name}: ${absent.message}`);
    // Bad input stays a validation error, whatever the state.
    assert.ok((await caught(() => engine.addQueue('other', 0))) instanceof VerkValidationError);
  } finally {
    await engine.stop();
  }
  const stopped = await caught(() => engine.addQueue('late', 1));
  assert.ok(stopped instanceof VerkStateError, `addQueue after stop: ${stopped.name}: ${stopped.message}`);
  const subscribed = await caught(() => engine.subscribe(() => undefined));
  assert.ok(subscribed instanceof VerkStateError, `subscribe after stop: ${subscribed.name}: ${subscribed.message}`);
});

test('a bad PING timeout is the same VerkValidationError, naming the field, in the engine and in the health indicator', async () => {
  const VerkValidationError = exported('VerkValidationError');
  const engine = await startEngine({ redis: ctx.server.url, queues: {} });
  const indicator = new VerkHealthIndicator(engine);
  try {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const fromEngine = await caught(() => engine.ping(bad));
      const fromHealth = await caught(() => indicator.checkRedis('redis', { timeout: bad }));
      for (const [where, error] of [['engine.ping', fromEngine], ['VerkHealthIndicator', fromHealth]] as const) {
        assert.ok(error instanceof VerkValidationError, `${where}(${bad}) threw ${error.name}: ${error.message}`);
        assert.match(error.message, /timeout/, `${where}: the message names the field`);
      }
      assert.equal(fromEngine.constructor, fromHealth.constructor, 'one class for one bad value');
    }
    assert.equal(typeof (await engine.ping(1000)), 'number', 'a good timeout still pings');
  } finally {
    await engine.stop();
  }
});

test('Redis that does not answer PING rejects with VerkRedisError (a VerkError)', async () => {
  const VerkRedisError = exported('VerkRedisError');
  const VerkError = exported('VerkError');
  const server = await RedisServer.start();
  const engine = await startEngine({ redis: server.url, queues: {} });
  try {
    await server.stop();
    const error = await caught(() => engine.ping(300));
    assert.ok(error instanceof VerkRedisError, `${error.name}: ${error.message}`);
    assert.ok(error instanceof VerkError);
    assert.match(error.message, /Redis/);
  } finally {
    await engine.stop();
    await server.cleanup();
  }
});

test('a bad option throws VerkConfigError naming the field (message and .field)', async () => {
  const VerkConfigError = exported('VerkConfigError');
  const cases: [Record<string, unknown>, string][] = [
    [{ queues: { default: 0 } }, 'queues.default'],
    [{ queues: {}, heartbeat: -5 }, 'heartbeat'],
    [{ queues: {}, history: { retention: 'long' } }, 'history.retention'],
  ];
  for (const [options, field] of cases) {
    const error = await caught(() => new VerkEngine({ redis: ctx.server.url, nodeId: 'n1', ...options } as unknown as ConstructorParameters<typeof VerkEngine>[0]));
    assert.ok(error instanceof VerkConfigError, `${JSON.stringify(options)}: ${error.name}: ${error.message}`);
    assert.ok(error.message.includes(`"${field}"`), `the message names ${field}: ${error.message}`);
    assert.equal((error as Error & { field?: string }).field, field);
  }
});

test('updateRecurring of a stored definition that is not valid throws VerkStateError and writes nothing', async () => {
  const VerkStateError = exported('VerkStateError');
  const engine = await startEngine({ redis: ctx.server.url, queues: {} });
  try {
    await ctx.redis.hset('verk:recurring', 'broken', '{"name":"broken"}');
    const error = await caught(() => engine.recurring.updateRecurring('broken', { args: [1] }));
    assert.ok(error instanceof VerkStateError, `${error.name}: ${error.message}`);
    assert.equal(await ctx.redis.hget('verk:recurring', 'broken'), '{"name":"broken"}');
  } finally {
    await engine.stop();
  }
});
