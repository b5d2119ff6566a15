export { VerkDashboardModule } from './dashboard.module';
export type { VerkDashboardAsyncOptions } from './dashboard-module-definition';
export type { DashboardAction, VerkDashboardOptions } from './dashboard-options';
