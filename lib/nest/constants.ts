/** Injection token of the resolved module options (`VerkModuleOptions`). */
export const VERK_MODULE_OPTIONS = Symbol('VERK_MODULE_OPTIONS');
/** Metadata key set by @Worker() on a class. */
export const VERK_WORKER_METADATA = 'verk:worker';
/** Metadata key set by @Perform() on a method. */
export const VERK_PERFORM_METADATA = 'verk:perform';
/** Metadata key set by @OnVerkEvent() on a method: the event classes it wants. */
export const VERK_ON_EVENT_METADATA = 'verk:on-event';
/**
 * Injection token of what VerkExplorer registers workers, middleware and event handlers
 * with (VerkWorkerHost): the engine under forRoot, the in-memory runner under forTesting.
 */
export const VERK_WORKER_HOST = Symbol('VERK_WORKER_HOST');
/** Token of a named instance's name, given to its VerkExplorer; never provided for the unnamed instance. */
export const VERK_INSTANCE_NAME = Symbol('VERK_INSTANCE_NAME');
