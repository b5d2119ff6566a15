import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import Redis from 'ioredis';
import { VerkEngine, type VerkOptions, type WorkerHandler } from '../../lib/engine';
import { MemoryLogger, startEngine } from '../helpers/engine';
import { RedisServer } from '../helpers/redis-server';
import { makeTlsFiles, removeTls, type TlsFiles } from '../helpers/tls-certs';
import { sleep, waitFor } from '../helpers/wait';
import { WorkerProcess } from '../helpers/worker-process';

/*
 * The engine on a TLS-only redis-server (`--port 0 --tls-port …`, a throwaway CA made with
 * openssl): every connection the engine opens (engine, client, blocking per queue,
 * subscriber, health, tracked-job subscriber) must keep TLS, since a plain one could not
 * even connect here. The CA is given as ioredis `tls: { ca }`, or to a child process
 * through NODE_EXTRA_CA_CERTS with a bare `rediss://` URL.
 */

let tls: TlsFiles;
let server: RedisServer;
let inspect: Redis;

before(async () => {
  tls = makeTlsFiles();
  server = await RedisServer.start({ tls });
  inspect = new Redis({ ...server.connectOptions, maxRetriesPerRequest: 3 });
  inspect.on('error', () => undefined);
});
beforeEach(async () => {
  await inspect.flushall();
});
after(async () => {
  inspect?.disconnect();
  await server?.cleanup();
  removeTls(tls);
});

function options(extra: VerkOptions = {}): VerkOptions {
  return { redis: { ...server.connectOptions }, pollInterval: 50, ...extra };
}

test('TLS: the server really refuses plain connections (the premise of every test here)', async () => {
  const plain = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  plain.on('error', () => undefined);
  try {
    await assert.rejects(async () => {
      await plain.connect();
      await plain.ping();
    });
  } finally {
    plain.disconnect();
  }
  assert.equal(await inspect.ping(), 'PONG');
});

test('TLS: jobs run once, retry then dead, pause/resume over pub/sub, a wake-up interrupts the blocking fetch, health and tracked events', async () => {
  const ran: string[] = [];
  const record: WorkerHandler = { perform: (args) => void ran.push(String(args[0])) };
  const engine = await startEngine(options({ queues: { work: 2 }, history: true }), {
    Step: record,
    Fails: { perform: () => Promise.reject(new Error('always')), retryAt: (failedAt: number) => failedAt },
  });
  const events: string[] = [];
  try {
    assert.ok((await engine.ping()) >= 0, 'the health connection pings over TLS');
    engine.subscribe((event) => void events.push(`${event.jid}:${event.event}`));
    await engine.subscribed();

    await engine.client.enqueueMany(Array.from({ length: 50 }, (_, i) => ({ queue: 'work', class: 'Step', args: [`job-${i}`] })));
    await waitFor(() => ran.length === 50, 'the 50 jobs', 30_000);
    assert.equal(new Set(ran).size, 50, 'each job ran once');

    await engine.client.enqueue({ queue: 'work', class: 'Fails', maxRetryCount: 1 });
    await waitFor(async () => (await inspect.zcard('dead')) === 1, 'the failing job dead after one retry', 30_000);
    assert.equal((JSON.parse(String((await inspect.zrange('dead', '0', '0'))[0])) as { error_message: string }).error_message, 'always');

    // Pause and resume reach the node through its subscriber connection.
    await engine.pauseQueue('work');
    await sleep(200);
    ran.length = 0;
    await engine.client.enqueue({ queue: 'work', class: 'Step', args: ['while-paused'] });
    await sleep(400);
    assert.equal(ran.length, 0, 'nothing runs while paused');
    await engine.resumeQueue('work');
    await waitFor(() => ran.includes('while-paused'), 'the job after resume', 30_000);

    // The node now blocks in BLMOVE on the empty queue: a prioritized job wakes it
    // (SUBSCRIBE message, then CLIENT UNBLOCK of the blocking connection's id).
    await sleep(300);
    const unblocksBefore = await unblockCalls();
    const tracked = await engine.client.enqueue({ queue: 'work', class: 'Step', args: ['urgent'], priority: 5, track: true });
    await waitFor(() => ran.includes('urgent'), 'the prioritized job', 30_000);
    assert.ok((await unblockCalls()) > unblocksBefore, 'the wake-up sent CLIENT UNBLOCK');
    await waitFor(() => events.includes(`${tracked}:finished`), 'the tracked job\'s finished event over TLS pub/sub', 30_000);
  } finally {
    await engine.stop();
  }
});

/** Calls of CLIENT UNBLOCK the server counted so far. */
async function unblockCalls(): Promise<number> {
  const stats = await inspect.info('commandstats');
  return Number(/cmdstat_client\|unblock:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

test('TLS: an ioredis Redis made by the application with rediss:// and tls.ca is copied with its TLS settings', async () => {
  const own = new Redis(server.url, { tls: { ca: tls.ca }, lazyConnect: true });
  const ran: string[] = [];
  const engine = await startEngine({ redis: own, queues: { q: 1 }, pollInterval: 50 }, { Step: { perform: (args) => void ran.push(String(args[0])) } });
  try {
    await engine.client.enqueue({ queue: 'q', class: 'Step', args: ['one'] });
    await waitFor(() => ran.includes('one'), 'the job', 30_000);
  } finally {
    await engine.stop();
    own.disconnect();
  }
});

test('TLS: a server certificate the client does not trust is reported as such (log, ping), never as a silent hang', async () => {
  const logger = new MemoryLogger();
  const other = makeTlsFiles('other');
  const engine = new VerkEngine({ nodeId: 'untrusting', redis: { ...server.connectOptions, tls: { ca: other.ca } }, queues: {}, pollInterval: 50 }, { logger });
  // start() waits for Redis (a network outage ends), so it is stopped once the log has said why.
  const started = engine.start().then(
    () => undefined,
    (error: unknown) => error,
  );
  try {
    await waitFor(() => logger.lines.some((line) => /certificate/i.test(line)), `a warning about the certificate, got:\n${logger.lines.join('\n')}`, 10_000);
    const warning = logger.lines.find((line) => /certificate/i.test(line)) ?? '';
    assert.match(warning, /^warn Redis connection verk:untrusting:\S+ to .*127\.0\.0\.1/);
    await assert.rejects(engine.ping(2000), /certificate/i, 'the health check says why');
  } finally {
    await engine.stop();
    await started;
    removeTls(other);
  }
});

test('TLS: a Nest worker process with REDIS_URL=rediss://… trusts the CA through NODE_EXTRA_CA_CERTS', async () => {
  const worker = await WorkerProcess.start({ REDIS_URL: server.url, NODE_EXTRA_CA_CERTS: tls.caFile, NODE_ID: 'tls-child' });
  try {
    const engine = await startEngine(options({ queues: {} }));
    try {
      await engine.client.enqueueMany([1, 2, 3].map((n) => ({ queue: 'default', class: 'Record', args: [`c${n}`] })));
    } finally {
      await engine.stop();
    }
    await waitFor(async () => (await inspect.llen('test:done')) === 3, 'the child\'s 3 jobs', 30_000);
    assert.deepEqual((await inspect.lrange('test:done', 0, -1)).sort(), ['c1', 'c2', 'c3']);
  } finally {
    worker.kill('SIGTERM');
    await worker.exited;
  }
});
