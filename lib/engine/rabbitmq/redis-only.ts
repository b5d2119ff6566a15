import { VerkConfigError } from '../errors';
import type { VerkEngine } from '../verk-engine';
import type { VerkRabbitEngine } from './rabbit-engine';

/**
 * Members of VerkEngine whose feature keeps its state in Redis: the feature, and why
 * RabbitMQ cannot do it (a queue is read from its head only; nothing is kept but messages).
 */
const REDIS_ONLY: Readonly<Record<string, readonly [feature: string, reason: string]>> = {
  admin: ['stats, job listing and job management (findJob, retryNow, deleteJob, clear, setPriority)', 'they read and rewrite jobs in place, and a RabbitMQ queue can only be read from its head (retryDead and clearDead work on both brokers)'],
  browse: ['search and the Busy and Queues overviews', 'they scan jobs and nodes kept in Redis'],
  bulk: ['bulk retry, delete and kill of selected jobs', 'they pick jobs by jid out of Redis sorted sets'],
  flow: ['dependencies, batches, cancel and job status', 'they are Redis sets and counters updated atomically by Lua scripts'],
  control: ['moving jobs between queues', 'a message cannot be taken out of the middle of a RabbitMQ queue'],
  recurring: ['recurring jobs', 'each tick is claimed once across all nodes by a Redis script'],
  recorder: ['job history, tags and tracking', 'events are kept in Redis lists and sorted sets and published through Redis pub/sub'],
  subscribe: ['tracking', 'tracked events are published through Redis pub/sub'],
  subscribed: ['tracking', 'tracked events are published through Redis pub/sub'],
  keys: ['Redis keys', 'the RabbitMQ broker has none'],
  setQueueLimits: ['rate limits, global concurrency and groups', 'their windows and slots are Redis keys checked by the fetch script; on RabbitMQ a queue\'s concurrency per node is its consumer prefetch'],
  queueLimits: ['rate limits, global concurrency and groups', 'their windows and slots are Redis keys checked by the fetch script'],
};

/** Marks the facade, so a module that needs Redis (the dashboard) can refuse it at boot. */
const RABBIT_ENGINE = Symbol('verk.rabbitEngine');

/** The error for a Redis-only feature used on a RabbitMQ node. */
export function redisOnlyError(feature: string, reason: string): VerkConfigError {
  return new VerkConfigError(`${feature}: Redis only, and this node uses the RabbitMQ broker (broker.rabbitmq): ${reason}. See docs/rabbitmq.md`);
}

/**
 * A RabbitMQ node in the place of a VerkEngine, for the Nest layer (VerkService, the
 * explorer, the health indicator inject VerkEngine): what the RabbitMQ node has is its
 * own (enqueue, queues, pause, events, workers, health...), and reaching for a Redis-only
 * part (`admin`, `flow`, `recurring`...) throws a VerkConfigError naming the feature and
 * why. So VerkService needs no change per broker, and a `@Worker({ cron })` or the
 * dashboard fails at boot.
 */
export function asVerkEngine(engine: VerkRabbitEngine): VerkEngine {
  const facade = new Proxy(engine, {
    get(target, property) {
      if (property === RABBIT_ENGINE) return target;
      if (typeof property === 'string' && Object.hasOwn(REDIS_ONLY, property)) {
        const [feature, reason] = REDIS_ONLY[property];
        throw redisOnlyError(feature, reason);
      }
      if (property === 'lastHeartbeatAt') return target.health().lastHeartbeatAt;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return facade as unknown as VerkEngine;
}

/** The RabbitMQ node behind an engine given to the Nest layer, or undefined when it is a Redis VerkEngine. */
export function rabbitEngineOf(engine: object): VerkRabbitEngine | undefined {
  return (engine as { [RABBIT_ENGINE]?: VerkRabbitEngine })[RABBIT_ENGINE];
}
