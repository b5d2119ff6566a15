import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { VerkDashboardOptions } from './dashboard-options';

/** Injection token of the dashboard's options. */
export const VERK_DASHBOARD_OPTIONS = Symbol('VERK_DASHBOARD_OPTIONS');

/**
 * `forRoot` / `forRootAsync` (useFactory, useClass, useExisting, imports, inject), written
 * by Nest's ConfigurableModuleBuilder as for VerkModule. A class given to useClass or
 * useExisting implements `createVerkDashboardOptions()`.
 */
export const {
  ConfigurableModuleClass: ConfigurableDashboardModule,
  OPTIONS_TYPE: DASHBOARD_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: DASHBOARD_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<VerkDashboardOptions>({ optionsInjectionToken: VERK_DASHBOARD_OPTIONS, moduleName: 'VerkDashboard' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createVerkDashboardOptions')
  .build();

/** The async options (`VerkDashboardModule.forRootAsync`). */
export type VerkDashboardAsyncOptions = typeof DASHBOARD_ASYNC_OPTIONS_TYPE;
