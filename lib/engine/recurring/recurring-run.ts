import type { VerkClient } from '../client/client';
import type { VerkRecurring } from './recurring';

/**
 * Enqueues one job of a recurring definition now, outside its schedule (the dashboard's
 * "Enqueue now", `verk recurring run <name>`): its class, args, queue, priority and
 * retries, through the client (so client middleware applies). Its next run is unchanged.
 * Null when there is no definition by that name.
 */
export async function enqueueRecurringNow(recurring: VerkRecurring, client: VerkClient, name: string): Promise<string | null> {
  const definition = await recurring.getRecurring(name);
  if (!definition) return null;
  return client.enqueue({
    queue: definition.queue,
    class: definition.class,
    args: definition.args,
    ...(definition.priority !== undefined ? { priority: definition.priority } : {}),
    ...(definition.retry !== undefined ? { retry: definition.retry } : {}),
    ...(definition.maxRetryCount !== undefined ? { maxRetryCount: definition.maxRetryCount } : {}),
  });
}
