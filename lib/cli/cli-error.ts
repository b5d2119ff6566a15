/**
 * An error the CLI reports as one line on stderr (`verk: <message>`) with its exit code:
 * 2 for a usage mistake (unknown command or option, missing argument), 1 for anything
 * else (Redis unreachable, unknown jid, a refused operation).
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

/** A usage mistake: exit code 2, with a pointer to `verk --help`. */
export function usageError(message: string): CliError {
  return new CliError(`${message} (see verk --help)`, 2);
}
