import type { DynamicModule, Type } from '@nestjs/common';
import { VerkConfigError } from '../../engine/errors';
import { resolveOptions } from '../../engine/options';
import type { VerkClientMiddleware, VerkMiddleware } from '../middleware';
import { checkMiddlewareClasses } from '../middleware';

/** Injection token of the resolved VerkTestingOptions. */
export const VERK_TESTING_OPTIONS = Symbol('VERK_TESTING_OPTIONS');

/**
 * Options of `VerkModule.forTesting()`. No Redis: there is no `redis`, `nodeId` or
 * timing option. Pass the same `middleware` and `clientMiddleware` as in forRoot so jobs
 * run through them in tests too.
 */
export interface VerkTestingOptions {
  /**
   * `fake` (default): enqueued jobs are kept in memory until VerkTesting.drain() and its
   * siblings run them. `inline`: every enqueue runs its job at once and throws its error
   * (Sidekiq's `Testing.inline!`).
   */
  mode?: 'fake' | 'inline';
  /** What `VerkService.queues()` reports; nothing else depends on it. Default `{}`. */
  queues?: Record<string, number>;
  /** Retries before a failing job goes to `dead` (fake mode), unless the job says otherwise. Default 25. */
  maxRetryCount?: number;
  /** Server middleware around every job run, outermost first (as forRoot's). */
  middleware?: Type<VerkMiddleware>[];
  /** Client middleware around every job enqueued, outermost first (as forRoot's). */
  clientMiddleware?: Type<VerkClientMiddleware>[];
  /** As forRoot's: default true, so VerkService and VerkTesting can be injected anywhere. */
  isGlobal?: boolean;
}

export interface ResolvedTestingOptions {
  mode: 'fake' | 'inline';
  queues: Record<string, number>;
  maxRetryCount: number;
  middleware?: Type<VerkMiddleware>[];
  clientMiddleware?: Type<VerkClientMiddleware>[];
  isGlobal: boolean;
}

const KNOWN = ['mode', 'queues', 'maxRetryCount', 'middleware', 'clientMiddleware', 'isGlobal'];

/** Checks forTesting's options with the real module's checks (the same VerkConfigError and field names). */
export function resolveTestingOptions(input: unknown): ResolvedTestingOptions {
  const options = (input ?? {}) as VerkTestingOptions & Record<string, unknown>;
  if (typeof options !== 'object' || Array.isArray(options)) throw new VerkConfigError('Invalid VerkModule.forTesting() options: must be an object', { field: 'options' });
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) throw new VerkConfigError(`Invalid VerkModule.forTesting() option "${key}": unknown option (known: ${KNOWN.join(', ')})`, { field: key });
  }
  const mode = options.mode ?? 'fake';
  if (mode !== 'fake' && mode !== 'inline') throw new VerkConfigError(`Invalid VerkModule.forTesting() option "mode": must be 'fake' or 'inline', got ${JSON.stringify(mode)}`, { field: 'mode' });
  if (options.isGlobal !== undefined && typeof options.isGlobal !== 'boolean') {
    throw new VerkConfigError(`Invalid VerkModule.forTesting() option "isGlobal": must be a boolean, got ${JSON.stringify(options.isGlobal)}`, { field: 'isGlobal' });
  }
  checkMiddlewareClasses(options.middleware, 'middleware', 'perform');
  checkMiddlewareClasses(options.clientMiddleware, 'clientMiddleware', 'enqueue');
  // The engine's own checks of the options both modules share.
  const engine = resolveOptions({ nodeId: 'testing', queues: options.queues, maxRetryCount: options.maxRetryCount });
  return { mode, queues: engine.queues, maxRetryCount: engine.maxRetryCount, middleware: options.middleware, clientMiddleware: options.clientMiddleware, isGlobal: options.isGlobal !== false };
}

/**
 * What VerkModule.overrideForTesting needs of a `@nestjs/testing` TestingModuleBuilder
 * (`Test.createTestingModule(...)`): its `overrideModule(...).useModule(...)`. Typed by
 * shape, so this package does not depend on `@nestjs/testing`.
 */
export interface VerkTestingBuilder<B> {
  overrideModule(module: DynamicModule): { useModule(module: DynamicModule): B };
}
