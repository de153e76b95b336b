// Everyday numerics built from existing primitives, so both derivative rules come for free and
// the conventions at non-differentiable points are those of the parts: maximum and minimum
// split the derivative evenly at ties (clip at a bound, logaddexp and softplus where the
// operands are equal), as JAX's jnp.clip, jnp.logaddexp and jax.nn.softplus, which are built
// the same way.
import { ArgumentError, fmtShape } from '../errors.js';
import { normalizeAxes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { coerce, toTensor, type TensorLike } from './convert.js';
import { abs, add, div, equal, exp, maximum, minimum, neg, sqrt, square, sub, where } from './elementwise.js';
import { mean } from './reduce.js';
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

/**
 * log(1 + e^x) elementwise, computed stably as logaddexp(x, 0); its derivative is sigmoid(x).
 * @example softplus(0).item() // Math.LN2
 */
export function softplus(x: TensorLike): Tensor {
  return logaddexp(toTensor('softplus', x), 0);
}

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
