import { VerkConfigError, VerkValidationError } from '../engine/errors';
import { RECURRING_OPTION_FIELDS, type RecurringOptions } from '../engine/recurring/recurring-definition';
import type { VerkWorkerHost } from './verk.explorer';
import type { WorkerOptions } from './decorators';

/**
 * Declares the recurring schedule of a `@Worker({ cron | every, ... })` with the engine,
 * under the worker's job class name; the engine writes it when the node starts. Bad
 * options stop the application at boot with the worker's class and the field.
 */
export function declareWorkerSchedule(engine: Pick<VerkWorkerHost, 'recurring'>, name: string, target: Function, options: WorkerOptions): void {
  const schedule: Record<string, unknown> = {};
  for (const field of RECURRING_OPTION_FIELDS) {
    const value = (options as Record<string, unknown>)[field];
    if (field !== 'class' && value !== undefined) schedule[field] = value;
  }
  if (Object.keys(schedule).length === 0) return;
  try {
    engine.recurring.declare(name, { ...schedule, class: name } as unknown as RecurringOptions);
  } catch (error) {
    if (error instanceof VerkValidationError) throw new VerkConfigError(`@Worker() of ${target.name}: ${error.message}`, { field: error.field, cause: error });
    throw error;
  }
}
