import type Redis from 'ioredis';
import type { JobSource } from './admin-input';
import { type BusyOptions, type BusyPage, VerkBusyReader } from './busy';
import { type JobFilter, type SearchOptions, type SearchPage, VerkJobSearch } from './job-search';
import { type QueueOverviewOptions, type QueueOverviewPage, VerkQueueOverview } from './queue-overview';
import type { Keys } from '../redis/keys';

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

  constructor(redis: Redis, keys: Keys, heartbeat: number) {
    this.searcher = new VerkJobSearch(redis, keys);
    this.busyReader = new VerkBusyReader(redis, keys, heartbeat);
    this.overview = new VerkQueueOverview(redis, keys);
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
}
