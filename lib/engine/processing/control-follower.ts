import type Redis from 'ioredis';
import type { InterruptMessage } from '../admin/job-control';
import type { Interruption } from '../core/middleware';
import type { JobRecorder } from '../history/recorder';
import { isLimited } from '../limits/queue-limits';
import type { VerkLogger } from '../logger';
import { subscribe } from '../redis/pubsub';
import type { Keys } from '../redis/keys';
import type { QueueManager } from './queue-manager';

/** What a ControlFollower acts on: the node's connections and its queue managers. */
export interface ControlFollowerOptions {
  nodeId: string;
  keys: Keys;
  logger: VerkLogger;
  /** Subscribed to the control and wake channels (a subscribed connection can do nothing else). */
  subscriber: Redis;
  /** Reads the paused set and the limits when the subscription (re)connects. */
  redis: Redis;
  recorder: JobRecorder;
  /** The node's queue managers by queue, as the engine adds and removes them (read live). */
  managers: ReadonlyMap<string, { manager: QueueManager }>;
}

/**
 * How a node follows the control channel: pause/resume and limits announcements, cancel
 * and move of jobs running here, tracking changes, and wake-ups of idle queues. What is
 * announced while the subscription is down is lost, so every (re)subscribe re-reads the
 * paused set and the limits from Redis.
 */
export class ControlFollower {
  constructor(private readonly options: ControlFollowerOptions) {}

  /**
   * Listens for announcements, and re-reads the paused set whenever the subscription
   * (re)connects, since announcements made meanwhile are lost. Also listens for
   * prioritized jobs arriving in an idle queue (see QueueManager.wake).
   */
  async follow(): Promise<void> {
    const { subscriber, keys, logger, recorder, managers } = this.options;
    const onMessage = (channel: string, message: string): void => {
      if (channel === keys.wake) return managers.get(message)?.manager.wake();
      let command: { type?: unknown; queue?: unknown; jid?: unknown; node?: unknown };
      try {
        command = JSON.parse(message) as typeof command;
      } catch {
        return logger.warn(`Ignored a malformed message on ${keys.control}: ${message}`);
      }
      if (command.type === 'cancel' || command.type === 'move') return this.interrupt(command as InterruptMessage);
      const manager = typeof command.queue === 'string' ? managers.get(command.queue)?.manager : undefined;
      if (command.type === 'pause') manager?.pause();
      else if (command.type === 'resume') manager?.resume();
      else if (command.type === 'limits') {
        if (manager) void this.syncLimits([[String(command.queue), manager]]);
      }
      else recorder.onControl(command.type);
    };
    subscriber.on('ready', () => void this.syncPauses());
    subscriber.on('ready', () => void this.syncLimits([...managers].map(([queue, { manager }]) => [queue, manager])));
    subscriber.on('ready', () => void recorder.refreshTracking());
    subscriber.on('ready', () => managers.forEach(({ manager }) => manager.wake()));
    await subscribe(subscriber, keys, [keys.control, keys.wake], onMessage);
  }

  /** A job running here was cancelled or moved: its worker can see it, its outcome is ignored. */
  private interrupt(message: InterruptMessage): void {
    if (message.node !== this.options.nodeId || typeof message.jid !== 'string') return;
    const interruption: Interruption = message.type === 'move' ? { kind: 'moved', queue: message.queue } : { kind: 'canceled' };
    // Only a run going on now is marked (and the mark ends with it): a message that comes
    // after its run ended must not mark a later run of the same jid.
    if (!this.options.managers.get(String(message.from))?.manager.interrupt(message.jid, interruption)) return;
    this.options.logger.warn(`Job ${message.jid} was ${message.type === 'move' ? `moved to queue ${String(message.queue)}` : 'cancelled'} while running on this node; its outcome will be ignored`);
  }

  private async syncPauses(): Promise<void> {
    const { redis, keys, managers } = this.options;
    try {
      const paused = new Set(await redis.smembers(keys.pausedQueues));
      for (const [queue, { manager }] of managers) {
        if (paused.has(queue)) manager.pause();
        else manager.resume();
      }
    } catch (error) {
      this.options.logger.warn(`Could not read paused queues: ${(error as Error).message}`);
    }
  }

  /** Re-reads whether queues have limits (after an announcement, or a reconnect that may have lost one). */
  private async syncLimits(managers: [string, QueueManager][]): Promise<void> {
    for (const [queue, manager] of managers) {
      try {
        manager.limitsChanged(await isLimited(this.options.redis, this.options.keys, queue));
      } catch (error) {
        this.options.logger.warn(`Could not read the limits of queue ${queue}: ${(error as Error).message}`);
      }
    }
  }
}
