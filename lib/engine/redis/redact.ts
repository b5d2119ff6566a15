import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { isClusterConfig, type VerkClusterConfig } from './cluster';

/*
 * Credentials never reach a message: errors and logs end up in log aggregators, CI
 * output and bug reports, where a Redis password would be read by anyone.
 */

const MASK = '***';

/** Query parameters that carry a secret (ioredis reads `?password=` as an option). */
const SECRET_PARAM = /pass|secret|token/i;

/** Option fields of ioredis (and its `tls`, `sentinels`) that hold a secret. */
const SECRET_OPTIONS = new Set(['password', 'sentinelPassword', 'passphrase', 'key', 'pfx']);

/**
 * A URL with its password hidden, for messages: `redis://:***@host:6379/0`, and with a
 * user `redis://user:***@host` (a user name is not a secret). Query parameters such as
 * `?password=` are hidden too. A string that does not parse as a URL, or whose `@` is
 * not where a URL's credentials end, has everything between `//` and the last `@`
 * hidden: `redis://***@host` (which part was the password cannot be told then).
 */
export function redactRedisUrl(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  // An `@` after the host (`redis://pa?ss@host` parses with host `pa`) means the text
  // before it may be a password that did not parse as one: hide it textually.
  if (!parsed || `${parsed.pathname}${parsed.search}${parsed.hash}`.includes('@') || !parsed.host) return redactUserInfo(url);
  if (parsed.password) parsed.password = MASK;
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) parsed.searchParams.set(name, MASK);
  }
  return parsed.href;
}

/** Hides everything between `//` and the last `@` (a string that is not a well-formed URL). */
function redactUserInfo(text: string): string {
  const start = text.indexOf('//');
  const end = text.lastIndexOf('@');
  if (start === -1 || end < start) return text;
  return `${text.slice(0, start + 2)}${MASK}${text.slice(end)}`;
}

/**
 * A copy of ioredis options with every secret replaced by `***` (password,
 * sentinelPassword, TLS keys and passphrases, sentinels' passwords): safe to print.
 */
export function redactRedisOptions(options: RedisOptions): Record<string, unknown> {
  return redactObject(options as Record<string, unknown>, 0);
}

function redactObject(value: Record<string, unknown>, depth: number): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [field, item] of Object.entries(value)) copy[field] = redactValue(field, item, depth);
  return copy;
}

function redactValue(field: string, value: unknown, depth: number): unknown {
  if (value === undefined || value === null || value === '') return value;
  if (SECRET_OPTIONS.has(field)) return MASK;
  if (typeof value === 'string') return redactSecrets(value);
  // Deep enough for `tls: { ... }` and `sentinels: [{ host, port, password }]`.
  if (depth >= 3 || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactValue('', item, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return redactObject(value as Record<string, unknown>, depth + 1);
}

/**
 * Free text (an error message) with the credentials of every URL in it hidden, for
 * messages whose text comes from elsewhere (ioredis, a socket, the user).
 */
export function redactSecrets(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi, (url) => redactRedisUrl(url));
}

/** What a connection points at, for messages: the redacted URL, or host:port of options. */
export function describeRedis(redis: string | RedisOptions | VerkClusterConfig | Redis | Cluster): string {
  if (typeof redis === 'string') return redactRedisUrl(redis);
  if (redis instanceof Cluster) return 'the application\'s Redis Cluster connection';
  if (isClusterConfig(redis)) {
    const tls = redis.options?.redisOptions?.tls ? ' (TLS)' : '';
    return `cluster ${redis.cluster.map((node) => (typeof node === 'object' ? `${node.host ?? '127.0.0.1'}:${node.port ?? 6379}` : redactRedisUrl(String(node)))).join(',')}${tls}`;
  }
  if (redis instanceof Redis) return describeRedis(redis.options);
  if (redis.path) return redis.path;
  return `${redis.tls ? 'rediss' : 'redis'}://${redis.host ?? '127.0.0.1'}:${redis.port ?? 6379}${redis.db ? `/${redis.db}` : ''}`;
}
