#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { CliError, usageError } from './cli-error';
import type { CliCommand, CommandOptions } from './command';
import { COMMANDS } from './commands';
import { closeContext, openContext } from './context';
import { createOutput, type Streams } from './output';
import { resolveTarget } from './target';

/**
 * `verk`: operate nestjs-verk queues from a terminal (`npx verk stats`). Every command
 * uses the engine's own calls (admin, browse, bulk, flow, recurring, recorder): the same
 * code as VerkService and the dashboard. See docs/cli.md.
 */

const GLOBAL_OPTIONS: CommandOptions = {
  redis: { type: 'string' },
  cluster: { type: 'string' },
  tls: { type: 'boolean' },
  prefix: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

function helpText(): string {
  return [
    'Usage: verk <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.usage}\n      ${command.summary}`),
    '',
    'Options:',
    '  --redis URL     Redis URL, rediss:// for TLS (default: $REDIS_URL, else redis://127.0.0.1:6379)',
    '  --cluster SEEDS Redis Cluster seed nodes, host:port[,host:port…] or rediss://host:port,… for TLS',
    '                  (default: $REDIS_CLUSTER); not with --redis',
    '  --tls           TLS to the host:port seeds of --cluster (a private CA: NODE_EXTRA_CA_CERTS=ca.pem)',
    '  --prefix P      key prefix of the application (its `prefix` option; cluster default {verk}:)',
    '  --json          machine-readable output (tail and watch: one JSON line per event/refresh)',
    '  -h, --help      this text',
    '',
    'Exit codes: 0 done, 1 failed (Redis unreachable, unknown jid, refused), 2 usage error.',
  ].join('\n');
}

/** The command name: the first argument that is neither an option nor the value of --redis/--cluster/--prefix. */
function commandName(args: readonly string[]): string | undefined {
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === '--redis' || arg === '--cluster' || arg === '--prefix') index++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * Runs the CLI with `args` (without node and the script); resolves with the exit code.
 * `signal` aborts tail and watch (main wires it to SIGINT and SIGTERM).
 */
export async function runCli(args: readonly string[], streams: Streams, signal: AbortSignal): Promise<number> {
  const name = commandName(args);
  const command: CliCommand | undefined = COMMANDS.find((candidate) => candidate.name === name);
  const wantsJson = args.includes('--json');
  const out = createOutput(wantsJson, streams);
  try {
    if (name === undefined || name === 'help') {
      if (args.includes('--help') || args.includes('-h') || name === 'help') {
        out.line(helpText());
        return 0;
      }
      throw usageError('no command given');
    }
    if (!command) throw usageError(`unknown command "${name}"`);
    let parsed;
    try {
      parsed = parseArgs({ args: [...args], options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
    } catch (error) {
      throw usageError((error as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, ''));
    }
    if (parsed.values.help) {
      out.line(`Usage: verk ${command.usage}\n\n${command.summary}`);
      return 0;
    }
    const positionals = parsed.positionals.slice(parsed.positionals.indexOf(name) + 1);
    const target = resolveTarget({ redis: parsed.values.redis as string | undefined, cluster: parsed.values.cluster as string | undefined, tls: parsed.values.tls === true }, streams.env);
    const context = await openContext(target, parsed.values.prefix as string | undefined, out);
    try {
      await command.run(context, { positionals, options: parsed.values, signal });
    } catch (error) {
      if (error instanceof RangeError) throw usageError(error.message);
      throw error;
    } finally {
      await closeContext(context);
    }
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      streams.stderr.write(`verk: ${error.message}\n`);
      return error.exitCode;
    }
    streams.stderr.write(`verk: ${(error as Error)?.message ?? String(error)}\n`);
    return 1;
  }
}

/**
 * The bin: process arguments and streams. Ctrl-C (or SIGTERM) stops tail and watch
 * cleanly (connections closed, exit code 0); a second one exits at once. Other commands
 * keep Node's default: each of their writes is one atomic script, so stopping between
 * them leaves nothing half done.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const controller = new AbortController();
  const stop = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  const live = COMMANDS.find((command) => command.name === commandName(args))?.live === true;
  if (live) {
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  }
  process.exitCode = await runCli(args, { stdout: process.stdout, stderr: process.stderr, env: process.env }, controller.signal);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
}

if (require.main === module) void main();
