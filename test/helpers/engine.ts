import { after, before, beforeEach } from 'node:test';
import Redis from 'ioredis';
import { RedisServer } from './redis-server';
import { type VerkLogger, VerkEngine, type VerkOptions, type WorkerHandler } from '../../lib/engine';

/** Collects log lines instead of printing them; tests assert on them where it matters. */
export class MemoryLogger implements VerkLogger {
  readonly lines: string[] = [];
  log(message: string): void {
    this.lines.push(`log ${message}`);
  }
  warn(message: string): void {
    this.lines.push(`warn ${message}`);
  }
  error(message: string): void {
    this.lines.push(`error ${message}`);
  }
}

/** Creates and starts an engine with the given workers; the caller stops it. */
export async function startEngine(options: VerkOptions, workers: Record<string, WorkerHandler> = {}, logger: VerkLogger = new MemoryLogger()): Promise<VerkEngine> {
  const engine = new VerkEngine({ nodeId: 'test-node', ...options }, { logger });
  for (const [name, handler] of Object.entries(workers)) engine.workers.register(name, handler);
  await engine.start();
  return engine;
}

/** A plain connection for a test to inspect or write raw data. */
export function connect(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  redis.on('error', () => undefined); // tests that stop Redis expect reconnect noise
  return redis;
}

/** Parses every member of a sorted set. */
export async function zsetJobs(redis: Redis, key: string): Promise<Record<string, unknown>[]> {
  return (await redis.zrange(key, 0, '-1')).map((member) => JSON.parse(member) as Record<string, unknown>);
}

/**
 * The usual test-file setup: one private redis-server for the file, a connection to
 * inspect it, and a FLUSHALL before each test. Read `.server` and `.redis` inside tests.
 */
export function useRedis(): { readonly server: RedisServer; readonly redis: Redis } {
  const context = {} as { server: RedisServer; redis: Redis };
  before(async () => {
    context.server = await RedisServer.start();
    context.redis = connect(context.server.url);
  });
  beforeEach(async () => {
    await context.redis.flushall();
  });
  after(async () => {
    context.redis.disconnect();
    await context.server.cleanup();
  });
  return context;
}
