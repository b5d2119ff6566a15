/** Injection token of the resolved module options (`VerkModuleOptions`). */
export const VERK_MODULE_OPTIONS = Symbol('VERK_MODULE_OPTIONS');
/** Metadata key set by @Worker() on a class. */
export const VERK_WORKER_METADATA = 'verk:worker';
/** Metadata key set by @Perform() on a method. */
export const VERK_PERFORM_METADATA = 'verk:perform';
