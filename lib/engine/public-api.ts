/**
 * The names both public entries export, `nestjs-verk` (lib/index.ts) and `nestjs-verk/engine` (lib/engine/index.ts): events, errors,
 * job helpers and the option and result types of the operations both offer.
 */
export { JobFailed, JobFinished, JobStarted, QueuePaused, QueuePausing, QueueRunning, type VerkEvent, type VerkEventClass, type VerkEventListener } from './events';
export { VerkConfigError, VerkValidationError, UnknownWorkerError, InvalidJobError } from './errors';
export { VerkFlowError } from './flow-admin';
export { VerkMiddlewareError, currentJob, type JobContext } from './middleware';
export { newJid, type JobPayload } from './job';
export { subscribeToTrackedJobs, type TrackedJobListener } from './tracking';
export type { VerkOptions } from './options';
export type { HistoryOptions } from './history-options';
export type { VerkLogger } from './logger';
export type { RetryAt } from './failure';
export type { BatchOptions, BatchResult, EnqueueJob, WorkerClassRef } from './client';
export type { UniqueOptions } from './flow';
export type { BatchStatus, CancelOptions, JobState, JobStatus } from './flow-admin';
export type { FoundJob, JobPage, JobSet, JobSource, ListedJob, ListOptions } from './admin';
export type { DayStats, NodeStats, QueueStats, StatsOptions, VerkStats } from './stats';
export type { CatchUpPolicy, RecurringJob, RecurringOptions, RecurringPatch } from './recurring-definition';
export type { JobEvent, JobEventName, TaggedJobs, TrackedJobEvent } from './recorder';
export { redactRedisUrl, redactSecrets } from './redact';
