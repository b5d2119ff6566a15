import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, beforeEach, test } from 'node:test';
import { VerkEngine } from 'nestjs-verk/engine';
import { registerCliWorkers, runVerk, startVerk, type VerkResult } from '../helpers/cli';
import { connect, MemoryLogger, useRedis } from '../helpers/engine';
import { freePort } from '../helpers/redis-server';
import { sleep, waitFor } from '../helpers/wait';

/*
 * The `verk` bin, run as a user runs it (node dist/lib/cli/main.js, a child process)
 * against a private redis-server where a real engine node ran real jobs.
 */

const ctx = useRedis();
const PREFIX = 'app:';
const start = startVerk;

/** Runs `verk <args>` against the test's Redis and prefix; fails the test after 30 s. */
function verk(...args: string[]): Promise<VerkResult> {
  return runVerk(['--redis', ctx.server.url, '--prefix', PREFIX, ...args]);
}

async function verkJson<T>(...args: string[]): Promise<T> {
  const result = await verk(...args, '--json');
  assert.equal(result.code, 0, `verk ${args.join(' ')} --json failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Boom fails while `failing` is true: dead at once (retry: false), then succeeds after `verk retry --all dead`. */
let failing = true;
const ran: string[] = [];
let engine: VerkEngine;

async function startNode(): Promise<VerkEngine> {
  const node = new VerkEngine({ redis: ctx.server.url, prefix: PREFIX, nodeId: 'cli-node', queues: { default: 2, mail: 1 }, pollInterval: 100, heartbeat: 1000, history: true }, { logger: new MemoryLogger() });
  registerCliWorkers(node, ran, () => failing);
  await node.start();
  return node;
}

// Started by the first test (useRedis's server exists by then) and kept for the file.
let starting: Promise<VerkEngine> | undefined;
beforeEach(async () => {
  engine = await (starting ??= startNode());
});

after(async () => {
  await engine?.stop();
});

/** Real jobs run by the node: 3 done, 2 dead. Returns the dead jids. */
async function runSomeJobs(): Promise<string[]> {
  failing = true;
  ran.length = 0;
  for (const n of [1, 2, 3]) await engine.client.enqueue({ queue: 'default', class: 'Ok', args: [n] });
  const dead = [await engine.client.enqueue({ queue: 'mail', class: 'Boom', args: ['a'], retry: false }), await engine.client.enqueue({ queue: 'mail', class: 'Boom', args: ['b'], retry: false })];
  await waitFor(async () => {
    const stats = await engine.admin.stats();
    return stats.processed === 3 && stats.dead === 2;
  }, 'the node to run 3 jobs and kill 2');
  return dead;
}

test('stats, queues and nodes: output and --json shape after real jobs ran', async () => {
  await runSomeJobs();
  await engine.pauseQueue('mail');
  const stats = await verkJson<{ processed: number; failed: number; today: { processed: number; failed: number }; dead: number; enqueued: number; nodes: number; queues: { name: string; size: number; latency: number; paused: boolean; processed: number; failed: number }[] }>('stats');
  assert.equal(stats.processed, 3);
  assert.equal(stats.failed, 2);
  assert.deepEqual(stats.today.processed, 3);
  assert.equal(stats.dead, 2);
  assert.equal(stats.enqueued, 0);
  const byName = Object.fromEntries(stats.queues.map((queue) => [queue.name, queue]));
  assert.deepEqual(
    { name: byName.default.name, size: byName.default.size, paused: byName.default.paused, processed: byName.default.processed, failed: byName.default.failed, latency: typeof byName.default.latency },
    { name: 'default', size: 0, paused: false, processed: 3, failed: 0, latency: 'number' },
  );
  assert.equal(byName.mail.paused, true);
  assert.equal(byName.mail.failed, 2);

  const human = await verk('stats');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /Processed: 3 {3}Failed: 2/);
  assert.match(human.stdout, /^mail\s+0\s+0 s\s+paused\s+0\s+0\s+2$/m);
  assert.doesNotMatch(human.stdout, /\x1b\[/, 'no colours when stdout is not a terminal');
  assert.match(human.stdout, /Blocked: 0 /);
  // A job waiting for a dependency that has not run (its queue is paused) is counted as blocked.
  const first = await engine.client.enqueue({ queue: 'mail', class: 'Ok', args: ['first'], dependable: true });
  await engine.client.enqueue({ queue: 'mail', class: 'Ok', args: ['second'], dependsOn: [first] });
  assert.equal((await verkJson<{ blocked: number }>('stats')).blocked, 1);
  assert.match((await verk('stats')).stdout, /Blocked: 1 /);

  const queues = await verkJson<{ total: number; queues: { name: string; waiting: number; processed: number; paused: boolean }[] }>('queues');
  assert.deepEqual(queues.queues.map((queue) => [queue.name, queue.processed, queue.paused]), [['default', 3, false], ['mail', 0, true]]);
  assert.match((await verk('queues')).stdout, /^QUEUE\s+WAITING\s+PRIORITIZED\s+GROUPED\s+LATENCY\s+RUNNING\s+PROCESSED\s+FAILED\s+PAUSED\n/);

  await waitFor(async () => (await verkJson<{ nodes: { id: string; alive: boolean }[] }>('nodes')).nodes.some((node) => node.id === 'cli-node' && node.alive), 'the node listed alive', 20_000, 300);
  const nodesText = await verk('nodes');
  assert.match(nodesText.stdout, /^cli-node\s+yes\s+/m);
  await engine.resumeQueue('mail');
});

test('jobs <set> and job <jid>: payloads, --class, history; an unknown jid exits 1', async () => {
  const [deadA, deadB] = await runSomeJobs();
  const page = await verkJson<{ source: string; total: number; jobs: { at: number; job: { jid: string; class: string; error_class: string; error_message: string } }[] }>('jobs', 'dead');
  assert.equal(page.source, 'dead');
  assert.equal(page.total, 2);
  assert.deepEqual(page.jobs.map((entry) => entry.job.jid).sort(), [deadA, deadB].sort());
  assert.ok(page.jobs.every((entry) => entry.job.class === 'Boom' && entry.job.error_class === 'RangeError' && typeof entry.at === 'number'));
  const text = await verk('jobs', 'dead', '--limit', '1');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /RangeError: boom [ab]/);
  assert.match(text.stderr, /1 of 2 in dead; --offset 1 for more/);

  await engine.client.enqueue({ queue: 'idle', class: 'Ok', args: ['x'] });
  await engine.client.enqueue({ queue: 'idle', class: 'Other', args: ['y'] });
  const byClass = await verkJson<{ total: number; jobs: { job: { class: string } }[] }>('jobs', 'idle', '--class', 'Other');
  assert.equal(byClass.total, 2);
  assert.deepEqual(byClass.jobs.map((entry) => entry.job.class), ['Other']);

  const status = await verkJson<{ jid: string; state: string; job: { class: string; args: unknown[] }; history: { event: string }[] }>('job', deadA);
  assert.equal(status.state, 'dead');
  assert.equal(status.job.class, 'Boom');
  assert.deepEqual(status.history.map((event) => event.event), ['enqueued', 'started', 'dead']);
  const human = await verk('job', deadA);
  assert.match(human.stdout, new RegExp(`^Job ${deadA}: dead$`, 'm'));
  assert.match(human.stdout, /History:\n.*enqueued/);

  const missing = await verk('job', 'feedfacefeedfacefeedface');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^verk: no job feedfacefeedfacefeedface/);
  assert.equal(missing.stdout, '');
});

test('retry --all dead moves every dead job back and the node runs them; retry <jid>, delete, pause, resume', async () => {
  const dead = await runSomeJobs();
  failing = false;
  const result = await verkJson<{ set: string; count: number; skipped: number }>('retry', '--all', 'dead');
  assert.deepEqual(result, { set: 'dead', count: 2, skipped: 0 });
  await waitFor(async () => (await engine.admin.stats()).processed === 5, 'the node to run the retried jobs');
  assert.deepEqual(ran.filter((entry) => entry.startsWith('boom')).sort(), ['boom:a:fail', 'boom:a:ok', 'boom:b:fail', 'boom:b:ok']);
  assert.equal((await engine.admin.stats()).dead, 0);
  assert.equal((await engine.admin.findJob(dead[0])), null, 'done and gone');

  const later = await engine.client.schedule({ queue: 'default', class: 'Ok', args: ['later'] }, Date.now() + 3_600_000);
  const retried = await verk('retry', later);
  assert.equal(retried.code, 0, retried.stderr);
  assert.match(retried.stdout, new RegExp(`Enqueued ${later} from schedule into default`));
  await waitFor(() => ran.includes('ok:later'), 'the node to run the job retried from schedule');

  const doomed = await engine.client.schedule({ queue: 'default', class: 'Ok', args: ['never'] }, Date.now() + 3_600_000);
  assert.deepEqual(await verkJson('delete', doomed), { jid: doomed, deleted: true });
  assert.equal(await engine.admin.findJob(doomed), null);
  const again = await verk('delete', doomed);
  assert.equal(again.code, 1);
  assert.match(again.stderr, new RegExp(`verk: no job ${doomed}`));
  const bad = await verk('retry', '--all', 'nowhere');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /set: must be one of 'retry', 'schedule', 'dead'/);

  assert.equal((await verk('pause', 'default')).stdout, 'Paused queue default\n');
  assert.equal(await engine.isPaused('default'), true);
  assert.deepEqual(await verkJson('resume', 'default'), { queue: 'default', paused: false });
  assert.equal(await engine.isPaused('default'), false);
});

test('limits <queue> shows a queue\'s limits; set replaces them on the running node (a rate limit it obeys), --none removes them; bad input exits 2', async () => {
  const set = await verk('limits', 'default', 'set', '--rate', '2/1000', '--global', '3', '--group-concurrency', '1');
  assert.equal(set.code, 0, set.stderr);
  assert.deepEqual((await engine.queueLimits('default')).limits, { rateLimit: { max: 2, duration: 1000 }, globalConcurrency: 3, groups: { concurrency: 1 } });
  assert.match(set.stdout, /^Queue default\n {2}Rate limit: +2 per 1000 ms\n {2}Global concurrency: +3 \(\d+ running under the limits\)\n {2}Per group: +1 at a time\n/);
  // The node follows: 2 starts per second, so the 5th of 5 jobs starts 2 s after the first.
  await sleep(1100); // the node hears the change on its control channel
  ran.length = 0;
  const began = Date.now();
  for (const n of [1, 2, 3, 4, 5]) await engine.client.enqueue({ queue: 'default', class: 'Ok', args: [`limited-${n}`] });
  await waitFor(() => ran.filter((entry) => entry.startsWith('ok:limited')).length === 5, 'the 5 rate-limited jobs', 20_000);
  assert.ok(Date.now() - began >= 1900, `5 jobs at 2 per second took ${Date.now() - began} ms`);
  const shown = await verkJson<{ queue: string; limits: object; running: number; pausedUntil: number; grouped: number; groups: number }>('limits', 'default');
  assert.deepEqual(Object.keys(shown).sort(), ['grouped', 'groups', 'limits', 'pausedUntil', 'queue', 'running']);
  assert.deepEqual(shown.limits, { rateLimit: { max: 2, duration: 1000 }, globalConcurrency: 3, groups: { concurrency: 1 } });
  assert.deepEqual((await verkJson<{ limits: object }>('limits', 'default', 'set', '--none')).limits, {});
  assert.deepEqual((await engine.queueLimits('default')).limits, {});
  for (const [args, message] of [
    [['limits', 'default', 'set'], /needs --rate, --global/],
    [['limits', 'default', 'set', '--rate', '5'], /--rate takes MAX\/DURATION_MS/],
    [['limits', 'default', 'set', '--global', '0'], /globalConcurrency/],
    [['limits', 'default', 'set', '--none', '--global', '2'], /--none cannot be given with other limits/],
    [['limits', 'default', '--rate', '2/1000'], /limit flags go after "set"/],
    [['limits'], /usage: verk limits <queue>/],
  ] as const) {
    const result = await verk(...args);
    assert.equal(result.code, 2, `verk ${args.join(' ')} exits 2 (${result.stderr})`);
    assert.match(result.stderr, message);
  }
  assert.deepEqual((await engine.queueLimits('default')).limits, {}, 'a refused set changes nothing');
});

test('recurring list, run and remove', async () => {
  await engine.recurring.recur('nightly-report', { every: 86_400_000, class: 'Ok', queue: 'default', args: ['nightly'] });
  const list = await verkJson<{ recurring: { name: string; class: string; every: number; nextRunAt: number }[] }>('recurring');
  assert.deepEqual(list.recurring.map((job) => [job.name, job.class, job.every]), [['nightly-report', 'Ok', 86_400_000]]);
  assert.match((await verk('recurring', 'list')).stdout, /^nightly-report\s+every 86400000 ms\s+Ok\s+default/m);
  ran.length = 0;
  const run = await verkJson<{ name: string; jid: string }>('recurring', 'run', 'nightly-report');
  assert.match(run.jid, /^[0-9a-f]{24}$/);
  await waitFor(() => ran.includes('ok:nightly'), 'the node to run the recurring job enqueued now');
  assert.equal((await verk('recurring', 'remove', 'nightly-report')).stdout, 'Removed recurring job nightly-report\n');
  assert.deepEqual(await engine.recurring.listRecurring(), []);
  const gone = await verk('recurring', 'run', 'nightly-report');
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no recurring job nightly-report/);
});

test('tail follows tracked job events live and stops cleanly on SIGINT', async () => {
  const tail = start(['--redis', ctx.server.url, '--prefix', PREFIX, 'tail']);
  try {
    await waitFor(() => tail.stderr().includes('Following tracked job events'), 'tail to listen');
    const jid = await engine.client.enqueue({ queue: 'default', class: 'Ok', args: ['tracked'], track: true });
    await waitFor(() => tail.stdout().includes('finished'), 'the finished event');
    const lines = tail.stdout().trim().split('\n');
    assert.deepEqual(lines.map((line) => line.split(/\s+/)[1]), ['enqueued', 'started', 'finished']);
    assert.ok(lines.every((line) => line.includes(jid)));
    tail.child.kill('SIGINT');
    const result = await tail.result;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.signal, null, 'exited by itself, not killed');
  } finally {
    tail.child.kill('SIGKILL');
  }
});

test('tail --json prints one JSON event per line', async () => {
  const tail = start(['--redis', ctx.server.url, '--prefix', PREFIX, 'tail', '--json']);
  try {
    await waitFor(() => tail.stderr().includes('Following'), 'tail to listen');
    const jid = await engine.client.enqueue({ queue: 'default', class: 'Ok', args: ['tracked-json'], track: true });
    await waitFor(() => tail.stdout().includes('"finished"'), 'the finished event');
    const events = tail.stdout().trim().split('\n').map((line) => JSON.parse(line) as { jid: string; event: string; queue: string });
    assert.deepEqual(events.map((event) => [event.jid, event.event, event.queue]), [[jid, 'enqueued', 'default'], [jid, 'started', 'default'], [jid, 'finished', 'default']]);
    tail.child.kill('SIGINT');
    assert.equal((await tail.result).code, 0);
  } finally {
    tail.child.kill('SIGKILL');
  }
});

test('watch refreshes with throughput (--json: a line per refresh), stops after --count or on SIGINT', async () => {
  const counted = await verk('watch', '--json', '--interval', '300', '--count', '2');
  assert.equal(counted.code, 0, counted.stderr);
  const refreshes = counted.stdout.trim().split('\n').map((line) => JSON.parse(line) as { at: string; queues: { name: string; processedPerSecond: number | null }[] });
  assert.equal(refreshes.length, 2);
  assert.equal(refreshes[0].queues.find((queue) => queue.name === 'default')?.processedPerSecond ?? null, null, 'no rate before a second sample');

  const watch = start(['--redis', ctx.server.url, '--prefix', PREFIX, 'watch', '--interval', '200']);
  try {
    await waitFor(() => watch.stdout().includes('QUEUE'), 'the first table');
    for (let n = 0; n < 20; n++) await engine.client.enqueue({ queue: 'default', class: 'Ok', args: [`w${n}`] });
    await waitFor(() => /^default\s+\d+\s+\d+\s+\S+ s\s+[1-9][\d.]*\/s/m.test(watch.stdout()), 'a nonzero done/s for default', 20_000).catch((error: Error) => {
      throw new Error(`${error.message}; watch printed:\n${watch.stdout().slice(-2000)}`);
    });
    watch.child.kill('SIGINT');
    const result = await watch.result;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^verk watch {2}redis:\/\/127\.0\.0\.1:\d+/m);
  } finally {
    watch.child.kill('SIGKILL');
  }
});

test('errors: a bad URL exits 1 with a clear message; usage mistakes exit 2; REDIS_URL is read', async () => {
  const port = await freePort();
  const started = Date.now();
  const down = start(['--redis', `redis://:secret@127.0.0.1:${port}`, 'stats']);
  const downResult = await down.result;
  assert.equal(downResult.code, 1);
  assert.match(downResult.stderr, new RegExp(`^verk: cannot reach Redis at redis://:\\*+@127\\.0\\.0\\.1:${port}`));
  assert.doesNotMatch(downResult.stderr, /secret/);
  assert.ok(Date.now() - started < 20_000, 'fails within seconds');

  const notUrl = await (start(['--redis', 'http://example.com', 'stats'])).result;
  assert.equal(notUrl.code, 2);
  assert.match(notUrl.stderr, /^verk: .*redis/);

  const unknown = await verk('frobnicate');
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr, 'verk: unknown command "frobnicate" (see verk --help)\n');
  const badOption = await verk('stats', '--bogus');
  assert.equal(badOption.code, 2);
  assert.match(badOption.stderr, /Unknown option '--bogus'/);
  const missing = await verk('jobs');
  assert.equal(missing.code, 2);
  const badLimit = await verk('jobs', 'dead', '--limit', 'lots');
  assert.equal(badLimit.code, 2);
  assert.match(badLimit.stderr, /--limit must be an integer from 1 to 1000, got "lots"/);

  const help = await (start(['--help'])).result;
  assert.equal(help.code, 0);
  for (const command of ['stats', 'queues', 'nodes', 'jobs', 'job', 'retry', 'delete', 'pause', 'resume', 'recurring', 'tail', 'watch']) assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));

  // REDIS_URL instead of --redis (and no prefix: the node's queues are not seen there).
  const raw = connect(ctx.server.url);
  try {
    await raw.sadd('queues', 'plain-layout');
    const viaEnv = await (start(['queues', '--json'], { REDIS_URL: ctx.server.url })).result;
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.deepEqual((JSON.parse(viaEnv.stdout) as { queues: { name: string }[] }).queues.map((queue) => queue.name), ['plain-layout']);
  } finally {
    raw.disconnect();
  }
});

test('packed: `npm pack`, installed into an application, `npx verk` runs the bin', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { dirname, join } = await import('node:path');
  const root = resolve(__dirname, '..', '..', '..');
  const dir = mkdtempSync(join(tmpdir(), 'verk-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop() as string;
  const app = join(dir, 'app');
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  // The package's dependencies, copied from this checkout: the install below is offline.
  const copied = new Set<string>();
  const copy = (name: string): void => {
    if (copied.has(name)) return;
    copied.add(name);
    const source = dirname(require.resolve(`${name}/package.json`, { paths: [root] }));
    cpSync(source, join(app, 'node_modules', name), { recursive: true, dereference: true });
    const manifest = require(join(source, 'package.json')) as { dependencies?: Record<string, string> };
    for (const dependency of Object.keys(manifest.dependencies ?? {})) copy(dependency);
  };
  const own = require(join(root, 'package.json')) as { dependencies: Record<string, string> };
  for (const dependency of Object.keys(own.dependencies)) copy(dependency);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, dependencies: own.dependencies }));
  execFileSync('npm', ['install', '--offline', '--legacy-peer-deps', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, tarball)], { cwd: app, stdio: 'ignore' });
  const help = execFileSync('npx', ['--offline', 'verk', '--help'], { cwd: app, encoding: 'utf8' });
  assert.match(help, /^Usage: verk <command> \[options\]/);
  const queues = execFileSync('npx', ['--offline', 'verk', 'queues', '--json'], { cwd: app, encoding: 'utf8', env: { ...process.env, REDIS_URL: ctx.server.url } });
  assert.deepEqual(JSON.parse(queues), { total: 0, queues: [] });
});

test('colours: only when stdout is a terminal, never with NO_COLOR or --json (runCli in-process with a TTY-like stdout)', async () => {
  const { PassThrough } = await import('node:stream');
  const { runCli } = await import('../../lib/cli/main.js');
  await runSomeJobs();
  const run = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> => {
    const stdout = Object.assign(new PassThrough(), { isTTY: true });
    const stderr = new PassThrough();
    let text = '';
    stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const code = await runCli(['--redis', ctx.server.url, '--prefix', PREFIX, ...args], { stdout, stderr, env }, new AbortController().signal);
    assert.equal(code, 0);
    return text;
  };
  const coloured = await run(['stats']);
  assert.match(coloured, /\x1b\[1mQUEUE/, 'bold header');
  assert.match(coloured, /Failed: \x1b\[31m2\x1b\[39m/, 'failures in red');
  assert.doesNotMatch(await run(['stats'], { NO_COLOR: '1' }), /\x1b\[/);
  const json = await run(['stats', '--json']);
  assert.doesNotMatch(json, /\x1b\[/);
  assert.equal((JSON.parse(json) as { dead: number }).dead, 2);
});
