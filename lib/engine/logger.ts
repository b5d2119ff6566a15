/** The logging surface the engine needs; Nest's Logger satisfies it. */
export interface VerkLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, stack?: string): void;
  debug?(message: string): void;
}

export const consoleLogger: VerkLogger = {
  log: (message) => console.log(`[verk] ${message}`),
  warn: (message) => console.warn(`[verk] ${message}`),
  error: (message, stack) => console.error(`[verk] ${message}${stack ? `\n${stack}` : ''}`),
};

/** Discards everything; for connections whose failures another one already reports. */
export const silentLogger: VerkLogger = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * A warning that repeats while a fault lasts (Redis away, a write that keeps failing):
 * logged at most once per `intervalMs`, the ones in between dropped, so an outage
 * says what is wrong without flooding the log.
 */
export class RateLimitedLog {
  private lastLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly logger: VerkLogger,
    private readonly intervalMs = 5000,
  ) {}

  warn(message: string): void {
    const now = Date.now();
    if (now - this.lastLoggedAt < this.intervalMs) return;
    this.lastLoggedAt = now;
    this.logger.warn(message);
  }
}
