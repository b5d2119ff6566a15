import type { ClusterNode, RedisOptions } from 'ioredis';
import type { VerkClusterConfig } from '../engine/redis/cluster';
import { describeRedis, redactRedisUrl } from '../engine/redis/redact';
import { usageError } from './cli-error';

/**
 * Where the CLI connects: one Redis (`--redis URL`, $REDIS_URL) or a Redis Cluster's seed
 * nodes (`--cluster host:port,…`, $REDIS_CLUSTER), as the engine's `redis` option takes
 * it. The prefix is not decided here: in cluster mode the engine's default (`{verk}:`)
 * applies unless `--prefix` is given.
 */
export interface CliTarget {
  readonly redis: string | VerkClusterConfig;
  readonly cluster: boolean;
  /** For messages: the URL with its password masked, or `cluster host:port,…` (never a password). */
  readonly where: string;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';

/**
 * The target from the global options and the environment. A flag wins over the
 * environment; `--redis` with `--cluster`, or neither flag with both $REDIS_URL and
 * $REDIS_CLUSTER set, is a usage error: which one was meant cannot be told, and a
 * command run against the wrong Redis (a retry, a delete) is not undone.
 */
export function resolveTarget(values: { redis?: string; cluster?: string; tls?: boolean }, env: NodeJS.ProcessEnv): CliTarget {
  const tls = values.tls === true;
  if (values.redis !== undefined && values.cluster !== undefined) {
    throw usageError('--redis and --cluster cannot be used together: give --redis URL for one Redis, or --cluster host:port,… for a Redis Cluster');
  }
  if (values.cluster !== undefined) return clusterTarget(values.cluster, '--cluster', tls);
  if (values.redis !== undefined) return urlTarget(values.redis, '--redis', tls);
  const envUrl = env.REDIS_URL || undefined;
  const envCluster = env.REDIS_CLUSTER || undefined;
  if (envUrl !== undefined && envCluster !== undefined) {
    throw usageError('$REDIS_URL and $REDIS_CLUSTER are both set: unset one, or choose with --redis or --cluster');
  }
  if (envCluster !== undefined) return clusterTarget(envCluster, '$REDIS_CLUSTER', tls);
  return urlTarget(envUrl ?? DEFAULT_URL, envUrl === undefined ? 'the default Redis URL' : '$REDIS_URL', tls);
}

/**
 * One Redis by URL: ioredis makes a `rediss://` one TLS. `--tls` is accepted with such a
 * URL only; with `redis://` it would be a second, contradicting answer to "TLS or not"
 * (and a plain URL cannot carry TLS options through to the engine's connections).
 */
function urlTarget(url: string, source: string, tls: boolean): CliTarget {
  if (tls && !/^rediss:\/\//i.test(url)) throw usageError(`--tls with ${source} ${redactRedisUrl(url)}: for TLS to one Redis write the URL as rediss://…`);
  return { redis: url, cluster: false, where: redactRedisUrl(url) };
}

interface Seed {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** A `rediss://` seed. */
  tls?: boolean;
}

/**
 * `host:port[,host:port…]` as the engine's `{ cluster: [{ host, port }] }`. A seed may also
 * be `redis://[user:password@]host:port`: the credentials are given to every node
 * (`options.redisOptions`), since a node found through the slot table is reached with
 * those, not with a seed's own (ioredis keeps a URL seed's password for that seed only).
 * TLS likewise: `rediss://` seeds, or `tls` (the `--tls` flag) for plain `host:port` ones,
 * set `redisOptions.tls` for every node; the CA is Node's, plus NODE_EXTRA_CA_CERTS.
 * Seeds that disagree about TLS are a usage error: the nodes of one cluster share it.
 */
export function parseClusterSeeds(text: string, source = '--cluster', tls = false): VerkClusterConfig {
  const items = text.split(',').map((item) => item.trim());
  if (items.every((item) => item === '')) throw usageError(`${source} needs at least one seed node, host:port[,host:port…]`);
  const seeds = items.map((item) => {
    if (item === '') throw usageError(`${source} "${redactList(text)}" has an empty seed (two commas in a row, or one at an end)`);
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(item) ? parseUrlSeed(item, source) : parsePlainSeed(item, source);
  });
  const credentials = seeds.filter((seed) => seed.username !== undefined || seed.password !== undefined);
  const first = credentials[0];
  if (credentials.some((seed) => seed.username !== first.username || seed.password !== first.password)) {
    throw usageError(`${source}: the seeds give different user names or passwords; the nodes of one cluster share them, give them once`);
  }
  const urlTls = seeds.filter((seed) => seed.tls === true).length;
  if (urlTls > 0 && urlTls < seeds.length) {
    throw usageError(`${source}: some seeds are rediss:// (TLS) and some are not; the nodes of one cluster share TLS, write every seed alike (or host:port seeds with --tls)`);
  }
  if (tls && seeds.some((seed) => seed.tls === false)) throw usageError(`${source}: --tls with a redis:// seed; write the seeds as rediss:// or host:port`);
  const cluster: ClusterNode[] = seeds.map(({ host, port }) => ({ host, port }));
  const useTls = tls || urlTls > 0;
  if (!first && !useTls) return { cluster };
  const redisOptions: RedisOptions = {};
  if (useTls) redisOptions.tls = {};
  if (!first) return { cluster, options: { redisOptions } };
  if (first.username !== undefined) redisOptions.username = first.username;
  if (first.password !== undefined) redisOptions.password = first.password;
  return { cluster, options: { redisOptions } };
}

function clusterTarget(text: string, source: string, tls: boolean): CliTarget {
  const redis = parseClusterSeeds(text, source, tls);
  return { redis, cluster: true, where: describeRedis(redis) };
}

/** `host:port` or `[ipv6]:port`. */
function parsePlainSeed(item: string, source: string): Seed {
  // Not echoed: what comes before an `@` may be a password.
  if (item.includes('@')) throw usageError(`${source}: a seed with a user or password must be a URL, redis://user:password@host:port`);
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(item);
  let host: string;
  let port: string | undefined;
  if (bracketed) {
    [, host, port] = bracketed;
  } else {
    const colon = item.lastIndexOf(':');
    if (colon !== -1 && item.indexOf(':') !== colon) throw usageError(`${source}: seed "${item}" looks like an IPv6 address; write it [address]:port`);
    host = colon === -1 ? item : item.slice(0, colon);
    port = colon === -1 ? undefined : item.slice(colon + 1);
  }
  if (host === '') throw usageError(`${source}: seed "${item}" has no host (expected host:port)`);
  if (port === undefined) throw usageError(`${source}: seed "${item}" has no port (expected host:port)`);
  return { host, port: portOf(port, item, source) };
}

/** `redis://[user:password@]host:port`; messages show it with the password masked. */
function parseUrlSeed(item: string, source: string): Seed {
  const shown = redactRedisUrl(item);
  let url: URL;
  try {
    url = new URL(item);
  } catch {
    throw usageError(`${source}: seed "${shown}" is not a valid URL (expected redis[s]://[user:password@]host:port)`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw usageError(`${source}: seed "${shown}" must be host:port or start with redis:// or rediss://`);
  if (url.pathname !== '' && url.pathname !== '/') throw usageError(`${source}: seed "${shown}" has a path or database; a Redis Cluster has database 0 only`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw usageError(`${source}: seed "${shown}" has no host (expected redis://host:port)`);
  if (url.port === '') throw usageError(`${source}: seed "${shown}" has no port (expected redis://host:port)`);
  const seed: Seed = { host, port: portOf(url.port, shown, source), tls: url.protocol === 'rediss:' };
  try {
    if (url.username) seed.username = decodeURIComponent(url.username);
    if (url.password) seed.password = decodeURIComponent(url.password);
  } catch {
    throw usageError(`${source}: seed "${shown}" has a malformed %-escape in its user name or password`);
  }
  return seed;
}

function portOf(text: string, shown: string, source: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw usageError(`${source}: seed "${shown}" has a bad port "${text}" (expected 1 to 65535)`);
  return port;
}

/** The whole list with the password of every URL seed in it masked. */
function redactList(text: string): string {
  return text
    .split(',')
    .map((item) => redactRedisUrl(item.trim()))
    .join(',');
}
