import { type JobPayload, newJid, nowSeconds } from './job';

/** Where a failed job goes next. */
export interface FailureOutcome {
  target: 'retry' | 'dead';
  /** When to retry, or when it died (epoch seconds). */
  score: number;
  payload: JobPayload;
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
  const next: JobPayload = { ...payload, retry_count: retryCount, error_message: message, error_class: errorClass, error_backtrace: backtrace };
  if (typeof payload.failed_at === 'number') next.retried_at = now;
  else next.failed_at = now;

  if (retryCount > retryLimit(payload, options.maxRetryCount)) return { target: 'dead', score: now, payload: next };

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
  return { target: 'retry', score: at ?? now + defaultBackoffSeconds(retryCount), payload: next };
}

/**
 * A payload that cannot run at all (not JSON, no class, args not an array) goes to dead
 * at once. Its fields are kept when it was a JSON object; otherwise the original text is
 * kept in `raw_payload`, so nothing of it is lost.
 */
export function invalidJob(raw: string, queue: string, reason: string, partial: Record<string, unknown> | undefined, nowMs?: number): FailureOutcome {
  const now = nowSeconds(nowMs);
  const base: Record<string, unknown> = partial ? { ...partial } : { class: 'InvalidJob', args: [], raw_payload: raw };
  if (typeof base.jid !== 'string') base.jid = newJid();
  if (typeof base.queue !== 'string') base.queue = queue;
  const payload = {
    ...base,
    error_message: `Invalid job payload: ${reason}`,
    error_class: 'InvalidJobError',
    failed_at: now,
    retry_count: 0,
  } as JobPayload;
  return { target: 'dead', score: now, payload };
}
