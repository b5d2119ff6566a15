import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { useRedis } from '../helpers/engine';

const ctx = useRedis();
const root = join(__dirname, '..', '..', '..');

/**
 * A Nest app written as an ES module ("type": "module", TypeScript with module nodenext),
 * importing the package by its name as a user's app would: it compiles against the
 * package's types and runs against its build, boots, enqueues a job, runs it and exits.
 */
const consumer = `
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Perform, VerkModule, VerkService, Worker } from 'nestjs-verk';

const done: string[] = [];

@Injectable()
class Greeter {
  greet(name: string): string {
    return 'hello ' + name;
  }
}

@Worker()
@Injectable()
class GreetWorker {
  constructor(private readonly greeter: Greeter) {}
  @Perform()
  perform(name: string): void {
    done.push(this.greeter.greet(name));
  }
}

@Module({ imports: [VerkModule.forRoot({ redis: process.env.REDIS_URL!, generateNodeId: true, queues: { default: 1 } })], providers: [Greeter, GreetWorker] })
class AppModule {}

const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
const jid = await app.get(VerkService).enqueue({ queue: 'default', class: GreetWorker, args: ['esm'] });
const deadline = Date.now() + 15000;
while (done.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
await app.close();
console.log(JSON.stringify({ jid, done }));
`;

test('an ESM Nest app (module nodenext) compiles against the package and enqueues and runs a job', () => {
  // Inside the project, so @nestjs/* resolve from its node_modules; nestjs-verk through a link.
  const dir = mkdtempSync(join(root, '.esm-consumer-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'nestjs-verk'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'esm-consumer', private: true, type: 'module' }));
    writeFileSync(join(dir, 'app.ts'), consumer);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, experimentalDecorators: true, emitDecoratorMetadata: true, skipLibCheck: true, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')] },
        files: ['app.ts'],
      }),
    );
    try {
      execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    } catch (error) {
      assert.fail(`the ESM consumer does not compile:\n${(error as { stdout?: string }).stdout ?? String(error)}`);
    }
    const output = execFileSync(process.execPath, [join(dir, 'app.js')], { encoding: 'utf8', env: { ...process.env, REDIS_URL: ctx.server.url }, timeout: 30_000 });
    const result = JSON.parse(output.trim().split('\n').pop() ?? '{}') as { jid: string; done: string[] };
    assert.match(result.jid, /^[0-9a-f]{24}$/);
    assert.deepEqual(result.done, ['hello esm']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
