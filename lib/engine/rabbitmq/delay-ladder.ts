import type { Channel } from './amqp';

/*
 * Delays without the delayed-message plugin: a ladder of TTL queues with dead-lettering,
 * the technique of NServiceBus's RabbitMQ transport.
 *
 * Level k (0..27) is a topic exchange `verk.delay.k` and a queue `verk.delay.k` whose
 * messages live 2^k seconds, then dead-letter to exchange `verk.delay.(k-1)` (level 0's
 * go to `verk.deliver`). A delayed message's routing key is the delay in seconds as 28
 * binary digits, highest level first, then the queue name:
 *
 *   70 s = 0b1000110  ->  0.0. ... .0.1.0.0.0.1.1.0.default
 *
 * Each level's exchange looks at its own digit: 1 -> into its queue (wait 2^k s), 0 -> on
 * to the next level's exchange at once (an exchange-to-exchange binding: no queue, no
 * wait). Dead-lettering keeps the routing key, so the same key walks down the whole
 * ladder; `verk.deliver` then routes it by the name at its end to the job's queue. A
 * delay costs one hop per 1-digit (at most 28), no per-message timer, and every message of
 * one level's queue has the same TTL, so they expire in order at the head (RabbitMQ only
 * expires a queue's head). Precision: the delay is rounded to whole seconds (±0.5 s) plus
 * the hops' own latency (milliseconds each). Longest delay: 2^28 - 1 s, about 8.5 years.
 */

/** Levels of the ladder: delays up to 2^28 - 1 seconds. */
export const DELAY_LEVELS = 28;
/** The longest delay, seconds (about 8.5 years). */
export const MAX_DELAY_SECONDS = 2 ** DELAY_LEVELS - 1;
/** Where the last level dead-letters to; routes by the queue name at the end of the key. */
export const DELIVER_EXCHANGE = 'verk.deliver';

/** Name of level k's exchange and of its queue (separate namespaces in AMQP). */
export function delayLevelName(level: number): string {
  return `verk.delay.${level}`;
}

/** Where a delayed message is published: the top level, whose digit is looked at first. */
export const DELAY_ENTRY_EXCHANGE = delayLevelName(DELAY_LEVELS - 1);

/** A delayed message's way down the ladder. */
export interface DelayRoute {
  /** The delay rounded to whole seconds. */
  seconds: number;
  /** 28 binary digits (highest level first) and the queue name, dot-separated. */
  routingKey: string;
  /** The levels whose queue it waits in, highest first: one per 1-digit. */
  levels: number[];
}

/** A delay in ms rounded to whole seconds (the ladder's unit), never negative. */
export function delaySeconds(ms: number): number {
  return Math.max(0, Math.round(ms / 1000));
}

/**
 * The route of a message delayed by `ms` (rounded to whole seconds) to `queue`. Throws a
 * RangeError beyond MAX_DELAY_SECONDS; the client checks that first with a field name.
 */
export function delayRoute(ms: number, queue: string): DelayRoute {
  const seconds = delaySeconds(ms);
  if (seconds > MAX_DELAY_SECONDS) throw new RangeError(`a delay of ${seconds} s exceeds the ladder's ${MAX_DELAY_SECONDS} s`);
  const digits: string[] = [];
  const levels: number[] = [];
  for (let level = DELAY_LEVELS - 1; level >= 0; level--) {
    // Arithmetic, not bit operators: those work on 32-bit integers.
    const bit = Math.floor(seconds / 2 ** level) % 2;
    digits.push(String(bit));
    if (bit === 1) levels.push(level);
  }
  return { seconds, routingKey: `${digits.join('.')}.${queue}`, levels };
}

/** The binding of a job queue to `verk.deliver`: any 28 digits, then exactly its name. */
export function deliverPattern(queue: string): string {
  return `${'*.'.repeat(DELAY_LEVELS)}${queue}`;
}

/** Level k's digit is 1 (wait here) or 0 (go on): the k-th word from the right of the digits. */
function levelPattern(level: number, bit: 0 | 1): string {
  return `${'*.'.repeat(DELAY_LEVELS - 1 - level)}${bit}.#`;
}

/**
 * Declares the ladder (idempotent). `queueArguments` are the broker-wide ones (queue
 * type); with quorum queues dead-lettering is at-least-once (`x-dead-letter-strategy`,
 * which needs `x-overflow: reject-publish`), so a message is never dropped between levels.
 */
export async function declareLadder(channel: Channel, queueArguments: Record<string, unknown>, quorum: boolean): Promise<void> {
  await channel.assertExchange(DELIVER_EXCHANGE, 'topic', { durable: true });
  for (let level = 0; level < DELAY_LEVELS; level++) {
    const name = delayLevelName(level);
    const next = level === 0 ? DELIVER_EXCHANGE : delayLevelName(level - 1);
    await channel.assertExchange(name, 'topic', { durable: true });
    await channel.assertQueue(name, {
      durable: true,
      arguments: {
        ...queueArguments,
        'x-message-ttl': 2 ** level * 1000,
        'x-dead-letter-exchange': next,
        ...(quorum ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } : {}),
      },
    });
    await channel.bindQueue(name, name, levelPattern(level, 1));
    await channel.bindExchange(next, name, levelPattern(level, 0));
  }
}
