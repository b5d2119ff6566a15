import { checkSet } from '../../engine/admin/admin-input';
import { VerkError } from '../../engine/errors';
import { CliError, usageError } from '../cli-error';
import type { CliCommand, CommandInput } from '../command';

function oneArgument(input: CommandInput, what: string, command: string): string {
  const [value] = input.positionals;
  if (!value || input.positionals.length > 1) throw usageError(`${command} needs one ${what}`);
  return value;
}

/** `verk retry <jid>` (from retry, dead or schedule) or `verk retry --all <retry|dead|schedule>`. */
export const retryCommand: CliCommand = {
  name: 'retry',
  usage: 'retry <jid> | retry --all <retry|dead|schedule>',
  summary: 'enqueue a job of retry, dead or schedule now; --all: every job of a set',
  options: { all: { type: 'boolean' } },
  async run({ engine, out }, input) {
    if (input.options.all) {
      const set = oneArgument(input, 'set (retry, dead or schedule)', 'retry --all');
      let from;
      try {
        from = checkSet(set, 'set');
      } catch (error) {
        throw usageError((error as VerkError).message);
      }
      const result = await engine.bulk.retryAll(from);
      if (out.json) return out.data({ set: from, ...result });
      out.line(`Enqueued ${result.count} job(s) of ${from}${result.skipped > 0 ? `; ${result.skipped} could not be (not a job, or no queue) and stay there` : ''}`);
      return;
    }
    const jid = oneArgument(input, 'jid (or --all <set>)', 'retry');
    const found = await engine.admin.findJob(jid);
    if (!found) throw new CliError(`no job ${jid}`);
    if (found.where === 'queue') throw new CliError(`job ${jid} is already waiting in queue ${found.queue}; only jobs of retry, dead or schedule can be retried`);
    if (found.where === 'inprogress') throw new CliError(`job ${jid} is running on node ${found.nodeId}; only jobs of retry, dead or schedule can be retried`);
    const moved = await engine.admin.retryNow(jid, found.where);
    if (!moved) throw new CliError(`job ${jid} left ${found.where} meanwhile`);
    if (out.json) return out.data({ jid, from: found.where, queue: found.job.queue });
    out.line(`Enqueued ${jid} from ${found.where} into ${found.job.queue}`);
  },
};

/** `verk delete <jid> [--cascade]`: removes a job wherever it is (the service's cancel). */
export const deleteCommand: CliCommand = {
  name: 'delete',
  usage: 'delete <jid> [--cascade]',
  summary: 'remove a job wherever it is; --cascade also removes the jobs waiting for it',
  options: { cascade: { type: 'boolean' } },
  async run({ engine, out }, input) {
    const jid = oneArgument(input, 'jid', 'delete');
    let removed: boolean;
    try {
      removed = await engine.flow.cancel(jid, { cascade: input.options.cascade === true });
    } catch (error) {
      // VerkFlowError: jobs depend on it, or a batch waits for it; the message says what to do.
      if (error instanceof VerkError) throw new CliError(error.message);
      throw error;
    }
    if (!removed) throw new CliError(`no job ${jid}`);
    if (out.json) return out.data({ jid, deleted: true });
    out.line(`Deleted ${jid}`);
  },
};

function queueToggle(name: 'pause' | 'resume'): CliCommand {
  return {
    name,
    usage: `${name} <queue>`,
    summary: name === 'pause' ? 'stop every node fetching from a queue (running jobs finish)' : 'let every node fetch from a paused queue again',
    async run({ engine, out }, input) {
      const queue = oneArgument(input, 'queue name', name);
      if (name === 'pause') await engine.pauseQueue(queue);
      else await engine.resumeQueue(queue);
      if (out.json) return out.data({ queue, paused: name === 'pause' });
      out.line(`${name === 'pause' ? 'Paused' : 'Resumed'} queue ${queue}`);
    },
  };
}

export const pauseCommand = queueToggle('pause');
export const resumeCommand = queueToggle('resume');
