import type { JobPayload } from '../../engine/core/job';
import type { JobSet, ListedJob } from '../../engine/admin/admin';
import type { NodeStats, QueueStats, VerkStats } from '../../engine/admin/stats';
import type { BatchStatus, JobStatus } from '../../engine/flow/flow-admin';
import type { RecurringJob } from '../../engine/recurring/recurring-definition';
import type { RunningJob } from '../../engine/admin/running-jobs';

/**
 * Everything the dashboard reads and does, in one interface, so the pages do not care
 * which engine calls answer them: EngineDataSource uses the engine's calls of today; the
 * bounded scans and batched actions being added to lib/engine/admin/ replace its method
 * bodies there, and nothing else changes. No Redis logic lives behind this interface:
 * each method calls the engine.
 */
export interface DashboardDataSource {
  overview(days: number): Promise<VerkStats>;
  queues(): Promise<QueueRow[]>;
  queueJobs(queue: string, page: PageRequest): Promise<JobList>;
  busy(page: PageRequest): Promise<BusyView>;
  /** A page of a set; with a filter, a bounded scan that resumes from `filter.cursor`. */
  setJobs(set: JobSet, page: PageRequest, filter: JobFilter): Promise<JobList>;
  job(jid: string): Promise<JobView>;
  recurring(): Promise<RecurringJob[]>;
  batches(cursor: string | undefined): Promise<{ batches: BatchStatus[]; cursor: string | null }>;
  batch(bid: string): Promise<BatchStatus | null>;
  metrics(): Promise<MetricsView>;
  /** jids carrying a tag, newest first. */
  tagged(tag: string, page: PageRequest): Promise<{ total: number; jids: string[] }>;

  pause(queue: string): Promise<void>;
  resume(queue: string): Promise<void>;
  clearQueue(queue: string): Promise<number>;
  /** Selected jobs of a set; returns how many were acted on. */
  retry(set: JobSet, jids: string[]): Promise<number>;
  remove(set: JobSet, jids: string[]): Promise<number>;
  kill(set: JobSet, jids: string[]): Promise<number>;
  retryAll(set: JobSet): Promise<BulkResult>;
  deleteAll(set: JobSet): Promise<BulkResult>;
  cancel(jid: string): Promise<boolean>;
  move(jid: string, queue: string): Promise<boolean>;
  setPriority(jid: string, priority: number): Promise<boolean>;
  enqueueRecurring(name: string): Promise<string | null>;
  removeRecurring(name: string): Promise<boolean>;
  /** Whether `kill` is available (it needs an engine call that moves retry/scheduled jobs to dead). */
  readonly canKill: boolean;
}

export interface PageRequest {
  offset: number;
  limit: number;
}

/** Filter of the set pages: every given part must match (class and queue exactly, text as a substring of the stored member). */
export interface JobFilter {
  class?: string;
  queue?: string;
  text?: string;
  /** Where a filtered scan resumes (from the previous page's nextCursor). */
  cursor?: string;
}

export interface JobList {
  total: number;
  jobs: ListedJob[];
  /** Filtered scans: where to continue, or null when the set was scanned to its end. */
  nextCursor?: string | null;
  /** Filtered scans: members looked at by this request. */
  scanned?: number;
}

export interface QueueRow extends QueueStats {
  paused: boolean;
  /** Seconds since the next job to run was enqueued; 0 for an empty queue. */
  latency: number;
  /** Concurrency of this queue on the node serving the page (undefined when it does not run it). */
  concurrencyHere?: number;
}

export interface BusyView {
  nodes: NodeStats[];
  running: RunningJob[];
  total: number;
}

export interface JobView {
  status: JobStatus;
  /** The stored text of the payload, exactly as found. */
  raw?: string;
  batch?: BatchStatus | null;
  tags: string[];
}

export interface BulkResult {
  done: number;
  /** True when the action stopped at its bound with jobs left: click again. */
  more: boolean;
}

export interface MetricsView {
  /** Daily processed/failed, newest first (from the daily counters). */
  days: { date: string; processed: number; failed: number }[];
  /** Per queue totals today. */
  queues: { name: string; processed: number; failed: number }[];
  /** Failures by error class, counted over a bounded sample of retry and dead. */
  errors: { errorClass: string; count: number; sampleMessage: string }[];
  /** How many members the error breakdown looked at, and how many exist. */
  sampled: number;
  failingTotal: number;
  /**
   * Per class run/wait time histograms: filled once the observability work provides
   * them (see MetricsHistogramSource); until then undefined and the page says so.
   */
  histograms?: ClassHistogram[];
}

export interface ClassHistogram {
  className: string;
  kind: 'run' | 'wait';
  /** Bucket upper bounds (seconds) and counts. */
  buckets: { le: number; count: number }[];
}

/** The hook the metrics work plugs into: per-class histograms over the last hours. */
export interface MetricsHistogramSource {
  histograms(): Promise<ClassHistogram[]>;
}

export type { JobPayload };
