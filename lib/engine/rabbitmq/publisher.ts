import { VerkBrokerError } from '../errors';
import type { VerkLogger } from '../logger';
import type { ConfirmChannel } from './amqp';
import type { MessagePublisher, OutgoingMessage } from './outgoing';
import type { LiveConnection, RabbitConnection } from './connection';
import { CONTROL_EXCHANGE, type Topology } from './topology';


/**
 * Publishes persistent messages on a confirm channel and resolves only once the broker
 * confirmed every one (a batch waits for all of its confirms at once). A nack, an
 * unroutable message (published `mandatory`), a channel or connection lost before the
 * confirm, or no confirm within `confirmTimeout` rejects with a VerkBrokerError: never a
 * silent loss. While the connection is down it waits for the reconnect up to the same
 * timeout.
 */
export class Publisher implements MessagePublisher {
  private channel?: { channel: ConfirmChannel; generation: number };
  /** Job queues declared (or being declared) on the current channel: concurrent enqueues share one declaration. */
  private declared = new Map<string, Promise<void>>();
  private opening?: Promise<ConfirmChannel>;
  private sequence = 0;
  private draining?: { channel: ConfirmChannel; done: Promise<void> };
  /** Rejects of messages waiting for their confirm, by messageId: a `return` (unroutable) fails them. */
  private readonly returns = new Map<string, (error: VerkBrokerError) => void>();

  constructor(
    private readonly connection: RabbitConnection,
    private readonly topology: Topology,
    private readonly confirmTimeout: number,
    private readonly logger: VerkLogger,
  ) {}

  /** Opens the confirm channel on a new connection (a setup step: a failure is retried with the connection). */
  async attach(live: LiveConnection): Promise<void> {
    // An enqueue made during the connection's setup may have opened it already.
    if (this.channel?.generation === live.generation) return;
    this.opening ??= this.open(live).finally(() => (this.opening = undefined));
    await this.opening;
  }

  private async open(live: LiveConnection): Promise<ConfirmChannel> {
    const channel = await live.model.createConfirmChannel();
    channel.on('error', (error: Error) => this.logger.warn(`RabbitMQ publisher channel: ${error.message}`));
    channel.on('return', (message: { properties: { messageId?: string }; fields: { routingKey: string; exchange: string } }) => {
      const id = message.properties.messageId;
      const reject = id === undefined ? undefined : this.returns.get(id);
      if (!reject) return;
      this.returns.delete(id as string);
      reject(new VerkBrokerError(`RabbitMQ could not route the message (exchange "${message.fields.exchange}", key "${message.fields.routingKey}"): its queue does not exist`));
    });
    channel.on('close', () => {
      if (this.channel?.channel === channel) this.channel = undefined;
    });
    this.channel = { channel, generation: live.generation };
    this.declared = new Map();
    return channel;
  }

  /** The confirm channel, reopened if it closed alone (a channel error), waiting for a reconnect until `deadline`. */
  private async ready(deadline: number): Promise<ConfirmChannel> {
    for (;;) {
      const live = await this.connection.waitConnected(deadline);
      if (this.channel && this.channel.generation === live.generation) return this.channel.channel;
      this.opening ??= this.open(live).finally(() => (this.opening = undefined));
      try {
        return await this.opening;
      } catch (error) {
        if (Date.now() >= deadline) throw new VerkBrokerError(`Could not open a RabbitMQ channel: ${(error as Error).message}`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Publishes the messages and waits for every confirm; see the class comment for what rejects. */
  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const deadline = Date.now() + this.confirmTimeout;
    const channel = await this.ready(deadline);
    for (const message of messages) {
      if (message.queue === undefined) continue;
      let declared = this.declared.get(message.queue);
      if (!declared) {
        const queue = message.queue;
        const declarations = this.declared;
        declared = this.topology.declareWorkQueue(channel, queue);
        declarations.set(queue, declared);
        // A failed declaration is tried again by the next publish.
        declared.catch(() => declarations.get(queue) === declared && declarations.delete(queue));
      }
      await declared;
    }
    const confirms: Promise<void>[] = [];
    for (const message of messages) {
      const id = String(++this.sequence);
      let writable = true;
      confirms.push(
        new Promise<void>((resolve, reject) => {
          this.returns.set(id, reject);
          try {
            writable = channel.publish(message.exchange, message.routingKey, message.body, { persistent: true, mandatory: message.mayBeUnrouted !== true, messageId: id, contentType: 'application/json' }, (error: unknown) => {
              this.returns.delete(id);
              if (error) reject(new VerkBrokerError(`RabbitMQ did not take the message: ${error instanceof Error ? error.message : 'nack'}`, { cause: error }));
              else resolve();
            });
          } catch (error) {
            this.returns.delete(id);
            reject(new VerkBrokerError(`Could not publish to RabbitMQ: ${(error as Error).message}`, { cause: error }));
          }
        }),
      );
      // Backpressure: wait until the socket drained (or the channel closed) before writing more.
      if (!writable) await this.drained(channel);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new VerkBrokerError(`RabbitMQ did not confirm ${confirms.length} message(s) within ${this.confirmTimeout} ms (broker.confirmTimeout); they may or may not have been enqueued`)), Math.max(0, deadline - Date.now()));
    });
    try {
      await Promise.race([Promise.all(confirms), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when the channel's socket drained or it closed; one listener pair however many publishes wait. */
  private drained(channel: ConfirmChannel): Promise<void> {
    if (this.draining?.channel === channel) return this.draining.done;
    const done = new Promise<void>((resolve) => {
      const finish = (): void => {
        channel.off('drain', finish);
        channel.off('close', finish);
        if (this.draining?.channel === channel) this.draining = undefined;
        resolve();
      };
      channel.on('drain', finish);
      channel.on('close', finish);
    });
    this.draining = { channel, done };
    return done;
  }

  /** A round trip to the broker on the publisher's channel (health checks); rejects after `timeoutMs`. */
  async ping(timeoutMs: number): Promise<number> {
    const started = Date.now();
    const channel = await this.ready(started + timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        channel.checkExchange(CONTROL_EXCHANGE),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new VerkBrokerError(`RabbitMQ did not answer within ${timeoutMs} ms`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return Date.now() - started;
  }
}
