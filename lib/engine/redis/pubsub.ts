import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import type { Keys } from './keys';

/*
 * The engine's channels (`verk:control`, `verk:wake`, `verk:track`) are plain pub/sub on a
 * single Redis and sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7) in cluster mode
 * (Keys.shardedPubSub): a plain PUBLISH on a cluster is forwarded to every node, a sharded
 * one only to the nodes serving the channel's slot, which is the instance's.
 */

/** Queues the publication of `message` on `channel` in a MULTI or pipeline. */
export function publishIn(multi: ChainableCommander, keys: Keys, channel: string, message: string): ChainableCommander {
  return keys.shardedPubSub ? multi.spublish(channel, message) : multi.publish(channel, message);
}

/** Publishes `message` on `channel`. */
export async function publish(redis: Redis, keys: Keys, channel: string, message: string): Promise<void> {
  await (keys.shardedPubSub ? redis.spublish(channel, message) : redis.publish(channel, message));
}

/** Subscribes `subscriber` to `channels`; `listener` gets their messages (plain or sharded). */
export async function subscribe(subscriber: Redis, keys: Keys, channels: string[], listener: (channel: string, message: string) => void): Promise<void> {
  subscriber.on(keys.shardedPubSub ? 'smessage' : 'message', listener);
  await (keys.shardedPubSub ? subscriber.ssubscribe(...channels) : subscriber.subscribe(...channels));
}
