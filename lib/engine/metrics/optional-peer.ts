import { VerkConfigError } from '../errors';

/**
 * Loads an optional peer dependency when a feature that needs it is switched on, and only
 * then: with the feature off the module is never required (an application without it
 * runs, and one with it pays nothing). A missing module is a setup error that says what
 * to install.
 */
export function requireOptionalPeer(name: string, feature: string): unknown {
  try {
    // A plain require, on purpose: an import would load the module with this file.
    return require(name) as unknown;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND' && (error as Error).message.includes(`'${name}'`)) {
      throw new VerkConfigError(`Invalid Verk option "${feature}": it needs the package ${name}, which is not installed; run npm install ${name}`, { field: feature, cause: error });
    }
    throw error;
  }
}
