import { RateLimitedLog, type VerkLogger } from '../logger';
import { Sleeper, withTimeout } from './timing';

export interface PollLoopOptions {
  /** Names the loop in its log lines, e.g. `Scheduler`. */
  name: string;
  /** Longest sleep between rounds, ms. */
  pollInterval: number;
  logger: VerkLogger;
  /** One round of work; resolves with the ms until the next round is useful (capped at pollInterval). */
  round: () => Promise<number>;
}

/**
 * The loop the schedulers share: run a round, sleep until the next one is due (at most
 * pollInterval), keep going through errors (logged at most every 5 s), wake early on
 * pollNow(), and stop without leaving a timer behind.
 */
export class PollLoop {
  private active = false;
  private loop?: Promise<void>;
  private readonly sleeper = new Sleeper();
  private readonly warnings: RateLimitedLog;
  /** A round was asked for while one was running: run again instead of sleeping. */
  private pollAgain = false;

  constructor(private readonly options: PollLoopOptions) {
    this.warnings = new RateLimitedLog(options.logger);
  }

  get running(): boolean {
    return this.active;
  }

  start(): void {
    if (this.active) return;
    this.active = true;
    this.loop = this.run();
  }

  /** Runs a round now instead of at the next interval; a request during a round makes the loop run once more, so none is lost. */
  pollNow(): void {
    if (!this.active) return;
    this.pollAgain = true;
    this.sleeper.cancel();
  }

  /** Stops; waits at most `timeoutMs` for a round in flight (Redis may be away). */
  async stop(timeoutMs = 1000): Promise<void> {
    this.active = false;
    this.sleeper.cancel();
    await withTimeout(this.loop ?? Promise.resolve(), timeoutMs, undefined);
  }

  private async run(): Promise<void> {
    const { pollInterval, name } = this.options;
    while (this.active) {
      let wait = pollInterval;
      this.pollAgain = false;
      try {
        wait = Math.min(pollInterval, await this.options.round());
      } catch (error) {
        this.warnings.warn(`${name}: ${(error as Error).message}; retrying in ${pollInterval} ms`);
      }
      if (this.active && !this.pollAgain) await this.sleeper.sleep(Math.max(0, wait));
    }
  }
}
