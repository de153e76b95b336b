// Decompositions: qr, eigh and svd (lstsq, built on the SVD, is in lstsq.ts), batched over
// leading axes, with the derivative rules JAX gives them (jax/_src/lax/linalg.py), written with
// the public ops so they differentiate again. The impls run the kernels of assembly/decomp.ts
// through src/backend/kernels.ts.
//
// Several outputs, one primitive: qr, eigh and svd each compute all their factors in one kernel
// call, so each is one primitive whose output packs the factors, flattened and concatenated
// along one trailing axis ([..., m*n + n*n] for qr's Q and R); the public op cuts it apart with
// slice and reshape. One factorisation per call (a primitive per output would factor twice or
// need a cache keyed by input), one tape node, and rules that see every factor. The cost: a
// cotangent comes in packed, with zeros for unused factors rather than symbolic zeros, so the
// rules mask the products that JAX would skip (see maskedMul), which keeps the gradient of a
// function of the eigenvalues or singular values alone finite at degenerate points, as JAX's is.
import * as k from '../backend/kernels.js';
import { NO_PARAMS, definePrimitive, type Aval, type DepSetsLike, type Sparsity } from '../core/primitive.js';
import { bind } from '../core/trace.js';
import { ConvergenceError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { array, empty, eye } from '../tensor/create.js';
import { sizeOf } from '../tensor/shape.js';
import type { DenseTensor, DType, Tensor } from '../tensor/tensor.js';
import { toTensor, type TensorLike } from './convert.js';
import { add, div, equal, mul, reciprocal, sub, where } from './elementwise.js';
import { triSolveMatrix, type TriParams } from './linalg.js';
import { matmulT } from './matmul.js';
import { sum } from './sum.js';
import { concat, expandDims, reshape, slice, transpose } from './shape.js';
import { batchMatrix } from './batching.js';

// ---------------------------------------------------------------------------------------------
// Packing several factors into one output.

/** The factors' shapes, per matrix (batch axes excluded). */
type Parts = number[][];

const qrParts = (m: number, n: number): Parts => {
  const kk = Math.min(m, n);
  return [[m, kk], [kk, n]];
};
const eighParts = (n: number): Parts => [[n], [n, n]];
const svdParts = (m: number, n: number): Parts => {
  const kk = Math.min(m, n);
  return [[m, kk], [kk], [kk, n]];
};

/** x [..., total] cut into the parts [..., ...shape_i]. */
function unpack(x: Tensor, parts: Parts): Tensor[] {
  const lead = x.shape.slice(0, -1);
  let offset = 0;
  return parts.map((shape) => {
    const size = sizeOf(shape);
    const piece = slice(x, [...lead.map(() => 0), offset], [...lead, size]);
    offset += size;
    return reshape(piece, [...lead, ...shape]);
  });
}

/** The inverse of unpack: parts [..., ...shape_i] flattened and joined along a trailing axis. */
function pack(xs: Tensor[], parts: Parts): Tensor {
  return concat(xs.map((x, i) => {
    const lead = x.shape.slice(0, x.ndim - parts[i].length);
    return reshape(x, [...lead, sizeOf(parts[i])]);
  }), -1);
}

// ---------------------------------------------------------------------------------------------
// Helpers for the impls and rules.

function lastDim(x: Tensor): number {
  return x.shape[x.ndim - 1];
}

/** @internal Swaps the last two axes. */
export function mT(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  perm[x.ndim - 2] = x.ndim - 1;
  perm[x.ndim - 1] = x.ndim - 2;
  return transpose(x, perm);
}

/** The diagonals of the last two axes, [..., n]. */
function diagPart(x: Tensor): Tensor {
  return sum(mul(x, eye(lastDim(x), { dtype: x.dtype })), -1);
}

/** Diagonal matrices [..., n, n] from [..., n]. */
function diagMatrix(d: Tensor): Tensor {
  return mul(expandDims(d, -2), eye(lastDim(d), { dtype: d.dtype }));
}

/**
 * F with F_ij = 1 / gap_ij off the diagonal and 0 on it, built as JAX builds it:
 * 1 / (I + gap) - I. A zero gap off the diagonal (a repeated eigenvalue or singular value)
 * gives Infinity, and so Infinity or NaN in what F multiplies: JAX's convention.
 */
function reciprocalGaps(gap: Tensor): Tensor {
  const identity = eye(lastDim(gap), { dtype: gap.dtype });
  return sub(reciprocal(add(identity, gap)), identity);
}

/**
 * F * x, but 0 where x is 0: a reverse rule's F o (V^T V_bar) where V_bar is a zero cotangent
 * (a factor the function did not use) is what JAX skips as a symbolic zero; this keeps it 0
 * rather than Infinity * 0 = NaN at a degenerate point.
 */
function maskedMul(f: Tensor, x: Tensor): Tensor {
  return where(equal(x, 0), 0, mul(f, x));
}

/** x / d, but 0 where x is 0 (as maskedMul, for a division by a zero singular value). */
function maskedDiv(x: Tensor, d: Tensor): Tensor {
  return where(equal(x, 0), 0, div(x, d));
}

/** The n x n 0/1 mask of the entries (i, j) with `keep(i, j)`. */
function mask(n: number, keep: (i: number, j: number) => boolean, dtype: DType): Tensor {
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = keep(i, j) ? 1 : 0;
  return array(data, { shape: [n, n], dtype });
}

const strictLower = (i: number, j: number) => i > j;
const strictUpper = (i: number, j: number) => i < j;
const upper = (i: number, j: number) => i <= j;

function memberName(a: Tensor, m: number): string {
  return a.ndim > 2 ? ` (batch member ${m})` : '';
}

/** (A + A^T) / 2 of each member, as a new tensor (the eigen kernel overwrites its input). */
function symmetricPart(op: string, a: DenseTensor): DenseTensor {
  const out = empty(a.shape, a.dtype, op);
  if (a.size === 0) return out;
  const strides = k.contiguousStrides(a.shape);
  [strides[a.ndim - 2], strides[a.ndim - 1]] = [strides[a.ndim - 1], strides[a.ndim - 2]];
  const aT = empty(a.shape, a.dtype, op);
  k.copyStrided(aT.liveBuffer(op), a.liveBuffer(op), a.shape, strides);
  const buffer = out.liveBuffer(op);
  k.binary('add', buffer, a.liveBuffer(op), aT.liveBuffer(op), a.shape, a.shape, a.shape);
  aT.dispose();
  k.scale(buffer, 0.5, buffer);
  return out;
}

/** A copy of x (the QR kernel overwrites its input). */
function copyOf(op: string, x: DenseTensor): DenseTensor {
  const out = empty(x.shape, x.dtype, op);
  if (x.size > 0) k.copy(out.liveBuffer(op), x.liveBuffer(op));
  return out;
}

/** The packed output [..., total] and a Slot per factor into it. */
function packedOutput(op: string, a: DenseTensor, parts: Parts): { out: DenseTensor; slots: k.Slot[] } {
  const total = parts.reduce((acc, shape) => acc + sizeOf(shape), 0);
  const out = empty([...a.shape.slice(0, -2), total], a.dtype, op);
  const buffer = out.liveBuffer(op);
  let offset = 0;
  const slots = parts.map((shape) => {
    const slot = { buffer, offset, stride: total };
    offset += sizeOf(shape);
    return slot;
  });
  return { out, slots };
}

/** The packed output's abstract value: [...batch, total] for input [...batch, m, n]. */
function packedAval(a: Aval, parts: Parts): Aval {
  return { shape: [...a.shape.slice(0, -2), parts.reduce((acc, shape) => acc + sizeOf(shape), 0)], dtype: a.dtype };
}

/**
 * @internal Sparsity of an op that keeps batch members apart: output element e of a member (row-major
 * within the member's `outRank` trailing axes) depends on the elements `deps(e, m, n)` of the
 * same member of the input [..., m, n] (null: all of them).
 */
export function memberSparsity<P>(outRank: number, deps: (e: number, m: number, n: number) => Iterable<number> | null): Sparsity<P> {
  return (algebra, { inputs: [x], out }) => {
    const per = sizeOf(out.shape.slice(out.shape.length - outRank));
    const [m, n] = x.shape.slice(-2);
    return algebra.build(sizeOf(out.shape), (e, add) => {
      if (!x.deps) return;
      const base = Math.floor(e / per) * m * n;
      const list = deps(e % per, m, n);
      if (list === null) for (let d = 0; d < m * n; d++) add(x.deps as DepSetsLike, base + d);
      else for (const d of list) add(x.deps as DepSetsLike, base + d);
    });
  };
}

/** eigh's eigenvalues and eigenvectors depend on all of A's member, except the 1 x 1 eigenvector [1]. */
const eighDeps = (e: number, _m: number, n: number) => (n === 1 && e > 0 ? [] : null);

/** svd's factors depend on all of A's member, except the 1 x 1 U (m = 1) or Vt (n = 1), which is +-1. */
function svdDeps(e: number, m: number, n: number): number[] | null {
  const kk = Math.min(m, n);
  const inU = e < m * kk, inVt = e >= m * kk + kk;
  return (inU && m === 1) || (inVt && n === 1) ? [] : null;
}

/**
 * QR's structure (m >= n), in the packed layout [Q | R]: Q's column j and R's diagonal entry
 * (j, j) depend on A's columns 0..j, except that a square A's last column of Q is the unit
 * normal to the others, its sign fixed by R[n-1][n-1] >= 0, so depends on columns 0..n-2 only;
 * R[i][j], i < j, depends on columns 0..i and j; R below the diagonal on nothing.
 */
function qrDeps(e: number, m: number, n: number): number[] {
  const columns: number[] = [];
  if (e < m * n) {
    const j = e % n;
    const last = m === n && j === n - 1 ? j - 1 : j;
    for (let q = 0; q <= last; q++) columns.push(q);
  } else {
    const i = Math.floor((e - m * n) / n), j = (e - m * n) % n;
    if (i <= j) for (let q = 0; q <= i; q++) columns.push(q);
    if (i < j) columns.push(j);
  }
  const out: number[] = [];
  for (let p = 0; p < m; p++) for (const q of columns) out.push(p * n + q);
  return out;
}

function notConverged(op: string, what: string, a: Tensor, m: number): ConvergenceError {
  return new ConvergenceError(`${op}: ${what} did not converge for the matrix${memberName(a, m)} of shape ${fmtShape(a.shape)}. This does not happen for finite input in testing; please report it with the matrix.`);
}

// ---------------------------------------------------------------------------------------------
// Primitives.

// A = Q R (m >= n, reduced; R's diagonal >= 0). With X = dA R^{-1}, C = Q^T X and
// Omega = tril(C, -1) - tril(C, -1)^T (skew, = Q^T dQ): dQ = Q (Omega - C) + X and
// dR = (C - Omega) R. They are computed as dQ = Q Omega + (X - Q C), the bracket only for
// m > n (it vanishes for square Q), and dR = triu(Q^T dA - Omega R): equal in exact arithmetic,
// and the entries that cannot depend on an input element come out exactly 0, as qrDeps says.
// Its transpose: M = R_bar R^T - Q^T Q_bar, X_bar = Q_bar + Q copyUpper(M),
// A_bar = X_bar R^{-T}, copyUpper(M) = triu(M) + triu(M, 1)^T.
// The primitive is for m >= n (its impl and shape would take any m x n, its rules and sparsity
// would not); the public op factors a wide A through its leading square block.
const qrP = definePrimitive({
  name: 'qr',
  batch: batchMatrix(),
  shape: ([a]) => packedAval(a, qrParts(a.shape[a.shape.length - 2], a.shape[a.shape.length - 1])),
  saves: ['out'],
  sparsity: memberSparsity(1, qrDeps),
  impl([a]) {
    const [m, n] = a.shape.slice(-2);
    const { out, slots } = packedOutput('qr', a, qrParts(m, n));
    const work = copyOf('qr', a);
    k.qrEach(work.liveBuffer('qr'), slots[0], slots[1], sizeOf(a.shape.slice(0, -2)), m, n);
    work.dispose();
    return out;
  },
  jvp({ inputs: [a], tangents: [ta], out }) {
    if (!ta) return null;
    const [m, n] = a.shape.slice(-2);
    const [q, r] = unpack(out, qrParts(m, n));
    const x = mT(triSolveMatrix(r, mT(ta), rSolve(true)));
    const c = matmulT(q, x, true, false);
    const low = mul(c, mask(n, strictLower, c.dtype));
    const omega = sub(low, mT(low));
    const qOmega = matmulT(q, omega, false, false);
    const dq = m > n ? add(qOmega, sub(x, matmulT(q, c, false, false))) : qOmega;
    const dr = mul(sub(matmulT(q, ta, true, false), matmulT(omega, r, false, false)), mask(n, upper, c.dtype));
    return pack([dq, dr], qrParts(m, n));
  },
  vjp({ ct, avals: [a], out }) {
    const [m, n] = a.shape.slice(-2);
    const [q, r] = unpack(out, qrParts(m, n));
    const [qBar, rBar] = unpack(ct, qrParts(m, n));
    const mm = sub(matmulT(rBar, r, false, true), matmulT(q, qBar, true, false));
    const copyUpper = add(mul(mm, mask(n, upper, mm.dtype)), mT(mul(mm, mask(n, strictUpper, mm.dtype))));
    const xBar = add(qBar, matmulT(q, copyUpper, false, false));
    return [mT(triSolveMatrix(r, mT(xBar), rSolve(false)))];
  },
});

/** Solves with R (upper triangular), or R^T; a singular R means A is rank-deficient. */
function rSolve(transpose: boolean): TriParams {
  return { op: 'qr (derivative, which needs R invertible: A of full column rank)', lower: false, transpose, unitDiag: false };
}

// V diag(w) V^T = S = (A + A^T) / 2. With P = V^T sym(dA) V: dw = diag(P), dV = V (F o P),
// F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it.
// Its transpose: A_bar = sym(V (diag(w_bar) + F o (V^T V_bar)) V^T).
const eighP = definePrimitive({
  name: 'eigh',
  batch: batchMatrix(),
  shape: ([a]) => packedAval(a, eighParts(a.shape[a.shape.length - 1])),
  saves: ['out'],
  sparsity: memberSparsity(1, eighDeps),
  impl([a]) {
    const n = lastDim(a);
    const { out, slots } = packedOutput('eigh', a, eighParts(n));
    const work = symmetricPart('eigh', a);
    const failed = k.eighEach(work.liveBuffer('eigh'), slots[0], slots[1], sizeOf(a.shape.slice(0, -2)), n);
    work.dispose();
    if (failed >= 0) {
      out.dispose();
      throw notConverged('eigh', 'the implicit QR iteration', a, failed);
    }
    return out;
  },
  jvp({ inputs: [a], tangents: [ta], out }) {
    if (!ta) return null;
    const n = lastDim(a);
    const [w, v] = unpack(out, eighParts(n));
    const p = matmulT(v, matmulT(symmetrize(ta), v, false, false), true, false);
    const dv = matmulT(v, mul(eigenGaps(w), p), false, false);
    return pack([diagPart(p), dv], eighParts(n));
  },
  vjp({ ct, avals: [a], out }) {
    const n = a.shape[a.shape.length - 1];
    const [w, v] = unpack(out, eighParts(n));
    const [wBar, vBar] = unpack(ct, eighParts(n));
    const inner = add(diagMatrix(wBar), maskedMul(eigenGaps(w), matmulT(v, vBar, true, false)));
    return [symmetrize(matmulT(v, matmulT(inner, v, false, true), false, false))];
  },
});

/** (x + x^T) / 2 over the last two axes. */
function symmetrize(x: Tensor): Tensor {
  return mul(add(x, mT(x)), 0.5);
}

/** F_ij = 1 / (w_j - w_i). */
function eigenGaps(w: Tensor): Tensor {
  return reciprocalGaps(sub(expandDims(w, -2), expandDims(w, -1)));
}

// A = U diag(s) V^T (reduced, k = min(m, n)). With dS = U^T dA V:
// ds = diag(dS), dU = U (F o (dS S + S dS^T)) [+ (I - U U^T) dA V S^{-1} when m > n],
// dV = V (F o (S dS + dS^T S)) [+ (I - V V^T) dA^T U S^{-1} when n > m], F_ij = 1 / (s_j^2 - s_i^2).
// Its transpose (Townsend 2016): A_bar = U (J S + diag(s_bar) + S K) V^T with
// J = F o (U^T U_bar - U_bar^T U), K = F o (V^T V_bar - V_bar^T V),
// [+ (I - U U^T) U_bar S^{-1} V^T when m > n] [+ U S^{-1} V_bar^T (I - V V^T) when n > m].
const svdP = definePrimitive({
  name: 'svd',
  batch: batchMatrix(),
  shape: ([a]) => packedAval(a, svdParts(a.shape[a.shape.length - 2], a.shape[a.shape.length - 1])),
  saves: ['out'],
  sparsity: memberSparsity(1, svdDeps),
  impl([a]) {
    const [m, n] = a.shape.slice(-2);
    const { out, slots } = packedOutput('svd', a, svdParts(m, n));
    const failed = k.svdEach(a.liveBuffer('svd'), slots[0], slots[1], slots[2], sizeOf(a.shape.slice(0, -2)), m, n);
    if (failed >= 0) {
      out.dispose();
      throw notConverged('svd', 'the one-sided Jacobi iteration', a, failed);
    }
    return out;
  },
  jvp({ inputs: [a], tangents: [ta], out }) {
    if (!ta) return null;
    const [m, n] = a.shape.slice(-2);
    const [u, s, vt] = unpack(out, svdParts(m, n));
    const ds = matmulT(u, matmulT(ta, vt, false, true), true, false);
    const f = singularGaps(s);
    const sRow = expandDims(s, -2);
    const sCol = expandDims(s, -1);
    const dsS = mul(ds, sRow);
    const sdS = mul(sCol, ds);
    let du = matmulT(u, mul(f, add(dsS, mT(dsS))), false, false);
    let dv = matmulT(vt, mul(f, add(sdS, mT(sdS))), true, false);
    if (m > n) du = add(du, div(sub(matmulT(ta, vt, false, true), matmulT(u, ds, false, false)), sRow));
    if (n > m) dv = add(dv, div(sub(matmulT(ta, u, true, false), matmulT(vt, ds, true, true)), sRow));
    return pack([du, diagPart(ds), mT(dv)], svdParts(m, n));
  },
  vjp({ ct, avals: [a], out }) {
    const [m, n] = a.shape.slice(-2);
    const [u, s, vt] = unpack(out, svdParts(m, n));
    const [uBar, sBar, vtBar] = unpack(ct, svdParts(m, n));
    const f = singularGaps(s);
    const sRow = expandDims(s, -2);
    const utu = matmulT(u, uBar, true, false);
    const vtv = matmulT(vt, vtBar, false, true);
    const j = maskedMul(f, sub(utu, mT(utu)));
    const kk = maskedMul(f, sub(vtv, mT(vtv)));
    const inner = add(add(mul(j, sRow), diagMatrix(sBar)), mul(expandDims(s, -1), kk));
    let aBar = matmulT(u, matmulT(inner, vt, false, false), false, false);
    if (m > n) aBar = add(aBar, matmulT(maskedDiv(sub(uBar, matmulT(u, utu, false, false)), sRow), vt, false, false));
    if (n > m) aBar = add(aBar, matmulT(u, maskedDiv(sub(mT(vtBar), matmulT(vt, vtv, true, false)), sRow), false, true));
    return [aBar];
  },
});

/** @internal U, S and Vt of concrete matrices, from the kernel (for other primitives' impls). */
export function svdFactors(a: DenseTensor): Tensor[] {
  return unpack(svdP.impl([a], NO_PARAMS), svdParts(a.shape[a.ndim - 2], a.shape[a.ndim - 1]));
}

/** F_ij = 1 / (s_j^2 - s_i^2), the difference taken as (s_j + s_i)(s_j - s_i) as JAX does. */
function singularGaps(s: Tensor): Tensor {
  const sj = expandDims(s, -2);
  const si = expandDims(s, -1);
  return reciprocalGaps(mul(add(sj, si), sub(sj, si)));
}

// ---------------------------------------------------------------------------------------------
// Public ops.

/** @internal `a` as a tensor of shape [..., m, n], or a ShapeError naming `op`. */
export function matrixArg(op: string, a: TensorLike): Tensor {
  const x = toTensor(op, a);
  if (x.ndim < 2) {
    throw new ShapeError(`${op}: expected a matrix or a batch of them (shape [..., m, n]), got shape ${fmtShape(x.shape)}.`);
  }
  if (x.dtype === 'int32') {
    throw new DTypeError(`${op}: the matrix is int32, which ${op} does not take (int32 is for indices and labels); convert it first with astype(a, 'float64').`);
  }
  return x;
}

/** The last axis of x from `start`, `size` long. */
function columns(x: Tensor, start: number, size: number): Tensor {
  return slice(x, [...x.shape.slice(0, -1).map(() => 0), start], [...x.shape.slice(0, -1), size]);
}

/**
 * Reduced QR decomposition A = Q R of each matrix in [..., m, n]: Q [..., m, k] with orthonormal
 * columns and R [..., k, n] upper triangular with a non-negative diagonal, k = min(m, n)
 * (Householder reflections). Differentiable in both modes where R is invertible (A of full
 * column rank; for m < n, its leading m x m block); elsewhere the derivative throws a LinAlgError.
 * @example
 * const [q, r] = qr(array([[3, 1], [4, 2]]));
 * q.toArray(); // [[0.6, -0.8], [0.8, 0.6]]
 * r.toArray(); // [[5, 2.2], [0, 0.4]]
 */
export function qr(a: TensorLike): [Tensor, Tensor] {
  const x = matrixArg('qr', a);
  const [m, n] = x.shape.slice(-2);
  if (m >= n) {
    const [q, r] = unpack(bind(qrP, [x], NO_PARAMS), qrParts(m, n));
    return [q, r];
  }
  // Wide: A = [X Y] with X m x m gives Q R_X = X and R = [R_X, Q^T Y].
  const [q, rx] = unpack(bind(qrP, [columns(x, 0, m)], NO_PARAMS), qrParts(m, m));
  return [q, concat([rx, matmulT(q, columns(x, m, n - m), true, false)], -1)];
}

/**
 * Eigenvalues (ascending) and eigenvectors (as columns) of each symmetric matrix in [..., n, n]:
 * `[w, V]` with A V = V diag(w). Only the symmetric part (A + A^T) / 2 is used, so gradients
 * are symmetric. Each eigenvector has its largest component positive. Where eigenvalues
 * repeat, the eigenvectors are any orthonormal basis of their eigenspace and their derivative
 * is Infinity or NaN (JAX's convention); the derivative of the eigenvalues stays finite.
 * @example
 * const [w, v] = eigh(array([[2, 1], [1, 2]]));
 * w.toArray(); // [1, 3]
 * v.toArray(); // [[0.7071..., 0.7071...], [-0.7071..., 0.7071...]]
 */
export function eigh(a: TensorLike): [Tensor, Tensor] {
  const x = matrixArg('eigh', a);
  const n = lastDim(x);
  if (x.shape[x.ndim - 2] !== n) {
    throw new ShapeError(`eigh: expected a square symmetric matrix or a batch of them (shape [..., n, n]), got shape ${fmtShape(x.shape)}.`);
  }
  const [w, v] = unpack(bind(eighP, [x], NO_PARAMS), eighParts(n));
  return [w, v];
}

/**
 * Reduced singular value decomposition A = U diag(S) Vt of each matrix in [..., m, n]: U
 * [..., m, k], S [..., k] descending and >= 0, Vt [..., k, n], k = min(m, n) (one-sided
 * Jacobi). Each row of Vt has its largest component positive, and U's columns follow. Where
 * singular values repeat (or are zero with m != n) the derivative of U and Vt is Infinity or
 * NaN (JAX's convention); the derivative of S stays finite.
 * @example
 * const [u, s, vt] = svd(array([[3, 0], [0, -2]]));
 * s.toArray(); // [3, 2]
 * u.toArray(); // [[1, 0], [0, -1]]
 */
export function svd(a: TensorLike): [Tensor, Tensor, Tensor] {
  const x = matrixArg('svd', a);
  const [m, n] = x.shape.slice(-2);
  const [u, s, vt] = unpack(bind(svdP, [x], NO_PARAMS), svdParts(m, n));
  return [u, s, vt];
}
