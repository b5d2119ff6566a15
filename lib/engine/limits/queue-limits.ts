import type Redis from 'ioredis';
import type { Keys } from '../redis/keys';
import { checkExec } from '../redis/multi';
import { publishIn } from '../redis/pubsub';

/** At most `max` jobs start per `duration` ms (a sliding window: never more than `max` in any `duration` ms). */
export interface RateLimit {
  max: number;
  /** Window length, ms. */
  duration: number;
}

/** Limits of each group of a queue (a job's `group` field), across all nodes. */
export interface GroupLimits {
  /** At most this many jobs of one group run at once. */
  concurrency?: number;
  /** At most `max` jobs of one group start per `duration` ms. */
  rateLimit?: RateLimit;
}

/**
 * A queue's limits across all nodes (docs/limits.md), stored in Redis so every node obeys
 * the same ones; set in the queue config or at runtime with `setQueueLimits`.
 */
export interface QueueLimits {
  /** At most `max` jobs of the queue start per `duration` ms, over all nodes. */
  rateLimit?: RateLimit;
  /** At most this many jobs of the queue run at once, over all nodes. */
  globalConcurrency?: number;
  /** Per-group limits; grouped jobs are served round-robin across groups with or without them. */
  groups?: GroupLimits;
}

/** A queue in the `queues` option: its concurrency on this node, with or without limits. */
export type QueueConfig = number | ({ concurrency: number } & QueueLimits);

/** What `queueLimits` and `queueStats` show of a queue's limits. */
export interface QueueLimitsState {
  /** The limits in force (empty: none). */
  limits: QueueLimits;
  /** Jobs running under the limits now, over all nodes. */
  running: number;
  /** Until when (epoch ms) a VerkRateLimitError without group paused the queue; 0 when it is not paused. */
  pausedUntil: number;
  /** Grouped jobs waiting in the queue's groups (taken out of its list by the limited fetch). */
  grouped: number;
  /** Groups with waiting jobs. */
  groups: number;
}

/** The configuration fields of the limits hash (verk:limits:<q>); the others are the fetch's state. */
const CONFIG_FIELDS = ['rate_max', 'rate_duration', 'global', 'group_concurrency', 'group_rate_max', 'group_rate_duration'] as const;

const LIMIT_KEYS = new Set(['rateLimit', 'globalConcurrency', 'groups']);
const GROUP_KEYS = new Set(['concurrency', 'rateLimit']);
const RATE_KEYS = new Set(['max', 'duration']);

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function positiveInteger(value: unknown, field: string, fail: (field: string, message: string) => never): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(field, `must be an integer >= 1, got ${JSON.stringify(value)}`);
  return value;
}

function unknownKeys(value: Record<string, unknown>, known: Set<string>, field: string, fail: (field: string, message: string) => never): void {
  for (const key of Object.keys(value)) if (!known.has(key)) fail(`${field}.${key}`, `unknown field (known: ${[...known].join(', ')})`);
}

function checkRate(value: unknown, field: string, fail: (field: string, message: string) => never): RateLimit {
  if (!isObject(value)) fail(field, `must be { max, duration }, got ${JSON.stringify(value)}`);
  unknownKeys(value, RATE_KEYS, field, fail);
  return { max: positiveInteger(value.max, `${field}.max`, fail), duration: positiveInteger(value.duration, `${field}.duration`, fail) };
}

/**
 * Checks limits (the object form of a queue's config, less `concurrency`, or the argument
 * of setQueueLimits); `fail` throws the error that fits the caller (config or validation).
 */
export function checkQueueLimits(value: unknown, field: string, fail: (field: string, message: string) => never, extraKeys: readonly string[] = []): QueueLimits {
  if (!isObject(value)) fail(field, `must be an object of limits, got ${JSON.stringify(value)}`);
  unknownKeys(value, new Set([...LIMIT_KEYS, ...extraKeys]), field, fail);
  const limits: QueueLimits = {};
  if (value.rateLimit !== undefined) limits.rateLimit = checkRate(value.rateLimit, `${field}.rateLimit`, fail);
  if (value.globalConcurrency !== undefined) limits.globalConcurrency = positiveInteger(value.globalConcurrency, `${field}.globalConcurrency`, fail);
  if (value.groups !== undefined) {
    if (!isObject(value.groups)) fail(`${field}.groups`, `must be { concurrency?, rateLimit? }, got ${JSON.stringify(value.groups)}`);
    unknownKeys(value.groups, GROUP_KEYS, `${field}.groups`, fail);
    const groups: GroupLimits = {};
    if (value.groups.concurrency !== undefined) groups.concurrency = positiveInteger(value.groups.concurrency, `${field}.groups.concurrency`, fail);
    if (value.groups.rateLimit !== undefined) groups.rateLimit = checkRate(value.groups.rateLimit, `${field}.groups.rateLimit`, fail);
    limits.groups = groups;
  }
  return limits;
}

/** The hash fields of limits (the configuration part of verk:limits:<q>). */
function fieldsOf(limits: QueueLimits): Record<string, number> {
  const fields: Record<string, number> = {};
  if (limits.rateLimit) Object.assign(fields, { rate_max: limits.rateLimit.max, rate_duration: limits.rateLimit.duration });
  if (limits.globalConcurrency !== undefined) fields.global = limits.globalConcurrency;
  if (limits.groups?.concurrency !== undefined) fields.group_concurrency = limits.groups.concurrency;
  if (limits.groups?.rateLimit) Object.assign(fields, { group_rate_max: limits.groups.rateLimit.max, group_rate_duration: limits.groups.rateLimit.duration });
  return fields;
}

function limitsOf(hash: Record<string, string>): QueueLimits {
  const number = (field: string): number | undefined => (hash[field] === undefined ? undefined : Number(hash[field]));
  const limits: QueueLimits = {};
  const [rateMax, rateDuration, global, groupConcurrency, groupRateMax, groupRateDuration] = CONFIG_FIELDS.map(number);
  if (rateMax !== undefined && rateDuration !== undefined) limits.rateLimit = { max: rateMax, duration: rateDuration };
  if (global !== undefined) limits.globalConcurrency = global;
  if (groupConcurrency !== undefined || groupRateMax !== undefined) {
    limits.groups = {};
    if (groupConcurrency !== undefined) limits.groups.concurrency = groupConcurrency;
    if (groupRateMax !== undefined && groupRateDuration !== undefined) limits.groups.rateLimit = { max: groupRateMax, duration: groupRateDuration };
  }
  return limits;
}

/** Whether limits set anything (an empty object lifts every limit). */
export function hasLimits(limits: QueueLimits): boolean {
  return Object.keys(fieldsOf(limits)).length > 0;
}

/**
 * Replaces a queue's limits in Redis (fields absent from `limits` are lifted) and announces
 * the change on the control channel, so every node fetches with them at once.
 */
export async function writeQueueLimits(redis: Redis, keys: Keys, queue: string, limits: QueueLimits): Promise<void> {
  const fields = fieldsOf(limits);
  const multi = redis.multi().hdel(keys.limits(queue), ...CONFIG_FIELDS);
  if (Object.keys(fields).length > 0) multi.hset(keys.limits(queue), fields);
  publishIn(multi, keys, keys.control, JSON.stringify({ type: 'limits', queue }));
  checkExec(await multi.exec());
}

/** Whether a queue is fetched with limits/fetchLimited (its limits hash exists). */
export async function isLimited(redis: Redis, keys: Keys, queue: string): Promise<boolean> {
  return (await redis.exists(keys.limits(queue))) === 1;
}

/** A queue's limits and their state, from its limits hash and the sizes of its grouped set and group ring. */
export function limitsState(hash: Record<string, string>, grouped: number, groups: number): QueueLimitsState {
  const pausedUntil = Number(hash.paused_until ?? 0);
  return { limits: limitsOf(hash), running: Math.max(0, Number(hash.running ?? 0)), pausedUntil: pausedUntil > Date.now() ? pausedUntil : 0, grouped, groups };
}

/** A queue's limits and their state, in one MULTI. */
export async function readQueueLimits(redis: Redis, keys: Keys, queue: string): Promise<QueueLimitsState> {
  const [hash, grouped, groups] = checkExec(await redis.multi().hgetall(keys.limits(queue)).zcard(keys.grouped(queue)).zcard(keys.groupRing(queue)).exec()) as [Record<string, string>, number, number];
  return limitsState(hash, grouped, groups);
}
