import { VerkBrokerError, VerkConfigError, VerkValidationError } from '../errors';
import type { Channel } from './amqp';
import type { RabbitQueueType } from './rabbit-options';
import { declareLadder, DELIVER_EXCHANGE, deliverPattern } from './delay-ladder';

/*
 * Every RabbitMQ name the broker uses, and their declarations (all idempotent, re-run on
 * every reconnect). Everything lives under `verk.`:
 *
 *   verk.queue.<q>    a job queue (durable; quorum unless queueType: 'classic'); persistent messages
 *   verk.dead         jobs out of retries (x-max-length = maxDeadJobs, oldest dropped)
 *   verk.delay.<k>    the delay ladder (delay-ladder.ts), verk.deliver its exit
 *   verk.control      fanout exchange of pause/resume announcements (control.ts)
 *   verk.paused.<q>   the last pause/resume of queue q (x-max-length 1), read by starting nodes
 */

export const DEAD_QUEUE = 'verk.dead';
export const CONTROL_EXCHANGE = 'verk.control';

export function workQueueName(queue: string): string {
  return `verk.queue.${queue}`;
}

export function pauseStateQueue(queue: string): string {
  return `verk.paused.${queue}`;
}

/**
 * A queue name the broker can route: the ladder matches it word by word (dot-separated)
 * at the end of a topic routing key, so no empty word, no `*` or `#` word, and at most
 * 180 bytes (the key has 56 bytes of digits; RabbitMQ allows 255).
 */
export function checkRabbitQueueName(queue: string, field: string): string {
  if (typeof queue !== 'string' || queue.length === 0 || /\s/.test(queue)) throw new VerkValidationError(field, `must be a non-empty queue name without white space, got ${JSON.stringify(queue)}`);
  if (Buffer.byteLength(queue) > 180) throw new VerkValidationError(field, `queue names are at most 180 bytes with the RabbitMQ broker, got ${Buffer.byteLength(queue)}`);
  if (queue.split('.').some((word) => word === '' || word === '*' || word === '#')) {
    throw new VerkValidationError(field, `"${queue}": with the RabbitMQ broker a queue name's dot-separated words must not be empty, "*" or "#" (they are routing-key words)`);
  }
  return queue;
}

/** The broker's queue declarations. */
export class Topology {
  readonly quorum: boolean;

  constructor(
    readonly queueType: RabbitQueueType,
    private readonly maxDeadJobs: number,
  ) {
    this.quorum = queueType === 'quorum';
  }

  private get typeArguments(): Record<string, unknown> {
    return { 'x-queue-type': this.queueType };
  }

  /** The ladder, its exit and the control exchange. */
  async declareShared(channel: Channel): Promise<void> {
    await declaring('the delay ladder (verk.delay.*)', () => declareLadder(channel, this.typeArguments, this.quorum));
    await declaring(`exchange ${CONTROL_EXCHANGE}`, () => channel.assertExchange(CONTROL_EXCHANGE, 'fanout', { durable: true }));
  }

  /**
   * The dead queue, bounded by maxDeadJobs. Nodes (or deploys) with another maxDeadJobs
   * find it declared with another bound, which RabbitMQ refuses to change (406, and the
   * channel closes): that is not worth stopping a node for, so `channel()` gives a fresh
   * channel, the queue is only checked to exist, and false says the bound is not ours.
   */
  async declareDead(channel: () => Promise<Channel>): Promise<boolean> {
    try {
      await declaring(`queue ${DEAD_QUEUE}`, async () => (await channel()).assertQueue(DEAD_QUEUE, { durable: true, arguments: { ...this.typeArguments, 'x-max-length': this.maxDeadJobs } }));
      return true;
    } catch (error) {
      if (!(error instanceof VerkConfigError) || !/x-max-length/.test(error.message)) throw error;
      await declaring(`queue ${DEAD_QUEUE}`, async () => (await channel()).checkQueue(DEAD_QUEUE));
      return false;
    }
  }

  /** A job queue and its binding to the ladder's exit. */
  async declareWorkQueue(channel: Channel, queue: string): Promise<void> {
    const name = workQueueName(queue);
    await declaring(`queue ${name}`, async () => {
      await channel.assertQueue(name, { durable: true, arguments: this.typeArguments });
      await channel.bindQueue(name, DELIVER_EXCHANGE, deliverPattern(queue));
    });
  }

  /** Queue q's pause state: its last pause/resume message, older ones dropped. */
  async declarePauseState(channel: Channel, queue: string): Promise<string> {
    const name = pauseStateQueue(queue);
    await declaring(`queue ${name}`, () => channel.assertQueue(name, { durable: true, arguments: { ...this.typeArguments, 'x-max-length': 1 } }));
    return name;
  }
}

/**
 * Runs a declaration; a refusal says what and why. 406 PRECONDITION_FAILED: the thing
 * exists with other arguments (another queueType or maxDeadJobs than when it was
 * declared), a setup error; 403: the user may not configure it.
 */
async function declaring<T>(what: string, declare: () => Promise<T>): Promise<T> {
  try {
    return await declare();
  } catch (error) {
    const message = (error as Error).message;
    const code = (error as { code?: unknown }).code;
    if (code === 406 || /PRECONDITION/.test(message)) {
      throw new VerkConfigError(`RabbitMQ refused to declare ${what}: it exists with other arguments (declared with another queueType or maxDeadJobs?). Delete it (rabbitmqctl delete_queue) or set the options it was declared with. Broker said: ${message}`, { cause: error });
    }
    if (code === 403 || /ACCESS_REFUSED/.test(message)) throw new VerkConfigError(`RabbitMQ refused to declare ${what}: the user may not configure it in this vhost. Broker said: ${message}`, { cause: error });
    throw new VerkBrokerError(`Could not declare ${what}: ${message}`, { cause: error });
  }
}
