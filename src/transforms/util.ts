// Helpers shared by the user-facing transforms: scopes around a transform call and the
// conversion of argument leaves.
import { denseParts } from '../core/trace.js';
import { ArgumentError, DTypeError } from '../errors.js';
import { closeScope, openScope, type Scope } from '../tensor/scope.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { asyncMessage, flatten, isPlainObject, isThenable } from '../tree.js';

/**
 * Every DenseTensor reachable from a result through the trees transforms accept (arrays and
 * plain objects, null-prototype ones included), tracers included. Iterative, so a deep
 * result cannot overflow the stack.
 */
export function denseInResult(x: unknown, out: DenseTensor[] = []): DenseTensor[] {
  const stack: unknown[] = [x];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node instanceof Tensor) denseParts(node, out);
    else if (Array.isArray(node)) for (let i = node.length - 1; i >= 0; i--) stack.push(node[i]);
    else if (isPlainObject(node)) stack.push(...Object.values(node).reverse());
  }
  return out;
}

/**
 * A new Tensor object sharing `t`'s (reference-counted, immutable) data, for a transform's
 * output that is not the transform's own: an input, a closed-over tensor, a cached constant
 * or a value a pullback still reads. Disposing the returned one then leaves those intact.
 */
export function unaliased<T>(t: T, own: (d: DenseTensor) => boolean = () => false): T {
  if (!(t instanceof DenseTensor) || own(t)) return t;
  return t.share(t.shape, 'output') as T;
}

/**
 * Runs `fn` in a fresh scope: what it allocates and does not return is freed when it ends
 * (or when it throws).
 */
export function scoped<T>(fn: (scope: Scope) => T, kept: (result: T) => DenseTensor[] = denseInResult): T {
  const scope = openScope();
  let result: T;
  let keep: DenseTensor[];
  try {
    result = fn(scope);
    keep = kept(result);
  } catch (e) {
    closeScope(scope, []);
    throw e;
  }
  closeScope(scope, keep);
  return result;
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
    checkNotInteger(op, `argument ${i}`, args[i]);
  }
}

/** int32 values (indices, labels) are never differentiated: a DTypeError names the argument. */
export function checkNotInteger(op: string, what: string, tree: unknown): void {
  let leaves: unknown[];
  try {
    leaves = flatten(tree).leaves;
  } catch {
    return; // not a tree of tensors: the transform's own flatten names what is wrong
  }
  for (let j = 0; j < leaves.length; j++) {
    const l = leaves[j];
    if (l instanceof Tensor && l.dtype === 'int32') {
      const where = leaves.length === 1 ? what : `${what} (leaf ${j})`;
      throw new DTypeError(`${op}: ${where} is an int32 tensor of shape [${l.shape.join(', ')}]; int32 values (indices, labels) are never differentiated. Leave it out of argnums (or close over it), or convert it with astype(x, 'float64') to differentiate.`);
    }
  }
}

export function checkFunction(op: string, f: unknown): void {
  if (typeof f !== 'function') throw new ArgumentError(`${op}: expected a function as the first argument, got ${f === null ? 'null' : typeof f}.`);
  if (isAsyncFunction(f)) throw new ArgumentError(asyncMessage(op, true));
}

/** An `async` function or async generator, known before calling it. */
export function isAsyncFunction(f: Function): boolean {
  const tag = Object.prototype.toString.call(f);
  return tag === '[object AsyncFunction]' || tag === '[object AsyncGeneratorFunction]';
}

/** Throws (after handling its rejection) if `result` is a Promise. */
export function refuseThenable(op: string, result: unknown): void {
  if (isThenable(result)) throw new ArgumentError(asyncMessage(op));
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
