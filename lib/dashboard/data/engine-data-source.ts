import type { JobSet } from '../../engine/admin/admin';
import type { VerkStats } from '../../engine/admin/stats';
import type { VerkEngine } from '../../engine/verk-engine';
import type { RecurringJob } from '../../engine/recurring/recurring-definition';
import type { QueueLimitsState } from '../../engine/limits/queue-limits';
import { enqueueRecurringNow } from '../../engine/recurring/recurring-run';
import type { BatchStatus } from '../../engine/flow/flow-admin';
import type { JobRef } from '../../engine/admin/job-refs';
import type { FoundJob } from '../../engine/admin/admin';
import type { JobHint, LocateResult } from '../../engine/admin/job-locator';
import type { BulkResult, BusyView, ClassMetricsView, DashboardDataSource, JobFilter, JobList, JobLookup, JobView, MetricsView, PageRequest, QueueRow } from './data-source';

/** Members one filtered request reads at most: a fixed amount of work per request. */
export const FILTER_SCAN_BOUND = 5000;
/** Members of retry and dead the error breakdown looks at. */
const ERROR_SAMPLE = 500;
/** Queues one page shows (engine.browse.queues reads at most 1000 per call). */
const QUEUES_LIMIT = 1000;
/** Running jobs listed per node and queue on the Busy page (the counts are exact). */
const JOBS_PER_QUEUE = 100;
/** Members the job page's search reads per request at most (it also stops after TIME_BUDGET_MS: see the dashboard bench). */
export const LOOKUP_SCAN = 50_000;
/** Members read looking for each dependency the job page shows (flow control's record comes first). */
const DEPENDENCY_SCAN = 5000;
/** Queues whose histograms the metrics page reads (two HGETALLs each, one round trip). */
const HISTOGRAM_QUEUES = 50;

export function isFiltered(filter: JobFilter): boolean {
  return Boolean(filter.class || filter.queue || filter.text);
}

/**
 * The dashboard's data from the engine: the bounded reads of engine.browse (search, busy,
 * queues, findAt), admin.listJobs for plain pages, the batched actions of engine.bulk, and
 * stats, queueStats (with its histograms), flow, control, recurring and recorder calls.
 */
export class EngineDataSource implements DashboardDataSource {
  constructor(private readonly engine: VerkEngine) {}

  overview(days: number): Promise<VerkStats> {
    return this.engine.admin.stats({ days });
  }

  async queues(): Promise<QueueRow[]> {
    // One call for every queue's sizes, latency, running, counters and pause.
    const { queues } = await this.engine.browse.queues({ limit: QUEUES_LIMIT });
    const here = this.engine.queues();
    return queues.map((queue) => ({ ...queue, concurrencyHere: here[queue.name], nodeHere: this.engine.nodeId }));
  }

  queueJobs(queue: string, page: PageRequest): Promise<JobList> {
    return this.engine.admin.listJobs({ queue }, page);
  }

  queueLimits(queue: string): Promise<QueueLimitsState> {
    return this.engine.queueLimits(queue);
  }

  async busy(cursor: string | undefined, limit: number): Promise<BusyView> {
    const page = await this.engine.browse.busy({ cursor, limit, jobsPerQueue: JOBS_PER_QUEUE });
    return { totalNodes: page.totalNodes, nodes: page.nodes, running: page.jobs, nextCursor: page.nextCursor };
  }

  async setJobs(set: JobSet, page: PageRequest, filter: JobFilter): Promise<JobList> {
    // Dead lists the latest first (Sidekiq's Dead page); schedule and retry the next due first.
    const order = set === 'dead' ? 'desc' : 'asc';
    if (!isFiltered(filter)) return this.engine.admin.listJobs(set, { ...page, order });
    const found = await this.engine.browse.search(
      set,
      { class: filter.class, queue: filter.queue, text: filter.text },
      { cursor: filter.cursor, limit: page.limit, scanLimit: FILTER_SCAN_BOUND, order },
    );
    return { total: found.total, jobs: found.jobs, nextCursor: found.nextCursor, scanned: found.scanned };
  }

  async job(jid: string, lookup: JobLookup = {}): Promise<JobView> {
    // One bounded step: the page's hint and the history (exact reads), else LOOKUP_SCAN members searched.
    let step: LocateResult | undefined;
    const locate = async (other: string): Promise<FoundJob | null> => {
      if (other !== jid) return (await this.engine.browse.locate(other, { scanLimit: DEPENDENCY_SCAN })).found;
      step = await this.engine.browse.locate(jid, { hint: lookup.hint, cursor: lookup.cursor, scanLimit: LOOKUP_SCAN });
      return step.found;
    };
    const status = await this.engine.flow.job(jid, { locate });
    const bid = status.job?.bid;
    const batch = typeof bid === 'string' ? await this.engine.flow.batchStatus(bid) : undefined;
    const tags = Array.isArray(status.job?.tags) ? (status.job.tags as unknown[]).map(String) : [];
    const searching = step && !step.found && step.nextCursor !== null ? { nextCursor: step.nextCursor, scanned: step.scanned } : {};
    return { status, batch, tags, ...(status.raw !== undefined ? { raw: status.raw } : {}), ...(step?.hint ? { hint: step.hint } : {}), ...searching };
  }

  recurring(): Promise<RecurringJob[]> {
    return this.engine.recurring.listRecurring();
  }

  batches(cursor: string | undefined): Promise<{ batches: BatchStatus[]; cursor: string | null }> {
    return this.engine.flow.listBatches({ cursor, limit: 25 });
  }

  batch(bid: string): Promise<BatchStatus | null> {
    return this.engine.flow.batchStatus(bid);
  }

  async classMetrics(minutes: number, className?: string): Promise<ClassMetricsView> {
    return { ...(await this.engine.admin.classMetrics({ minutes, className })), recording: this.engine.options.histograms };
  }

  async metrics(date?: string): Promise<MetricsView> {
    const [stats, retry, dead] = await Promise.all([
      this.engine.admin.stats({ days: 30 }),
      this.engine.admin.listJobs('retry', { limit: ERROR_SAMPLE }),
      this.engine.admin.listJobs('dead', { limit: ERROR_SAMPLE }),
    ]);
    const day = date ?? stats.today.date;
    const histograms = await this.engine.admin.queueHistograms(
      stats.queues.slice(0, HISTOGRAM_QUEUES).map((queue) => queue.name),
      { date: day },
    );
    const errors = new Map<string, { count: number; sampleMessage: string }>();
    for (const entry of [...retry.jobs, ...dead.jobs]) {
      const errorClass = typeof entry.job?.error_class === 'string' ? entry.job.error_class : entry.job ? '(none)' : '(invalid payload)';
      const row = errors.get(errorClass) ?? { count: 0, sampleMessage: String(entry.job?.error_message ?? entry.error ?? '') };
      row.count++;
      errors.set(errorClass, row);
    }
    return {
      days: stats.days,
      queues: stats.queues.map((queue) => ({ name: queue.name, processed: queue.today.processed, failed: queue.today.failed })),
      errors: [...errors].map(([errorClass, row]) => ({ errorClass, ...row })).sort((a, b) => b.count - a.count),
      sampled: retry.jobs.length + dead.jobs.length,
      failingTotal: retry.total + dead.total,
      histograms,
      date: day,
    };
  }

  async tagged(tag: string, page: PageRequest): Promise<{ total: number; jids: string[] }> {
    const { total, jids } = await this.engine.recorder.jobsByTag(tag, page);
    return { total, jids };
  }

  pause(queue: string): Promise<void> {
    return this.engine.pauseQueue(queue);
  }

  resume(queue: string): Promise<void> {
    return this.engine.resumeQueue(queue);
  }

  clearQueue(queue: string): Promise<number> {
    return this.engine.admin.clear({ queue });
  }

  async retry(set: JobSet, jobs: JobRef[]): Promise<number> {
    return (await this.engine.bulk.retry(set, jobs)).count;
  }

  async remove(set: JobSet, jobs: JobRef[]): Promise<number> {
    return (await this.engine.bulk.delete(set, jobs)).count;
  }

  async kill(set: 'retry' | 'schedule', jobs: JobRef[]): Promise<number> {
    return (await this.engine.bulk.kill(set, jobs)).count;
  }

  async retryAll(set: JobSet): Promise<BulkResult> {
    const { count, skipped } = await this.engine.bulk.retryAll(set);
    return { done: count, skipped };
  }

  async deleteAll(set: JobSet): Promise<BulkResult> {
    return { done: await this.engine.bulk.deleteAll(set), skipped: 0 };
  }

  cancel(jid: string, hint?: JobHint): Promise<boolean> {
    return this.engine.flow.cancel(jid, { locate: this.locateFor(hint) });
  }

  move(jid: string, queue: string, hint?: JobHint): Promise<boolean> {
    return this.engine.control.move(jid, queue, { locate: this.locateFor(hint) });
  }

  setPriority(jid: string, priority: number, hint?: JobHint): Promise<boolean> {
    return this.engine.admin.setPriority(jid, priority, undefined, { locate: this.locateFor(hint) });
  }

  /**
   * How an action finds its job: where the page saw it first (one exact read), else one
   * bounded step; a job that moved out of reach of both is searched for to the end (rare:
   * an action, not a page).
   */
  private locateFor(hint: JobHint | undefined): (jid: string) => Promise<FoundJob | null> {
    return async (jid) => {
      const step = await this.engine.browse.locate(jid, { hint, scanLimit: LOOKUP_SCAN });
      return step.found ?? (step.nextCursor === null ? null : this.engine.admin.findJob(jid));
    };
  }

  enqueueRecurring(name: string): Promise<string | null> {
    return enqueueRecurringNow(this.engine.recurring, this.engine.client, name);
  }

  removeRecurring(name: string): Promise<boolean> {
    return this.engine.recurring.removeRecurring(name);
  }
}
