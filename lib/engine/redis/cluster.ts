import Redis, { Cluster, type ClusterNode, type ClusterOptions } from 'ioredis';
import { VerkRedisError } from '../errors';

/**
 * Redis Cluster support: the `redis` option's cluster form, hash slots, and finding the
 * node that owns the one slot of an instance's keys.
 *
 * In cluster mode every key of one Verk instance carries the same hash tag (the `prefix`
 * must contain one, `{verk}:` by default), so they all live in one slot on one master:
 * scripts, MULTI and pipelines run there as on a single Redis, and the node-local
 * commands (BLMOVE with CLIENT UNBLOCK, SCAN, WAIT) go to that master.
 */

/** `redis: { cluster: [{ host, port }], options }`: the seed nodes and ioredis ClusterOptions. */
export interface VerkClusterConfig {
  cluster: ClusterNode[];
  options?: ClusterOptions;
}

/** The prefix a cluster-mode instance gets when none is given: every key in the `verk` slot. */
export const DEFAULT_CLUSTER_PREFIX = '{verk}:';

/**
 * The hash tag Redis Cluster hashes for a key: the text between the first `{` and the
 * next `}` when it is not empty, else undefined (the whole key is hashed).
 */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close <= open + 1) return undefined;
  return key.slice(open + 1, close);
}

/** CRC16/XMODEM, the checksum Redis Cluster maps keys to slots with. */
function crc16(bytes: Buffer): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The hash slot (0 to 16383) of a key, as Redis Cluster computes it. */
export function hashSlot(key: string): number {
  return crc16(Buffer.from(hashTagOf(key) ?? key, 'utf8')) % 16384;
}

/** True for the cluster form of the `redis` option. */
export function isClusterConfig(value: unknown): value is VerkClusterConfig {
  return typeof value === 'object' && value !== null && !(value instanceof Redis) && !(value instanceof Cluster) && Array.isArray((value as { cluster?: unknown }).cluster);
}

/** True when a connection is an ioredis Cluster. */
export function isCluster(connection: unknown): connection is Cluster {
  return connection instanceof Cluster;
}

/**
 * The connection as a Cluster, or undefined when it is a single Redis. (Engine code holds
 * every connection typed as Redis, see openConnection; a type guard would narrow it to never.)
 */
export function asCluster(connection: unknown): Cluster | undefined {
  return connection instanceof Cluster ? connection : undefined;
}

/** ioredis's error for a command on a connection that closed: it says nothing of why. */
const CONNECTION_CLOSED = 'Connection is closed.';

/** How often, at most, a Cluster's unexplained node failure is probed (see lastNodeErrorOf). */
const PROBE_INTERVAL_MS = 2000;

/**
 * On a Cluster, the last error that says why a node could not be reached (a server
 * certificate not trusted, ECONNREFUSED, NOAUTH). When no node answers, ioredis reports
 * "Failed to refresh slots cache." with only "Connection is closed." as the cause: it asks
 * CLUSTER SLOTS on a throwaway copy of the node connection whose own error (the TLS
 * handshake's, say) it discards. So on such a 'node error' this connects once to that
 * node with the same options (at most every PROBE_INTERVAL_MS) and keeps the probe's
 * error. Forgotten once the Cluster is ready. On a single Redis, whose own error already
 * says why, the getter returns undefined.
 */
export function lastNodeErrorOf(connection: Redis): () => string | undefined {
  const cluster = asCluster(connection);
  if (!cluster) return () => undefined;
  let last: string | undefined;
  let probedAt = Number.NEGATIVE_INFINITY;
  cluster.on('node error', (error: Error, key: string) => {
    if (error.message !== CONNECTION_CLOSED) {
      last = `node ${key}: ${error.message}`;
      return;
    }
    const node = cluster.nodes('all').find((candidate) => nodeKeyOf(candidate) === key);
    if (!node || Date.now() - probedAt < PROBE_INTERVAL_MS) return;
    probedAt = Date.now();
    const probe = node.duplicate({ lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableReadyCheck: false, connectTimeout: PROBE_INTERVAL_MS });
    probe.on('error', (cause: Error) => {
      if (cause.message !== CONNECTION_CLOSED) last = `node ${key}: ${cause.message}`;
    });
    probe.connect().then(
      () => probe.disconnect(),
      () => probe.disconnect(),
    );
  });
  cluster.on('ready', () => (last = undefined));
  return () => last;
}

/** `host:port`, the name ioredis gives a node in `slots` and its connection pool. */
export function nodeKeyOf(node: Redis): string {
  return `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`;
}

/** The key ioredis's slot table names as the master of `key`'s slot, if it knows one. */
export function masterKeyFor(cluster: Cluster, key: string): string | undefined {
  return (cluster.slots[hashSlot(key)] as string[] | undefined)?.[0];
}

/**
 * The connection `cluster` uses to the master of `key`'s slot (the same one its keyed
 * commands travel on), or undefined while its slot table does not know that master.
 */
export function masterFor(cluster: Cluster, key: string): Redis | undefined {
  const wanted = masterKeyFor(cluster, key);
  if (wanted === undefined) return undefined;
  return cluster.nodes('master').find((node) => nodeKeyOf(node) === wanted);
}

/**
 * The connection to send a node-local command (SCAN, WAIT, CLIENT) for `key` on: the
 * connection itself on a single Redis; on a Cluster its connection to the master of
 * `key`'s slot (connecting first when the slot table is not known yet).
 */
export async function connectionFor(redis: Redis, key: string): Promise<Redis> {
  const cluster = asCluster(redis);
  if (!cluster) return redis;
  const known = masterFor(cluster, key);
  if (known) return known;
  // A keyed command connects the Cluster and fills its slot table.
  await cluster.exists(key);
  const master = masterFor(cluster, key);
  if (!master) throw new VerkRedisError(`No master of the Redis Cluster holds slot ${hashSlot(key)} (key ${key}) right now`);
  return master;
}
