// Linear algebra primitives: solve, inv, det, logdet, cholesky and triangularSolve, batched over
// leading axes (solve and triangularSolve broadcast them against the right-hand side, as
// matmul does). The rules use the public ops, so they are differentiable again: hessians and
// hvps go through solves, and the det/logdet/cholesky rules through inv and triangularSolve.
//
// The impls run the wasm kernels of assembly/linalg.ts (LU with partial pivoting, LU solve,
// Cholesky, triangular solve) through src/backend/kernels.ts. The kernels work in place, so
// each impl factors a copy of its matrix and solves in its freshly allocated output.
import type { TypedData } from '../backend/buffer.js';
import { NO_PARAMS, definePrimitive, type Aval, type DepSetsLike, type Sparsity, type SparseOperand } from '../core/primitive.js';
import { bind } from '../core/trace.js';
import * as kernels from '../backend/kernels.js';
import { broadcastStrides, contiguousStrides } from '../backend/kernels.js';
import { ConcretizationError, LinAlgError, ShapeError, fmtShape } from '../errors.js';
import { array, empty } from '../tensor/create.js';
import { broadcastShapes, sizeOf } from '../tensor/shape.js';
import type { DenseTensor, DType, Tensor } from '../tensor/tensor.js';
import { coerce, toTensor, type TensorLike } from './convert.js';
import { add, mul, neg, sub } from './elementwise.js';
import { matmulT } from './matmul.js';
import { sum } from './sum.js';
import { reshape, transpose } from './shape.js';
import { detShift, illMembers } from './det-shift.js';
import { batchMatrix, batchSolve } from './batching.js';

// Defined with the other error classes; re-exported here, where src/index.ts takes it from.

// ---------------------------------------------------------------------------------------------
// Drivers: batch loops over the n x n members, on tensor buffers.

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

/** A copy of `x` read through `strides` (elements): a broadcast or a transpose, in one kernel call. */
function stridedCopy(op: string, x: DenseTensor, shape: readonly number[], strides: number[]): DenseTensor {
  const out = empty(shape, x.dtype, op);
  if (out.size > 0) kernels.copyStrided(out.liveBuffer(op), x.liveBuffer(op), shape, strides);
  return out;
}

/** The diagonals of every n x n member, as a JS array [count * n]. */
function diagonals(op: string, x: DenseTensor): TypedData {
  const n = lastDim(x);
  const count = sizeOf(x.shape.slice(0, -2));
  const diag = stridedCopy(op, x, [count, n], [n * n, n + 1]);
  try {
    return diag.readData(op);
  } finally {
    diag.dispose();
  }
}

interface LU {
  /** The factors of every member, L below the diagonal (unit diagonal implied), U on and above. */
  lu: DenseTensor;
  piv: kernels.Pivots;
  /** Per member: 0, or 1 + the column of the first zero pivot. */
  info: Int32Array;
  n: number;
}

/** LU-factors a copy of every n x n member of `a`; the caller frees it with freeLU. */
function factorEach(op: string, a: DenseTensor): LU {
  const n = lastDim(a);
  const count = sizeOf(a.shape.slice(0, -2));
  const lu = empty(a.shape, a.dtype, op);
  const piv = new kernels.Pivots(count, n);
  const info = new Int32Array(count);
  const buffer = lu.liveBuffer(op);
  if (lu.size > 0) kernels.copy(buffer, a.liveBuffer(op));
  for (let m = 0; m < count && n > 0; m++) info[m] = kernels.luFactor(buffer, m * n * n, piv, m);
  return { lu, piv, info, n };
}

function freeLU(f: LU): void {
  f.lu.dispose();
  f.piv.free();
}

function singular(op: string, a: Tensor, m: number, info: number): LinAlgError {
  return new LinAlgError(`${op}: the matrix${memberName(a, m)} of shape ${fmtShape(a.shape)} is singular: LU with partial pivoting found a zero pivot in column ${info - 1}. Check the matrix (a repeated row or column, a zero row), or use a least-squares method.`);
}

/** X = A^{-1} B per batch member, A [..., n, n] broadcast against the batch axes of B [..., n, nrhs]. */
function solveEach(op: string, a: DenseTensor, b: DenseTensor): DenseTensor {
  const shape = [...broadcastShapes(op, a.shape.slice(0, -2), b.shape.slice(0, -2)), ...b.shape.slice(-2)];
  const batch = shape.slice(0, -2);
  const ia = memberIndex(a.shape.slice(0, -2), batch);
  const f = factorEach(op, a);
  try {
    for (const am of ia) if (f.info[am] !== 0) throw singular(op, a, am, f.info[am]);
    // X starts as B broadcast to the output's batch, then is solved in place member by member.
    const x = stridedCopy(op, b, shape, broadcastStrides(b.shape, shape));
    const n = f.n, nrhs = lastDim(b);
    if (n * nrhs === 0) return x;
    const lu = f.lu.liveBuffer(op), xb = x.liveBuffer(op);
    for (let m = 0; m < ia.length; m++) kernels.luSolve(lu, ia[m] * n * n, f.piv, ia[m], xb, m * n * nrhs, nrhs);
    return x;
  } finally {
    freeLU(f);
  }
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

export interface OpParams {
  /** The user-facing operation to name in errors (a rule's solve names the op it serves). */
  op: string;
}

export interface TriParams extends OpParams {
  lower: boolean;
  transpose: boolean;
  unitDiag: boolean;
}

/** The part of a matrix (or tangent) that triangularSolve reads. */
function triPart(x: Tensor, { lower, unitDiag }: TriParams): Tensor {
  return mul(x, triangleMask(lastDim(x), lower, unitDiag ? 0 : 1, x.dtype));
}

// ---------------------------------------------------------------------------------------------
// Sparsity: every rule here keeps batch members apart; within a member the dependence follows
// the factorisation's structure.

/**
 * Output element (t, i, j) of a [..., rows, cols] result depends on the elements `pick(i, j)`
 * names, of the batch member of each operand that broadcasting lines up with t.
 */
function memberSparsity<P>(pick: (i: number, j: number, rows: number, params: P) => { operand: number; at: [number, number][] }[]): Sparsity<P> {
  return (algebra, { inputs, out, params }) => {
    const matrix = out.shape.length >= 2;
    const rows = matrix ? out.shape[out.shape.length - 2] : 1;
    const cols = matrix ? out.shape[out.shape.length - 1] : 1;
    const batch = out.shape.slice(0, matrix ? -2 : undefined);
    const maps = inputs.map((x) => algebra.broadcastMap(x.shape.slice(0, -2), batch));
    return algebra.build(sizeOf(out.shape), (e, add) => {
      const t = Math.floor(e / (rows * cols)), i = Math.floor(e / cols) % rows, j = e % cols;
      for (const { operand, at } of pick(i, j, rows, params)) {
        const x: SparseOperand = inputs[operand];
        if (!x.deps) continue;
        const r = x.shape[x.shape.length - 2], c = x.shape[x.shape.length - 1];
        const base = (maps[operand] ? maps[operand]![t] : t) * r * c;
        for (const [p, q] of at) add(x.deps as DepSetsLike, base + p * c + q);
      }
    });
  };
}

/** Per element (i, j), j <= i, of L: the elements of A it depends on (both triangles of A). */
function choleskyDeps(n: number): [number, number][][] {
  let deps = choleskyCache.get(n);
  if (deps) return deps;
  const sets: Set<number>[] = new Array(n * n);
  for (let j = 0; j < n; j++) {
    for (let i = j; i < n; i++) {
      const set = new Set<number>([i * n + j]);
      for (let k = 0; k < j; k++) for (const d of [...sets[i * n + k], ...sets[j * n + k]]) set.add(d);
      if (i !== j) for (const d of sets[j * n + j]) set.add(d);
      sets[i * n + j] = set;
    }
  }
  deps = Array.from({ length: n * n }, (_, e) => {
    const at: [number, number][] = [];
    for (const d of sets[e] ?? []) {
      const p = Math.floor(d / n), q = d % n;
      at.push([p, q]);
      if (p !== q) at.push([q, p]);
    }
    return at;
  });
  choleskyCache.set(n, deps);
  return deps;
}
const choleskyCache = new Map<number, [number, number][][]>();

/** Every element of an n x n matrix. */
function allOf(n: number): [number, number][] {
  const at: [number, number][] = [];
  for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) at.push([p, q]);
  return at;
}

// ---------------------------------------------------------------------------------------------
// Primitives.

// X = A^{-1} B.  dX = A^{-1} (dB - dA X);  B_bar = A^{-T} X_bar, A_bar = -B_bar X^T.
const solveP = definePrimitive<OpParams>({
  name: 'solve',
  batch: batchSolve(),
  broadcasts: true,
  impl: ([a, b], { op }) => solveEach(op, a, b),
  shape: ([a, b], { op }) => ({ shape: [...broadcastShapes(op, a.shape.slice(0, -2), b.shape.slice(0, -2)), ...b.shape.slice(-2)], dtype: a.dtype }),
  saves: [0, 'out'],
  // Column j of X depends on all of A and on column j of B.
  sparsity: memberSparsity((_, j, n) => [{ operand: 0, at: allOf(n) }, { operand: 1, at: Array.from({ length: n }, (_, p) => [p, j] as [number, number]) }]),
  jvp({ inputs: [a], tangents: [ta, tb], out: x, params: p }) {
    const dax = ta && matmulT(ta, x, false, false);
    const rhs = dax ? (tb ? sub(tb, dax) : neg(dax)) : tb;
    return rhs && solveMatrix(a, rhs, p.op);
  },
  vjp({ ct, inputs: [a], out: x, params: p, wanted }) {
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
  batch: batchMatrix(),
  impl([a], { op }) {
    const n = lastDim(a);
    const identity = empty([n, n], a.dtype, op);
    try {
      if (n > 0) kernels.eye(identity.liveBuffer(op), n);
      return solveEach(op, a, identity);
    } finally {
      identity.dispose();
    }
  },
  shape: ([a]) => a,
  saves: ['out'],
  sparsity: memberSparsity((_, __, n) => [{ operand: 0, at: allOf(n) }]),
  jvp: ({ tangents: [ta], out: c }) => ta && neg(matmulT(c, matmulT(ta, c, false, false), false, false)),
  vjp: ({ ct, out: c }) => [neg(matmulT(c, matmulT(ct, c, false, true), true, false))],
});

function invMatrix(a: Tensor, op: string): Tensor {
  return bind(invP, [a], { op });
}

/** det = sign(P) prod diag(U) and log|det| = sum log|diag(U)| of every member, from its LU factors. */
function detImpl(op: string, a: DenseTensor, log: boolean): DenseTensor {
  const f = factorEach(op, a);
  try {
    const n = f.n;
    const count = f.info.length;
    const u = diagonals(op, f.lu);
    const out = new Float64Array(count);
    for (let m = 0; m < count; m++) {
      let value = log ? 0 : n > 0 ? f.piv.sign(m) : 1;
      for (let i = m * n; i < (m + 1) * n; i++) value = log ? value + Math.log(Math.abs(u[i])) : value * u[i];
      out[m] = value;
    }
    return array(out, { shape: a.shape.slice(0, -2), dtype: a.dtype }) as DenseTensor;
  } finally {
    freeLU(f);
  }
}

/** A^{-T} (the rules of det and logdet need A invertible). */
function invTranspose(a: Tensor, op: string): Tensor {
  return mT(invMatrix(a, `${op} (derivative, which needs A invertible)`));
}

const determinantAval = ([a]: readonly Aval[]): Aval => ({ shape: a.shape.slice(0, -2), dtype: a.dtype });
// Each member's determinant depends on all of its matrix.
const determinantSparsity: Sparsity<Record<string, never>> = (algebra, { inputs: [a], out }) => {
  const n = a.shape[a.shape.length - 1];
  return algebra.build(sizeOf(out.shape), (t, add) => {
    if (a.deps) for (let q = t * n * n; q < (t + 1) * n * n; q++) add(a.deps, q);
  });
};

/**
 * adj(A)^T, the derivative of det A: det A A^{-T} where every member is well conditioned,
 * else the rank-one shifted formula of det-shift.ts, which holds at singular A too. Inside jit
 * the values are not known while tracing, so the program takes det A A^{-T}.
 */
function cofactor(a: Tensor, d: Tensor): Tensor {
  let concrete: DenseTensor;
  try {
    concrete = a.dense();
  } catch (e) {
    if (!(e instanceof ConcretizationError)) throw e;
    return mul(reshape(d, [...d.shape, 1, 1]), invTranspose(a, 'det'));
  }
  let invT: Tensor | null = null;
  try {
    invT = invTranspose(a, 'det');
  } catch (e) {
    if (!(e instanceof LinAlgError)) throw e;
  }
  const ill = illMembers('det', concrete, invT && invT.dense());
  if (invT && !ill.includes(true)) return mul(reshape(d, [...d.shape, 1, 1]), invT);
  const s = detShift('det', concrete, ill);
  const b = add(a, s.shift);
  const bi = invMatrix(b, 'det (derivative)');
  const biu = matmulT(bi, s.u, false, false);
  const vbi = matmulT(s.v, bi, true, false);
  const c = sub(1, matmulT(s.v, biu, true, false));
  const detB = reshape(det(b), [...b.shape.slice(0, -2), 1, 1]);
  return mT(mul(mul(detB, s.keep), add(mul(c, bi), matmulT(biu, vbi, false, false))));
}

// d det A = sum(adj(A)^T * dA) (= det A tr(A^{-1} dA) for invertible A);  A_bar = det_bar adj(A)^T.
const detP = definePrimitive({
  name: 'det',
  batch: batchMatrix(),
  impl: ([a]) => detImpl('det', a, false),
  shape: determinantAval,
  saves: [0, 'out'],
  sparsity: determinantSparsity,
  jvp: ({ inputs: [a], tangents: [ta], out: d }) => ta && sum(mul(ta, cofactor(a, d)), [-2, -1]),
  vjp: ({ ct, inputs: [a], out: d }) => [mul(reshape(ct, [...ct.shape, 1, 1]), cofactor(a, d))],
});

// d log|det A| = tr(A^{-1} dA);  A_bar = logdet_bar A^{-T}.
const logdetP = definePrimitive({
  name: 'logdet',
  batch: batchMatrix(),
  impl: ([a]) => detImpl('logdet', a, true),
  shape: determinantAval,
  saves: [0],
  sparsity: determinantSparsity,
  jvp: ({ inputs: [a], tangents: [ta] }) => ta && sum(mul(ta, invTranspose(a, 'logdet')), [-2, -1]),
  vjp: ({ ct, inputs: [a] }) => [mul(reshape(ct, [...ct.shape, 1, 1]), invTranspose(a, 'logdet'))],
});

// L L^T = (A + A^T)/2.  With Phi(X) the lower triangle of X with its diagonal halved,
// dL = L Phi(L^{-1} sym(dA) L^{-T});  A_bar = sym(L^{-T} Phi(L^T L_bar) L^{-1}).
const choleskyP = definePrimitive({
  name: 'cholesky',
  batch: batchMatrix(),
  impl([a]) {
    const op = 'cholesky';
    const n = lastDim(a);
    const count = sizeOf(a.shape.slice(0, -2));
    const l = empty(a.shape, a.dtype, op);
    if (l.size === 0) return l;
    // The symmetric part (A + A^T) * 0.5, whose lower triangle the kernel reads and overwrites.
    const strides = contiguousStrides(a.shape);
    [strides[a.ndim - 2], strides[a.ndim - 1]] = [strides[a.ndim - 1], strides[a.ndim - 2]];
    const aT = stridedCopy(op, a, a.shape, strides);
    const buffer = l.liveBuffer(op);
    kernels.binary('add', buffer, a.liveBuffer(op), aT.liveBuffer(op), a.shape, a.shape, a.shape);
    aT.dispose();
    kernels.scale(buffer, 0.5, buffer);
    for (let m = 0; m < count; m++) {
      const info = kernels.choleskyFactor(buffer, m * n * n, n);
      if (info !== 0) {
        l.dispose();
        throw new LinAlgError(`cholesky: the matrix${memberName(a, m)} of shape ${fmtShape(a.shape)} is not positive definite: its leading ${info} x ${info} minor is not (the pivot in column ${info - 1} is not positive). Cholesky needs a symmetric positive definite matrix; add a multiple of the identity, or use solve.`);
      }
    }
    return l;
  },
  shape: ([a]) => a,
  saves: ['out'],
  // L[i, j] = (S[i, j] - sum_{k<j} L[i, k] L[j, k]) / L[j, j] over S = (A + A^T)/2, so its
  // dependencies are S[i, j] and those of L[i, k], L[j, k] (k < j) and L[j, j].
  sparsity: memberSparsity((i, j, n) => (j > i ? [] : [{ operand: 0, at: choleskyDeps(n)[i * n + j] }])),
  jvp({ tangents: [ta], out: l }) {
    if (!ta) return null;
    const lower: TriParams = { op: 'cholesky', lower: true, transpose: false, unitDiag: false };
    const y = triSolveMatrix(l, mul(add(ta, mT(ta)), 0.5), lower);
    return matmulT(l, phi(triSolveMatrix(l, mT(y), lower)), false, false);
  },
  vjp({ ct, out: l }) {
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
  batch: batchSolve(),
  broadcasts: true,
  impl([t, b], p) {
    const n = lastDim(t);
    const nrhs = lastDim(b);
    const shape = [...broadcastShapes(p.op, t.shape.slice(0, -2), b.shape.slice(0, -2)), n, nrhs];
    const it = memberIndex(t.shape.slice(0, -2), shape.slice(0, -2));
    if (!p.unitDiag) {
      const d = diagonals(p.op, t);
      const i = d.indexOf(0);
      if (i >= 0) {
        throw new LinAlgError(`${p.op}: the triangular matrix${memberName(t, Math.floor(i / n))} of shape ${fmtShape(t.shape)} is singular: its diagonal entry ${i % n} is zero.`);
      }
    }
    // X starts as B broadcast to the output's batch, then is solved in place member by member.
    const x = stridedCopy(p.op, b, shape, broadcastStrides(b.shape, shape));
    if (n * nrhs === 0) return x;
    const tb = t.liveBuffer(p.op), xb = x.liveBuffer(p.op);
    for (let m = 0; m < it.length; m++) kernels.triSolve(tb, it[m] * n * n, xb, m * n * nrhs, n, nrhs, p.lower, p.transpose, p.unitDiag);
    return x;
  },
  shape: ([t, b], p) => ({ shape: [...broadcastShapes(p.op, t.shape.slice(0, -2), b.shape.slice(0, -2)), t.shape[t.shape.length - 1], b.shape[b.shape.length - 1]], dtype: t.dtype }),
  saves: [0, 'out'],
  // With M = op(T) lower (upper), X[i, c] depends on M's rows 0..i (i..n-1) within its
  // triangle, and on the same rows of column c of B.
  sparsity: memberSparsity((i, c, n, p) => {
    const lowerM = p.lower !== p.transpose;
    const rowsM = lowerM ? Array.from({ length: i + 1 }, (_, r) => r) : Array.from({ length: n - i }, (_, r) => i + r);
    const at: [number, number][] = [];
    for (const r of rowsM) {
      for (let q = 0; q < n; q++) {
        const inside = lowerM ? q <= r : q >= r;
        if (!inside || (p.unitDiag && q === r)) continue;
        at.push(p.transpose ? [q, r] : [r, q]);
      }
    }
    return [{ operand: 0, at }, { operand: 1, at: rowsM.map((r) => [r, c] as [number, number]) }];
  }),
  jvp({ inputs: [t], tangents: [tt, tb], out: x, params: p }) {
    const dtx = tt && matmulT(triPart(tt, p), x, p.transpose, false);
    const rhs = dtx ? (tb ? sub(tb, dtx) : neg(dtx)) : tb;
    return rhs && triSolveMatrix(t, rhs, p);
  },
  vjp({ ct, inputs: [t], out: x, params: p, wanted }) {
    const bBar = triSolveMatrix(t, ct, { ...p, transpose: !p.transpose });
    if (!wanted[0]) return [null, bBar];
    const outer = p.transpose ? matmulT(x, bBar, false, true) : matmulT(bBar, x, false, true);
    return [neg(triPart(outer, p)), bBar];
  },
});

/** @internal op(T)^{-1} B for triangular T, with `p.op` named in errors (used by rules). */
export function triSolveMatrix(t: Tensor, b: Tensor, p: TriParams): Tensor {
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
  return bind(detP, [squareArg('det', a)], NO_PARAMS);
}

/**
 * log|det A| of each matrix in [..., n, n], without the overflow of det for large n; -Infinity
 * for a singular matrix. Its derivative is A^{-T} whatever the sign of det A.
 * @example logdet(array([[2, 0], [0, -3]])).item() // Math.log(6)
 */
export function logdet(a: TensorLike): Tensor {
  return bind(logdetP, [squareArg('logdet', a)], NO_PARAMS);
}

/**
 * The lower-triangular L with L L^T = A for symmetric positive definite A [..., n, n]. Only the
 * symmetric part (A + A^T)/2 is used, so the gradient is symmetric. Throws a LinAlgError when
 * A is not positive definite.
 * @example cholesky(array([[4, 2], [2, 2]])).toArray() // [[2, 0], [1, 1]]
 */
export function cholesky(a: TensorLike): Tensor {
  return bind(choleskyP, [squareArg('cholesky', a)], NO_PARAMS);
}
