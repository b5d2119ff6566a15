import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { type DynamicModule, type INestApplicationContext, Module } from '@nestjs/common';
import { newJid, VerkModule, VerkTesting, VerkValidationError } from 'nestjs-verk';
import { FeatureModule, FlakyWorker, Ledger, LedgerModule, SignupService, useTestingApp } from '../helpers/testing-app';

/*
 * VerkModule.forTesting({ mode: 'inline' }): every enqueue runs its job at once, awaited,
 * through the real worker and middleware, and a failing job's error reaches the caller
 * (Sidekiq's inline!). No redis-server runs; a listener stands where Redis would be.
 */

const ctx = useTestingApp(VerkModule.forTesting({ mode: 'inline' }));

test('enqueue runs the job before it resolves, with DI; nothing is left waiting', async () => {
  ctx.reset();
  assert.equal(ctx.app.get(VerkTesting).mode, 'inline');
  const jid = await ctx.app.get(SignupService).signUp(7);
  assert.match(jid, /^[0-9a-f]{24}$/);
  assert.deepEqual(ctx.ledger.entries, ['welcome:7:undefined']);
  assert.deepEqual(ctx.app.get(VerkTesting).jobs(), []);
});

test('a chain of jobs that enqueue jobs runs nested, each inside its parent (as Sidekiq inline does)', async () => {
  ctx.reset();
  await ctx.verk.enqueue({ queue: 'default', class: 'ChainStep', args: [1, 3] });
  assert.deepEqual(ctx.ledger.entries, ['step:1', 'step:2', 'step:3', 'step-done:3', 'step-done:2', 'step-done:1']);
});

test('a failing job throws its own error to the caller and is dead (no retries inline)', async () => {
  ctx.reset();
  ctx.ledger.failuresLeft.set('boom', 1);
  await assert.rejects(ctx.verk.enqueue({ queue: 'default', class: FlakyWorker, args: ['boom'] }), (error: Error) => error instanceof TypeError && error.message === 'flaky boom failed (1 left)');
  const dead = ctx.app.get(VerkTesting).dead();
  assert.equal(dead.length, 1);
  assert.equal(dead[0].payload.error_class, 'TypeError');
  // An unknown class fails like any job.
  await assert.rejects(ctx.verk.enqueue({ queue: 'default', class: 'NoSuchWorker' }), /No worker for job class "NoSuchWorker"/);
});

test('a dependency diamond, schedule and a batch with its callback all run at once', async () => {
  ctx.reset();
  await ctx.app.get(SignupService).diamond();
  assert.deepEqual(
    ctx.ledger.entries.map((entry) => entry.slice(5)),
    ['publish-never-first', 'fetch', 'resize', 'index', 'publish'],
  );
  ctx.ledger.entries.length = 0;
  await ctx.verk.schedule({ queue: 'default', class: 'Graph::Node', args: ['tomorrow'] }, Date.now() + 86_400_000);
  assert.deepEqual(ctx.ledger.entries, ['node:tomorrow']);
  ctx.ledger.entries.length = 0;
  ctx.ledger.failuresLeft.set('bad', 1);
  await assert.rejects(
    ctx.verk.batch(
      [
        { queue: 'imports', class: 'Graph::Node', args: ['a'] },
        { queue: 'imports', class: FlakyWorker, args: ['bad'] },
      ],
      { onComplete: { class: 'ImportDone', args: ['inline'] } },
    ),
    /flaky bad failed/,
  );
  assert.deepEqual(ctx.ledger.entries, ['node:a', 'flaky:bad:fail', 'batch:inline:2/1/1']);
});

test('validation errors are the real ones and nothing runs', async () => {
  ctx.reset();
  await assert.rejects(ctx.verk.enqueue({ queue: 'a b', class: 'SendWelcome' }), (error: Error) => error instanceof VerkValidationError && error.message.startsWith('job.queue: must be a non-empty queue name'));
  await assert.rejects(ctx.verk.enqueue({ queue: 'q', class: 'SendWelcome', dependsOn: [newJid()] }), /is neither pending nor recorded as finished/);
  assert.deepEqual(ctx.ledger.entries, []);
  assert.equal(ctx.redis.connections(), 0, 'nothing connected to Redis');
});

// @nestjs/testing is not among this repository's devDependencies; when it is, this runs
// the documented override of an application's own VerkModule.forRoot import.
const requireOptional = createRequire(__filename);
let nestTesting: { Test: { createTestingModule(metadata: { imports: unknown[] }): { overrideModule(module: unknown): { useModule(module: unknown): { compile(): Promise<INestApplicationContext> } } } } } | undefined;
try {
  nestTesting = requireOptional('@nestjs/testing') as typeof nestTesting;
} catch {
  nestTesting = undefined;
}

test('with @nestjs/testing: overrideModule(the forRoot import).useModule(forTesting()) runs no Redis', { skip: nestTesting ? false : '@nestjs/testing is not installed' }, async () => {
  const verkRoot: DynamicModule = VerkModule.forRoot({ redis: ctx.redis.url, nodeId: 'app', queues: { default: 1 } });
  @Module({ imports: [verkRoot, LedgerModule, FeatureModule] })
  class AppModule {}
  const moduleRef = await nestTesting!.Test.createTestingModule({ imports: [AppModule] }).overrideModule(verkRoot).useModule(VerkModule.forTesting({ mode: 'inline' })).compile();
  try {
    await moduleRef.get(SignupService).signUp(1);
    assert.deepEqual(moduleRef.get(Ledger).entries, ['welcome:1:undefined']);
    assert.equal(ctx.redis.connections(), 0);
  } finally {
    await moduleRef.close();
  }
});

test('VerkModule.overrideForTesting replaces the application\'s own forRoot and forRootAsync imports, wherever they are, with no constant kept', { skip: nestTesting ? false : '@nestjs/testing is not installed' }, async () => {
  // The way applications write it: forRoot inline in a module of its own, imported by the app.
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.redis.url, nodeId: 'app', queues: { default: 1 } })] })
  class JobsModule {}
  @Module({ imports: [JobsModule, LedgerModule, FeatureModule] })
  class AppModule {}
  const moduleRef = await VerkModule.overrideForTesting(nestTesting!.Test.createTestingModule({ imports: [AppModule] }), { mode: 'inline' }).compile();
  try {
    assert.equal(moduleRef.get(VerkTesting).mode, 'inline');
    await moduleRef.get(SignupService).signUp(2);
    assert.deepEqual(moduleRef.get(Ledger).entries, ['welcome:2:undefined']);
  } finally {
    await moduleRef.close();
  }
  // forRootAsync too (its factory never runs: nothing reads the options).
  let factoryRan = false;
  @Module({ imports: [VerkModule.forRootAsync({ useFactory: () => ((factoryRan = true), { redis: ctx.redis.url, nodeId: 'app', queues: { default: 1 } }) }), LedgerModule, FeatureModule] })
  class AsyncAppModule {}
  const asyncRef = await VerkModule.overrideForTesting(nestTesting!.Test.createTestingModule({ imports: [AsyncAppModule] })).compile();
  try {
    await asyncRef.get(SignupService).signUp(3);
    assert.equal(asyncRef.get(VerkTesting).jobs('mail').length, 1, 'fake mode (the default) keeps the job');
    assert.deepEqual(asyncRef.get(Ledger).entries, [], 'and does not run it');
    assert.equal(factoryRan, false);
  } finally {
    await asyncRef.close();
  }
  assert.equal(ctx.redis.connections(), 0, 'nothing connected to Redis');
});
