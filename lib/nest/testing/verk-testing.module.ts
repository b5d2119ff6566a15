import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { VERK_MODULE_OPTIONS, VERK_WORKER_HOST } from '../constants';
import { VerkExplorer } from '../verk.explorer';
import { VerkHealthIndicator } from '../verk.health';
import type { VerkModuleOptions } from '../verk-module-options';
import { VerkService } from '../verk.service';
import { FakeVerk } from './fake-verk';
import { TestingVerkHealthIndicator } from './testing-health';
import { TestingVerkService } from './testing-verk.service';
import { VerkTesting } from './verk-testing';
import { resolveTestingOptions, VERK_TESTING_OPTIONS, type VerkTestingOptions } from './verk-testing-options';

/**
 * The module VerkModule.forTesting() returns. Its own class, not VerkModule: Nest adds a
 * module class's static @Module providers to every dynamic form of it, and VerkModule's
 * include the engine, which connects to Redis.
 */
@Module({})
export class VerkTestingModule {}

/**
 * VerkService and VerkHealthIndicator (the tokens forRoot provides) backed by memory, the
 * real VerkExplorer (workers, middleware and @OnVerkEvent handlers discovered as in
 * forRoot), and VerkTesting. No Redis connection is ever opened.
 */
export function verkTestingModule(input: VerkTestingOptions = {}): DynamicModule {
  const options = resolveTestingOptions(input);
  const explorerOptions: VerkModuleOptions = { middleware: options.middleware, clientMiddleware: options.clientMiddleware };
  return {
    module: VerkTestingModule,
    global: options.isGlobal,
    imports: [DiscoveryModule],
    providers: [
      { provide: VERK_TESTING_OPTIONS, useValue: options },
      { provide: VERK_MODULE_OPTIONS, useValue: explorerOptions },
      FakeVerk,
      { provide: VERK_WORKER_HOST, useExisting: FakeVerk },
      VerkExplorer,
      VerkTesting,
      { provide: VerkService, useClass: TestingVerkService },
      { provide: VerkHealthIndicator, useClass: TestingVerkHealthIndicator },
    ],
    exports: [VerkService, VerkHealthIndicator, VerkTesting],
  };
}
