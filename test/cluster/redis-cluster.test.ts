import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { Cluster } from 'ioredis';
import { VerkConfigError, VerkEngine, type VerkOptions, VerkRateLimitError, type WorkerHandler } from '../../lib/engine';
import { hashSlot } from '../../lib/engine/redis/cluster';
import { MemoryLogger, startEngine } from '../helpers/engine';
import { RedisCluster } from '../helpers/redis-cluster';
import { sleep, waitFor } from '../helpers/wait';
import { assertUnblockReachesSlotMaster } from '../helpers/cluster-unblock';

/*
 * The core scenarios through one instance on a real 3-master Redis Cluster (redis-server
 * --cluster-enabled, joined by redis-cli --cluster create): every key of the instance in
 * the `{verk}` slot, scripts, MULTI, BLMOVE + CLIENT UNBLOCK, SCAN and pub/sub on the
 * master that owns it.
 */

let cluster: RedisCluster;
let inspect: Cluster;

before(async () => {
  cluster = await RedisCluster.start({ masters: 3 });
  inspect = new Cluster(cluster.seeds, { redisOptions: { replyMapping: 'legacy' } });
  inspect.on('error', () => undefined);
});
beforeEach(async () => {
  await Promise.all(inspect.nodes('master').map((node) => node.flushall()));
});
after(async () => {
  inspect?.disconnect();
  await cluster?.stop();
});

function options(extra: VerkOptions = {}): VerkOptions {
  return { redis: { cluster: cluster.seeds }, pollInterval: 50, ...extra };
}

async function processed(): Promise<number> {
  return Number(await inspect.get('{verk}:stat:processed'));
}

test('cluster mode: the prefix defaults to {verk}: and a prefix without a hash tag is refused at boot, saying why', async () => {
  const engine = new VerkEngine({ ...options(), nodeId: 'n' });
  assert.equal(engine.keys.queue('default'), '{verk}:queue:default');
  assert.throws(
    () => new VerkEngine({ ...options(), nodeId: 'n', prefix: 'myapp:' }),
    (error: unknown) => error instanceof VerkConfigError && error.field === 'prefix' && /hash tag/.test(error.message) && /one hash slot/.test(error.message),
  );
  assert.throws(() => new VerkEngine({ ...options(), nodeId: 'n', prefix: '{}:' }), (error: unknown) => error instanceof VerkConfigError && error.field === 'prefix');
  // A tag of the application's own is accepted, and so is a Cluster it made (copied, never closed).
  const own = new VerkEngine({ redis: inspect, nodeId: 'n', prefix: 'app:{jobs}:' });
  assert.equal(own.keys.queues, 'app:{jobs}:queues');
  await own.stop();
  await engine.stop();
  assert.equal(await inspect.ping(), 'PONG', 'the application\'s Cluster stays open');
  // Every key an instance builds is in the one slot of its tag.
  const slot = hashSlot('{verk}');
  for (const key of [engine.keys.queue('q'), engine.keys.inProgress('q', 'n'), engine.keys.dead, engine.keys.history('j'), engine.keys.batch('b'), engine.keys.wake, engine.keys.control]) {
    assert.equal(hashSlot(key), slot, key);
    assert.equal(Number(await inspect.cluster('KEYSLOT', key)), slot, `Redis agrees for ${key}`);
  }
});

test('cluster: 1,000 jobs over two queues run exactly once, never above each queue\'s concurrency', async () => {
  const concurrency: Record<string, number> = { default: 10, priority: 5 };
  const active: Record<string, number> = { default: 0, priority: 0 };
  const peak: Record<string, number> = { default: 0, priority: 0 };
  const runs = new Map<string, number>();
  const engine = await startEngine(options({ queues: concurrency }), {
    Track: {
      async perform(args, job) {
        active[job.queue]++;
        peak[job.queue] = Math.max(peak[job.queue], active[job.queue]);
        runs.set(String(args[0]), (runs.get(String(args[0])) ?? 0) + 1);
        await sleep(1 + Math.random() * 4);
        active[job.queue]--;
      },
    },
  });
  try {
    await engine.client.enqueueMany(Array.from({ length: 1000 }, (_, i) => ({ queue: i % 2 === 0 ? 'default' : 'priority', class: 'Track', args: [`job-${i}`] })));
    await waitFor(async () => (await processed()) === 1000, 'all 1,000 jobs processed', 90_000);
    assert.equal(runs.size, 1000);
    for (const [id, count] of runs) assert.equal(count, 1, `${id} ran ${count} times`);
    assert.equal(peak.default, 10);
    assert.equal(peak.priority, 5);
    assert.equal(await inspect.llen('{verk}:queue:default'), 0);
    assert.deepEqual((await inspect.smembers('{verk}:queues')).sort(), ['default', 'priority']);
  } finally {
    await engine.stop();
  }
});

test('cluster: retry then dead, a scheduled job, priorities in order', async () => {
  const order: string[] = [];
  const engine = await startEngine(options({ queues: { work: 1 } }), {
    Fails: { perform: () => Promise.reject(new Error('always')), retryAt: (failedAt: number) => failedAt },
    Ordered: { perform: (args) => void order.push(String(args[0])) },
  });
  try {
    await engine.client.enqueue({ queue: 'work', class: 'Fails', maxRetryCount: 1 });
    await waitFor(async () => (await inspect.zcard('{verk}:dead')) === 1, 'the failing job dead after one retry', 30_000);
    const dead = JSON.parse(String((await inspect.zrange('{verk}:dead', '0', '0'))[0])) as { retried_at?: number; error_message: string };
    assert.ok(dead.retried_at, 'it was retried before dying');
    assert.equal(dead.error_message, 'always');
    assert.equal(await inspect.zcard('{verk}:retry'), 0);

    const jid = await engine.client.schedule({ queue: 'work', class: 'Ordered', args: ['scheduled'] }, Date.now() + 500);
    assert.equal(await inspect.zcard('{verk}:schedule'), 1);
    await waitFor(() => order.includes('scheduled'), `scheduled job ${jid} ran`, 30_000);

    await engine.pauseQueue('work');
    await engine.client.enqueueMany([
      { queue: 'work', class: 'Ordered', args: ['low'] },
      { queue: 'work', class: 'Ordered', args: ['high'], priority: 5 },
      { queue: 'work', class: 'Ordered', args: ['mid'], priority: 1 },
    ]);
    await sleep(300);
    assert.deepEqual(order, ['scheduled'], 'nothing runs while paused');
    await engine.resumeQueue('work');
    await waitFor(() => order.length === 4, 'the three prioritized jobs ran', 30_000);
    assert.deepEqual(order.slice(1), ['high', 'mid', 'low']);
  } finally {
    await engine.stop();
  }
});

test('cluster: a dependency diamond runs in order, a batch calls back once, a recurring job ticks', async () => {
  const ran: string[] = [];
  const record: WorkerHandler = { perform: (args) => void ran.push(String(args[0])) };
  const engine = await startEngine(options({ queues: { flow: 2 } }), { Step: record, Done: record, Tick: record });
  try {
    const a = await engine.client.enqueue({ queue: 'flow', class: 'Step', args: ['a'], dependable: true });
    const [b, c] = await engine.client.enqueueMany([
      { queue: 'flow', class: 'Step', args: ['b'], dependsOn: [a], dependable: true },
      { queue: 'flow', class: 'Step', args: ['c'], dependsOn: [a], dependable: true },
    ]);
    const d = await engine.client.enqueue({ queue: 'flow', class: 'Step', args: ['d'], dependsOn: [b, c] });
    await waitFor(async () => (await engine.flow.job(d)).state === 'finished', 'the diamond finished', 30_000);
    assert.equal(ran[0], 'a');
    assert.equal(ran[3], 'd');

    const { bid } = await engine.client.batch(
      [1, 2, 3].map((n) => ({ queue: 'flow', class: 'Step', args: [`batch-${n}`] })),
      { onComplete: { queue: 'flow', class: 'Done', args: ['callback'] } },
    );
    await waitFor(() => ran.includes('callback'), 'the batch callback ran', 30_000);
    await sleep(300);
    assert.equal(ran.filter((name) => name === 'callback').length, 1);
    // The dashboard's batch list SCANs the master holding the slot.
    const { batches } = await engine.flow.listBatches();
    assert.deepEqual(batches.map((batch) => batch.bid), [bid]);

    await engine.recurring.recur('tick', { class: 'Tick', every: 1000, queue: 'flow', args: ['tick'] });
    await waitFor(() => ran.filter((name) => name === 'tick').length >= 2, 'the recurring job ticked twice', 30_000);
  } finally {
    await engine.stop();
  }
});

test('cluster: cancel and move, history, and the dashboard\'s data calls', async () => {
  const engine = await startEngine(options({ queues: {}, history: true }), {});
  try {
    const kept = await engine.client.enqueue({ queue: 'a', class: 'X' });
    const gone = await engine.client.enqueue({ queue: 'a', class: 'X' });
    assert.equal(await engine.control.move(kept, 'b'), true);
    assert.equal(await engine.flow.cancel(gone), true);
    assert.equal(await inspect.llen('{verk}:queue:a'), 0);
    assert.equal(await inspect.llen('{verk}:queue:b'), 1);
    await engine.recorder.flush();
    assert.deepEqual((await engine.recorder.history(kept)).map((event) => event.event).slice(0, 2), ['enqueued', 'moved']);
    assert.ok((await engine.recorder.history(gone)).some((event) => event.event === 'canceled'), 'the cancel is in the history');
    const queues = await engine.browse.queues();
    assert.deepEqual(
      queues.queues.map((queue) => [queue.name, queue.waiting]),
      [
        ['a', 0],
        ['b', 1],
      ],
    );
    const stats = await engine.admin.stats();
    assert.equal(stats.enqueued, 1);
    assert.equal((await engine.admin.listJobs({ queue: 'b' })).jobs[0].job?.jid, kept);
  } finally {
    await engine.stop();
  }
});

test('cluster: pause/resume, wake-ups and tracked-job events travel on sharded channels of the instance\'s slot', async () => {
  const ran: string[] = [];
  const engine = await startEngine(options({ queues: { s: 1 }, history: true }), { Step: { perform: (args) => void ran.push(String(args[0])) } });
  const events: string[] = [];
  try {
    engine.subscribe((event) => void events.push(`${event.jid}:${event.event}`));
    await engine.subscribed();
    const master = await cluster.masterOf('{verk}');
    const channels = (await cluster.onNode(master, 'PUBSUB', 'SHARDCHANNELS')) as string[];
    assert.deepEqual([...channels].sort(), ['{verk}:verk:control', '{verk}:verk:track', '{verk}:verk:wake']);
    assert.deepEqual(await cluster.onNode(master, 'PUBSUB', 'CHANNELS'), [], 'no plain channel');
    const jid = await engine.client.enqueue({ queue: 's', class: 'Step', args: ['tracked'], track: true });
    await waitFor(() => events.includes(`${jid}:finished`), 'the tracked job\'s finished event', 30_000);
    // The node is now blocked in BLMOVE on the empty list: a prioritized job wakes it,
    // announced by the enqueue script with SPUBLISH (a sharded subscriber hears it).
    const listener = new Cluster(cluster.seeds, { shardedSubscribers: true });
    const woken: string[] = [];
    listener.on('smessage', (channel: string, message: string) => void woken.push(`${channel} ${message}`));
    try {
      await listener.ssubscribe('{verk}:verk:wake');
      await sleep(200);
      await engine.client.enqueue({ queue: 's', class: 'Step', args: ['urgent'], priority: 5 });
      await waitFor(() => ran.includes('urgent'), 'the prioritized job', 30_000);
      await waitFor(() => woken.length > 0, 'the wake-up on the sharded channel');
      assert.deepEqual(woken, ['{verk}:verk:wake s']);
    } finally {
      listener.disconnect();
    }
  } finally {
    await engine.stop();
  }
});

test('cluster: CLIENT UNBLOCK reaches the BLMOVE on the master of the queue\'s slot', async () => {
  await assertUnblockReachesSlotMaster({ cluster: cluster.seeds });
});

test('cluster: limits and groups (rate limit, global and per-group concurrency, VerkRateLimitError, runtime change) in the instance\'s slot', async () => {
  let active = 0;
  let peak = 0;
  const perGroup = new Map<string, number>();
  let groupPeak = 0;
  const runs = new Map<string, number>();
  const starts: number[] = [];
  let throttledOnce = false;
  const engine = await startEngine(options({ queues: { api: { concurrency: 8, globalConcurrency: 4, rateLimit: { max: 1000, duration: 1000 }, groups: { concurrency: 1 } } } }), {
    Call: {
      async perform(args, job) {
        if (args[0] === 'a-0' && !throttledOnce) {
          throttledOnce = true;
          throw new VerkRateLimitError(200, { group: job.group as string });
        }
        active++;
        peak = Math.max(peak, active);
        const group = String(job.group);
        perGroup.set(group, (perGroup.get(group) ?? 0) + 1);
        groupPeak = Math.max(groupPeak, perGroup.get(group) ?? 0);
        starts.push(Date.now());
        runs.set(String(args[0]), (runs.get(String(args[0])) ?? 0) + 1);
        await sleep(2);
        perGroup.set(group, (perGroup.get(group) ?? 1) - 1);
        active--;
      },
    },
  });
  try {
    const jobs = ['a', 'b', 'c', 'd', 'e', 'f'].flatMap((group) => Array.from({ length: 20 }, (_, i) => ({ queue: 'api', class: 'Call', group, args: [`${group}-${i}`] })));
    await engine.client.enqueueMany(jobs);
    await waitFor(async () => runs.size === 120, 'all 120 grouped jobs ran', 90_000);
    for (const [id, count] of runs) assert.equal(count, 1, `${id} ran ${count} times`);
    assert.ok(peak <= 4, `globalConcurrency 4 held on the cluster (peak ${peak})`);
    assert.equal(groupPeak, 1, 'one job per group at a time');
    // The limits live in the {verk} slot, and a runtime change reaches the node through the sharded control channel.
    assert.equal(await inspect.exists('{verk}:verk:limits:api'), 1);
    await engine.setQueueLimits('api', { globalConcurrency: 2 });
    assert.deepEqual((await engine.queueLimits('api')).limits, { globalConcurrency: 2 });
    // A job's slot is given back by its own script once its outcome is written, so the
    // last job can still hold one for a moment after \`runs\` counted its start.
    await waitFor(async () => (await engine.queueLimits('api')).running === 0, 'every slot given back');
    await waitFor(async () => (await processed()) === 120, 'all 120 counted as processed');
  } finally {
    await engine.stop();
  }
});

test('cluster: per job class metrics (histograms: true) are flushed in one MULTI to minute hashes of the instance\'s slot and read back by classMetrics', async () => {
  const engine = await startEngine(options({ queues: { c: 2 }, histograms: true }), { W: { perform: async () => undefined } });
  try {
    await engine.client.enqueueMany([{ queue: 'c', class: 'W' }, { queue: 'c', class: 'W' }, { queue: 'c', class: 'W' }, { queue: 'c', class: 'Unknown', retry: false }]);
    await waitFor(async () => (await processed()) === 3 && Number(await inspect.get('{verk}:stat:failed')) === 1, 'the 4 jobs to run');
  } finally {
    await engine.stop();
  }
  const reader = new VerkEngine(options({ nodeId: 'reader' }), { logger: new MemoryLogger() });
  try {
    const report = await reader.admin.classMetrics({ minutes: 2 });
    assert.deepEqual(report.classes.map((row) => [row.class, row.processed, row.failed]).sort(), [['W', 3, 0], ['other', 1, 1]]);
    // The runs may straddle a minute: every minute hash with runs, summed.
    const keys = report.series.filter((point) => point.processed > 0).map(({ minute }) => `{verk}:verk:metrics:${minute.slice(0, 4)}${minute.slice(5, 7)}${minute.slice(8, 10)}${minute.slice(11, 13)}${minute.slice(14, 16)}`);
    let runs = 0;
    for (const key of keys) runs += Number(await inspect.hget(key, 'W|p'));
    assert.equal(runs, 3);
    for (const key of keys) assert.equal(hashSlot(key), hashSlot('{verk}:queue:c'), `${key} is in the instance's slot`);
  } finally {
    await reader.stop();
  }
});
