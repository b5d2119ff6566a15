import { Controller, Get } from '@nestjs/common';
import { HealthCheck, type HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { VerkHealthIndicator } from 'nestjs-verk';

/**
 * GET /health for a load balancer or a Kubernetes probe: 200 while Redis answers PING
 * (within 1 s), this node's heartbeat is fresh and its queues run; 503 naming the
 * problem otherwise, e.g. {"status":"error","error":{"verk":{"status":"down",
 * "message":"Redis did not answer PING within 1000 ms", ...}}}.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly verk: VerkHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.verk.isHealthy('verk')]);
  }
}
