import type Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { clientName } from '../redis/blocking-connection';
import { VerkStateError } from '../errors';
import { Keys } from '../redis/keys';
import { DEFAULT_CLUSTER_PREFIX, isCluster, isClusterConfig } from '../redis/cluster';
import type { VerkLogger } from '../logger';
import { closeConnection, openConnection, type VerkRedisTarget, warnOnErrors } from '../redis/redis';
import { subscribe } from '../redis/pubsub';
import type { TrackedJobEvent } from './recorder';

export type TrackedJobListener = (event: TrackedJobEvent) => unknown;

/** Parses a message of `verk:track`; null when it is not an event. */
function parseTracked(message: string): TrackedJobEvent | null {
  try {
    const value = JSON.parse(message) as TrackedJobEvent;
    return value && typeof value === 'object' && typeof value.jid === 'string' && typeof value.event === 'string' ? value : null;
  } catch {
    return null;
  }
}

function deliver(listeners: Iterable<TrackedJobListener>, message: string, onError: (error: unknown) => void): void {
  const event = parseTracked(message);
  if (!event) return;
  for (const listener of listeners) {
    try {
      const result = listener(event);
      if (result instanceof Promise) result.catch(onError);
    } catch (error) {
      onError(error);
    }
  }
}

function connection(redis: VerkRedisTarget, name: string): Redis {
  // Subscriptions are re-established by ioredis after a reconnect; messages published meanwhile are lost (pub/sub).
  const overrides: RedisOptions = { connectionName: clientName(name), lazyConnect: true, maxRetriesPerRequest: null };
  return openConnection(redis, overrides, { lazyConnect: true, shardedSubscribers: true });
}

/**
 * Listens to the events of tracked jobs from any process, with just a Redis URL (no
 * engine): `listener` gets each event of every tracked job, in the order they were
 * published. Resolves once subscribed; call the returned function to unsubscribe and
 * close the connection. `prefix` must be the `prefix` option of the nodes.
 */
export async function subscribeToTrackedJobs(
  redis: VerkRedisTarget,
  listener: TrackedJobListener,
  options: { prefix?: string; onError?: (error: unknown) => void } = {},
): Promise<() => Promise<void>> {
  const clusterMode = isClusterConfig(redis) || isCluster(redis);
  const keys = new Keys(options.prefix ?? (clusterMode ? DEFAULT_CLUSTER_PREFIX : ''), clusterMode);
  const channel = keys.trackChannel;
  const subscriber = connection(redis, 'verk:track-subscriber');
  subscriber.on('error', () => undefined); // ioredis reconnects by itself
  const onError = options.onError ?? ((error: unknown) => console.error(`A tracked-job listener failed: ${String(error)}`));
  try {
    await subscribe(subscriber, keys, [channel], (from: string, message: string) => {
      if (from === channel) deliver([listener], message, onError);
    });
  } catch (error) {
    subscriber.disconnect();
    throw error;
  }
  return async () => {
    try {
      await subscriber.quit();
    } catch {
      subscriber.disconnect();
    }
  };
}

/**
 * The engine's subscription to `verk:track`: one connection, opened with the first
 * listener and closed on stop.
 */
export class TrackedJobSubscriptions {
  private readonly listeners = new Set<TrackedJobListener>();
  private subscriber?: Redis;
  private subscribed?: Promise<void>;
  private closed = false;

  constructor(
    private readonly redis: VerkRedisTarget,
    private readonly keys: Keys,
    private readonly name: string,
    private readonly logger: VerkLogger,
  ) {}

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: TrackedJobListener): () => void {
    if (this.closed) throw new VerkStateError('This Verk engine is stopped: it cannot subscribe to tracked jobs any more');
    this.listeners.add(listener);
    this.open();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Resolves once the subscription is in place (messages published before are not received). */
  async ready(): Promise<void> {
    await this.subscribed;
  }

  private open(): void {
    if (this.subscriber) return;
    const channel = this.keys.trackChannel;
    const subscriber = connection(this.redis, this.name);
    this.subscriber = subscriber;
    warnOnErrors(subscriber, this.name, this.redis, this.logger);
    this.subscribed = subscribe(subscriber, this.keys, [channel], (from: string, message: string) => {
      if (from !== channel) return;
      deliver(this.listeners, message, (error) => this.logger.error(`A tracked-job listener failed: ${error instanceof Error ? error.message : String(error)}`));
    }).then(
      () => undefined,
      (error: Error) => this.logger.warn(`Could not subscribe to ${channel}: ${error.message}`),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    if (subscriber) await closeConnection(subscriber);
  }
}
