import type { FactoryProvider, ModuleMetadata, Type } from '@nestjs/common';
import type { VerkOptions } from '../engine/options';
import type { JobLogLevels } from './job-logger';
import type { VerkClientMiddleware, VerkMiddleware } from './middleware';

/** Options of `VerkModule.forRoot`: the engine's, plus Verk's job log levels. See the README's configuration table. */
export interface VerkModuleOptions extends VerkOptions, JobLogLevels {
  /**
   * The name of this instance when the application runs several (one per Redis
   * deployment): inject it with `@InjectVerk(name)`, bind workers with
   * `@Worker({ instance: name })`. Default: the unnamed instance. See docs/instances.md.
   */
  name?: string;
  /** Server middleware around every job this node runs, outermost first (before each worker's own). */
  middleware?: Type<VerkMiddleware>[];
  /** Client middleware around every job enqueued or scheduled, outermost first. */
  clientMiddleware?: Type<VerkClientMiddleware>[];
}

/** A class that builds the options, for `forRootAsync({ useClass })` or `forRootAsync({ useExisting })`. */
export interface VerkOptionsFactory {
  createVerkOptions(): VerkModuleOptions | Promise<VerkModuleOptions>;
}

/**
 * `VerkModule.forRootAsync(...)`: exactly one of `useFactory` (with `inject`), `useClass`
 * (a VerkOptionsFactory the module instantiates) or `useExisting` (a VerkOptionsFactory
 * provider from `imports`). `isGlobal` defaults to true.
 */
export interface VerkModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** The instance's name (see VerkModuleOptions.name); given here, since its tokens exist before the factory runs. */
  name?: string;
  /** Providers handed to useFactory, in order. */
  inject?: FactoryProvider['inject'];
  useFactory?: (...args: never[]) => VerkModuleOptions | Promise<VerkModuleOptions>;
  useClass?: Type<VerkOptionsFactory>;
  useExisting?: Type<VerkOptionsFactory>;
  /** See VerkModuleExtras.isGlobal; default true. */
  isGlobal?: boolean;
}
