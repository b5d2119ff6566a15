import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Perform, VerkModule, VerkService, Worker } from 'nestjs-verk';
import { connect, zsetJobs, useRedis } from '../helpers/engine';
import { waitFor } from '../helpers/wait';
import { boot } from '../helpers/nest';

const ctx = useRedis();

@Injectable()
class Ledger {
  readonly entries: string[] = [];
  record(entry: string): void {
    this.entries.push(entry);
  }
}

@Worker()
@Injectable()
class AddNumbers {
  constructor(private readonly ledger: Ledger) {}

  @Perform()
  async perform(a: number, b: number): Promise<number> {
    this.ledger.record(`${a}+${b}=${a + b}`);
    return a + b;
  }
}

@Worker('Mailer::Send')
class SendMail {
  constructor(@Inject(Ledger) private readonly ledger: Ledger) {}

  @Perform()
  send(to: string): void {
    this.ledger.record(`mail to ${to}`);
  }

  retryAt(failedAt: number): number {
    return failedAt + 3600;
  }
}

test('forRoot: @Worker providers are discovered with their injected dependencies; enqueue by name and by class', async () => {
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'nest-1', queues: { default: 3 } })], providers: [Ledger, AddNumbers, SendMail] })
  class AppModule {}
  const app = await boot(AppModule);
  try {
    const verk = app.get(VerkService);
    const ledger = app.get(Ledger);
    const byName = await verk.enqueue({ queue: 'default', class: 'AddNumbers', args: [1, 2] });
    const byClass = await verk.enqueue({ queue: 'default', class: SendMail, args: ['a@b.c'] });
    assert.match(byName, /^[0-9a-f]{24}$/);
    assert.notEqual(byName, byClass);
    await waitFor(() => ledger.entries.length === 2, 'both jobs run');
    assert.deepEqual(ledger.entries.sort(), ['1+2=3', 'mail to a@b.c']);
    assert.equal(verk.nodeId, 'nest-1');
  } finally {
    await app.close();
  }
});

test('a class passed to enqueue uses its @Worker name; a non-worker class is refused', async () => {
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'nest-2', queues: {} })] })
  class AppModule {}
  const app = await boot(AppModule);
  try {
    const verk = app.get(VerkService);
    await verk.enqueue({ queue: 'default', class: SendMail, args: ['x'] });
    const [member] = await ctx.redis.lrange('queue:default', 0, -1);
    assert.equal(JSON.parse(member).class, 'Mailer::Send');
    class NotAWorker {}
    await assert.rejects(verk.enqueue({ queue: 'default', class: NotAWorker }), /class: NotAWorker is not decorated with @Worker\(\)/);
  } finally {
    await app.close();
  }
});

test('a worker\'s retryAt method is used for its retries', async () => {
  @Worker('AlwaysFails')
  class AlwaysFails {
    @Perform() run(): void {
      throw new Error('nope');
    }
    retryAt(failedAt: number): number {
      return failedAt + 3600;
    }
  }
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'nest-3', queues: { default: 1 } })], providers: [AlwaysFails] })
  class AppModule {}
  const app = await boot(AppModule);
  try {
    await app.get(VerkService).enqueue({ queue: 'default', class: AlwaysFails });
    await waitFor(async () => (await ctx.redis.zcard('retry')) === 1, 'in retry');
    const [member, score] = await ctx.redis.zrange('retry', 0, '-1', 'WITHSCORES');
    assert.equal(Math.round(Number(score) - JSON.parse(member).failed_at), 3600);
  } finally {
    await app.close();
  }
});

test('forRootAsync resolves options from injected providers', async () => {
  @Injectable()
  class Config {
    readonly url = ctx.server.url;
  }
  @Module({ providers: [Config], exports: [Config] })
  class ConfigModule {}
  @Module({
    imports: [VerkModule.forRootAsync({ imports: [ConfigModule], inject: [Config], useFactory: (config: Config) => ({ redis: config.url, nodeId: 'async-1', queues: { default: 2 } }) })],
    providers: [Ledger, AddNumbers],
  })
  class AppModule {}
  const app = await boot(AppModule);
  try {
    await app.get(VerkService).enqueue({ queue: 'default', class: AddNumbers, args: [2, 3] });
    await waitFor(() => app.get(Ledger).entries.length === 1, 'job run');
    assert.deepEqual(app.get(Ledger).entries, ['2+3=5']);
  } finally {
    await app.close();
  }
});

test('two workers for one job class refuse to boot with a clear error', async () => {
  @Worker('AddNumbers')
  class AddNumbersAgain {
    @Perform() perform(): void {}
  }
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'dup', queues: {} })], providers: [Ledger, AddNumbers, AddNumbersAgain] })
  class AppModule {}
  await assert.rejects(boot(AppModule), /Two workers handle the job class "AddNumbers": AddNumbers and AddNumbersAgain/);
});

test('a worker without a @Perform method refuses to boot', async () => {
  @Worker()
  class Lazy {
    run(): void {}
  }
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'lazy', queues: {} })], providers: [Lazy] })
  class AppModule {}
  await assert.rejects(boot(AppModule), /Worker Lazy has no @Perform\(\) method/);
});

test('a worker with two @Perform methods refuses to boot', async () => {
  @Worker()
  class Greedy {
    @Perform() a(): void {}
    @Perform() b(): void {}
  }
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'greedy', queues: {} })], providers: [Greedy] })
  class AppModule {}
  await assert.rejects(boot(AppModule), /Worker Greedy has 2 @Perform\(\) methods \(a, b\)/);
});

test('bad module options stop the boot with an error naming the field', async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ redis: ctx.server.url, nodeId: 'x', concurency: 5 }, /"concurency": unknown option/],
    [{ redis: ctx.server.url, nodeId: 'x', queues: { default: 0 } }, /"queues.default": concurrency must be an integer >= 1, got 0/],
    [{ redis: ctx.server.url, nodeId: 'x', queues: { default: 2.5 } }, /"queues.default"/],
    [{ redis: 'localhost:6379', nodeId: 'x' }, /"redis": "localhost:6379" must start with redis:\/\/ or rediss:\/\//],
    [{ redis: 'redis://', nodeId: 'x' }, /"redis"/],
    [{ redis: 'redis://127.0.0.1:6379/abc', nodeId: 'x' }, /"redis".*database "abc"/],
    [{ redis: ctx.server.url }, /"nodeId": is required unless generateNodeId is true/],
    [{ redis: ctx.server.url, nodeId: 'x', generateNodeId: true }, /"nodeId": must not be set together with generateNodeId/],
    [{ redis: ctx.server.url, nodeId: 'x', pollInterval: -1 }, /"pollInterval": must be an integer >= 10/],
    [{ redis: ctx.server.url, nodeId: 'x', maxRetryCount: 'lots' }, /"maxRetryCount"/],
    [{ redis: ctx.server.url, nodeId: 'x', failJobLogLevel: 'info' }, /"failJobLogLevel": must be one of 'log', 'debug'/],
  ];
  for (const [options, message] of cases) {
    @Module({ imports: [VerkModule.forRoot(options as never)] })
    class AppModule {}
    await assert.rejects(boot(AppModule), message, JSON.stringify(options));
  }
  assert.equal(await ctx.redis.dbsize(), 0, 'nothing written');
});

test('bad enqueue input throws an error naming the field and writes nothing', async () => {
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'val', queues: {} })] })
  class AppModule {}
  const app = await boot(AppModule);
  try {
    const verk = app.get(VerkService);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad: [() => Promise<unknown>, RegExp][] = [
      [() => verk.enqueue({ class: 'X', args: [] } as never), /: job\.queue: must be a non-empty queue name/],
      [() => verk.enqueue({ queue: '', class: 'X' }), /: job\.queue/],
      [() => verk.enqueue({ queue: 'q', class: '' }), /: job\.class/],
      [() => verk.enqueue({ queue: 'q', class: 'X', args: 'nope' as never }), /: job\.args: must be an array/],
      [() => verk.enqueue({ queue: 'q', class: 'X', args: [1, () => 1] }), /: job\.args\[1\]: a function is not JSON-serializable/],
      [() => verk.enqueue({ queue: 'q', class: 'X', args: [{ big: 10n }] }), /: job\.args\[0\]\.big: BigInt is not JSON-serializable/],
      [() => verk.enqueue({ queue: 'q', class: 'X', args: [cyclic] }), /: job\.args\[0\]\.self: circular reference/],
      [() => verk.enqueue({ queue: 'q', class: 'X', args: [undefined] }), /: job\.args\[0\]: undefined is not JSON-serializable/],
      [() => verk.enqueue({ queue: 'q', class: 'X', args: [{ a: undefined }] }), /: job\.args\[0\]\.a: undefined/],
      [() => verk.enqueue({ queue: 'q', class: 'X', args: [new Date()] }), /: job\.args\[0\]: Date is not a plain JSON value \(pass date\.toISOString\(\)/],
      [() => verk.enqueue({ queue: 'q', class: 'X', args: [NaN] }), /: job\.args\[0\]: NaN/],
      [() => verk.enqueue({ queue: 'q', class: 'X', retry: -1 }), /: job\.retry/],
      [() => verk.enqueue({ queue: 'q', class: 'X', maxRetryCount: 1.5 }), /: job\.maxRetryCount/],
      [() => verk.enqueue({ queue: 'q', class: 'X', qeue: 'typo' } as never), /: job\.qeue: unknown job field/],
      [() => verk.schedule({ queue: 'q', class: 'X' }, new Date('not a date')), /: at: must be a valid Date or epoch milliseconds, got an invalid Date/],
      [() => verk.schedule({ queue: 'q', class: 'X' }, '2026-01-01' as never), /: at: must be a valid Date/],
      [() => verk.schedule({ queue: 'q', class: 'X' }, Date.now() + 1e303), /: at: must be a valid Date/],
      [() => verk.enqueueMany([{ queue: 'q', class: 'X' }, { queue: 'q', class: 'X', args: [() => 1] }]), /: jobs\[1\]\.args\[0\]: a function/],
    ];
    for (const [call, message] of bad) await assert.rejects(call(), message);
    // Only the node's own heartbeat keys exist: no queue, job or schedule was written.
    assert.deepEqual((await ctx.redis.keys('*')).filter((key) => !key.startsWith('verk')), [], 'nothing was written');
  } finally {
    await app.close();
  }
});

test('enqueueMany writes every job atomically, in order, and returns their jids', async () => {
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'many', queues: {} })] })
  class AppModule {}
  const app = await boot(AppModule);
  try {
    const verk = app.get(VerkService);
    const jobs = Array.from({ length: 300 }, (_, i) => ({ queue: i % 3 === 0 ? 'a' : 'b', class: 'Item', args: [i] }));
    const jids = await verk.enqueueMany(jobs);
    assert.equal(jids.length, 300);
    assert.equal(new Set(jids).size, 300);
    // Consumers read from the right: reversed LRANGE is processing order.
    const a = (await ctx.redis.lrange('queue:a', 0, -1)).reverse().map((m) => JSON.parse(m).args[0] as number);
    const b = (await ctx.redis.lrange('queue:b', 0, -1)).reverse().map((m) => JSON.parse(m).args[0] as number);
    assert.deepEqual(a, jobs.map((j, i) => (j.queue === 'a' ? i : -1)).filter((i) => i >= 0));
    assert.deepEqual(b, jobs.map((j, i) => (j.queue === 'b' ? i : -1)).filter((i) => i >= 0));
    assert.equal(JSON.parse((await ctx.redis.lrange('queue:a', -1, -1))[0]).jid, jids[0]);
    assert.deepEqual(await verk.enqueueMany([]), []);
  } finally {
    await app.close();
  }
});

test('app.close() stops the node: no in-progress jobs left, connections closed', async () => {
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'closing', queues: { default: 2 } })], providers: [Ledger, AddNumbers] })
  class AppModule {}
  const app = await boot(AppModule);
  await app.get(VerkService).enqueue({ queue: 'default', class: AddNumbers, args: [1, 1] });
  await waitFor(() => app.get(Ledger).entries.length === 1, 'job run');
  await app.close();
  assert.equal(await ctx.redis.llen('inprogress:default:closing'), 0);
  const clients = await ctx.redis.client('LIST');
  assert.doesNotMatch(String(clients), /name=verk:closing/, 'no connection of the node remains');
  assert.equal((await zsetJobs(ctx.redis, 'dead')).length, 0);
});

test('one log line per job event through Nest\'s Logger, at Verk\'s configurable levels', async () => {
  const lines: string[] = [];
  const capture = (level: string) => (message: unknown, ...rest: unknown[]) => void lines.push(`${level} [${String(rest[rest.length - 1])}] ${String(message)}`);
  const logger = { log: capture('log'), warn: capture('warn'), error: capture('error'), debug: capture('debug'), verbose: capture('verbose'), fatal: capture('fatal') };
  @Worker('Logged')
  class Logged {
    @Perform() run(fail: boolean): void {
      if (fail) throw new TypeError('bad input');
    }
  }
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'logs', queues: { default: 1 }, startJobLogLevel: 'verbose', doneJobLogLevel: 'log', failJobLogLevel: 'error' })], providers: [Logged] })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, { logger, abortOnError: false });
  try {
    const verk = app.get(VerkService);
    const ok = await verk.enqueue({ queue: 'default', class: 'Logged', args: [false] });
    const bad = await verk.enqueue({ queue: 'default', class: 'Logged', args: [true] });
    await waitFor(() => lines.some((line) => line.includes(`${bad} fail`)), 'failure logged');
    assert.ok(lines.some((line) => new RegExp(`^verbose \\[Verk\\] default Logged ${ok} start$`).test(line)), lines.join('\n'));
    assert.ok(lines.some((line) => new RegExp(`^log \\[Verk\\] default Logged ${ok} done: \\d+ ms$`).test(line)), lines.join('\n'));
    assert.ok(lines.some((line) => new RegExp(`^error \\[Verk\\] default Logged ${bad} fail after \\d+ ms: TypeError: bad input \\(retry 1 at `).test(line)), lines.join('\n'));
  } finally {
    await app.close();
  }
});
