import { Injectable } from '@nestjs/common';
import { checkPingTimeout } from '../engine/redis/redis-health';
import { redactSecrets } from '../engine/redis/redact';
import { VerkEngine, type VerkHealthFacts } from '../engine/verk-engine';

/*
 * How this works with @nestjs/terminus without depending on it.
 *
 * @nestjs/terminus is an optional peer dependency: `import ... from 'nestjs-verk'` must
 * work in an application that does not have it. So this file imports nothing from
 * terminus, not even types (the emitted .d.ts would otherwise name a module such an
 * application cannot resolve).
 *
 * Terminus 11's HealthCheckExecutor runs every indicator function and sorts what they
 * resolve to by each entry's `status`: 'up' goes to `info`, 'down' to `error`, and any
 * error makes HealthCheckService.check() throw ServiceUnavailableException (503). This
 * is the documented way since terminus 11: HealthIndicatorService.check(key).down(data)
 * simply returns `{ [key]: { ...data, status: 'down' } }`. The older way, throwing a
 * HealthCheckError (any error with `isHealthCheckError: true` and `causes`), still works
 * in 11 but is deprecated there and reported removed in 12, where a thrown error no
 * longer yields a 503. So the methods below never throw for an unhealthy node: they
 * resolve to the same object HealthIndicatorService would build, with status 'down'
 * and a `message` saying what is wrong. Terminus 10 and older treated every resolved
 * result as healthy; the peer range starts at 11.
 */

/** Options of the checks that PING Redis. */
export interface VerkHealthCheckOptions {
  /** How long to wait for Redis to answer PING, ms. Default 1000. */
  timeout?: number;
}

/** Details of one check; `message` (down only) says what is wrong. */
export interface VerkHealthDetails {
  status: 'up' | 'down';
  message?: string;
  [detail: string]: unknown;
}

/**
 * A health indicator result: `{ [key]: { status: 'up' | 'down', ...details } }`, the
 * shape of terminus's HealthIndicatorResult (assignable to it).
 */
export type VerkHealthIndicatorResult<Key extends string = string> = Record<Key, VerkHealthDetails>;

const DEFAULT_PING_TIMEOUT = 1000;

/** `75000` -> `75 s`, `450` -> `0.5 s`. */
function seconds(ms: number): string {
  const value = ms >= 10_000 ? Math.round(ms / 1000) : Math.round(ms / 100) / 10;
  return `${value} s`;
}

/**
 * Health of this Verk node for @nestjs/terminus:
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.verk.isHealthy('verk')]); }
 * ```
 *
 * Each method resolves to `{ [key]: { status: 'up', ...details } }`, or, when unhealthy,
 * to `{ [key]: { status: 'down', message, ...details } }`, which terminus's
 * HealthCheckService turns into a 503. Provided and exported by VerkModule.
 */
@Injectable()
export class VerkHealthIndicator {
  constructor(private readonly engine: VerkEngine) {}

  /**
   * Redis answers PING within `timeout` ms (default 1000), this node's heartbeat is
   * fresh (it reached Redis within the last 2 × `heartbeat`), and the node and every one
   * of its queues are running.
   */
  async isHealthy<Key extends string>(key: Key, options: VerkHealthCheckOptions = {}): Promise<VerkHealthIndicatorResult<Key>> {
    const timeout = pingTimeout(options);
    const redis = await this.redis(timeout);
    // Read after the PING, so the facts are as fresh as they can be and agree with each other.
    const facts = this.engine.health();
    const heartbeat = judgeHeartbeat(facts);
    const problems = [...redis.problems, ...heartbeat.problems];
    for (const [queue, { running }] of Object.entries(facts.queues)) if (!running) problems.push(`queue ${queue} is not running`);
    const queues = Object.fromEntries(Object.entries(facts.queues).map(([queue, { running }]) => [queue, running ? 'running' : 'not running']));
    return result(key, problems, { ...this.instanceDetail(), nodeId: facts.nodeId, ...redis.details, ...heartbeat.details, queues });
  }

  /** Redis answers PING within `timeout` ms (default 1000). */
  async checkRedis<Key extends string>(key: Key, options: VerkHealthCheckOptions = {}): Promise<VerkHealthIndicatorResult<Key>> {
    const redis = await this.redis(pingTimeout(options));
    return result(key, redis.problems, { ...this.instanceDetail(), ...redis.details });
  }

  /** This node is running and its heartbeat reached Redis within the last 2 × `heartbeat`. */
  async checkHeartbeat<Key extends string>(key: Key): Promise<VerkHealthIndicatorResult<Key>> {
    const heartbeat = judgeHeartbeat(this.engine.health());
    return result(key, heartbeat.problems, { ...this.instanceDetail(), nodeId: this.engine.nodeId, ...heartbeat.details });
  }

  /** `{ instance: name }` for a named instance (VerkModule.forRoot({ name })), nothing for the unnamed one. */
  private instanceDetail(): { instance?: string } {
    return this.engine.instance === undefined ? {} : { instance: this.engine.instance };
  }

  private async redis(timeout: number): Promise<Finding> {
    try {
      const pingMs = await this.engine.ping(timeout);
      return { problems: [], details: { pingMs } };
    } catch (error) {
      // The text may come from ioredis or a socket: never let a credential into a health report.
      return { problems: [redactSecrets((error as Error).message)], details: {} };
    }
  }
}

/** Fresh = the last heartbeat reached Redis within 2 × heartbeat; the node must be running. */
function judgeHeartbeat({ nodeId, state, heartbeat, lastHeartbeatAt }: VerkHealthFacts): Finding {
  const limitMs = 2 * heartbeat;
  const problems: string[] = [];
  if (state !== 'running') problems.push(`node ${nodeId} is ${state === 'new' ? 'not started' : state}`);
  if (lastHeartbeatAt === 0) {
    problems.push(`node ${nodeId} has sent no heartbeat yet`);
    return { problems, details: { heartbeatAgeMs: null, heartbeatLimitMs: limitMs } };
  }
  const ageMs = Math.max(0, Date.now() - lastHeartbeatAt);
  if (ageMs > limitMs) problems.push(`heartbeat is ${seconds(ageMs)} old (limit ${seconds(limitMs)})`);
  return { problems, details: { heartbeatAgeMs: ageMs, heartbeatLimitMs: limitMs } };
}

interface Finding {
  problems: string[];
  details: Record<string, unknown>;
}

/** The engine checks its own argument the same way: one bad value, one error class (VerkValidationError). */
function pingTimeout(options: VerkHealthCheckOptions): number {
  return checkPingTimeout(options.timeout ?? DEFAULT_PING_TIMEOUT, 'options.timeout');
}

/** The same object terminus's HealthIndicatorService.check(key).up(data) / .down(data) builds. */
function result<Key extends string>(key: Key, problems: string[], details: Record<string, unknown>): VerkHealthIndicatorResult<Key> {
  const entry: VerkHealthDetails = problems.length === 0 ? { status: 'up', ...details } : { status: 'down', message: problems.join('; '), ...details };
  return { [key]: entry } as VerkHealthIndicatorResult<Key>;
}
