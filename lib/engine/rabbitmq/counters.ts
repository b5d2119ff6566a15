/** Counts of this node since it started (in memory). */
export interface RabbitCounters {
  /** Jobs whose perform returned (acknowledged). */
  processed: number;
  /** Jobs whose perform threw (then retried or dead). */
  failed: number;
  /** Failed jobs sent down the delay ladder to run again. */
  retried: number;
  /** Jobs sent to `verk.dead`: out of retries, invalid, or poison. */
  dead: number;
  /** Deliveries the broker marked redelivered: their job had been delivered to a node that died, lost its connection or stopped before finishing it. */
  recovered: number;
  /** Of those, jobs sent to dead as poison (delivered more than maxRecoveries + 1 times; quorum queues). */
  poisoned: number;
}
