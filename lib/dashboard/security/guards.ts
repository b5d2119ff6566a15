import type { CanActivate, ExecutionContext, Type } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';

/** The execution context a guard sees: an HTTP request with its response, as in a controller. */
class DashboardExecutionContext implements ExecutionContext {
  constructor(
    private readonly args: [unknown, unknown],
    private readonly owner: Type<unknown>,
    private readonly handler: Function,
  ) {}
  getClass<T>(): Type<T> {
    return this.owner as Type<T>;
  }
  getHandler(): Function {
    return this.handler;
  }
  getArgs<T extends unknown[]>(): T {
    return this.args as unknown as T;
  }
  getArgByIndex<T>(index: number): T {
    return this.args[index] as T;
  }
  getType<T extends string>(): T {
    return 'http' as T;
  }
  switchToHttp(): ReturnType<ExecutionContext['switchToHttp']> {
    const [request, response] = this.args;
    return { getRequest: <T>() => request as T, getResponse: <T>() => response as T, getNext: <T>() => undefined as T };
  }
  switchToRpc(): ReturnType<ExecutionContext['switchToRpc']> {
    throw new Error('The dashboard runs over HTTP only');
  }
  switchToWs(): ReturnType<ExecutionContext['switchToWs']> {
    throw new Error('The dashboard runs over HTTP only');
  }
}

/** Guard instances, classes resolved through DI: a provider if one exists, else created with its dependencies injected. */
export async function resolveGuards(moduleRef: ModuleRef, guards: (Type<CanActivate> | CanActivate)[]): Promise<CanActivate[]> {
  return Promise.all(
    guards.map(async (guard) => {
      if (typeof guard !== 'function') return guard;
      try {
        return moduleRef.get(guard, { strict: false });
      } catch {
        return moduleRef.create(guard);
      }
    }),
  );
}

/** Runs every guard in order; false as soon as one denies (an exception it throws propagates). */
export async function runGuards(guards: CanActivate[], request: unknown, response: unknown, owner: Type<unknown>, handler: Function): Promise<boolean> {
  const context = new DashboardExecutionContext([request, response], owner, handler);
  for (const guard of guards) {
    const result = guard.canActivate(context);
    const allowed = isObservable(result) ? await lastValueFrom(result) : await result;
    if (!allowed) return false;
  }
  return true;
}
