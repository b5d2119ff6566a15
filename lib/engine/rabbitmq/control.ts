import type { VerkLogger } from '../logger';
import type { Channel, ConsumeMessage, GetMessage } from './amqp';
import type { LiveConnection, RabbitConnection } from './connection';
import type { MessagePublisher } from './outgoing';
import { CONTROL_EXCHANGE, pauseStateQueue, type Topology } from './topology';

/** Most state messages read to find the last one (normally there is one: x-max-length 1). */
const MAX_STATE_READ = 10;

export interface ControlHandlers {
  pause(queue: string): void;
  resume(queue: string): void;
  /** The control channel was reopened on the same connection: announcements in between were missed, read the states again. */
  missed(): Promise<void>;
}

/**
 * Pause and resume across nodes. Every node binds a queue of its own (exclusive, gone
 * with its connection) to the fanout exchange `verk.control` and hears every
 * announcement. What was announced while a node was not listening (it starts later, or
 * was reconnecting) is read from `verk.paused.<q>`, which keeps the queue's last pause or
 * resume: a node binds first, then reads, so it misses neither.
 */
export class RabbitControl {
  private channel?: { channel: Channel; generation: number };

  constructor(
    private readonly connection: RabbitConnection,
    private readonly publisher: MessagePublisher,
    private readonly topology: Topology,
    private readonly logger: VerkLogger,
    private readonly handlers: ControlHandlers,
  ) {}

  /** Opens the control channel and listens (a setup step, re-run on every reconnect). */
  async attach(live: LiveConnection): Promise<void> {
    const channel = await live.model.createChannel();
    channel.on('error', (error: Error) => this.logger.warn(`RabbitMQ control channel: ${error.message}`));
    const entry = { channel, generation: live.generation };
    channel.on('close', () => {
      if (this.channel !== entry) return;
      this.channel = undefined;
      // Closed alone (a channel error) on a live connection: listen again. A lost connection re-attaches on reconnect.
      setTimeout(() => {
        const current = this.connection.current;
        if (current?.generation !== live.generation || this.channel !== undefined) return;
        this.attach(current)
          .then(() => this.handlers.missed())
          .catch((error: unknown) => this.logger.warn(`RabbitMQ control channel: could not reopen it (${(error as Error).message})`));
      }, 1000).unref();
    });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(queue, CONTROL_EXCHANGE, '');
    await channel.consume(queue, (message) => this.onMessage(message), { noAck: true });
    this.channel = entry;
  }

  private onMessage(message: ConsumeMessage | null): void {
    if (message === null) return;
    let command: { type?: unknown; queue?: unknown };
    try {
      command = JSON.parse(message.content.toString('utf8')) as typeof command;
    } catch {
      return this.logger.warn(`Ignored a malformed message on ${CONTROL_EXCHANGE}: ${message.content.toString('utf8')}`);
    }
    if (typeof command.queue !== 'string') return;
    if (command.type === 'pause') this.handlers.pause(command.queue);
    else if (command.type === 'resume') this.handlers.resume(command.queue);
  }

  /** Stores the queue's state, then announces it to every node; resolves once both are confirmed. */
  async announce(queue: string, type: 'pause' | 'resume'): Promise<void> {
    const channel = await this.ready();
    const state = await this.topology.declarePauseState(channel, queue);
    await this.publisher.publish([
      { exchange: '', routingKey: state, body: Buffer.from(type) },
      { exchange: CONTROL_EXCHANGE, routingKey: '', body: Buffer.from(JSON.stringify({ type, queue })), mayBeUnrouted: true },
    ]);
  }

  /**
   * True when the queue's last announcement was a pause: its state messages are read and
   * put back (nack with requeue), the last one read being the latest.
   */
  async isPaused(queue: string): Promise<boolean> {
    const channel = await this.ready();
    const state = await this.topology.declarePauseState(channel, queue);
    let last: GetMessage | undefined;
    for (let i = 0; i < MAX_STATE_READ; i++) {
      const message = await channel.get(state, { noAck: false });
      if (message === false) break;
      last = message;
    }
    if (!last) return false;
    channel.nack(last, true, true);
    return last.content.toString('utf8') === 'pause';
  }

  private async ready(): Promise<Channel> {
    const live = await this.connection.waitConnected(Date.now() + 10_000);
    if (this.channel?.generation === live.generation) return this.channel.channel;
    await this.attach(live);
    return (this.channel as unknown as { channel: Channel }).channel;
  }
}
