/**
 * BENCH_MODE=dashboard: the server time of each engine call behind the dashboard's pages
 * and actions, on a Redis holding BENCH_DASH_WAITING waiting jobs in one queue (default
 * 1,000,000), BENCH_DASH_RETRY in retry and BENCH_DASH_DEAD in dead (100,000 each),
 * BENCH_DASH_RECURRING recurring schedules (1,000) and BENCH_DASH_NODES nodes (1,000, ten
 * running jobs each). Each call runs BENCH_DASH_RUNS times (5); the median and the worst
 * are printed, one JSON line per call, then a table. Target: pages < 300 ms, actions < 1 s;
 * Retry all over the dead set is reported as a rate.
 */
import type Redis from 'ioredis';
import { VerkEngine, type VerkLogger } from '../../lib/engine';
import { EngineDataSource } from '../../lib/dashboard/data/engine-data-source';

const sizes = {
  waiting: Number(process.env.BENCH_DASH_WAITING ?? 1_000_000),
  retry: Number(process.env.BENCH_DASH_RETRY ?? 100_000),
  dead: Number(process.env.BENCH_DASH_DEAD ?? 100_000),
  recurring: Number(process.env.BENCH_DASH_RECURRING ?? 1000),
  nodes: Number(process.env.BENCH_DASH_NODES ?? 1000),
  runs: Number(process.env.BENCH_DASH_RUNS ?? 5),
};

const quiet: VerkLogger = { log: () => undefined, warn: (m) => console.error(m), error: (m) => console.error(m) };
const CHUNK = 10_000;
const jidOf = (prefix: number, n: number): string => `${prefix.toString(16)}${n.toString(16).padStart(23, '0')}`;
const CLASSES = ['Mailer::Deliver', 'Billing::Charge', 'Reports::Build', 'Search::Index', 'Images::Resize'];

/** A job as a failure leaves it, ~300 bytes. */
function job(prefix: number, n: number, queue: string, failed: boolean): string {
  const base = `{"class":"${CLASSES[n % CLASSES.length]}","args":[${n},"user-${n % 9973}@example.com",{"plan":"pro","attempt":${n % 7}}],"jid":"${jidOf(prefix, n)}","queue":"${queue}","retry":true,"created_at":1700000000.5,"enqueued_at":1700000001.25`;
  return failed ? `${base},"retry_count":3,"error_class":"RuntimeError","error_message":"upstream ${n % 101} timed out","failed_at":1700000100.75}` : `${base}}`;
}

async function fill(redis: Redis): Promise<void> {
  const queues = ['default', 'mail', 'billing', 'reports'];
  for (let i = 0; i < sizes.waiting; i += CHUNK) {
    const pipeline = redis.pipeline();
    pipeline.lpush('queue:default', ...Array.from({ length: Math.min(CHUNK, sizes.waiting - i) }, (_, k) => job(1, i + k, 'default', false)));
    await pipeline.exec();
  }
  const now = Date.now() / 1000;
  for (const [set, prefix, count, base] of [['retry', 2, sizes.retry, now + 86_400], ['dead', 3, sizes.dead, now - 86_400]] as const) {
    for (let i = 0; i < count; i += CHUNK) {
      const args: (string | number)[] = [];
      for (let k = i; k < Math.min(i + CHUNK, count); k++) args.push(base + k / 100, job(prefix, k, queues[k % queues.length], true));
      await redis.zadd(set, ...args);
    }
  }
  await redis.sadd('queues', ...queues);
  const pipeline = redis.pipeline();
  for (let n = 0; n < sizes.nodes; n++) {
    const id = `node-${n}`;
    pipeline.sadd('verk_nodes', id).psetex(`verk:node:${id}`, 60_000, 'alive').sadd(`verk:node:${id}:queues`, queues[n % queues.length]);
    pipeline.lpush(`inprogress:${queues[n % queues.length]}:${id}`, ...Array.from({ length: 10 }, (_, k) => job(4, n * 10 + k, queues[n % queues.length], false)));
  }
  await pipeline.exec();
}

interface Row {
  call: string;
  /** 'reference': a call no page or action makes, timed to compare (no target). */
  kind: 'page' | 'action' | 'reference';
  medianMs: number;
  maxMs: number;
  note?: string;
}

async function time(rows: Row[], call: string, kind: Row['kind'], run: (round: number) => Promise<unknown>, runs = sizes.runs): Promise<unknown> {
  const times: number[] = [];
  let last: unknown;
  for (let round = 0; round < runs; round++) {
    const started = process.hrtime.bigint();
    last = await run(round);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  const row: Row = { call, kind, medianMs: round1(times[Math.floor(times.length / 2)]), maxMs: round1(times[times.length - 1]) };
  rows.push(row);
  const limitMs = limitOf(kind);
  console.log(JSON.stringify({ metric: 'dashboard', ...row, limitMs, ok: row.maxMs < limitMs }));
  return last;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;
const limitOf = (kind: Row['kind']): number => (kind === 'page' ? 300 : kind === 'action' ? 1000 : Number.POSITIVE_INFINITY);

/** A lookup the bench expects to find its job (a wrong hint would time a miss). */
function mustFind<T extends { found: unknown }>(step: T): T {
  if (!step.found) throw new Error('the bench expected this lookup to find its job');
  return step;
}

export async function dashboard(url: string, redis: Redis, machine: () => Promise<string>): Promise<void> {
  let started = Date.now();
  await fill(redis);
  console.error(`filled in ${((Date.now() - started) / 1000).toFixed(1)} s: ${sizes.waiting} waiting, ${sizes.retry} retry, ${sizes.dead} dead, ${sizes.nodes} nodes`);
  // Not started: reads and actions only, no scheduler or worker competing for the data.
  // maxDeadJobs above the dead set's size: it holds them all (the default, 100, would trim it at the first Kill).
  const engine = new VerkEngine({ redis: url, nodeId: 'bench-dashboard', queues: {}, maxDeadJobs: 10 * sizes.dead + 1000 }, { logger: quiet });
  try {
    for (let n = 0; n < sizes.recurring; n++) await engine.recurring.recur(`schedule-${n}`, { class: 'Reports::Build', args: [n], every: 3_600_000 + n * 1000, queue: 'reports' });
    const rows: Row[] = [];
    const half = Math.floor(sizes.dead / 2);
    await time(rows, 'listJobs dead, page 1 (50, newest first)', 'page', () => engine.admin.listJobs('dead', { limit: 50, order: 'desc' }));
    await time(rows, 'listJobs dead, middle page (offset 50,000)', 'page', () => engine.admin.listJobs('dead', { offset: half, limit: 50, order: 'desc' }));
    await time(rows, 'listJobs retry, page 1 (100)', 'page', () => engine.admin.listJobs('retry', { limit: 100 }));
    await time(rows, 'listJobs queue, page 1 (50)', 'page', () => engine.admin.listJobs({ queue: 'default' }, { limit: 50 }));
    await time(rows, 'listJobs queue, middle page (offset 500,000)', 'page', () => engine.admin.listJobs({ queue: 'default' }, { offset: Math.floor(sizes.waiting / 2), limit: 50 }));
    await time(rows, 'search dead by class (rare: bound of 5,000 read)', 'page', () => engine.browse.search('dead', { class: 'Nope::Never' }));
    await time(rows, 'search dead by class + queue + text (page of 25 found)', 'page', (round) => engine.browse.search('dead', { class: 'Billing::Charge', queue: 'billing', text: 'TIMED OUT' }, { cursor: String((round * 5000) % sizes.dead) }));
    await time(rows, 'search retry by text, no match (5,000 read)', 'page', () => engine.browse.search('retry', { text: 'no such text' }));
    await time(rows, 'search queue by class (5,000 read)', 'page', (round) => engine.browse.search({ queue: 'default' }, { class: 'Nope' }, { cursor: String((round * 200_000) % sizes.waiting) }));
    const deadPage = await engine.admin.listJobs('dead', { offset: half, limit: 25 });
    const target = deadPage.jobs[0];
    const deadJid = target.job?.jid as string;
    const lastWaiting = jidOf(1, sizes.waiting - 1); // the last pushed: the last of the run order
    await time(rows, 'job lookup: locate(jid) of a dead job, first step (no hint, no history)', 'page', () => engine.browse.locate(deadJid));
    await time(rows, 'job lookup: locate(jid), one step (50,000 members) in the 1M queue', 'page', () => engine.browse.locate(lastWaiting, { cursor: 'q400000:default' }));
    await time(rows, 'job lookup: locate(jid, hint set+score) (a set page link)', 'page', async () => mustFind(await engine.browse.locate(deadJid, { hint: { set: 'dead', at: target.at as number } })));
    await time(rows, 'job lookup: locate(jid, hint queue+position) (a queue page link)', 'page', async () => mustFind(await engine.browse.locate(jidOf(1, Math.floor(sizes.waiting / 2)), { hint: { queue: 'default', offset: Math.floor(sizes.waiting / 2) } })));
    await time(rows, 'job lookup: locate(jid, hint queue+node) (a Busy link)', 'page', async () => mustFind(await engine.browse.locate(jidOf(4, 5005), { hint: { queue: 'default', node: 'node-500' } })));
    await time(rows, 'job lookup: locate(jid) found by its history (dead event)', 'page', async () => {
      await redis.rpush(`verk:history:${deadJid}`, JSON.stringify({ jid: deadJid, event: 'dead', at: Math.round((target.at as number) * 1000), node: 'n', queue: 'default' }));
      const step = await engine.browse.locate(deadJid);
      if (step.via !== 'history') throw new Error(`expected the history to find ${deadJid}, got ${JSON.stringify(step.via)}`);
      await redis.del(`verk:history:${deadJid}`);
    });
    await time(rows, 'job lookup: findJob of the last waiting job (everything read: API, not a page)', 'reference', async () => mustFind({ found: await engine.admin.findJob(lastWaiting) }), 1);
    await time(rows, 'job lookup: findIn(jid, dead) of its last member (dead read to the end)', 'action', async () => mustFind({ found: await engine.admin.findIn(jidOf(3, sizes.dead - 1), 'dead') }), 3);
    await time(rows, 'job lookup: browse.findAt(dead, jid, at) (as listed)', 'page', () => engine.browse.findAt('dead', target.job?.jid as string, target.at as number));
    // The pages' data as the dashboard reads it (EngineDataSource: what each page awaits before rendering).
    const data = new EngineDataSource(engine);
    await time(rows, 'page: overview (stats of 7 days + queues)', 'page', () => Promise.all([data.overview(7), data.queues()]));
    await time(rows, 'page: queues', 'page', () => data.queues());
    await time(rows, 'page: job by jid alone, first request (no hint, no history)', 'page', async () => {
      const view = await data.job(lastWaiting);
      if (!view.nextCursor) throw new Error('expected a search to continue');
    });
    await time(rows, 'page: job by jid alone, a "Continue searching" request', 'page', () => data.job(lastWaiting, { cursor: 'q500000:default' }));
    await time(rows, 'page: job from a set page link (set + score)', 'page', async () => {
      if ((await data.job(deadJid, { hint: { set: 'dead', at: target.at as number } })).status.state !== 'dead') throw new Error('expected the dead job');
    });
    await time(rows, 'page: job from a queue page link (queue + position)', 'page', async () => {
      const middle = Math.floor(sizes.waiting / 2);
      if ((await data.job(jidOf(1, middle), { hint: { queue: 'default', offset: middle } })).status.state !== 'waiting') throw new Error('expected the waiting job');
    });
    await time(rows, 'page: job from a Busy link (queue + node)', 'page', async () => {
      if ((await data.job(jidOf(4, 5005), { hint: { queue: 'default', node: 'node-500' } })).status.state !== 'running') throw new Error('expected the running job');
    });
    await time(rows, 'page: metrics', 'page', () => data.metrics());
    await time(rows, 'Delete from a job page: a waiting job mid-queue (hint queue + position)', 'action', async (round) => {
      const n = Math.floor(sizes.waiting / 2) + 10 + round;
      if (!(await data.cancel(jidOf(1, n), { queue: 'default', offset: n - round }))) throw new Error('expected the job to be deleted');
    });
    await time(rows, 'stats (days: 30)', 'page', () => engine.admin.stats({ days: 30 }));
    await time(rows, 'queues overview', 'page', () => engine.browse.queues());
    await time(rows, 'busy, a page of 50 nodes with their running jobs', 'page', () => engine.browse.busy({ limit: 50 }));
    let cursor: string | null = null;
    await time(rows, 'busy, the next page of 50 nodes (by cursor)', 'page', async () => {
      cursor = (await engine.browse.busy({ cursor, limit: 50 })).nextCursor;
    });
    await time(rows, 'listRecurring (1,000 schedules)', 'page', () => engine.recurring.listRecurring());

    // Actions on a selection of 25 (as listed: jid and score).
    const pick = async (set: 'retry' | 'dead', offset: number) => (await engine.admin.listJobs(set, { offset, limit: 25 })).jobs.map((listed) => ({ jid: listed.job?.jid as string, at: listed.at as number }));
    const selections = await Promise.all(Array.from({ length: sizes.runs }, (_, round) => pick('dead', round * 100)));
    await time(rows, 'Retry now, 25 selected dead jobs', 'action', (round) => engine.bulk.retry('dead', selections[round]));
    const deletions = await Promise.all(Array.from({ length: sizes.runs }, (_, round) => pick('dead', half + round * 100)));
    await time(rows, 'Delete, 25 selected dead jobs', 'action', (round) => engine.bulk.delete('dead', deletions[round]));
    const kills = await Promise.all(Array.from({ length: sizes.runs }, (_, round) => pick('retry', round * 100)));
    await time(rows, 'Kill, 25 selected retry jobs (dead trimmed)', 'action', (round) => engine.bulk.kill('retry', kills[round]));

    const before = await redis.zcard('dead');
    started = Date.now();
    const all = await engine.bulk.retryAll('dead');
    const seconds = (Date.now() - started) / 1000;
    console.log(JSON.stringify({ metric: 'dashboardRetryAll', jobs: all.count, from: before, seconds: round1(seconds), rate: Math.round(all.count / seconds), unit: 'jobs/s' }));
    started = Date.now();
    const deleted = await engine.bulk.deleteAll('retry');
    const deleteSeconds = (Date.now() - started) / 1000;
    console.log(JSON.stringify({ metric: 'dashboardDeleteAll', jobs: deleted, seconds: round1(deleteSeconds), rate: Math.round(deleted / deleteSeconds), unit: 'jobs/s' }));

    console.log(`\n${await machine()}`);
    console.log(`${sizes.waiting} waiting, ${sizes.retry} retry, ${sizes.dead} dead, ${sizes.recurring} recurring, ${sizes.nodes} nodes; ${sizes.runs} runs per call\n`);
    const width = Math.max(...rows.map((row) => row.call.length));
    console.log(`| ${'call'.padEnd(width)} | median ms | max ms | target |`);
    console.log(`| ${'-'.repeat(width)} | --------- | ------ | ------ |`);
    for (const row of rows) console.log(`| ${row.call.padEnd(width)} | ${String(row.medianMs).padStart(9)} | ${String(row.maxMs).padStart(6)} | ${row.kind === 'reference' ? 'ref' : row.maxMs < limitOf(row.kind) ? 'ok' : 'OVER'}   |`);
    console.log(`\nRetry all over ${before} dead: ${all.count} jobs in ${round1(seconds)} s (${Math.round(all.count / seconds)} jobs/s); Delete all over retry: ${deleted} in ${round1(deleteSeconds)} s`);
  } finally {
    await engine.stop();
  }
}
