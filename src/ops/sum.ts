// sum and broadcastTo, each other's transpose, and sumToShape, which undoes broadcasting for
// every rule. Also the reduction machinery max and min share (reduce.ts).
import * as kernels from '../backend/kernels.js';
import { broadcastStrides } from '../backend/kernels.js';
import { stridedIndex } from '../core/emit.js';
import { defineLinear, implFromKernel, type Aval, type Emit, type Primitive, type Sparsity } from '../core/primitive.js';
import type { BoundKernel } from '../backend/kernels.js';
import { bind } from '../core/trace.js';
import { empty } from '../tensor/create.js';
import { broadcastShapes, checkShape, normalizeAxes, shapesEqual } from '../tensor/shape.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { ShapeError, fmtShape } from '../errors.js';
import { toTensor, type TensorLike } from './convert.js';
import { reshape } from './shape.js';
import { batchReduce } from '../core/batch-axes.js';

export interface ReduceOptions {
  keepdims?: boolean;
}

export interface ReduceParams {
  axes: number[];
  keepdims: boolean;
}

function keptShape(shape: readonly number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

export function reducedShape(shape: readonly number[], { axes, keepdims }: ReduceParams): number[] {
  return keepdims ? keptShape(shape, axes) : shape.filter((_, i) => !axes.includes(i));
}

/** Reduces contiguous runs of axes with the [outer, len, inner] kernel, last run first. */
export function reduceImpl(op: 'sum' | 'max' | 'min', x: DenseTensor, params: ReduceParams): DenseTensor {
  const outShape = reducedShape(x.shape, params);
  if (params.axes.length === x.ndim || x.size === 0 && params.axes.length === 0) {
    const out = empty(outShape, x.dtype, op);
    kernels.fill(out.liveBuffer(op), x.size === 0 ? (op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity) : kernels.reduceAll(op, x.liveBuffer(op)));
    if (params.axes.length === x.ndim) return out;
  }
  // Group the sorted axes into runs of neighbours.
  const runs: [number, number][] = [];
  for (const a of params.axes) {
    const last = runs[runs.length - 1];
    if (last && last[1] === a - 1) last[1] = a;
    else runs.push([a, a]);
  }
  let current = x;
  let shape = [...x.shape];
  for (let r = runs.length - 1; r >= 0; r--) {
    const [lo, hi] = runs[r];
    const outer = shape.slice(0, lo).reduce((a, b) => a * b, 1);
    const len = shape.slice(lo, hi + 1).reduce((a, b) => a * b, 1);
    const inner = shape.slice(hi + 1).reduce((a, b) => a * b, 1);
    shape = [...shape.slice(0, lo), ...new Array(hi - lo + 1).fill(1), ...shape.slice(hi + 1)];
    const next = empty(shape, x.dtype, op);
    kernels.reduceAxis(op, next.liveBuffer(op), current.liveBuffer(op), outer, len, inner);
    if (current !== x) current.dispose();
    current = next;
  }
  if (current === x) {
    const out = empty(outShape, x.dtype, op);
    kernels.copy(out.liveBuffer(op), x.liveBuffer(op));
    return out;
  }
  const out = current.share(outShape, op);
  current.dispose();
  return out;
}

/** Brings a reduced value or cotangent back to keepdims form, keeping a leading chunk axis. */
export function unreduce(y: Tensor, inShape: readonly number[], params: ReduceParams, batched: boolean): Tensor {
  const kept = keptShape(inShape, params.axes);
  return reshape(y, batched ? [y.shape[0], ...kept] : kept);
}

export const shift = (axes: number[]) => axes.map((a) => a + 1);

export const reducedAval = ([x]: readonly Aval[], p: ReduceParams): Aval => ({ shape: reducedShape(x.shape, p), dtype: x.dtype });

// Each output element depends on the input elements reduced into it.
export const reduceSparsity: Sparsity<ReduceParams> = (algebra, { inputs: [x], params }) => algebra.reduce(x, params.axes);

/**
 * sum as one kernel call, for all axes or one contiguous run of them (what reduceImpl does in
 * those cases, so the bits agree); null for several runs.
 */
function sumInto(shape: readonly number[], axes: readonly number[]): BoundKernel | null {
  if (axes.length === shape.length) return (out, [x]) => kernels.fill(out, x.size === 0 ? 0 : kernels.reduceAll('sum', x));
  const lo = axes[0], hi = axes[axes.length - 1];
  if (hi - lo !== axes.length - 1) return null;
  const span = (from: number, to: number) => shape.slice(from, to).reduce((a, b) => a * b, 1);
  const outer = span(0, lo), len = span(lo, hi + 1), inner = span(hi + 1, shape.length);
  return (out, [x]) => kernels.reduceAxis('sum', out, x, outer, len, inner);
}

/** sum over trailing axes (or all) in generated JS, rows summed in the kernel's order; else null. */
function sumEmit(shape: readonly number[], axes: readonly number[]): Emit | null {
  const lo = axes[0], hi = axes[axes.length - 1];
  if (hi !== shape.length - 1 || hi - lo !== axes.length - 1) return null;
  const span = (from: number, to: number) => shape.slice(from, to).reduce((a, b) => a * b, 1);
  const outer = span(0, lo), len = span(lo, shape.length);
  // A length-1 axis is copied by the axis kernel (-0 stays -0); only the whole-array sum adds to 0.
  if (len === 1 && axes.length < shape.length) return { kind: 'gather', index: stridedIndex([outer], [1]) };
  return { kind: 'sum', outer, len };
}

// d sum(x) = sum(dx); its transpose broadcasts the cotangent back over the reduced axes.
const sumP = defineLinear<ReduceParams>({
  name: 'sum',
  batch: batchReduce(),
  integer: true,
  impl: ([x], p) => reduceImpl('sum', x, p),
  into: ([x], p) => sumInto(x.shape, p.axes),
  emit: ([x], p) => sumEmit(x.shape, p.axes),
  fusion: { reduce: 'sum' },
  shape: reducedAval,
  sparsity: reduceSparsity,
  apply: ([t], { params: p }) => t && sum(t, shift(p.axes), { keepdims: p.keepdims }),
  transpose: (ct, { avals: [x], params: p }) => [broadcastTo(unreduce(ct, x.shape, p, true), [ct.shape[0], ...x.shape])],
});

export function reduceOp(prim: Primitive<ReduceParams>) {
  return (x: TensorLike, axes?: number | readonly number[] | null, options: ReduceOptions = {}): Tensor => {
    const t = toTensor(prim.name, x);
    const list = normalizeAxes(prim.name, axes, t.ndim);
    const keepdims = options.keepdims ?? false;
    if (list.length === 0) return t;
    return bind(prim, [t], { axes: list, keepdims });
  };
}

/** Sum over `axes` (default: all). @example sum(array([[1, 2], [3, 4]]), 0) // [4, 6] */
export const sum = reduceOp(sumP);

/**
 * Sums `x` down to `shape` over the axes that broadcasting added or stretched. The first
 * `fixed` axes (a chunk axis) are left alone and must already match.
 */
export function sumToShape(x: Tensor, shape: readonly number[], fixed = 0): Tensor {
  if (shapesEqual(x.shape, shape)) return x;
  if (x.ndim < shape.length) {
    // Smaller than the target: line it up behind the fixed axes, then broadcast.
    const ones = new Array<number>(shape.length - x.ndim).fill(1);
    return broadcastTo(reshape(x, [...x.shape.slice(0, fixed), ...ones, ...x.shape.slice(fixed)]), shape);
  }
  const lead = x.ndim - shape.length;
  const axes: number[] = [];
  for (let i = fixed; i < x.ndim; i++) {
    if (i < fixed + lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length ? sum(x, axes, { keepdims: true }) : x;
  const kept = [...summed.shape.slice(0, fixed), ...summed.shape.slice(fixed + lead)];
  const fitted = reshape(summed, kept);
  return shapesEqual(kept, shape) ? fitted : broadcastTo(fitted, shape);
}

function broadcastInto([x]: readonly Aval[], { shape }: { shape: number[] }): BoundKernel {
  const strides = broadcastStrides(x.shape, shape);
  return (out, [a]) => kernels.copyStrided(out, a, shape, strides);
}

// d broadcastTo(x) = broadcastTo(dx); its transpose sums over the stretched axes.
const broadcastToP = defineLinear<{ shape: number[] }>({
  name: 'broadcast_to',
  // The batch axis keeps its place counted from the end, where broadcasting aligns axes.
  batch: ({ inputs: [x], axes: [b], size, params: { shape }, prim }) => {
    const at = (b as number) + shape.length - (x.ndim - 1);
    return { out: bind(prim, [x], { shape: [...shape.slice(0, at), size, ...shape.slice(at)] }), axis: at };
  },
  integer: true,
  impl: implFromKernel('broadcastTo', ([x], { shape }) => ({ shape, dtype: x.dtype }), broadcastInto),
  into: broadcastInto,
  emit: ([x], { shape }) => ({ kind: 'gather', index: stridedIndex(shape, broadcastStrides(x.shape, shape)) }),
  shape: ([x], { shape }) => ({ shape, dtype: x.dtype }),
  sparsity: (algebra, { inputs: [x], out }) => algebra.union([{ deps: x.deps!, map: algebra.broadcastMap(x.shape, out.shape) }], out.shape.reduce((n, d) => n * d, 1)),
  apply: ([t], { params: { shape } }) => t && broadcastTo(reshape(t, [t.shape[0], ...new Array<number>(shape.length + 1 - t.ndim).fill(1), ...t.shape.slice(1)]), [t.shape[0], ...shape]),
  transpose: (ct, { avals: [x] }) => [sumToShape(ct, [ct.shape[0], ...x.shape], 1)],
});

/** Repeats `x` along broadcast axes to `shape`. @example broadcastTo(array([1, 2]), [3, 2]) */
export function broadcastTo(x: TensorLike, shape: readonly number[]): Tensor {
  const t = toTensor('broadcastTo', x);
  checkShape('broadcastTo', shape);
  const target = broadcastShapes('broadcastTo', t.shape, shape);
  if (!shapesEqual(target, shape)) {
    throw new ShapeError(`broadcastTo: a tensor of shape ${fmtShape(t.shape)} cannot be broadcast to ${fmtShape(shape)}; the target must keep every axis of size > 1.`);
  }
  if (shapesEqual(t.shape, shape)) return t;
  return bind(broadcastToP, [t], { shape: [...shape] });
}

