// Helpers shared by the user-facing transforms: scopes around a transform call and the
// conversion of argument leaves.
import { denseParts } from '../core/trace.js';
import { ArgumentError } from '../errors.js';
import { closeScope, openScope, type Scope } from '../tensor/scope.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { toTensor } from '../ops/convert.js';
import type { Leaf } from '../tree.js';

/** Every DenseTensor reachable from a result (trees, tuples, tracers). */
export function denseInResult(x: unknown, out: DenseTensor[] = []): DenseTensor[] {
  if (x instanceof Tensor) denseParts(x, out);
  else if (Array.isArray(x)) for (const v of x) denseInResult(v, out);
  else if (x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
    for (const v of Object.values(x)) denseInResult(v, out);
  }
  return out;
}

/**
 * Runs `fn` in a fresh scope: what it allocates and does not return is freed when it ends
 * (or when it throws).
 */
export function scoped<T>(fn: (scope: Scope) => T): T {
  const scope = openScope();
  let result: T;
  try {
    result = fn(scope);
  } catch (e) {
    closeScope(scope, []);
    throw e;
  }
  closeScope(scope, denseInResult(result));
  return result;
}

export function leafTensor(op: string, leaf: Leaf): Tensor {
  return toTensor(op, leaf);
}

/** Refuses options that are not an object (null, a number...) with an ArgumentError naming `op`. */
export function checkOptions(op: string, options: unknown): void {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw new ArgumentError(`${op}: options must be an object such as {argnums: 0}, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}.`);
  }
}

/** Refuses a differentiated argument that is null or undefined: it has nothing to differentiate. */
export function checkDifferentiated(op: string, args: readonly unknown[], list: readonly number[]): void {
  for (const i of list) {
    if (args[i] === null || args[i] === undefined) {
      throw new ArgumentError(`${op}: argument ${i} is ${args[i]}, so there is nothing to differentiate; pass a tensor, a number or a tree of them, or choose other arguments with argnums.`);
    }
  }
}

export function checkFunction(op: string, f: unknown): void {
  if (typeof f !== 'function') throw new ArgumentError(`${op}: expected a function as the first argument, got ${f === null ? 'null' : typeof f}.`);
}

export function normalizeArgnums(op: string, argnums: number | readonly number[] | undefined, count: number): { list: number[]; single: boolean } {
  const single = argnums === undefined || typeof argnums === 'number';
  const list = argnums === undefined ? [0] : typeof argnums === 'number' ? [argnums] : [...argnums];
  for (const a of list) {
    if (!Number.isInteger(a) || a < 0 || a >= count) {
      throw new ArgumentError(`${op}: argnums ${JSON.stringify(argnums)} refers to argument ${a}, but the function was called with ${count} argument${count === 1 ? '' : 's'}.`);
    }
  }
  if (new Set(list).size !== list.length) throw new ArgumentError(`${op}: argnums ${JSON.stringify(argnums)} repeats an argument.`);
  return { list, single };
}
