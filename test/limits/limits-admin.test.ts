import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type EnqueueJob, type JobPayload, newJid, type VerkEngine } from '../../lib/engine';
import { useRedis } from '../helpers/engine';
import { Journal, jobs, useNodes } from '../helpers/limits';
import { sleep, waitFor } from '../helpers/wait';
import { startApp } from '../helpers/dashboard';

const ctx = useRedis();
const { nodes } = useNodes(() => ctx.server.url);

/**
 * A queue `api` with groups: { concurrency: 1 } and one node whose handler blocks: the first
 * job of g0 runs and holds it, the other `count - 1` jobs wait in the grouped set (g1, g2
 * are free but its concurrency of 1 is taken). `finish` lets the blocked job end. `extra`:
 * more jobs enqueued with them (grouped ones wait in their groups too).
 */
async function groupedWaiting(count: number, extra: EnqueueJob[] = []): Promise<{ producer: VerkEngine; journal: Journal; finish: () => void }> {
  const [producer] = await nodes(1, {}, {});
  await producer.setQueueLimits('api', { groups: { concurrency: 1 } });
  await producer.client.enqueueMany([...jobs(count, (i) => ({ args: [String(i)], group: `g${i % 3}` })), ...extra]);
  const journal = new Journal();
  let finish: () => void = () => undefined;
  const blocked = new Promise<void>((resolve) => (finish = resolve));
  await nodes(1, { queues: { api: 1 } }, {
    Rec: {
      perform: async (args: unknown[], job: JobPayload) => {
        journal.begin(String(args[0]), job.group);
        await blocked;
        journal.end(job.group);
      },
    },
  });
  await waitFor(() => journal.starts.length === 1, 'one job runs');
  const waiting = count - 1 + extra.filter((job) => job.group !== undefined && job.dependsOn === undefined).length;
  await waitFor(async () => (await ctx.redis.zcard('verk:queue:api:grouped')) === waiting, 'the others wait in their groups');
  return { producer, journal, finish };
}

test('clear(queue) empties the grouped set and the ring: after Clear no grouped job runs', async () => {
  const { producer, journal, finish } = await groupedWaiting(12);
  assert.equal(await ctx.redis.llen('queue:api'), 0, 'the list is empty');
  assert.equal(await producer.admin.clear({ queue: 'api' }), 11, 'clear counts the grouped jobs');
  assert.equal(await ctx.redis.zcard('verk:queue:api:grouped'), 0);
  assert.equal(await ctx.redis.zcard('verk:limits:api:ring'), 0, 'no group left in the round-robin');
  const stats = await producer.admin.queueStats('api');
  assert.equal(stats.size, 0);
  assert.equal(stats.limits.grouped, 0);
  assert.equal(stats.limits.groups, 0);
  finish();
  await waitFor(() => journal.done === 1, 'the running job done');
  await sleep(500);
  assert.equal(journal.starts.length, 1, 'no cleared job ran');
});

test('browse.queues (the Queues page, `verk queues`, `verk watch`) counts the jobs waiting in their groups and their latency', async () => {
  const { producer, finish } = await groupedWaiting(12);
  await sleep(1100);
  const api = (await producer.browse.queues()).queues.find((queue) => queue.name === 'api');
  assert.ok(api, 'the queue is listed');
  assert.deepEqual({ waiting: api.waiting, plain: api.plain, prioritized: api.prioritized, grouped: api.grouped, running: api.running }, { waiting: 11, plain: 0, prioritized: 0, grouped: 11, running: 1 });
  assert.ok(api.latency >= 1 && api.latency < 30, `latency of the head of the group served next: ${api.latency}`);
  finish();
});

test('listJobs(queue) lists the grouped jobs after the list and prioritized ones, group by group, bytes kept, page by page', async () => {
  const { producer, journal, finish } = await groupedWaiting(12);
  // The node is busy: these stay in the list (ahead of the grouped jobs in the listing).
  await producer.client.enqueueMany(jobs(2, (i) => ({ args: [`p${i}`] })));
  const members = await ctx.redis.zrange('verk:queue:api:grouped', 0, '-1');
  const payloads = members.map((member) => member.slice(member.indexOf('\0') + 20));
  const all = await producer.admin.listJobs({ queue: 'api' }, { limit: 100 });
  assert.equal(all.total, 13);
  assert.deepEqual(
    all.jobs.map((listed) => listed.job?.args[0]),
    ['p0', 'p1', '3', '6', '9', '1', '4', '7', '10', '2', '5', '8', '11'],
  );
  // The payload part of each member, byte for byte.
  assert.deepEqual(all.jobs.slice(2).map((listed) => listed.raw), payloads);
  assert.equal(all.jobs[2].job?.group, 'g0');
  // A page across the boundary, and one inside the grouped set.
  const across = await producer.admin.listJobs({ queue: 'api' }, { offset: 1, limit: 3 });
  assert.deepEqual(across.jobs.map((listed) => listed.job?.args[0]), ['p1', '3', '6']);
  const inside = await producer.admin.listJobs({ queue: 'api' }, { offset: 9, limit: 10 });
  assert.deepEqual(inside.jobs.map((listed) => listed.job?.args[0]), ['2', '5', '8', '11']);
  assert.equal(inside.total, 13);
  finish();
  await waitFor(() => journal.done === 14, 'every job done');
});

test('findJob, findIn and browse.locate find a grouped job waiting in its group (payload bytes as stored)', async () => {
  const { producer, journal, finish } = await groupedWaiting(12);
  const members = await ctx.redis.zrange('verk:queue:api:grouped', 0, '-1');
  const last = members[members.length - 1];
  const payload = last.slice(last.indexOf('\0') + 20);
  const jid = (JSON.parse(payload) as JobPayload).jid;
  const found = await producer.admin.findJob(jid);
  assert.equal(found?.where, 'queue');
  assert.equal(found?.raw, payload);
  assert.equal((await producer.admin.findIn(jid, { queue: 'api' }))?.raw, payload);
  const step = await producer.browse.locate(jid);
  assert.equal(step.found?.raw, payload);
  // The hint it gives (its position in the queue's listing) finds it again in one read.
  assert.deepEqual(step.hint, { queue: 'api', offset: 10 });
  assert.equal((await producer.browse.locate(jid, { hint: step.hint })).via, 'hint');
  // A filtered search of the queue sees the grouped jobs too.
  const page = await producer.browse.search({ queue: 'api' }, { text: '"g1"' });
  assert.equal(page.jobs.length, 4);
  finish();
  await waitFor(() => journal.done === 12, 'every job done');
});

test('cancel and deleteJob remove a grouped job waiting in its group; its group leaves the ring with its last job', async () => {
  const { producer, journal, finish } = await groupedWaiting(12);
  const jidOf = (member: string): string => (JSON.parse(member.slice(member.indexOf('\0') + 20)) as JobPayload).jid;
  const g1 = (await ctx.redis.zrangebylex('verk:queue:api:grouped', '[g1\0', '[g1\x01')).map(jidOf);
  assert.equal(g1.length, 4);
  assert.equal(await producer.flow.cancel(g1[0]), true);
  assert.equal(await producer.flow.cancel(g1[1], { from: { queue: 'api' } }), true);
  assert.equal(await producer.flow.cancel(g1[2], { from: { queue: 'api' } }), true);
  assert.notEqual(await ctx.redis.zscore('verk:limits:api:ring', 'g1'), null, 'g1 still has a job');
  assert.equal(await producer.flow.cancel(g1[3]), true);
  assert.equal(await ctx.redis.zscore('verk:limits:api:ring', 'g1'), null, 'g1 left the ring');
  assert.equal(await producer.flow.cancel(g1[3]), false, 'gone');
  assert.equal(await ctx.redis.zcard('verk:queue:api:grouped'), 7);
  finish();
  await waitFor(() => journal.done === 8, 'the other jobs done');
  await sleep(500);
  assert.deepEqual(journal.starts.filter((start) => start.group === 'g1'), [], 'no canceled job ran');
});

test('move takes a grouped job waiting in its group to another queue, its bytes otherwise kept', async () => {
  const { producer, journal, finish } = await groupedWaiting(12);
  const [member] = await ctx.redis.zrangebylex('verk:queue:api:grouped', '[g2\0', '[g2\x01', 'LIMIT', 0, 1);
  const payload = member.slice(member.indexOf('\0') + 20);
  const jid = (JSON.parse(payload) as JobPayload).jid;
  assert.equal(await producer.control.move(jid, 'other'), true);
  assert.equal(await ctx.redis.zscore('verk:queue:api:grouped', member), null, 'no longer in its group');
  // Through `schedule`, due now: the scheduler enqueues it into `other` at once.
  await waitFor(async () => (await ctx.redis.llen('queue:other')) === 1, 'the job in queue other');
  const found = await producer.admin.findJob(jid);
  assert.ok(found && found.where !== 'inprogress' && found.job.queue === 'other', `found ${JSON.stringify(found)}`);
  const before = JSON.parse(payload) as JobPayload;
  assert.deepEqual([found.job.jid, found.job.group, found.job.args], [jid, 'g2', before.args], 'the same job, group kept');
  finish();
  await waitFor(() => journal.done === 11, 'the other jobs of api done');
});

test('setPriority of a grouped job waiting in its group reorders it within its group', async () => {
  const { producer, journal, finish } = await groupedWaiting(12);
  const inGroup = async (group: string): Promise<string[]> =>
    (await ctx.redis.zrangebylex('verk:queue:api:grouped', `[${group}\0`, `[${group}\x01`)).map((member) => String((JSON.parse(member.slice(member.indexOf('\0') + 20)) as JobPayload).args[0]));
  assert.deepEqual(await inGroup('g1'), ['1', '4', '7', '10']);
  const jidOf = async (arg: string): Promise<string> => {
    const page = await producer.admin.listJobs({ queue: 'api' }, { limit: 100 });
    return String(page.jobs.find((listed) => listed.job?.args[0] === arg)?.job?.jid);
  };
  assert.equal(await producer.admin.setPriority(await jidOf('10'), 5), true);
  assert.deepEqual(await inGroup('g1'), ['10', '1', '4', '7'], 'priority 5 first in its group');
  assert.equal(await producer.admin.setPriority(await jidOf('1'), 5, 'api'), true);
  assert.deepEqual(await inGroup('g1'), ['10', '1', '4', '7'], 'to the end of priority 5');
  assert.equal(await producer.admin.setPriority(await jidOf('10'), 0), true);
  assert.deepEqual(await inGroup('g1'), ['1', '4', '7', '10'], 'priority 0 again: after the others, as if enqueued now');
  finish();
  await waitFor(() => journal.done === 12, 'every job done');
  const order = journal.starts.filter((start) => start.group === 'g1').map((start) => start.id);
  assert.deepEqual(order, ['1', '4', '7', '10']);
});

test('clear(queue) of grouped jobs another job depends on sends that dependent to dead (DependencyLostError)', async () => {
  const [a, q] = [newJid(), newJid()];
  const { producer, journal, finish } = await groupedWaiting(3, [
    { queue: 'api', class: 'Rec', args: ['a'], group: 'g9', jid: a },
    { queue: 'other', class: 'Rec', args: ['q'], jid: q, dependsOn: [a] },
  ]);
  assert.equal(await producer.admin.clear({ queue: 'api' }), 3);
  const lost = await waitFor(async () => {
    const found = await producer.admin.findJob(q);
    return found?.where === 'dead' ? found : null;
  }, 'the dependent in dead', 5000);
  assert.equal(lost.job.error_class, 'DependencyLostError');
  assert.match(String(lost.job.error_message), new RegExp(a));
  assert.equal(await ctx.redis.hlen('verk:flow:blocked'), 0);
  finish();
  await waitFor(() => journal.done === 1, 'the running job done');
});

test("the dashboard's queue page lists the grouped jobs waiting in their groups; the Queues page counts them", async () => {
  const { journal, finish } = await groupedWaiting(12);
  const app = await startApp('express', { redis: ctx.server.url, verk: { queues: { default: 1 } } });
  try {
    const html = await (await fetch(`${app.url}/verk/queues/api`)).text();
    const listed = [...html.matchAll(/<tr[^>]*data-jid="([0-9a-f]+)"/g)].map((match) => match[1]);
    const members = await ctx.redis.zrange('verk:queue:api:grouped', 0, '-1');
    const jids = members.map((member) => (JSON.parse(member.slice(member.indexOf('\0') + 20)) as JobPayload).jid);
    assert.deepEqual(listed, jids, 'every grouped job, in the listing order');
    // The queue's limits and groups, as queueLimits reads them across nodes.
    const limits = /<p class="summary limits" data-limits>([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '';
    assert.equal(limits.replace(/<[^>]+>/g, ''), 'Limits: per group 1 at a time · 11 waiting in 3 groups');
    // The Queues page counts them: 11 waiting, all in groups.
    const queues = await (await fetch(`${app.url}/verk/queues`)).text();
    const row = /<tr data-queue="api">([\s\S]*?)<\/tr>/.exec(queues)?.[1] ?? '';
    assert.match(row, /<td class="num">11<\/td>/, 'waiting');
    assert.match(row, /data-grouped="11"/, 'in groups');
  } finally {
    await app.close();
    finish();
  }
  await waitFor(() => journal.done === 12, 'every job done');
});
