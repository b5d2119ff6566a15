import type { JobPayload } from '../../engine/core/job';
import type { JobSet, ListedJob } from '../../engine/admin/admin';
import type { VerkStats } from '../../engine/admin/stats';
import type { BusyNode, RunningJob } from '../../engine/admin/busy';
import type { QueueOverview } from '../../engine/admin/queue-overview';
import type { QueueHistograms } from '../../engine/admin/histograms';
import type { ClassMetricsReport } from '../../engine/class-metrics/class-metrics-reader';
import type { JobRef } from '../../engine/admin/job-refs';
import type { JobHint } from '../../engine/admin/job-locator';
import type { BatchStatus, JobStatus } from '../../engine/flow/flow-admin';
import type { RecurringJob } from '../../engine/recurring/recurring-definition';
import type { QueueLimitsState } from '../../engine/limits/queue-limits';

/**
 * Everything the dashboard reads and does, in one interface, so the pages do not care
 * which engine calls answer them (EngineDataSource: the bounded reads of engine.browse and
 * the batched actions of engine.bulk). No Redis logic lives behind this interface: each
 * method calls the engine.
 */
export interface DashboardDataSource {
  overview(days: number): Promise<VerkStats>;
  queues(): Promise<QueueRow[]>;
  queueJobs(queue: string, page: PageRequest): Promise<JobList>;
  /** The queue's limits across nodes and their state (rate limit, global and per-group concurrency, groups waiting). */
  queueLimits(queue: string): Promise<QueueLimitsState>;
  /** A page of nodes (from `cursor`, a previous page's nextCursor) with their running jobs. */
  busy(cursor: string | undefined, limit: number): Promise<BusyView>;
  /** A page of a set; with a filter, a bounded scan that resumes from `filter.cursor`. */
  setJobs(set: JobSet, page: PageRequest, filter: JobFilter): Promise<JobList>;
  /**
   * A job by jid: where the linking page saw it (`hint`: one exact read) and its history
   * first, then one bounded step of a search (continued from `cursor`).
   */
  job(jid: string, lookup?: JobLookup): Promise<JobView>;
  recurring(): Promise<RecurringJob[]>;
  batches(cursor: string | undefined): Promise<{ batches: BatchStatus[]; cursor: string | null }>;
  batch(bid: string): Promise<BatchStatus | null>;
  /** `date`: the UTC day (YYYY-MM-DD) of the run/wait histograms; default today. */
  metrics(date?: string): Promise<MetricsView>;
  /** Job classes over the last `minutes` (60 or 480) from engine.admin.classMetrics; one class with its histograms. */
  classMetrics(minutes: number, className?: string): Promise<ClassMetricsView>;
  /** jids carrying a tag, newest first. */
  tagged(tag: string, page: PageRequest): Promise<{ total: number; jids: string[] }>;

  pause(queue: string): Promise<void>;
  resume(queue: string): Promise<void>;
  clearQueue(queue: string): Promise<number>;
  /** Selected jobs of a set (`{ jid, at }` as listed, or bare jids); returns how many were acted on. */
  retry(set: JobSet, jobs: JobRef[]): Promise<number>;
  remove(set: JobSet, jobs: JobRef[]): Promise<number>;
  /** Moves selected jobs of retry or schedule to dead. */
  kill(set: 'retry' | 'schedule', jobs: JobRef[]): Promise<number>;
  retryAll(set: JobSet): Promise<BulkResult>;
  deleteAll(set: JobSet): Promise<BulkResult>;
  /** Cancels or deletes a job wherever it is; `hint`: where the page saw it (one exact read first). */
  cancel(jid: string, hint?: JobHint): Promise<boolean>;
  move(jid: string, queue: string, hint?: JobHint): Promise<boolean>;
  setPriority(jid: string, priority: number, hint?: JobHint): Promise<boolean>;
  enqueueRecurring(name: string): Promise<string | null>;
  removeRecurring(name: string): Promise<boolean>;
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

/** A queue as engine.browse.queues() gives it (latency in seconds), and its concurrency here. */
export interface QueueRow extends QueueOverview {
  /** Concurrency of this queue on the node serving the page (undefined when it does not run it). */
  concurrencyHere?: number;
  /** The id of the node serving the page. */
  nodeHere: string;
}

export interface BusyView {
  totalNodes: number;
  nodes: BusyNode[];
  running: RunningJob[];
  /** Where the next page of nodes starts; null after the last. */
  nextCursor: string | null;
}

/** How the job page looks a job up. */
export interface JobLookup {
  /** Where the linking page saw it (set and score, queue and node, queue and position). */
  hint?: JobHint;
  /** Where a search not finished by the previous request goes on (its nextCursor). */
  cursor?: string;
}

export interface JobView {
  status: JobStatus;
  /** The stored text of the payload, exactly as found (the member's bytes). */
  raw?: string;
  /** Where it was found: links and buttons carry it, so the next read is exact. */
  hint?: JobHint;
  /** Not found by this request's bounded search: where to continue (null or absent: searched everywhere). */
  nextCursor?: string | null;
  /** Members this request's search read. */
  scanned?: number;
  batch?: BatchStatus | null;
  tags: string[];
}

export interface BulkResult {
  done: number;
  /** Members left because they cannot be acted on (not a job, or naming no queue). */
  skipped: number;
}

/** admin.classMetrics's report, and whether this node records it (option `histograms`). */
export interface ClassMetricsView extends ClassMetricsReport {
  /** This node has `histograms: true`; other nodes may still record when false. */
  recording: boolean;
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
  /** Per queue run and wait time histograms of one UTC day (engine.admin.queueStats). */
  histograms: QueueHistogramsRow[];
  /** The day of `histograms`, YYYY-MM-DD (UTC). */
  date: string;
}

export interface QueueHistogramsRow {
  name: string;
  histograms: QueueHistograms;
}

export type { JobPayload, JobHint };
