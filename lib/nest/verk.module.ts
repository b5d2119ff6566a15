import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { VerkConfigError } from '../engine/errors';
import { VerkEngine } from '../engine/verk-engine';
import { VERK_MODULE_OPTIONS, VERK_WORKER_HOST } from './constants';
import { createEngine, namedForRoot, namedForRootAsync } from './verk-instances';
import { ConfigurableVerkModule, type VerkModuleExtras } from './verk-module-definition';
import type { VerkModuleAsyncOptions, VerkModuleOptions } from './verk-module-options';
import { VerkExplorer } from './verk.explorer';
import { VerkHealthIndicator } from './verk.health';
import { VerkService } from './verk.service';
import { verkTestingModule } from './testing/verk-testing.module';
import type { VerkTestingBuilder, VerkTestingOptions } from './testing/verk-testing-options';
import { checkMetricsEndpoint, metricsControllerAt, VERK_METRICS_ENDPOINT } from './verk-metrics.controller';

/**
 * Every unnamed VerkModule.forRoot / forRootAsync module made in this process, so
 * overrideForTesting can replace the application's own import (Nest matches a module
 * override by identity). One entry per call: @Module decorators call forRoot once.
 */
const rootModules = new Set<DynamicModule>();

function remembered(module: DynamicModule): DynamicModule {
  rootModules.add(module);
  return module;
}

const engineProvider: Provider = {
  provide: VerkEngine,
  inject: [VERK_MODULE_OPTIONS, { token: VERK_METRICS_ENDPOINT, optional: true }],
  // Options are validated here, so a bad field stops the application at boot with its name.
  useFactory: (options: VerkModuleOptions, metricsEndpoint?: string) => {
    checkMetricsEndpoint(options?.metrics, metricsEndpoint);
    // Middleware classes are checked here and resolved by VerkExplorer once every provider exists.
    return createEngine(options);
  },
};

/**
 * Registers the job system: `VerkModule.forRoot({...})` or `VerkModule.forRootAsync({
 * useFactory | useClass | useExisting, imports, inject })`. Global unless `isGlobal:
 * false`, so VerkService can be injected anywhere; @Worker providers are found in every
 * module. Built with Nest's ConfigurableModuleBuilder (see verk-module-definition.ts).
 */
@Module({
  imports: [DiscoveryModule],
  providers: [engineProvider, { provide: VERK_WORKER_HOST, useExisting: VerkEngine }, VerkExplorer, VerkService, VerkHealthIndicator],
  exports: [VerkService, VerkHealthIndicator],
})
export class VerkModule extends ConfigurableVerkModule {
  static override forRoot(options: VerkModuleOptions & VerkModuleExtras): DynamicModule {
    // A named instance (sharding): its own engine under tokens of its name (verk-instances.ts).
    if (options?.name !== undefined) return namedForRoot(options);
    const module = super.forRoot(options);
    // VerkMetricsController, only when asked for: an app with its own /metrics gets no route.
    const endpoint = typeof options?.metrics === 'object' ? options.metrics.endpoint : undefined;
    if (typeof endpoint !== 'string') return remembered(module);
    return remembered({ ...module, controllers: [...(module.controllers ?? []), metricsControllerAt(endpoint)], providers: [...(module.providers ?? []), { provide: VERK_METRICS_ENDPOINT, useValue: endpoint }] });
  }

  /**
   * The same providers without Redis, for tests: VerkService keeps enqueued jobs in
   * memory (`mode: 'fake'`, default) or runs each at once (`mode: 'inline'`), and
   * VerkTesting runs them through the real workers and middleware. See docs/testing.md.
   */
  static forTesting(options: VerkTestingOptions = {}): DynamicModule {
    return verkTestingModule(options);
  }

  /**
   * Replaces the application's own `VerkModule.forRoot(...)` / `forRootAsync(...)` import
   * by `forTesting(options)` in a `@nestjs/testing` builder, wherever the application
   * module imports it: `VerkModule.overrideForTesting(Test.createTestingModule({ imports:
   * [AppModule] })).compile()`. (`overrideModule(VerkModule)` cannot: Nest matches an
   * override by identity, and the import is the object forRoot returned.) Named instances
   * are not replaced (forTesting simulates the unnamed one). See docs/testing.md.
   */
  static overrideForTesting<B>(builder: VerkTestingBuilder<B>, options: VerkTestingOptions = {}): B {
    if (rootModules.size === 0) {
      throw new VerkConfigError('VerkModule.overrideForTesting found no VerkModule.forRoot/forRootAsync import to replace: import the application module (which calls forRoot) before calling it');
    }
    const testing = VerkModule.forTesting(options);
    let result: B | undefined;
    for (const module of rootModules) result = (result === undefined ? builder : (result as VerkTestingBuilder<B>)).overrideModule(module).useModule(testing);
    return result as B;
  }

  static override forRootAsync(options: VerkModuleAsyncOptions): DynamicModule {
    const ways = [options.useFactory, options.useClass, options.useExisting].filter((way) => way !== undefined).length;
    if (ways !== 1) throw new VerkConfigError(`VerkModule.forRootAsync needs exactly one of useFactory, useClass or useExisting, got ${ways}`);
    if (options.name !== undefined) return namedForRootAsync(options);
    return remembered(super.forRootAsync(options as Parameters<typeof ConfigurableVerkModule.forRootAsync>[0]));
  }
}
