import type { FactoryProvider, ModuleMetadata } from '@nestjs/common';
import type { VerkOptions } from '../engine/options';
import type { JobLogLevels } from './job-logger';

/** Options of `VerkModule.forRoot`: the engine's, plus Verk's job log levels. See the README's configuration table. */
export interface VerkModuleOptions extends VerkOptions, JobLogLevels {}

/** `VerkModule.forRootAsync({ imports, inject, useFactory })`. */
export interface VerkModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Providers handed to useFactory, in order. */
  inject?: FactoryProvider['inject'];
  useFactory: (...args: never[]) => VerkModuleOptions | Promise<VerkModuleOptions>;
}
