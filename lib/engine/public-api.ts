/**
 * The names both public entries export, `nestjs-verk` (lib/index.ts) and `nestjs-verk/engine` (lib/engine/index.ts): events, errors,
 * job helpers and the option and result types of the operations both offer.
 */
export { JobFailed, JobFinished, JobStarted, QueuePaused, QueuePausing, QueueRunning, type VerkEvent, type VerkEventClass, type VerkEventListener } from './events';
export {
  VerkError,
  VerkConfigError,
  VerkValidationError,
  VerkStateError,
  VerkRedisError,
  VerkBrokerError,
  VerkFlowError,
  VerkMiddlewareError,
  UnknownWorkerError,
  InvalidJobError,
  VerkRateLimitError,
} from './errors';
export { currentJob, type JobContext } from './core/middleware';
export { newJid, type JobPayload } from './core/job';
export { subscribeToTrackedJobs, type TrackedJobListener } from './history/tracking';
export type { DurabilityOptions, VerkOptions } from './options';
export type { VerkRedisTarget } from './redis/redis';
export type { VerkClusterConfig } from './redis/cluster';
export type { RabbitQueueType, VerkBrokerOptions } from './rabbitmq/rabbit-options';
export type { GroupLimits, QueueConfig, QueueLimits, QueueLimitsState, RateLimit } from './limits/queue-limits';
export type { HistoryOptions } from './history/history-options';
export type { TracingOptions } from './tracing/tracing-options';
export type { VerkMetricsOptions, VerkMetricsRegistry } from './metrics/metrics-options';
export type { VerkLogger } from './logger';
export type { RetryAt } from './core/failure';
export type { BatchOptions, BatchResult, EnqueueJob, WorkerClassRef } from './client/client';
export type { UniqueOptions } from './flow/flow';
export type { BatchStatus, CancelOptions, JobState, JobStatus, JobStatusOptions } from './flow/flow-admin';
export type { FoundJob, JobPage, JobSet, JobSource, ListedJob, ListOptions } from './admin/admin';
export type { DayStats, NodeStats, QueueDetails, QueueStats, QueueStatsOptions, StatsOptions, VerkStats } from './admin/stats';
export type { DurationHistogram, HistogramBucket, QueueHistograms } from './admin/histograms';
export type { ClassMetricsPoint, ClassMetricsQuery, ClassMetricsReport, ClassMetricsRow, DurationSummary } from './class-metrics/class-metrics-reader';
export type { JobFilter, SearchOptions, SearchPage } from './admin/job-search';
export type { BulkResult, RetryAllResult } from './admin/bulk-actions';
export type { JobRef } from './admin/job-refs';
export type { JobHint, LocateOptions, LocateResult } from './admin/job-locator';
export type { BusyNode, BusyOptions, BusyPage, RunningJob } from './admin/busy';
export type { QueueOverview, QueueOverviewOptions, QueueOverviewPage } from './admin/queue-overview';
export type { CatchUpPolicy, RecurringJob, RecurringOptions, RecurringPatch } from './recurring/recurring-definition';
export type { JobEvent, JobEventName, TaggedJobs, TrackedJobEvent } from './history/recorder';
export { redactRedisUrl, redactSecrets } from './redis/redact';
