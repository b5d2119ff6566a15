import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TlsFiles, tlsServerArgs } from './tls-certs';

const running = new Set<ChildProcess>();
// Whatever happens to a test (failure, timeout, crash), no redis-server outlives it.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A loopback port that was free a moment ago (never 6379): for a server a test starts, or a port nothing listens on. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port !== 6379 && port !== 0) return port;
  }
}

export interface RedisServerOptions {
  /** Keep an append-only file so data survives a restart. Default false (nothing on disk). */
  appendonly?: boolean;
  /** Serve TLS only (no plain port) with these certificates (makeTlsFiles()). */
  tls?: TlsFiles;
}

/**
 * A private redis-server on a free loopback port, in its own temp dir: the binary from
 * REDIS_SERVER or PATH. Tests stop, kill and restart it to inject faults.
 */
export class RedisServer {
  private child?: ChildProcess;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'verk-redis-')), options);
    await server.launch();
    return server;
  }

  /** `redis://…`, or `rediss://…` for a TLS server. */
  get url(): string {
    return `${this.options.tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  /** ioredis options that reach the server (host, port, and for TLS the CA to trust). */
  get connectOptions(): { host: string; port: number; tls?: { ca: string } } {
    return { host: '127.0.0.1', port: this.port, ...(this.options.tls ? { tls: { ca: this.options.tls.ca } } : {}) };
  }

  private launch(): Promise<void> {
    const binary = process.env.REDIS_SERVER || 'redis-server';
    const listen = this.options.tls ? tlsServerArgs(this.options.tls, this.port) : ['--port', String(this.port)];
    const args = [...listen, '--bind', '127.0.0.1', '--save', '', '--dir', this.dir, '--appendonly', this.options.appendonly ? 'yes' : 'no', '--appendfsync', 'always', '--daemonize', 'no', '--loglevel', 'notice'];
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    return new Promise((resolve, reject) => {
      let output = '';
      let settled = false;
      const onExit = (code: number | null) => fail(new Error(`redis-server exited with code ${code}:\n${output}`));
      const timer = setTimeout(() => fail(new Error(`redis-server on port ${this.port} did not start in 10 s:\n${output}`)), 10_000);
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(error);
      };
      child.once('error', (error) => fail(new Error(`cannot run ${binary} (${error.message}); install redis-server or set REDIS_SERVER`)));
      child.once('exit', onExit);
      const onData = (chunk: Buffer) => {
        if (settled) return; // keep reading the pipe so the server never blocks on it
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          settled = true;
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
    });
  }

  /** Stops the server (SIGTERM; with appendonly the data is on disk). */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** Kills the server abruptly. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Starts it again on the same port and directory. */
  async restart(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) await this.stop();
    await this.launch();
  }

  /** Stops the server and removes its directory. */
  async cleanup(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }
}
