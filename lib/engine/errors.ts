/**
 * Every error class of the package, in one place. Whatever nestjs-verk throws is a
 * VerkError, so one `instanceof VerkError` tells the package's errors from the rest; the
 * subclass says what kind of mistake it is:
 *
 * | class               | thrown when                                                        |
 * | ------------------- | ------------------------------------------------------------------ |
 * | VerkConfigError     | the setup is wrong: module/engine/`@Worker` options, workers or middleware registered, the Redis server's version, the package's own files |
 * | VerkValidationError | an argument of a call is wrong (names the field); nothing was written |
 * | VerkStateError      | a call does not fit the state of the node or of the data it changes: start twice, addQueue on a node that is not running, a recurring definition changed meanwhile |
 * | VerkRedisError      | Redis is unreachable, did not answer PING in time, or aborted a transaction |
 * | VerkBrokerError     | the RabbitMQ broker is unreachable, refused a message (nack, unroutable) or did not confirm it in time |
 * | VerkFlowError       | flow control refuses an operation (a job others wait for, a batch member) |
 * | VerkMiddlewareError | a middleware broke the chain's rules (next() twice, no next())     |
 * | UnknownWorkerError  | a job names a class no worker on this node handles (the job fails)  |
 * | InvalidJobError     | a stored payload is not a usable job                               |
 * | VerkRateLimitError  | thrown by a worker on a 429: its job goes back, the queue or group pauses |
 *
 * Errors Redis itself replies with (a ReplyError such as WRONGTYPE, ioredis's
 * MaxRetriesPerRequestError while Redis is away) reach the caller as ioredis gives them.
 *
 * Some names are only ever recorded as a failed job's `error_class`, by the Lua scripts,
 * never thrown in JavaScript, so they have no class: `DependencyLostError` (a job it
 * depends on is gone), `RedisWriteError` (Redis refused to write the job where it had to
 * go), `PoisonJobError` (recovered from crashed nodes too often).
 */

/** Base of every error the package throws. */
export class VerkError extends Error {
  // Written out per class (not taken from constructor.name): it survives minification.
  override readonly name: string = 'VerkError';
}

/**
 * The setup is wrong: module or engine options, `@Worker()` options, a worker or
 * middleware registered twice or not usable, a Redis server too old, the package's lua/
 * files missing. Thrown while the application is being set up, before any job runs.
 */
export class VerkConfigError extends VerkError {
  override readonly name: string = 'VerkConfigError';
  /** The option at fault, e.g. `queues.default` or `history.maxAge`, when it is one option. */
  readonly field?: string;

  constructor(message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (options.field !== undefined) this.field = options.field;
  }
}

/** An argument of a call is wrong (enqueue, admin, recurring, ping...); nothing has been written when it is thrown. */
export class VerkValidationError extends VerkError {
  override readonly name: string = 'VerkValidationError';
  constructor(
    /** The offending field, e.g. `queue` or `args[2].when`. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/**
 * The call does not fit the current state: of the node (start() twice, addQueue() on a
 * node that is not running or of a queue it already runs, subscribe() after stop()) or of
 * the data it changes (a recurring definition that changed under it too often, or whose
 * stored form is not valid). The message says what to do.
 */
export class VerkStateError extends VerkError {
  override readonly name: string = 'VerkStateError';
}

/**
 * Redis did not do what was asked as a whole: it is unreachable, did not answer PING
 * within the timeout, or aborted a MULTI transaction. `cause` holds ioredis's error, if any.
 */
export class VerkRedisError extends VerkError {
  override readonly name: string = 'VerkRedisError';
}

/**
 * The RabbitMQ broker (option `broker.rabbitmq`) did not take a message: it is unreachable
 * (also while reconnecting, past `confirmTimeout`), refused it (a nack, an unroutable
 * message), or did not confirm it within `confirmTimeout`. After a timeout the message may
 * still have been enqueued; after any other error it was not. `cause` holds amqplib's error, if any.
 */
export class VerkBrokerError extends VerkError {
  override readonly name: string = 'VerkBrokerError';
}

/** Flow control refuses an operation: the message says why and what to do. */
export class VerkFlowError extends VerkError {
  override readonly name: string = 'VerkFlowError';
}

/** A middleware broke the chain's rules: called next() twice, or a client middleware did not call it. */
export class VerkMiddlewareError extends VerkError {
  override readonly name: string = 'VerkMiddlewareError';
  constructor(
    /** The middleware's name (its class or function name). */
    readonly middleware: string,
    message: string,
  ) {
    super(message);
  }
}

/** Recorded as `error_class` when a job names a class no worker on this node handles. */
export class UnknownWorkerError extends VerkError {
  override readonly name: string = 'UnknownWorkerError';
}

/**
 * A payload is not a usable job (bad JSON, no class, no queue...): recorded as
 * `error_class` when such a job is fetched, thrown when an operation needs a stored job
 * that is not usable.
 */
export class InvalidJobError extends VerkError {
  override readonly name: string = 'InvalidJobError';
}

/** Internal: the text is not a JSON object (or not JSON at all); see core/payload-text.ts. */
export class PayloadTextError extends VerkError {
  override readonly name: string = 'PayloadTextError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at position ${position}`);
  }
}

/**
 * Thrown by a worker when the remote side says "too many requests" (HTTP 429): the job
 * goes back to the head of its queue - not a failure, no retry counted - and its queue
 * (or, with `group`, its group) starts nothing on any node for `retryAfterMs`. See docs/limits.md.
 */
export class VerkRateLimitError extends VerkError {
  override readonly name: string = 'VerkRateLimitError';
  /** The group to pause; absent: the whole queue. */
  readonly group?: string;

  constructor(
    /** How long to start nothing more of the queue (or group), ms (>= 1). */
    readonly retryAfterMs: number,
    options: { group?: string } = {},
  ) {
    super(`Rate limited: retry after ${retryAfterMs} ms${options.group === undefined ? '' : ` (group ${options.group})`}`);
    if (!Number.isFinite(retryAfterMs) || retryAfterMs < 0) throw new VerkValidationError('retryAfterMs', `must be a number of ms >= 0, got ${String(retryAfterMs)}`);
    if (options.group !== undefined) this.group = options.group;
  }
}
