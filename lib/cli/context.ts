import { hostname } from 'node:os';
import { VerkError } from '../engine/errors';
import { silentLogger } from '../engine/logger';
import { redactRedisUrl } from '../engine/redis/redact';
import { VerkEngine } from '../engine/verk-engine';
import { CliError } from './cli-error';
import type { Output } from './output';

/** What every command gets: the engine (never started: no node, no queues) and the output. */
export interface CliContext {
  readonly engine: VerkEngine;
  readonly out: Output;
  /** The Redis URL with its password masked, for messages. */
  readonly where: string;
}

const PING_TIMEOUT_MS = 3000;

/**
 * A VerkEngine on `url` that is never started: the CLI only uses its admin, browse, bulk,
 * flow, recurring and recorder calls (the code the service and the dashboard use), and
 * `subscribe` for tail. Its connections open lazily; PING first, so a wrong URL or a
 * Redis that is down fails in seconds with a message saying so.
 */
export async function openContext(url: string, prefix: string | undefined, out: Output): Promise<CliContext> {
  const where = redactRedisUrl(url);
  let engine: VerkEngine;
  try {
    engine = new VerkEngine({ redis: url, prefix, nodeId: `verk-cli-${hostname()}-${process.pid}`.replace(/[\s:]/g, '-') }, { logger: silentLogger });
  } catch (error) {
    throw new CliError(error instanceof VerkError ? error.message : `invalid --redis ${where}: ${(error as Error).message}`, 2);
  }
  try {
    await engine.ping(PING_TIMEOUT_MS);
  } catch (error) {
    await engine.stop().catch(() => undefined);
    throw new CliError(`cannot reach Redis at ${where}: ${(error as Error).message}`);
  }
  return { engine, out, where };
}

/** Closes the engine's connections. */
export async function closeContext(context: CliContext): Promise<void> {
  await context.engine.stop();
}
