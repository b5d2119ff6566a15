import type { FailureOutcome } from './failure';
import type { JobPayload } from './job';

/**
 * What the engine reports about jobs. The Nest layer turns these into events and log
 * lines; implementations must not throw (the engine guards them anyway) and must not
 * block: they run on the job's path.
 */
export interface JobObserver {
  jobStarted?(job: JobPayload, queue: string): void;
  jobFinished?(job: JobPayload, queue: string, durationMs: number): void;
  jobFailed?(job: JobPayload, queue: string, error: unknown, outcome: FailureOutcome, durationMs: number): void;
}
