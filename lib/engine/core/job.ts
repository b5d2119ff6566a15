import { randomBytes } from 'node:crypto';
import { fieldText, spliceFields } from './payload-text';

/**
 * A job as stored in Redis: Sidekiq's JSON fields, Verk's `max_retry_count`, and any
 * field another system wrote, which is kept unchanged through every move.
 */
export interface JobPayload {
  class: string;
  args: unknown[];
  /** 24 hex characters. */
  jid: string;
  queue: string;
  /** true (default limit), false (no retries), or a retry limit. */
  retry?: boolean | number;
  /** Verk's per-job retry limit; wins over `retry`. */
  max_retry_count?: number;
  /** Ours (qless): a nonzero integer from -1000 to 1000; absent on a plain job. */
  priority?: number;
  /** Epoch seconds (float). */
  created_at?: number;
  enqueued_at?: number;
  /** Number of failures so far (Verk counts from 1). */
  retry_count?: number;
  error_message?: string;
  error_class?: string;
  failed_at?: number;
  retried_at?: number;
  error_backtrace?: string;
  /** Flow control (ours, see flow.ts): jids this job waits for. */
  depends_on?: string[];
  /** Other jobs may depend on this one. */
  dependable?: boolean;
  /** Unique lock name and lifetime (ms). */
  unique_key?: string;
  unique_ttl?: number;
  /** The batch it belongs to (Sidekiq Pro's field). */
  bid?: string;
  /** Ours (docs/limits.md): the group (tenant, account) it is served and limited with. */
  group?: string;
  [field: string]: unknown;
}

/** A job taken from a queue: the exact stored string (needed to remove it) and its parsed form. */
export interface FetchedJob {
  raw: string;
  queue: string;
  payload: JobPayload;
}

export type ParseResult = { ok: true; payload: JobPayload } | { ok: false; reason: string; partial?: Record<string, unknown> };

/** Random bytes for 512 jids, drawn at once: one `randomBytes` call per jid cost ~3 µs, a slice ~0.1 µs. */
const JID_POOL_BYTES = 12 * 512;
let jidPool = Buffer.alloc(0);
let jidOffset = 0;

/** A new job id: 12 random bytes as 24 hex characters, like Sidekiq's. */
export function newJid(): string {
  if (jidOffset + 12 > jidPool.length) {
    jidPool = randomBytes(JID_POOL_BYTES);
    jidOffset = 0;
  }
  const jid = jidPool.toString('hex', jidOffset, jidOffset + 12);
  jidOffset += 12;
  return jid;
}

/** Epoch seconds as a float, the unit of every time field in a payload. */
export function nowSeconds(ms: number = Date.now()): number {
  return ms / 1000;
}

/**
 * Parses a stored payload and checks it can be run. Returns why not otherwise, so the
 * engine can park it in `dead` with that reason instead of crashing or blocking the queue.
 */
export function parsePayload(raw: string, queue: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { ok: false, reason: `payload is not valid JSON (${(error as Error).message})` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: `payload must be a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}` };
  }
  const job = value as Record<string, unknown>;
  if (typeof job.class !== 'string' || job.class.length === 0) {
    return { ok: false, reason: `"class" must be a non-empty string, got ${JSON.stringify(job.class)}`, partial: job };
  }
  if (!Array.isArray(job.args)) {
    return { ok: false, reason: `"args" must be an array, got ${JSON.stringify(job.args)}`, partial: job };
  }
  if (typeof job.jid !== 'string' || job.jid.length === 0) job.jid = newJid();
  if (typeof job.queue !== 'string' || job.queue.length === 0) job.queue = queue;
  return { ok: true, payload: job as JobPayload };
}

/** Fields parsePayload fills in when the stored text lacks them; a rewrite must store them. */
const FILLED_FIELDS = ['jid', 'queue'] as const;

/**
 * The stored text of a job with `changes` spliced into it (a field set to undefined is
 * removed), every other byte as stored: never a JSON re-encoding, which would change
 * another system's numbers (`9007199254740993`, `1.0`). A jid or queue that parsePayload
 * invented for the job is written too, so the job keeps them from now on. Throws
 * PayloadTextError when `raw` is not a JSON object.
 */
export function jobText(raw: string, job: Pick<JobPayload, 'jid' | 'queue'>, changes: Readonly<Record<string, unknown>>): string {
  const all: Record<string, unknown> = {};
  for (const name of FILLED_FIELDS) {
    if (name in changes) continue;
    const stored = fieldText(raw, name);
    // A string decodes exactly; anything else differs from the job's string anyway.
    if (stored === undefined || JSON.parse(stored) !== job[name]) all[name] = job[name];
  }
  return spliceFields(raw, Object.assign(all, changes));
}

/** Reads a stored member without changing it (no jid is invented, unlike the runner's parse). */
export function readJob(raw: string): { job: JobPayload; error?: undefined } | { job: null; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { job: null, error: `not valid JSON (${(error as Error).message})` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { job: null, error: `not a JSON object (${Array.isArray(value) ? 'an array' : JSON.stringify(value)})` };
  }
  const job = value as Record<string, unknown>;
  if (typeof job.class !== 'string' || job.class.length === 0) return { job: null, error: `"class" must be a non-empty string, got ${JSON.stringify(job.class)}` };
  if (!Array.isArray(job.args)) return { job: null, error: `"args" must be an array, got ${JSON.stringify(job.args)}` };
  if (typeof job.jid !== 'string' || job.jid.length === 0) return { job: null, error: `"jid" must be a non-empty string, got ${JSON.stringify(job.jid)}` };
  return { job: job as JobPayload };
}
