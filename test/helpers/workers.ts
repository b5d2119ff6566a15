import type { WorkerHandler } from '../../lib/engine';

/** A worker whose job throws `message` on its first run only and is retried `retrySeconds` later. */
export function failOnce(message: string, retrySeconds: number): WorkerHandler {
  const seen = new Set<string>();
  return {
    perform(_args, job) {
      if (seen.has(job.jid)) return;
      seen.add(job.jid);
      throw new Error(message);
    },
    retryAt: (failedAt) => failedAt + retrySeconds,
  };
}
