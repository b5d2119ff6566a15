import { CronExpressionParser } from 'cron-parser';
import { VerkValidationError } from '../errors';
import { MAX_CATCH_UP, type StoredRecurring } from './recurring-definition';

/*
 * When a recurring job's ticks fall: the rule of an interval (`every`) or of a cron
 * expression, and the plan of what one node enqueues for a due tick. The definitions
 * themselves (validation, stored form) are in recurring-definition.ts.
 */

/** When a schedule's ticks fall (epoch ms). */
export interface TickRule {
  /** The first tick at or after `t`, or null when there is none. */
  atOrAfter(t: number): number | null;
  /** The last tick at or before `t`, or null when there is none. */
  atOrBefore(t: number): number | null;
  /** Ticks from `from` to `to` (both included), in order, at most `limit`. */
  between(from: number, to: number, limit: number): number[];
  /** The last `count` ticks from `from` to `to` (both included), in order. */
  lastBetween(from: number, to: number, count: number): number[];
}

/** The tick rule of a definition: `every` from createdAt + offset, or the cron expression in its time zone. */
export function tickRule(def: Pick<StoredRecurring, 'every' | 'offset' | 'cron' | 'timezone' | 'createdAt'>): TickRule {
  if (def.every !== undefined) return everyRule(def.createdAt + (def.offset ?? 0), def.every);
  if (def.cron !== undefined) return cronRule(def.cron, def.timezone);
  throw new VerkValidationError('every', 'a recurring definition needs every (an interval in ms) or cron (an expression); it has neither');
}

function everyRule(base: number, every: number): TickRule {
  const atOrAfter = (t: number): number => (t <= base ? base : base + Math.ceil((t - base) / every) * every);
  const atOrBefore = (t: number): number | null => (t < base ? null : base + Math.floor((t - base) / every) * every);
  return {
    atOrAfter,
    atOrBefore,
    between(from, to, limit) {
      const ticks: number[] = [];
      for (let tick = atOrAfter(from); tick <= to && ticks.length < limit; tick += every) ticks.push(tick);
      return ticks;
    },
    lastBetween(from, to, count) {
      const ticks: number[] = [];
      const first = atOrAfter(from);
      for (let tick = atOrBefore(to); tick !== null && tick >= first && ticks.length < count; tick -= every) ticks.unshift(tick);
      return ticks;
    },
  };
}

function cronRule(expression: string, tz: string | undefined): TickRule {
  const parse = (currentDate: number) => CronExpressionParser.parse(expression, { tz, currentDate: new Date(currentDate) });
  const atOrAfter = (t: number): number | null => {
    const cron = parse(t - 1);
    return cron.hasNext() ? cron.next().getTime() : null;
  };
  const atOrBefore = (t: number): number | null => {
    const cron = parse(t + 1);
    return cron.hasPrev() ? cron.prev().getTime() : null;
  };
  return {
    atOrAfter,
    atOrBefore,
    between(from, to, limit) {
      const ticks: number[] = [];
      const cron = parse(from - 1);
      while (ticks.length < limit && cron.hasNext()) {
        const tick = cron.next().getTime();
        if (tick > to) break;
        ticks.push(tick);
      }
      return ticks;
    },
    lastBetween(from, to, count) {
      const ticks: number[] = [];
      const cron = parse(to + 1);
      while (ticks.length < count && cron.hasPrev()) {
        const tick = cron.prev().getTime();
        if (tick < from) break;
        ticks.unshift(tick);
      }
      return ticks;
    },
  };
}

/** The next tick of a definition at or after `from` that its limits allow, or null (ended). */
export function nextAllowed(def: StoredRecurring, from: number): number | null {
  if (def.maxRuns !== undefined && def.runs >= def.maxRuns) return null;
  const next = tickRule(def).atOrAfter(from);
  if (next === null || (def.endAt !== undefined && next > def.endAt)) return null;
  return next;
}

/** The first tick of a new (or changed) definition: at or after now, after the last job enqueued under its name. */
export function firstTick(def: StoredRecurring, now: number): number | null {
  return nextAllowed(def, Math.max(now, def.lastRunAt === undefined ? -Infinity : def.lastRunAt + 1));
}

/** What one node does for one due tick. */
export interface TickPlan {
  /** Ticks to enqueue a job for (epoch ms), oldest first. */
  ticks: number[];
  /** The tick after now (epoch ms) ignoring maxRuns, or null when endAt or the rule ends it. */
  following: number | null;
  /** Missed ticks not enqueued (the policy or the cap), for the log: from and to (epoch ms), or null. */
  skipped: { from: number; to: number; capped: boolean } | null;
}

/**
 * Decides what to enqueue when the tick `due` of a definition is reached at `now`:
 * every tick from `due` to now (and to endAt) is due; the catch-up policy picks among them,
 * maxRuns limits them. A tick counts as on time (for 'none') when it is at most `grace` ms
 * old. Then the next tick is the first one after now.
 */
export function planTicks(def: StoredRecurring, due: number, now: number, grace: number): TickPlan {
  const rule = tickRule(def);
  const end = Math.min(now, def.endAt ?? Infinity);
  let ticks: number[] = [];
  let skipped: TickPlan['skipped'] = null;
  if (due <= end) {
    const latest = Math.max(rule.atOrBefore(end) ?? due, due);
    if (def.catchUp === 'all') {
      // `due` itself, then every tick after it up to the end.
      ticks = [due, ...rule.between(due + 1, end, MAX_CATCH_UP)];
      if (ticks.length > MAX_CATCH_UP) {
        ticks = rule.lastBetween(due + 1, end, MAX_CATCH_UP);
        skipped = { from: due, to: ticks[0] - 1, capped: true };
      }
    } else {
      if (def.catchUp === 'one' || now - latest <= grace) ticks = [latest];
      if (latest > due || ticks.length === 0) skipped = { from: due, to: ticks.length > 0 ? latest - 1 : latest, capped: false };
    }
  }
  if (def.maxRuns !== undefined) ticks = ticks.slice(0, Math.max(0, def.maxRuns - def.runs));
  let following = rule.atOrAfter(Math.max(now, due) + 1);
  if (following !== null && def.endAt !== undefined && following > def.endAt) following = null;
  return { ticks, following, skipped };
}
