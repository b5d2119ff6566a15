import type Redis from 'ioredis';
import type { WorkerClassRef } from '../client/client';
import { VerkStateError, VerkValidationError } from '../errors';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';
import { checkExec } from '../redis/multi';
import type { VerkLogger } from '../logger';
import {
  checkRecurringName,
  parseStored,
  patchRecurring,
  type RecurringJob,
  type RecurringOptions,
  type RecurringPatch,
  type RecurringSpec,
  sameSpec,
  sameTimes,
  serializeStored,
  type StoredRecurring,
  validateRecurring,
} from './recurring-definition';
import { firstTick } from './recurring-ticks';

/** Attempts of a read-compare-write before giving up (only reached under a storm of concurrent changes). */
const MAX_ATTEMPTS = 50;

export interface VerkRecurringOptions {
  keys: Keys;
  logger: VerkLogger;
  /** Turns a worker class into its job class name. */
  className: (ref: WorkerClassRef) => string;
  /** Called after a definition was written, so this node's recurring scheduler looks again. */
  onChange: () => void;
}

/** A definition and its next tick as read from Redis. */
interface Current {
  json: string | null;
  due: number | null;
  stored: StoredRecurring | null;
}

/**
 * Recurring jobs: create, replace, list, update and remove definitions (hash
 * `verk:recurring`, next ticks in `verk:recurring:due`), and the schedules declared in code,
 * written when the node starts. Every write is a compare-and-set (putRecurring), so
 * concurrent writers and ticking nodes never undo each other's work.
 */
export class VerkRecurring {
  private readonly declared = new Map<string, RecurringSpec>();

  private readonly scripts: VerkScripts;

  constructor(
    private readonly redis: Redis,
    private readonly options: VerkRecurringOptions,
  ) {
    this.scripts = new VerkScripts(redis, options.keys);
  }

  /**
   * Creates a recurring job, or replaces the one with that name (its run count starts
   * again from 0; a tick already enqueued under the name is never enqueued again). Returns
   * the definition with its next run. Throws VerkValidationError naming the field on bad
   * input, writing nothing.
   */
  async recur(name: string, options: RecurringOptions): Promise<RecurringJob> {
    const spec = validateRecurring(name, options, this.options.className);
    return this.write(spec);
  }

  /** Every recurring job, by name, with its next run. */
  async listRecurring(): Promise<RecurringJob[]> {
    const { keys } = this.options;
    // ZRANGE's stop as a string: ioredis 6.0.0 types it string-only (fixed upstream, unreleased).
    const [definitions, due] = (await this.redis.multi().hgetall(keys.recurring).zrange(keys.recurringDue, 0, '-1', 'WITHSCORES').exec().then(checkExec)) as [Record<string, string>, string[]];
    const next = new Map<string, number>();
    for (let i = 0; i < due.length; i += 2) next.set(due[i], Number(due[i + 1]));
    const jobs: RecurringJob[] = [];
    for (const name of Object.keys(definitions).sort()) {
      const stored = this.parse(name, definitions[name]);
      if (stored) jobs.push({ ...stored, nextRunAt: next.get(name) ?? null });
    }
    return jobs;
  }

  /** One recurring job with its next run, or null when there is none by that name. */
  async getRecurring(name: string): Promise<RecurringJob | null> {
    checkRecurringName(name);
    const { stored, due } = await this.read(name);
    return stored ? { ...stored, nextRunAt: due } : null;
  }

  /**
   * Changes a recurring job: interval (`every`, `offset`), expression (`cron`, `timezone`),
   * `args`, `queue`, `catchUp`, `maxRuns`, `endAt`, `priority`, `retry`, `maxRetryCount`
   * (`null` clears an optional one). A change of the times recomputes the next run (`every`
   * still counts from the definition's creation); other changes keep it. The run count is
   * kept. Returns the new definition, or null when there is none by that name. Throws
   * VerkValidationError naming the field on bad input, writing nothing.
   */
  async updateRecurring(name: string, patch: RecurringPatch): Promise<RecurringJob | null> {
    checkRecurringName(name);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.read(name);
      if (current.json === null) return null;
      if (!current.stored) throw new VerkStateError(`Recurring job "${name}" has a stored definition that is not valid; replace it with recur() or remove it`);
      const spec = patchRecurring(current.stored, patch);
      const stored: StoredRecurring = { ...spec, runs: current.stored.runs, createdAt: current.stored.createdAt };
      if (current.stored.lastRunAt !== undefined) stored.lastRunAt = current.stored.lastRunAt;
      let next = sameTimes(current.stored, spec) && current.due !== null ? current.due : firstTick(stored, Date.now());
      if (next !== null && ((stored.maxRuns !== undefined && stored.runs >= stored.maxRuns) || (stored.endAt !== undefined && next > stored.endAt))) next = null;
      if (await this.put(name, current, stored, next)) return { ...stored, nextRunAt: next };
    }
    throw new VerkStateError(`Recurring job "${name}" changed ${MAX_ATTEMPTS} times while it was being updated; try again`);
  }

  /** Removes a recurring job (jobs it already enqueued stay). False when there was none by that name. */
  async removeRecurring(name: string): Promise<boolean> {
    checkRecurringName(name);
    const { keys } = this.options;
    const [removed] = (await this.redis.multi().hdel(keys.recurring, name).zrem(keys.recurringDue, name).exec().then(checkExec)) as [number, number];
    return removed === 1;
  }

  /**
   * Declares a schedule in code (the Nest layer does it for `@Worker({ cron })`): checked
   * now, written when the node starts, before it ticks. A stored definition that is the
   * same keeps its next run and run count; a different one is replaced.
   */
  declare(name: string, options: RecurringOptions): void {
    const spec = validateRecurring(name, options, this.options.className);
    if (this.declared.has(name)) throw new VerkValidationError('name', `the recurring job "${name}" is declared twice`);
    this.declared.set(name, spec);
  }

  /** Writes the declared schedules that are not stored as declared. Called by the engine at start. */
  async writeDeclared(): Promise<void> {
    for (const spec of this.declared.values()) await this.write(spec, true);
  }

  private async write(spec: RecurringSpec, keepSame = false): Promise<RecurringJob> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await this.read(spec.name);
      if (keepSame && current.stored && sameSpec(current.stored, spec)) return { ...current.stored, nextRunAt: current.due };
      const stored: StoredRecurring = { ...spec, runs: 0, createdAt: Date.now() };
      if (current.stored?.lastRunAt !== undefined) stored.lastRunAt = current.stored.lastRunAt;
      const next = firstTick(stored, stored.createdAt);
      if (await this.put(spec.name, current, stored, next)) {
        if (keepSame && current.json !== null) this.options.logger.log(`Recurring job ${spec.name}: its declaration changed; the stored definition was replaced`);
        return { ...stored, nextRunAt: next };
      }
    }
    throw new VerkStateError(`Recurring job "${spec.name}" changed ${MAX_ATTEMPTS} times while it was being written; try again`);
  }

  private async read(name: string): Promise<Current> {
    const { keys } = this.options;
    const [json, score] = (await this.redis.multi().hget(keys.recurring, name).zscore(keys.recurringDue, name).exec().then(checkExec)) as [string | null, string | null];
    return { json, due: score === null ? null : Number(score), stored: json === null ? null : this.parse(name, json) };
  }

  private parse(name: string, json: string): StoredRecurring | null {
    try {
      return parseStored(json);
    } catch (error) {
      this.options.logger.warn(`Recurring job ${name}: the stored definition is not valid (${(error as Error).message}); it is ignored`);
      return null;
    }
  }

  private async put(name: string, current: Current, stored: StoredRecurring, next: number | null): Promise<boolean> {
    const written = await this.scripts.putRecurring({ name, expected: current.json, expectedTick: current.due, definition: serializeStored(stored), nextTick: next });
    if (written === 1) this.options.onChange();
    return written === 1;
  }
}
