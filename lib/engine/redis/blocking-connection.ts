import type Redis from 'ioredis';
import { asCluster, connectionFor, masterKeyFor, nodeKeyOf } from './cluster';

/** Attempts, about 2 ms apart, to interrupt a BLMOVE that has not reached Redis yet. */
const UNBLOCK_ATTEMPTS = 250;

/**
 * Knows the server-side id (CLIENT ID) of the connection a queue blocks on in BLMOVE, so
 * another connection can interrupt that wait with CLIENT UNBLOCK <id>. Finding it by name
 * in CLIENT LIST instead fails for names CLIENT SETNAME refuses (a queue `émails`), where
 * an ACL forbids CLIENT LIST, and costs a full client listing per attempt.
 *
 * The id is asked on every 'connect' (each reconnect gets a new one), not on 'ready':
 * ioredis emits 'ready' only after it has flushed the commands queued meanwhile, so a
 * CLIENT ID sent then would wait behind the very BLMOVE it is meant to interrupt. During
 * 'connect' ioredis writes handshake commands (CLIENT is one) straight to the socket,
 * ahead of that queue. The id is forgotten on 'close': after a Redis restart ids start
 * again from 1, and a stale one could interrupt another client.
 */
export class BlockingConnectionId {
  /** One connection: its id. On a Cluster: the id of each node connection, by `host:port`. */
  private readonly single?: NodeConnectionId;
  private readonly byNode = new Map<string, NodeConnectionId>();

  /**
   * `key` is the list the connection blocks on: on a Cluster, BLMOVE travels on the
   * connection to the master of its slot, so that node's connection id is the one to
   * interrupt, and CLIENT UNBLOCK must be sent to that same master.
   */
  constructor(
    private readonly connection: Redis,
    private readonly key: string,
  ) {
    const cluster = asCluster(connection);
    if (!cluster) {
      this.single = new NodeConnectionId(connection);
      return;
    }
    // Node connections are made lazily (before they connect, so their 'connect' is seen).
    for (const node of cluster.nodes('all')) this.byNode.set(nodeKeyOf(node), new NodeConnectionId(node));
    cluster.on('+node', this.onNode);
    cluster.on('-node', this.offNode);
  }

  private readonly onNode = (node: Redis): void => {
    this.byNode.get(nodeKeyOf(node))?.detach();
    this.byNode.set(nodeKeyOf(node), new NodeConnectionId(node));
  };

  private readonly offNode = (node: Redis): void => {
    const tracker = this.byNode.get(nodeKeyOf(node));
    if (tracker?.connection !== node) return;
    tracker.detach();
    this.byNode.delete(nodeKeyOf(node));
  };

  /** The current connection's id, if known (on a Cluster: the connection to the key's master). */
  get current(): number | undefined {
    if (this.single) return this.single.current;
    const cluster = asCluster(this.connection);
    const master = cluster && masterKeyFor(cluster, this.key);
    return master === undefined ? undefined : this.byNode.get(master)?.current;
  }

  /** Stops listening to the connection. */
  detach(): void {
    this.single?.detach();
    for (const tracker of this.byNode.values()) tracker.detach();
    this.byNode.clear();
    const cluster = asCluster(this.connection);
    cluster?.off('+node', this.onNode);
    cluster?.off('-node', this.offNode);
  }

  /**
   * Interrupts the connection's blocking command through `via` (CLIENT UNBLOCK: it returns
   * as if it had timed out) while `stillBlocked()` says the caller still waits on it. The
   * request can come before the BLMOVE it must interrupt has reached Redis (or before the
   * id is known), so this tries again until Redis reports the client unblocked, the wait
   * ended by itself, or about half a second passed (the BLMOVE's own timeout bounds the
   * delay in any case). Returns true when it unblocked the client.
   */
  async unblock(via: Redis, stillBlocked: () => boolean): Promise<boolean> {
    for (let attempt = 0; attempt < UNBLOCK_ATTEMPTS && stillBlocked(); attempt++) {
      if (attempt > 0) await new Promise<void>((resolve) => setTimeout(resolve, 2));
      const id = this.current;
      if (id === undefined) continue;
      // On a Cluster, CLIENT (no key) must go to the master the BLMOVE went to.
      const target = await connectionFor(via, this.key);
      if (Number(await target.call('CLIENT', 'UNBLOCK', String(id))) === 1) return true;
    }
    return false;
  }
}

/** The CLIENT ID of one Redis connection, asked on each 'connect' (see BlockingConnectionId). */
class NodeConnectionId {
  private id?: number;
  /** Counts connections, so a reply from an earlier one is never taken for the current id. */
  private epoch = 0;

  constructor(readonly connection: Redis) {
    connection.on('connect', this.onConnect);
    connection.on('close', this.onClose);
  }

  get current(): number | undefined {
    return this.id;
  }

  private readonly onConnect = (): void => {
    const epoch = ++this.epoch;
    this.id = undefined;
    this.connection.client('ID').then(
      (id) => {
        if (epoch === this.epoch) this.id = Number(id);
      },
      // Refused (an ACL without CLIENT ID) or the connection dropped: interruptions then
      // fall back to the BLMOVE's own timeout.
      () => undefined,
    );
  };

  private readonly onClose = (): void => {
    this.epoch++;
    this.id = undefined;
  };

  detach(): void {
    this.connection.off('connect', this.onConnect);
    this.connection.off('close', this.onClose);
  }
}

/**
 * The name to give a connection with CLIENT SETNAME, which refuses spaces, newlines and
 * every byte outside printable ASCII (ioredis then leaves the connection unnamed without a
 * word). Such characters, and `%` itself so the escaping stays unambiguous, are written as
 * UTF-8 percent escapes: node `nœud-1`, queue `émails` -> `verk:n%C5%93ud-1:queue:%C3%A9mails`,
 * still readable in an operator's CLIENT LIST.
 */
export function clientName(name: string): string {
  return name.replace(/[^\x21-\x24\x26-\x7e]/gu, (char) =>
    [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}
