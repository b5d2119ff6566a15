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
