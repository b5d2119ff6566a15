import type { JobSet } from '../../engine/admin/admin';
import { HttpError } from '../server/context';

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

/** `jids` of a selection body: 1 to 1000 job ids. */
export function checkJids(body: unknown): string[] {
  const jids = (body as { jids?: unknown } | null)?.jids;
  if (!Array.isArray(jids) || jids.length === 0 || jids.length > 1000) throw new HttpError(400, 'jids: must be an array of 1 to 1000 job ids');
  return jids.map((jid, i) => checkJidParam(jid, `jids[${i}]`));
}
