import type { Channel, Message } from './amqp';

/**
 * The acknowledgements of one consumer channel, sent together at the end of each turn of
 * the event loop: whatever lies below the lowest delivery still running goes in one
 * `multiple` ack (one frame, one settle in the queue for many jobs), the rest one by one.
 * Safe because every delivery of the channel passes through `delivered`: a tag below the
 * lowest one still open is finished, so acknowledging "all up to" it acknowledges only
 * finished jobs (tags already acknowledged are not outstanding and are left alone).
 */
export class ChannelAcks {
  /** Delivery tags handed to a job and not yet acknowledged. */
  private readonly open = new Set<number>();
  private done: Message[] = [];
  private scheduled = false;

  constructor(private readonly channel: Channel) {}

  delivered(message: Message): void {
    this.open.add(message.fields.deliveryTag);
  }

  /** Queues a finished job's ack; it is sent at the end of this turn (or by flush()). */
  ack(message: Message): void {
    this.done.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends the queued acks now; on a channel that closed meanwhile they are dropped (the broker redelivers those jobs). */
  flush(): void {
    this.scheduled = false;
    if (this.done.length === 0) return;
    const done = this.done;
    this.done = [];
    for (const message of done) this.open.delete(message.fields.deliveryTag);
    let lowestOpen = Number.POSITIVE_INFINITY;
    for (const tag of this.open) if (tag < lowestOpen) lowestOpen = tag;
    let upTo: Message | undefined;
    try {
      for (const message of done) {
        const tag = message.fields.deliveryTag;
        if (tag > lowestOpen) this.channel.ack(message);
        else if (!upTo || tag > upTo.fields.deliveryTag) upTo = message;
      }
      if (upTo) this.channel.ack(upTo, true);
    } catch {
      // The channel closed: nothing more can be acknowledged on it.
    }
  }
}
