import type { ClientOptions } from './client/client';
import type { VerkLogger } from './logger';

// The hooks and health facts of a node, shared by both engines (VerkEngine, VerkRabbitEngine).

export interface VerkEngineHooks {
  logger?: VerkLogger;
  className?: ClientOptions['className'];
  /**
   * The clock (epoch ms) this node reads a job's start and end from: its run time, its
   * wait since `enqueued_at`, the times of its events. Default Date.now; tests pass one
   * they control.
   */
  clock?: () => number;
  /**
   * The name of this instance when an application runs several (VerkModule.forRoot({ name })):
   * stamped on every event as `instance`. Undefined for the default instance.
   */
  instance?: string;
}

/** What a node knows about its own health, for health checks (see VerkEngine.health). */
export interface VerkHealthFacts {
  nodeId: string;
  /** The node's lifecycle: only 'running' processes jobs. */
  state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped';
  /** The heartbeat period, ms; the node's key lives twice as long. */
  heartbeat: number;
  /** When the last heartbeat reached Redis (epoch ms), 0 before the first. */
  lastHeartbeatAt: number;
  /** Each queue this node runs, and whether its manager is fetching jobs. */
  queues: Record<string, { concurrency: number; running: boolean; busy: number }>;
}
