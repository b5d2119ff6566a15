import type Redis from 'ioredis';
import type { ResolvedHistoryOptions } from './history-options';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';
import type { RateLimitedLog } from '../logger';

/** Members handled per retention round trip. */
const TRIM_CHUNK = 500;

/**
 * Retention of job histories, tracking and tag indexes (the recorder's sweeps): bounded
 * work per round trip, one sweep at a time.
 */
export class HistoryRetention {
  private sweeping?: Promise<void>;

  constructor(
    private readonly options: {
      keys: Keys;
      /** The engine's connection. */
      redis: Redis;
      history: ResolvedHistoryOptions;
      warnings: RateLimitedLog;
      /** Re-reads whether any job is tracked (after expired tracking was removed). */
      refreshTracking: () => Promise<void>;
    },
  ) {}

  /** Resolves when the sweep in flight (if any) is over. */
  settled(): Promise<void> {
    return this.sweeping ?? Promise.resolve();
  }

  /**
   * Applies retention now: tracking that expired, histories whose last event is older than
   * maxAge or beyond the newest maxJobs (nodes with a history only), tag index entries
   * older than maxAge. Runs every min(maxAge / 2, 60 s) on started nodes.
   */
  sweep(now = Date.now()): Promise<void> {
    this.sweeping ??= this.runSweep(now)
      .catch((error: Error) => this.options.warnings.warn(`Job history retention failed (${error.message}); trying again later`))
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async runSweep(now: number): Promise<void> {
    const { redis, history, keys } = this.options;
    await redis.zremrangebyscore(keys.tracked, '-inf', now);
    await this.options.refreshTracking();
    if (history.enabled) {
      await this.trimByAge(now - history.maxAge);
      await this.trimByCount(history.maxJobs);
    }
    await this.trimTags(now - history.maxAge);
  }

  private async trimByAge(cutoff: number): Promise<void> {
    const { redis } = this.options;
    for (;;) {
      const jids = await redis.zrangebyscore(this.options.keys.historyIndex, '-inf', cutoff, 'LIMIT', 0, TRIM_CHUNK);
      if (jids.length > 0) await this.trim(cutoff, jids);
      if (jids.length < TRIM_CHUNK) return;
    }
  }

  private async trimByCount(maxJobs: number): Promise<void> {
    const { redis } = this.options;
    for (;;) {
      const excess = (await redis.zcard(this.options.keys.historyIndex)) - maxJobs;
      if (excess <= 0) return;
      // ZRANGE's stop as a string: ioredis 6.0.0 types it string-only (fixed upstream, unreleased).
      const page = await redis.zrange(this.options.keys.historyIndex, 0, String(Math.min(excess, TRIM_CHUNK) - 1), 'WITHSCORES');
      const jids = page.filter((_, index) => index % 2 === 0);
      if (jids.length === 0 || (await this.trim(Number(page[page.length - 1]), jids)) === 0) return;
    }
  }

  private trim(bound: number, jids: string[]): Promise<number> {
    return new VerkScripts(this.options.redis, this.options.keys).trimHistory({ bound, jids });
  }

  private async trimTags(cutoff: number): Promise<void> {
    const { redis } = this.options;
    let cursor = '0';
    do {
      const [next, names] = await redis.sscan(this.options.keys.tags, cursor, 'COUNT', 100);
      cursor = next;
      if (names.length === 0) continue;
      await new VerkScripts(redis, this.options.keys).trimTags({ cutoff, tags: names });
    } while (cursor !== '0');
  }
}
