import type { VerkScripts } from '../redis/verk-scripts';
import type { RateLimitedLog } from '../logger';
import { backoffMs, type Sleeper } from '../core/timing';

/** Most jobs whose slots one releaseSlots call gives back (Lua's unpack limit is ~8000). */
const MAX_RELEASE_BATCH = 1000;

/** What a limited fetch gave: the jobs, or none and how long to wait (see lua/limits/fetchLimited-13.lua). */
export interface LimitedFetchReply {
  jobs: string[];
  /** With no jobs: 0 nothing waits, > 0 ms until a limit resets, -1 until a slot is released. */
  wait: number;
}

/**
 * One queue manager's side of the queue's limits (docs/limits.md): whether the queue is
 * fetched with limits (its limits hash exists: learned at start and from the control
 * channel), the fetch itself, and the slots of the jobs it took - given back, in batches
 * and retried until they land, once each job's outcome is written.
 */
export class LimitedFetch {
  /** The queue has limits or groups: fetch with lua/limits/fetchLimited. */
  limited: boolean;
  /** Set once this node fetched with limits: its slots are given back on stop. */
  private used = false;
  /** Jobs taken with a slot and not yet released, with multiplicity. */
  private readonly counted = new Map<string, number>();
  private pending: string[] = [];
  /** Cuts short a wait for a limit to reset (wake-up, resume, new limits, stop). */
  private waiter?: () => void;
  private flushing?: Promise<void>;

  constructor(
    private readonly options: {
      queue: string;
      nodeId: string;
      scripts: VerkScripts;
      warnings: RateLimitedLog;
      sleeper: Sleeper;
      closed: () => boolean;
      limited: boolean;
    },
  ) {
    this.limited = options.limited;
  }

  async fetch(count: number): Promise<LimitedFetchReply | null> {
    const { queue, nodeId, scripts } = this.options;
    this.used = true;
    const reply = await scripts.fetchLimited({ queue, nodeId, count });
    if (reply === null) return null;
    const [wait, ...jobs] = reply;
    for (const raw of jobs) this.counted.set(raw, (this.counted.get(raw) ?? 0) + 1);
    return { jobs, wait: Number(wait) };
  }

  /** Waits `ms` (until a limit resets, or a slot may be free), unless wakeUp() comes first. */
  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiter = done;
    });
  }

  wakeUp(): void {
    this.waiter?.();
  }

  /** The job's slot was given back by a script that moved it (a VerkRateLimitError). */
  forget(raw: string): boolean {
    const count = this.counted.get(raw);
    if (count === undefined) return false;
    if (count <= 1) this.counted.delete(raw);
    else this.counted.set(raw, count - 1);
    return true;
  }

  /** The job's outcome was written: its slot goes back (batched with the others finishing now). */
  released(raw: string): void {
    // A queue without limits never counted a job: one size check per job, no lookup.
    if (this.counted.size === 0 || !this.forget(raw) || this.options.closed()) return;
    this.pending.push(raw);
    if (!this.flushing) this.flushing = this.flush();
  }

  private async flush(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const { queue, nodeId, scripts, warnings, sleeper, closed } = this.options;
    let attempt = 0;
    while (this.pending.length > 0 && !closed()) {
      const batch = this.pending.splice(0, MAX_RELEASE_BATCH);
      try {
        await scripts.releaseSlots({ queue, nodeId, jobs: batch });
        attempt = 0;
      } catch (error) {
        this.pending.unshift(...batch);
        warnings.warn(`Queue ${queue}: could not give back the limit slots of ${batch.length} job(s) (${(error as Error).message}); retrying`);
        await sleeper.sleep(backoffMs(attempt++));
      }
    }
    this.flushing = undefined;
  }

  /** Resolves when every release queued so far has been written (or the manager closed). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  /**
   * After this node's jobs of the queue were put back (stop) or reconciled: gives back
   * every slot it holds but those of `keep` (the jobs it still runs).
   */
  async releaseHeld(keep: readonly string[] = []): Promise<void> {
    if (!this.used) return;
    const { queue, nodeId, scripts } = this.options;
    await scripts.releaseNodeSlots({ queue, nodeId, own: true, keep });
    if (keep.length === 0) this.counted.clear();
  }
}
