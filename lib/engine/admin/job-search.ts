import type Redis from 'ioredis';
import type { ListedJob } from './admin';
import { checkInteger, checkOptions, checkOrder, checkSource, type JobSource } from './admin-input';
import { readJob } from '../core/job';
import { VerkValidationError } from '../errors';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';

/** What a search looks for; every filter given must match. */
export interface JobFilter {
  /** The job's `class`, exactly. */
  class?: string;
  /** The job's `queue`, exactly. */
  queue?: string;
  /**
   * Text the stored job contains, case-insensitive for ASCII letters: matched against the
   * job's JSON text as stored (args, error_message, error_class and every other field;
   * a quote or backslash in args is stored escaped, `\"`).
   */
  text?: string;
}

export interface SearchOptions {
  /** Where to continue: a previous page's `nextCursor`. Default: the start. */
  cursor?: string | null;
  /** Matches per page, 1 to 1000. Default 25. */
  limit?: number;
  /** Members read at most by this call, 1 to 5000 (the bound on its work). Default 5000. */
  scanLimit?: number;
  /** Sorted sets: 'asc' (default, earliest first) or 'desc'. A queue: run order only. */
  order?: 'asc' | 'desc';
}

/** One step of a search: the matches it found and where to go on. */
export interface SearchPage {
  /** Members in the set or queue now. */
  total: number;
  /** Where this step began (its `cursor`, '0' at the start). */
  cursor: string;
  /** Matches, in the listing's order (sorted sets: with `at`, the score). */
  jobs: ListedJob[];
  /** Pass as `cursor` to continue; null when the end was reached. */
  nextCursor: string | null;
  /** Members this step read (at most `scanLimit`). */
  scanned: number;
}

const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 1000;
/** The most one call reads: a few ms of Redis time (see the dashboard bench). */
export const MAX_SCAN = 5000;

/**
 * Filtered search through `schedule`, `retry`, `dead` or a queue's waiting jobs as a
 * bounded incremental scan: each call reads at most `scanLimit` members by position (in
 * one script call that returns only the matches), so a set of millions answers as fast as
 * a small one, and the caller continues with `nextCursor` ("continue searching").
 *
 * The cursor is a position: members added or removed in front of it meanwhile shift the
 * rest, so a job that moves during a search may be missed or seen twice (as with Redis
 * SCAN); a job that stays put is found.
 */
export class VerkJobSearch {
  private readonly scripts: VerkScripts;

  constructor(redis: Redis, keys: Keys) {
    this.scripts = new VerkScripts(redis, keys);
  }

  async search(where: JobSource, filter: JobFilter, options?: SearchOptions): Promise<SearchPage> {
    const source = checkSource(where, 'where');
    const wanted = checkFilter(filter);
    const input = checkOptions(options, 'options');
    const start = checkCursor(input.cursor);
    const limit = checkInteger(input.limit, 'options.limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
    const bound = checkInteger(input.scanLimit, 'options.scanLimit', 1, MAX_SCAN, MAX_SCAN);
    const order = checkOrder(input.order, source);
    const from = source.set ? { set: source.set } : { queue: source.queue };
    const [total, next, scanned, ...matches] = await this.scripts.scanJobs({ from, order, start, bound, limit, filter: wanted });
    const jobs: ListedJob[] = [];
    for (let i = 0; i + 1 < matches.length; i += 2) {
      const raw = matches[i];
      jobs.push(source.set ? { raw, ...readJob(raw), at: Number(matches[i + 1]) } : { raw, ...readJob(raw) });
    }
    return { total: Number(total), cursor: String(start), jobs, nextCursor: Number(next) < 0 ? null : String(next), scanned: Number(scanned) };
  }
}

function checkFilter(value: unknown): { class: string; queue: string; text: string } {
  const filter = value === undefined || value === null ? {} : checkOptions(value, 'filter');
  const field = (name: 'class' | 'queue' | 'text'): string => {
    const item = filter[name];
    if (item === undefined || item === null) return '';
    if (typeof item !== 'string') throw new VerkValidationError(`filter.${name}`, `must be a string, got ${JSON.stringify(item)}`);
    return item;
  };
  // Lower case as Lua's string.lower does it (ASCII letters only), so both sides agree.
  return { class: field('class'), queue: field('queue'), text: field('text').replace(/[A-Z]/g, (letter) => letter.toLowerCase()) };
}

function checkCursor(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'string' || !/^[0-9]{1,15}$/.test(value)) {
    throw new VerkValidationError('options.cursor', `must be a cursor returned as nextCursor (digits), got ${JSON.stringify(value)}`);
  }
  return Number(value);
}
