// Reductions: max and min primitives over any axes (keepdims or not), and mean, logsumexp and
// softmax built on them and on sum (sum.ts). max/min follow JAX at ties: the derivative is
// shared evenly among the positions that attain the extremum.
import * as kernels from '../backend/kernels.js';
import { definePrimitive, type Primitive } from '../core/primitive.js';
import { fusedKernels } from '../core/fusion.js';
import { empty } from '../tensor/create.js';
import { normalizeAxes } from '../tensor/shape.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { floatUnlessInteger, stopGradient, toTensor, type TensorLike } from './convert.js';
import { abs, add, div, equal, exp, less, log, mul, sub, where } from './elementwise.js';
import { reshape } from './shape.js';
import { reduceImpl, reduceOp, reducedAval, reduceSparsity, shift, sum, unreduce, type ReduceOptions, type ReduceParams } from './sum.js';
import { batchReduce } from '../core/batch-axes.js';

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
  kernels.extremumRule(rule, result.liveBuffer(op), x.liveBuffer(op), out.liveBuffer(op), rows.liveBuffer(op), size(0, first), size(first, last + 1), size(last + 1, x.ndim), count);
  fusedKernels.calls++;
  return result;
}

// d max(x) = mean of dx over the positions equal to the max. The division by the number of
// such positions is done on the reduced side, so no full-size array is divided.
function extremumPrim(op: 'max' | 'min'): Primitive<ReduceParams> {
  const mask = (x: Tensor, out: Tensor, p: ReduceParams) => equal(x, unreduce(out, x.shape, p, false));
  return definePrimitive<ReduceParams>({
    name: op,
    batch: batchReduce(),
    integer: true,
    impl: ([x], p) => reduceImpl(op, x, p),
    shape: reducedAval,
    saves: [0, 'out'],
    sparsity: reduceSparsity,
    jvp: ({ inputs: [x], tangents: [t], out, params: p }) => {
      if (!t) return null;
      const fused = fusedExtremum(op, 'jvp', x, t, out, p);
      if (fused) return fused;
      const m = mask(x, out, p);
      return div(sum(mul(t, m), shift(p.axes), { keepdims: p.keepdims }), sum(m, p.axes, { keepdims: p.keepdims }));
    },
    cotangent: ({ ct, inputs: [x], out, params: p }) => {
      const fused = fusedExtremum(op, 'vjp', x, ct, out, p);
      return fused && [fused];
    },
    vjp: ({ ct, inputs: [x], out, params: p }) => {
      const m = mask(x, out, p);
      return [mul(unreduce(div(ct, sum(m, p.axes, { keepdims: p.keepdims })), x.shape, p, true), m)];
    },
  });
}
const maxP = extremumPrim('max');
const minP = extremumPrim('min');

export { sum, type ReduceOptions };

/** Largest element over `axes` (NaN propagates). @example max(array([1, 5, 3])).item() // 5 */
export const max = reduceOp(maxP);
/** Smallest element over `axes`. @example min(array([1, 5, 3])).item() // 1 */
export const min = reduceOp(minP);

/** Arithmetic mean over `axes`. @example mean(array([1, 2, 3])).item() // 2 */
export function mean(x: TensorLike, axes?: number | readonly number[] | null, options: ReduceOptions = {}): Tensor {
  const t = floatUnlessInteger({}, toTensor('mean', x));
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
  const t = floatUnlessInteger({}, toTensor('logsumexp', x));
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
  const t = floatUnlessInteger({}, toTensor('softmax', x));
  const list = normalizeAxes('softmax', axis, t.ndim);
  if (list.length === 0) return exp(sub(t, t));
  const e = exp(sub(t, stableShift(t, list)));
  return div(e, sum(e, list, { keepdims: true }));
}
