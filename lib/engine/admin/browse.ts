import type Redis from 'ioredis';
import type { FoundJob } from './admin';
import { checkJid, checkSet, type JobSet, type JobSource } from './admin-input';
import { membersAt } from './job-refs';
import { readJob } from '../core/job';
import { VerkValidationError } from '../errors';
import { type BusyOptions, type BusyPage, VerkBusyReader } from './busy';
import { type JobFilter, type SearchOptions, type SearchPage, VerkJobSearch } from './job-search';
import { type QueueOverviewOptions, type QueueOverviewPage, VerkQueueOverview } from './queue-overview';
import type { Keys } from '../redis/keys';
import { type LocateOptions, type LocateResult, VerkJobLocator } from './job-locator';

/**
 * Reads for large deployments (the dashboard's and the CLI's pages), each doing a bounded
 * amount of work per call however large the data is: filtered search of a set or queue,
 * the Busy page (nodes and running jobs) and the Queues page. Paging a set or queue
 * without a filter is VerkAdmin.listJobs.
 */
export class VerkBrowse {
  private readonly searcher: VerkJobSearch;
  private readonly busyReader: VerkBusyReader;
  private readonly overview: VerkQueueOverview;
  private readonly locator: VerkJobLocator;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    heartbeat: number,
  ) {
    this.searcher = new VerkJobSearch(redis, keys);
    this.busyReader = new VerkBusyReader(redis, keys, heartbeat);
    this.overview = new VerkQueueOverview(redis, keys);
    this.locator = new VerkJobLocator(redis, keys);
  }

  /**
   * One bounded step of finding a job by jid: the `hint` (where a page listed it) and the
   * job's history first, one exact read each; then a server-side search that reads at
   * most `scanLimit` members and returns `nextCursor` to continue ("continue searching").
   */
  locate(jid: string, options?: LocateOptions): Promise<LocateResult> {
    return this.locator.locate(jid, options);
  }

  /** One step of a filtered search (at most `scanLimit` members read); continue with `nextCursor`. */
  search(where: JobSource, filter: JobFilter, options?: SearchOptions): Promise<SearchPage> {
    return this.searcher.search(where, filter, options);
  }

  /** A page of nodes (alive or not) with their running jobs. */
  busy(options?: BusyOptions): Promise<BusyPage> {
    return this.busyReader.busy(options);
  }

  /** A page of queues with sizes, latency, running jobs, counters and pause. */
  queues(options?: QueueOverviewOptions): Promise<QueueOverviewPage> {
    return this.overview.queues(options);
  }

  /**
   * The job `jid` of a sorted set by its score (`at`, as a page listed it): one exact
   * read, however large the set (findJob and findIn scan). Null when no job with that jid
   * has that score there (it moved, or failed again with a new score).
   */
  async findAt(set: JobSet, jid: string, at: number): Promise<FoundJob | null> {
    const where = checkSet(set, 'set');
    checkJid(jid);
    if (typeof at !== 'number' || !Number.isFinite(at)) throw new VerkValidationError('at', `must be the job's score (a finite number, ListedJob.at), got ${JSON.stringify(at)}`);
    const [raw] = await membersAt(this.redis, this.keys[where], [{ jid, at }]);
    const job = raw === null ? null : readJob(raw).job;
    return raw !== null && job ? { where, at, job, raw } : null;
  }
}
