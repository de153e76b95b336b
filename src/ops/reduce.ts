// Reductions: sum, max, min primitives over any axes (keepdims or not), and mean, logsumexp
// and softmax built on them. max/min follow JAX at ties: the derivative is shared evenly
// among the positions that attain the extremum.
import * as k from '../backend/kernels.js';
import { definePrimitive, type Primitive } from '../core/primitive.js';
import { fusedKernels } from '../core/fusion.js';
import { bind } from '../core/trace.js';
import { empty } from '../tensor/create.js';
import { normalizeAxes } from '../tensor/shape.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { stopGradient, toTensor, type TensorLike } from './convert.js';
import { abs, add, div, equal, exp, less, log, mul, sub, where } from './elementwise.js';
import { broadcastTo, reshape } from './shape.js';

export interface ReduceOptions {
  keepdims?: boolean;
}

interface ReduceParams {
  axes: number[];
  keepdims: boolean;
}

function keptShape(shape: readonly number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reducedShape(shape: readonly number[], { axes, keepdims }: ReduceParams): number[] {
  return keepdims ? keptShape(shape, axes) : shape.filter((_, i) => !axes.includes(i));
}

/** Reduces contiguous runs of axes with the [outer, len, inner] kernel, last run first. */
function reduceImpl(op: 'sum' | 'max' | 'min', x: DenseTensor, params: ReduceParams): DenseTensor {
  const outShape = reducedShape(x.shape, params);
  if (params.axes.length === x.ndim || x.size === 0 && params.axes.length === 0) {
    const out = empty(outShape, x.dtype, op);
    k.fill(out.data_(op), x.size === 0 ? (op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity) : k.reduceAll(op, x.data_(op)));
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
    k.reduceAxis(op, next.data_(op), current.data_(op), outer, len, inner);
    if (current !== x) current.dispose();
    current = next;
  }
  if (current === x) {
    const out = empty(outShape, x.dtype, op);
    k.copy(out.data_(op), x.data_(op));
    return out;
  }
  const out = new DenseTensor(current.data_(op).retain(), outShape);
  current.dispose();
  return out;
}

/** Brings a reduced value or cotangent back to keepdims form, keeping a leading chunk axis. */
function unreduce(y: Tensor, inShape: readonly number[], params: ReduceParams, batched: boolean): Tensor {
  const kept = keptShape(inShape, params.axes);
  return reshape(y, batched ? [y.shape[0], ...kept] : kept);
}

const shift = (axes: number[]) => axes.map((a) => a + 1);

// d sum(x) = sum(dx); its transpose broadcasts the cotangent back over the reduced axes.
const sumP = definePrimitive<ReduceParams>({
  name: 'sum',
  impl: ([x], p) => reduceImpl('sum', x, p),
  jvp: (_, [t], __, p) => (t ? sum(t, shift(p.axes), { keepdims: p.keepdims }) : null),
  vjp: (ct, [x], __, p) => [broadcastTo(unreduce(ct, x.shape, p, true), [ct.shape[0], ...x.shape])],
});

/**
 * The rule's tangent in one kernel pass (assembly/dual.ts) on concrete values, when the axes
 * form one contiguous run: for each output and direction, the mean of t where x equals out.
 * Under an outer transform (tracers) the rule runs.
 */
function extremumTangent(x: Tensor, t: Tensor, out: Tensor, p: ReduceParams): Tensor | null {
  const f = fusedExtremum(x, t, out, p, x.size);
  if (!f) return null;
  const tangent = empty([t.shape[0], ...out.shape], x.dtype, 'max');
  k.extremumTangent(tangent.data_('max'), f.x.data_('max'), f.out.data_('max'), f.rows.data_('max'), f.outer, f.len, f.inner);
  fusedKernels.calls++;
  return tangent;
}

/** The transpose in one kernel pass: (ct / count) * (x == out), bit-equal to the rule. */
function extremumCotangent(x: Tensor, ct: Tensor, out: Tensor, p: ReduceParams): Tensor | null {
  const f = fusedExtremum(x, ct, out, p, out.size);
  if (!f) return null;
  const cotangent = empty([ct.shape[0], ...x.shape], x.dtype, 'max');
  k.extremumCotangent(cotangent.data_('max'), f.x.data_('max'), f.out.data_('max'), f.rows.data_('max'), f.outer, f.len, f.inner);
  fusedKernels.calls++;
  return cotangent;
}

/** The concrete operands and [outer, len, inner] of x around its axes when the fused kernels apply. */
function fusedExtremum(x: Tensor, rows: Tensor, out: Tensor, { axes }: ReduceParams, rowSize: number) {
  if (!fusedKernels.enabled || !(x instanceof DenseTensor && rows instanceof DenseTensor && out instanceof DenseTensor)) return null;
  if (axes.length === 0 || axes[axes.length - 1] - axes[0] !== axes.length - 1 || rows.dtype !== x.dtype) return null;
  if (x.size === 0 || rows.size !== rows.shape[0] * rowSize) return null;
  const size = (from: number, to: number) => x.shape.slice(from, to).reduce((a, b) => a * b, 1);
  return { x, rows, out, outer: size(0, axes[0]), len: size(axes[0], axes[axes.length - 1] + 1), inner: size(axes[axes.length - 1] + 1, x.ndim) };
}

// d max(x) = mean of dx over the positions equal to the max. The division by the number of
// such positions is done on the reduced side, so no full-size array is divided.
function extremumPrim(op: 'max' | 'min'): Primitive<ReduceParams> {
  const mask = (x: Tensor, out: Tensor, p: ReduceParams) => equal(x, unreduce(out, x.shape, p, false));
  return definePrimitive<ReduceParams>({
    name: op,
    impl: ([x], p) => reduceImpl(op, x, p),
    jvp: ([x], [t], out, p) => {
      if (!t) return null;
      const fused = extremumTangent(x, t, out, p);
      if (fused) return fused;
      const m = mask(x, out, p);
      return div(sum(mul(t, m), shift(p.axes), { keepdims: p.keepdims }), sum(m, p.axes, { keepdims: p.keepdims }));
    },
    vjp: (ct, [x], out, p) => {
      const fused = extremumCotangent(x, ct, out, p);
      if (fused) return [fused];
      const m = mask(x, out, p);
      return [mul(unreduce(div(ct, sum(m, p.axes, { keepdims: p.keepdims })), x.shape, p, true), m)];
    },
  });
}
const maxP = extremumPrim('max');
const minP = extremumPrim('min');

function reduceOp(prim: Primitive<ReduceParams>) {
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
/** Largest element over `axes` (NaN propagates). @example max(array([1, 5, 3])).item() // 5 */
export const max = reduceOp(maxP);
/** Smallest element over `axes`. @example min(array([1, 5, 3])).item() // 1 */
export const min = reduceOp(minP);

/** Arithmetic mean over `axes`. @example mean(array([1, 2, 3])).item() // 2 */
export function mean(x: TensorLike, axes?: number | readonly number[] | null, options: ReduceOptions = {}): Tensor {
  const t = toTensor('mean', x);
  const list = normalizeAxes('mean', axes, t.ndim);
  const count = list.reduce((acc, a) => acc * t.shape[a], 1);
  return div(sum(t, list, options), count);
}

/**
 * The max over `axes` (keepdims), held constant, and 0 where it is infinite: an all -Infinity
 * slice then gives exp(x - shift) = 0, not NaN.
 */
function stableShift(t: Tensor, axes: number[]): Tensor {
  const peak = stopGradient(max(t, axes, { keepdims: true }));
  return where(less(abs(peak), Infinity), peak, 0);
}

/**
 * log(sum(exp(x))) over `axes`, computed stably by shifting by the max (the shift is held
 * constant; it cancels in the value and in the derivative).
 * @example logsumexp(array([0, 0])).item() // Math.LN2
 */
export function logsumexp(x: TensorLike, axes?: number | readonly number[] | null, options: ReduceOptions = {}): Tensor {
  const t = toTensor('logsumexp', x);
  const list = normalizeAxes('logsumexp', axes, t.ndim);
  if (list.length === 0) return t;
  const finitePeak = stableShift(t, list);
  const shifted = log(sum(exp(sub(t, finitePeak)), list, { keepdims: true }));
  const out = add(shifted, finitePeak);
  return options.keepdims ? out : reshape(out, t.shape.filter((_, i) => !list.includes(i)));
}

/**
 * exp(x) / sum(exp(x)) along `axis` (default: the last), as exp(x - max) / sum(exp(x - max)):
 * exp(x - logsumexp(x)) would lose about log2(|logsumexp|) bits to the rounding of logsumexp.
 * @example softmax(array([0, 0])) // [0.5, 0.5]
 */
export function softmax(x: TensorLike, axis: number | readonly number[] = -1): Tensor {
  const t = toTensor('softmax', x);
  const list = normalizeAxes('softmax', axis, t.ndim);
  if (list.length === 0) return exp(sub(t, t));
  const e = exp(sub(t, stableShift(t, list)));
  return div(e, sum(e, list, { keepdims: true }));
}
