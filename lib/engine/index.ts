/**
 * `nestjs-verk/engine`: the job system without Nest. A VerkEngine is one node (queue
 * managers, scheduler, heartbeat, recovery) with its enqueue client and admin API; the
 * Nest module is a thin shell around it. test/project/api-surface.test.ts holds the list of names.
 */
export { VerkEngine, type VerkEngineHooks, type VerkHealthFacts } from './verk-engine';
export type { WorkerHandler } from './core/worker-registry';
export { VerkRabbitEngine } from './rabbitmq/rabbit-engine';
export type { RabbitCounters } from './rabbitmq/counters';
export type { ClientMiddleware, ServerMiddleware } from './core/middleware';
export * from './public-api';
