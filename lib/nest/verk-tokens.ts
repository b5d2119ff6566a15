import { Inject } from '@nestjs/common';
import { VerkConfigError } from '../engine/errors';
import { VerkEngine } from '../engine/verk-engine';
import { VerkHealthIndicator } from './verk.health';
import { VerkService } from './verk.service';

/*
 * Injection tokens of the named instances (verk-instances.ts): the unnamed instance keeps
 * the class tokens (VerkEngine, VerkService, VerkHealthIndicator); a named one registers
 * the same classes under string tokens carrying its name.
 */

/** Letters, digits, `_` and `-`: a name that reads well in tokens, logs and metrics. */
const INSTANCE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Refuses a name that is not a short identifier (VerkConfigError naming `name`). */
export function checkInstanceName(name: unknown): string {
  if (typeof name !== 'string' || !INSTANCE_NAME.test(name)) {
    throw new VerkConfigError(`Invalid Verk option "name": an instance name is 1 to 64 letters, digits, _ or -, got ${JSON.stringify(name)}`, { field: 'name' });
  }
  return name;
}

/** The injection token of a named instance's VerkService (the class itself for the unnamed one). */
export function getVerkServiceToken(name?: string): string | typeof VerkService {
  return name === undefined ? VerkService : `VerkService:${checkInstanceName(name)}`;
}

/** The injection token of a named instance's VerkHealthIndicator (the class itself for the unnamed one). */
export function getVerkHealthToken(name?: string): string | typeof VerkHealthIndicator {
  return name === undefined ? VerkHealthIndicator : `VerkHealthIndicator:${checkInstanceName(name)}`;
}

/** The injection token of a named instance's engine (the class itself for the unnamed one). */
export function getVerkEngineToken(name?: string): string | typeof VerkEngine {
  return name === undefined ? VerkEngine : `VerkEngine:${checkInstanceName(name)}`;
}

/** The injection token of a named instance's resolved options. */
export function optionsToken(name: string): string {
  return `VerkModuleOptions:${name}`;
}

/**
 * Injects the VerkService of the instance `name` (`VerkModule.forRoot({ name })`); without a
 * name, the unnamed default instance's (the same as injecting VerkService by its class).
 */
export function InjectVerk(name?: string): ParameterDecorator & PropertyDecorator {
  return Inject(getVerkServiceToken(name));
}

/** Injects the VerkHealthIndicator of the instance `name` (the unnamed one's without a name). */
export function InjectVerkHealth(name?: string): ParameterDecorator & PropertyDecorator {
  return Inject(getVerkHealthToken(name));
}

