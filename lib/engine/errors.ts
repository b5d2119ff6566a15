/** Thrown when module or engine options are wrong; the message names the field. */
export class VerkConfigError extends Error {
  override readonly name = 'VerkConfigError';
}

/** Thrown by the enqueue API on bad input; nothing has been written when it is thrown. */
export class VerkValidationError extends Error {
  override readonly name = 'VerkValidationError';
  constructor(
    /** The offending field, e.g. `queue` or `args[2].when`. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** Recorded as `error_class` when a job names a class no worker on this node handles. */
export class UnknownWorkerError extends Error {
  override readonly name = 'UnknownWorkerError';
}

/** Recorded as `error_class` when a payload is not a usable job (bad JSON, no class, ...). */
export class InvalidJobError extends Error {
  override readonly name = 'InvalidJobError';
}
