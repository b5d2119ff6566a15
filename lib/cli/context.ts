import { hostname } from 'node:os';
import { VerkError } from '../engine/errors';
import { silentLogger } from '../engine/logger';
import { redactSecrets } from '../engine/redis/redact';
import { VerkEngine } from '../engine/verk-engine';
import { CliError } from './cli-error';
import type { Output } from './output';
import type { CliTarget } from './target';

/** What every command gets: the engine (never started: no node, no queues) and the output. */
export interface CliContext {
  readonly engine: VerkEngine;
  readonly out: Output;
  /** The Redis URL with its password masked, or `cluster host:port,…`, for messages. */
  readonly where: string;
}

const PING_TIMEOUT_MS = 3000;

/**
 * A VerkEngine on `target` (one Redis or a cluster's seeds) that is never started: the
 * CLI only uses its admin, browse, bulk, flow, recurring and recorder calls (the code the
 * service and the dashboard use), and `subscribe` for tail. Its connections open lazily;
 * PING first, so a wrong URL, seeds that are down or a Redis that is not a cluster fail
 * in seconds with a message saying so. `prefix` is passed only when given: in cluster
 * mode the engine's default (`{verk}:`) applies then.
 */
export async function openContext(target: CliTarget, prefix: string | undefined, out: Output): Promise<CliContext> {
  const { where } = target;
  let engine: VerkEngine;
  try {
    engine = new VerkEngine({ redis: target.redis, ...(prefix === undefined ? {} : { prefix }), nodeId: `verk-cli-${hostname()}-${process.pid}`.replace(/[\s:]/g, '-') }, { logger: silentLogger });
  } catch (error) {
    throw new CliError(error instanceof VerkError ? error.message : `invalid ${target.cluster ? '--cluster' : '--redis'} ${where}: ${(error as Error).message}`, 2);
  }
  try {
    await engine.ping(PING_TIMEOUT_MS);
  } catch (error) {
    await engine.stop().catch(() => undefined);
    const message = redactSecrets((error as Error).message);
    throw new CliError(target.cluster ? `cannot reach the Redis Cluster (seeds ${where.replace(/^cluster /, '')}): ${message}` : `cannot reach Redis at ${where}: ${message}`);
  }
  return { engine, out, where };
}

/** Closes the engine's connections. */
export async function closeContext(context: CliContext): Promise<void> {
  await context.engine.stop();
}
