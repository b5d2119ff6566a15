import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CanActivate, type ExecutionContext, Injectable, Module } from '@nestjs/common';
import { newJid, VerkDashboardModule, VerkModule, VerkService } from 'nestjs-verk';
import { useRedis } from '../helpers/engine';
import { serve } from '../helpers/nest';
import { PLATFORMS, rawJob, screenshot, startApp, useBrowser } from '../helpers/dashboard';

/**
 * The dashboard's safety on Express and Fastify: response headers, same-origin POSTs,
 * read-only mode, guards, authorize, and the global prefix.
 */
const ctx = useRedis();
const browser = useBrowser();

const LABELS = ['Pause', 'Resume', 'Clear', 'Retry now', 'Delete', 'Kill', 'Retry all', 'Delete all', 'Cancel', 'Enqueue now', 'Remove'];

/** Fills every page with something to act on: a queue with a job, a dead job, a retry, a recurring job. */
async function seed(verk: VerkService): Promise<string> {
  await verk.pauseQueue('default');
  await verk.enqueue({ queue: 'default', class: 'Quick' });
  await verk.resumeQueue('default');
  const jid = newJid();
  await ctx.redis.zadd('dead', Date.now() / 1000, rawJob({ class: 'Quick', queue: 'default', jid, args: [], error_class: 'Error', error_message: 'x' }));
  await ctx.redis.zadd('retry', Date.now() / 1000 + 3600, rawJob({ class: 'Quick', queue: 'default', jid: newJid(), args: [], error_class: 'Error', error_message: 'x' }));
  await verk.recur('nightly', { class: 'Quick', cron: '0 3 * * *', timezone: 'Europe/Berlin' });
  return jid;
}

function post(url: string, headers: Record<string, string>, body: unknown = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

for (const platform of PLATFORMS) {
  test(`${platform}: every response carries a nonce CSP, no-store, DENY framing and nosniff; the page's script has the nonce`, async () => {
    const { url, close } = await startApp(platform, { redis: ctx.server.url });
    try {
      for (const path of ['/verk', '/verk/api/stats', '/verk/assets/dashboard.js', '/verk/nope-page']) {
        const response = await fetch(`${url}${path}`);
        if (path !== '/verk/nope-page') assert.equal(response.status, 200, path);
        else continue;
        assert.equal(response.headers.get('cache-control'), 'no-store', path);
        assert.equal(response.headers.get('x-frame-options'), 'DENY', path);
        assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
        const csp = response.headers.get('content-security-policy') ?? '';
        const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
        assert.ok(nonce, `${path}: ${csp}`);
        assert.match(csp, /frame-ancestors 'none'/);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
        if (path === '/verk') {
          const text = await response.text();
          assert.ok(text.includes(`<script nonce="${nonce}" src="/verk/assets/dashboard.js"`), 'the script carries this response\'s nonce');
          assert.doesNotMatch(text, /\son[a-z]+=/i, 'no inline event handler');
        }
      }
    } finally {
      await close();
    }
  });

  test(`${platform}: a cross-site POST gets 403 and changes nothing; a same-origin one works`, async () => {
    const { app, url, close } = await startApp(platform, { redis: ctx.server.url });
    try {
      const pause = `${url}/verk/api/queues/default/pause`;
      const host = new URL(url).host;
      for (const headers of [{ 'sec-fetch-site': 'cross-site' } as Record<string, string>, { 'sec-fetch-site': 'same-site' }, { origin: 'http://evil.example' }, { origin: `http://${host}.evil.example` }, {}]) {
        const response = await post(pause, headers);
        assert.equal(response.status, 403, JSON.stringify(headers));
        assert.match(((await response.json()) as { error: string }).error, /Cross-site request refused/);
      }
      assert.equal(await app.get(VerkService).isQueuePaused('default'), false, 'nothing was paused');
      assert.equal((await post(pause, { 'sec-fetch-site': 'same-origin' })).status, 200);
      assert.equal(await app.get(VerkService).isQueuePaused('default'), true);
      assert.equal((await post(`${url}/verk/api/queues/default/resume`, { origin: `http://${host}` })).status, 200);
      assert.equal(await app.get(VerkService).isQueuePaused('default'), false);
    } finally {
      await close();
    }
  });

  test(`${platform}: readOnly shows no button on any page and every POST route answers 404`, async () => {
    const { app, url, close } = await startApp(platform, { redis: ctx.server.url, dashboard: { readOnly: true } });
    const page = await browser.newPage();
    try {
      const jid = await seed(app.get(VerkService));
      for (const path of ['', '/queues', '/queues/default', '/busy', '/scheduled', '/retries', '/dead', `/jobs/${jid}`, '/recurring', '/batches', '/metrics']) {
        await page.goto(`${url}/verk${path}`);
        for (const label of LABELS) assert.equal(await page.getByRole('button', { name: label, exact: true }).count(), 0, `${path}: no ${label} button`);
        assert.equal(await page.locator('input[name="jid"]').count(), 0, `${path}: no selection`);
      }
      await page.goto(`${url}/verk/dead`);
      assert.equal(await page.locator(`tr[data-jid="${jid}"]`).count(), 1, 'the job is listed');
      await screenshot(page, `readonly-${platform}`);
      for (const path of ['/queues/default/pause', '/queues/default/clear', '/sets/dead/retry', '/sets/dead/delete-all', `/jobs/${jid}/delete`, '/recurring/nightly/remove']) {
        assert.equal((await post(`${url}/verk/api${path}`, { 'sec-fetch-site': 'same-origin' }, { jids: [jid] })).status, 404, path);
      }
      assert.equal(await ctx.redis.zcard('dead'), 1, 'nothing was deleted');
      assert.equal((await fetch(`${url}/verk/api/stats`)).status, 200, 'reading still works');
    } finally {
      await page.close();
      await close();
    }
  });

  test(`${platform}: a guard (resolved through DI) that denies gives 403 on every route; one that allows lets through`, async () => {
    @Injectable()
    class Policy {
      allow = false;
    }
    @Injectable()
    class AdminGuard implements CanActivate {
      constructor(private readonly policy: Policy) {}
      canActivate(context: ExecutionContext): boolean {
        const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>();
        return this.policy.allow || request.headers['x-admin'] === 'yes';
      }
    }
    const { app, url, close } = await startApp(platform, { redis: ctx.server.url, dashboard: { guards: [AdminGuard] }, providers: [Policy, AdminGuard] });
    try {
      for (const path of ['/verk', '/verk/dead', '/verk/api/stats', '/verk/assets/dashboard.css']) {
        const response = await fetch(`${url}${path}`);
        assert.equal(response.status, 403, path);
        assert.equal(response.headers.get('cache-control'), 'no-store');
      }
      assert.equal((await post(`${url}/verk/api/queues/default/pause`, { 'sec-fetch-site': 'same-origin' })).status, 403);
      assert.equal((await fetch(`${url}/verk`, { headers: { 'x-admin': 'yes' } })).status, 200);
      app.get(Policy).allow = true;
      assert.equal((await fetch(`${url}/verk/api/stats`)).status, 200);
    } finally {
      await close();
    }
  });

  test(`${platform}: authorize decides per action: a denied action answers 403 and its button is hidden`, async () => {
    const asked: string[] = [];
    const { app, url, close } = await startApp(platform, {
      redis: ctx.server.url,
      dashboard: {
        authorize: (request, action) => {
          asked.push(action);
          return action !== 'pause' && action !== 'clear' && (request as { headers: Record<string, string> }).headers['x-role'] !== 'viewer';
        },
      },
    });
    const page = await browser.newPage();
    try {
      await seed(app.get(VerkService));
      await page.goto(`${url}/verk/queues`);
      assert.equal(await page.getByRole('button', { name: 'Pause', exact: true }).count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Clear', exact: true }).count(), 0);
      await page.goto(`${url}/verk/dead`);
      assert.equal(await page.getByRole('button', { name: 'Retry now', exact: true }).count(), 1);
      const same = { 'sec-fetch-site': 'same-origin' };
      assert.equal((await post(`${url}/verk/api/queues/default/pause`, same)).status, 403);
      assert.equal((await post(`${url}/verk/api/queues/default/clear`, same)).status, 403);
      assert.equal((await post(`${url}/verk/api/sets/dead/delete-all`, { ...same, 'x-role': 'viewer' })).status, 403);
      assert.equal(await ctx.redis.zcard('dead'), 1);
      assert.equal((await post(`${url}/verk/api/sets/dead/delete-all`, same)).status, 200);
      assert.equal(await ctx.redis.zcard('dead'), 0);
      assert.ok(asked.includes('pause') && asked.includes('delete'));
    } finally {
      await page.close();
      await close();
    }
  });

  test(`${platform}: the dashboard honours setGlobalPrefix and its own path; forRootAsync works`, async () => {
    const { url, close } = await startApp(platform, { redis: ctx.server.url, prefix: 'admin', dashboard: { path: '/jobs-ui/', pollInterval: 3000 } });
    try {
      const response = await fetch(`${url}/admin/jobs-ui`);
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.ok(text.includes('href="/admin/jobs-ui/assets/dashboard.css"'));
      assert.ok(text.includes('data-poll="3000"'));
      assert.equal((await fetch(`${url}/admin/jobs-ui/assets/dashboard.css`)).status, 200);
      assert.equal((await fetch(`${url}/verk`)).status, 404);
    } finally {
      await close();
    }
    @Module({
      imports: [
        VerkModule.forRoot({ redis: ctx.server.url, nodeId: `async-${platform}`, queues: { default: 1 } }),
        VerkDashboardModule.forRootAsync({ useFactory: () => ({ path: '/ops', readOnly: true }) }),
      ],
    })
    class AsyncModule {}
    const served = await serve(AsyncModule, platform);
    try {
      const base = served.url;
      assert.equal((await fetch(`${base}/ops/queues`)).status, 200);
      assert.equal((await post(`${base}/ops/api/queues/default/pause`, { 'sec-fetch-site': 'same-origin' })).status, 404);
    } finally {
      await served.close();
    }
  });
}

test('bad dashboard options fail where they are written, naming the field', () => {
  assert.throws(() => VerkDashboardModule.forRoot({ path: 'verk' }), /"path": must start with \//);
  assert.throws(() => VerkDashboardModule.forRoot({ pollInterval: 500 }), /"pollInterval": must be an integer from 2000 to 20000/);
  assert.throws(() => VerkDashboardModule.forRoot({ readonly: true } as never), /"readonly": unknown option/);
  assert.throws(() => VerkDashboardModule.forRoot({ guards: [42] } as never), /"guards"/);
});
