import type { QueueLimits, QueueLimitsState, RateLimit } from '../../engine/limits/queue-limits';
import { VerkValidationError } from '../../engine/errors';
import { usageError } from '../cli-error';
import type { CliCommand, CommandInput } from '../command';
import { paint } from '../output';

/** "100/1000" (max per duration in ms) -> { max: 100, duration: 1000 }; the engine checks the numbers. */
function rateOption(input: CommandInput, name: string): RateLimit | undefined {
  const raw = input.options[name];
  if (raw === undefined) return undefined;
  const match = typeof raw === 'string' ? /^(\d+)\/(\d+)$/.exec(raw) : null;
  if (!match) throw usageError(`--${name} takes MAX/DURATION_MS (e.g. 100/1000: 100 starts per second), got ${JSON.stringify(raw)}`);
  return { max: Number(match[1]), duration: Number(match[2]) };
}

function countOption(input: CommandInput, name: string): number | undefined {
  const raw = input.options[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw usageError(`--${name} takes a whole number, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** The limits the flags of `limits <queue> set` give (every limit not given is removed). */
function limitsOf(input: CommandInput): QueueLimits {
  const limits: QueueLimits = {};
  const rateLimit = rateOption(input, 'rate');
  const globalConcurrency = countOption(input, 'global');
  const groupConcurrency = countOption(input, 'group-concurrency');
  const groupRate = rateOption(input, 'group-rate');
  if (rateLimit) limits.rateLimit = rateLimit;
  if (globalConcurrency !== undefined) limits.globalConcurrency = globalConcurrency;
  if (groupConcurrency !== undefined || groupRate) limits.groups = { ...(groupConcurrency !== undefined ? { concurrency: groupConcurrency } : {}), ...(groupRate ? { rateLimit: groupRate } : {}) };
  if (Object.keys(limits).length === 0 && input.options.none !== true) {
    throw usageError('limits <queue> set needs --rate, --global, --group-concurrency or --group-rate; --none removes every limit');
  }
  if (Object.keys(limits).length > 0 && input.options.none === true) throw usageError('--none cannot be given with other limits');
  return limits;
}

const LIMIT_FLAGS = ['rate', 'global', 'group-concurrency', 'group-rate', 'none'];

const rate = (value: RateLimit): string => `${value.max} per ${value.duration} ms`;

function describe(queue: string, state: QueueLimitsState): string[] {
  const { limits } = state;
  const lines = [`Queue ${queue}`];
  lines.push(`  Rate limit:          ${limits.rateLimit ? rate(limits.rateLimit) : '-'}`);
  lines.push(`  Global concurrency:  ${limits.globalConcurrency ?? '-'} (${state.running} running under the limits)`);
  lines.push(`  Per group:           ${limits.groups?.concurrency !== undefined ? `${limits.groups.concurrency} at a time` : '-'}${limits.groups?.rateLimit ? `, ${rate(limits.groups.rateLimit)}` : ''}`);
  lines.push(`  Waiting in groups:   ${state.grouped} in ${state.groups} group(s)`);
  lines.push(`  Rate-limited until:  ${state.pausedUntil > Date.now() ? new Date(state.pausedUntil).toISOString() : '-'}`);
  return lines;
}

/**
 * `verk limits <queue>`: a queue's limits and their state across nodes; `verk limits <queue>
 * set …` replaces them (engine.setQueueLimits: every node follows within a second).
 */
export const limitsCommand: CliCommand = {
  name: 'limits',
  usage: 'limits <queue> [set (--rate MAX/MS | --global N | --group-concurrency N | --group-rate MAX/MS)... | set --none]',
  summary: "a queue's rate limit, global and per-group concurrency and their state; set replaces them on every node",
  options: { rate: { type: 'string' }, global: { type: 'string' }, 'group-concurrency': { type: 'string' }, 'group-rate': { type: 'string' }, none: { type: 'boolean' } },
  async run({ engine, out }, input) {
    const [queue, action, ...rest] = input.positionals;
    if (!queue || rest.length > 0 || (action !== undefined && action !== 'set')) throw usageError(`usage: verk ${limitsCommand.usage}`);
    if (action === undefined && LIMIT_FLAGS.some((flag) => input.options[flag] !== undefined)) throw usageError('limit flags go after "set": verk limits <queue> set --rate 100/1000');
    try {
      if (action === 'set') await engine.setQueueLimits(queue, limitsOf(input));
      const state = await engine.queueLimits(queue);
      if (out.json) return out.data({ queue, ...state });
      for (const line of describe(queue, state)) out.line(line);
      if (action === 'set') out.note(paint(out, 'green', `limits of ${queue} replaced; every node follows within a second`));
    } catch (error) {
      // A bad queue name or a limit out of range: the engine's message names the field.
      if (error instanceof VerkValidationError) throw usageError(error.message);
      throw error;
    }
  },
};
