import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DELAY_LEVELS, delayRoute, deliverPattern, MAX_DELAY_SECONDS } from '../../lib/engine/rabbitmq/delay-ladder';
import { VerkValidationError } from '../../lib/engine';
import { useRabbitVhost, rabbitTest } from '../helpers/rabbitmq';
import { rabbitClient, startRabbitEngine } from '../helpers/rabbit-engine';
import { waitFor } from '../helpers/wait';

const ctx = useRabbitVhost();

/** The 28 digits of a route, as a number again (highest level first). */
function digitsValue(routingKey: string): number {
  return routingKey
    .split('.')
    .slice(0, DELAY_LEVELS)
    .reduce((value, digit) => value * 2 + Number(digit), 0);
}

test('the ladder route of a delay: its binary digits choose the levels, rounded to whole seconds', () => {
  // ms -> [seconds, levels waited in (highest first)]
  const cases: [number, number, number[]][] = [
    [1, 0, []],
    [2, 0, []],
    [3, 0, []],
    [499, 0, []],
    [500, 1, [0]],
    [1023, 1, [0]],
    [1000, 1, [0]],
    [3000, 3, [1, 0]],
    [5000, 5, [2, 0]],
    [70_000, 70, [6, 2, 1]],
    [86_400_000, 86_400, [16, 14, 12, 8, 7]],
    [MAX_DELAY_SECONDS * 1000, MAX_DELAY_SECONDS, Array.from({ length: DELAY_LEVELS }, (_, i) => DELAY_LEVELS - 1 - i)],
  ];
  for (const [ms, seconds, levels] of cases) {
    const route = delayRoute(ms, 'default');
    assert.equal(route.seconds, seconds, `${ms} ms`);
    assert.deepEqual(route.levels, levels, `${ms} ms waits at levels ${levels.join(',')}`);
    assert.equal(digitsValue(route.routingKey), seconds, 'the digits spell the delay');
    assert.ok(route.routingKey.endsWith('.default'));
    // Each level waited in lasts 2^level s: the hops add up to the delay.
    assert.equal(route.levels.reduce((sum, level) => sum + 2 ** level, 0), seconds);
  }
  // A year is 25 hops at most (any delay: at most 28), and ~8.5 years is the end of the ladder.
  assert.ok(delayRoute(365 * 86_400_000, 'q').levels.length <= 28);
  assert.ok(MAX_DELAY_SECONDS > 8 * 365 * 86_400);
  assert.throws(() => delayRoute((MAX_DELAY_SECONDS + 1) * 1000, 'q'), RangeError);
  // A queue name with dots is matched word for word after exactly 28 digits.
  assert.equal(deliverPattern('a.b'), `${'*.'.repeat(28)}a.b`);
  assert.equal(delayRoute(70_000, 'a.b').routingKey.split('.').length, 30);
});

test('scheduled jobs run down the real ladder on time (±1 s): 0.4 s, 1 s, 3 s and 5 s', rabbitTest, async () => {
  const ranAt = new Map<string, number>();
  const node = await startRabbitEngine(ctx.vhost.url, { nodeId: 'ladder', queues: { timed: 4 } }, { At: { perform: (args) => void ranAt.set(String(args[0]), Date.now()) } });
  const client = rabbitClient(ctx.vhost.url);
  const due = new Map<string, number>();
  const now = Date.now();
  for (const [id, ms] of [['0.4s', 400], ['1s', 1000], ['3s', 3000], ['5s', 5000]] as const) {
    due.set(id, now + ms);
    await client.client.schedule({ queue: 'timed', class: 'At', args: [id] }, now + ms);
  }
  await waitFor(() => ranAt.size === 4, 'every scheduled job to run', 20_000);
  for (const [id, at] of due) {
    const lateness = (ranAt.get(id) as number) - at;
    assert.ok(Math.abs(lateness) <= 1000, `job ${id} ran ${lateness} ms from its time`);
  }
  // The level queues they waited in are empty again (the broker's counts lag by a few seconds).
  await waitFor(async () => (await ctx.vhost.messages('verk.delay.2')) === 0 && (await ctx.vhost.messages('verk.delay.0')) === 0, 'the level queues to be empty');
  await node.stop();
  await client.stop();
});

test('a long delay waits in the level queues its digits choose (checked in the broker, not waited for)', rabbitTest, async () => {
  const client = rabbitClient(ctx.vhost.url, 'long-delay');
  // 70 s = 0b1000110: first stop is level 6 (64 s); a day = 86,400 s: first stop level 16.
  await client.client.schedule({ queue: 'later', class: 'At', args: ['70s'] }, Date.now() + 70_000);
  await client.client.schedule({ queue: 'later', class: 'At', args: ['1d'] }, Date.now() + 86_400_000);
  await waitFor(async () => (await ctx.vhost.messages('verk.delay.6')) === 1 && (await ctx.vhost.messages('verk.delay.16')) === 1, 'the delayed jobs in levels 6 and 16');
  assert.equal(await ctx.vhost.messages('verk.queue.later'), 0, 'nothing delivered early');
  for (const level of [0, 1, 2, 5, 7, 15, 17, 27]) assert.equal(await ctx.vhost.messages(`verk.delay.${level}`), 0, `level ${level} is skipped`);
  // Beyond the ladder: refused, naming the field, nothing published.
  await assert.rejects(client.client.schedule({ queue: 'later', class: 'At' }, Date.now() + (MAX_DELAY_SECONDS + 10) * 1000), (error: unknown) => error instanceof VerkValidationError && error.field === 'at');
  await client.stop();
});
