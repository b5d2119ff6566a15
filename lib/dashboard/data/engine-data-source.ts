import type { JobSet, ListedJob } from '../../engine/admin/admin';
import type { VerkStats } from '../../engine/admin/stats';
import type { VerkEngine } from '../../engine/verk-engine';
import type { RecurringJob } from '../../engine/recurring/recurring-definition';
import type { BatchStatus } from '../../engine/flow/flow-admin';
import { VerkStateError } from '../../engine/errors';
import type { BulkResult, BusyView, DashboardDataSource, JobFilter, JobList, JobView, MetricsHistogramSource, MetricsView, PageRequest, QueueRow } from './data-source';

/** Members a filtered request looks at, at most: a fixed amount of work per request. */
export const FILTER_SCAN_BOUND = 5000;
/** Members read per listJobs call while filtering. */
const FILTER_CHUNK = 1000;
/** Jobs one "Retry all" click retries (interim: one retryNow per job until the engine's batched call lands). */
const RETRY_ALL_BOUND = 200;
/** Members of retry and dead the error breakdown looks at. */
const ERROR_SAMPLE = 500;

/** Does a listed member match the filter? Class and queue exactly; text anywhere in the stored text, ignoring case. */
export function matches(entry: ListedJob, filter: JobFilter): boolean {
  if (filter.class && entry.job?.class !== filter.class) return false;
  if (filter.queue && entry.job?.queue !== filter.queue) return false;
  if (filter.text && !entry.raw.toLowerCase().includes(filter.text.toLowerCase())) return false;
  return true;
}

export function isFiltered(filter: JobFilter): boolean {
  return Boolean(filter.class || filter.queue || filter.text);
}

/**
 * The dashboard's data from the engine calls that exist today (admin.listJobs, findJob,
 * stats, queueStats, retryNow, clear, flow.job/cancel, control.move, setPriority,
 * recurring.*, recorder.jobsByTag, the Busy page's admin.runningJobs and flow.listBatches).
 */
export class EngineDataSource implements DashboardDataSource {
  readonly canKill = false;

  constructor(
    private readonly engine: VerkEngine,
    private readonly histogramSource?: MetricsHistogramSource,
  ) {}

  overview(days: number): Promise<VerkStats> {
    return this.engine.admin.stats({ days });
  }

  async queues(): Promise<QueueRow[]> {
    const { queues } = await this.engine.admin.stats();
    const here = this.engine.queues();
    const now = Date.now() / 1000;
    return Promise.all(
      queues.map(async (queue) => {
        const [paused, next] = await Promise.all([this.engine.isPaused(queue.name), this.engine.admin.listJobs({ queue: queue.name }, { limit: 1 })]);
        const enqueuedAt = next.jobs[0]?.job?.enqueued_at;
        return { ...queue, paused, latency: typeof enqueuedAt === 'number' ? Math.max(0, now - enqueuedAt) : 0, concurrencyHere: here[queue.name] };
      }),
    );
  }

  queueJobs(queue: string, page: PageRequest): Promise<JobList> {
    return this.engine.admin.listJobs({ queue }, page);
  }

  async busy(page: PageRequest): Promise<BusyView> {
    const [stats, running] = await Promise.all([this.engine.admin.stats(), this.engine.admin.runningJobs(page)]);
    return { nodes: stats.nodes, running: running.jobs, total: running.total };
  }

  async setJobs(set: JobSet, page: PageRequest, filter: JobFilter): Promise<JobList> {
    if (!isFiltered(filter)) return this.engine.admin.listJobs(set, page);
    // A bounded incremental scan by index: at most FILTER_SCAN_BOUND members per request,
    // resumed from the cursor (an index into the set, by score).
    const start = filter.cursor ? Math.max(0, Number.parseInt(filter.cursor, 10) || 0) : 0;
    const found: ListedJob[] = [];
    let index = start;
    let total = 0;
    while (index < start + FILTER_SCAN_BOUND && found.length < page.limit) {
      const chunk = await this.engine.admin.listJobs(set, { offset: index, limit: Math.min(FILTER_CHUNK, start + FILTER_SCAN_BOUND - index) });
      total = chunk.total;
      for (const entry of chunk.jobs) {
        index++;
        if (matches(entry, filter)) found.push(entry);
        if (found.length >= page.limit) break;
      }
      if (chunk.jobs.length === 0 || index >= chunk.total) break;
    }
    return { total, jobs: found, nextCursor: index < total ? String(index) : null, scanned: index - start };
  }

  async job(jid: string): Promise<JobView> {
    const status = await this.engine.flow.job(jid);
    const bid = status.job?.bid;
    const batch = typeof bid === 'string' ? await this.engine.flow.batchStatus(bid) : undefined;
    const tags = Array.isArray(status.job?.tags) ? (status.job.tags as unknown[]).map(String) : [];
    return { status, batch, tags };
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

  async metrics(): Promise<MetricsView> {
    const [stats, retry, dead, histograms] = await Promise.all([
      this.engine.admin.stats({ days: 30 }),
      this.engine.admin.listJobs('retry', { limit: ERROR_SAMPLE }),
      this.engine.admin.listJobs('dead', { limit: ERROR_SAMPLE }),
      this.histogramSource?.histograms(),
    ]);
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

  async retry(set: JobSet, jids: string[]): Promise<number> {
    let done = 0;
    for (const jid of jids) if (await this.engine.admin.retryNow(jid, set)) done++;
    return done;
  }

  async remove(set: JobSet, jids: string[]): Promise<number> {
    let done = 0;
    for (const jid of jids) if (await this.engine.flow.cancel(jid, { from: set })) done++;
    return done;
  }

  kill(): Promise<number> {
    return Promise.reject(new VerkStateError('Kill needs the engine call that moves retry and scheduled jobs to dead; it is not available yet'));
  }

  async retryAll(set: JobSet): Promise<BulkResult> {
    let done = 0;
    while (done < RETRY_ALL_BOUND) {
      const page = await this.engine.admin.listJobs(set, { limit: Math.min(100, RETRY_ALL_BOUND - done) });
      const jids = page.jobs.flatMap((entry) => (entry.job ? [entry.job.jid] : []));
      if (jids.length === 0) return { done, more: false };
      const retried = await this.retry(set, jids);
      done += retried;
      if (retried === 0) return { done, more: page.total > jids.length };
    }
    return { done, more: (await this.engine.admin.listJobs(set, { limit: 1 })).total > 0 };
  }

  async deleteAll(set: JobSet): Promise<BulkResult> {
    return { done: await this.engine.admin.clear(set), more: false };
  }

  cancel(jid: string): Promise<boolean> {
    return this.engine.flow.cancel(jid);
  }

  move(jid: string, queue: string): Promise<boolean> {
    return this.engine.control.move(jid, queue);
  }

  setPriority(jid: string, priority: number): Promise<boolean> {
    return this.engine.admin.setPriority(jid, priority);
  }

  async enqueueRecurring(name: string): Promise<string | null> {
    const definition = await this.engine.recurring.getRecurring(name);
    if (!definition) return null;
    return this.engine.client.enqueue({
      queue: definition.queue,
      class: definition.class,
      args: definition.args,
      ...(definition.priority !== undefined ? { priority: definition.priority } : {}),
      ...(definition.retry !== undefined ? { retry: definition.retry } : {}),
      ...(definition.maxRetryCount !== undefined ? { maxRetryCount: definition.maxRetryCount } : {}),
    });
  }

  removeRecurring(name: string): Promise<boolean> {
    return this.engine.recurring.removeRecurring(name);
  }
}
