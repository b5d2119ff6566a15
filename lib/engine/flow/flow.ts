import { createHash } from 'node:crypto';
import { VerkValidationError } from '../errors';
import type { JobPayload } from '../core/job';

/**
 * Flow control (dependencies, unique jobs, batches): the fields a job carries for it and
 * their validation. A job that uses none of them is a plain Sidekiq job, stored and
 * acknowledged exactly as before; one that does is enqueued through `schedule` by
 * enqueueFlowJobs and acknowledged one at a time by completeFlowJob/failFlowJob.
 */

/** `unique` of a job to enqueue: while a job holding the lock waits or runs, another enqueue returns its jid and writes nothing. */
export interface UniqueOptions {
  /** Lock name; jobs with equal keys are duplicates. Default: the job's class and args. */
  key?: string;
  /** Lock lifetime in ms, whatever happens to the job (a safety net for lost jobs). */
  ttl: number;
}


/** True when a payload needs the flow-control path. */
export function isFlowJob(job: JobPayload): boolean {
  return job.dependable === true || typeof job.unique_key === 'string' || typeof job.bid === 'string';
}

/** The default unique key: the class and a digest of the args. */
export function defaultUniqueKey(className: string, args: unknown[]): string {
  return `${className}:${createHash('sha256').update(JSON.stringify(args)).digest('hex').slice(0, 32)}`;
}

function checkJidList(value: unknown, field: string, ownJid: string): string[] {
  if (!Array.isArray(value)) throw new VerkValidationError(field, `must be an array of jids, got ${JSON.stringify(value)}`);
  const seen = new Set<string>();
  value.forEach((jid, index) => {
    if (typeof jid !== 'string' || jid.length === 0 || /\s/.test(jid)) {
      throw new VerkValidationError(`${field}[${index}]`, `must be a jid (non-empty string without white space), got ${JSON.stringify(jid)}`);
    }
    if (jid === ownJid) throw new VerkValidationError(`${field}[${index}]`, 'a job cannot depend on itself');
    seen.add(jid);
  });
  return [...seen];
}

/**
 * Validates the flow-control fields of a job to enqueue and writes them into its
 * payload. Throws VerkValidationError naming the field.
 */
export function applyFlowFields(input: { dependsOn?: unknown; dependable?: unknown; unique?: unknown }, field: string, payload: JobPayload): void {
  if (input.dependsOn !== undefined) {
    const deps = checkJidList(input.dependsOn, `${field}.dependsOn`, payload.jid);
    if (deps.length > 0) {
      payload.depends_on = deps;
      // A job that waits is tracked anyway; others may depend on it in turn.
      payload.dependable = true;
    }
  }
  if (input.dependable !== undefined) {
    if (typeof input.dependable !== 'boolean') throw new VerkValidationError(`${field}.dependable`, `must be a boolean, got ${JSON.stringify(input.dependable)}`);
    if (input.dependable) payload.dependable = true;
  }
  if (input.unique !== undefined) {
    const unique = input.unique as Partial<UniqueOptions> | null;
    if (unique === null || typeof unique !== 'object' || Array.isArray(unique)) {
      throw new VerkValidationError(`${field}.unique`, `must be an object { key?, ttl }, got ${JSON.stringify(input.unique)}`);
    }
    for (const key of Object.keys(unique)) {
      if (key !== 'key' && key !== 'ttl') throw new VerkValidationError(`${field}.unique.${key}`, 'unknown field (known: key, ttl)');
    }
    if (typeof unique.ttl !== 'number' || !Number.isInteger(unique.ttl) || unique.ttl < 1) {
      throw new VerkValidationError(`${field}.unique.ttl`, `must be the lock's lifetime in ms, an integer >= 1, got ${JSON.stringify(unique.ttl)}`);
    }
    if (unique.key !== undefined && (typeof unique.key !== 'string' || unique.key.length === 0)) {
      throw new VerkValidationError(`${field}.unique.key`, `must be a non-empty string, got ${JSON.stringify(unique.key)}`);
    }
    payload.unique_key = unique.key ?? defaultUniqueKey(payload.class, payload.args);
    payload.unique_ttl = unique.ttl;
  }
}
