// vmap: maps a function over a batch axis of its arguments and stacks the results.
//
// This first version runs `f` once per example (slicing each mapped argument along its batch
// axis) and stacks the per-example results along the output axes. It is built from
// differentiable ops (slice, reshape, stack), so it composes with grad, jvp, jit, hessian and
// with itself; it is correct but does not vectorize: a BatchTrace with per-primitive batch
// rules (issue #15) is the follow-up that makes it fast.
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { reshape, slice, stack } from '../ops/shape.js';
import { normalizeAxis } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { flatten, isPlainObject, isThenable, unflatten, asyncMessage, type Leaf, type TreeDef } from '../tree.js';
import { scoped } from './util.js';

/** A batch axis for every leaf below: a number (negative counts from the end), null for unmapped, or a tree of them. */
export type AxisSpec = number | null | readonly AxisSpec[] | { readonly [key: string]: AxisSpec };

export interface VmapOptions {
  /**
   * Batch axis of each argument: a number or null for all of them, or an array with one entry
   * per argument, each a number, null or a tree matching (a prefix of) that argument. Default 0.
   */
  inAxes?: AxisSpec;
  /** Where the batch axis goes in each output leaf: a number or a tree matching the result. Default 0. */
  outAxes?: AxisSpec;
}

/**
 * Maps `f` over a batch axis of its arguments: `vmap(f)(xs)` is `f` applied to each
 * `xs[i]`, the results stacked along a new leading axis. Unmapped arguments (inAxes null) and
 * number leaves are passed whole to every call. Composes with grad, jvp, jit and itself.
 *
 * Note: this version runs `f` once per example (correct, not yet vectorized).
 *
 * @example
 * ```ts
 * // per-example gradients of a loss over a batch of inputs xs (shape [batch, n])
 * const perExample = vmap(grad((w: Tensor, x: Tensor) => sum(mul(w, x))), { inAxes: [null, 0] });
 * const g = perExample(w, xs); // shape [batch, n]
 * ```
 */
export function vmap<A extends unknown[], R>(f: (...args: A) => R, options: VmapOptions = {}): (...args: A) => R {
  if (typeof f !== 'function') throw new ArgumentError(`vmap: expected a function, got ${f === null ? 'null' : typeof f}.`);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ArgumentError('vmap: options must be an object such as {inAxes: 0, outAxes: 0}.');
  }
  const inAxes = options.inAxes === undefined ? 0 : options.inAxes;
  const outAxes = options.outAxes === undefined ? 0 : options.outAxes;
  checkSpec('inAxes', inAxes);
  checkSpec('outAxes', outAxes);
  return (...args: A): R => scoped(() => {
    const { leaves, def } = flatten(args, 'vmap argument');
    const argSpec = inAxes;
    if (Array.isArray(argSpec) && argSpec.length !== args.length) {
      throw new ArgumentError(`vmap: inAxes has ${argSpec.length} entries but the function was called with ${args.length} arguments; give one entry per argument (or a single number/null for all).`);
    }
    const axes = leafAxes(argSpec, def, 'inAxes', 'argument');
    const size = batchSize(leaves, axes);
    const results: Leaf[][] = [];
    let outDef: TreeDef | undefined;
    for (let i = 0; i < size; i++) {
      const example = leaves.map((leaf, j) => (axes[j] === null || typeof leaf === 'number' ? leaf : take(leaf, axes[j] as number, i)));
      const out = f(...unflatten<A>(def, example));
      if (isThenable(out)) throw new ArgumentError(asyncMessage('vmap'));
      const flat = flatten(out, 'vmap result');
      outDef ??= flat.def;
      results.push(flat.leaves);
    }
    const od = outDef as TreeDef;
    const oaxes = leafAxes(outAxes, od, 'outAxes', 'result');
    const stacked = results[0].map((_, j) => {
      const ax = oaxes[j];
      if (ax === null) throw new ArgumentError('vmap: outAxes null is not supported yet; give each output a batch axis (a number).');
      return stack(results.map((r) => r[j]), ax);
    });
    return unflatten<R>(od, stacked);
  });
}

function checkSpec(what: string, spec: unknown, depth = 0): void {
  if (spec === null || (typeof spec === 'number' && Number.isInteger(spec))) return;
  if (depth < 1000 && Array.isArray(spec)) return spec.forEach((s) => checkSpec(what, s, depth + 1));
  if (depth < 1000 && isPlainObject(spec)) return Object.values(spec).forEach((s) => checkSpec(what, s, depth + 1));
  throw new ArgumentError(`vmap: ${what} must be an integer, null, or an array/object of them matching the ${what === 'inAxes' ? 'arguments' : 'result'}; got ${JSON.stringify(spec)}.`);
}

/** The batch axis of every leaf of the tree `def`, in flatten order, from a spec that is a prefix of it. */
function leafAxes(spec: AxisSpec, def: TreeDef, what: string, side: string): (number | null)[] {
  const out: (number | null)[] = [];
  const walk = (s: AxisSpec, d: TreeDef, path: string): void => {
    if (s === null || typeof s === 'number') {
      const all = (dd: TreeDef): void => {
        if (dd.kind === 'leaf') out.push(s);
        else if (dd.kind === 'array' || dd.kind === 'object') dd.children.forEach(all);
      };
      return all(d);
    }
    if (Array.isArray(s)) {
      if (d.kind !== 'array' || d.children.length !== s.length) {
        throw new ArgumentError(`vmap: ${what}${path} is an array of ${s.length} entries but the ${side}${path} is ${describe(d)}; make ${what} match the structure (or use a single number/null).`);
      }
      return d.children.forEach((c, i) => walk((s as readonly AxisSpec[])[i], c, `${path}[${i}]`));
    }
    const obj = s as { readonly [key: string]: AxisSpec };
    if (d.kind !== 'object' || d.keys.length !== Object.keys(obj).length || d.keys.some((k) => !(k in obj))) {
      throw new ArgumentError(`vmap: ${what}${path} has keys {${Object.keys(obj).join(', ')}} but the ${side}${path} is ${describe(d)}; make ${what} match the structure (or use a single number/null).`);
    }
    d.keys.forEach((k, i) => walk(obj[k], d.children[i], `${path}.${k}`));
  };
  walk(spec, def, '');
  return out;
}

function describe(d: TreeDef): string {
  switch (d.kind) {
    case 'leaf': return 'a leaf';
    case 'none': return String(d.value);
    case 'array': return `an array of ${d.children.length}`;
    case 'object': return `an object with keys {${d.keys.join(', ')}}`;
  }
}

/** The common size of the mapped axes; a ShapeError naming every mapped leaf when they disagree. */
function batchSize(leaves: Leaf[], axes: (number | null)[]): number {
  const mapped: { j: number; shape: readonly number[]; axis: number; size: number }[] = [];
  leaves.forEach((leaf, j) => {
    const ax = axes[j];
    if (ax === null || !(leaf instanceof Tensor)) return;
    if (leaf.ndim === 0) throw new ShapeError(`vmap: leaf ${j} of the arguments is a scalar (shape []) but inAxes maps it over axis ${ax}; give it inAxes null or pass a tensor with a batch axis.`);
    const axis = normalizeAxis('vmap', ax, leaf.ndim);
    mapped.push({ j, shape: leaf.shape, axis, size: leaf.shape[axis] });
  });
  if (mapped.length === 0) throw new ArgumentError('vmap: no argument is mapped (every inAxes entry is null or every leaf is a number); map at least one tensor over a batch axis.');
  const size = mapped[0].size;
  if (mapped.some((m) => m.size !== size)) {
    const list = mapped.map((m) => `leaf ${m.j} of shape ${fmtShape(m.shape)} has size ${m.size} on axis ${m.axis}`).join('; ');
    throw new ShapeError(`vmap: the mapped axes must all have the same size, but ${list}. Fix the shapes or inAxes.`);
  }
  if (size === 0) throw new ShapeError('vmap: the batch axis has size 0; vmap needs at least one example.');
  return size;
}

/** Example `i` of `x` along `axis` (the axis removed). */
function take(x: Tensor, axis: number, i: number): Tensor {
  const ax = normalizeAxis('vmap', axis, x.ndim);
  const begin = x.shape.map((_, k) => (k === ax ? i : 0));
  const size = x.shape.map((d, k) => (k === ax ? 1 : d));
  return reshape(slice(x, begin, size), x.shape.filter((_, k) => k !== ax));
}
