import type { CliCommand } from '../command';
import { deleteCommand, pauseCommand, resumeCommand, retryCommand } from './actions';
import { jobCommand, jobsCommand } from './jobs';
import { limitsCommand } from './limits';
import { tailCommand, watchCommand } from './live';
import { nodesCommand, queuesCommand } from './queues';
import { recurringCommand } from './recurring';
import { statsCommand } from './stats';

/** Every command of `verk`, in the order --help lists them. */
export const COMMANDS: readonly CliCommand[] = [
  statsCommand,
  queuesCommand,
  nodesCommand,
  jobsCommand,
  jobCommand,
  retryCommand,
  deleteCommand,
  pauseCommand,
  resumeCommand,
  limitsCommand,
  recurringCommand,
  tailCommand,
  watchCommand,
];
