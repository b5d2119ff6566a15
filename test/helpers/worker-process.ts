import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A worker node running in its own process (test/fixtures/worker-process.ts). */
export class WorkerProcess {
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  nodeId = '';

  private constructor(readonly child: ChildProcess) {
    children.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
      }),
    );
    child.stdout?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
  }

  /** Starts a node (test/fixtures/<fixture>.js, default worker-process) and waits until it runs. */
  static async start(env: Record<string, string>, fixture = 'worker-process'): Promise<WorkerProcess> {
    const script = join(__dirname, '..', 'fixtures', `${fixture}.js`);
    const worker = new WorkerProcess(spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker did not start in 15 s:\n${worker.output.join('')}`)), 15_000);
      const onData = (chunk: Buffer) => {
        const match = /READY (\S+)/.exec(chunk.toString());
        if (match) {
          worker.nodeId = match[1];
          clearTimeout(timer);
          worker.child.stdout?.off('data', onData);
          resolve();
        }
      };
      worker.child.stdout?.on('data', onData);
      void worker.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`worker exited before it was ready (code ${code}, signal ${signal}):\n${worker.output.join('')}`));
      });
    });
    return worker;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.kill(signal);
  }
}
