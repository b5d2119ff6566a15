import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { VerkService } from 'nestjs-verk';
import { useRedis } from '../helpers/engine';
import { PLATFORMS, rawJob, screenshot, startApp, useBrowser } from '../helpers/dashboard';
import { waitFor } from '../helpers/wait';
import { LOOKUP_SCAN } from '../../lib/dashboard/data/engine-data-source';

/**
 * Issue 12, what was left: a job looked up by jid alone in bounded steps ("Continue
 * searching"), job links that carry where the job is (queue position, node, set score),
 * the payload shown exactly as stored, the blocked count on the overview and the
 * concurrency of every node on the Queues page. Real Chromium, Express and Fastify.
 */
const ctx = useRedis();
const browser = useBrowser();

const jidOf = (n: number): string => `b${n.toString(16).padStart(23, '0')}`;

for (const platform of PLATFORMS) {
  test(`${platform}: a jid typed in the search box is found in bounded steps through "Continue searching"; a queue page's link finds it at once`, async () => {
    // A queue no node runs, larger than one request's search: the job sits past the first step.
    const size = LOOKUP_SCAN + 10_000;
    for (let i = 0; i < size; i += 5000) {
      await ctx.redis.lpush('queue:backlog', ...Array.from({ length: 5000 }, (_, k) => rawJob({ class: 'Quick', queue: 'backlog', jid: jidOf(i + k), args: [i + k] })));
    }
    await ctx.redis.sadd('queues', 'backlog');
    const target = jidOf(size - 100); // run order = push order: position size - 100
    const { url, close } = await startApp(platform, { redis: ctx.server.url });
    const page = await browser.newPage();
    try {
      await page.goto(`${url}/verk`);
      await page.locator('#verk-search').fill(target);
      await page.locator('#verk-search').press('Enter');
      await page.waitForURL(new RegExp(`/verk/jobs/${target}`));
      const searching = page.locator('[data-searching]');
      const searched = Number(/Not found yet: ([\d,]+) stored jobs searched/.exec((await searching.textContent()) ?? '')?.[1].replace(/,/g, ''));
      assert.ok(searched > 0 && searched <= LOOKUP_SCAN, `one request searched ${searched} jobs (at most ${LOOKUP_SCAN})`);
      assert.equal(await page.locator('pre[data-raw]').count(), 0, 'no payload yet');
      await screenshot(page, `lookup-searching-${platform}`);
      // Continue until found (one more request on a quiet machine; more when each stops at its time budget).
      assert.ok((await searchToTheEnd(page)) >= 1);
      assert.equal(await page.locator('[data-searching]').count(), 0, 'found: nothing more to search');
      assert.equal(await page.locator('[data-state]').getAttribute('data-state'), 'waiting');
      assert.equal(await page.locator('pre[data-raw]').textContent(), rawJobAt(await ctx.redis.lrange('queue:backlog', 0, 200), target));

      // The queue page's link carries the position: found by one window read.
      const offset = size - 110;
      await page.goto(`${url}/verk/queues/backlog?offset=${offset}&limit=25`);
      const link = page.locator(`tr[data-jid="${target}"] a[href*="/jobs/"]`);
      assert.match((await link.getAttribute('href')) ?? '', new RegExp(`queue=backlog&pos=${size - 100}`));
      await link.click();
      await page.waitForURL(new RegExp(`/verk/jobs/${target}\\?`));
      assert.equal(await page.locator('[data-searching]').count(), 0);
      assert.equal(await page.locator('[data-state]').getAttribute('data-state'), 'waiting');
      // Set priority and Move send the same location: the job is found without a search.
      assert.match((await page.locator('form[data-post-form$="/priority"]').getAttribute('data-body')) ?? '', new RegExp(`"offset":${size - 100}`));
      await page.locator('input[name="priority"]').fill('5');
      await page.locator('button', { hasText: 'Set priority' }).click();
      await waitFor(async () => (await ctx.redis.zrange('verk:queue:backlog:prioritized', 0, '-1')).some((raw) => raw.includes(target)), 'the job to get priority 5');
      await page.goto(`${url}/verk/jobs/${target}`);
      assert.equal(await page.locator('[data-state]').getAttribute('data-state'), 'waiting', 'found at the head of its queue (priority first)');
      await page.locator('input[name="queue"]').fill('elsewhere');
      await page.locator('button', { hasText: /^Move$/ }).click();
      await waitFor(async () => (await ctx.redis.zcard('verk:queue:elsewhere:prioritized')) === 1, 'the job to move to queue elsewhere');
      // A bare text that is no tag: the job page looks for it, in bounded steps too.
      await page.goto(`${url}/verk/search?q=no-such-thing`);
      await page.waitForURL(/\/verk\/jobs\/no-such-thing/);
      assert.equal(await page.locator('[data-state]').getAttribute('data-state'), 'unknown');
      assert.equal(await page.locator('[data-searching]').count(), 1, 'more to search');
      assert.ok((await searchToTheEnd(page)) >= 1);
      assert.equal(await page.locator('[data-searching]').count(), 0, 'searched everywhere');
      assert.match((await page.locator('p.empty').textContent()) ?? '', /stored nowhere now \(unknown\)/);
    } finally {
      await page.close();
      await close();
    }
  });

  test(`${platform}: the payload is shown exactly as stored; Busy links carry the node; the overview counts blocked jobs; Queues shows every node's concurrency`, async () => {
    const { app, url, close } = await startApp(platform, { redis: ctx.server.url });
    const page = await browser.newPage();
    try {
      const verk = app.get(VerkService);
      // Bytes JSON.stringify would not write: spaces, an escaped é, a 20-digit integer, key order.
      const jid = 'e'.repeat(24);
      const stored = `{"queue":"nowhere", "class":"Quick","args":[1.50,"\\u00e9",12345678901234567890],"jid":"${jid}" ,"retry":true}`;
      await ctx.redis.zadd('dead', Date.now() / 1000, stored);
      await page.goto(`${url}/verk/dead`);
      await page.locator(`tr[data-jid="${jid}"] a[href*="/jobs/"]`).click();
      await page.waitForURL(/set=dead&at=/);
      assert.equal(await page.locator('pre[data-raw]').textContent(), stored, 'the stored text, byte for byte');
      await page.locator('details summary', { hasText: 'Formatted' }).click();
      assert.match((await page.locator('pre.payload-formatted').textContent()) ?? '', /"args": \[\n {4}1\.5,/);
      await screenshot(page, `job-raw-${platform}`);

      // A running job: the Busy page's link names its node and queue.
      const sleepy = await verk.enqueue({ queue: 'default', class: 'Sleepy' });
      await waitFor(async () => (await ctx.redis.llen(`inprogress:default:dash-${platform}`)) === 1, 'the job to run');
      await page.goto(`${url}/verk/busy`);
      const busyLink = page.locator(`tr[data-jid="${sleepy}"] a[href*="/jobs/"]`);
      assert.match((await busyLink.getAttribute('href')) ?? '', new RegExp(`queue=default&node=dash-${platform}`));
      await busyLink.click();
      assert.equal(await page.locator('[data-state]').getAttribute('data-state'), 'running');
      assert.equal(await page.locator('[data-searching]').count(), 0);
      page.once('dialog', (dialog) => void dialog.accept());
      await page.locator('button', { hasText: 'Cancel' }).click();
      await waitFor(async () => (await ctx.redis.llen(`inprogress:default:dash-${platform}`)) === 0, 'Cancel with the node hint to take the job');

      // Blocked: a job waiting for a dependency scheduled an hour from now.
      const parent = await verk.schedule({ queue: 'default', class: 'Quick', dependable: true }, new Date(Date.now() + 3_600_000));
      await verk.enqueue({ queue: 'default', class: 'Quick', dependsOn: [parent] });
      await page.goto(`${url}/verk`);
      assert.equal(await page.locator('[data-stat="blocked"]').textContent(), '1');
      assert.equal(await ctx.redis.hlen('verk:flow:blocked'), 1);

      // Another node publishing its concurrency (as its heartbeat does), and this one's (default: 5).
      await ctx.redis.sadd('verk_nodes', 'other-node');
      await ctx.redis.set('verk:node:other-node', 'alive', 'PX', 60_000);
      await ctx.redis.hset('verk:node:other-node:concurrency', 'default', '3', 'mail', '2');
      await ctx.redis.pexpire('verk:node:other-node:concurrency', 60_000);
      await page.goto(`${url}/verk/queues`);
      const cell = page.locator('tr[data-queue="default"] [data-concurrency]');
      assert.equal(await cell.getAttribute('data-concurrency'), '8');
      assert.match((await cell.locator('summary').textContent()) ?? '', /8 on 2 nodes/);
      await cell.locator('summary').click();
      assert.match((await cell.locator(`li[data-node="dash-${platform}"]`).textContent()) ?? '', /5 \(this node\)/);
      assert.match((await cell.locator('li[data-node="other-node"]').textContent()) ?? '', /: 3$/);
      assert.equal(await page.locator('tr[data-queue="mail"] [data-concurrency]').getAttribute('data-concurrency'), '2');
      await screenshot(page, `queues-concurrency-${platform}`);
    } finally {
      await page.close();
      await close();
    }
  });
}

/** Follows "Continue searching" until the page stops offering it; returns how many times. */
async function searchToTheEnd(page: Page): Promise<number> {
  for (let steps = 0; steps < 30; steps++) {
    const link = page.locator('a[data-continue]');
    if ((await link.count()) === 0) return steps;
    const href = (await link.getAttribute('href')) ?? '';
    await link.click();
    await page.waitForURL((url) => url.pathname + url.search === href);
  }
  throw new Error('still searching after 30 requests');
}

function rawJobAt(members: string[], jid: string): string | undefined {
  return members.find((member) => member.includes(`"jid":"${jid}"`));
}
