import { type DynamicModule, Logger, Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { VerkEngine } from '../engine/verk-engine';
import { VERK_MODULE_OPTIONS } from './constants';
import { JobLogger } from './job-logger';
import { checkMiddlewareClasses } from './middleware';
import type { VerkModuleAsyncOptions, VerkModuleOptions } from './verk-module-options';
import { VerkExplorer } from './verk.explorer';
import { VerkHealthIndicator } from './verk.health';
import { VerkService } from './verk.service';
import { workerName } from './worker-name';

const engineProvider: Provider = {
  provide: VerkEngine,
  inject: [VERK_MODULE_OPTIONS],
  // Options are validated here, so a bad field stops the application at boot with its name.
  useFactory: (options: VerkModuleOptions) => {
    const { startJobLogLevel, doneJobLogLevel, failJobLogLevel, middleware, clientMiddleware, ...engineOptions } = options ?? {};
    // Resolved by VerkExplorer once every provider exists.
    checkMiddlewareClasses(middleware, 'middleware', 'perform');
    checkMiddlewareClasses(clientMiddleware, 'clientMiddleware', 'enqueue');
    const logger = new Logger('Verk');
    const jobLogger = new JobLogger(logger, { startJobLogLevel, doneJobLogLevel, failJobLogLevel });
    const engine = new VerkEngine(engineOptions, { logger, className: workerName });
    engine.events.subscribe(jobLogger.handle);
    return engine;
  },
};

/**
 * Registers the job system: `VerkModule.forRoot({...})` or
 * `VerkModule.forRootAsync({ imports, inject, useFactory })`. Global, so VerkService can
 * be injected anywhere; @Worker providers are found in every module.
 */
@Module({})
export class VerkModule {
  static forRoot(options: VerkModuleOptions): DynamicModule {
    return VerkModule.build({ provide: VERK_MODULE_OPTIONS, useValue: options });
  }

  static forRootAsync(options: VerkModuleAsyncOptions): DynamicModule {
    return VerkModule.build(
      { provide: VERK_MODULE_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory as (...args: unknown[]) => VerkModuleOptions },
      options.imports ?? [],
    );
  }

  private static build(optionsProvider: Provider, imports: NonNullable<VerkModuleAsyncOptions['imports']> = []): DynamicModule {
    return {
      module: VerkModule,
      global: true,
      imports: [DiscoveryModule, ...imports],
      providers: [optionsProvider, engineProvider, VerkExplorer, VerkService, VerkHealthIndicator],
      exports: [VerkService, VerkEngine, VerkHealthIndicator],
    };
  }
}
