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

export interface RabbitConnectionOptions {
  /** The AMQP heartbeat asked for (seconds), unless the URL sets its own. */
  heartbeatSeconds: number;
  /** How long one attempt may take to open the connection (TCP and AMQP handshake), ms. */
  connectTimeout: number;
}

/**
 * One AMQP connection that comes back by itself: when the broker closes it (restart,
 * `rabbitmqctl close_connection`, network loss) it reconnects with backoff (100 ms
 * doubling to 5 s) and runs every setup again, so topology is re-declared and consumers
 * resume. Every channel of the lost connection is gone with it: what was delivered on
 * them and not acknowledged is redelivered by the broker (see `generation`). Each attempt
 * gives up after `connectTimeout` (a broker that accepts and never answers would hold it
 * forever), and close() gives up one under way at once.
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
  /** Aborts the connection attempts under way (their socket is destroyed). */
  private readonly attempts = new Set<AbortController>();
  /** When the connection was last lost (epoch ms), 0 while it has not been. */
  lostAt = 0;

  constructor(
    private readonly amqp: AmqpModule,
    private readonly url: string,
    /** Shown by `rabbitmqctl list_connections name` (the node's id is in it). */
    readonly name: string,
    private readonly logger: VerkLogger,
    private readonly options: RabbitConnectionOptions,
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
    if (this.closing) throw this.closedError();
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
      if (this.closing) throw this.closedError();
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
    const model = await this.connectSocket();
    // close() may come in the turn between connectSocket's own check and this one.
    if (this.closing) {
      await model.close().catch(() => undefined);
      throw this.closedError();
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

  /** One attempt to open the AMQP connection, bounded by connectTimeout and given up by close(). */
  private async connectSocket(): Promise<ChannelModel> {
    if (this.closing) throw this.closedError();
    const attempt = new AbortController();
    this.attempts.add(attempt);
    const timer = setTimeout(() => attempt.abort(), this.options.connectTimeout);
    let model: ChannelModel;
    try {
      // amqplib hands its socket options to net/tls.connect, whose sockets take `signal` (not
      // in amqplib's types): aborting destroys the socket, so the handshake fails at once.
      const socketOptions = { clientProperties: { connection_name: this.name }, signal: attempt.signal };
      model = await this.amqp.connect(withHeartbeat(this.url, this.options.heartbeatSeconds), socketOptions);
    } catch (error) {
      if (this.closing) throw this.closedError();
      const reason = attempt.signal.aborted ? `no answer within ${this.options.connectTimeout} ms` : redactSecrets((error as Error).message);
      throw new VerkBrokerError(`Could not connect to RabbitMQ: ${reason}`, { cause: error });
    } finally {
      clearTimeout(timer);
      this.attempts.delete(attempt);
    }
    // close() came while the handshake was finishing: nobody will close this one later.
    if (this.closing) {
      await model.close().catch(() => undefined);
      throw this.closedError();
    }
    return model;
  }

  private closedError(): VerkBrokerError {
    return new VerkBrokerError(`RabbitMQ connection ${this.name} is closed`);
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
    for (const attempt of this.attempts) attempt.abort();
    this.sleeper.cancel();
    for (const wake of [...this.waiters]) wake();
    this.waiters.clear();
    const live = this.live;
    this.live = undefined;
    await live?.model.close().catch(() => undefined);
    // An attempt given up above ends at once; its setups fail on the closed connection.
    await this.opening?.catch(() => undefined);
    await this.reconnecting;
  }
}

/** The URL with the AMQP heartbeat (seconds) unless it sets its own. */
function withHeartbeat(url: string, seconds: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(seconds));
  return parsed.toString();
}
