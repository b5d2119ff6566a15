import { VerkStateError } from '../errors';

/** A node's lifecycle: only 'running' processes jobs. */
export type NodeState = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The start/stop state of one node, shared by both engines (VerkEngine on Redis,
 * VerkRabbitEngine): start() once, stop() at any time and as often as wanted. A stop()
 * that comes while start() is under way makes start() reject at once with a
 * VerkStateError (a step waiting for an unreachable broker may never settle by itself),
 * and every step start() takes afterwards is refused (`checkStarting`), so what the engine
 * had started is stopped by stop() like a running node's and nothing more is started.
 */
export class NodeLifecycle {
  private current: NodeState = 'new';
  /** Set while start() is under way: stop() calls it to make start() reject. */
  private abortStart?: () => void;

  constructor(private readonly nodeId: string) {}

  get state(): NodeState {
    return this.current;
  }

  /**
   * Runs `startNode` as the node's start: 'running' once it resolved, unless stop() came
   * first. When it fails, `cleanUp` closes what it had opened (so the process can still
   * exit) and its error is rethrown; when stop() came, stop() does the closing and the
   * rejection is a VerkStateError saying so (the step's error as its cause).
   */
  async start(startNode: () => Promise<void>, cleanUp: () => Promise<void>): Promise<void> {
    if (this.current !== 'new') throw new VerkStateError(`Verk node ${this.nodeId} was already started; a stopped engine cannot start again (create a new one)`);
    this.current = 'starting';
    const aborted = new Promise<never>((_, reject) => {
      this.abortStart = () => reject(this.stoppedWhileStarting());
    });
    try {
      await Promise.race([startNode(), aborted]);
      // stop() may come between the last step and here.
      this.checkStarting();
      this.current = 'running';
    } catch (error) {
      // stop() is closing everything already; say why start() ended.
      if (this.current !== 'starting') throw this.stoppedWhileStarting(error);
      this.current = 'stopping';
      await cleanUp();
      this.current = 'stopped';
      throw error;
    } finally {
      this.abortStart = undefined;
    }
  }

  /** After each step of a start: once stop() was called, nothing more is started. */
  checkStarting(): void {
    if (this.current !== 'starting') throw this.stoppedWhileStarting();
  }

  /**
   * stop()'s first step. Undefined when the node is already stopping or stopped (the
   * caller only closes its client); else whether start() had been called, and a start()
   * under way rejects now. The caller then stops what runs and calls `stopped()`.
   */
  beginStop(): { wasStarted: boolean } | undefined {
    if (this.current === 'stopping' || this.current === 'stopped') return undefined;
    const wasStarted = this.current !== 'new';
    this.current = 'stopping';
    this.abortStart?.();
    return { wasStarted };
  }

  /** stop()'s last step: everything of the node is closed. */
  stopped(): void {
    this.current = 'stopped';
  }

  private stoppedWhileStarting(cause?: unknown): VerkStateError {
    if (cause instanceof VerkStateError) return cause;
    const error = new VerkStateError(`Verk node ${this.nodeId} was stopped while it was starting (stop() called before start() finished)`);
    if (cause !== undefined) (error as Error & { cause?: unknown }).cause = cause;
    return error;
  }
}
