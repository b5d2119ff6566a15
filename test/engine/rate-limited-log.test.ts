import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimitedLog } from '../../lib/engine/logger';
import { MemoryLogger } from '../helpers/engine';

test('RateLimitedLog: the first warning is logged, repeats within the interval are dropped, every one is logged with interval 0', () => {
  const logger = new MemoryLogger();
  const slow = new RateLimitedLog(logger, 60_000);
  slow.warn('first');
  slow.warn('second');
  slow.warn('third');
  assert.deepEqual(logger.lines, ['warn first']);

  const every = new RateLimitedLog(logger, 0);
  every.warn('a');
  every.warn('b');
  assert.deepEqual(logger.lines, ['warn first', 'warn a', 'warn b'], 'each instance counts on its own');
});
