import { ConfigurableModuleBuilder } from '@nestjs/common';
import { VERK_MODULE_OPTIONS } from './constants';
import type { VerkModuleOptions } from './verk-module-options';

/** Options of the module itself (not of the engine): `isGlobal` (default true). */
export interface VerkModuleExtras {
  /**
   * Registers the module globally, so VerkService can be injected in every module without
   * importing VerkModule there. Default true. @Worker providers are found in every module
   * either way (discovery does not depend on it).
   */
  isGlobal?: boolean;
}

/**
 * Nest's ConfigurableModuleBuilder writes `forRoot`/`forRootAsync` (useFactory, useClass,
 * useExisting, imports, inject) and their types; VerkModule extends the class it builds.
 * A class given to `useClass`/`useExisting` implements `createVerkOptions()`.
 */
export const {
  ConfigurableModuleClass: ConfigurableVerkModule,
  OPTIONS_TYPE: VERK_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: VERK_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<VerkModuleOptions>({ optionsInjectionToken: VERK_MODULE_OPTIONS, moduleName: 'Verk' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createVerkOptions')
  .setExtras<VerkModuleExtras>({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal !== false }))
  .build();
