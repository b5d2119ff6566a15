export { VerkModule } from './nest/verk.module';
export { VerkService } from './nest/verk.service';
export { VerkHealthIndicator, type VerkHealthCheckOptions, type VerkHealthDetails, type VerkHealthIndicatorResult } from './nest/verk.health';
export { Worker, Perform, OnVerkEvent, type WorkerOptions } from './nest/decorators';
export { VERK_MODULE_OPTIONS } from './nest/constants';
export type { VerkClientMiddleware, VerkMiddleware } from './nest/middleware';
export type { JobLogLevel, JobLogLevels } from './nest/job-logger';
export type { VerkModuleOptions, VerkModuleAsyncOptions } from './nest/verk-module-options';
export * from './engine';
