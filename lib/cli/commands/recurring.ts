import { enqueueRecurringNow } from '../../engine/recurring/recurring-run';
import { CliError, usageError } from '../cli-error';
import type { CliCommand } from '../command';
import { clip, isoTime, table } from '../output';

/** `verk recurring [list | remove <name> | run <name>]`. */
export const recurringCommand: CliCommand = {
  name: 'recurring',
  usage: 'recurring [list | remove <name> | run <name>]',
  summary: 'recurring jobs: list them, remove one, or enqueue one now',
  async run({ engine, out }, input) {
    const [action = 'list', name, ...rest] = input.positionals;
    if (rest.length > 0) throw usageError('recurring takes at most an action and a name');
    if (action === 'list') {
      if (name !== undefined) throw usageError('recurring list takes no name');
      const jobs = await engine.recurring.listRecurring();
      if (out.json) return out.data({ recurring: jobs });
      table(
        out,
        ['NAME', 'SCHEDULE', 'CLASS', 'QUEUE', 'ARGS', 'RUNS', 'NEXT RUN'],
        jobs.map((job) => [job.name, job.cron ? `cron ${job.cron}${job.timezone ? ` (${job.timezone})` : ''}` : `every ${job.every} ms`, job.class, job.queue, clip(JSON.stringify(job.args), 30), job.runs, job.nextRunAt === null ? 'ended' : isoTime(job.nextRunAt, 'ms')]),
      );
      return;
    }
    if (action !== 'remove' && action !== 'run') throw usageError(`unknown recurring action "${action}" (list, remove, run)`);
    if (!name) throw usageError(`recurring ${action} needs a name`);
    if (action === 'remove') {
      if (!(await engine.recurring.removeRecurring(name))) throw new CliError(`no recurring job ${name}`);
      if (out.json) return out.data({ name, removed: true });
      return out.line(`Removed recurring job ${name}`);
    }
    const jid = await enqueueRecurringNow(engine.recurring, engine.client, name);
    if (jid === null) throw new CliError(`no recurring job ${name}`);
    if (out.json) return out.data({ name, jid });
    out.line(`Enqueued ${name} now: ${jid}`);
  },
};
