// vmap: maps a function over a batch axis of its arguments, vectorized. f runs once, on
// BatchTracers that carry the whole batch (batch.ts); every primitive's `batch` rule computes
// all examples at once, and ops on values that do not depend on the batch run once, unbatched.
// Each vmap owns a level of the trace stack, so it nests and composes with grad, jvp and jit in
// any order.
import { popTrace, pushTrace } from '../core/trace.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { moveAxis } from '../ops/batching.js';
import { toTensor } from '../ops/convert.js';
import { reshape } from '../ops/shape.js';
import { broadcastTo } from '../ops/sum.js';
import { normalizeAxis } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { flatten, isPlainObject, isThenable, unflatten, asyncMessage, type Leaf, type TreeDef } from '../tree.js';
import { BatchTrace, BatchTracer } from './batch.js';
import { scoped, unaliased } from './util.js';

/** A batch axis for every leaf below: a number (negative counts from the end), null for unmapped, or a tree of them. */
export type AxisSpec = number | null | readonly AxisSpec[] | { readonly [key: string]: AxisSpec };

export interface VmapOptions {
  /**
   * Batch axis of each argument: a number or null for all of them, or an array with one entry
   * per argument, each a number, null or a tree matching (a prefix of) that argument. Default 0.
   */
  inAxes?: AxisSpec;
  /**
   * Where the batch axis goes in each output leaf: a number (negative counts from the end), null
   * for an output that is the same for every example (returned once, without a batch axis), or
   * a tree of them matching the result. Default 0.
   */
  outAxes?: AxisSpec;
}

/**
 * Maps `f` over a batch axis of its arguments: `vmap(f)(xs)` equals `f` applied to each
 * `xs[i]` with the results stacked along a new leading axis, computed in one vectorized pass
 * (a matmul of a batch of vectors by a shared matrix is one matrix product). Unmapped
 * arguments (inAxes null) and number leaves are shared by every example. Composes with grad,
 * jvp, jit and itself in any order.
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
    if (Array.isArray(inAxes) && inAxes.length !== args.length) {
      throw new ArgumentError(`vmap: inAxes has ${inAxes.length} entries but the function was called with ${args.length} arguments; give one entry per argument (or a single number/null for all).`);
    }
    const axes = leafAxes(inAxes, def, 'inAxes', 'argument');
    const size = batchSize(leaves, axes);
    const trace = pushTrace((level) => new BatchTrace(level, size));
    let outLeaves: Leaf[];
    let outDef: TreeDef;
    try {
      const wrapped = leaves.map((leaf, j) => (axes[j] === null || !(leaf instanceof Tensor) ? leaf : new BatchTracer(trace, leaf, normalizeAxis('vmap', axes[j] as number, leaf.ndim))));
      const out = f(...unflatten<A>(def, wrapped));
      if (isThenable(out)) throw new ArgumentError(asyncMessage('vmap'));
      ({ leaves: outLeaves, def: outDef } = flatten(out, 'vmap result'));
      const oaxes = leafAxes(outAxes, outDef, 'outAxes', 'result');
      outLeaves = outLeaves.map((leaf, j) => placeBatch(trace, toTensor('vmap', leaf), oaxes[j], j));
    } finally {
      popTrace(trace);
    }
    return unflatten<R>(outDef, outLeaves);
  });
}

/** Output leaf `j` with its batch axis at `outAxis` (a shared value is broadcast over the batch). */
function placeBatch(trace: BatchTrace, leaf: Tensor, outAxis: number | null, j: number): Tensor {
  const { value, axis } = trace.unwrap(leaf);
  if (outAxis === null) {
    if (axis !== null) {
      throw new ArgumentError(`vmap: outAxes gives result leaf ${j} (shape ${fmtShape(leaf.shape)} per example) no batch axis (null), but it depends on the mapped arguments, so it differs from example to example. Give it a batch axis (a number) in outAxes, or return a value that does not depend on the mapped arguments.`);
    }
    return unaliased(value);
  }
  const rank = axis === null ? value.ndim + 1 : value.ndim;
  const to = normalizeAxis(`vmap (outAxes of result leaf ${j})`, outAxis, rank);
  if (axis !== null) return moveAxis(value, axis, to);
  const shape = [...value.shape.slice(0, to), trace.size, ...value.shape.slice(to)];
  return broadcastTo(reshape(value, [...value.shape.slice(0, to), 1, ...value.shape.slice(to)]), shape);
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
