import { type JobPayload, jobText, newJid, nowSeconds } from './job';
import { isJsonObjectText } from './payload-text';

/** Where a failed job goes next. */
export interface FailureOutcome {
  target: 'retry' | 'dead';
  /** When to retry, or when it died (epoch seconds). */
  score: number;
  /** The job as it will be stored (for events and flow control). */
  payload: JobPayload;
  /** The fields that changed: what is spliced into the stored text (see outcomeText). */
  fields: Record<string, unknown>;
}

/**
 * The text to store for a failed job: its original text with the changed fields spliced
 * in, every other byte as it was. Only a member that is not a JSON object at all (which
 * has no fields to keep) is stored as the new payload built around it (`raw_payload`).
 */
export function outcomeText(raw: string, outcome: Pick<FailureOutcome, 'payload' | 'fields'>): string {
  if (!isJsonObjectText(raw)) return JSON.stringify(outcome.payload);
  return jobText(raw, outcome.payload, outcome.fields);
}

/** A worker's optional hook: when to retry, in epoch seconds. */
export type RetryAt = (failedAt: number, retryCount: number) => number;

/**
 * Sidekiq's backoff: `count^4 + 15 + rand(10) * (count + 1)` seconds, with Sidekiq's
 * zero-based count (our retry_count counts from 1, as Verk's does).
 */
export function defaultBackoffSeconds(retryCount: number, random: () => number = Math.random): number {
  const count = Math.max(0, retryCount - 1);
  return count ** 4 + 15 + Math.floor(random() * 10) * (count + 1);
}

/**
 * The retry limit of a job: Verk's `max_retry_count` first, then Sidekiq's `retry`
 * (a number is the limit, false means none), then the configured default.
 */
export function retryLimit(payload: JobPayload, fallback: number): number {
  if (Number.isInteger(payload.max_retry_count) && (payload.max_retry_count as number) >= 0) return payload.max_retry_count as number;
  if (payload.retry === false) return 0;
  if (Number.isInteger(payload.retry) && (payload.retry as number) >= 0) return payload.retry as number;
  return fallback;
}

function describeError(error: unknown): { message: string; errorClass: string; backtrace: string } {
  if (error instanceof Error) {
    return { message: error.message, errorClass: error.name || error.constructor.name || 'Error', backtrace: error.stack ?? '' };
  }
  let message: string;
  try {
    message = typeof error === 'string' ? error : JSON.stringify(error);
  } catch {
    message = String(error);
  }
  return { message: message ?? String(error), errorClass: typeof error === 'object' && error !== null ? 'Object' : typeof error, backtrace: '' };
}

/**
 * Decides retry or dead for a failed job and writes Sidekiq's failure fields into a copy
 * of its payload; every other field is kept as it was.
 */
export function failJob(
  payload: JobPayload,
  error: unknown,
  options: { maxRetryCount: number; retryAt?: RetryAt; nowMs?: number; onBadRetryAt?: (value: unknown) => void },
): FailureOutcome {
  const now = nowSeconds(options.nowMs);
  const { message, errorClass, backtrace } = describeError(error);
  const previous = Number.isInteger(payload.retry_count) ? (payload.retry_count as number) : 0;
  const retryCount = previous + 1;
  const fields: Record<string, unknown> = { retry_count: retryCount, error_message: message, error_class: errorClass, error_backtrace: backtrace };
  if (typeof payload.failed_at === 'number') fields.retried_at = now;
  else fields.failed_at = now;
  const next: JobPayload = { ...payload, ...fields };

  if (retryCount > retryLimit(payload, options.maxRetryCount)) return { target: 'dead', score: now, payload: next, fields };

  let at: number | undefined;
  if (options.retryAt) {
    try {
      const value = options.retryAt(now, retryCount);
      if (typeof value === 'number' && Number.isFinite(value)) at = value;
      else options.onBadRetryAt?.(value);
    } catch (hookError) {
      options.onBadRetryAt?.(hookError);
    }
  }
  return { target: 'retry', score: at ?? now + defaultBackoffSeconds(retryCount), payload: next, fields };
}

/**
 * A payload that cannot run at all (not JSON, no class, args not an array) goes to dead
 * at once. When it was a JSON object its text is kept with the error fields spliced in;
 * otherwise the original text is kept in `raw_payload`, so nothing of it is lost.
 */
export function invalidJob(raw: string, queue: string, reason: string, partial: Record<string, unknown> | undefined, nowMs?: number): FailureOutcome {
  const now = nowSeconds(nowMs);
  const base: Record<string, unknown> = partial ? { ...partial } : { class: 'InvalidJob', args: [], raw_payload: raw };
  const fields: Record<string, unknown> = {};
  if (typeof base.jid !== 'string') fields.jid = newJid();
  if (typeof base.queue !== 'string') fields.queue = queue;
  Object.assign(fields, {
    error_message: `Invalid job payload: ${reason}`,
    error_class: 'InvalidJobError',
    failed_at: now,
    retry_count: 0,
  });
  return { target: 'dead', score: now, payload: { ...base, ...fields } as JobPayload, fields };
}
