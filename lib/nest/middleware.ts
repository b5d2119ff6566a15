import type { Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InvalidClassScopeException } from '@nestjs/core/errors/exceptions/invalid-class-scope.exception';
import { UnknownElementException } from '@nestjs/core/errors/exceptions/unknown-element.exception';
import type { Module } from '@nestjs/core/injector/module';
import { VerkConfigError } from '../engine/errors';
import type { JobPayload } from '../engine/core/job';
import type { ClientMiddleware, JobContext, ServerMiddleware } from '../engine/core/middleware';

/**
 * Server middleware: an injectable class whose `perform` wraps every run of a job.
 * Code before `await next()` runs before the worker, code after it afterwards (in reverse
 * order of the chain). Throwing fails the job; returning without calling `next()` skips
 * the worker and counts the job as done.
 */
export interface VerkMiddleware {
  perform(job: JobContext, next: () => Promise<void>): Promise<void>;
}

/**
 * Client middleware: an injectable class whose `enqueue` wraps every job written by
 * enqueue, enqueueMany and schedule, before it reaches Redis. It may change the payload,
 * or throw (or return without calling `next()`) to refuse it: then nothing is written.
 */
export interface VerkClientMiddleware {
  enqueue(job: JobPayload, next: () => Promise<void>): Promise<void>;
}

type Kind = 'perform' | 'enqueue';

function describe(value: unknown): string {
  if (typeof value === 'function') return value.name ? `class ${value.name}` : 'an anonymous function';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object (pass the class, not an instance)' : `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * Checks a list of middleware classes given in the module options or in @Worker() (then
 * `worker` is the worker class's name); the error names the field (`middleware[1]`) and
 * what was there.
 */
export function checkMiddlewareClasses(value: unknown, field: string, method: Kind, worker?: string): void {
  if (value === undefined) return;
  const shape = method === 'perform' ? 'perform(job, next)' : 'enqueue(job, next)';
  const invalid = (at: string, got: unknown): never => {
    const what = at === field ? `an array of classes with a ${shape} method` : `a class with a ${shape} method`;
    throw new VerkConfigError(worker ? `Invalid @Worker() option of ${worker}: "${at}" must be ${what}, got ${describe(got)}` : `Invalid Verk option "${at}": must be ${what}, got ${describe(got)}`, { field: at });
  };
  if (!Array.isArray(value)) invalid(field, value);
  (value as unknown[]).forEach((item, index) => {
    const prototype = typeof item === 'function' ? (item.prototype as Record<string, unknown> | undefined) : undefined;
    if (typeof prototype?.[method] !== 'function') invalid(`${field}[${index}]`, item);
  });
}

/**
 * Turns middleware classes into engine middleware. A class registered as a provider in
 * any module is that provider (`moduleRef.get(cls, { strict: false })`), a singleton with
 * its module's DI and lifecycle hooks. Otherwise it is created with `moduleRef.create(cls)`
 * in the given module's scope (the worker's module for @Worker middleware, VerkModule's for
 * global ones), once per scope. A class that neither resolves nor can be created stops the
 * boot with an error naming it.
 */
export async function resolveMiddleware(moduleRef: ModuleRef, classes: readonly Type<VerkMiddleware>[], method: 'perform', where: string): Promise<ServerMiddleware[]>;
export async function resolveMiddleware(moduleRef: ModuleRef, classes: readonly Type<VerkClientMiddleware>[], method: 'enqueue', where: string): Promise<ClientMiddleware[]>;
export async function resolveMiddleware(moduleRef: ModuleRef, classes: readonly Type<object>[], method: Kind, where: string): Promise<((job: never, next: () => Promise<void>) => Promise<void>)[]> {
  const resolved: ((job: never, next: () => Promise<void>) => Promise<void>)[] = [];
  for (const cls of classes) {
    const instance = (await instanceOf(moduleRef, cls, where)) as Record<Kind, (job: never, next: () => Promise<void>) => Promise<void>>;
    const middleware = (job: never, next: () => Promise<void>): Promise<void> => instance[method](job, next);
    // Errors about the chain (next() twice, a client middleware that did not call it) name it.
    Object.defineProperty(middleware, 'name', { value: cls.name });
    resolved.push(middleware);
  }
  return resolved;
}

/** Middleware created (not providers), per module scope: a class listed twice is one instance. */
const created = new WeakMap<ModuleRef, Map<Function, Promise<unknown>>>();

async function instanceOf<M>(moduleRef: ModuleRef, cls: Type<M>, where: string): Promise<M> {
  let found: M | undefined;
  try {
    found = moduleRef.get(cls, { strict: false });
  } catch (error) {
    // Not registered anywhere (UnknownElementException): create it below. Registered but
    // request-scoped or transient: a job has no request, and a middleware is shared.
    if (error instanceof InvalidClassScopeException) {
      throw new VerkConfigError(`Verk middleware ${cls.name} (${where}) must be a singleton provider (it is request-scoped or transient; a job has no request)`);
    }
    if (!(error instanceof UnknownElementException)) throw error;
  }
  if (found !== undefined && found !== null) return found;
  let scope = created.get(moduleRef);
  if (!scope) created.set(moduleRef, (scope = new Map()));
  let instance = scope.get(cls) as Promise<M> | undefined;
  if (!instance) scope.set(cls, (instance = moduleRef.create(cls)));
  try {
    return await instance;
  } catch (error) {
    // Nest's first line says which argument is missing; the rest suggests fixes to VerkModule, which do not apply.
    const reason = (error as Error).message.trim().split('\n')[0];
    throw new VerkConfigError(
      `Verk middleware ${cls.name} (${where}) could not be resolved: it is not a provider of any module, and creating it failed: ${reason} ` +
        `Register ${cls.name} as a provider in the module that provides its dependencies.`,
    );
  }
}

/** The ModuleRef of the module that hosts a provider (for @Worker middleware), if Nest exposes it. */
export function hostModuleRef(host: Module | undefined): ModuleRef | undefined {
  const instance: unknown = host?.getProviderByKey(ModuleRef)?.instance;
  return instance instanceof ModuleRef ? instance : undefined;
}
