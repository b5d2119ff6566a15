import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Logger } from '@nestjs/common';
import { redactRedisUrl } from 'nestjs-verk';

/**
 * Finds a Redis for the sample before Nest starts, so that `npm start` works on a fresh
 * machine and a missing Redis gives one clear message instead of endless reconnect logs:
 *
 * 1. REDIS_URL set: use it if it answers PING, else exit 1.
 * 2. Otherwise the default address (127.0.0.1:6379; VERK_SAMPLE_DEFAULT_REDIS overrides
 *    it, which is how the fallback below can be tried on a machine that runs a Redis):
 *    use it if it answers.
 * 3. Otherwise start a private, throwaway redis-server if one is on PATH, else exit 1.
 */

const logger = new Logger('Redis');

const HOW_TO_GET_REDIS = [
  'Get Redis with one of:',
  '  apt-get install redis-server        (Debian, Ubuntu)',
  '  brew install redis                  (macOS)',
  '  docker run -p 6379:6379 redis',
  'or point the sample at a running server: REDIS_URL=redis://host:6379 npm start',
].join('\n');

type Probe = { ok: true } | { ok: false; reason: string };

/** The URL with its password hidden, for logs (nestjs-verk's redaction, so every message agrees). */
function redact(url: URL | string): string {
  return redactRedisUrl(typeof url === 'string' ? url : url.href);
}

/** One RESP command; used for AUTH so that any password is sent verbatim. */
function resp(...parts: string[]): string {
  return `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`;
}

/**
 * Sends PING on a plain socket and waits for +PONG. A socket rather than ioredis because
 * ioredis would keep reconnecting and logging; one quick yes/no is all we need here.
 */
export function ping(url: URL, timeoutMs = 1000): Promise<Probe> {
  return new Promise((resolve) => {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    const port = Number(url.port || 6379);
    const socket = url.protocol === 'rediss:' ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port });
    let reply = '';
    const finish = (result: Probe): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.on('error', (error) => finish({ ok: false, reason: error.message }));
    socket.on('close', () => finish({ ok: false, reason: reply ? `it answered ${JSON.stringify(reply.slice(0, 40))}, not +PONG` : 'connection closed without an answer' }));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('+PONG\r\n')) return finish({ ok: true });
      const error = /^-(.*)\r\n/m.exec(reply); // e.g. -NOAUTH, -WRONGPASS, protected mode
      if (error) finish({ ok: false, reason: `it answered "${error[1]}"` });
    });
    // Written before the connection is up: Node buffers it until then.
    const password = decodeURIComponent(url.password);
    if (password) socket.write(url.username ? resp('AUTH', decodeURIComponent(url.username), password) : resp('AUTH', password));
    socket.write('PING\r\n');
  });
}

function fail(message: string): never {
  logger.error(`${message}\n${HOW_TO_GET_REDIS}`);
  process.exit(1);
}

function parseUrl(value: string, name: string): URL {
  try {
    return new URL(value);
  } catch {
    return fail(`${name}=${redact(value)} is not a URL (expected redis://host:port).`);
  }
}

/** A free loopback port; there is a small race until redis-server binds it, fine for a sample. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a redis-server that keeps nothing on disk, waits until it answers PING, and
 * makes sure it is stopped when this process exits. Returns its URL, or undefined when
 * there is no redis-server on PATH.
 */
async function startPrivateRedis(): Promise<string | undefined> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'verk-sample-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  // detached: its own process group, so a Ctrl-C in the terminal reaches only this app,
  // which then stops its jobs gracefully while Redis is still there, and stops Redis last.
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Keep the last lines of its log (for the error message) and keep draining the pipes,
  // so that redis-server never blocks on a full pipe.
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-2000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let exited = false;
  let ready = false; // failures before this are reported by the start-up loop below
  let stopping = false;
  const spawnError = new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
  child.once('exit', (code, signal) => {
    exited = true;
    if (ready && !stopping) logger.error(`The private redis-server on port ${port} stopped unexpectedly (${signal ?? `code ${code}`}):\n${output}`);
  });
  // 'exit' runs on every normal end of the process: process.exit(), an uncaught error, and
  // a signal too, because main.ts enables Nest's shutdown hooks with useProcessExit.
  // Only synchronous work is possible here. A SIGKILL of this process would leave the
  // server running (it is detached); `kill <pid>` it then, the pid is logged below.
  process.once('exit', () => {
    stopping = true;
    if (!exited) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  const started = Date.now();
  for (;;) {
    const error = await Promise.race([spawnError, sleep(100).then(() => undefined)]);
    if (error?.code === 'ENOENT') {
      rmSync(dir, { recursive: true, force: true });
      return undefined;
    }
    if (error) fail(`Could not run redis-server: ${error.message}`);
    if (exited) fail(`redis-server exited at start:\n${output}`);
    if ((await ping(new URL(url))).ok) {
      ready = true;
      break;
    }
    if (Date.now() - started > 10_000) fail(`redis-server on port ${port} did not answer PING within 10 s:\n${output}`);
  }
  logger.warn(`Started a PRIVATE redis-server for this sample: ${url} (pid ${child.pid}, data dir ${dir}).`);
  logger.warn('It keeps nothing on disk and is stopped when this app exits; its jobs go with it.');
  return url;
}

/** The Redis URL the app should use; exits the process with a hint when there is none. */
export async function resolveRedisUrl(): Promise<string> {
  const configured = process.env.REDIS_URL;
  if (configured) {
    const url = parseUrl(configured, 'REDIS_URL');
    const probe = await ping(url);
    if (!probe.ok) fail(`REDIS_URL=${redact(url)} does not answer PING: ${probe.reason}.`);
    logger.log(`Using Redis at ${redact(url)} (REDIS_URL)`);
    return configured;
  }

  const fallback = process.env.VERK_SAMPLE_DEFAULT_REDIS || 'redis://127.0.0.1:6379';
  const url = parseUrl(fallback, 'VERK_SAMPLE_DEFAULT_REDIS');
  const probe = await ping(url);
  if (probe.ok) {
    logger.log(`Using Redis at ${redact(url)} (default address; set REDIS_URL to use another)`);
    return fallback;
  }
  logger.warn(`No usable Redis at ${redact(url)} (${probe.reason}); trying to start a private redis-server.`);
  const privateUrl = await startPrivateRedis();
  if (!privateUrl) fail(`No Redis answers at ${redact(url)} and there is no redis-server on PATH to start one.`);
  return privateUrl;
}
