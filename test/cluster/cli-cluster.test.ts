import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { VerkEngine } from '../../lib/engine';
import { registerCliWorkers, runVerk, startVerk, type VerkResult } from '../helpers/cli';
import { MemoryLogger } from '../helpers/engine';
import { RedisCluster } from '../helpers/redis-cluster';
import { freePort, RedisServer } from '../helpers/redis-server';
import { sleep, waitFor } from '../helpers/wait';

/*
 * The `verk` bin with --cluster (a child process, as a user runs it) against a real
 * 3-master Redis Cluster where an engine node runs real jobs under the cluster-mode
 * default prefix `{verk}:`. One cluster for the file.
 */

let cluster: RedisCluster;
let engine: VerkEngine;
/** `host:port,…` of every node. */
let seeds: string;
/** A node that is not the master of the instance's slot: the CLI must follow the slot table from it. */
let otherSeed: string;

/** Boom fails while `failing` is true (dead at once: retry false), then succeeds after `verk retry --all dead`. */
let failing = true;
const ran: string[] = [];

before(async () => {
  cluster = await RedisCluster.start({ masters: 3 });
  seeds = cluster.seeds.map(({ host, port }) => `${host}:${port}`).join(',');
  const master = await cluster.masterOf('{verk}:queues');
  otherSeed = `127.0.0.1:${cluster.ports.find((port) => port !== master)}`;
  engine = new VerkEngine({ redis: { cluster: cluster.seeds }, nodeId: 'cluster-cli-node', queues: { default: 2, mail: 1 }, pollInterval: 100, heartbeat: 1000 }, { logger: new MemoryLogger() });
  registerCliWorkers(engine, ran, () => failing);
  await engine.start();
});

after(async () => {
  await engine?.stop();
  await cluster?.stop();
});

/** Runs `verk --cluster <seeds> <args>`. */
function verk(...args: string[]): Promise<VerkResult> {
  return runVerk(['--cluster', seeds, ...args]);
}

async function verkJson<T>(...args: string[]): Promise<T> {
  const result = await verk(...args, '--json');
  assert.equal(result.code, 0, `verk ${args.join(' ')} --json failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Real jobs run by the node: 3 done, 2 dead. Returns the dead jids. */
async function runSomeJobs(): Promise<string[]> {
  failing = true;
  ran.length = 0;
  const before = await engine.admin.stats();
  for (const n of [1, 2, 3]) await engine.client.enqueue({ queue: 'default', class: 'Ok', args: [n] });
  const dead = [await engine.client.enqueue({ queue: 'mail', class: 'Boom', args: ['a'], retry: false }), await engine.client.enqueue({ queue: 'mail', class: 'Boom', args: ['b'], retry: false })];
  await waitFor(async () => {
    const stats = await engine.admin.stats();
    return stats.processed === before.processed + 3 && stats.dead === before.dead + 2;
  }, 'the node to run 3 jobs and kill 2', 30_000);
  return dead;
}

test('stats, queues and jobs dead --json over --cluster after real jobs ran (default prefix {verk}:, one seed suffices)', async () => {
  const dead = await runSomeJobs();
  const stats = await verkJson<{ processed: number; failed: number; dead: number; enqueued: number; queues: { name: string; size: number; paused: boolean; processed: number; failed: number }[] }>('stats');
  assert.deepEqual([stats.processed, stats.failed, stats.dead, stats.enqueued], [3, 2, 2, 0]);
  const byName = Object.fromEntries(stats.queues.map((queue) => [queue.name, queue]));
  assert.deepEqual([byName.default.processed, byName.default.failed, byName.default.paused], [3, 0, false]);
  assert.deepEqual([byName.mail.processed, byName.mail.failed], [0, 2]);

  const human = await verk('stats');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /Processed: 3 {3}Failed: 2/);

  // Through one seed that does not hold the instance's slot: the rest is found from it.
  const viaOne = await runVerk(['--cluster', otherSeed, 'queues', '--json']);
  assert.equal(viaOne.code, 0, viaOne.stderr);
  const queues = JSON.parse(viaOne.stdout) as { total: number; queues: { name: string; waiting: number; processed: number; paused: boolean }[] };
  assert.equal(queues.total, 2);
  assert.deepEqual(queues.queues.map((queue) => [queue.name, queue.waiting, queue.processed, queue.paused]), [['default', 0, 3, false], ['mail', 0, 0, false]]);

  const page = await verkJson<{ source: string; total: number; jobs: { at: number; job: { jid: string; class: string; error_class: string; error_message: string } }[] }>('jobs', 'dead');
  assert.equal(page.source, 'dead');
  assert.equal(page.total, 2);
  assert.deepEqual(page.jobs.map((entry) => entry.job.jid).sort(), [...dead].sort());
  assert.ok(page.jobs.every((entry) => entry.job.class === 'Boom' && entry.job.error_class === 'RangeError' && typeof entry.at === 'number'));
});

test('retry --all dead over --cluster: the node runs them again; pause and resume reach the node', async () => {
  const { dead: deadBefore } = await engine.admin.stats();
  assert.ok(deadBefore >= 2, 'dead jobs left by the first test');
  failing = false;
  ran.length = 0;
  const processedBefore = (await engine.admin.stats()).processed;
  const result = await verkJson<{ set: string; count: number; skipped: number }>('retry', '--all', 'dead');
  assert.deepEqual(result, { set: 'dead', count: deadBefore, skipped: 0 });
  await waitFor(async () => (await engine.admin.stats()).processed === processedBefore + deadBefore, 'the node to run the retried jobs', 30_000);
  assert.deepEqual(ran.filter((entry) => entry.startsWith('boom')).sort(), ['boom:a:ok', 'boom:b:ok']);
  assert.equal((await engine.admin.stats()).dead, 0);

  const paused = await verk('pause', 'default');
  assert.equal(paused.code, 0, paused.stderr);
  assert.equal(paused.stdout, 'Paused queue default\n');
  assert.equal(await engine.isPaused('default'), true);
  await engine.client.enqueue({ queue: 'default', class: 'Ok', args: ['while-paused'] });
  await sleep(500);
  assert.ok(!ran.includes('ok:while-paused'), 'the node runs nothing of a queue the CLI paused');
  assert.deepEqual(await verkJson('resume', 'default'), { queue: 'default', paused: false });
  assert.equal(await engine.isPaused('default'), false);
  await waitFor(() => ran.includes('ok:while-paused'), 'the node to run the job once the CLI resumed the queue', 30_000);
});

test('$REDIS_CLUSTER instead of --cluster; --prefix is passed through (a tagged one is another instance, an untagged one is refused)', async () => {
  const viaEnv = await runVerk(['queues', '--json'], { REDIS_CLUSTER: seeds });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.deepEqual((JSON.parse(viaEnv.stdout) as { queues: { name: string }[] }).queues.map((queue) => queue.name), ['default', 'mail']);
  // A flag wins over the environment: --cluster with $REDIS_URL set is not ambiguous.
  const flagWins = await runVerk(['--cluster', seeds, 'queues', '--json'], { REDIS_URL: 'redis://127.0.0.1:1' });
  assert.equal(flagWins.code, 0, flagWins.stderr);

  const other = await verkJson<{ total: number }>('queues', '--prefix', '{other}:');
  assert.equal(other.total, 0);
  const untagged = await verk('queues', '--prefix', 'myapp:');
  assert.equal(untagged.code, 2);
  assert.match(untagged.stderr, /^verk: .*"prefix": "myapp:" has no hash tag/);
});

test('unreachable seeds exit 1 within seconds naming the seeds, password masked; a Redis that is not a cluster says so', async () => {
  const [down1, down2] = [await freePort(), await freePort()];
  const started = Date.now();
  const down = await runVerk(['--cluster', `redis://:s3cret@127.0.0.1:${down1},127.0.0.1:${down2}`, 'stats']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, new RegExp(`^verk: cannot reach the Redis Cluster \\(seeds 127\\.0\\.0\\.1:${down1},127\\.0\\.0\\.1:${down2}\\): `));
  assert.doesNotMatch(down.stderr, /s3cret/);
  assert.equal(down.stdout, '');
  assert.ok(Date.now() - started < 20_000, 'fails within seconds, no hang');

  const plain = await RedisServer.start();
  try {
    const notCluster = await runVerk(['--cluster', `127.0.0.1:${plain.port}`, 'stats']);
    assert.equal(notCluster.code, 1);
    assert.match(notCluster.stderr, new RegExp(`^verk: cannot reach the Redis Cluster \\(seeds 127\\.0\\.0\\.1:${plain.port}\\): .*cluster support disabled`));
  } finally {
    await plain.stop();
  }
});

test('usage errors exit 2: --redis with --cluster, both environment variables, malformed seeds (passwords never echoed)', async () => {
  const both = await runVerk(['--redis', 'redis://127.0.0.1:6379', '--cluster', seeds, 'stats']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /^verk: --redis and --cluster cannot be used together/);
  const envBoth = await runVerk(['stats'], { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER: seeds });
  assert.equal(envBoth.code, 2);
  assert.match(envBoth.stderr, /^verk: \$REDIS_URL and \$REDIS_CLUSTER are both set/);

  const cases: [string, RegExp][] = [
    ['127.0.0.1', /seed "127\.0\.0\.1" has no port \(expected host:port\)/],
    ['127.0.0.1:0', /seed "127\.0\.0\.1:0" has a bad port "0" \(expected 1 to 65535\)/],
    ['127.0.0.1:7000,127.0.0.1:x', /seed "127\.0\.0\.1:x" has a bad port "x"/],
    ['127.0.0.1:70000', /has a bad port "70000"/],
    [':7000', /seed ":7000" has no host/],
    ['127.0.0.1:7000,,127.0.0.1:7001', /has an empty seed/],
    ['', /--cluster needs at least one seed node/],
    ['::1:7000', /looks like an IPv6 address; write it \[address\]:port/],
    ['redis://:s3cret@127.0.0.1', /seed "redis:\/\/:\*\*\*@127\.0\.0\.1" has no port/],
    ['rediss://:s3cret@127.0.0.1:7000,redis://:s3cret@127.0.0.1:7001', /some seeds are rediss:\/\/ \(TLS\) and some are not/],
    ['rediss://:s3cret@127.0.0.1:7000,127.0.0.1:7001', /some seeds are rediss:\/\/ \(TLS\) and some are not/],
    ['http://127.0.0.1:7000', /must be host:port or start with redis:\/\/ or rediss:\/\//],
    [':s3cret@127.0.0.1:7000', /a seed with a user or password must be a URL/],
    ['redis://:a@127.0.0.1:7000,redis://:s3cret@127.0.0.1:7001', /different user names or passwords/],
    ['redis://op:s3cret%zz@127.0.0.1:7000', /seed "redis:\/\/op:\*\*\*@127\.0\.0\.1:7000" has a malformed %-escape in its user name or password/],
  ];
  for (const [value, message] of cases) {
    const result = await runVerk(['--cluster', value, 'stats']);
    assert.equal(result.code, 2, `--cluster ${JSON.stringify(value)}: ${result.stderr}`);
    assert.match(result.stderr, message, `--cluster ${JSON.stringify(value)}`);
    assert.doesNotMatch(result.stderr, /s3cret/, `--cluster ${JSON.stringify(value)} echoed the password`);
  }
  const tlsWithPlainUrl = await runVerk(['--cluster', 'redis://:s3cret@127.0.0.1:7000', '--tls', 'stats']);
  assert.equal(tlsWithPlainUrl.code, 2, tlsWithPlainUrl.stderr);
  assert.match(tlsWithPlainUrl.stderr, /^verk: --cluster: --tls with a redis:\/\/ seed; write the seeds as rediss:\/\/ or host:port/);
  assert.doesNotMatch(tlsWithPlainUrl.stderr, /s3cret/);
  const fromEnv = await runVerk(['stats'], { REDIS_CLUSTER: 'nohost' });
  assert.equal(fromEnv.code, 2);
  assert.match(fromEnv.stderr, /^verk: \$REDIS_CLUSTER: seed "nohost" has no port/);
});

test('a user and password in a redis:// seed authenticate every node, also those found through the slot table', async () => {
  for (const port of cluster.ports) await cluster.onNode(port, 'ACL', 'SETUSER', 'operator', 'on', '>s3cret', '~*', '&*', '+@all');
  const master = await cluster.masterOf('{verk}:queues');
  const seed = `redis://operator:s3cret@${otherSeed}`;
  const wrong = await runVerk(['--cluster', `redis://operator:wrong@${otherSeed}`, 'stats']);
  assert.equal(wrong.code, 1);
  assert.doesNotMatch(wrong.stderr, /wrong|s3cret/);
  // tail holds a sharded subscription on the master of the instance's slot, which is not the seed.
  const tail = startVerk(['--cluster', seed, 'tail']);
  try {
    await waitFor(() => tail.stderr().includes('Following tracked job events'), 'tail to listen');
    const jid = await engine.client.enqueue({ queue: 'default', class: 'Ok', args: ['tracked'], track: true });
    await waitFor(() => tail.stdout().includes('finished'), 'the finished event through the authenticated subscription');
    assert.ok(tail.stdout().includes(jid));
    const clients = String(await cluster.onNode(master, 'CLIENT', 'LIST')).split('\n').filter((line) => /name=\S*verk-cli/.test(line));
    assert.ok(clients.length > 0, 'the CLI has connections on the master');
    assert.ok(clients.every((line) => / user=operator /.test(line)), `every CLI connection on the master is the operator's:\n${clients.join('\n')}`);
    tail.child.kill('SIGINT');
    assert.equal((await tail.result).code, 0);
  } finally {
    tail.child.kill('SIGKILL');
  }
});
