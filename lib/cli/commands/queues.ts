import { type CliCommand, intOption } from '../command';
import { duration, paint, table } from '../output';

/** `verk queues`: every queue with its waiting jobs, latency, running jobs, counters and pause. */
export const queuesCommand: CliCommand = {
  name: 'queues',
  usage: 'queues [--limit N] [--offset N]',
  summary: 'queues: waiting (prioritized, in groups), latency, running, processed, failed, paused',
  options: { limit: { type: 'string' }, offset: { type: 'string' } },
  async run({ engine, out }, input) {
    const page = await engine.browse.queues({ limit: intOption(input, 'limit', 100, 1, 1000), offset: intOption(input, 'offset', 0, 0, Number.MAX_SAFE_INTEGER) });
    if (out.json) return out.data(page);
    table(
      out,
      ['QUEUE', 'WAITING', 'PRIORITIZED', 'GROUPED', 'LATENCY', 'RUNNING', 'PROCESSED', 'FAILED', 'PAUSED'],
      page.queues.map((queue) => [queue.name, queue.waiting, queue.prioritized, queue.grouped, duration(queue.latency), queue.running, queue.processed, queue.failed, queue.paused ? paint(out, 'yellow', 'paused') : '-']),
    );
    if (page.total > page.queues.length) out.note(`${page.queues.length} of ${page.total} queues; use --offset for more`);
  },
};

/** `verk nodes`: nodes (alive or not), heartbeat age, queues and running jobs. */
export const nodesCommand: CliCommand = {
  name: 'nodes',
  usage: 'nodes',
  summary: 'nodes: alive, heartbeat age, queues, running jobs',
  async run({ engine, out }) {
    const nodes = [];
    let cursor: string | null = null;
    // Every page, bounded: 50 pages of ~500 nodes.
    for (let page = 0; page < 50; page++) {
      const result = await engine.browse.busy({ cursor, limit: 500, jobsPerQueue: 0 });
      nodes.push(...result.nodes);
      cursor = result.nextCursor;
      if (cursor === null) break;
    }
    if (out.json) return out.data({ nodes });
    table(
      out,
      ['NODE', 'ALIVE', 'HEARTBEAT', 'BUSY', 'QUEUES'],
      nodes.map((node) => [
        node.id,
        node.alive ? paint(out, 'green', 'yes') : paint(out, 'red', 'no'),
        node.heartbeatAgeMs === null ? '-' : `${duration(node.heartbeatAgeMs / 1000)} ago`,
        node.busy,
        node.queues.map((queue) => `${queue}(${node.running[queue] ?? 0})`).join(' ') || '-',
      ]),
    );
  },
};
