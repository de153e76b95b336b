// Everyday numerics built from existing primitives, so both derivative rules come for free and
// the conventions at non-differentiable points are those of the parts: maximum and minimum
// split the derivative evenly at ties (clip at a bound, logaddexp and softplus where the
// operands are equal), as JAX's jnp.clip, jnp.logaddexp and jax.nn.softplus, which are built
// the same way.
import { ArgumentError, fmtShape } from '../errors.js';
import { normalizeAxes, normalizeAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { coerce, toTensor, type TensorLike } from './convert.js';
import { abs, add, div, equal, exp, maximum, minimum, neg, pow, sqrt, square, sub, where } from './elementwise.js';
import { max, mean, min } from './reduce.js';
import { svd } from './decomp.js';
import { reshape, transpose } from './shape.js';
import { log1p } from './special.js';
import { sum, type ReduceOptions } from './sum.js';

/**
 * Limits x to [lo, hi] elementwise, as minimum(maximum(x, lo), hi); either bound may be
 * omitted (undefined). At x equal to a bound the derivative is 1/2, as JAX's.
 * @example clip(array([-2, 0.5, 3]), 0, 1) // [0, 0.5, 1]
 */
export function clip(x: TensorLike, lo?: TensorLike, hi?: TensorLike): Tensor {
  if (typeof lo === 'number' && typeof hi === 'number' && lo > hi) {
    throw new ArgumentError(`clip: the lower bound ${lo} is above the upper bound ${hi}; pass lo <= hi.`);
  }
  let out = toTensor('clip', x);
  if (lo !== undefined) out = maximum(out, lo);
  if (hi !== undefined) out = minimum(out, hi);
  return out;
}

/**
 * log(e^a + e^b) elementwise with broadcasting, as max(a, b) + log1p(e^-|a - b|): no overflow,
 * and exact where a = b (including both -Infinity, which gives -Infinity). Where a = b each
 * operand gets half the derivative.
 * @example logaddexp(0, 0).item() // Math.LN2
 */
export function logaddexp(a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = coerce('logaddexp', [a, b]);
  const same = equal(ta, tb);
  // Equal operands give a gap of exactly 0, also for infinities (whose difference is NaN);
  // the inner where keeps NaN out of the derivative too.
  const gap = abs(sub(where(same, 0, ta), where(same, 0, tb)));
  return add(maximum(ta, tb), log1p(exp(neg(gap))));
}

export { softplus } from './special.js';

export interface MomentOptions extends ReduceOptions {
  /** Delta degrees of freedom: the sum of squares is divided by n - ddof (default 0). */
  ddof?: number;
}

/**
 * Variance over `axes` (default all): sum((x - mean)^2) / (n - ddof), as numpy.var.
 * @example variance(array([1, 2, 3, 4])).item() // 1.25
 * @example variance(array([1, 2, 3, 4]), null, { ddof: 1 }).item() // 5 / 3
 */
export function variance(x: TensorLike, axes?: number | readonly number[] | null, options: MomentOptions = {}): Tensor {
  const t = toTensor('var', x);
  const list = normalizeAxes('var', axes, t.ndim);
  const ddof = options.ddof ?? 0;
  const count = list.reduce((acc, a) => acc * t.shape[a], 1);
  if (!Number.isInteger(ddof) || ddof < 0 || count - ddof <= 0) {
    throw new ArgumentError(`var: ddof = ${ddof} with ${count} element(s) per reduction over axes [${list.join(', ')}] of shape ${fmtShape(t.shape)}; ddof must be a non-negative integer below the count.`);
  }
  const centred = sub(t, mean(t, list, { keepdims: true }));
  return div(sum(square(centred), list, { keepdims: options.keepdims ?? false }), count - ddof);
}

/**
 * Standard deviation over `axes`: sqrt(variance). Where the variance is 0 the derivative is
 * NaN (sqrt has an infinite slope at 0), as JAX's jnp.std.
 * @example std(array([1, 2, 3, 4]), null, { ddof: 1 }).item() // Math.sqrt(5 / 3)
 */
export function std(x: TensorLike, axes?: number | readonly number[] | null, options: MomentOptions = {}): Tensor {
  return sqrt(variance(x, axes, options));
}

/** Vector norm orders; 'fro' (Frobenius) and 'nuc' (nuclear) for matrices. */
export type NormOrd = number | 'fro' | 'nuc';

export interface NormOptions {
  /**
   * Vector: 2 (default), 1, Infinity, -Infinity or any other non-zero p ((sum |x|^p)^(1/p)).
   * Matrix (two axes): 'fro' (default), 1, -1 (max, min column sum of |x|), Infinity,
   * -Infinity (max, min row sum), 2, -2 (largest, smallest singular value), 'nuc' (the sum of
   * the singular values).
   */
  ord?: NormOrd;
  /** One axis (vector norm) or two (matrix norm); default: all elements as one vector, or the matrix for a 2-D x with a matrix ord. */
  axis?: number | readonly number[] | null;
  keepdims?: boolean;
}

function vectorNorm(t: Tensor, ord: number, axes: number[]): Tensor {
  const keep = { keepdims: true };
  if (ord === 2) return sqrt(sum(square(t), axes, keep));
  if (ord === 1) return sum(abs(t), axes, keep);
  if (ord === Infinity) return max(abs(t), axes, keep);
  if (ord === -Infinity) return min(abs(t), axes, keep);
  return pow(sum(pow(abs(t), ord), axes, keep), 1 / ord);
}

/**
 * ord 2, -2 and 'nuc' from the singular values of the matrices over [rows, cols], with 1s left
 * at those axes (keepdims). Their derivatives are svd's for S (diag(U^T dA V), finite where
 * singular values repeat) through max, min or sum, so where the largest (smallest) singular
 * value repeats the tied ones share the derivative evenly, as in JAX, whose norm is the same
 * max/min/sum of svd's singular values.
 */
function spectralNorm(t: Tensor, ord: 2 | -2 | 'nuc', rows: number, cols: number): Tensor {
  const rest = t.shape.map((_, i) => i).filter((i) => i !== rows && i !== cols);
  const [, s] = svd(transpose(t, [...rest, rows, cols]));
  const reduced = ord === 'nuc' ? sum(s, -1) : (ord === 2 ? max : min)(s, -1);
  return reshape(reduced, t.shape.map((d, i) => (i === rows || i === cols ? 1 : d)));
}

function matrixNorm(t: Tensor, ord: NormOrd, [rows, cols]: number[]): Tensor {
  const keep = { keepdims: true };
  if (ord === 'fro') return sqrt(sum(square(t), [rows, cols], keep));
  if (ord === 2 || ord === -2 || ord === 'nuc') return spectralNorm(t, ord, rows, cols);
  if (ord === 1 || ord === -1) return (ord === 1 ? max : min)(sum(abs(t), rows, keep), cols, keep);
  return (ord === Infinity ? max : min)(sum(abs(t), cols, keep), rows, keep);
}

/**
 * Vector or matrix norm, as numpy.linalg.norm for the orders listed in NormOptions. The
 * derivative at x = 0 is JAX's: NaN for the 2-norm and 'fro' (the norm has no derivative
 * there), 0 for ord 1 and ±Infinity (abs'(0) = 0); max/min ties share the derivative evenly,
 * also between repeated singular values for matrix ord 2 and -2.
 * @example norm(array([3, 4])).item() // 5
 * @example norm(array([[1, -2], [3, 4]]), { ord: 1, axis: [0, 1] }).item() // 6
 * @example norm(array([[2, 0], [0, -3]]), { ord: 'nuc' }).item() // 5
 */
export function norm(x: TensorLike, options: NormOptions = {}): Tensor {
  const t = toTensor('norm', x);
  const { ord, axis, keepdims = false } = options;
  let axes: number[];
  if (axis === undefined || axis === null) {
    if (ord === undefined) axes = normalizeAxes('norm', null, t.ndim);
    else if (t.ndim === 1 || t.ndim === 2) axes = [...t.shape.keys()];
    else throw new ArgumentError(`norm: an ord (${String(ord)}) without axis needs a vector or a matrix, got shape ${fmtShape(t.shape)}; pass axis.`);
  } else {
    axes = typeof axis === 'number' ? [axis] : [...axis];
    if (axes.length < 1 || axes.length > 2) throw new ArgumentError(`norm: axis [${axes.join(', ')}] must name one axis (vector norm) or two (matrix norm).`);
    axes = axes.map((a) => normalizeAxis('norm', a, t.ndim));
    if (axes.length === 2 && axes[0] === axes[1]) throw new ArgumentError(`norm: axis [${axes.join(', ')}] repeats an axis; give two different axes for a matrix norm.`);
  }
  const matrix = axes.length === 2 && (axis !== undefined && axis !== null || ord !== undefined);
  let out: Tensor;
  if (matrix) {
    const o = ord ?? 'fro';
    if (o !== 'fro' && o !== 'nuc' && o !== 1 && o !== -1 && o !== 2 && o !== -2 && o !== Infinity && o !== -Infinity) {
      throw new ArgumentError(`norm: matrix ord ${String(o)} is not supported (shape ${fmtShape(t.shape)}, axes [${axes.join(', ')}]); use 'fro', 'nuc', 1, -1, 2, -2, Infinity or -Infinity.`);
    }
    out = matrixNorm(t, o, axes);
  } else {
    const o = ord ?? 2;
    if (typeof o !== 'number' || o === 0 || Number.isNaN(o)) {
      throw new ArgumentError(`norm: vector ord ${String(o)} is not supported; use 2, 1, Infinity, -Infinity or another non-zero number ('fro' and 'nuc' are matrix norms: pass two axes).`);
    }
    out = vectorNorm(t, o, axes);
  }
  return keepdims ? out : reshape(out, t.shape.filter((_, i) => !axes.includes(i)));
}
