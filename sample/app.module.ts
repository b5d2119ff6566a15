import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { VerkDashboardModule, VerkModule } from 'nestjs-verk';
import { GreetingService } from './greeting.service';
import { HealthController } from './health.controller';
import { JobsController } from './jobs.controller';
import { WORKERS } from './workers';

/** Injection token of the Redis URL that main.ts found before Nest started. */
export const REDIS_URL = Symbol('REDIS_URL');

/**
 * Holds runtime configuration, as ConfigModule would in a bigger app. VerkModule's factory
 * runs inside VerkModule, so it sees only what it imports: hence a module, not a provider.
 */
@Module({})
class SampleConfigModule {
  static register(redisUrl: string): DynamicModule {
    return { module: SampleConfigModule, providers: [{ provide: REDIS_URL, useValue: redisUrl }], exports: [REDIS_URL] };
  }
}

@Module({})
export class AppModule {
  static register(redisUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // forRootAsync: the options are built while the application starts, from injected
        // configuration, instead of being fixed when this file is loaded.
        VerkModule.forRootAsync({
          imports: [SampleConfigModule.register(redisUrl)],
          inject: [REDIS_URL],
          useFactory: (redis: string) => ({
            redis,
            queues: { default: 10, priority: 5 },
            // Run and wait times per queue and day, drawn by the dashboard's Metrics page (opt-in).
            histograms: true,
            // Must be unique per running process and stable across restarts: a restarted
            // node puts back the jobs it held when it stopped. Run a second copy with
            // VERK_NODE_ID=sample-2.
            nodeId: process.env.VERK_NODE_ID || 'sample-1',
            // Scheduled jobs and retries are picked up within a second (default 5 s).
            pollInterval: 1000,
          }),
        }),
        // The dashboard at http://127.0.0.1:3000/verk. The sample listens on loopback only and
        // has no login; in a real app add `guards` (see docs/dashboard.md) or `readOnly: true`.
        VerkDashboardModule.forRoot({ path: '/verk' }),
        // GET /health (HealthController); VerkHealthIndicator comes from VerkModule.
        TerminusModule,
      ],
      controllers: [JobsController, HealthController],
      providers: [GreetingService, ...WORKERS],
    };
  }
}
