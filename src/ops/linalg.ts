// Linear algebra primitives: solve, inv, det, logdet, cholesky and triangularSolve, batched over
// leading axes (solve and triangularSolve broadcast them against the right-hand side, as
// matmul does). The rules use the public ops, so they are differentiable again: hessians and
// hvps go through solves, and the det/logdet/cholesky rules through inv and triangularSolve.
//
// The factorisations run on `LinalgKernels`, one function per kernel with the argument order
// of the wasm kernels in assembly/linalg.ts (lu_<dt>, lu_solve_<dt>, cholesky_<dt>,
// tri_solve_<dt>) and their contracts (LAPACK's info codes, which triangle is read): a
// typed-array view here stands where a pointer stands there. `kernels` is the plain-JS
// reference below until those are in the embedded module; switching is giving
// src/backend/kernels.ts entry points with these signatures over DataBuffers and pointing the
// drivers (factorEach, solveEach, the cholesky and triangular_solve impls) at them, which then
// allocate with empty() instead of copying through data()/array(). The reference stays as the
// kernels' test oracle.
import { definePrimitive } from '../core/primitive.js';
import { bind } from '../core/trace.js';
import { broadcastStrides } from '../backend/kernels.js';
import { DualtapeError, ShapeError, fmtShape } from '../errors.js';
import { array } from '../tensor/create.js';
import { broadcastShapes, sizeOf } from '../tensor/shape.js';
import type { DenseTensor, DType, Tensor } from '../tensor/tensor.js';
import { coerce, toTensor, type TensorLike } from './convert.js';
import { add, mul, neg, sub } from './elementwise.js';
import { matmulT } from './matmul.js';
import { sum } from './reduce.js';
import { reshape, transpose } from './shape.js';

/** A matrix the op cannot factor: singular (solve, inv) or not positive definite (cholesky). */
export class LinAlgError extends DualtapeError {}

type FloatArray = Float64Array | Float32Array;

/** Row-major n x n matrices and n x nrhs right-hand sides, everything in place. */
export interface LinalgKernels {
  /** P A = L U with partial pivoting (LAPACK getrf, 0-based piv); 0, or 1 + the first zero pivot's column. */
  luFactor(a: FloatArray, piv: Int32Array, n: number): number;
  /** Solves A X = B in place in `b` from luFactor's factors and pivots. */
  luSolve(lu: FloatArray, piv: Int32Array, b: FloatArray, n: number, nrhs: number): void;
  /** L L^T = A reading the lower triangle, zeroing the upper; 0, or k when the leading k x k minor is not positive definite. */
  choleskyFactor(a: FloatArray, n: number): number;
  /** Solves op(T) X = B in place in `b` (op: transpose or not), reading only T's `lower` (or upper) triangle. */
  triSolve(t: FloatArray, b: FloatArray, n: number, nrhs: number, lower: boolean, transpose: boolean, unitDiag: boolean): void;
}

function luFactor(a: FloatArray, piv: Int32Array, n: number): number {
  let info = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    let best = Math.abs(a[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(a[i * n + k]);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    piv[k] = p;
    if (p !== k) swapRows(a, k, p, n);
    const pivot = a[k * n + k];
    if (pivot === 0) {
      if (info === 0) info = k + 1;
      continue;
    }
    for (let i = k + 1; i < n; i++) {
      const l = a[i * n + k] / pivot;
      a[i * n + k] = l;
      if (l !== 0) for (let j = k + 1; j < n; j++) a[i * n + j] -= l * a[k * n + j];
    }
  }
  return info;
}

function swapRows(a: FloatArray, r: number, s: number, width: number): void {
  for (let j = 0; j < width; j++) {
    const t = a[r * width + j];
    a[r * width + j] = a[s * width + j];
    a[s * width + j] = t;
  }
}

function luSolve(lu: FloatArray, piv: Int32Array, b: FloatArray, n: number, nrhs: number): void {
  for (let k = 0; k < n; k++) if (piv[k] !== k) swapRows(b, k, piv[k], nrhs);
  triSolve(lu, b, n, nrhs, true, false, true);
  triSolve(lu, b, n, nrhs, false, false, false);
}

function choleskyFactor(a: FloatArray, n: number): number {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      if (j < i) a[i * n + j] = s / a[j * n + j];
      else if (!(s > 0)) return i + 1; // also catches NaN
      else a[i * n + i] = Math.sqrt(s);
    }
    for (let j = i + 1; j < n; j++) a[i * n + j] = 0;
  }
  return 0;
}

function triSolve(t: FloatArray, b: FloatArray, n: number, nrhs: number, lower: boolean, transpose: boolean, unitDiag: boolean): void {
  // op(T) is lower triangular (solved first row first) when exactly one of lower/transpose holds.
  const forward = lower !== transpose;
  const at = transpose ? (i: number, k: number) => t[k * n + i] : (i: number, k: number) => t[i * n + k];
  for (let s = 0; s < n; s++) {
    const i = forward ? s : n - 1 - s;
    const k0 = forward ? 0 : i + 1;
    const k1 = forward ? i : n;
    for (let k = k0; k < k1; k++) {
      const c = at(i, k);
      if (c !== 0) for (let j = 0; j < nrhs; j++) b[i * nrhs + j] -= c * b[k * nrhs + j];
    }
    if (!unitDiag) {
      const d = t[i * n + i];
      for (let j = 0; j < nrhs; j++) b[i * nrhs + j] /= d;
    }
  }
}

/** @internal the plain-JS kernels, also the reference the wasm kernels are tested against. */
export const jsLinalgKernels: LinalgKernels = { luFactor, luSolve, choleskyFactor, triSolve };

const kernels: LinalgKernels = jsLinalgKernels;

// ---------------------------------------------------------------------------------------------
// Drivers: batch loops over matrices, copying data through typed arrays.

function newData(dtype: DType, size: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
}

/** For each member of `batch`, the index of the member of `own` (broadcast to it) it reads. */
function memberIndex(own: readonly number[], batch: readonly number[]): Int32Array {
  const strides = broadcastStrides(own, batch);
  const count = sizeOf(batch);
  const out = new Int32Array(count);
  const index = new Array<number>(batch.length).fill(0);
  for (let i = 0; i < count; i++) {
    let o = 0;
    for (let d = 0; d < batch.length; d++) o += index[d] * strides[d];
    out[i] = o;
    for (let d = batch.length - 1; d >= 0; d--) {
      if (++index[d] < batch[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

function memberName(a: Tensor, m: number): string {
  return a.ndim > 2 ? ` (batch member ${m})` : '';
}

interface LU {
  lu: FloatArray;
  piv: Int32Array;
  /** Per member: 0, or 1 + the column of the first zero pivot. */
  info: Int32Array;
  n: number;
}

/** LU-factors every n x n member of `a`. */
function factorEach(a: DenseTensor): LU {
  const n = lastDim(a);
  const count = sizeOf(a.shape.slice(0, -2));
  const lu = a.data();
  const piv = new Int32Array(count * n);
  const info = new Int32Array(count);
  for (let m = 0; m < count && n > 0; m++) {
    info[m] = kernels.luFactor(lu.subarray(m * n * n, (m + 1) * n * n), piv.subarray(m * n, (m + 1) * n), n);
  }
  return { lu, piv, info, n };
}

function singular(op: string, a: Tensor, m: number, info: number): LinAlgError {
  return new LinAlgError(`${op}: the matrix${memberName(a, m)} of shape ${fmtShape(a.shape)} is singular: LU with partial pivoting found a zero pivot in column ${info - 1}. Check the matrix (a repeated row or column, a zero row), or use a least-squares method.`);
}

/** X = A^{-1} B per batch member, A broadcast against the batch axes of B (data and shape). */
function solveEach(op: string, a: DenseTensor, bData: FloatArray, bShape: readonly number[], outShape: number[]): FloatArray {
  const f = factorEach(a);
  const n = f.n;
  const nrhs = bShape[bShape.length - 1];
  const batch = outShape.slice(0, -2);
  const ia = memberIndex(a.shape.slice(0, -2), batch);
  const ib = memberIndex(bShape.slice(0, -2), batch);
  const out = newData(a.dtype, sizeOf(outShape));
  const step = n * nrhs;
  for (let m = 0; m < ia.length; m++) {
    const am = ia[m];
    if (f.info[am] !== 0) throw singular(op, a, am, f.info[am]);
    const x = out.subarray(m * step, (m + 1) * step);
    x.set(bData.subarray(ib[m] * step, (ib[m] + 1) * step));
    if (step > 0) kernels.luSolve(f.lu.subarray(am * n * n, (am + 1) * n * n), f.piv.subarray(am * n, (am + 1) * n), x, n, nrhs);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Helpers for the rules.

/** Swaps the last two axes. */
function mT(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  perm[x.ndim - 2] = x.ndim - 1;
  perm[x.ndim - 1] = x.ndim - 2;
  return transpose(x, perm);
}

/** An n x n 0/1 mask (or `diagonal` on the diagonal) of the lower or upper triangle. */
function triangleMask(n: number, lower: boolean, diagonal: number, dtype: DType): Tensor {
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) data[i * n + j] = i === j ? diagonal : (lower ? i > j : i < j) ? 1 : 0;
  }
  return array(data, { shape: [n, n], dtype });
}

function lastDim(x: Tensor): number {
  return x.shape[x.ndim - 1];
}

interface OpParams {
  /** The user-facing operation to name in errors (a rule's solve names the op it serves). */
  op: string;
}

interface TriParams extends OpParams {
  lower: boolean;
  transpose: boolean;
  unitDiag: boolean;
}

/** The part of a matrix (or tangent) that triangularSolve reads. */
function triPart(x: Tensor, { lower, unitDiag }: TriParams): Tensor {
  return mul(x, triangleMask(lastDim(x), lower, unitDiag ? 0 : 1, x.dtype));
}

// ---------------------------------------------------------------------------------------------
// Primitives.

// X = A^{-1} B.  dX = A^{-1} (dB - dA X);  B_bar = A^{-T} X_bar, A_bar = -B_bar X^T.
const solveP = definePrimitive<OpParams>({
  name: 'solve',
  broadcasts: true,
  impl([a, b], { op }) {
    const shape = [...broadcastShapes(op, a.shape.slice(0, -2), b.shape.slice(0, -2)), ...b.shape.slice(-2)];
    return array(solveEach(op, a, b.data(), b.shape, shape), { shape, dtype: a.dtype }) as DenseTensor;
  },
  jvp([a], [ta, tb], x, p) {
    const dax = ta && matmulT(ta, x, false, false);
    const rhs = dax ? (tb ? sub(tb, dax) : neg(dax)) : tb;
    return rhs && solveMatrix(a, rhs, p.op);
  },
  vjp(ct, [a], x, p, wanted) {
    const bBar = solveMatrix(mT(a), ct, p.op);
    return [wanted[0] ? neg(matmulT(bBar, x, false, true)) : null, bBar];
  },
});

/** @internal A^{-1} B for A [..., n, n] and B [..., n, m] with broadcast batch axes. */
export function solveMatrix(a: Tensor, b: Tensor, op = 'solve'): Tensor {
  return bind(solveP, [a, b], { op });
}

// C = A^{-1}.  dC = -C dA C (from 0 = d(C A));  A_bar = -C^T C_bar C^T.
const invP = definePrimitive<OpParams>({
  name: 'inv',
  impl([a], { op }) {
    const n = lastDim(a);
    const identity = newData(a.dtype, n * n);
    for (let i = 0; i < n; i++) identity[i * n + i] = 1;
    return array(solveEach(op, a, identity, [n, n], [...a.shape]), { shape: a.shape, dtype: a.dtype }) as DenseTensor;
  },
  jvp: ([], [ta], c) => ta && neg(matmulT(c, matmulT(ta, c, false, false), false, false)),
  vjp: (ct, _, c) => [neg(matmulT(c, matmulT(ct, c, false, true), true, false))],
});

function invMatrix(a: Tensor, op: string): Tensor {
  return bind(invP, [a], { op });
}

/** det and log|det| of every member from its LU factors. */
function detImpl(a: DenseTensor, log: boolean): DenseTensor {
  const f = factorEach(a);
  const n = f.n;
  const count = f.info.length;
  const out = newData(a.dtype, count);
  for (let m = 0; m < count; m++) {
    let value = log ? 0 : 1;
    for (let k = 0; k < n; k++) {
      const u = f.lu[m * n * n + k * n + k];
      if (log) value += Math.log(Math.abs(u));
      else value *= f.piv[m * n + k] === k ? u : -u;
    }
    out[m] = value;
  }
  return array(out, { shape: a.shape.slice(0, -2), dtype: a.dtype }) as DenseTensor;
}

/** A^{-T} (the rules of det and logdet need A invertible). */
function invTranspose(a: Tensor, op: string): Tensor {
  return mT(invMatrix(a, `${op} (derivative, which needs A invertible)`));
}

// d det A = det A tr(A^{-1} dA) = det A sum(A^{-T} * dA);  A_bar = det_bar det A A^{-T}.
const detP = definePrimitive({
  name: 'det',
  impl: ([a]) => detImpl(a, false),
  jvp: ([a], [ta], d) => ta && mul(d, sum(mul(ta, invTranspose(a, 'det')), [-2, -1])),
  vjp: (ct, [a], d) => [mul(reshape(mul(ct, d), [...ct.shape, 1, 1]), invTranspose(a, 'det'))],
});

// d log|det A| = tr(A^{-1} dA);  A_bar = logdet_bar A^{-T}.
const logdetP = definePrimitive({
  name: 'logdet',
  impl: ([a]) => detImpl(a, true),
  jvp: ([a], [ta]) => ta && sum(mul(ta, invTranspose(a, 'logdet')), [-2, -1]),
  vjp: (ct, [a]) => [mul(reshape(ct, [...ct.shape, 1, 1]), invTranspose(a, 'logdet'))],
});

// L L^T = (A + A^T)/2.  With Phi(X) the lower triangle of X with its diagonal halved,
// dL = L Phi(L^{-1} sym(dA) L^{-T});  A_bar = sym(L^{-T} Phi(L^T L_bar) L^{-1}).
const choleskyP = definePrimitive({
  name: 'cholesky',
  impl([a]) {
    const n = lastDim(a);
    const data = a.data();
    const count = sizeOf(a.shape.slice(0, -2));
    for (let m = 0; m < count; m++) {
      const s = data.subarray(m * n * n, (m + 1) * n * n);
      // The symmetric part goes into the lower triangle, the one the kernel reads.
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) s[i * n + j] = (s[i * n + j] + s[j * n + i]) / 2;
      const info = kernels.choleskyFactor(s, n);
      if (info !== 0) {
        throw new LinAlgError(`cholesky: the matrix${memberName(a, m)} of shape ${fmtShape(a.shape)} is not positive definite: its leading ${info} x ${info} minor is not (the pivot in column ${info - 1} is not positive). Cholesky needs a symmetric positive definite matrix; add a multiple of the identity, or use solve.`);
      }
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) s[i * n + j] = 0;
    }
    return array(data, { shape: a.shape, dtype: a.dtype }) as DenseTensor;
  },
  jvp([], [ta], l) {
    if (!ta) return null;
    const lower: TriParams = { op: 'cholesky', lower: true, transpose: false, unitDiag: false };
    const y = triSolveMatrix(l, mul(add(ta, mT(ta)), 0.5), lower);
    return matmulT(l, phi(triSolveMatrix(l, mT(y), lower)), false, false);
  },
  vjp(ct, _, l) {
    const lowerT: TriParams = { op: 'cholesky', lower: true, transpose: true, unitDiag: false };
    const z = triSolveMatrix(l, phi(matmulT(l, ct, true, false)), lowerT);
    const gT = triSolveMatrix(l, mT(z), lowerT);
    return [mul(add(gT, mT(gT)), 0.5)];
  },
});

function phi(x: Tensor): Tensor {
  return mul(x, triangleMask(lastDim(x), true, 0.5, x.dtype));
}

// X = op(T)^{-1} B.  dX = op(T)^{-1} (dB - op(dT) X);  B_bar = op(T)^{-T} X_bar,
// T_bar = -B_bar X^T (no transpose) or -X B_bar^T (transpose), restricted to the read triangle.
const triangularSolveP = definePrimitive<TriParams>({
  name: 'triangular_solve',
  broadcasts: true,
  impl([t, b], p) {
    const n = lastDim(t);
    const nrhs = lastDim(b);
    const shape = [...broadcastShapes(p.op, t.shape.slice(0, -2), b.shape.slice(0, -2)), n, nrhs];
    const batch = shape.slice(0, -2);
    const it = memberIndex(t.shape.slice(0, -2), batch);
    const ib = memberIndex(b.shape.slice(0, -2), batch);
    const tData = t.data();
    if (!p.unitDiag) {
      for (let m = 0; m < sizeOf(t.shape.slice(0, -2)); m++) {
        for (let i = 0; i < n; i++) {
          if (tData[m * n * n + i * n + i] === 0) {
            throw new LinAlgError(`${p.op}: the triangular matrix${memberName(t, m)} of shape ${fmtShape(t.shape)} is singular: its diagonal entry ${i} is zero.`);
          }
        }
      }
    }
    const bData = b.data();
    const out = newData(t.dtype, sizeOf(shape));
    const step = n * nrhs;
    for (let m = 0; m < it.length; m++) {
      const x = out.subarray(m * step, (m + 1) * step);
      x.set(bData.subarray(ib[m] * step, (ib[m] + 1) * step));
      if (step > 0) kernels.triSolve(tData.subarray(it[m] * n * n, (it[m] + 1) * n * n), x, n, nrhs, p.lower, p.transpose, p.unitDiag);
    }
    return array(out, { shape, dtype: t.dtype }) as DenseTensor;
  },
  jvp([t], [tt, tb], x, p) {
    const dtx = tt && matmulT(triPart(tt, p), x, p.transpose, false);
    const rhs = dtx ? (tb ? sub(tb, dtx) : neg(dtx)) : tb;
    return rhs && triSolveMatrix(t, rhs, p);
  },
  vjp(ct, [t], x, p, wanted) {
    const bBar = triSolveMatrix(t, ct, { ...p, transpose: !p.transpose });
    if (!wanted[0]) return [null, bBar];
    const outer = p.transpose ? matmulT(x, bBar, false, true) : matmulT(bBar, x, false, true);
    return [neg(triPart(outer, p)), bBar];
  },
});

function triSolveMatrix(t: Tensor, b: Tensor, p: TriParams): Tensor {
  return bind(triangularSolveP, [t, b], p);
}

// ---------------------------------------------------------------------------------------------
// Public ops.

function checkSquare(op: string, a: Tensor): void {
  if (a.ndim < 2 || a.shape[a.ndim - 1] !== a.shape[a.ndim - 2]) {
    throw new ShapeError(`${op}: expected a square matrix or a batch of them (shape [..., n, n]), got shape ${fmtShape(a.shape)}.`);
  }
}

/** Applies a matrix-right-hand-side op to B given as a vector [n] or as matrices [..., n, m]. */
function withRhs(op: string, a: Tensor, b: Tensor, apply: (bm: Tensor) => Tensor): Tensor {
  checkSquare(op, a);
  const n = lastDim(a);
  const vector = b.ndim === 1;
  if (b.ndim === 0 || b.shape[vector ? 0 : b.ndim - 2] !== n) {
    throw new ShapeError(`${op}: the right-hand side must have shape [${n}] or [..., ${n}, m] to match the matrix of shape ${fmtShape(a.shape)}, got ${fmtShape(b.shape)}.`);
  }
  broadcastShapes(op, a.shape.slice(0, -2), vector ? [] : b.shape.slice(0, -2));
  if (!vector) return apply(b);
  const x = apply(reshape(b, [n, 1]));
  return reshape(x, x.shape.slice(0, -1));
}

/**
 * Solves A X = B. A is [..., n, n]; B is a vector [n] or matrices [..., n, m] (the Array API
 * rule: only a 1-D B is a vector; give a batch of vectors a trailing axis of 1). Leading axes
 * broadcast. Throws a LinAlgError for a singular A.
 * @example solve(array([[2, 0], [0, 4]]), array([2, 2])).toArray() // [1, 0.5]
 */
export function solve(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = coerce('solve', [a, b]);
  return withRhs('solve', x, y, (bm) => solveMatrix(x, bm, 'solve'));
}

export interface TriangularSolveOptions {
  /** Read the lower triangle (default) or the upper one; the other is never read. */
  lower?: boolean;
  /** Solve T^T X = B instead of T X = B. */
  transpose?: boolean;
  /** Take the diagonal as ones without reading it. */
  unitDiagonal?: boolean;
}

/**
 * Solves T X = B (or T^T X = B) for triangular T by substitution, B shaped as for `solve`.
 * @example triangularSolve(array([[2, 0], [1, 1]]), array([2, 3])).toArray() // [1, 2]
 */
export function triangularSolve(t: TensorLike, b: TensorLike, options: TriangularSolveOptions = {}): Tensor {
  const [x, y] = coerce('triangularSolve', [t, b]);
  const p: TriParams = { op: 'triangularSolve', lower: options.lower ?? true, transpose: options.transpose ?? false, unitDiag: options.unitDiagonal ?? false };
  return withRhs('triangularSolve', x, y, (bm) => triSolveMatrix(x, bm, p));
}

function squareArg(op: string, a: TensorLike): Tensor {
  const x = toTensor(op, a);
  checkSquare(op, x);
  return x;
}

/**
 * The inverse of each matrix in [..., n, n]. Prefer `solve` for A^{-1} B: it is cheaper and
 * more accurate. Throws a LinAlgError for a singular matrix.
 * @example inv(array([[2, 0], [0, 4]])).toArray() // [[0.5, 0], [0, 0.25]]
 */
export function inv(a: TensorLike): Tensor {
  return invMatrix(squareArg('inv', a), 'inv');
}

/**
 * The determinant of each matrix in [..., n, n] (shape [...]), from an LU factorisation.
 * @example det(array([[1, 2], [3, 4]])).item() // -2
 */
export function det(a: TensorLike): Tensor {
  return bind(detP, [squareArg('det', a)], {});
}

/**
 * log|det A| of each matrix in [..., n, n], without the overflow of det for large n; -Infinity
 * for a singular matrix. Its derivative is A^{-T} whatever the sign of det A.
 * @example logdet(array([[2, 0], [0, -3]])).item() // Math.log(6)
 */
export function logdet(a: TensorLike): Tensor {
  return bind(logdetP, [squareArg('logdet', a)], {});
}

/**
 * The lower-triangular L with L L^T = A for symmetric positive definite A [..., n, n]. Only the
 * symmetric part (A + A^T)/2 is used, so the gradient is symmetric. Throws a LinAlgError when
 * A is not positive definite.
 * @example cholesky(array([[4, 2], [2, 2]])).toArray() // [[2, 0], [1, 1]]
 */
export function cholesky(a: TensorLike): Tensor {
  return bind(choleskyP, [squareArg('cholesky', a)], {});
}
