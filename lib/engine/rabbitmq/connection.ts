import { VerkBrokerError } from '../errors';
import { RateLimitedLog, type VerkLogger } from '../logger';
import { redactSecrets } from '../redis/redact';
import { backoffMs, Sleeper } from '../core/timing';
import type { AmqpModule, ChannelModel } from './amqp';

/** A live AMQP connection and its number: channels of an earlier number are gone. */
export interface LiveConnection {
  model: ChannelModel;
  generation: number;
}

/** Run after every (re)connect, in the order registered: declare topology, open channels, consume. */
export type ConnectionSetup = (live: LiveConnection) => Promise<void>;

/**
 * One AMQP connection that comes back by itself: when the broker closes it (restart,
 * `rabbitmqctl close_connection`, network loss) it reconnects with backoff (100 ms
 * doubling to 5 s) and runs every setup again, so topology is re-declared and consumers
 * resume. Every channel of the lost connection is gone with it: what was delivered on
 * them and not acknowledged is redelivered by the broker (see `generation`).
 */
export class RabbitConnection {
  private live?: LiveConnection;
  private generation = 0;
  private closing = false;
  private opened = false;
  private opening?: Promise<void>;
  private reconnecting?: Promise<void>;
  private readonly setups: ConnectionSetup[] = [];
  private readonly lostListeners: (() => void)[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly sleeper = new Sleeper();
  private readonly warnings: RateLimitedLog;
  /** When the connection was last lost (epoch ms), 0 while it has not been. */
  lostAt = 0;

  constructor(
    private readonly amqp: AmqpModule,
    private readonly url: string,
    /** Shown by `rabbitmqctl list_connections name` (the node's id is in it). */
    readonly name: string,
    private readonly logger: VerkLogger,
    private readonly heartbeatSeconds: number,
  ) {
    this.warnings = new RateLimitedLog(logger, 2000);
  }

  /** Registers a step run after every connect, after the ones registered before. */
  onConnect(setup: ConnectionSetup): void {
    this.setups.push(setup);
  }

  /** Called when the connection is lost (before reconnecting). */
  onLost(listener: () => void): void {
    this.lostListeners.push(listener);
  }

  /** The connection now, or undefined while it is down. */
  get current(): LiveConnection | undefined {
    return this.live;
  }

  /**
   * The first connection, made once (by start(), or by the first enqueue of a node that is
   * never started): rejects (VerkBrokerError, or the setup's own error) instead of
   * retrying, and the next call tries again. After it, lost connections come back by themselves.
   */
  async open(): Promise<void> {
    if (this.opened) return;
    if (this.closing) throw new VerkBrokerError(`RabbitMQ connection ${this.name} is closed`);
    this.opening ??= this.connectOnce()
      .then(() => {
        this.opened = true;
      })
      .finally(() => (this.opening = undefined));
    return this.opening;
  }

  /** The connection, waiting for a reconnect until `deadline` (epoch ms); then a VerkBrokerError. */
  async waitConnected(deadline: number): Promise<LiveConnection> {
    if (!this.opened) await this.open();
    while (!this.live) {
      if (this.closing) throw new VerkBrokerError(`RabbitMQ connection ${this.name} is closed`);
      const left = deadline - Date.now();
      if (left <= 0) throw new VerkBrokerError(`RabbitMQ is not reachable (connection ${this.name} is reconnecting)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.waiters.add(done);
      });
    }
    return this.live;
  }

  private async connectOnce(): Promise<void> {
    let model: ChannelModel;
    try {
      model = await this.amqp.connect(withHeartbeat(this.url, this.heartbeatSeconds), { clientProperties: { connection_name: this.name } });
    } catch (error) {
      throw new VerkBrokerError(`Could not connect to RabbitMQ: ${redactSecrets((error as Error).message)}`, { cause: error });
    }
    const live: LiveConnection = { model, generation: ++this.generation };
    model.on('error', (error: Error) => this.warnings.warn(`RabbitMQ connection ${this.name}: ${redactSecrets(error.message)}`));
    model.on('blocked', (reason: string) => this.logger.warn(`RabbitMQ blocks connection ${this.name} (${reason}): enqueues wait`));
    model.on('close', () => this.lost(live));
    this.live = live;
    try {
      for (const setup of this.setups) {
        if (this.live !== live) throw new VerkBrokerError('the connection closed during setup');
        await setup(live);
      }
    } catch (error) {
      if (this.live === live) this.live = undefined;
      await model.close().catch(() => undefined);
      throw error;
    }
    if (this.live !== live) throw new VerkBrokerError('the connection closed during setup');
    for (const wake of [...this.waiters]) wake();
    this.waiters.clear();
  }

  private lost(live: LiveConnection): void {
    if (this.live !== live) return;
    this.live = undefined;
    this.lostAt = Date.now();
    for (const listener of this.lostListeners) listener();
    if (this.closing) return;
    this.logger.warn(`RabbitMQ connection ${this.name} lost; reconnecting (unacknowledged jobs are redelivered by the broker)`);
    this.reconnecting ??= this.reconnect().finally(() => (this.reconnecting = undefined));
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 0; !this.closing; attempt++) {
      await this.sleeper.sleep(backoffMs(attempt));
      if (this.closing) return;
      try {
        await this.connectOnce();
        this.logger.log(`RabbitMQ connection ${this.name} restored`);
        return;
      } catch (error) {
        this.warnings.warn(`RabbitMQ connection ${this.name}: reconnect failed (${redactSecrets((error as Error).message)}); retrying`);
      }
    }
  }

  /** Closes the connection for good (no reconnect); channels close with it. */
  async close(): Promise<void> {
    this.closing = true;
    this.sleeper.cancel();
    for (const wake of [...this.waiters]) wake();
    this.waiters.clear();
    const live = this.live;
    this.live = undefined;
    await live?.model.close().catch(() => undefined);
    await this.reconnecting;
  }
}

/** The URL with the AMQP heartbeat (seconds) unless it sets its own. */
function withHeartbeat(url: string, seconds: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(seconds));
  return parsed.toString();
}
