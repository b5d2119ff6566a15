import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { VerkHealthIndicator, VerkModule } from 'nestjs-verk';
import { VerkConfigError, VerkEngine } from '../../lib/engine';
import { describeRedis, redactRedisOptions, redactRedisUrl, redactSecrets } from '../../lib/engine/redis/redact';
import { MemoryLogger } from '../helpers/engine';
import { freePort } from '../helpers/redis-server';
import { waitFor } from '../helpers/wait';

const SECRET = 's3cr3t-Pa55';
const root = join(__dirname, '..', '..', '..');

test('redactRedisUrl hides the password (keeps the user), query secrets, and everything before @ of a URL that does not parse', () => {
  const cases: [string, string][] = [
    [`redis://:${SECRET}@127.0.0.1:6379/2`, 'redis://:***@127.0.0.1:6379/2'],
    [`redis://default:${SECRET}@host:6379`, 'redis://default:***@host:6379'],
    [`rediss://user:${SECRET}@cache.example.com:6380/0`, 'rediss://user:***@cache.example.com:6380/0'],
    [`redis://:${SECRET}@[::1]:6379`, 'redis://:***@[::1]:6379'],
    [`redis://host:6379/0?password=${SECRET}&family=6`, 'redis://host:6379/0?password=***&family=6'],
    [`redis://:p@ss${SECRET}@host`, 'redis://:***@host'], // an @ in the password, encoded by the parser
    // Not parseable (a / or # in the password, a bad port): nothing between // and the last @ is shown.
    [`redis://user:pa/ss${SECRET}@host:6379`, 'redis://***@host:6379'],
    [`redis://:pa#${SECRET}@host`, 'redis://***@host'],
    [`redis://:${SECRET}@host:port`, 'redis://***@host:port'],
    [`redis://pa?${SECRET}@host`, 'redis://***@host'], // parses with host "pa": the @ after it gives it away
    // Nothing secret: unchanged.
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['redis://user@host:6379/1', 'redis://user@host:6379/1'],
    ['localhost:6379', 'localhost:6379'],
  ];
  for (const [input, expected] of cases) {
    const shown = redactRedisUrl(input);
    assert.equal(shown, expected, input);
    assert.ok(!shown.includes(SECRET), input);
  }
});

test('redactSecrets hides credentials of every URL in a text; redactRedisOptions and describeRedis never show a password', () => {
  const text = `failed (redis://:${SECRET}@h:1) then "rediss://u:${SECRET}@h/2" and redis://plain:6379 ok`;
  assert.equal(redactSecrets(text), 'failed (redis://***@h:1) then "rediss://u:***@h/2" and redis://plain:6379 ok');

  const options = { host: 'h', port: 6380, username: 'app', password: SECRET, sentinelPassword: SECRET, tls: { key: SECRET, passphrase: SECRET, ca: 'ca-cert' }, sentinels: [{ host: 's', port: 26379, password: SECRET }] };
  const redacted = redactRedisOptions(options);
  assert.ok(!JSON.stringify(redacted).includes(SECRET), JSON.stringify(redacted));
  assert.deepEqual(redacted, { host: 'h', port: 6380, username: 'app', password: '***', sentinelPassword: '***', tls: { key: '***', passphrase: '***', ca: 'ca-cert' }, sentinels: [{ host: 's', port: 26379, password: '***' }] });
  assert.equal(options.password, SECRET, 'the input is not changed');
  assert.equal(describeRedis(options), 'rediss://h:6380');
  assert.equal(describeRedis(`redis://:${SECRET}@h:1/3`), 'redis://:***@h:1/3');
});

test('a bad redis option with a password: the thrown message (engine and VerkModule) shows *** and never the password', async () => {
  const bad = [
    `redis://:${SECRET}@127.0.0.1:6379/abc`, // database not a number
    `http://user:${SECRET}@127.0.0.1:6379`, // wrong scheme
    `redis://:${SECRET}@127.0.0.1:port`, // does not parse
  ];
  for (const redis of bad) {
    let thrown: unknown;
    try {
      new VerkEngine({ redis, nodeId: 'secret' }, { logger: new MemoryLogger() });
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof VerkConfigError, `${redis}: expected a VerkConfigError`);
    assert.ok(!thrown.message.includes(SECRET), thrown.message);
    assert.match(thrown.message, /\*\*\*/);
    assert.match(thrown.message, /"redis"/);

    @Module({ imports: [VerkModule.forRoot({ redis, nodeId: 'secret' })] })
    class AppModule {}
    await assert.rejects(NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false }), (error: Error) => {
      assert.ok(!error.message.includes(SECRET), error.message);
      assert.match(error.message, /\*\*\*/);
      return true;
    });
  }
});

test('connection errors to Redis with a password URL: the engine\'s log lines and the health report say where, never the password', async () => {
  const port = await freePort();
  const logger = new MemoryLogger();
  const engine = new VerkEngine({ redis: `redis://app:${SECRET}@127.0.0.1:${port}/1`, nodeId: 'secret' }, { logger });
  try {
    await assert.rejects(engine.client.enqueue({ queue: 'default', class: 'Nothing' }));
    const warnings = await waitFor(() => {
      const lines = logger.lines.filter((line) => line.includes('Redis connection'));
      return lines.length > 0 ? lines : undefined;
    }, 'a connection error to be logged');
    for (const line of warnings) {
      assert.ok(!line.includes(SECRET), line);
      assert.ok(line.includes(`redis://app:***@127.0.0.1:${port}/1`), `the line names the server without its password: ${line}`);
    }
    const health = (await new VerkHealthIndicator(engine).checkRedis('redis', { timeout: 300 })).redis;
    assert.equal(health.status, 'down');
    assert.ok(!JSON.stringify(health).includes(SECRET), JSON.stringify(health));
    assert.ok(!logger.lines.join('\n').includes(SECRET));
  } finally {
    await engine.stop();
  }
});

test('the sample never prints REDIS_URL\'s password, also when REDIS_URL does not parse or does not answer', async () => {
  const port = await freePort();
  for (const url of [`redis://:${SECRET}@127.0.0.1:port`, `redis://user:${SECRET}@127.0.0.1:${port}`]) {
    const app = spawn(process.execPath, [join(root, 'dist', 'sample', 'main.js')], {
      cwd: root,
      env: { ...process.env, REDIS_URL: url, PORT: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    app.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    app.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => app.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => app.once('exit', resolve));
    clearTimeout(timer);
    assert.equal(code, 1, output);
    assert.match(output, /REDIS_URL/, output);
    assert.ok(output.includes('***'), output);
    assert.ok(!output.includes(SECRET), output);
  }
});
