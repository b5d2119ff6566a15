import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEngine, useRedis } from '../helpers/engine';

/*
 * A job the scheduler moves while it is being looked up is still found: findJob (and so
 * cancel, the dashboard's job page, the CLI's `job`) must not answer "nowhere" for a job
 * that only changed place. The case: a flow job is written to `schedule` due now, and the
 * scheduler's move is the first write of its queue's name to `queues`, so a search that
 * listed the queues before the move and read `schedule` after it missed the job.
 */

const ctx = useRedis();

test('findJob finds a job that the scheduler moves from schedule into a new queue during the search', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 10 });
  try {
    let missed = 0;
    for (let i = 0; i < 300; i++) {
      const queue = `q${i}`;
      // dependable: written by the flow script into `schedule`, due now; the scheduler moves it (and adds the queue).
      const jid = await engine.client.enqueue({ queue, class: 'Work', args: [i], dependable: true });
      if ((await engine.admin.findJob(jid)) === null) missed++;
    }
    assert.equal(missed, 0, `${missed} of 300 jobs were reported nowhere while the scheduler moved them`);
  } finally {
    await engine.stop();
  }
});
