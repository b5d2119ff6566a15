import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connect } from 'amqplib';
import { VerkBrokerError } from '../../lib/engine';
import { MemoryLogger } from '../helpers/engine';
import { rabbitmqctl, useRabbitVhost, rabbitTest } from '../helpers/rabbitmq';
import { rabbitClient, startRabbitEngine } from '../helpers/rabbit-engine';
import { sleep, waitFor } from '../helpers/wait';
import { WorkerProcess } from '../helpers/worker-process';

const ctx = useRabbitVhost();
const dir = mkdtempSync(join(tmpdir(), 'verk-rabbit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Ids a worker process recorded as `started` and `done` (test/fixtures/rabbit-worker-process.ts). */
function recorded(file: string): { started: string[]; done: string[] } {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
  return { started: lines.filter((l) => l.startsWith('started ')).map((l) => l.slice(8)), done: lines.filter((l) => l.startsWith('done ')).map((l) => l.slice(5)) };
}

function workerProcess(name: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  return WorkerProcess.start({ RABBIT_URL: ctx.vhost.url, NODE_ID: name, RECORD_FILE: join(dir, `${name}.log`), ...env }, 'rabbit-worker-process');
}

/** Empties a queue of the vhost, if it exists. */
async function purge(queue: string): Promise<void> {
  await rabbitmqctl('purge_queue', '-p', ctx.vhost.name, queue).catch((error: Error) => assert.match(error.message, /not_found/));
}

/** Errors a double or misplaced acknowledgement would cause (the broker closes the channel with 406). */
const ACK_ERRORS = /unknown delivery tag|PRECONDITION_FAILED/i;

test('kill -9 of a worker process mid-run: the broker redelivers its unacknowledged jobs, another node runs them (counted as recovered)', rabbitTest, async () => {
  const child = await workerProcess('doomed', { CONCURRENCY: '5', JOB_MS: '2000' });
  const client = rabbitClient(ctx.vhost.url, 'kill-client');
  const ids = Array.from({ length: 20 }, (_, i) => `k${i}`);
  await client.client.enqueueMany(ids.map((id) => ({ queue: 'default', class: 'Record', args: [id] })));
  const file = join(dir, 'doomed.log');
  await waitFor(() => recorded(file).started.length === 5, 'the child to start 5 jobs');
  child.kill('SIGKILL');
  await child.exited;
  const inFlight = recorded(file).started.filter((id) => !recorded(file).done.includes(id));
  assert.equal(inFlight.length, 5, 'the child died with 5 jobs running');
  const ran = new Set<string>();
  const survivor = await startRabbitEngine(ctx.vhost.url, { nodeId: 'survivor', queues: { default: 5 } }, { Record: { perform: (args) => void ran.add(String(args[0])) } });
  await waitFor(() => ids.every((id) => ran.has(id) || recorded(file).done.includes(id)), 'every job to have run', 30_000);
  for (const id of inFlight) assert.ok(ran.has(id), `job ${id}, running when its node died, ran again`);
  assert.ok(survivor.counters.recovered >= inFlight.length, `recovered ${survivor.counters.recovered} >= ${inFlight.length}`);
  await survivor.stop();
  await client.stop();
});

test('SIGTERM drains: running jobs finish and are acknowledged, the rest stay queued', rabbitTest, async () => {
  await purge('verk.queue.default');
  const child = await workerProcess('drained', { CONCURRENCY: '3', JOB_MS: '1500', SHUTDOWN_TIMEOUT: '20000' });
  const client = rabbitClient(ctx.vhost.url, 'term-client');
  await client.client.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ queue: 'default', class: 'Record', args: [`t${i}`] })));
  const file = join(dir, 'drained.log');
  await waitFor(() => recorded(file).started.length === 3, 'the child to start 3 jobs');
  child.kill('SIGTERM');
  const { code, signal } = await child.exited;
  // Nest re-raises the signal once its shutdown hooks ran.
  assert.ok(code === 0 || signal === 'SIGTERM', `exit code ${code}, signal ${signal}: ${child.output.join('')}`);
  const { started, done } = recorded(file);
  assert.deepEqual([...done].sort(), [...started].sort(), 'every job it started finished');
  assert.equal(started.length, 3, 'it took no job after SIGTERM');
  assert.equal(await ctx.vhost.ready('verk.queue.default'), 3, 'the other jobs wait in the queue (the finished ones were acknowledged)');
  await purge('verk.queue.default');
  await client.stop();
});

test('poison: a job that kills its worker every time is sent to dead once delivered more than maxRecoveries + 1 times (quorum delivery count)', rabbitTest, async () => {
  await purge('verk.queue.default');
  const client = rabbitClient(ctx.vhost.url, 'poison-client');
  const jid = await client.client.enqueue({ queue: 'default', class: 'Poison' });
  let starts = 0;
  while ((await client.deadCount()) === 0) {
    assert.ok(starts < 4, 'dead after at most 3 starts');
    starts++;
    let child: WorkerProcess;
    try {
      child = await workerProcess(`poisoned-${starts}`, { MAX_RECOVERIES: '1' });
    } catch (error) {
      // The job ran while the node was starting, and killed it.
      assert.match((error as Error).message, /exited before it was ready \(code null, signal SIGKILL\)/);
      continue;
    }
    await Promise.race([child.exited, waitFor(async () => (await client.deadCount()) === 1, 'the job in dead', 10_000).catch(() => undefined)]);
    if (child.running) {
      child.kill('SIGTERM');
      await child.exited;
    }
  }
  assert.equal(starts, 3, 'two deliveries killed a worker, the third went to dead');
  const connection = await connect(ctx.vhost.url);
  const channel = await connection.createChannel();
  const message = await channel.get('verk.dead', { noAck: true });
  await connection.close();
  assert.ok(message);
  const job = JSON.parse(message.content.toString()) as Record<string, unknown>;
  assert.equal(job.jid, jid);
  assert.equal(job.error_class, 'PoisonJobError');
  assert.match(String(job.error_message), /delivered 3 times/);
  await client.stop();
});

/** A node running `total` jobs of 100 ms, five at once, recording each run. */
async function busyNode(name: string, logger: MemoryLogger) {
  const runs = new Map<string, number>();
  const node = await startRabbitEngine(ctx.vhost.url, { nodeId: name, queues: { [name]: 5 }, confirmTimeout: 1000 }, {
    Slow: {
      perform: async (args) => {
        await sleep(100);
        runs.set(String(args[0]), (runs.get(String(args[0])) ?? 0) + 1);
      },
    },
  }, logger);
  return { node, runs };
}

test('connections force-closed by the broker mid-run: the node reconnects, re-declares, resumes; nothing lost, nothing acknowledged twice', rabbitTest, async () => {
  const logger = new MemoryLogger();
  const { node, runs } = await busyNode('cut', logger);
  const ids = Array.from({ length: 100 }, (_, i) => `c${i}`);
  await node.client.enqueueMany(ids.map((id) => ({ queue: 'cut', class: 'Slow', args: [id] })));
  await waitFor(() => runs.size >= 20, '20 jobs done');
  await ctx.vhost.closeConnections();
  await waitFor(() => logger.lines.some((line) => /connection verk:cut lost/.test(line)), 'the loss to be noticed');
  // Enqueued during the outage: waits for the reconnect (confirmTimeout 1 s may not be enough on a slow machine: retried).
  const late = Array.from({ length: 10 }, (_, i) => `late${i}`);
  for (let attempt = 0; ; attempt++) {
    try {
      await node.client.enqueueMany(late.map((id) => ({ queue: 'cut', class: 'Slow', args: [id] })));
      break;
    } catch (error) {
      assert.ok(error instanceof VerkBrokerError && attempt < 20, String(error));
    }
  }
  await waitFor(() => [...ids, ...late].every((id) => runs.has(id)), 'every job to run', 60_000);
  assert.ok(logger.lines.some((line) => /restored/.test(line)), 'reconnected');
  assert.ok(!logger.lines.some((line) => ACK_ERRORS.test(line)), logger.lines.filter((line) => ACK_ERRORS.test(line)).join('\n'));
  assert.ok(node.counters.recovered >= 1, 'the jobs running at the cut were redelivered');
  await waitFor(async () => (await ctx.vhost.ready('verk.queue.cut')) === 0 && node.health().queues.cut.busy === 0, 'the queue to drain');
  assert.equal(node.health().state, 'running');
  await node.stop();
});

test('the broker app stopped and started mid-run: enqueues fail fast while it is away, then every job runs', rabbitTest, async () => {
  const logger = new MemoryLogger();
  const { node, runs } = await busyNode('restart', logger);
  const ids = Array.from({ length: 60 }, (_, i) => `r${i}`);
  await node.client.enqueueMany(ids.map((id) => ({ queue: 'restart', class: 'Slow', args: [id] })));
  await waitFor(() => runs.size >= 10, '10 jobs done');
  await rabbitmqctl('stop_app');
  try {
    await assert.rejects(node.client.enqueue({ queue: 'restart', class: 'Slow', args: ['lost?'] }), VerkBrokerError, 'an enqueue while the broker is away is an error, not a silent drop');
    await assert.rejects(node.ping(500), VerkBrokerError);
  } finally {
    await rabbitmqctl('start_app');
  }
  await waitFor(() => ids.every((id) => runs.has(id)), 'every job to run after the restart', 90_000);
  assert.ok(!logger.lines.some((line) => ACK_ERRORS.test(line)));
  assert.ok((await node.ping(5000)) >= 0);
  await node.stop();
});

test('acknowledgements sent together never cover a job still running: cut mid-run, the running job is redelivered, the finished ones are not', rabbitTest, async () => {
  const runs = new Map<string, number>();
  const logger = new MemoryLogger();
  const node = await startRabbitEngine(ctx.vhost.url, { nodeId: 'acks', queues: { acks: 3 } }, {
    Job: {
      perform: async (args) => {
        const id = String(args[0]);
        runs.set(id, (runs.get(id) ?? 0) + 1);
        if (id === 'slow' && runs.get(id) === 1) await sleep(4000);
      },
    },
  }, logger);
  // The slow job has the lowest delivery tag; twenty quick ones finish after it started.
  await node.client.enqueue({ queue: 'acks', class: 'Job', args: ['slow'] });
  await node.client.enqueueMany(Array.from({ length: 20 }, (_, i) => ({ queue: 'acks', class: 'Job', args: [`quick${i}`] })));
  await waitFor(() => runs.size === 21, 'every job to have started');
  await ctx.vhost.closeConnections();
  await waitFor(() => runs.get('slow') === 2, 'the slow job, unacknowledged at the cut, to run again');
  for (let i = 0; i < 20; i++) assert.equal(runs.get(`quick${i}`), 1, `quick${i} was acknowledged once, before the cut`);
  assert.ok(!logger.lines.some((line) => ACK_ERRORS.test(line)));
  await node.stop();
});
