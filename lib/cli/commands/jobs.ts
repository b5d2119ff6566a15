import type { JobSource, ListedJob } from '../../engine/admin/admin';
import { CliError, usageError } from '../cli-error';
import { type CliCommand, intOption } from '../command';
import { clip, isoTime, paint, table } from '../output';

const SETS = new Set(['schedule', 'retry', 'dead']);

function sourceOf(name: string): JobSource {
  return SETS.has(name) ? (name as 'schedule' | 'retry' | 'dead') : { queue: name };
}

/** A listed member as JSON output: the payload (or the error and raw text of a member that is not a job) and its time. */
function listed(entry: ListedJob): Record<string, unknown> {
  const at = entry.at === undefined ? {} : { at: entry.at };
  return entry.job ? { ...at, job: entry.job } : { ...at, error: entry.error, raw: entry.raw };
}

/** `verk jobs <queue|schedule|retry|dead>`: a page of jobs (with `--class`: a bounded search by class). */
export const jobsCommand: CliCommand = {
  name: 'jobs',
  usage: 'jobs <queue|schedule|retry|dead> [--limit N] [--offset N] [--class NAME]',
  summary: "a page of a queue's waiting jobs or of schedule, retry, dead",
  options: { limit: { type: 'string' }, offset: { type: 'string' }, class: { type: 'string' } },
  async run({ engine, out }, input) {
    const [name] = input.positionals;
    if (!name || input.positionals.length > 1) throw usageError('jobs needs one queue name or schedule, retry, dead');
    const where = sourceOf(name);
    const limit = intOption(input, 'limit', 25, 1, 1000);
    const offset = intOption(input, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const className = input.options.class;
    let total: number;
    let jobs: ListedJob[];
    let more: string | null = null;
    if (typeof className === 'string') {
      if (offset > 0) throw usageError('--offset cannot be combined with --class (a search pages with a cursor)');
      const page = await engine.browse.search(where, { class: className }, { limit });
      ({ total, jobs } = page);
      more = page.nextCursor;
    } else {
      ({ total, jobs } = await engine.admin.listJobs(where, { limit, offset }));
    }
    if (out.json) return out.data({ source: name, total, offset, limit, ...(className ? { class: className, complete: more === null } : {}), jobs: jobs.map(listed) });
    const timed = typeof where === 'string';
    table(
      out,
      ['JID', 'CLASS', 'QUEUE', ...(timed ? ['AT'] : []), 'ARGS', ...(name === 'retry' || name === 'dead' ? ['ERROR'] : [])],
      jobs.map((entry) => {
        if (!entry.job) return [paint(out, 'red', '(not a job)'), '-', '-', ...(timed ? [isoTime(entry.at)] : []), clip(entry.raw, 40), ...(name === 'retry' || name === 'dead' ? [entry.error] : [])];
        const job = entry.job;
        const error = job.error_class ? clip(`${job.error_class}: ${job.error_message ?? ''}`, 60) : '-';
        return [job.jid, job.class, job.queue, ...(timed ? [isoTime(entry.at)] : []), clip(JSON.stringify(job.args), 40), ...(name === 'retry' || name === 'dead' ? [error] : [])];
      }),
    );
    out.note(className ? `${jobs.length} matching ${className}${more === null ? '' : ' (search stopped at its scan limit; narrow it down)'}, ${total} in ${name}` : `${jobs.length} of ${total} in ${name}${offset + jobs.length < total ? `; --offset ${offset + jobs.length} for more` : ''}`);
  },
};

/** `verk job <jid>`: where a job is, its payload, what it waits for, and its history. */
export const jobCommand: CliCommand = {
  name: 'job',
  usage: 'job <jid>',
  summary: 'one job: state, payload, dependencies, history',
  async run({ engine, out }, input) {
    const [jid] = input.positionals;
    if (!jid || input.positionals.length > 1) throw usageError('job needs one jid');
    const status = await engine.flow.job(jid);
    if (status.state === 'unknown') throw new CliError(`no job ${jid} (not waiting, scheduled, running, in retry or dead, nor recorded as finished)`);
    if (out.json) return out.data(status);
    out.line(`${paint(out, 'bold', 'Job')} ${status.jid}: ${paint(out, status.state === 'dead' ? 'red' : status.state === 'retry' ? 'yellow' : 'green', status.state)}`);
    if (status.queue) out.line(`Queue: ${status.queue}`);
    if (status.nodeId) out.line(`Node: ${status.nodeId}`);
    if (status.at) out.line(`At: ${isoTime(status.at)}`);
    if (status.waitingFor?.length) out.line(`Waiting for: ${status.waitingFor.map((dep) => `${dep.jid} (${dep.state})`).join(', ')}`);
    if (status.dependents.length) out.line(`Dependents: ${status.dependents.join(', ')}`);
    if (status.job) {
      out.line('Payload:');
      out.line(JSON.stringify(status.job, null, 2));
    }
    if (status.history?.length) {
      out.line('History:');
      for (const event of status.history) {
        const detail = event.error ? ` ${event.error.class}: ${event.error.message}` : event.durationMs !== undefined ? ` ${event.durationMs} ms` : '';
        out.line(`  ${isoTime(event.at, 'ms')}  ${event.event}  ${event.node}${detail}`);
      }
    }
  },
};
