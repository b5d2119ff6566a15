import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { type DynamicModule, type INestApplication, type INestApplicationContext, Injectable, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Perform, VerkService, Worker } from 'nestjs-verk';
import { waitFor } from './wait';

/**
 * Booting Nest applications in tests, one way for every suite: Nest's own logging off (the
 * suites assert on errors themselves), and abortOnError off so a boot that fails rejects
 * (what the refuse-to-boot tests assert) instead of ending the test process.
 */
export function boot(module: Type<unknown> | DynamicModule): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(module, { logger: false, abortOnError: false });
}

export type Platform = 'express' | 'fastify';

export interface ServedApp {
  app: INestApplication;
  url: string;
  close(): Promise<void>;
}

/** A real Nest HTTP application on Express or Fastify (optionally under a global prefix), listening on a free loopback port. */
export async function serve(module: Type<unknown>, platform: Platform = 'express', prefix?: string): Promise<ServedApp> {
  const options = { logger: false as const, abortOnError: false };
  const app = platform === 'fastify' ? await NestFactory.create(module, new FastifyAdapter(), options) : await NestFactory.create(module, options);
  if (prefix) app.setGlobalPrefix(prefix);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** Names the Hello worker ran, in order (each test file runs in a process of its own, so the list is that file's). */
export const helloRuns: string[] = [];

/** The smallest @Worker: records the name it is given. For suites that only need a job to run through a Nest app. */
@Worker()
@Injectable()
export class Hello {
  @Perform()
  perform(name: string): void {
    helloRuns.push(name);
  }
}

/** Enqueues a Hello job through the app's VerkService and waits until the worker has run it. */
export async function runsAJob(app: INestApplicationContext, name: string): Promise<void> {
  await app.get(VerkService).enqueue({ queue: 'default', class: Hello, args: [name] });
  await waitFor(() => helloRuns.includes(name), `job ${name} runs`);
}
