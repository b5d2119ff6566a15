import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { VerkConfigError, type VerkEngine, type WorkerHandler } from '../../lib/engine';
import { MetricSet } from '../../lib/engine/metrics/collectors';
import { DEFAULT_BUCKETS } from '../../lib/engine/metrics/metrics-options';
import { requireOptionalPeer } from '../../lib/engine/metrics/optional-peer';
import { connect, startEngine, useRedis } from '../helpers/engine';

const ctx = useRedis();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every sample of a text exposition: `name{labels}` exactly as written -> value. */
function samples(text: string): Map<string, number> {
  const result = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    result.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return result;
}

/** A sample's value; a series that was never created reads 0 (nothing of that kind happened). */
function sample(text: string, key: string): number {
  return samples(text).get(key) ?? 0;
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface Tally {
  ok: number;
  flaky: number;
  doomed: number;
}

/** Workers that count what ran on their node: Ok succeeds, Flaky fails into retry (an hour away), Doomed fails into dead. */
function workers(tally: Tally): Record<string, WorkerHandler> {
  return {
    Ok: { perform: async () => void (tally.ok++, await sleep(2)) },
    Flaky: {
      perform: () => {
        tally.flaky++;
        throw new Error('flaky');
      },
      retryAt: (failedAt) => failedAt + 3600,
    },
    Doomed: {
      perform: () => {
        tally.doomed++;
        throw new Error('doomed');
      },
    },
  };
}

test('100 jobs on two nodes: each node exposes exactly what it ran (processed, failed, retried, dead, durations, waits)', async () => {
  const registries = [new Registry(), new Registry()];
  const tallies: Tally[] = [
    { ok: 0, flaky: 0, doomed: 0 },
    { ok: 0, flaky: 0, doomed: 0 },
  ];
  const engines: VerkEngine[] = [];
  try {
    for (const i of [0, 1]) {
      engines.push(await startEngine({ redis: ctx.server.url, nodeId: `node-${i}`, queues: { work: 4 }, metrics: { registry: registries[i] } }, workers(tallies[i])));
    }
    const jobs = [
      ...Array.from({ length: 85 }, (_, i) => ({ queue: 'work', class: 'Ok', args: [i] })),
      ...Array.from({ length: 10 }, (_, i) => ({ queue: 'work', class: 'Flaky', args: [i] })),
      ...Array.from({ length: 5 }, (_, i) => ({ queue: 'work', class: 'Doomed', args: [i], retry: false })),
    ];
    await engines[0].client.enqueueMany(jobs);
    await waitFor('every outcome', async () => Number(await ctx.redis.get('stat:processed')) === 85 && (await ctx.redis.zcard('retry')) === 10 && (await ctx.redis.zcard('dead')) === 5);
    // The last failure's counter is bumped once its write landed; the engines are idle now.
    await waitFor('both nodes idle', async () => engines.every((engine) => Object.values(engine.health().queues).every((queue) => queue.busy === 0)));

    const texts = await Promise.all(registries.map((registry) => registry.metrics()));
    for (const i of [0, 1]) {
      const text = texts[i];
      const { ok, flaky, doomed } = tallies[i];
      assert.equal(sample(text, 'verk_jobs_processed_total{queue="work",class="Ok"}'), ok, `node ${i} processed`);
      assert.equal(sample(text, 'verk_jobs_processed_total{queue="work",class="Flaky"}'), 0);
      assert.equal(sample(text, 'verk_jobs_failed_total{queue="work",class="Flaky"}'), flaky, `node ${i} failed Flaky`);
      assert.equal(sample(text, 'verk_jobs_failed_total{queue="work",class="Doomed"}'), doomed, `node ${i} failed Doomed`);
      assert.equal(sample(text, 'verk_jobs_dead_total{queue="work",class="Doomed"}'), doomed);
      assert.equal(sample(text, 'verk_jobs_dead_total{queue="work",class="Flaky"}'), 0);
      assert.equal(sample(text, 'verk_jobs_retried_total{queue="work"}'), flaky);
      assert.equal(sample(text, 'verk_job_duration_seconds_count{queue="work",class="Ok"}'), ok);
      assert.equal(sample(text, 'verk_job_duration_seconds_bucket{queue="work",class="Ok",le="+Inf"}'), ok);
      assert.equal(sample(text, 'verk_job_wait_seconds_count{queue="work"}'), ok + flaky + doomed);
      assert.equal(sample(text, 'verk_jobs_running{queue="work"}'), 0);
      assert.equal(sample(text, 'verk_queue_concurrency{queue="work"}'), 4);
      assert.match(text, /# TYPE verk_job_duration_seconds histogram/);
    }
    const total = (key: string) => texts.reduce((sum, text) => sum + sample(text, key), 0);
    assert.equal(total('verk_jobs_processed_total{queue="work",class="Ok"}'), 85);
    assert.equal(total('verk_jobs_failed_total{queue="work",class="Flaky"}') + total('verk_jobs_failed_total{queue="work",class="Doomed"}'), 15);
    assert.equal(total('verk_jobs_retried_total{queue="work"}'), 10);
    assert.equal(total('verk_jobs_dead_total{queue="work",class="Doomed"}'), 5);
    // The buckets are cumulative and end with every observation.
    const buckets = DEFAULT_BUCKETS.map((le) => total(`verk_job_wait_seconds_bucket{queue="work",le="${le}"}`));
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i] >= buckets[i - 1]);
    assert.ok(buckets[buckets.length - 1] <= 100);
  } finally {
    for (const engine of engines) await engine.stop();
  }
});

test('a job whose class has no worker here is labelled class="other" (the label values are bounded by the workers)', async () => {
  const registry = new Registry();
  const engine = await startEngine({ redis: ctx.server.url, queues: { work: 2 }, metrics: { registry } }, workers({ ok: 0, flaky: 0, doomed: 0 }));
  try {
    await engine.client.enqueueMany([
      { queue: 'work', class: 'Ghost::One', args: [], retry: false },
      { queue: 'work', class: 'Ghost::Two', args: [], retry: false },
    ]);
    await ctx.redis.lpush('queue:work', 'not json at all');
    await waitFor('three dead jobs', async () => (await ctx.redis.zcard('dead')) === 3);
    await waitFor('idle', async () => engine.health().queues.work.busy === 0);
    const text = await registry.metrics();
    assert.equal(sample(text, 'verk_jobs_failed_total{queue="work",class="other"}'), 3);
    assert.equal(sample(text, 'verk_jobs_dead_total{queue="work",class="other"}'), 3);
    assert.doesNotMatch(text, /Ghost/);
  } finally {
    await engine.stop();
  }
});

test('the scrape-time gauges match Redis: queue sizes (plain + prioritized), latency, paused, sets, blocked, nodes, recurring', async () => {
  const registry = new Registry();
  const engine = await startEngine({ redis: ctx.server.url, nodeId: 'gauges', queues: { mine: 1 }, pollInterval: 100, metrics: { registry } });
  try {
    const now = Date.now() / 1000;
    // `waiting` runs nowhere: its oldest job (the right end) was enqueued 120 s ago.
    const job = (jid: string, enqueuedAt: number) => JSON.stringify({ class: 'Ok', args: [], jid, queue: 'waiting', enqueued_at: enqueuedAt });
    await ctx.redis.lpush('queue:waiting', job('a'.repeat(24), now - 120), job('b'.repeat(24), now - 10), job('c'.repeat(24), now - 1));
    await ctx.redis.sadd('queues', 'waiting');
    await engine.client.enqueue({ queue: 'waiting', class: 'Ok', priority: 5 });
    await engine.client.enqueueMany([
      { queue: 'held', class: 'Ok' },
      { queue: 'held', class: 'Ok' },
    ]);
    await engine.pauseQueue('held');
    await engine.client.schedule({ queue: 'waiting', class: 'Ok' }, new Date(Date.now() + 3_600_000));
    await engine.client.schedule({ queue: 'waiting', class: 'Ok' }, new Date(Date.now() + 7_200_000));
    await ctx.redis.zadd('retry', now + 100, job('d'.repeat(24), now));
    await ctx.redis.zadd('dead', now, job('e'.repeat(24), now), now, job('f'.repeat(24), now));
    const first = await engine.client.enqueue({ queue: 'waiting', class: 'Ok', dependable: true });
    await engine.client.enqueue({ queue: 'waiting', class: 'Ok', dependsOn: [first] });
    await engine.recurring.recur('nightly', { class: 'Ok', queue: 'waiting', cron: '0 3 * * *' });
    // A second live node, and one whose heartbeat expired (still in verk_nodes).
    await ctx.redis.sadd('verk_nodes', 'other-live', 'other-dead');
    await ctx.redis.set('verk:node:other-live', '1', 'EX', 60);

    const text = await registry.metrics();
    const llen = await ctx.redis.llen('queue:waiting');
    const prioritized = await ctx.redis.zcard('verk:queue:waiting:prioritized');
    assert.equal(prioritized, 1);
    assert.equal(sample(text, 'verk_queue_size{queue="waiting"}'), llen + prioritized);
    assert.equal(sample(text, 'verk_queue_size{queue="held"}'), await ctx.redis.llen('queue:held'));
    assert.equal(sample(text, 'verk_queue_size{queue="mine"}'), 0);
    assert.equal(sample(text, 'verk_queue_paused{queue="held"}'), 1);
    assert.equal(sample(text, 'verk_queue_paused{queue="waiting"}'), 0);
    const latency = sample(text, 'verk_queue_latency_seconds{queue="waiting"}');
    assert.ok(latency >= 120 && latency < 180, `latency ${latency}`);
    assert.equal(sample(text, 'verk_queue_latency_seconds{queue="mine"}'), 0);
    assert.equal(sample(text, 'verk_scheduled_jobs'), await ctx.redis.zcard('schedule'));
    assert.equal(sample(text, 'verk_scheduled_jobs'), 2);
    assert.equal(sample(text, 'verk_retry_jobs'), 1);
    assert.equal(sample(text, 'verk_dead_jobs'), 2);
    assert.equal(sample(text, 'verk_blocked_jobs'), await ctx.redis.hlen('verk:flow:blocked'));
    assert.equal(sample(text, 'verk_blocked_jobs'), 1);
    assert.equal((await engine.admin.stats()).blocked, sample(text, 'verk_blocked_jobs'), 'stats() and the metric count blocked jobs alike');
    assert.equal(sample(text, 'verk_nodes_alive'), 2);
    const [, due] = await ctx.redis.zrange('verk:recurring:due', 0, '0', 'WITHSCORES');
    assert.equal(sample(text, 'verk_recurring_next_run_timestamp_seconds{name="nightly"}'), Number(due) / 1000);
    assert.equal(sample(text, 'verk_redis_metrics_stale'), 0);

    // A queue and a node that appear later are in the next read (after pollInterval).
    await engine.client.enqueue({ queue: 'later', class: 'Ok' });
    await sleep(150);
    const next = await registry.metrics();
    assert.equal(sample(next, 'verk_queue_size{queue="later"}'), 1);
  } finally {
    await engine.stop();
  }
});

test('ten concurrent scrapes cost one read, and scrapes within pollInterval reuse it', async () => {
  const registry = new Registry();
  const engine = await startEngine({ redis: ctx.server.url, queues: { work: 1 }, pollInterval: 60_000, metrics: { registry } });
  const srandmembers = async () => Number(/cmdstat_srandmember:calls=(\d+)/.exec(await ctx.redis.info('commandstats'))?.[1] ?? 0);
  try {
    await ctx.redis.config('RESETSTAT');
    const texts = await Promise.all(Array.from({ length: 10 }, () => registry.metrics()));
    assert.ok(texts.every((text) => text.includes('verk_queue_size{queue="work"} 0')));
    // One read = SRANDMEMBER of `queues` and of `verk_nodes`, in one MULTI (plus one more MULTI on the first read, for the names it discovered).
    assert.equal(await srandmembers(), 2);
    await Promise.all(Array.from({ length: 10 }, () => registry.metrics()));
    assert.equal(await srandmembers(), 2);
  } finally {
    await engine.stop();
  }
});

test('a scrape while Redis is down answers promptly with the node\'s own metrics and marks the Redis-read ones stale', async () => {
  const registry = new Registry();
  const engine = await startEngine({ redis: ctx.server.url, queues: { work: 2 }, pollInterval: 100, metrics: { registry } }, workers({ ok: 0, flaky: 0, doomed: 0 }));
  const redis = connect(ctx.server.url);
  try {
    await engine.client.enqueueMany(Array.from({ length: 5 }, () => ({ queue: 'work', class: 'Ok' })));
    await engine.client.schedule({ queue: 'work', class: 'Ok' }, new Date(Date.now() + 3_600_000));
    await waitFor('5 processed', async () => Number(await ctx.redis.get('stat:processed')) === 5);
    await waitFor('idle', async () => engine.health().queues.work.busy === 0);
    const before = await registry.metrics();
    assert.equal(sample(before, 'verk_redis_metrics_stale'), 0);
    assert.equal(sample(before, 'verk_scheduled_jobs'), 1);

    await ctx.server.stop();
    await sleep(150);
    for (let scrape = 0; scrape < 3; scrape++) {
      const started = Date.now();
      const text = await registry.metrics();
      // A hang guard, not a speed claim: the read gives up after about a second.
      assert.ok(Date.now() - started < 10_000, `scrape took ${Date.now() - started} ms`);
      assert.equal(sample(text, 'verk_jobs_processed_total{queue="work",class="Ok"}'), 5);
      assert.equal(sample(text, 'verk_queue_concurrency{queue="work"}'), 2);
      assert.equal(sample(text, 'verk_redis_metrics_stale'), 1);
      // The last values read, kept.
      assert.equal(sample(text, 'verk_scheduled_jobs'), 1);
    }

    await ctx.server.restart();
    await waitFor('a fresh read', async () => sample(await registry.metrics(), 'verk_redis_metrics_stale') === 0);
  } finally {
    redis.disconnect();
    await engine.stop();
  }
});

test('two engines on one registry share its metrics (no "already registered"), and their numbers add up', async () => {
  const registry = new Registry();
  const tally = { ok: 0, flaky: 0, doomed: 0 };
  const a = await startEngine({ redis: ctx.server.url, nodeId: 'a', queues: { work: 2 }, metrics: { registry } }, workers(tally));
  const b = await startEngine({ redis: ctx.server.url, nodeId: 'b', queues: { work: 2 }, metrics: { registry } }, workers(tally));
  try {
    await a.client.enqueueMany(Array.from({ length: 20 }, () => ({ queue: 'work', class: 'Ok' })));
    await waitFor('20 processed', async () => Number(await ctx.redis.get('stat:processed')) === 20);
    await waitFor('idle', async () => [a, b].every((engine) => engine.health().queues.work.busy === 0));
    const text = await registry.metrics();
    assert.equal(sample(text, 'verk_jobs_processed_total{queue="work",class="Ok"}'), 20);
    assert.equal(sample(text, 'verk_queue_concurrency{queue="work"}'), 4);
    assert.equal(text.match(/^# TYPE verk_jobs_processed_total /gm)?.length, 1);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('metrics options are checked: a bad field, a name another library registered, a missing prom-client', async () => {
  const registry = new Registry();
  const bad: [unknown, string][] = [
    [{ prefix: 'has space' }, 'metrics.prefix'],
    [{ buckets: [1, 0.5] }, 'metrics.buckets'],
    [{ registry: {} }, 'metrics.registry'],
    [{ endpoint: 'metrics' }, 'metrics.endpoint'],
    [{ regsitry: registry }, 'metrics.regsitry'],
    ['yes', 'metrics'],
  ];
  for (const [metrics, field] of bad) {
    await assert.rejects(
      startEngine({ redis: ctx.server.url, metrics: metrics as never }),
      (error: unknown) => error instanceof VerkConfigError && error.field === field,
      field,
    );
  }
  const { Counter } = await import('prom-client');
  new Counter({ name: 'mine_jobs_processed_total', help: 'an application metric', registers: [registry] });
  await assert.rejects(startEngine({ redis: ctx.server.url, metrics: { registry, prefix: 'mine_' } }), /already has a metric named mine_jobs_processed_total/);
  assert.throws(
    () => requireOptionalPeer('prom-client-that-is-not-installed', 'metrics'),
    (error: unknown) => error instanceof VerkConfigError && error.field === 'metrics' && /npm install prom-client-that-is-not-installed/.test(error.message),
  );
});

test('docs/grafana/verk.json is a dashboard whose queries use only metric names the engine exports', () => {
  const dashboard = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'docs', 'grafana', 'verk.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
  const names = new MetricSet(new Registry(), 'verk_', DEFAULT_BUCKETS).names;
  const known = new Set(names.flatMap((name) => [name, `${name}_bucket`, `${name}_sum`, `${name}_count`]));
  const exprs = dashboard.panels.flatMap((panel) => panel.targets ?? []).map((target) => target.expr);
  assert.ok(exprs.length >= 6, `${exprs.length} queries`);
  for (const expr of exprs) {
    const used = expr.match(/\bverk_[a-z_]+/g) ?? [];
    assert.ok(used.length > 0, expr);
    for (const name of used) assert.ok(known.has(name), `${name} in ${expr}`);
  }
  for (const title of ['Throughput', 'Failures', 'Queue latency', 'Job duration', 'Dead']) {
    assert.ok(dashboard.panels.some((panel) => panel.title.includes(title)), `a panel titled ${title}`);
  }
});
