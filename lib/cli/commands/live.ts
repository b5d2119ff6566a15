import type { QueueOverview } from '../../engine/admin/queue-overview';
import type { TrackedJobEvent } from '../../engine/history/recorder';
import { type CliCommand, intOption } from '../command';
import type { CliContext } from '../context';
import { duration, isoTime, paint, table } from '../output';

/** Resolves when the signal aborts (SIGINT, SIGTERM). */
function stopped(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

/** Waits `ms`, or less when the signal aborts (the timer is cleared: nothing keeps the process alive). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function eventLine(context: CliContext, event: TrackedJobEvent): string {
  const { out } = context;
  const style = event.event === 'dead' || event.event === 'failed' ? 'red' : event.event === 'finished' ? 'green' : 'cyan';
  const detail = event.error ? `${event.error.class}: ${event.error.message}` : event.durationMs !== undefined ? `${event.durationMs} ms` : event.runAt ? `at ${isoTime(event.runAt, 'ms')}` : '';
  return [isoTime(event.at, 'ms'), paint(out, style, event.event.padEnd(9)), event.jid, event.queue ?? '-', event.node, detail].join('  ').trimEnd();
}

/**
 * `verk tail`: every event of tracked jobs (enqueued with `track: true` or tracked with
 * `track(jid)`), from every node, as it happens (Redis pub/sub: nothing is replayed).
 * Runs until Ctrl-C.
 */
export const tailCommand: CliCommand = {
  name: 'tail',
  usage: 'tail',
  summary: 'follow the events of tracked jobs live (Ctrl-C stops)',
  live: true,
  async run(context, input) {
    const stop = context.engine.subscribe((event) => (context.out.json ? context.out.data(event, true) : context.out.line(eventLine(context, event))));
    try {
      await context.engine.subscribed();
      context.out.note('Following tracked job events (jobs enqueued with track: true); Ctrl-C stops');
      await stopped(input.signal);
    } finally {
      stop();
    }
  },
};

interface Sample {
  at: number;
  processed: Map<string, number>;
  failed: Map<string, number>;
}

/**
 * `verk watch`: a table of queues refreshed every `--interval` ms (default 2000), with
 * throughput (jobs finished per second since the last refresh), like `top`. On a terminal
 * the screen is redrawn; otherwise (or with --json) one table (or JSON line) per refresh.
 * `--count N` stops after N refreshes. Runs until Ctrl-C.
 */
export const watchCommand: CliCommand = {
  name: 'watch',
  usage: 'watch [--interval MS] [--count N]',
  summary: 'a refreshing table of queues with throughput, like top (Ctrl-C stops)',
  live: true,
  options: { interval: { type: 'string' }, count: { type: 'string' } },
  async run(context, input) {
    const interval = intOption(input, 'interval', 2000, 100, 3_600_000);
    const count = intOption(input, 'count', 0, 0, Number.MAX_SAFE_INTEGER);
    const { engine, out } = context;
    let previous: Sample | undefined;
    for (let refresh = 1; !input.signal.aborted; refresh++) {
      const page = await engine.browse.queues({ limit: 1000 });
      const sample: Sample = { at: Date.now(), processed: new Map(page.queues.map((queue) => [queue.name, queue.processed])), failed: new Map(page.queues.map((queue) => [queue.name, queue.failed])) };
      const rate = (queue: QueueOverview, kind: 'processed' | 'failed'): number | null => {
        if (previous === undefined) return null;
        // A queue that appeared since the last refresh had done nothing before it.
        const before = previous[kind].get(queue.name) ?? 0;
        return Math.max(0, (queue[kind] - before) / Math.max(0.001, (sample.at - previous.at) / 1000));
      };
      const rows = page.queues.map((queue) => ({ name: queue.name, waiting: queue.waiting, running: queue.running, latency: queue.latency, paused: queue.paused, processed: queue.processed, failed: queue.failed, processedPerSecond: rate(queue, 'processed'), failedPerSecond: rate(queue, 'failed') }));
      if (out.json) out.data({ at: new Date(sample.at).toISOString(), queues: rows }, true);
      else {
        if (out.color) out.line('\x1b[2J\x1b[H');
        out.line(`${paint(out, 'bold', 'verk watch')}  ${context.where}  ${isoTime(sample.at, 'ms')}  every ${interval} ms`);
        const perSecond = (value: number | null): string => (value === null ? '-' : `${Math.round(value * 10) / 10}/s`);
        table(
          out,
          ['QUEUE', 'WAITING', 'RUNNING', 'LATENCY', 'DONE/S', 'FAILED/S', 'PROCESSED', 'FAILED', 'PAUSED'],
          rows.map((row) => [row.name, row.waiting, row.running, duration(row.latency), perSecond(row.processedPerSecond), perSecond(row.failedPerSecond), row.processed, row.failed, row.paused ? paint(out, 'yellow', 'paused') : '-']),
        );
        if (!out.color) out.line();
      }
      previous = sample;
      if (count > 0 && refresh >= count) break;
      await pause(interval, input.signal);
    }
  },
};
