import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before } from 'node:test';
import { Injectable, Module, type Provider } from '@nestjs/common';
import { chromium, type Browser, type Page } from 'playwright-core';
import { currentJob, Perform, VerkDashboardModule, type VerkDashboardOptions, VerkModule, type VerkModuleOptions, Worker } from 'nestjs-verk';
import { type Platform, serve, type ServedApp } from './nest';
import { sleep } from './wait';

export type { Platform };
export const PLATFORMS: Platform[] = ['express', 'fastify'];

/** jids each test worker ran, and the ones that saw their cancellation. */
export const runs = { quick: [] as string[], canceled: [] as string[] };

@Worker({ name: 'Quick', context: true })
@Injectable()
export class QuickWorker {
  @Perform() perform(): void {
    const job = currentJob();
    if (job) runs.quick.push(job.jid);
  }
}

/** Runs until cancelled (or 30 s). */
@Worker({ name: 'Sleepy', context: true })
@Injectable()
export class SleepyWorker {
  @Perform() async perform(): Promise<void> {
    const job = currentJob();
    for (let i = 0; i < 300; i++) {
      if (job?.canceled) {
        runs.canceled.push(job.jid);
        return;
      }
      await sleep(100);
    }
  }
}

@Worker('Failing')
@Injectable()
export class FailingWorker {
  @Perform() perform(): void {
    throw new TypeError('Payment gateway said no: card declined');
  }
}

/** A real Nest app on Express or Fastify with VerkModule and the dashboard, listening on a free loopback port. */
export async function startApp(platform: Platform, options: { redis: string; verk?: Partial<VerkModuleOptions>; dashboard?: VerkDashboardOptions; prefix?: string; providers?: Provider[] }): Promise<ServedApp> {
  @Module({
    imports: [
      VerkModule.forRoot({ redis: options.redis, nodeId: `dash-${platform}`, queues: { default: 5 }, pollInterval: 200, histograms: true, ...options.verk }),
      VerkDashboardModule.forRoot(options.dashboard ?? { pollInterval: 2000 }),
    ],
    providers: [QuickWorker, SleepyWorker, FailingWorker, ...(options.providers ?? [])],
  })
  class AppModule {}
  return serve(AppModule, platform, options.prefix);
}

/**
 * One browser for the whole test file, Debian's Chromium, headless, driven by playwright-core
 * (nothing downloads a browser): launched before the file's first test, closed after its last.
 */
export function useBrowser(): { newPage(): Promise<Page> } {
  let browser: Browser | undefined;
  before(async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
  });
  return {
    newPage(): Promise<Page> {
      if (!browser) throw new Error('useBrowser(): no browser before the before() hook has run');
      return browser.newPage();
    },
  };
}

const ARTIFACTS = resolve(__dirname, '..', '..', '..', 'test', 'artifacts');

/** Saves a full-page screenshot under test/artifacts/ (git-ignored) and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = resolve(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** A job member written directly into a sorted set (tests build large sets this way). */
export function rawJob(fields: Record<string, unknown>): string {
  return JSON.stringify({ retry: true, created_at: Date.now() / 1000 - 60, enqueued_at: Date.now() / 1000 - 60, ...fields });
}
