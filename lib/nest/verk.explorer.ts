import { Inject, Injectable, type OnModuleInit, Optional } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { VerkConfigError } from '../engine/errors';
import type { RetryAt } from '../engine/core/failure';
import type { VerkEngine } from '../engine/verk-engine';
import type { VerkEvent, VerkEventClass } from '../engine/events';
import { VERK_INSTANCE_NAME, VERK_MODULE_OPTIONS, VERK_ON_EVENT_METADATA, VERK_PERFORM_METADATA, VERK_WORKER_HOST } from './constants';
import { getVerkEngineToken } from './verk-tokens';
import type { WorkerOptions } from './decorators';
import { checkMiddlewareClasses, hostModuleRef, resolveMiddleware } from './middleware';
import { declareWorkerSchedule } from './recurring';
import type { VerkModuleOptions } from './verk-module-options';
import { workerOptionsOf } from './worker-name';

type Method = (...args: unknown[]) => unknown;

/**
 * What the explorer registers with: the engine's worker registry, middleware, events and
 * recurring declarations. VerkModule.forTesting gives an in-memory one (no Redis).
 */
export type VerkWorkerHost = Pick<VerkEngine, 'workers' | 'middleware' | 'events'> & { readonly recurring: Pick<VerkEngine['recurring'], 'declare'> };

/**
 * Finds the @Worker providers of the application and registers each with the engine
 * (as @nestjs/bullmq's explorer does for processors), and subscribes @OnVerkEvent
 * methods of providers and controllers to the engine's events. Refuses to boot on two
 * workers for one job class, a worker without exactly one @Perform method, or a
 * request-scoped worker.
 */
@Injectable()
export class VerkExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    @Inject(VERK_WORKER_HOST) private readonly engine: VerkWorkerHost,
    private readonly moduleRef: ModuleRef,
    @Inject(VERK_MODULE_OPTIONS) private readonly options: VerkModuleOptions,
    /** The named instance this explorer fills (verk-instances.ts); undefined: the unnamed one. */
    @Optional() @Inject(VERK_INSTANCE_NAME) private readonly instance?: string,
  ) {}

  private explored?: Promise<void>;

  /**
   * Discovers once: Nest calls this at init, and forTesting's in-memory engine calls it
   * before its first enqueue or run, so a module that was only compile()d (no init(), as
   * many @nestjs/testing suites do) still finds its workers and middleware.
   */
  onModuleInit(): Promise<void> {
    this.explored ??= this.explore();
    return this.explored;
  }

  private async explore(): Promise<void> {
    // Global middleware first: a worker's own run inside them.
    this.engine.middleware.use(...(await resolveMiddleware(this.moduleRef, this.options?.middleware ?? [], 'perform', 'module option "middleware"')));
    this.engine.middleware.useClient(...(await resolveMiddleware(this.moduleRef, this.options?.clientMiddleware ?? [], 'enqueue', 'module option "clientMiddleware"')));
    const seen = new Map<string, string>();
    for (const wrapper of this.discovery.getProviders()) {
      const target = (wrapper.metatype ?? (wrapper.instance as { constructor?: Function } | undefined)?.constructor) as Function | undefined;
      if (typeof target !== 'function') continue;
      const options = workerOptionsOf(target);
      if (!options) continue;
      // Each instance runs the workers bound to it; the unnamed one those bound to none.
      if (options.instance !== this.instance) {
        // Checked by one explorer each way: the unnamed one for bound workers, a named one for unbound workers.
        this.checkInstanceExists(options.instance, target);
        continue;
      }
      const name = options.name ?? target.name;
      const previous = seen.get(name);
      if (previous !== undefined) {
        throw new VerkConfigError(`Two workers handle the job class "${name}": ${previous} and ${target.name}. Give one of them another name with @Worker('...')`);
      }
      seen.set(name, target.name);
      await this.register(name, target, wrapper, options.middleware, options.context === true);
      declareWorkerSchedule(this.engine, name, target, options);
    }
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) this.subscribeHandlers(wrapper);
  }

  /** A worker bound to an instance no module registers (the unnamed one included) would never run: refuse to boot. */
  private checkInstanceExists(instance: string | undefined, target: Function): void {
    try {
      this.moduleRef.get(getVerkEngineToken(instance), { strict: false });
    } catch {
      throw new VerkConfigError(
        instance === undefined
          ? `Worker ${target.name} belongs to the unnamed Verk instance, but only named ones are imported; bind it with @Worker({ instance: '...' })`
          : `Worker ${target.name} is bound to Verk instance "${instance}", but no VerkModule.forRoot({ name: '${instance}' }) is imported`,
      );
    }
  }

  private subscribeHandlers(wrapper: InstanceWrapper): void {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) return;
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown> | null;
    if (!prototype) return;
    for (const method of this.scanner.getAllMethodNames(prototype)) {
      const classes = Reflect.getMetadata(VERK_ON_EVENT_METADATA, prototype[method] as object) as VerkEventClass[] | undefined;
      if (!classes) continue;
      const handler = (instance[method] as (event: VerkEvent) => unknown).bind(instance);
      this.engine.events.subscribe((event) => {
        if (classes.length === 0 || classes.some((eventClass) => event instanceof eventClass)) return handler(event);
        return undefined;
      });
    }
  }

  private async register(name: string, target: Function, wrapper: InstanceWrapper, middlewareClasses: WorkerOptions['middleware'], context: boolean): Promise<void> {
    if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
      throw new VerkConfigError(`Worker ${target.name} must be a singleton provider (it is request-scoped or transient)`);
    }
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    if (!instance) throw new VerkConfigError(`Worker ${target.name} has no instance; is it registered as a provider?`);
    const prototype = Object.getPrototypeOf(instance) as object;
    const methods = this.scanner.getAllMethodNames(prototype).filter((method) => Reflect.getMetadata(VERK_PERFORM_METADATA, (prototype as Record<string, unknown>)[method] as object) === true);
    if (methods.length !== 1) {
      throw new VerkConfigError(
        methods.length === 0
          ? `Worker ${target.name} has no @Perform() method; mark the method that runs a job with @Perform()`
          : `Worker ${target.name} has ${methods.length} @Perform() methods (${methods.join(', ')}); a worker has exactly one`,
      );
    }
    const perform = (instance[methods[0]] as Method).bind(instance);
    const retryAt = typeof instance.retryAt === 'function' ? ((instance.retryAt as RetryAt).bind(instance) as RetryAt) : undefined;
    checkMiddlewareClasses(middlewareClasses, 'middleware', 'perform', target.name);
    // Created, when not a provider, in the worker's own module, so it can inject what the worker can.
    const middleware = await resolveMiddleware(hostModuleRef(wrapper.host) ?? this.moduleRef, middlewareClasses ?? [], 'perform', `@Worker() of ${target.name}`);
    this.engine.workers.register(name, { perform: (args) => perform(...args), retryAt, middleware, context });
  }
}
