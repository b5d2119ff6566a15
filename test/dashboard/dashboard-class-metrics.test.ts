import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VerkService } from 'nestjs-verk';
import { useRedis } from '../helpers/engine';
import { screenshot, startApp, useBrowser } from '../helpers/dashboard';
import { sleep, waitFor } from '../helpers/wait';

/**
 * Issue 12: the Metrics page's job classes of the last 1 h / 8 h (?period=60|480), one
 * class's page (?class=), the JSON API, and what the page says when histograms are off;
 * Chromium over a real Nest app on Express.
 */
const ctx = useRedis();
const browser = useBrowser();
const MINUTE = 60_000;

/** The minute hash's key, computed here: verk:metrics:YYYYMMDDHHMM (UTC). */
function minuteKey(back: number): string {
  const iso = new Date(Math.floor(Date.now() / MINUTE) * MINUTE - back * MINUTE).toISOString();
  return `verk:metrics:${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}`;
}

interface ClassesReply {
  minutes: number;
  recording: boolean;
  classes: { class: string; processed: number; failed: number }[];
  series: unknown[];
}

test('metrics: job classes of the last 1 h / 8 h by total run time, real runs flushed by the node, a class page with its runs per minute and histograms, the JSON API, escaping', async () => {
  // Clear of a minute's end: minute keys written now stay in the window they were meant for.
  if (MINUTE - (Date.now() % MINUTE) < 5000) await sleep(MINUTE - (Date.now() % MINUTE) + 100);
  // Known sums (as other nodes would have written them): ReportWorker 40 runs in (1 s, 2 s], waits in (20, 50] ms.
  await ctx.redis.hset(minuteKey(2), { 'ReportWorker|p': 40, 'ReportWorker|f': 4, 'ReportWorker|ms': 60_000, 'ReportWorker|r10': 40, 'ReportWorker|wms': 2000, 'ReportWorker|w5': 40 });
  await ctx.redis.hset(minuteKey(3), { 'MailerWorker|p': 120, 'MailerWorker|ms': 3600, 'MailerWorker|r5': 120, 'MailerWorker|wms': 360_000, 'MailerWorker|w11': 120, '<b>Bold</b>|p': 1, '<b>Bold</b>|ms': 1, '<b>Bold</b>|r0': 1 });
  await ctx.redis.hset(minuteKey(100), { 'ReportWorker|p': 10, 'ReportWorker|ms': 15_000, 'ReportWorker|r10': 10 });
  const { app, url, close } = await startApp('express', { redis: ctx.server.url });
  const page = await browser.newPage();
  try {
    // Real runs: this node flushes its sums every 10 s.
    const verk = app.get(VerkService);
    await verk.enqueueMany([...Array.from({ length: 5 }, () => ({ queue: 'default', class: 'Quick' })), { queue: 'default', class: 'Failing', retry: false }]);
    let reply: ClassesReply | undefined;
    await waitFor(
      async () => {
        reply = (await (await fetch(`${url}/verk/api/metrics/classes?period=60`)).json()) as ClassesReply;
        return reply.classes.some((row) => row.class === 'Quick' && row.processed === 5) && reply.classes.some((row) => row.class === 'Failing' && row.failed === 1);
      },
      'the node to flush the 6 runs (every 10 s)',
      25_000,
      500,
    );
    assert.equal(reply?.recording, true);
    assert.equal(reply?.series.length, 60);
    assert.deepEqual(reply?.classes.slice(0, 2).map((row) => [row.class, row.processed, row.failed]), [['ReportWorker', 40, 4], ['MailerWorker', 120, 0]]);
    assert.equal((await fetch(`${url}/verk/api/metrics/classes?period=7`)).status, 400);

    await page.goto(`${url}/verk/metrics`);
    const rows = page.locator('#job-classes tbody tr');
    assert.deepEqual((await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-class')))).slice(0, 2), ['ReportWorker', 'MailerWorker'], 'largest total run time first');
    const report = page.locator('#job-classes tr[data-class="ReportWorker"]');
    assert.equal(await report.locator('[data-processed]').textContent(), '40');
    assert.equal(await report.locator('[data-failed]').textContent(), '4');
    assert.equal(await report.locator('[data-failure-rate]').textContent(), '10.0 %');
    assert.equal(await report.locator('[data-mean-run]').textContent(), '1.5 s');
    // In (1000, 2000]: p95 = 1000 + 1000 × 0.95 = 1950 ms, shown to one decimal.
    assert.equal(await report.locator('[data-p95-run]').textContent(), '1.9 s');
    assert.equal(await report.locator('[data-mean-wait]').textContent(), '50 ms');
    assert.equal(await page.locator('#job-classes tr[data-class="MailerWorker"] [data-mean-wait]').textContent(), '3 s');
    // A class name is text, never markup.
    assert.equal(await page.locator('#job-classes tr[data-class="<b>Bold</b>"] td a').textContent(), '<b>Bold</b>');
    assert.equal(await page.locator('#job-classes tbody b').count(), 0);
    assert.equal(await page.locator('#class-series g').count(), 60);
    const heights = await page.locator('#class-series rect.processed').evaluateAll((rects) => rects.map((rect) => Number(rect.getAttribute('height'))));
    assert.ok(heights.filter((h) => h > 0).length >= 2, `bars are drawn, got ${heights.filter((h) => h > 0).length}`);
    // The existing sections are still there.
    assert.ok(await page.locator('figure.hist[data-queue="default"][data-kind="run"]').count());
    await screenshot(page, 'metrics-classes');

    await page.locator('#job-classes a[data-period="480"]').click();
    await page.waitForURL('**/verk/metrics?period=480');
    assert.equal(await page.locator('#job-classes tr[data-class="ReportWorker"] [data-processed]').textContent(), '50', '8 h include the run 100 minutes ago');
    assert.equal(await page.locator('#class-series g').count(), 480);
    assert.equal(await page.locator('#job-classes a[aria-current="page"]').getAttribute('data-period'), '480');

    await page.locator('#job-classes tr[data-class="ReportWorker"] a').click();
    await page.waitForURL('**/verk/metrics?class=ReportWorker&period=480');
    assert.equal(await page.locator('#class-metrics .class-summary [data-processed]').textContent(), '50');
    assert.equal(await page.locator('#class-metrics figure.hist[data-kind="run"]').getAttribute('data-count'), '50');
    assert.equal(await page.locator('#class-metrics figure.hist[data-kind="wait"]').getAttribute('data-count'), '40');
    const runBars = await page.locator('#class-metrics figure.hist[data-kind="run"] rect.bar').evaluateAll((rects) => rects.map((rect) => [Number(rect.getAttribute('data-count')), Number(rect.getAttribute('height'))]));
    assert.deepEqual(runBars.filter(([count]) => count > 0), [[50, 120]], 'one full bar: the (1 s, 2 s] bucket');
    const minuteBars = await page.locator('#class-series g').evaluateAll((gs) => gs.map((g) => Number(g.getAttribute('data-processed'))).filter((n) => n > 0));
    assert.deepEqual(minuteBars, [10, 40], 'the two minutes ReportWorker ran in, oldest first');
    await screenshot(page, 'metrics-class');
    await page.goto(`${url}/verk/metrics?class=Nobody`);
    assert.ok((await page.locator('#class-metrics').textContent())?.includes('No run of Nobody'));
  } finally {
    await page.close();
    await close();
  }
});

test('metrics: with histograms off and nothing recorded, the page says how to turn them on instead of empty charts', async () => {
  const { url, close } = await startApp('express', { redis: ctx.server.url, verk: { histograms: false } });
  const page = await browser.newPage();
  try {
    const reply = (await (await fetch(`${url}/verk/api/metrics/classes`)).json()) as ClassesReply;
    assert.equal(reply.recording, false);
    for (const path of ['/verk/metrics', '/verk/metrics?class=Quick&period=480']) {
      await page.goto(`${url}${path}`);
      const off = page.locator('[data-class-metrics="off"]');
      assert.ok((await off.textContent())?.includes('histograms: true'), path);
      assert.equal(await page.locator('#class-series').count(), 0, `${path}: no chart`);
    }
    await screenshot(page, 'metrics-classes-off');
  } finally {
    await page.close();
    await close();
  }
});
