import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { freePort } from './redis-server';
import { type TlsFiles, tlsServerArgs } from './tls-certs';

const run = promisify(execFile);
const running = new Set<ChildProcess>();
// Whatever happens to a test (failure, timeout, crash), no redis-server outlives it.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** True when nothing listens on `port` of the loopback. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10000 > 65535 || taken.has(port) || taken.has(port + 10000)) continue;
    if (await portFree(port + 10000)) {
      taken.add(port);
      taken.add(port + 10000);
      return port;
    }
  }
}

interface Node {
  port: number;
  dir: string;
  child?: ChildProcess;
}

export interface RedisClusterOptions {
  /** Masters (at least 3, redis-cli's minimum). Default 3. */
  masters?: number;
  /** Replicas per master. Default 0. */
  replicas?: number;
  /** cluster-node-timeout, ms: how soon a dead master is failed over. Default 1000. */
  nodeTimeout?: number;
  /** TLS only, between clients and nodes and on the cluster bus and replication (makeTlsFiles()). */
  tls?: TlsFiles;
}

/**
 * A private Redis Cluster: `masters` (+ `masters * replicas`) redis-server processes with
 * --cluster-enabled on free loopback ports, each in its own temp dir, joined with
 * `redis-cli --cluster create … --cluster-yes` (Debian's redis-tools). stop() kills every
 * process and removes the dirs; the process-exit hook kills whatever a crashed test left.
 */
export class RedisCluster {
  private constructor(
    private readonly nodes: Node[],
    private readonly nodeTimeout: number,
    private readonly tls?: TlsFiles,
  ) {}

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const masters = options.masters ?? 3;
    const replicas = options.replicas ?? 0;
    const taken = new Set<number>();
    const nodes: Node[] = [];
    for (let i = 0; i < masters * (1 + replicas); i++) nodes.push({ port: await freeClusterPort(taken), dir: mkdtempSync(join(tmpdir(), 'verk-cluster-')) });
    const cluster = new RedisCluster(nodes, options.nodeTimeout ?? 1000, options.tls);
    try {
      await Promise.all(nodes.map((node) => cluster.launch(node)));
      const cli = process.env.REDIS_CLI || 'redis-cli';
      const tls = options.tls ? ['--tls', '--cacert', options.tls.caFile] : [];
      await run(cli, [...tls, '--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 60_000 });
      await cluster.waitUntilOk(replicas);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** The seed nodes, as the `redis: { cluster }` option takes them. */
  get seeds(): { host: string; port: number }[] {
    return this.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }));
  }

  /** The options every node connection needs: for a TLS cluster, the CA to trust; else none. */
  get redisOptions(): { tls?: { ca: string } } {
    return this.tls ? { tls: { ca: this.tls.ca } } : {};
  }

  /** Ports of the processes still running. */
  get ports(): number[] {
    return this.nodes.filter((node) => node.child).map((node) => node.port);
  }

  private launch(node: Node): Promise<void> {
    const nodeTimeout = this.nodeTimeout;
    const binary = process.env.REDIS_SERVER || 'redis-server';
    // With TLS the bus (tls-port + 10000) and replication are TLS too: nothing in the clear.
    const listen = this.tls ? [...tlsServerArgs(this.tls, node.port), '--tls-cluster', 'yes', '--tls-replication', 'yes'] : ['--port', String(node.port)];
    const args = [
      ...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', node.dir, '--daemonize', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', join(node.dir, 'nodes.conf'), '--cluster-node-timeout', String(nodeTimeout),
      // A test kills a master: the replica takes over at once, whatever its replication lag.
      '--cluster-replica-validity-factor', '0',
    ];
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    node.child = child;
    running.add(child);
    child.once('exit', () => {
      running.delete(child);
      if (node.child === child) node.child = undefined;
    });
    return new Promise((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`cluster node ${node.port} did not start in 10 s:\n${output}`)), 10_000);
      child.once('error', (error) => reject(new Error(`cannot run ${binary}: ${error.message}`)));
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
    });
  }

  /** Runs `command` on one node over a short-lived connection. */
  async onNode(port: number, ...command: string[]): Promise<unknown> {
    const redis = new Redis({ port, host: '127.0.0.1', ...this.redisOptions, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return await redis.call(command[0], ...command.slice(1));
    } finally {
      redis.disconnect();
    }
  }

  /** Waits until every running node says cluster_state:ok and every master has `replicas` replicas in sync. */
  async waitUntilOk(replicas = 0, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const infos = await Promise.all(this.ports.map((port) => this.onNode(port, 'CLUSTER', 'INFO')));
        const ok = infos.every((info) => String(info).includes('cluster_state:ok'));
        const synced = await Promise.all(
          this.ports.map(async (port) => {
            const replication = String(await this.onNode(port, 'INFO', 'replication'));
            if (!replication.includes('role:master')) return true;
            const online = (replication.match(/state=online/g) ?? []).length;
            return online >= replicas;
          }),
        );
        if (ok && synced.every(Boolean)) return;
        last = infos.map(String).join('\n');
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`cluster not ok after ${timeoutMs} ms:\n${last}`);
  }

  /** The port of the master that serves `key`'s slot now. */
  async masterOf(key: string): Promise<number> {
    const slot = Number(await this.onNode(this.ports[0], 'CLUSTER', 'KEYSLOT', key));
    const slots = (await this.onNode(this.ports[0], 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const range = slots.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`no node serves slot ${slot}`);
    return Number(range[2][1]);
  }

  /** kill -9 of one node. */
  async kill(port: number): Promise<void> {
    const node = this.nodes.find((candidate) => candidate.port === port);
    const child = node?.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts a killed node again (same port and nodes.conf): it rejoins, as a replica when it was failed over. */
  async restart(port: number): Promise<void> {
    const node = this.nodes.find((candidate) => candidate.port === port);
    if (!node || node.child) throw new Error(`node ${port} is not stopped`);
    await this.launch(node);
  }

  /** Waits until a node other than `deadPort` serves `key`'s slot and the survivors agree the cluster is ok. */
  async waitForFailover(key: string, deadPort: number, timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const master = await this.masterOf(key);
        if (master !== deadPort) {
          await this.waitUntilOk(0, Math.max(1000, deadline - Date.now()));
          return master;
        }
      } catch {
        // a node may be mid-election
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`no failover of ${key}'s slot within ${timeoutMs} ms`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.kill(node.port)));
    for (const node of this.nodes) rmSync(node.dir, { recursive: true, force: true });
  }
}
