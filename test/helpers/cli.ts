import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { VerkEngine } from '../../lib/engine';

/** The built bin, run as a user runs it: node dist/lib/cli/main.js. */
export const VERK_BIN = resolve(__dirname, '..', '..', 'lib', 'cli', 'main.js');

export interface VerkResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface VerkRun {
  child: ChildProcess;
  result: Promise<VerkResult>;
  stdout: () => string;
  stderr: () => string;
}

/**
 * Starts `verk <args>` as a child process with only PATH and `env` in its environment
 * (no REDIS_URL or REDIS_CLUSTER of the machine leaks in); `stdout()`/`stderr()` read
 * what it printed so far, `result` settles when it exits.
 */
export function startVerk(args: string[], env: NodeJS.ProcessEnv = {}): VerkRun {
  const child = spawn(process.execPath, [VERK_BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const result = new Promise<VerkResult>((done) => child.on('close', (code, signal) => done({ code, signal, stdout, stderr })));
  return { child, result, stdout: () => stdout, stderr: () => stderr };
}

/** Runs `verk <args>` to its end; kills it (the test then fails on its exit) after `timeoutMs`. */
export async function runVerk(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<VerkResult> {
  const run = startVerk(args, env);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  const result = await run.result;
  clearTimeout(timer);
  return result;
}

/**
 * The classes the CLI suites' node runs: Ok records `ok:<arg>`; Boom records
 * `boom:<arg>:fail|ok` and throws a RangeError while `failing()` is true (with retry: false
 * it is dead at once, and runs cleanly after `verk retry --all dead`).
 */
export function registerCliWorkers(engine: VerkEngine, ran: string[], failing: () => boolean): void {
  engine.workers.register('Ok', { perform: (args) => void ran.push(`ok:${String(args[0])}`) });
  engine.workers.register('Boom', {
    perform: (args) => {
      const fails = failing();
      ran.push(`boom:${String(args[0])}:${fails ? 'fail' : 'ok'}`);
      if (fails) throw new RangeError(`boom ${String(args[0])}`);
    },
  });
}
