import { type DynamicModule, Logger, type Provider } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import { VerkConfigError } from '../engine/errors';
import { VerkEngine } from '../engine/verk-engine';
import { VerkRabbitEngine } from '../engine/rabbitmq/rabbit-engine';
import { asVerkEngine } from '../engine/rabbitmq/redis-only';
import { JobLogger } from './job-logger';
import { checkMiddlewareClasses } from './middleware';
import type { VerkModuleAsyncOptions, VerkModuleOptions, VerkOptionsFactory } from './verk-module-options';
import { VerkExplorer } from './verk.explorer';
import { VerkHealthIndicator } from './verk.health';
import { VerkService } from './verk.service';
import { checkInstanceName, getVerkEngineToken, getVerkHealthToken, getVerkServiceToken, optionsToken } from './verk-tokens';
import { workerName } from './worker-name';

/*
 * Named instances (sharding across Redis deployments, Sidekiq's answer to growth):
 * `VerkModule.forRoot({ name: 'eu', redis, queues })` may be imported several times with
 * different names, each its own engine, connections, workers and health. The unnamed
 * instance keeps the class tokens (VerkEngine, VerkService, VerkHealthIndicator) exactly
 * as before; a named one registers the same classes under string tokens of its name.
 */

/**
 * Builds an instance's engine from its options, as the unnamed module does: the job log
 * levels and middleware classes are the Nest layer's; the rest is the engine's.
 */
export function createEngine(options: VerkModuleOptions | undefined, instance?: string): VerkEngine {
  const { startJobLogLevel, doneJobLogLevel, failJobLogLevel, middleware, clientMiddleware, name: _name, ...engineOptions } = options ?? {};
  checkMiddlewareClasses(middleware, 'middleware', 'perform');
  checkMiddlewareClasses(clientMiddleware, 'clientMiddleware', 'enqueue');
  const logger = new Logger(instance === undefined ? 'Verk' : `Verk:${instance}`);
  const jobLogger = new JobLogger(logger, { startJobLogLevel, doneJobLogLevel, failJobLogLevel });
  const hooks = { logger, className: workerName, instance };
  // broker: { rabbitmq } -> a RabbitMQ node in VerkEngine's place; its Redis-only parts refuse (redis-only.ts).
  const engine = engineOptions.broker ? asVerkEngine(new VerkRabbitEngine(engineOptions, hooks)) : new VerkEngine(engineOptions, hooks);
  engine.events.subscribe(jobLogger.handle);
  return engine;
}

/** The providers of a named instance, around the provider of its options. */
function instanceProviders(name: string, options: Provider[]): Provider[] {
  const engine = getVerkEngineToken(name);
  return [
    ...options,
    {
      provide: engine,
      inject: [optionsToken(name)],
      useFactory: (resolved: VerkModuleOptions) => {
        if (resolved?.name !== undefined && resolved.name !== name) {
          throw new VerkConfigError(`VerkModule instance "${name}" was given options naming another instance ("${String(resolved.name)}")`, { field: 'name' });
        }
        if (typeof resolved?.metrics === 'object' && resolved.metrics.endpoint !== undefined) {
          throw new VerkConfigError(`VerkModule instance "${name}": metrics.endpoint is served by the unnamed instance only; expose this instance's registry from your own controller`, { field: 'metrics.endpoint' });
        }
        return createEngine(resolved, name);
      },
    },
    { provide: getVerkServiceToken(name), inject: [engine], useFactory: (verk: VerkEngine) => new VerkService(verk) },
    { provide: getVerkHealthToken(name), inject: [engine], useFactory: (verk: VerkEngine) => new VerkHealthIndicator(verk) },
    {
      provide: `VerkExplorer:${name}`,
      inject: [DiscoveryService, MetadataScanner, engine, ModuleRef, optionsToken(name)],
      useFactory: (discovery: DiscoveryService, scanner: MetadataScanner, verk: VerkEngine, moduleRef: ModuleRef, resolved: VerkModuleOptions) =>
        new VerkExplorer(discovery, scanner, verk, moduleRef, resolved, name),
    },
  ];
}

/** A module class of its own per instance, so Nest never takes two instances for one module. */
function instanceModuleClass(name: string): DynamicModule['module'] {
  const holder = { [`VerkModule_${name}`]: class {} };
  return holder[`VerkModule_${name}`];
}

function namedModule(name: string, optionProviders: Provider[], imports: DynamicModule['imports'], isGlobal: boolean | undefined): DynamicModule {
  return {
    module: instanceModuleClass(name),
    global: isGlobal !== false,
    imports: [DiscoveryModule, ...(imports ?? [])],
    providers: instanceProviders(name, optionProviders),
    exports: [getVerkServiceToken(name), getVerkHealthToken(name), getVerkEngineToken(name)],
  };
}

/** `VerkModule.forRoot({ name, ... })`. */
export function namedForRoot(options: VerkModuleOptions & { isGlobal?: boolean }): DynamicModule {
  const name = checkInstanceName(options.name);
  const { isGlobal, ...rest } = options;
  return namedModule(name, [{ provide: optionsToken(name), useValue: rest }], [], isGlobal);
}

/** `VerkModule.forRootAsync({ name, useFactory | useClass | useExisting, ... })`. */
export function namedForRootAsync(options: VerkModuleAsyncOptions): DynamicModule {
  const name = checkInstanceName(options.name);
  const token = optionsToken(name);
  const create = (factory: VerkOptionsFactory) => factory.createVerkOptions();
  let providers: Provider[];
  if (options.useFactory) providers = [{ provide: token, useFactory: options.useFactory, inject: options.inject ?? [] }];
  else if (options.useClass) providers = [{ provide: options.useClass, useClass: options.useClass }, { provide: token, useFactory: create, inject: [options.useClass] }];
  else if (options.useExisting) providers = [{ provide: token, useFactory: create, inject: [options.useExisting] }];
  else throw new VerkConfigError('VerkModule.forRootAsync needs exactly one of useFactory, useClass or useExisting');
  return namedModule(name, providers, options.imports, options.isGlobal);
}
