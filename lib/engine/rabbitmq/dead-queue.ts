import { nowSeconds, readJob } from '../core/job';
import { spliceFields } from '../core/payload-text';
import type { GetMessage } from './amqp';
import type { RabbitConnection } from './connection';
import type { MessagePublisher, OutgoingMessage } from './outgoing';
import { checkRabbitQueueName, DEAD_QUEUE, workQueueName } from './topology';

/** Dead jobs moved per round trip of retry(). */
const RETRY_CHUNK = 100;

/**
 * `verk.dead`: jobs out of retries, invalid or poison, oldest first, bounded by
 * maxDeadJobs (x-max-length: the oldest are dropped). A queue can only be read from its
 * head, so retry takes the oldest; there is no listing or search (Redis only).
 */
export class DeadQueue {
  constructor(
    private readonly connection: RabbitConnection,
    private readonly publisher: MessagePublisher,
    private readonly confirmTimeout: number,
  ) {}

  /**
   * Enqueues up to `count` of the oldest dead jobs again, each to its own queue
   * (`enqueued_at` set to now, every other byte kept); a dead message is acknowledged only
   * once its copy is confirmed. Jobs that name no usable queue stay in dead. Returns how
   * many were enqueued.
   */
  async retry(count: number): Promise<number> {
    const live = await this.connection.waitConnected(Date.now() + this.confirmTimeout);
    const channel = await live.model.createChannel();
    channel.on('error', () => undefined);
    let moved = 0;
    let exhausted = false;
    try {
      // Kept jobs stay unacknowledged on this channel until it closes, so no read returns them twice.
      while (moved < count && !exhausted) {
        const taken: GetMessage[] = [];
        const out: OutgoingMessage[] = [];
        const kept: GetMessage[] = [];
        while (taken.length + kept.length < Math.min(RETRY_CHUNK, count - moved)) {
          const message = await channel.get(DEAD_QUEUE, { noAck: false });
          if (message === false) {
            exhausted = true;
            break;
          }
          const raw = message.content.toString('utf8');
          const { job } = readJob(raw);
          if (!job || !isRoutable(job.queue)) {
            kept.push(message);
            continue;
          }
          taken.push(message);
          out.push({ exchange: '', routingKey: workQueueName(job.queue), body: Buffer.from(spliceFields(raw, { enqueued_at: nowSeconds() })), queue: job.queue });
        }
        if (taken.length > 0) {
          await this.publisher.publish(out);
          for (const message of taken) channel.ack(message);
          moved += taken.length;
        }
      }
    } finally {
      // Closing puts back what was read and not acknowledged (the jobs kept, or all after an error).
      await channel.close().catch(() => undefined);
    }
    return moved;
  }

  /** Removes every dead job; returns how many. */
  async clear(): Promise<number> {
    const channel = await this.channel();
    try {
      return (await channel.purgeQueue(DEAD_QUEUE)).messageCount;
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** How many jobs are dead now. */
  async size(): Promise<number> {
    const channel = await this.channel();
    try {
      return (await channel.checkQueue(DEAD_QUEUE)).messageCount;
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  private async channel() {
    const live = await this.connection.waitConnected(Date.now() + this.confirmTimeout);
    const channel = await live.model.createChannel();
    channel.on('error', () => undefined);
    return channel;
  }
}

function isRoutable(queue: unknown): queue is string {
  try {
    checkRabbitQueueName(queue as string, 'queue');
    return true;
  } catch {
    return false;
  }
}
