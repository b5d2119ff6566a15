import assert from 'node:assert/strict';
import { BlockingConnectionId } from '../../lib/engine/redis/blocking-connection';
import { closeConnection, createConnection, type VerkRedisTarget } from '../../lib/engine/redis/redis';
import { MemoryLogger } from './engine';
import { waitFor } from './wait';

/**
 * On a cluster given as `target` (plain or TLS): a 30 s BLMOVE on the `{verk}` slot's
 * master ends at once when BlockingConnectionId sends CLIENT UNBLOCK through another
 * connection, which must reach that master (not a seed that happens to answer).
 */
export async function assertUnblockReachesSlotMaster(target: VerkRedisTarget): Promise<void> {
  const logger = new MemoryLogger();
  const blocking = createConnection(target, 'blocking', 'verk:test:blocking', logger);
  const via = createConnection(target, 'engine', 'verk:test:engine', logger);
  const key = '{verk}:queue:blocked';
  const id = new BlockingConnectionId(blocking, key);
  try {
    await blocking.exists(key); // connects and learns the slot table
    await waitFor(() => id.current !== undefined, 'the id of the connection to the slot\'s master');
    let waiting = true;
    const started = Date.now();
    const fetch = blocking.blmove(key, '{verk}:inprogress:blocked:n', 'RIGHT', 'LEFT', 30).finally(() => (waiting = false));
    assert.equal(await id.unblock(via, () => waiting), true, 'Redis reports the client unblocked');
    assert.equal(await fetch, null);
    assert.ok(Date.now() - started < 20_000, 'the 30 s BLMOVE ended long before its timeout');
  } finally {
    id.detach();
    await closeConnection(blocking);
    await closeConnection(via);
  }
}
