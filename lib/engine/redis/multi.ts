import { VerkRedisError } from '../errors';

/**
 * The replies of a MULTI/EXEC (`checkExec(await multi.exec())`), in command order. EXEC
 * reports a failed command in its slot instead of rejecting, so the first such error is
 * thrown here (the commands around it did run: a transaction is atomic, not rolled
 * back); an aborted transaction (EXEC answered null) throws a VerkRedisError.
 */
export function checkExec(results: [Error | null, unknown][] | null): unknown[] {
  if (results === null) throw new VerkRedisError('Redis aborted the transaction (EXEC answered null)');
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}
