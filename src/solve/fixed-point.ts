// Fixed points with implicit differentiation. x* = T(x*, p) is the root of T(x, p) - x, so its
// derivative, dx* = (I - dT/dx)^{-1} (dT/dp dp), comes from the machinery rootFind uses; only
// the concrete solver differs: plain fixed-point iteration, never differentiated.
import { ArgumentError, ConvergenceError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { toTensor, type TensorLike } from '../ops/convert.js';
import { sub } from '../ops/elementwise.js';
import type { Tree } from '../tree.js';
import { scoped } from '../transforms/util.js';
import { checkTolerances, concreteValue, implicitSolution, maxAbs, prepare, type Residual, type TensorTree } from './root.js';

export interface FixedPointOptions {
  /** The starting point (its shape is the fixed point's shape); only its value is used. */
  x0: TensorLike;
  /**
   * Stop when max |T(x) - x| <= tol max(1, max |x|) (default 1e-12 in float64, 1e-6 in float32).
   * With a contraction rate r the error left is about r / (1 - r) times that step.
   */
  tol?: number;
  /** Default 1000. */
  maxIter?: number;
}

// int32 parameters are refused before this is read; the entry keeps the table total.
const DEFAULT_TOL = { float64: 1e-12, float32: 1e-6, int32: 1e-12 };

function iterate(op: string, map: Residual, x0: Tensor, leaves: Tensor[], tol: number, maxIter: number): Tensor {
  let x = x0;
  let step = Infinity;
  for (let it = 0; it < maxIter; it++) {
    const next = scoped(() => concreteValue(op, map, x, leaves));
    step = scoped(() => maxAbs(sub(next, x)));
    if (x !== x0) x.dispose();
    x = next;
    if (!Number.isFinite(step)) {
      throw new ConvergenceError(`${op}: the iteration produced a non-finite value at iteration ${it}; T is not a contraction near x0. Start closer to the fixed point or rewrite T.`);
    }
    if (step <= tol * Math.max(1, maxAbs(x))) return x;
  }
  throw new ConvergenceError(`${op}: no fixed point within tol ${tol} after ${maxIter} iterations (last step ${step}). T may not be a contraction near x0; raise maxIter, loosen tol, or start closer.`);
}

/**
 * A fixed point x* = T(x*, params), found by iterating x <- T(x, params) on concrete values and
 * differentiable with respect to params (a tree) by the implicit function theorem, in forward
 * and reverse mode, to any order. T must take its differentiated inputs through params.
 * @example
 * // x* = a cos(x*), so d x* / d a = cos(x*) / (1 + a sin(x*))
 * grad((a) => fixedPoint((x, a) => a.mul(cos(x)), a, {x0: 0}))(0.5)
 */
export function fixedPoint<P extends Tree>(T: (x: Tensor, params: TensorTree<P>) => TensorLike, params: P, options: FixedPointOptions): Tensor {
  const op = 'fixedPoint';
  const { tensors, dtype, call } = prepare(op, T as unknown as (x: Tensor, params: never) => TensorLike, params);
  if (options?.x0 === undefined) throw new ArgumentError(`${op}: options.x0, the starting point, is required.`);
  const tol = options.tol ?? DEFAULT_TOL[dtype];
  const maxIter = options.maxIter ?? 1000;
  checkTolerances(op, tol, maxIter);
  const x0 = options.x0;
  const residual: Residual = (x, leaves) => sub(call(x, leaves), x);
  return implicitSolution(op, residual, tensors, (leaves) => {
    // The fixed point does not depend on the starting point: take x0's value, never its derivative.
    const start = toTensor(op, x0, dtype).dense();
    try {
      return iterate(op, call, start, leaves, tol, maxIter);
    } finally {
      if (!(x0 instanceof Tensor)) start.dispose();
    }
  });
}
