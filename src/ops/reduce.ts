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
 * A rule of max or min in one kernel pass (assembly/dual.ts) on concrete values, when the axes
 * form one contiguous run: the tangent (`rows` = t [k, ...x.shape]), the mean of t where x
 * equals out; or the cotangent (`rows` = ct [k, ...out.shape]), (ct / count) where x equals
 * out. Under an outer transform (tracers) the rule runs.
 */
function fusedExtremum(op: 'max' | 'min', rule: 'jvp' | 'vjp', x: Tensor, rows: Tensor, out: Tensor, { axes }: ReduceParams): Tensor | null {
  if (!fusedKernels.enabled || !(x instanceof DenseTensor && rows instanceof DenseTensor && out instanceof DenseTensor)) return null;
  if (axes.length === 0 || axes[axes.length - 1] - axes[0] !== axes.length - 1 || rows.dtype !== x.dtype) return null;
  const [from, to] = rule === 'jvp' ? [x, out] : [out, x];
  const count = rows.shape[0];
  if (x.size === 0 || rows.size !== count * from.size) return null;
  const size = (lo: number, hi: number) => x.shape.slice(lo, hi).reduce((a, b) => a * b, 1);
  const first = axes[0], last = axes[axes.length - 1];
  const result = empty([count, ...to.shape], x.dtype, op);
  k.extremumRule(rule, result.data_(op), x.data_(op), out.data_(op), rows.data_(op), size(0, first), size(first, last + 1), size(last + 1, x.ndim), count);
  fusedKernels.calls++;
  return result;
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
      const fused = fusedExtremum(op, 'jvp', x, t, out, p);
      if (fused) return fused;
      const m = mask(x, out, p);
      return div(sum(mul(t, m), shift(p.axes), { keepdims: p.keepdims }), sum(m, p.axes, { keepdims: p.keepdims }));
    },
    vjp: (ct, [x], out, p) => {
      const fused = fusedExtremum(op, 'vjp', x, ct, out, p);
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
