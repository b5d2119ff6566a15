import type Redis from 'ioredis';
import type { VerkEngine, WorkerHandler } from '../../lib/engine';
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
 * `count` dependable Parent jobs (retry: false) on queue `default`, each with one Child
 * job waiting on it; resolves once every parent has failed into dead, so the children are
 * still blocked. The engine must run queue `default` with `failing` as Parent (and no Child).
 */
export async function deadParentsWithChildren(engine: VerkEngine, redis: Redis, count: number): Promise<{ parents: string[]; children: string[] }> {
  const parents: string[] = [];
  const children: string[] = [];
  for (let n = 0; n < count; n++) {
    parents.push(await engine.client.enqueue({ queue: 'default', class: 'Parent', retry: false, dependable: true }));
    children.push(await engine.client.enqueue({ queue: 'default', class: 'Child', dependsOn: [parents[n]] }));
  }
  await waitFor(async () => {
    const dead = new Set((await deadJobs(redis)).map((job) => job.jid));
    return parents.every((jid) => dead.has(jid));
  }, `the ${count} parents in dead`, 10_000);
  return { parents, children };
}
