import type { FactoryProvider, ModuleMetadata } from '@nestjs/common';
import type { VerkOptions } from '../engine/options';

/** Options of `VerkModule.forRoot`: see the README's configuration table. */
export type VerkModuleOptions = VerkOptions;

/** `VerkModule.forRootAsync({ imports, inject, useFactory })`. */
export interface VerkModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Providers handed to useFactory, in order. */
  inject?: FactoryProvider['inject'];
  useFactory: (...args: never[]) => VerkModuleOptions | Promise<VerkModuleOptions>;
}
