import type Redis from 'ioredis';
import type { VerkEngine, WorkerHandler } from '../../lib/engine';
import { startEngine } from './engine';
import { waitFor } from './wait';

/** A worker whose every job throws (with retry: false its jobs go straight to dead). */
export const failing: WorkerHandler = {
  perform() {
    throw new Error('broken');
  },
};

/** The fields of a dead job the flow suites read. */
export interface DeadJob {
  jid: string;
  class: string;
  error_class?: string;
  error_message?: string;
}

/** Every job in `dead`, oldest first. */
export async function deadJobs(redis: Redis): Promise<DeadJob[]> {
  return (await redis.zrange('dead', 0, '-1')).map((member) => JSON.parse(member) as DeadJob);
}

/**
 * A started engine (queue `default`, Parent jobs always fail) holding `count` dependable
 * Parent jobs (retry: false) that have failed into dead, each with one Child job still
 * blocked on it. The caller stops the engine; if the setup fails it is stopped here.
 */
export async function startWithDeadParents(ctx: { readonly server: { url: string }; readonly redis: Redis }, count: number): Promise<{ engine: VerkEngine; parents: string[]; children: string[] }> {
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, pollInterval: 50 }, { Parent: failing });
  try {
    const parents: string[] = [];
    const children: string[] = [];
    for (let n = 0; n < count; n++) {
      parents.push(await engine.client.enqueue({ queue: 'default', class: 'Parent', retry: false, dependable: true }));
      children.push(await engine.client.enqueue({ queue: 'default', class: 'Child', dependsOn: [parents[n]] }));
    }
    await waitFor(async () => {
      const dead = new Set((await deadJobs(ctx.redis)).map((job) => job.jid));
      return parents.every((jid) => dead.has(jid));
    }, `the ${count} parents in dead`, 10_000);
    return { engine, parents, children };
  } catch (error) {
    await engine.stop();
    throw error;
  }
}
