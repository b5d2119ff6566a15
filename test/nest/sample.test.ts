import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, RedisServer } from '../helpers/redis-server';
import { connect } from '../helpers/engine';
import { waitFor } from '../helpers/wait';

const root = join(__dirname, '..', '..', '..');

/**
 * The local addresses of the sockets listening on `port`, read from the kernel (Linux):
 * `127.0.0.1`, `0.0.0.0`, `::`, ... A server that answers on 127.0.0.1 may still listen
 * on every interface, so asking it over loopback proves nothing; this does.
 */
function listeningAddresses(port: number): string[] | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const [file, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]] as const) {
    if (!existsSync(file)) return undefined;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4 || fields[3] !== '0A') continue; // 0A = LISTEN
      const [address, portHex] = fields[1].split(':');
      if (portHex !== hexPort) continue;
      if (!v6) found.push(Buffer.from(address, 'hex').reverse().join('.'));
      else found.push(/^0+$/.test(address) ? '::' : address === '00000000000000000000000001000000' ? '::1' : address);
    }
  }
  return found;
}

async function post(port: number, body: string, contentType = 'application/json'): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/jobs`, { method: 'POST', headers: { 'content-type': contentType }, body, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, text: await response.text() };
}

test('sample app: listens on 127.0.0.1 only, refuses classes and queues it has no worker for and unbounded delays (400) and big bodies (413), never logs args', async (t) => {
  const redis = await RedisServer.start();
  const inspect = connect(redis.url);
  const port = await freePort();
  const output: string[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redis.url, PORT: String(port), VERK_NODE_ID: 'sample-test', NO_COLOR: '1' };
  delete env.HOST; // the default is what is tested
  const app: ChildProcess = spawn(process.execPath, [join(root, 'dist', 'sample', 'main.js')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  app.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  app.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => app.once('exit', () => resolve()));
  const log = (): string => output.join('');
  try {
    await waitFor(async () => {
      if (app.exitCode !== null) throw new Error(`the app exited:\n${log()}`);
      try {
        return (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).ok;
      } catch {
        return false; // not listening yet
      }
    }, 'the sample app to listen', 20_000, 100);

    const addresses = listeningAddresses(port);
    if (addresses === undefined) t.diagnostic('no /proc/net/tcp: the listening address was not checked');
    else assert.deepEqual(addresses, ['127.0.0.1'], 'the sample listens on loopback only');

    // The dashboard is mounted at /verk, with its own assets.
    const dashboard = await fetch(`http://127.0.0.1:${port}/verk`, { signal: AbortSignal.timeout(5000) });
    assert.equal(dashboard.status, 200);
    assert.match(await dashboard.text(), /<title>Overview · Verk<\/title>/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/verk/assets/dashboard.js`, { signal: AbortSignal.timeout(5000) })).status, 200);

    // A class none of its workers runs: 400 naming the accepted classes, nothing written.
    const unknown = await post(port, JSON.stringify({ class: 'Kernel::System', args: ['rm -rf /'] }));
    assert.equal(unknown.status, 400, unknown.text);
    assert.match(unknown.text, /class must be one of SendWelcomeEmail, SendPasswordReset/);
    const other = await post(port, JSON.stringify({ class: 'SendWelcomeEmail2', args: [] }));
    assert.equal(other.status, 400, other.text);
    assert.deepEqual(await inspect.keys('queue:*'), [], 'nothing enqueued');
    // Only the queues this app's node runs: a caller must not create queues nobody reads.
    const queue = await post(port, JSON.stringify({ class: 'SendWelcomeEmail', args: [1, 'a@b.c'], queue: 'evil' }));
    assert.equal(queue.status, 400, queue.text);
    assert.match(queue.text, /queue must be one of default, priority/);
    // A delay is bounded (30 days): 1e12 s would park a job for 31,700 years.
    const far = await post(port, JSON.stringify({ class: 'SendWelcomeEmail', args: [1, 'a@b.c'], in: 1e12 }));
    assert.equal(far.status, 400, far.text);
    assert.match(far.text, /in must be a number of seconds from 0 to 2592000/);
    assert.deepEqual(await inspect.keys('queue:*'), [], 'nothing enqueued');
    assert.equal(await inspect.zcard('schedule'), 0, 'nothing scheduled');

    // Bodies over 16 kB: 413, as JSON and as a form.
    const big = await post(port, JSON.stringify({ class: 'SendWelcomeEmail', args: [1, 'x'.repeat(20_000)] }));
    assert.equal(big.status, 413, big.text);
    const form = await post(port, `class=SendWelcomeEmail&pad=${'x'.repeat(20_000)}`, 'application/x-www-form-urlencoded');
    assert.equal(form.status, 413, form.text);
    assert.deepEqual(await inspect.keys('queue:*'), [], 'nothing enqueued');

    // A job that runs and one that fails: no args value in anything the app logged.
    const secretEmail = 'private-person-7731@example.org';
    const secretId = 987_654_321;
    const ok = await post(port, JSON.stringify({ class: 'SendWelcomeEmail', args: [secretId, secretEmail] }));
    assert.equal(ok.status, 201, ok.text);
    const bad = await post(port, JSON.stringify({ class: 'SendPasswordReset', args: [{ token: 'leaky-token-8812' }] }));
    assert.equal(bad.status, 201, bad.text);
    const [okJid, badJid] = [ok, bad].map((response) => (JSON.parse(response.text) as { jid: string }).jid);
    await waitFor(() => log().includes(`${okJid} done`) && log().includes(`${badJid} fail`), 'the app to log both jobs', 20_000, 50);
    assert.ok(log().includes(okJid), 'the enqueue is logged (by jid)');
    for (const value of [secretEmail, 'private-person', String(secretId), 'leaky-token-8812']) {
      assert.ok(!log().includes(value), `the log shows an args value (${value}):\n${log()}`);
    }
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- sample app output ---\n${log()}`, { cause: error });
  } finally {
    if (app.exitCode === null && app.signalCode === null) app.kill('SIGTERM');
    const timer = setTimeout(() => app.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
    inspect.disconnect();
    await redis.cleanup();
  }
});
