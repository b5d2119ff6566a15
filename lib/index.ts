/**
 * nestjs-verk: what a Nest application needs. The engine for use without Nest is the
 * subpath `nestjs-verk/engine`; everything else is internal. test/project/api-surface.test.ts
 * holds the list of names, so widening it is a deliberate act.
 */
export { VerkModule } from './nest/verk.module';
export { VerkService } from './nest/verk.service';
export { VerkTesting, type DrainOptions, type DrainResult, type TestingSetEntry } from './nest/testing/verk-testing';
export type { TestingJobRun } from './nest/testing/fake-verk';
export type { VerkTestingBuilder, VerkTestingOptions } from './nest/testing/verk-testing-options';
export { VerkMetricsController } from './nest/verk-metrics.controller';
export { VerkHealthIndicator, type VerkHealthCheckOptions, type VerkHealthDetails, type VerkHealthIndicatorResult } from './nest/verk.health';
export { Worker, Perform, OnVerkEvent, type WorkerOptions } from './nest/decorators';
export { InjectVerk, InjectVerkHealth, getVerkHealthToken, getVerkServiceToken } from './nest/verk-tokens';
export type { VerkClientMiddleware, VerkMiddleware } from './nest/middleware';
export type { JobLogLevel, JobLogLevels } from './nest/job-logger';
export type { VerkModuleOptions, VerkModuleAsyncOptions, VerkOptionsFactory } from './nest/verk-module-options';
export type { VerkModuleExtras } from './nest/verk-module-definition';
export { VerkDashboardModule, type VerkDashboardAsyncOptions, type DashboardAction, type VerkDashboardOptions } from './dashboard';
export * from './engine/public-api';
