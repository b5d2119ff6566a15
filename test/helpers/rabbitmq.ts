import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { connect } from 'amqplib';

const run = promisify(execFile);

/** The local RabbitMQ the machine runs (tests never start their own); override with RABBITMQ_HOST / RABBITMQ_PORT. */
const HOST = process.env.RABBITMQ_HOST ?? '127.0.0.1';
const PORT = process.env.RABBITMQ_PORT ?? '5672';

/** Whether this machine runs a RabbitMQ that rabbitmqctl reaches (asked once per test file). */
const missing = ((): boolean => {
  try {
    execFileSync('rabbitmqctl', ['-q', 'status'], { stdio: 'ignore', timeout: 60_000 });
    return false;
  } catch {
    return true;
  }
})();

/**
 * Options of every test that needs the broker: without a local RabbitMQ the test is
 * skipped on a developer's machine and fails in CI (where .ci/run installs and starts it).
 */
export const rabbitTest: { skip?: string } = missing && !process.env.CI ? { skip: 'no local RabbitMQ (rabbitmqctl status failed); .ci/run installs one' } : {};

/** rabbitmqctl (as root, on the broker's host): vhosts, forced closes, app restarts. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['-q', ...args], { timeout: 60_000 });
  return stdout;
}

/**
 * A vhost of its own for one test file (`verk-test-<random>`), so nothing a test declares
 * meets another's and deleting it leaves nothing behind; guest may use it.
 */
export class RabbitVhost {
  private constructor(readonly name: string) {}

  static async create(): Promise<RabbitVhost> {
    const vhost = new RabbitVhost(`verk-test-${randomBytes(4).toString('hex')}`);
    await rabbitmqctl('add_vhost', vhost.name);
    await rabbitmqctl('set_permissions', '-p', vhost.name, 'guest', '.*', '.*', '.*');
    return vhost;
  }

  get url(): string {
    return `amqp://guest:guest@${HOST}:${PORT}/${encodeURIComponent(this.name)}`;
  }

  /** Closes every client connection of this vhost from the server side (a network loss, as the client sees it). */
  async closeConnections(): Promise<void> {
    await rabbitmqctl('close_all_connections', '-p', this.name, 'verk test: forced close');
  }

  /** Connections of this vhost now, by name (`verk:<nodeId>`). */
  async connectionNames(): Promise<string[]> {
    const out = await rabbitmqctl('list_connections', 'vhost', 'client_properties');
    return out
      .split('\n')
      .filter((line) => line.startsWith(`${this.name}\t`))
      .map((line) => /connection_name,<<"([^"]*)">>/.exec(line)?.[1] ?? '');
  }

  /** Ready messages of a queue now, asked of the queue itself (no statistics lag). */
  async ready(queue: string): Promise<number> {
    const connection = await connect(this.url);
    try {
      const channel = await connection.createChannel();
      return (await channel.checkQueue(queue)).messageCount;
    } finally {
      await connection.close();
    }
  }

  /** Messages ready + unacknowledged in a queue of this vhost (-1 when it does not exist), from the broker's statistics (a few seconds behind). */
  async messages(queue: string): Promise<number> {
    const out = await rabbitmqctl('list_queues', '-p', this.name, 'name', 'messages');
    for (const line of out.split('\n')) {
      const [name, count] = line.split('\t');
      if (name === queue) return Number(count);
    }
    return -1;
  }

  /** Consumers attached to a queue of this vhost (-1 when it does not exist). */
  async consumers(queue: string): Promise<number> {
    const out = await rabbitmqctl('list_queues', '-p', this.name, 'name', 'consumers');
    for (const line of out.split('\n')) {
      const [name, count] = line.split('\t');
      if (name === queue) return Number(count);
    }
    return -1;
  }

  async delete(): Promise<void> {
    await rabbitmqctl('delete_vhost', this.name);
  }
}

/** One vhost for the test file, created before its tests and deleted after. Read `.vhost` inside tests. */
export function useRabbitVhost(): { readonly vhost: RabbitVhost } {
  const context = {} as { vhost: RabbitVhost };
  before(async () => {
    if (rabbitTest.skip === undefined) context.vhost = await RabbitVhost.create();
  });
  after(async () => {
    await context.vhost?.delete();
  });
  return context;
}
