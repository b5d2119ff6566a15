import { type DynamicModule, Logger, Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { VerkConfigError } from '../engine/errors';
import { VerkEngine } from '../engine/verk-engine';
import { VerkRabbitEngine } from '../engine/rabbitmq/rabbit-engine';
import { asVerkEngine } from '../engine/rabbitmq/redis-only';
import { VERK_MODULE_OPTIONS } from './constants';
import { JobLogger } from './job-logger';
import { checkMiddlewareClasses } from './middleware';
import { ConfigurableVerkModule, type VerkModuleExtras } from './verk-module-definition';
import type { VerkModuleAsyncOptions, VerkModuleOptions } from './verk-module-options';
import { VerkExplorer } from './verk.explorer';
import { VerkHealthIndicator } from './verk.health';
import { VerkService } from './verk.service';
import { workerName } from './worker-name';
import { checkMetricsEndpoint, metricsControllerAt, VERK_METRICS_ENDPOINT } from './verk-metrics.controller';

const engineProvider: Provider = {
  provide: VerkEngine,
  inject: [VERK_MODULE_OPTIONS, { token: VERK_METRICS_ENDPOINT, optional: true }],
  // Options are validated here, so a bad field stops the application at boot with its name.
  useFactory: (options: VerkModuleOptions, metricsEndpoint?: string) => {
    const { startJobLogLevel, doneJobLogLevel, failJobLogLevel, middleware, clientMiddleware, ...engineOptions } = options ?? {};
    // Resolved by VerkExplorer once every provider exists.
    checkMiddlewareClasses(middleware, 'middleware', 'perform');
    checkMiddlewareClasses(clientMiddleware, 'clientMiddleware', 'enqueue');
    checkMetricsEndpoint(engineOptions.metrics, metricsEndpoint);
    const logger = new Logger('Verk');
    const jobLogger = new JobLogger(logger, { startJobLogLevel, doneJobLogLevel, failJobLogLevel });
    const hooks = { logger, className: workerName };
    // broker: { rabbitmq } -> a RabbitMQ node in VerkEngine's place; its Redis-only parts refuse (redis-only.ts).
    const engine = engineOptions.broker ? asVerkEngine(new VerkRabbitEngine(engineOptions, hooks)) : new VerkEngine(engineOptions, hooks);
    engine.events.subscribe(jobLogger.handle);
    return engine;
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
  providers: [engineProvider, VerkExplorer, VerkService, VerkHealthIndicator],
  exports: [VerkService, VerkHealthIndicator],
})
export class VerkModule extends ConfigurableVerkModule {
  static override forRoot(options: VerkModuleOptions & VerkModuleExtras): DynamicModule {
    const module = super.forRoot(options);
    // VerkMetricsController, only when asked for: an app with its own /metrics gets no route.
    const endpoint = typeof options?.metrics === 'object' ? options.metrics.endpoint : undefined;
    if (typeof endpoint !== 'string') return module;
    return { ...module, controllers: [...(module.controllers ?? []), metricsControllerAt(endpoint)], providers: [...(module.providers ?? []), { provide: VERK_METRICS_ENDPOINT, useValue: endpoint }] };
  }

  static override forRootAsync(options: VerkModuleAsyncOptions): DynamicModule {
    const ways = [options.useFactory, options.useClass, options.useExisting].filter((way) => way !== undefined).length;
    if (ways !== 1) throw new VerkConfigError(`VerkModule.forRootAsync needs exactly one of useFactory, useClass or useExisting, got ${ways}`);
    return super.forRootAsync(options as Parameters<typeof ConfigurableVerkModule.forRootAsync>[0]);
  }
}
