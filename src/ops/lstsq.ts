// lstsq: x = pinv(A) b, with pinv a primitive computed from the SVD kernel whose rules are
// Golub & Pereyra's derivative of the pseudo-inverse at fixed rank: exact wherever the rank does
// not change, repeated singular values included (JAX's lstsq differentiates through its SVD and
// gives NaN there). Singular values at or below rcond * max(s) are dropped; the derivative is
// that of the pseudo-inverse of the matrix with them set to zero, which is the derivative of the
// truncated solution when they are zero and differs from it by O(dropped / kept^2) otherwise.
import { definePrimitive } from '../core/primitive.js';
import { bind } from '../core/trace.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { empty } from '../tensor/create.js';
import { closeScope, openScope } from '../tensor/scope.js';
import type { DenseTensor, Tensor } from '../tensor/tensor.js';
import { toTensor, type TensorLike } from './convert.js';
import { matrixArg, memberSparsity, mT, svdFactors } from './decomp.js';
import { add, greater, mul, neg, reciprocal, sub, where } from './elementwise.js';
import { matmul, matmulT } from './matmul.js';
import { max } from './reduce.js';
import { expandDims } from './shape.js';
import { batchMatrix } from './batching.js';

interface PinvParams {
  /** Singular values at or below rcond * max(s) count as zero. */
  rcond: number;
}

// P = A^+ (singular values at or below rcond * max(s) dropped). At fixed rank (Golub & Pereyra 1973):
// dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P.
// Its transpose: A_bar = -P^T P_bar P^T + (I - A P) P_bar^T P P^T + P^T P P_bar^T (I - P A).
const pinvP = definePrimitive<PinvParams>({
  name: 'pinv',
  batch: batchMatrix(),
  shape: ([a]) => ({ shape: [...a.shape.slice(0, -2), a.shape[a.shape.length - 1], a.shape[a.shape.length - 2]], dtype: a.dtype }),
  saves: [0, 'out'],
  // Every element of pinv(A) depends on all of A's member.
  sparsity: memberSparsity(2, () => null),
  impl([a], { rcond }) {
    const [m, n] = a.shape.slice(-2);
    const scope = openScope();
    let result: DenseTensor | null = null;
    try {
      if (Math.min(m, n) === 0) {
        result = empty([...a.shape.slice(0, -2), n, m], a.dtype, 'lstsq');
        return result;
      }
      const [u, s, vt] = svdFactors(a);
      const keep = greater(s, mul(max(s, -1, { keepdims: true }), rcond));
      const sInv = where(keep, reciprocal(where(keep, s, 1)), 0);
      result = matmulT(vt, mul(expandDims(sInv, -1), mT(u)), true, false).dense();
      return result;
    } finally {
      closeScope(scope, result ? [result] : []);
    }
  },
  jvp({ inputs: [a], tangents: [ta], out: p }) {
    if (!ta) return null;
    const taT = mT(ta);
    const first = neg(matmulT(p, matmulT(ta, p, false, false), false, false));
    const ppT = matmulT(p, p, false, true);
    const ap = matmulT(a, p, false, false);
    const second = matmulT(ppT, sub(taT, matmulT(taT, ap, false, false)), false, false);
    const ptp = matmulT(p, p, true, false);
    const third = matmulT(sub(taT, matmulT(matmulT(p, a, false, false), taT, false, false)), ptp, false, false);
    return add(add(first, second), third);
  },
  vjp({ ct, inputs: [a], out: p }) {
    const first = neg(matmulT(p, matmulT(ct, p, false, true), true, false));
    const b = matmulT(matmulT(ct, p, true, false), p, false, true);
    const second = sub(b, matmulT(a, matmulT(p, b, false, false), false, false));
    const c = matmulT(p, matmulT(p, ct, false, true), true, false);
    const third = sub(c, matmulT(matmulT(c, p, false, false), a, false, false));
    return [add(add(first, second), third)];
  },
});

// ---------------------------------------------------------------------------------------------
// Public op.

export interface LstsqOptions {
  /**
   * Singular values at or below rcond * max(s) count as zero (the pseudo-inverse drops them).
   * Default: machine epsilon of the dtype times max(m, n), as JAX and NumPy.
   */
  rcond?: number;
}

/**
 * The least-squares solution x minimising ||A x - b|| (the one of least norm when A is
 * rank-deficient or wide): x = pinv(A) b, from the SVD. A is [..., m, n]; b is a vector [m]
 * or matrices [..., m, p], as for `solve`. Differentiable in A and b in both modes at fixed
 * rank, repeated singular values included.
 * @example lstsq(array([[1, 0], [0, 1], [1, 1]]), array([1, 2, 3])).toArray() // [1, 2]
 */
export function lstsq(a: TensorLike, b: TensorLike, options: LstsqOptions = {}): Tensor {
  const x = matrixArg('lstsq', a);
  const y = toTensor('lstsq', b, x.dtype);
  const [m, n] = x.shape.slice(-2);
  if (y.ndim === 0 || y.shape[y.ndim === 1 ? 0 : y.ndim - 2] !== m) {
    throw new ShapeError(`lstsq: the right-hand side must have shape [${m}] or [..., ${m}, p] to match the matrix of shape ${fmtShape(x.shape)}, got ${fmtShape(y.shape)}.`);
  }
  const rcond = options.rcond ?? (x.dtype === 'float64' ? 2 ** -52 : 2 ** -23) * Math.max(m, n);
  if (typeof rcond !== 'number' || !(rcond >= 0)) {
    throw new ArgumentError(`lstsq: rcond must be a non-negative number, got ${String(options.rcond)}.`);
  }
  return matmul(bind(pinvP, [x], { rcond }), y);
}
