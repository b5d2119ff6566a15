import { VerkValidationError } from '../errors';

/**
 * Checks that a value survives JSON.stringify -> JSON.parse unchanged, so a worker gets
 * exactly the arguments it was given. JSON.stringify itself would silently drop
 * `undefined` and functions, turn NaN into null and Dates into strings, and throw on
 * BigInt and cycles with a message that does not say where; this says where.
 */
export function assertJsonValue(value: unknown, path: string, seen: Set<object> = new Set()): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new VerkValidationError(path, `${value} is not representable in JSON`);
      return;
    case 'undefined':
      throw new VerkValidationError(path, 'undefined is not JSON-serializable (use null)');
    case 'bigint':
      throw new VerkValidationError(path, 'BigInt is not JSON-serializable (pass it as a string)');
    case 'function':
      throw new VerkValidationError(path, 'a function is not JSON-serializable');
    case 'symbol':
      throw new VerkValidationError(path, 'a symbol is not JSON-serializable');
  }
  if (value === null) return;
  const object = value as object;
  if (seen.has(object)) throw new VerkValidationError(path, 'circular reference is not JSON-serializable');
  if (Array.isArray(object)) {
    seen.add(object);
    object.forEach((item, index) => assertJsonValue(item, `${path}[${index}]`, seen));
    seen.delete(object);
    return;
  }
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const kind = object.constructor?.name ?? 'object';
    const hint = object instanceof Date ? ' (pass date.toISOString() or date.getTime())' : ' (pass a plain object)';
    throw new VerkValidationError(path, `${kind} is not a plain JSON value${hint}`);
  }
  seen.add(object);
  for (const [key, item] of Object.entries(object)) assertJsonValue(item, `${path}.${key}`, seen);
  seen.delete(object);
}
