import assert from 'node:assert/strict';
import { test } from 'node:test';
import { currentJob, type JobFailed, type VerkEvent, VerkBrokerError } from '../../lib/engine';
import { rabbitmqctl, useRabbitVhost, rabbitTest } from '../helpers/rabbitmq';
import { rabbitClient, startRabbitEngine } from '../helpers/rabbit-engine';
import { MemoryLogger } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';

const ctx = useRabbitVhost();
/** One dead-queue bound for the file: verk.dead is declared with it (x-max-length). */
const maxDeadJobs = 3;

test('1,000 jobs on two nodes: each runs exactly once, and neither node runs more than its concurrency at once', rabbitTest, async () => {
  const runs = new Map<number, number>();
  const make = (name: string, limit: number) => {
    let running = 0;
    const node = { max: 0 };
    const handler = {
      perform: async (args: unknown[]) => {
        running++;
        node.max = Math.max(node.max, running);
        if (running > limit) throw new Error(`${name} ran ${running} jobs at once`);
        await sleep(Math.random() * 4);
        runs.set(args[0] as number, (runs.get(args[0] as number) ?? 0) + 1);
        running--;
      },
    };
    return { node, handler };
  };
  const a = make('a', 4);
  const b = make('b', 7);
  const nodeA = await startRabbitEngine(ctx.vhost.url, { nodeId: 'a', queues: { bulk: 4 }, maxDeadJobs }, { Count: a.handler });
  const nodeB = await startRabbitEngine(ctx.vhost.url, { nodeId: 'b', queues: { bulk: 7 }, maxDeadJobs }, { Count: b.handler });
  const client = rabbitClient(ctx.vhost.url);
  for (let i = 0; i < 1000; i += 250) await client.client.enqueueMany(Array.from({ length: 250 }, (_, k) => ({ queue: 'bulk', class: 'Count', args: [i + k] })));
  await waitFor(() => runs.size === 1000, '1,000 jobs to run', 60_000);
  await sleep(300);
  assert.equal([...runs.values()].filter((count) => count !== 1).length, 0, 'every job ran exactly once');
  assert.ok(a.node.max <= 4 && b.node.max <= 7, `concurrency held: a ${a.node.max}/4, b ${b.node.max}/7`);
  assert.ok(a.node.max > 0 && b.node.max > 0, 'both nodes took jobs');
  assert.equal(nodeA.counters.processed + nodeB.counters.processed, 1000);
  assert.equal(nodeA.counters.failed + nodeB.counters.failed, 0);
  await Promise.all([nodeA.stop(), nodeB.stop(), client.stop()]);
});

test('a failing job walks its retries (retry_count, backoff from retryAt) into dead; retryDead brings it back', rabbitTest, async () => {
  let attempts = 0;
  const failures: JobFailed[] = [];
  const node = await startRabbitEngine(
    ctx.vhost.url,
    { nodeId: 'retry', queues: { flaky: 2 }, maxRetryCount: 2, maxDeadJobs },
    {
      Flaky: {
        perform: () => {
          attempts++;
          if (attempts <= 3) throw new TypeError(`attempt ${attempts} failed`);
        },
        // One second later: the ladder's unit.
        retryAt: (failedAt) => failedAt + 1,
      },
    },
  );
  node.events.subscribe((event: VerkEvent) => void (event.type === 'JobFailed' && failures.push(event)));
  const jid = await node.client.enqueue({ queue: 'flaky', class: 'Flaky', args: ['x'] });
  await waitFor(() => failures.length === 3, 'three failures', 20_000);
  assert.deepEqual(failures.map((failure) => failure.job.retry_count), [1, 2, 3]);
  assert.deepEqual(failures.map((failure) => failure.dead), [false, false, true], 'two retries, then dead');
  assert.equal(failures[2].job.error_class, 'TypeError');
  assert.equal(typeof failures[0].job.failed_at, 'number');
  assert.equal(failures[0].job.retried_at, undefined);
  assert.equal(typeof failures[1].job.retried_at, 'number', 'later failures keep failed_at and set retried_at');
  assert.equal(failures[1].job.failed_at, failures[0].job.failed_at);
  assert.ok(failures[0].retryAt && Math.abs(failures[0].retryAt.getTime() - (failures[0].job.failed_at as number) * 1000 - 1000) < 5, 'retryAt from the worker');
  assert.equal(failures[2].job.jid, jid);
  await waitFor(async () => (await node.deadCount()) === 1, 'the job in verk.dead');
  assert.equal(node.counters.retried, 2);
  assert.equal(node.counters.dead, 1);
  assert.equal(await node.retryDead(5), 1, 'one dead job to retry');
  await waitFor(() => attempts === 4 && node.counters.processed === 1, 'the retried job to succeed');
  assert.equal(await node.deadCount(), 0);
  await node.stop();
});

test('dead is bounded by maxDeadJobs (the oldest dropped) and clearDead empties it; a node with another bound keeps the queue bound and warns', rabbitTest, async () => {
  const deadArgs: unknown[] = [];
  const node = await startRabbitEngine(ctx.vhost.url, { nodeId: 'dead', queues: { doomed: 1 }, maxDeadJobs }, { Doomed: { perform: () => Promise.reject(new Error('no')) } });
  node.events.subscribe((event) => void (event.type === 'JobFailed' && event.dead && deadArgs.push(event.job.args[0])));
  for (let i = 0; i < 5; i++) await node.client.enqueue({ queue: 'doomed', class: 'Doomed', args: [i], retry: false });
  await waitFor(() => node.counters.dead === 5, 'five jobs dead');
  await waitFor(async () => (await node.deadCount()) === maxDeadJobs, `dead bounded at ${maxDeadJobs}`);
  // Retried: the three kept are the newest, and they die again.
  assert.equal(await node.retryDead(10), maxDeadJobs);
  await waitFor(() => node.counters.dead === 5 + maxDeadJobs, 'the retried jobs dead again');
  assert.deepEqual(deadArgs.slice(5).sort(), [2, 3, 4]);
  await waitFor(async () => (await node.deadCount()) === maxDeadJobs, 'dead full again');
  assert.equal(await node.clearDead(), maxDeadJobs);
  assert.equal(await node.deadCount(), 0);
  await node.stop();
  const logger = new MemoryLogger();
  const other = await startRabbitEngine(ctx.vhost.url, { nodeId: 'other-bound', maxDeadJobs: 50 }, {}, logger);
  assert.ok(logger.lines.some((line) => /verk\.dead was declared with another bound than maxDeadJobs 50/.test(line)), logger.lines.join('\n'));
  await other.stop();
});

test('publisher confirms: a nack and an unroutable message are errors to the caller, never silent losses', rabbitTest, async () => {
  const client = rabbitClient(ctx.vhost.url, 'confirms');
  // A queue bounded at one message that rejects publishes beyond (quorum queues take one more): the broker nacks.
  await client.client.enqueue({ queue: 'full', class: 'X', args: [0] });
  await rabbitmqctl('set_policy', '-p', ctx.vhost.name, '--apply-to', 'queues', 'full', '^verk\\.queue\\.full$', '{"max-length":1,"overflow":"reject-publish"}');
  await waitFor(async () => (await rabbitmqctl('list_queues', '-p', ctx.vhost.name, 'name', 'policy')).includes('full\tfull'), 'the policy to apply');
  let accepted = 1;
  let refused: unknown;
  for (let i = 1; i < 5 && refused === undefined; i++) {
    try {
      await client.client.enqueue({ queue: 'full', class: 'X', args: [i] });
      accepted++;
    } catch (error) {
      refused = error;
    }
  }
  assert.ok(refused instanceof VerkBrokerError && /did not take/.test(refused.message), `a nack rejects the enqueue: ${String(refused)}`);
  assert.equal(await ctx.vhost.ready('verk.queue.full'), accepted, 'every confirmed job is in the queue');
  await assert.rejects(client.client.enqueueMany([{ queue: 'full', class: 'X', args: [8] }, { queue: 'full', class: 'X', args: [9] }]), VerkBrokerError);
  // The queue was deleted behind the client's back (it had declared it): the broker returns the message.
  await client.client.enqueue({ queue: 'gone', class: 'X' });
  await rabbitmqctl('delete_queue', '-p', ctx.vhost.name, 'verk.queue.gone');
  await assert.rejects(client.client.enqueue({ queue: 'gone', class: 'X' }), (error: unknown) => error instanceof VerkBrokerError && /could not route/.test(error.message));
  await client.stop();
});

test('pause and resume reach every node, and a node that starts later sees the pause', rabbitTest, async () => {
  const ran: string[] = [];
  const eventsA: string[] = [];
  const handler = (node: string) => ({ perform: () => void ran.push(node) });
  const a = await startRabbitEngine(ctx.vhost.url, { nodeId: 'pa', queues: { pausable: 2 }, maxDeadJobs }, { P: handler('a') });
  const b = await startRabbitEngine(ctx.vhost.url, { nodeId: 'pb', queues: { pausable: 2 }, maxDeadJobs }, { P: handler('b') });
  a.events.subscribe((event) => void eventsA.push(event.type));
  await b.pauseQueue('pausable');
  await waitFor(() => eventsA.includes('QueuePaused'), 'node a to pause');
  assert.equal(await a.isPaused('pausable'), true);
  await a.client.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ queue: 'pausable', class: 'P', args: [i] })));
  const logger = new MemoryLogger();
  const c = await startRabbitEngine(ctx.vhost.url, { nodeId: 'pc', queues: { pausable: 2 }, maxDeadJobs }, { P: handler('c') }, logger);
  await sleep(1500);
  assert.deepEqual(ran, [], 'no node ran a job of the paused queue');
  assert.equal(c.health().queues.pausable.running, true);
  await a.resumeQueue('pausable');
  await waitFor(() => ran.length === 10, 'the jobs to run after resume');
  assert.ok(eventsA.includes('QueueRunning'));
  assert.equal(await c.isPaused('pausable'), false);
  await Promise.all([a.stop(), b.stop(), c.stop()]);
});

test('client and server middleware, currentJob() and addQueue/removeQueue work as on Redis', rabbitTest, async () => {
  const seen: string[] = [];
  const node = await startRabbitEngine(ctx.vhost.url, { nodeId: 'mw', queues: {}, maxDeadJobs }, {
    Stamped: { perform: (_args, job) => void seen.push(`perform ${String(job.stamp)} ${currentJob()?.queue}`), context: true },
  });
  node.middleware.useClient(async (job, next) => {
    job.stamp = 'client';
    await next();
  });
  node.middleware.use(async (job, next) => {
    seen.push(`before ${job.class}`);
    await next();
    seen.push('after');
  });
  await node.addQueue('late', 2);
  assert.deepEqual(node.queues(), { late: 2 });
  await node.client.enqueue({ queue: 'late', class: 'Stamped' });
  await waitFor(() => seen.length === 3, 'the job through the middleware');
  assert.deepEqual(seen, ['before Stamped', 'perform client late', 'after']);
  await node.removeQueue('late');
  assert.deepEqual(node.queues(), {});
  await node.client.enqueue({ queue: 'late', class: 'Stamped' });
  await sleep(500);
  assert.equal(seen.length, 3, 'a removed queue is not consumed');
  assert.equal(await ctx.vhost.ready('verk.queue.late'), 1, 'its jobs wait in RabbitMQ');
  await node.stop();
});

test('a job queue deleted under a running node is declared and consumed again (the broker cancels the consumer)', rabbitTest, async () => {
  const ran: number[] = [];
  const logger = new MemoryLogger();
  const node = await startRabbitEngine(ctx.vhost.url, { nodeId: 'phoenix', queues: { phoenix: 2 }, maxDeadJobs }, { Rise: { perform: (args) => void ran.push(args[0] as number) } }, logger);
  await rabbitmqctl('delete_queue', '-p', ctx.vhost.name, 'verk.queue.phoenix');
  await waitFor(() => logger.lines.some((line) => /cancelled the consumer/.test(line)), 'the cancel to be noticed');
  await waitFor(async () => (await rabbitmqctl('list_consumers', '-p', ctx.vhost.name)).includes('verk.queue.phoenix'), 'a consumer on the queue again');
  const client = rabbitClient(ctx.vhost.url, 'phoenix-client');
  await client.client.enqueue({ queue: 'phoenix', class: 'Rise', args: [1] });
  await waitFor(() => ran.length === 1, 'the job to run');
  await Promise.all([node.stop(), client.stop()]);
});
