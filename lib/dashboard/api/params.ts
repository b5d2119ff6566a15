import type { JobSet } from '../../engine/admin/admin';
import type { JobRef } from '../../engine/admin/job-refs';
import { HttpError } from '../server/context';
import type { JobHint } from '../../engine/admin/job-locator';

/** The set pages' names in the URL, and the engine's set names. */
export const SET_PAGES: Record<string, JobSet> = { scheduled: 'schedule', retries: 'retry', dead: 'dead' };

export function checkSetParam(value: string | undefined): JobSet {
  const set = value === undefined ? undefined : SET_PAGES[value];
  if (!set) throw new HttpError(404, `No job set named ${String(value)} (scheduled, retries, dead)`);
  return set;
}

export function checkQueueParam(value: string | undefined): string {
  if (!value || /\s/.test(value)) throw new HttpError(400, 'A queue name is a non-empty text without white space');
  return value;
}

export function checkJidParam(value: unknown, field = 'jid'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) throw new HttpError(400, `${field}: must be a non-empty job id`);
  return value;
}

/**
 * The selection of a body: `jobs`, 1 to 1000 `{ jid, at }` as the page listed them (each
 * found by its score: one exact read), or `jids`, 1 to 1000 bare job ids (found by a scan).
 */
export function checkRefs(body: unknown): JobRef[] {
  const { jobs, jids } = (body ?? {}) as { jobs?: unknown; jids?: unknown };
  if (jobs !== undefined) {
    if (!Array.isArray(jobs) || jobs.length === 0 || jobs.length > 1000) throw new HttpError(400, 'jobs: must be an array of 1 to 1000 { jid, at }');
    return jobs.map((item: unknown, i) => {
      const { jid, at } = (typeof item === 'object' && item !== null ? item : {}) as { jid?: unknown; at?: unknown };
      checkJidParam(jid, `jobs[${i}].jid`);
      if (at === undefined || at === null) return jid as string;
      if (typeof at !== 'number' || !Number.isFinite(at)) throw new HttpError(400, `jobs[${i}].at: must be the listed score (a finite number)`);
      return { jid: jid as string, at };
    });
  }
  if (!Array.isArray(jids) || jids.length === 0 || jids.length > 1000) throw new HttpError(400, 'jids: must be an array of 1 to 1000 job ids');
  return jids.map((jid, i) => checkJidParam(jid, `jids[${i}]`));
}

/** A set Kill takes jobs from: retry or schedule (dead has nowhere further to go). */
export function checkKillSet(set: JobSet): 'retry' | 'schedule' {
  if (set === 'dead') throw new HttpError(400, 'Kill moves jobs of retries or scheduled to dead; these are dead already');
  return set;
}

/**
 * Where a link says the job was seen (job links carry it, so the job page reads it exactly):
 * `?set=retries&at=<score>`, `?queue=<q>&node=<id>` (running), `?queue=<q>&pos=<n>`
 * (waiting at that run-order position). Undefined when none or malformed (the page then
 * looks the job up without it).
 */
export function hintOfQuery(query: Record<string, string | undefined>): JobHint | undefined {
  const set = query.set ? SET_PAGES[query.set] : undefined;
  const at = Number(query.at);
  if (set) return query.at && Number.isFinite(at) ? { set, at } : undefined;
  return hintOfFields(query.queue, query.node, query.pos);
}

/** The `hint` of an action's body, as the job page and Busy send it: `{ set, at }` (engine set names), `{ queue, node }`, `{ queue, offset }`. */
export function hintOfBody(body: unknown): JobHint | undefined {
  const hint = (body as { hint?: unknown } | null | undefined)?.hint;
  if (typeof hint !== 'object' || hint === null) return undefined;
  const { set, at, queue, node, offset } = hint as Record<string, unknown>;
  if (set === 'schedule' || set === 'retry' || set === 'dead') return typeof at === 'number' && Number.isFinite(at) ? { set, at } : undefined;
  return hintOfFields(queue, node, offset);
}

function hintOfFields(queue: unknown, node: unknown, offset: unknown): JobHint | undefined {
  if (typeof queue !== 'string' || queue.length === 0 || /\s/.test(queue)) return undefined;
  if (typeof node === 'string' && node.length > 0) return { queue, node };
  const position = Number(offset);
  return offset !== undefined && offset !== '' && Number.isSafeInteger(position) && position >= 0 ? { queue, offset: position } : undefined;
}

/** The URL query of a job link carrying a hint (the inverse of hintOfQuery). */
export function hintQuery(hint: JobHint | undefined): Record<string, string> {
  if (!hint) return {};
  if ('set' in hint) return { set: Object.keys(SET_PAGES).find((page) => SET_PAGES[page] === hint.set) ?? '', at: String(hint.at) };
  return 'node' in hint ? { queue: hint.queue, node: hint.node } : { queue: hint.queue, pos: String(hint.offset) };
}

/** ?period= of the metrics page's job classes: the last 60 (default) or 480 minutes. */
export function periodParam(value: string | undefined): 60 | 480 {
  if (value === undefined || value === '' || value === '60') return 60;
  if (value === '480') return 480;
  throw new HttpError(400, 'period: must be 60 or 480 (minutes)');
}

/** ?class= of the metrics page: one job class; undefined for all. */
export function classParam(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.length > 1000) throw new HttpError(400, 'class: a job class name of at most 1000 characters');
  return value;
}
