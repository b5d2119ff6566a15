import type * as Otel from '@opentelemetry/api';
import { VerkConfigError } from '../errors';

/** The `@opentelemetry/api` module (an optional peer dependency). */
export type OtelApi = typeof Otel;

/**
 * Loads `@opentelemetry/api`, only when `tracing` is set: an application without tracing
 * never needs the package installed, and never pays for loading it. A missing package is
 * a setup error that names the option and what to install.
 */
export function loadOpenTelemetry(): OtelApi {
  try {
    return require('@opentelemetry/api') as OtelApi;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' && /@opentelemetry\/api/.test(String((error as Error).message))) {
      throw new VerkConfigError(
        'Invalid Verk option "tracing": it needs the package @opentelemetry/api (npm i @opentelemetry/api), which is not installed; an OpenTelemetry SDK registered by the application exports the spans',
        { field: 'tracing', cause: error },
      );
    }
    throw error;
  }
}
