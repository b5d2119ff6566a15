import type { CliCommand } from '../command';
import { duration, paint, table } from '../output';

/** `verk stats`: totals, today, and per queue size, latency, paused, processed, failed. */
export const statsCommand: CliCommand = {
  name: 'stats',
  usage: 'stats',
  summary: 'totals (incl. retries, dead, blocked), today, and per queue: size, latency, paused, processed, failed',
  async run({ engine, out }) {
    const [stats, overview] = await Promise.all([engine.admin.stats(), engine.browse.queues({ limit: 1000 })]);
    const byName = new Map(overview.queues.map((queue) => [queue.name, queue]));
    const queues = stats.queues.map((queue) => {
      const more = byName.get(queue.name);
      return { name: queue.name, size: queue.size, latency: more?.latency ?? 0, paused: more?.paused ?? false, running: queue.inProgress, processed: queue.processed, failed: queue.failed, today: queue.today };
    });
    const result = {
      processed: stats.processed,
      failed: stats.failed,
      today: { processed: stats.today.processed, failed: stats.today.failed, date: stats.today.date },
      enqueued: stats.enqueued,
      inProgress: stats.inProgress,
      scheduled: stats.scheduled,
      retries: stats.retries,
      dead: stats.dead,
      blocked: stats.blocked,
      nodes: stats.nodes.length,
      queues,
    };
    if (out.json) return out.data(result);
    out.line(`Processed: ${result.processed}   Failed: ${result.failed > 0 ? paint(out, 'red', String(result.failed)) : 0}`);
    out.line(`Today (${result.today.date}): processed ${result.today.processed}, failed ${result.today.failed}`);
    out.line(`Enqueued: ${result.enqueued}   In progress: ${result.inProgress}   Scheduled: ${result.scheduled}   Retries: ${result.retries}   Dead: ${result.dead}   Blocked: ${result.blocked}   Nodes: ${result.nodes}`);
    out.line();
    table(
      out,
      ['QUEUE', 'SIZE', 'LATENCY', 'PAUSED', 'RUNNING', 'PROCESSED', 'FAILED'],
      queues.map((queue) => [queue.name, queue.size, duration(queue.latency), queue.paused ? paint(out, 'yellow', 'paused') : '-', queue.running, queue.processed, queue.failed]),
    );
  },
};
