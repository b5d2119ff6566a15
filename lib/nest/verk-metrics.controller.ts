import { Controller, Get, StreamableFile, type Type } from '@nestjs/common';
import { VerkConfigError, VerkStateError } from '../engine/errors';
import { VerkEngine } from '../engine/verk-engine';

/**
 * Serves this node's metrics registry (Prometheus text, the registry's Content-Type) for
 * an application that has no `/metrics` endpoint of its own. Registered by VerkModule
 * only when `metrics: { endpoint }` is set, at that path (see metricsControllerAt).
 * StreamableFile sets the Content-Type on Express and Fastify alike.
 */
@Controller()
export class VerkMetricsController {
  constructor(private readonly engine: VerkEngine) {}

  @Get()
  async metrics(): Promise<StreamableFile> {
    const registry = this.engine.metricsRegistry;
    if (!registry) throw new VerkStateError('Verk metrics are off on this node (option metrics)');
    return new StreamableFile(Buffer.from(await registry.metrics()), { type: registry.contentType });
  }
}

/** VerkMetricsController at `path`: a subclass per module, so the path is not written on the shared class. */
export function metricsControllerAt(path: string): Type<VerkMetricsController> {
  class EndpointController extends VerkMetricsController {}
  Object.defineProperty(EndpointController, 'name', { value: 'VerkMetricsController' });
  Controller(path)(EndpointController);
  return EndpointController;
}

/** Provided by `VerkModule.forRoot` when it registered the controller: the path it serves. */
export const VERK_METRICS_ENDPOINT = Symbol('VERK_METRICS_ENDPOINT');

/**
 * The endpoint a module's options ask for must be the one forRoot registered: with
 * forRootAsync the options come from a factory that runs after the module's controllers
 * were declared, so no route could be added.
 */
export function checkMetricsEndpoint(metrics: unknown, registered: string | undefined): void {
  const endpoint = typeof metrics === 'object' && metrics !== null ? (metrics as { endpoint?: unknown }).endpoint : undefined;
  if (endpoint === undefined || endpoint === registered) return;
  throw new VerkConfigError(
    `Invalid Verk option "metrics.endpoint": the endpoint is added by VerkModule.forRoot only (with forRootAsync the controllers are declared before the options exist); use forRoot, or serve engine.metricsRegistry from a controller of your own`,
    { field: 'metrics.endpoint' },
  );
}
