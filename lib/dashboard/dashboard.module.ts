import { type DynamicModule, Inject, Injectable, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { VerkConfigError } from '../engine/errors';
import type { VerkEngine } from '../engine/verk-engine';
import { getVerkEngineToken } from '../nest/verk-tokens';
import { rabbitEngineOf, redisOnlyError } from '../engine/rabbitmq/redis-only';
import { ConfigurableDashboardModule, VERK_DASHBOARD_OPTIONS, type VerkDashboardAsyncOptions } from './dashboard-module-definition';
import { resolveDashboardOptions, type VerkDashboardOptions } from './dashboard-options';
import { EngineDataSource } from './data/engine-data-source';
import { resolveGuards } from './security/guards';
import { registerDashboardRoutes } from './server/router';

/** Joins the app's global prefix and the dashboard's path: ('api', '/verk') -> '/api/verk'; ('', '/') -> ''. */
export function mountPoint(globalPrefix: string, path: string): string {
  const prefix = globalPrefix.replace(/^\/+|\/+$/g, '');
  const own = path.replace(/^\/+|\/+$/g, '');
  return [prefix, own].filter(Boolean).map((part) => `/${part}`).join('');
}

/** Registers the dashboard's routes in the application's HTTP server when the module initialises. */
@Injectable()
export class VerkDashboardServer implements OnModuleInit {
  private readonly logger = new Logger('VerkDashboard');

  constructor(
    @Inject(VERK_DASHBOARD_OPTIONS) private readonly rawOptions: VerkDashboardOptions,
    private readonly adapterHost: HttpAdapterHost,
    private readonly config: ApplicationConfig,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onModuleInit(): Promise<void> {
    const options = resolveDashboardOptions(this.rawOptions);
    const adapter = this.adapterHost.httpAdapter;
    if (!adapter) {
      this.logger.warn('No HTTP server (an application context without HTTP): the dashboard is not mounted');
      return;
    }
    let engine: VerkEngine;
    try {
      engine = this.moduleRef.get<VerkEngine>(getVerkEngineToken(options.instance), { strict: false });
    } catch {
      throw new VerkConfigError(
        options.instance === undefined
          ? 'VerkDashboardModule needs VerkModule: import VerkModule.forRoot(...) in the same application'
          : `VerkDashboardModule instance "${options.instance}": import VerkModule.forRoot({ name: '${options.instance}', ... }) in the same application`,
      );
    }
    if (rabbitEngineOf(engine)) throw redisOnlyError('VerkDashboardModule', 'its pages list, search and change jobs kept in Redis');
    const base = mountPoint(this.config.getGlobalPrefix(), options.path);
    registerDashboardRoutes({
      adapter,
      base,
      options,
      data: new EngineDataSource(engine),
      guards: await resolveGuards(this.moduleRef, options.guards),
      owner: VerkDashboardModule,
      logger: this.logger,
    });
    this.logger.log(`Dashboard at ${base || '/'}${options.readOnly ? ' (read-only)' : ''}`);
  }
}

/**
 * The dashboard, mounted in the application's own HTTP server (Express or Fastify):
 * `VerkDashboardModule.forRoot({ path: '/verk', readOnly, guards, authorize, pollInterval })`
 * or `forRootAsync({ useFactory, inject, imports })`, next to VerkModule.
 */
@Module({ providers: [VerkDashboardServer] })
export class VerkDashboardModule extends ConfigurableDashboardModule {
  static override forRoot(options: VerkDashboardOptions = {}): DynamicModule {
    // Checked now too, so a typo fails where it is written.
    resolveDashboardOptions(options);
    return super.forRoot(options);
  }

  static override forRootAsync(options: VerkDashboardAsyncOptions): DynamicModule {
    return super.forRootAsync(options);
  }
}
