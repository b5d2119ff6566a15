import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newJid, VerkService } from 'nestjs-verk';
import { useRedis } from '../helpers/engine';
import { PLATFORMS, rawJob, runs, screenshot, startApp, useBrowser } from '../helpers/dashboard';
import { sleep, waitFor } from '../helpers/wait';

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core), served by
 * real Nest apps on Express and on Fastify over a private redis-server.
 */
const ctx = useRedis();
const browser = useBrowser();

for (const platform of PLATFORMS) {
  test(`${platform}: the overview's counters change while jobs run`, async () => {
    const { app, url, close } = await startApp(platform, { redis: ctx.server.url });
    const page = await browser.newPage();
    try {
      await page.goto(`${url}/verk`);
      assert.equal(await page.locator('[data-stat="processed"]').textContent(), '0');
      await page.locator('#live-chart').waitFor();
      const verk = app.get(VerkService);
      // In waves, so the live chart has a few rates to draw.
      for (let i = 0; i < 1200; i += 200) {
        await verk.enqueueMany(Array.from({ length: 200 }, () => ({ queue: 'default', class: 'Quick' })));
        await sleep(1000);
      }
      // The page polls /api/stats (every 2 s here) and updates the counters in place.
      await waitFor(async () => (await page.locator('[data-stat="processed"]').textContent()) === '1,200', 'the processed counter to show 1,200 (thousands separator)', 30_000, 200);
      assert.equal(await page.locator('[data-stat="processedToday"]').textContent(), '1,200');
      await waitFor(async () => /processed\/s/.test((await page.locator('#live-rate').textContent()) ?? ''), 'a rate on the live chart', 15_000, 200);
      // The live chart is drawn: a line of at least two rates for processed.
      await waitFor(
        async () => ((await page.locator('#live-chart polyline.processed').getAttribute('points')) ?? '').trim().split(/\s+/).filter(Boolean).length >= 2,
        'the live chart to draw a processed line of two points or more',
        20_000,
        200,
      );
      const drawn = ((await page.locator('#live-chart polyline.processed').getAttribute('points')) ?? '').trim().split(/\s+/).map((point) => Number(point.split(',')[1]));
      assert.ok(drawn.some((y) => y < 170), `some processed rate is above the baseline, got y = ${drawn.join(' ')}`);
      // The history's bar for today has grown from the polls (the page was rendered at 0).
      const today = new Date().toISOString().slice(0, 10);
      await waitFor(async () => Number(await page.locator(`#history-chart g[data-date="${today}"] rect.processed`).getAttribute('height')) > 0, "today's history bar to be drawn", 15_000, 200);
      // Queues at a glance follows the per-queue daily counters.
      await waitFor(async () => (await page.locator('#glance tr[data-queue="default"] [data-processed-today]').textContent()) === '1,200', 'queues at a glance to show 1,200 processed today', 15_000, 200);
      await screenshot(page, `overview-${platform}`);
      // A fresh render shows the same without polling.
      await page.reload();
      assert.equal(await page.locator('#glance tr[data-queue="default"] [data-processed-today]').textContent(), '1,200');
      assert.ok(Number(await page.locator(`#history-chart g[data-date="${today}"] rect.processed`).getAttribute('height')) > 100, "today's bar is the tallest of the week");
      await waitFor(
        async () => ((await page.locator('#live-chart polyline.processed').getAttribute('points')) ?? '').trim().split(/\s+/).filter(Boolean).length >= 2,
        'the live chart to draw again after the reload',
        20_000,
        200,
      );
    } finally {
      await page.close();
      await close();
    }
  });

  test(`${platform}: Pause stops the node taking the queue's jobs; Resume restarts it`, async () => {
    const { app, url, close } = await startApp(platform, { redis: ctx.server.url });
    const page = await browser.newPage();
    try {
      await page.goto(`${url}/verk/queues`);
      const row = page.locator('tr[data-queue="default"]');
      await row.getByRole('button', { name: 'Pause', exact: true }).click();
      await row.getByRole('button', { name: 'Resume', exact: true }).waitFor();
      assert.equal(await row.locator('.badge').textContent(), 'paused');
      const verk = app.get(VerkService);
      const jid = await verk.enqueue({ queue: 'default', class: 'Quick' });
      await sleep(1500);
      assert.equal(await ctx.redis.llen('queue:default'), 1, 'the paused queue keeps its job');
      assert.ok(!runs.quick.includes(jid));
      await screenshot(page, `queues-paused-${platform}`);
      await row.getByRole('button', { name: 'Resume', exact: true }).click();
      await waitFor(() => runs.quick.includes(jid), 'the job to run after Resume');
      await row.getByRole('button', { name: 'Pause', exact: true }).waitFor();
    } finally {
      await page.close();
      await close();
    }
  });

  test(`${platform}: Retry now on a dead job makes it run`, async () => {
    const { url, close } = await startApp(platform, { redis: ctx.server.url });
    const page = await browser.newPage();
    try {
      const jid = newJid();
      await ctx.redis.zadd('dead', Date.now() / 1000, rawJob({ class: 'Quick', queue: 'default', jid, args: [1], error_class: 'Error', error_message: 'boom', failed_at: Date.now() / 1000 }));
      await page.goto(`${url}/verk/dead`);
      await page.locator(`tr[data-jid="${jid}"] input[type="checkbox"]`).check();
      await screenshot(page, `dead-${platform}`);
      await page.getByRole('button', { name: 'Retry now', exact: true }).click();
      await waitFor(() => runs.quick.includes(jid), 'the dead job to run');
      assert.equal(await ctx.redis.zcard('dead'), 0);
    } finally {
      await page.close();
      await close();
    }
  });

  test(`${platform}: Kill on a retry row moves it to dead; the job link carries set and score`, async () => {
    const { url, close } = await startApp(platform, { redis: ctx.server.url });
    const page = await browser.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    try {
      const jid = newJid();
      const other = newJid();
      const due = Date.now() / 1000 + 3600;
      await ctx.redis.zadd('retry', due, rawJob({ class: 'Quick', queue: 'default', jid, args: [1], error_class: 'Error', error_message: 'boom', retry_count: 1 }));
      await ctx.redis.zadd('retry', due + 1, rawJob({ class: 'Quick', queue: 'default', jid: other, args: [2], error_class: 'Error', error_message: 'boom', retry_count: 1 }));
      await page.goto(`${url}/verk/retries`);
      const href = await page.locator(`tr[data-jid="${jid}"] a[href*="/jobs/"]`).getAttribute('href');
      assert.match(href ?? '', /[?&]set=retries&at=/, 'the job link names its set and score');
      await page.locator(`tr[data-jid="${jid}"] input[type="checkbox"]`).check();
      await page.getByRole('button', { name: 'Kill', exact: true }).click();
      await waitFor(async () => (await ctx.redis.zcard('dead')) === 1, 'the killed job to reach dead');
      assert.deepEqual(await ctx.redis.zrange('retry', '0', '-1').then((members) => members.map((m) => (JSON.parse(m) as { jid: string }).jid)), [other], 'only the selected job left retry');
      assert.ok((await ctx.redis.zrange('dead', '0', '-1'))[0].includes(jid));
      await page.goto(`${url}/verk/dead`);
      await page.locator(`tr[data-jid="${jid}"]`).waitFor();
      await screenshot(page, `killed-${platform}`);
      // The job page of the other one, reached by its link with the score, offers Kill too.
      await page.goto(`${url}/verk/retries`);
      await page.locator(`tr[data-jid="${other}"] a[href*="/jobs/"]`).click();
      assert.equal(await page.locator('[data-state]').textContent(), 'retry');
      await page.getByRole('button', { name: 'Kill', exact: true }).click();
      await waitFor(async () => (await ctx.redis.zcard('dead')) === 2, 'the job page Kill to move it to dead');
    } finally {
      await page.close();
      await close();
    }
  });

  test(`${platform}: Retry all on a dead set of 300 jobs runs them all`, async () => {
    const { url, close } = await startApp(platform, { redis: ctx.server.url });
    const page = await browser.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    try {
      const jids: string[] = [];
      const args: (string | number)[] = [];
      for (let i = 0; i < 300; i++) {
        const jid = newJid();
        jids.push(jid);
        args.push(Date.now() / 1000 - i, rawJob({ class: 'Quick', queue: 'default', jid, args: [i], error_class: 'Error', error_message: 'boom', failed_at: Date.now() / 1000 }));
      }
      await ctx.redis.zadd('dead', ...args);
      await page.goto(`${url}/verk/dead`);
      await page.getByRole('button', { name: 'Retry all', exact: true }).click();
      await waitFor(() => jids.every((jid) => runs.quick.includes(jid)), 'all 300 dead jobs to run', 30_000);
      assert.equal(await ctx.redis.zcard('dead'), 0);
      await page.locator('text=No jobs.').waitFor();
    } finally {
      await page.close();
      await close();
    }
  });

  test(`${platform}: Busy shows each node's heartbeat age; Queues shows latency`, async () => {
    const { url, close } = await startApp(platform, { redis: ctx.server.url });
    const page = await browser.newPage();
    try {
      await waitFor(async () => (await ctx.redis.exists(`verk:node:dash-${platform}:heartbeat`)) === 1 || (await ctx.redis.sismember('verk_nodes', `dash-${platform}`)) === 1, 'the node to register');
      await page.goto(`${url}/verk/busy`);
      const cell = page.locator(`tr[data-node="dash-${platform}"] [data-heartbeat-age]`);
      await waitFor(async () => {
        await page.reload();
        return (await cell.getAttribute('data-heartbeat-age')) !== '';
      }, 'a heartbeat age for the node', 15_000, 500);
      assert.ok(Number(await cell.getAttribute('data-heartbeat-age')) >= 0);
      assert.match((await cell.textContent()) ?? '', /ago$/);
      assert.equal(await page.locator(`tr[data-node="dash-${platform}"] .badge`).textContent(), 'alive');
      await screenshot(page, `busy-nodes-${platform}`);
      // A queue no node serves, with a job that has waited two minutes.
      await ctx.redis.sadd('queues', 'late');
      await ctx.redis.lpush('queue:late', rawJob({ class: 'Quick', queue: 'late', jid: newJid(), args: [], enqueued_at: Date.now() / 1000 - 125 }));
      await page.goto(`${url}/verk/queues`);
      const latency = page.locator('tr[data-queue="late"] [data-latency]');
      assert.ok(Number(await latency.getAttribute('data-latency')) >= 120, 'latency is the age of the oldest waiting job');
      assert.equal(await latency.textContent(), '2 min');
      await screenshot(page, `queues-latency-${platform}`);
    } finally {
      await page.close();
      await close();
    }
  });

  test(`${platform}: Cancel on Busy stops a running job`, async () => {
    const { app, url, close } = await startApp(platform, { redis: ctx.server.url });
    const page = await browser.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    try {
      const jid = await app.get(VerkService).enqueue({ queue: 'default', class: 'Sleepy' });
      await waitFor(async () => (await ctx.redis.llen(`inprogress:default:dash-${platform}`)) === 1, 'the job to run');
      await page.goto(`${url}/verk/busy`);
      const row = page.locator(`tr[data-jid="${jid}"]`);
      await row.waitFor();
      await screenshot(page, `busy-${platform}`);
      await row.getByRole('button', { name: 'Cancel', exact: true }).click();
      await waitFor(() => runs.canceled.includes(jid), 'the worker to see its cancellation');
      assert.equal(await ctx.redis.llen(`inprogress:default:dash-${platform}`), 0);
      await page.locator('text=Nothing is running.').waitFor();
    } finally {
      await page.close();
      await close();
    }
  });

  test(`${platform}: a filter narrows a retry set of 10,000 entries, continuing with the cursor`, async () => {
    const { url, close } = await startApp(platform, { redis: ctx.server.url });
    const page = await browser.newPage();
    try {
      const needles: string[] = [];
      const now = Date.now() / 1000 + 3600;
      for (let chunk = 0; chunk < 10; chunk++) {
        const args: (string | number)[] = [];
        for (let i = chunk * 1000; i < (chunk + 1) * 1000; i++) {
          const jid = newJid();
          const needle = i % 1000 === 7;
          if (needle) needles.push(jid);
          args.push(now + i, rawJob({ class: needle ? 'Needle' : 'Hay', queue: 'default', jid, args: [i], error_class: 'Error', error_message: `failure ${i}`, retry_count: 1 }));
        }
        await ctx.redis.zadd('retry', ...args);
      }
      assert.equal(await ctx.redis.zcard('retry'), 10_000);
      await page.goto(`${url}/verk/retries?class=Needle`);
      const first = await page.locator('tbody tr[data-jid]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-jid')));
      assert.ok(first.length > 0 && first.length < needles.length, `a bounded first scan finds some of the matches, got ${first.length}`);
      assert.ok(Number(await page.locator('[data-scanned]').getAttribute('data-scanned')) <= 5000);
      await screenshot(page, `retries-filter-${platform}`);
      const seen = [...first];
      for (let i = 0; i < 5 && (await page.locator('a.continue').count()) > 0; i++) {
        await page.locator('a.continue').click();
        await page.waitForLoadState();
        seen.push(...(await page.locator('tbody tr[data-jid]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-jid')))));
      }
      assert.deepEqual([...seen].sort(), [...needles].sort(), 'every Needle, and only those');
      // A text filter over args: "failure 4007" is in one member only.
      await page.goto(`${url}/verk/retries?q=${encodeURIComponent('"failure 4007"')}`);
      await page.locator('a.continue').click();
      assert.equal(await page.locator('tbody tr[data-jid]').count(), 0, 'not in the second half');
    } finally {
      await page.close();
      await close();
    }
  });

  test(`${platform}: an XSS payload in args, class and error is shown as text and runs nothing`, async () => {
    const { url, close } = await startApp(platform, { redis: ctx.server.url });
    const page = await browser.newPage();
    try {
      const jid = newJid();
      const payload = '<img src=x onerror=window.__xss=1>';
      const stored = rawJob({ class: '<script>window.__xss=2</script>', queue: 'default', jid, args: [payload, '"><svg onload="window.__xss=4">'], error_class: '<b>Bold</b>', error_message: '<img src=y onerror="window.__xss=3">', tags: ['<i>t</i>'] });
      await ctx.redis.zadd('dead', Date.now() / 1000, stored);
      for (const path of ['/verk/dead', `/verk/jobs/${jid}`, '/verk/metrics']) {
        await page.goto(`${url}${path}`);
        await sleep(300);
        assert.equal(await page.evaluate(() => (globalThis as unknown as { __xss?: unknown }).__xss), undefined, `${path}: no script ran`);
        assert.equal(await page.locator('img[src="x"], img[src="y"], svg[onload]').count(), 0, `${path}: no injected element`);
      }
      assert.ok((await page.locator('body').textContent())?.includes('<b>Bold</b>'));
      await page.goto(`${url}/verk/jobs/${jid}`);
      assert.ok((await page.locator('pre.payload').textContent())?.includes(payload), 'the payload is shown as text');
      assert.equal(await page.locator('pre[data-raw]').textContent(), stored, 'the payload is shown exactly as stored');
      assert.ok((await page.locator('h1').textContent())?.includes(jid));
      await screenshot(page, `xss-${platform}`);
    } finally {
      await page.close();
      await close();
    }
  });
}

test('every page renders real data (history, dependencies, batch, tags, recurring, metrics, search, a queue in run order, dark mode)', async () => {
  const { app, url, close } = await startApp('express', { redis: ctx.server.url, verk: { history: true, queues: { default: 2, mail: 1 } } });
  const page = await browser.newPage();
  try {
    const verk = app.get(VerkService);
    // A job that fails for good (retry: false), with tags, in a batch: history, error and backtrace.
    const batch = await verk.batch(
      [
        { queue: 'default', class: 'Failing', args: [{ order: 1042, amount: 12_500 }], retry: false, tags: ['checkout', 'tenant-7'] },
        { queue: 'default', class: 'Quick', args: [1] },
      ],
      { onComplete: { class: 'Quick' } },
    );
    const failed = batch.jids[0];
    await waitFor(async () => (await verk.job(failed)).state === 'dead', 'the failing job to die');
    const parent = await verk.schedule({ queue: 'default', class: 'Quick', dependable: true }, Date.now() + 3_600_000);
    const child = await verk.enqueue({ queue: 'default', class: 'Quick', dependsOn: [parent] });
    await verk.pauseQueue('mail');
    for (const priority of [0, 5, -3]) await verk.enqueue({ queue: 'mail', class: 'Quick', args: [`p${priority}`], ...(priority ? { priority } : {}) });
    await verk.recur('nightly-report', { class: 'Quick', cron: '0 3 * * *', timezone: 'Europe/Berlin' });
    await verk.recur('heartbeat', { class: 'Quick', every: 60_000 });

    await page.goto(`${url}/verk/jobs/${failed}`);
    assert.equal(await page.locator('[data-state]').textContent(), 'dead');
    assert.ok((await page.locator('.error-panel').textContent())?.includes('card declined'));
    assert.ok(await page.locator('ol.timeline li[data-event="dead"]').count());
    assert.ok((await page.locator('.batch progress').count()) === 1);
    await screenshot(page, 'job-page');

    await page.goto(`${url}/verk/jobs/${child}`);
    assert.equal(await page.locator('[data-state]').textContent(), 'blocked');
    await page.locator(`a[href="/verk/jobs/${parent}"]`).click();
    assert.equal(await page.locator('[data-state]').textContent(), 'scheduled');

    await page.goto(`${url}/verk/queues/mail`);
    const order = await page.locator('tbody tr[data-jid] code.args').allTextContents();
    assert.deepEqual(order, ['["p5"]', '["p0"]', '["p-3"]'], 'waiting jobs in run order');
    await screenshot(page, 'queue-page');

    await page.goto(`${url}/verk/recurring`);
    assert.equal(await page.locator('tr[data-recurring]').count(), 2);
    assert.ok((await page.locator('tr[data-recurring="nightly-report"]').textContent())?.includes('Europe/Berlin'));
    await page.locator('tr[data-recurring="heartbeat"]').getByRole('button', { name: 'Enqueue now', exact: true }).click();
    await waitFor(async () => (await verk.stats()).processed >= 3, 'the recurring job enqueued now to run');
    await screenshot(page, 'recurring');

    await page.goto(`${url}/verk/batches`);
    assert.equal(await page.locator(`.batch[data-bid="${batch.bid}"] progress`).getAttribute('value'), '2');
    await screenshot(page, 'batches');

    await page.goto(`${url}/verk/metrics`);
    assert.ok((await page.locator('body').textContent())?.includes('TypeError'));
    // Today's run and wait histograms of queue default: a bar per bucket, counts summing to the jobs.
    for (const kind of ['run', 'wait']) {
      const figure = page.locator(`figure.hist[data-queue="default"][data-kind="${kind}"]`);
      const count = Number(await figure.getAttribute('data-count'));
      assert.ok(count >= 3, `${kind}: at least the 3 jobs that ran, got ${count}`);
      const bars = await figure.locator('rect.bar').evaluateAll((rects) => rects.map((rect) => ({ count: Number(rect.getAttribute('data-count')), height: Number(rect.getAttribute('height')) })));
      assert.equal(bars.reduce((sum, bar) => sum + bar.count, 0), count, `${kind}: the bars add up to the count`);
      assert.ok(bars.some((bar) => bar.height > 0), `${kind}: a bar is drawn`);
    }
    await screenshot(page, 'metrics');
    await page.goto(`${url}/verk/metrics?date=2020-01-01`);
    assert.equal(await page.locator('figure.hist[data-queue="default"][data-kind="run"]').getAttribute('data-count'), '0', 'another day has its own (empty) histograms');
    assert.equal(await page.locator('input[name="date"]').inputValue(), '2020-01-01');

    await page.fill('#verk-search', failed);
    await page.press('#verk-search', 'Enter');
    await page.waitForURL(`**/verk/jobs/${failed}`);
    await page.fill('#verk-search', 'tenant-7');
    await page.press('#verk-search', 'Enter');
    await page.locator(`tr[data-jid="${failed}"]`).waitFor();

    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${url}/verk`);
    await screenshot(page, 'overview-dark');
  } finally {
    await page.close();
    await close();
  }
});
