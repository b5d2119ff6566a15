import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { startEngine, useRedis } from '../helpers/engine';
import { waitFor } from '../helpers/wait';

/**
 * The bar of issue 11: a real Sidekiq 6 (Debian's ruby-sidekiq) pushes jobs with numbers
 * JavaScript cannot hold, our scheduler moves them, and Sidekiq's own worker receives the
 * very Ruby objects that were pushed.
 */
const ctx = useRedis();
const FIXTURE = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'sidekiq-compat.rb');
const MISSING = 'needs Ruby with Sidekiq 6 and the redis gem (Debian: apt-get install -y ruby-sidekiq ruby-redis)';

function sidekiqMissing(): boolean {
  const gems = spawnSync('ruby', ['-e', 'require "sidekiq"; require "redis"'], { stdio: 'ignore' });
  const cli = spawnSync('sh', ['-c', 'command -v sidekiq'], { stdio: 'ignore' });
  return gems.status !== 0 || cli.status !== 0;
}

const missing = sidekiqMissing();
/** Without Sidekiq: skipped on a developer's machine, a failure in CI (where .ci/run installs it). */
const options = missing && !process.env.CI ? { skip: MISSING } : {};

interface Received {
  jid: string;
  inspect: string;
  classes: string[];
}

let sidekiq: { child: ChildProcess; output: string[] } | undefined;
process.on('exit', () => sidekiq?.child.kill('SIGKILL'));

/** Starts one Sidekiq worker process on the test's Redis (queue `default`), once. */
function ensureSidekiq(): void {
  if (sidekiq) return;
  const child = spawn('sidekiq', ['-r', FIXTURE, '-q', 'default', '-c', '1', '-t', '1'], {
    cwd: tmpdir(),
    env: { ...process.env, REDIS_URL: ctx.server.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  sidekiq = { child, output };
}

after(async () => {
  const running = sidekiq;
  if (!running || running.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => running.child.once('exit', () => resolve()));
  running.child.kill('SIGTERM');
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
});

/** Ruby's Sidekiq client: CompatWorker.perform_in(1, *ARGS, marker). Returns what it pushed, as Ruby saw it. */
async function pushFromRuby(marker: string): Promise<Received> {
  await promisify(execFile)('ruby', [FIXTURE, 'push', marker], { env: { ...process.env, REDIS_URL: ctx.server.url } });
  const pushed = await ctx.redis.get(`compat:pushed:${marker}`);
  assert.ok(pushed, 'the Ruby client recorded its push');
  return JSON.parse(pushed) as Received;
}

async function received(marker: string, count: number): Promise<Received[]> {
  const what = `Sidekiq's worker ran ${marker} ${count} time(s)`;
  const records = await waitFor(
    async () => {
      const list = await ctx.redis.lrange(`compat:received:${marker}`, 0, -1);
      return list.length >= count ? list : undefined;
    },
    what,
    60_000,
    50,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\nSidekiq output:\n${sidekiq?.output.join('').slice(-4000)}`);
  });
  return records.map((record) => JSON.parse(record) as Received);
}

/** The text of the `args` array in a stored payload (Ruby writes it without spaces). */
function argsText(member: string): string {
  const match = /"args":(\[.*?,"(?:sched|fail-once)-[^"]*"\])/s.exec(member);
  assert.ok(match, `args found in ${member}`);
  return match[1];
}

test('Sidekiq perform_in(…, 9007199254740993, 12345678901234567891, 1.0): our scheduler moves it and the Ruby worker gets the same Integers and Floats', options, async () => {
  if (missing) assert.fail(MISSING);
  const marker = `sched-${Date.now()}`;
  const pushed = await pushFromRuby(marker);
  assert.match(pushed.inspect, /^\[9007199254740993, 12345678901234567891, 1\.0, /);
  const [scheduled] = await ctx.redis.zrange('schedule', 0, '-1');
  const args = argsText(scheduled);
  assert.ok(args.startsWith('[9007199254740993,12345678901234567891,1.0,'), `Ruby wrote ${args}`);

  // Our scheduler alone (no queue of ours runs): schedule → queue:default when due.
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 100 });
  try {
    await waitFor(async () => (await ctx.redis.llen('queue:default')) === 1, 'our scheduler moved the Sidekiq job');
    const [queued] = await ctx.redis.lrange('queue:default', 0, -1);
    assert.equal(argsText(queued), args, 'args text unchanged by the move');
    assert.ok(queued.startsWith(scheduled.slice(0, -1) + ','), `only enqueued_at appended: ${queued}`);

    ensureSidekiq();
    const [run] = await received(marker, 1);
    assert.equal(run.jid, pushed.jid);
    assert.equal(run.inspect, pushed.inspect, 'Ruby received exactly what Ruby pushed');
    assert.deepEqual(run.classes.slice(0, 3), ['Integer', 'Integer', 'Float']);
    assert.deepEqual(run.classes, pushed.classes);
  } finally {
    await engine.stop();
  }
});

test('a job Sidekiq failed into retry keeps its bytes through our scheduler and runs again with the same Ruby objects', options, async () => {
  if (missing) assert.fail(MISSING);
  const marker = `fail-once-${Date.now()}`;
  const pushed = await pushFromRuby(marker);
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 100 });
  try {
    ensureSidekiq();
    // First run raises: Sidekiq writes the job into retry (its own JSON, far in the future).
    await received(marker, 1);
    const [retrying] = await waitFor(async () => {
      const members = await ctx.redis.zrange('retry', 0, '-1');
      return members.length === 1 ? members : undefined;
    }, 'Sidekiq put the failed job into retry', 30_000);
    assert.match(retrying, /"retry_count":0/);
    // Due now (score only; the member's bytes untouched): our scheduler moves it.
    await ctx.redis.zadd('retry', 'XX', String(Date.now() / 1000), retrying);
    const [, second] = await received(marker, 2);
    assert.equal(await ctx.redis.zcard('retry'), 0);
    assert.equal(second.jid, pushed.jid);
    assert.equal(second.inspect, pushed.inspect, 'the retried job got exactly what Ruby pushed');
    assert.deepEqual(second.classes, pushed.classes);
  } finally {
    await engine.stop();
  }
});
