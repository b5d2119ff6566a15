import { after } from 'node:test';
import { VerkRabbitEngine, type VerkOptions, type WorkerHandler } from '../../lib/engine';
import { MemoryLogger } from './engine';

/** Nodes a test file started on RabbitMQ; whatever a test leaves running is stopped after the file. */
const started = new Set<VerkRabbitEngine>();
after(async () => {
  await Promise.all([...started].map((engine) => engine.stop().catch(() => undefined)));
});

/** Creates and starts a RabbitMQ node with the given workers (its log in `logger`); the test or the file's end stops it. */
export async function startRabbitEngine(url: string, options: Omit<VerkOptions, 'broker'> & { confirmTimeout?: number }, workers: Record<string, WorkerHandler> = {}, logger = new MemoryLogger()): Promise<VerkRabbitEngine> {
  const { confirmTimeout, ...rest } = options;
  const engine = new VerkRabbitEngine({ nodeId: 'rabbit-node', ...rest, broker: { rabbitmq: url, ...(confirmTimeout ? { confirmTimeout } : {}) } }, { logger });
  for (const [name, handler] of Object.entries(workers)) engine.workers.register(name, handler);
  started.add(engine);
  await engine.start();
  return engine;
}

/** A client-only node (never started): enqueues over its own connection. */
export function rabbitClient(url: string, nodeId = 'rabbit-producer', logger = new MemoryLogger()): VerkRabbitEngine {
  const engine = new VerkRabbitEngine({ nodeId, broker: { rabbitmq: url } }, { logger });
  started.add(engine);
  return engine;
}
