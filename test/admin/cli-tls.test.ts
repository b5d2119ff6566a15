import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { VerkEngine } from '../../lib/engine';
import { registerCliWorkers, runVerk } from '../helpers/cli';
import { MemoryLogger } from '../helpers/engine';
import { RedisServer } from '../helpers/redis-server';
import { makeTlsFiles, removeTls, type TlsFiles } from '../helpers/tls-certs';
import { waitFor } from '../helpers/wait';

/*
 * The `verk` bin (a child process) against a TLS-only redis-server: `--redis rediss://…`
 * (or $REDIS_URL) with the private CA trusted through NODE_EXTRA_CA_CERTS, as an operator
 * of a managed Redis with its own CA runs it. The TLS cluster's CLI tests are in
 * test/cluster/redis-cluster-tls.test.ts.
 */

let tls: TlsFiles;
let server: RedisServer;
let engine: VerkEngine;
const ran: string[] = [];

before(async () => {
  tls = makeTlsFiles();
  server = await RedisServer.start({ tls });
  engine = new VerkEngine({ redis: { ...server.connectOptions }, nodeId: 'cli-tls-node', queues: { default: 2, mail: 1 }, pollInterval: 50 }, { logger: new MemoryLogger() });
  registerCliWorkers(engine, ran, () => true);
  await engine.start();
  for (const n of [1, 2, 3]) await engine.client.enqueue({ queue: 'default', class: 'Ok', args: [n] });
  await engine.client.enqueue({ queue: 'mail', class: 'Boom', args: ['a'], retry: false });
  await waitFor(async () => (await engine.admin.stats()).dead === 1 && (await engine.admin.stats()).processed === 3, 'the 4 jobs to run', 30_000);
});

after(async () => {
  await engine?.stop();
  await server?.cleanup();
  removeTls(tls);
});

test('verk --redis rediss://… stats --json over TLS, the CA from NODE_EXTRA_CA_CERTS; $REDIS_URL and --tls alike', async () => {
  const env = { NODE_EXTRA_CA_CERTS: tls.caFile };
  const result = await runVerk(['--redis', server.url, 'stats', '--json'], env);
  assert.equal(result.code, 0, result.stderr);
  const stats = JSON.parse(result.stdout) as { processed: number; dead: number; queues: { name: string }[] };
  assert.deepEqual([stats.processed, stats.dead], [3, 1]);
  assert.deepEqual(stats.queues.map((queue) => queue.name).sort(), ['default', 'mail']);

  const fromEnv = await runVerk(['stats', '--json', '--tls'], { ...env, REDIS_URL: server.url });
  assert.equal(fromEnv.code, 0, fromEnv.stderr);
  assert.equal((JSON.parse(fromEnv.stdout) as { processed: number }).processed, 3);
});

test('verk over TLS: a server certificate the client does not trust exits 1 saying so, in seconds', async () => {
  const started = Date.now();
  const untrusted = await runVerk(['--redis', server.url, 'stats'], {}, 20_000);
  assert.equal(untrusted.code, 1, untrusted.stderr);
  assert.match(untrusted.stderr, new RegExp(`^verk: cannot reach Redis at rediss://127\\.0\\.0\\.1:${server.port}: .*certificate`, 'i'));
  assert.ok(Date.now() - started < 15_000, 'no hang');
});

test('verk: plain redis:// to a TLS-only server exits 1; --tls with a redis:// URL is a usage error (exit 2)', async () => {
  const plain = await runVerk(['--redis', `redis://127.0.0.1:${server.port}`, 'stats'], { NODE_EXTRA_CA_CERTS: tls.caFile }, 20_000);
  assert.equal(plain.code, 1, plain.stderr);
  assert.match(plain.stderr, /^verk: cannot reach Redis at redis:\/\/127\.0\.0\.1:/);
  const mixed = await runVerk(['--redis', `redis://:s3cret@127.0.0.1:${server.port}`, '--tls', 'stats']);
  assert.equal(mixed.code, 2, mixed.stderr);
  assert.match(mixed.stderr, /^verk: --tls with --redis redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: for TLS to one Redis write the URL as rediss:\/\//);
  assert.doesNotMatch(mixed.stderr, /s3cret/);
});
