import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'amqplib';
import { VerkBrokerError, VerkRabbitEngine, VerkStateError } from '../../lib/engine';
import { MemoryLogger } from '../helpers/engine';
import { rabbitmqctl, rabbitTest, useRabbitVhost } from '../helpers/rabbitmq';
import { freePort } from '../helpers/redis-server';
import { waitFor } from '../helpers/wait';

/*
 * start() of a RabbitMQ node whose broker is unreachable, and stop() called while start()
 * is under way (a Nest app that gets SIGTERM during its bootstrap; a test that tears down
 * at once): start() must settle, stop() must return, and nothing of the node may be left
 * connecting, connected or ticking (the process exits by itself). The Redis engine's
 * counterpart is start-stop.test.ts.
 */

const ctx = useRabbitVhost();

/** Resolves with the promise's outcome, or 'pending' if it has not settled within ms. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<{ ok: T } | { error: unknown } | 'pending'> {
  return Promise.race([promise.then((ok) => ({ ok }), (error: unknown) => ({ error })), sleep(ms).then(() => 'pending' as const)]);
}

/** The error a settled outcome holds (fails the test when it resolved or is still pending). */
function rejection(outcome: Awaited<ReturnType<typeof settledWithin>>, what: string): unknown {
  assert.notEqual(outcome, 'pending', `${what} settled`);
  assert.ok(typeof outcome === 'object' && 'error' in outcome, `${what} rejected, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

/**
 * A TCP server that accepts AMQP connections and never answers the handshake (a broker that
 * hangs, a proxy in front of a dead one): a client waits on it as long as it lets itself.
 * Counts the connections it got and knows which the client still holds open.
 */
class SilentBroker {
  accepted = 0;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<SilentBroker> {
    const port = await freePort();
    const server = createServer();
    const broker = new SilentBroker(server, port);
    server.on('connection', (socket) => {
      broker.accepted++;
      broker.sockets.add(socket);
      socket.on('error', () => undefined);
      // Reads (and drops) the protocol header: a paused socket would never see the client close.
      socket.resume();
      socket.on('close', () => broker.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return broker;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  /** Connections the client has not closed. */
  get open(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Runs a node in a child process: start() against `url`, stop() after `stopAfter` ms (never
 * when undefined), prints both outcomes and the state, and does NOT call process.exit: the
 * child only ends if nothing of the node (socket, reconnect timer) is left alive.
 */
async function childNode(url: string, stopAfter: number | undefined, ms: number): Promise<{ exited: boolean; report?: { start: string; stop?: string; state: string } }> {
  const engine = join(__dirname, '..', '..', 'lib', 'engine');
  const script = `
    const { VerkRabbitEngine } = require(${JSON.stringify(engine)});
    const node = new VerkRabbitEngine({ nodeId: 'child', queues: { default: 1 }, broker: { rabbitmq: ${JSON.stringify(url)}, confirmTimeout: 1000 } }, { logger: { log() {}, warn() {}, error() {} } });
    const outcome = (promise) => promise.then(() => 'resolved', (error) => error.name + ': ' + error.message);
    const starting = outcome(node.start());
    (async () => {
      let stop;
      if (${JSON.stringify(stopAfter ?? null)} !== null) {
        await new Promise((resolve) => setTimeout(resolve, ${JSON.stringify(stopAfter ?? 0)}));
        stop = await outcome(node.stop());
      }
      const start = await starting;
      console.log(JSON.stringify({ start, stop, state: node.health().state }));
    })();
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<boolean>((resolve) => child.on('exit', () => resolve(true)));
  const result = await Promise.race([exited, sleep(ms).then(() => false)]);
  if (!result) {
    child.kill('SIGKILL');
    await exited;
  }
  const line = out.trim().split('\n').find((l) => l.startsWith('{'));
  return { exited: result, report: line ? (JSON.parse(line) as { start: string; stop?: string; state: string }) : undefined };
}

test('start() against a closed port rejects at once with a VerkBrokerError, and nothing keeps the process alive', async () => {
  const port = await freePort();
  const logger = new MemoryLogger();
  const engine = new VerkRabbitEngine({ nodeId: 'refused', queues: { default: 1 }, broker: { rabbitmq: `amqp://guest:guest@127.0.0.1:${port}` } }, { logger });
  const error = rejection(await settledWithin(engine.start(), 3000), 'start()');
  assert.ok(error instanceof VerkBrokerError, `a VerkBrokerError, got ${String(error)}`);
  assert.match(error.message, /Could not connect to RabbitMQ: .*ECONNREFUSED/);
  assert.equal(engine.health().state, 'stopped');
  assert.notEqual(await settledWithin(engine.stop(), 3000), 'pending', 'stop() returned');
  // No retry behind the rejection: the log stays quiet.
  const lines = logger.lines.length;
  await sleep(1000);
  assert.equal(logger.lines.length, lines, `nothing logged after the rejection: ${logger.lines.slice(lines).join(' | ')}`);

  const child = await childNode(`amqp://guest:guest@127.0.0.1:${port}`, 300, 5000);
  assert.ok(child.exited, 'the child process exited by itself');
  assert.match(child.report?.start ?? '', /^VerkBrokerError: Could not connect to RabbitMQ/);
  assert.equal(child.report?.state, 'stopped');
});

test('stop() while start() waits on a broker that never answers: start() rejects with VerkStateError, stop() returns, the connection attempt ends', async () => {
  const broker = await SilentBroker.start();
  try {
    const engine = new VerkRabbitEngine({ nodeId: 'silent', queues: { default: 1 }, broker: { rabbitmq: broker.url } }, { logger: new MemoryLogger() });
    // Its outcome is taken at once (as Nest's bootstrap awaits it), read after stop().
    const starting = settledWithin(engine.start(), 5000);
    await sleep(300);
    assert.equal(broker.accepted, 1, 'start() is connecting');
    assert.notEqual(await settledWithin(engine.stop(), 3000), 'pending', 'stop() returned');
    const error = rejection(await starting, 'start()');
    assert.ok(error instanceof VerkStateError, `a VerkStateError, got ${String(error)}`);
    assert.match(error.message, /^Verk node silent was stopped while it was starting/);
    assert.equal(engine.health().state, 'stopped');
    // The half-open connection is given up at once, and no attempt follows.
    const deadline = Date.now() + 1000;
    while (broker.open > 0 && Date.now() < deadline) await sleep(20);
    assert.equal(broker.open, 0, 'the client closed its connection attempt');
    await sleep(2000);
    assert.equal(broker.accepted, 1, 'no connection attempt after stop()');

    const child = await childNode(broker.url, 300, 5000);
    assert.ok(child.exited, 'the child process exited by itself after stop()');
    assert.match(child.report?.start ?? '', /^VerkStateError: Verk node child was stopped while it was starting/);
    assert.equal(child.report?.stop, 'resolved');
    assert.equal(child.report?.state, 'stopped');
  } finally {
    await broker.close();
  }
});

test('start() against a broker that never answers, never stopped: rejects with a VerkBrokerError after confirmTimeout', async () => {
  const broker = await SilentBroker.start();
  try {
    const engine = new VerkRabbitEngine({ nodeId: 'hung', queues: { default: 1 }, broker: { rabbitmq: broker.url, confirmTimeout: 1000 } }, { logger: new MemoryLogger() });
    const started = Date.now();
    const error = rejection(await settledWithin(engine.start(), 4000), 'start()');
    assert.ok(error instanceof VerkBrokerError, `a VerkBrokerError, got ${String(error)}`);
    assert.match(error.message, /Could not connect to RabbitMQ: no answer within 1000 ms/);
    assert.ok(Date.now() - started >= 900, `waited the bound (${Date.now() - started} ms)`);
    assert.equal(engine.health().state, 'stopped');
    const deadline = Date.now() + 1000;
    while (broker.open > 0 && Date.now() < deadline) await sleep(20);
    assert.equal(broker.open, 0, 'the client closed the connection it gave up on');

    const child = await childNode(broker.url, undefined, 5000);
    assert.ok(child.exited, 'the child process exited by itself after start() rejected');
    assert.match(child.report?.start ?? '', /^VerkBrokerError: Could not connect to RabbitMQ: no answer within 1000 ms/);
    assert.equal(child.report?.state, 'stopped');
  } finally {
    await broker.close();
  }
});

test('stop() 0 to 120 ms after start() on the real broker: start() resolves or rejects with VerkStateError, no consumer or connection survives', rabbitTest, async () => {
  let cutShort = 0;
  for (const delay of [0, 5, 15, 30, 60, 120]) {
    const nodeId = `racer-${delay}`;
    const engine = new VerkRabbitEngine({ nodeId, queues: { a: 2, b: 2 }, shutdownTimeout: 1000, broker: { rabbitmq: ctx.vhost.url } }, { logger: new MemoryLogger() });
    const starting = engine.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    await sleep(delay);
    assert.notEqual(await settledWithin(engine.stop(), 5000), 'pending', `stop() returned (delay ${delay})`);
    const outcome = await settledWithin(starting, 1000);
    assert.notEqual(outcome, 'pending', `start() settled after stop() (delay ${delay})`);
    const error = (outcome as { ok: unknown }).ok;
    // Either start() won the race (then stop() stopped a running node) or it was cut short.
    if (error !== undefined) {
      assert.ok(error instanceof VerkStateError, `start() rejected with ${String(error)} (delay ${delay})`);
      assert.match(error.message, /stopped while it was starting/);
      cutShort++;
    }
    assert.equal(engine.health().state, 'stopped', `state after stop() (delay ${delay})`);
    assert.deepEqual(engine.queues(), {}, `no consumer left (delay ${delay})`);
    await sleep(300);
    assert.deepEqual((await ctx.vhost.connectionNames()).filter((name) => name === `verk:${nodeId}`), [], `no connection of node ${nodeId} left open`);
  }
  assert.ok(cutShort > 0, 'at least one stop() came while start() was under way');
});

test('stop() once start() is connected and declaring topology on the real broker: start() rejects with VerkStateError, nothing survives', rabbitTest, async () => {
  for (const after of [0, 10, 25]) {
    const nodeId = `connected-${after}`;
    const engine = new VerkRabbitEngine({ nodeId, queues: { a: 2, b: 2 }, shutdownTimeout: 1000, broker: { rabbitmq: ctx.vhost.url } }, { logger: new MemoryLogger() });
    const starting = settledWithin(engine.start(), 10_000);
    // health()'s lastHeartbeatAt turns non-zero once the AMQP connection is up, before its
    // setups (topology, control, consumers) have run: then start() is half way.
    while (engine.health().lastHeartbeatAt === 0 && engine.health().state === 'starting') await new Promise((resolve) => setImmediate(resolve));
    if (after > 0) await sleep(after);
    assert.equal(engine.health().state, 'starting', `start() still under way ${after} ms after connecting`);
    assert.notEqual(await settledWithin(engine.stop(), 5000), 'pending', `stop() returned (${after} ms after connecting)`);
    const error = rejection(await starting, 'start()');
    assert.ok(error instanceof VerkStateError, `a VerkStateError, got ${String(error)}`);
    assert.match(error.message, new RegExp(`^Verk node ${nodeId} was stopped while it was starting`));
    assert.equal(engine.health().state, 'stopped');
    assert.deepEqual(engine.queues(), {}, 'no consumer left');
    await sleep(300);
    assert.deepEqual((await ctx.vhost.connectionNames()).filter((name) => name === `verk:${nodeId}`), [], `no connection of node ${nodeId} left open`);
  }
});

test('two addQueue calls of one queue at once on the real broker: one starts it, the other is refused; a single consumer', rabbitTest, async () => {
  const engine = new VerkRabbitEngine({ nodeId: 'adder', queues: { a: 1 }, shutdownTimeout: 1000, broker: { rabbitmq: ctx.vhost.url } }, { logger: new MemoryLogger() });
  await engine.start();
  try {
    const outcomes = await Promise.all([engine.addQueue('late', 2), engine.addQueue('late', 2)].map((adding) => adding.then(() => 'added', (error: unknown) => error)));
    assert.equal(outcomes.filter((outcome) => outcome === 'added').length, 1, `one addQueue started the queue (${outcomes.map(String).join(', ')})`);
    const refused = outcomes.find((outcome) => outcome !== 'added');
    assert.ok(refused instanceof VerkStateError && /already running/.test(refused.message), `the other was refused: ${String(refused)}`);
    assert.deepEqual(engine.queues(), { a: 1, late: 2 });
    // The broker's count lags a little behind the consume: wait for it, then check it stays 1.
    await waitFor(async () => (await ctx.vhost.consumers('verk.queue.late')) > 0, 'the consumer on verk.queue.late');
    await sleep(1500);
    assert.equal(await ctx.vhost.consumers('verk.queue.late'), 1, 'one consumer on the queue');
  } finally {
    await engine.stop();
  }
});

test('an addQueue whose consumer cannot start (its queue exists with other arguments) leaves no consumer behind: the queue is not reported as running and can be added once the clash is gone', rabbitTest, async () => {
  // A classic verk.queue.clash declared by someone else: the node's quorum declare fails (PRECONDITION_FAILED).
  const other = await connect(ctx.vhost.url);
  const channel = await other.createChannel();
  await channel.assertQueue('verk.queue.clash', { durable: true, arguments: { 'x-queue-type': 'classic' } });
  const engine = new VerkRabbitEngine({ nodeId: 'clasher', queues: { a: 1 }, shutdownTimeout: 1000, broker: { rabbitmq: ctx.vhost.url } }, { logger: new MemoryLogger() });
  await engine.start();
  try {
    await assert.rejects(engine.addQueue('clash', 1), /clash/);
    assert.deepEqual(engine.queues(), { a: 1 }, 'the failed queue is not reported as running');
    assert.deepEqual(Object.keys(engine.health().queues), ['a'], 'nor in health()');
    await channel.deleteQueue('verk.queue.clash');
    await engine.addQueue('clash', 1);
    assert.deepEqual(engine.queues(), { a: 1, clash: 1 });
    await waitFor(async () => (await ctx.vhost.consumers('verk.queue.clash')) > 0, 'the consumer on verk.queue.clash');
  } finally {
    await engine.stop();
    await other.close();
  }
});

/** Open channels of the test's vhost now (rabbitmqctl list_channels). */
async function channelsOfVhost(): Promise<number> {
  const out = await rabbitmqctl('list_channels', 'vhost');
  return out.split('\n').filter((line) => line.trim() === ctx.vhost.name).length;
}

test('removeQueue while addQueue is opening the queue\'s channel: the channel opened after the remove is closed, none is left on the connection', rabbitTest, async () => {
  const engine = new VerkRabbitEngine({ nodeId: 'remover', queues: { a: 1 }, shutdownTimeout: 1000, broker: { rabbitmq: ctx.vhost.url } }, { logger: new MemoryLogger() });
  await engine.start();
  try {
    await sleep(300);
    const before = await channelsOfVhost();
    const adding = engine.addQueue('late', 1);
    // The consumer is registered before its channel opens: remove it in that window.
    while (!('late' in engine.queues())) await new Promise<void>((resolve) => setImmediate(resolve));
    await engine.removeQueue('late');
    await adding;
    await sleep(500);
    assert.equal(await channelsOfVhost(), before, `channels of the vhost: ${before} before addQueue, the same after its removal`);
  } finally {
    await engine.stop();
  }
});

test('a start() that fails on its second queue stops the consumer of the first: no queue reported running, no consumer left on the broker', rabbitTest, async () => {
  // A classic verk.queue.taken declared by someone else: the node's quorum declare of it fails.
  const other = await connect(ctx.vhost.url);
  const channel = await other.createChannel();
  await channel.assertQueue('verk.queue.taken', { durable: true, arguments: { 'x-queue-type': 'classic' } });
  const engine = new VerkRabbitEngine({ nodeId: 'half-started', queues: { first: 1, taken: 1 }, shutdownTimeout: 1000, broker: { rabbitmq: ctx.vhost.url } }, { logger: new MemoryLogger() });
  try {
    await assert.rejects(engine.start(), /taken/);
    assert.deepEqual(engine.queues(), {}, 'no queue reported running');
    assert.equal(engine.health().state, 'stopped');
    await sleep(1500);
    assert.equal(await ctx.vhost.consumers('verk.queue.first'), 0, 'no consumer left on verk.queue.first');
  } finally {
    await engine.stop();
    await channel.deleteQueue('verk.queue.taken');
    await other.close();
  }
});
