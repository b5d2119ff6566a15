import { VerkValidationError } from '../engine/errors';
import type { WorkerClassRef } from '../engine/client/client';
import { VERK_WORKER_METADATA } from './constants';
import type { WorkerOptions } from './decorators';

/** The @Worker options of a class, or undefined when it is not a worker. */
export function workerOptionsOf(target: Function): WorkerOptions | undefined {
  return Reflect.getMetadata(VERK_WORKER_METADATA, target) as WorkerOptions | undefined;
}

/** The job class name of a @Worker class: its explicit name, or the class's own name. */
export function workerName(target: WorkerClassRef): string {
  const options = workerOptionsOf(target);
  if (!options) throw new VerkValidationError('class', `${target.name || 'the given class'} is not decorated with @Worker(); pass a worker class or a class name string`);
  return options.name ?? target.name;
}
