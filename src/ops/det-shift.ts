// The constants that let det's rules compute the cofactor matrix (the adjugate transposed,
// d det A / dA) at singular and nearly singular matrices, where det(A) A^{-T} is 0 * inf or
// loses every digit.
//
// For any u, v with B = A + u v^T invertible, Sherman-Morrison and the matrix determinant
// lemma give, for invertible A and then by continuity for every A (both sides are polynomials
// in A once B is fixed invertible):
//
//   adj(A) = det(B) [(1 - v^T B^{-1} u) B^{-1} + B^{-1} u v^T B^{-1}].
//
// With u, v = 0 this is det(A) A^{-1}, used for well-conditioned members. For an
// ill-conditioned or singular member, u = s y and v = x, with x and y unit right and left
// singular vectors of A's smallest singular value and s = max |A_ij|: B then has that singular
// value replaced by about s, so it is as well conditioned as the rest of A and the formula keeps
// its digits. x and y come from A's LU factors (P A = L U, partial pivoting; pivots below
// n eps s raised to n eps s): a null vector of U by back substitution as the start, then two
// steps of inverse iteration on A^T A. They are constants (the rule stays a differentiable
// function of A through B), so hessians of det work at singular matrices too. A member of
// rank <= n-2 has adj(A) = 0; it gets B = I and a zero mask.
import type { TypedData } from '../backend/buffer.js';
import * as kernels from '../backend/kernels.js';
import { array } from '../tensor/create.js';
import { sizeOf } from '../tensor/shape.js';
import type { DenseTensor, DType, Tensor } from '../tensor/tensor.js';

export interface DetShift {
  /** u and v [..., n, 1]: zero for well-conditioned members. */
  u: Tensor;
  v: Tensor;
  /** B - A [..., n, n]: u v^T, or I - A for members of rank <= n-2. */
  shift: Tensor;
  /** [..., 1, 1]: 0 for members of rank <= n-2 (adj = 0), else 1. */
  keep: Tensor;
}

// int32 never reaches det (bind refuses it); its entry keeps the table total.
const EPS: Record<DType, number> = { float64: 2 ** -52, float32: 2 ** -23, int32: 2 ** -52 };

function maxAbs(x: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) {
    const v = Math.abs(x[i]);
    if (!(v <= s)) s = v; // NaN propagates
  }
  return s;
}

/**
 * Which members of `a` [..., n, n] are too ill-conditioned for det(A) A^{-T}: all of them when
 * the inverse could not be formed (`invT` null), else those whose condition estimate
 * n max|A| max|A^{-1}| exceeds eps^(-1/3) (det(A) A^{-T} loses about cond * eps relative).
 */
export function illMembers(op: string, a: DenseTensor, invT: DenseTensor | null): boolean[] {
  const n = a.shape[a.ndim - 1];
  const count = sizeOf(a.shape.slice(0, -2));
  if (invT === null) return new Array<boolean>(count).fill(true);
  const A = a.readData(op), X = invT.readData(op);
  const limit = 1 / Math.cbrt(EPS[a.dtype]);
  return Array.from({ length: count }, (_, m) => {
    const cond = n * maxAbs(A, m * n * n, (m + 1) * n * n) * maxAbs(X, m * n * n, (m + 1) * n * n);
    return !(cond <= limit);
  });
}

interface Factors {
  lu: ArrayLike<number>;
  piv: Int32Array;
}

/** LU factors of `count` n x n matrices (row-major values), with their 0-based LAPACK-order pivots. */
function factor(op: string, values: TypedData, count: number, n: number, dtype: DType): Factors[] {
  const c = array(values, { shape: [count, n, n], dtype }) as DenseTensor;
  const piv = new kernels.Pivots(count, n);
  try {
    for (let m = 0; m < count; m++) kernels.luFactor(c.liveBuffer(op), m * n * n, piv, m);
    const lu = c.readData(op);
    return Array.from({ length: count }, (_, m) => ({ lu: lu.subarray(m * n * n, (m + 1) * n * n), piv: piv.read(m) }));
  } finally {
    c.dispose();
    piv.free();
  }
}

function unit(v: Float64Array): Float64Array {
  let norm = 0;
  for (const e of v) norm += e * e;
  norm = Math.sqrt(norm);
  if (norm > 0 && Number.isFinite(norm)) for (let i = 0; i < v.length; i++) v[i] /= norm;
  return v;
}

/** Solves with A' = P^T L U', U' being U with its pivots kept at least `floor` in magnitude. */
class RegularizedLU {
  private readonly d: Float64Array;

  constructor(private readonly f: Factors, private readonly n: number, floor: number) {
    this.d = Float64Array.from({ length: n }, (_, i) => {
      const p = f.lu[i * n + i];
      return Math.abs(p) >= floor ? p : p < 0 ? -floor : floor;
    });
  }

  /** A'^{-1} b. */
  solve(b: Float64Array): Float64Array {
    const { lu, piv } = this.f, n = this.n;
    const z = Float64Array.from(b);
    for (let i = 0; i < n; i++) if (piv[i] !== i) [z[i], z[piv[i]]] = [z[piv[i]], z[i]];
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) z[i] -= lu[i * n + j] * z[j];
    for (let i = n - 1; i >= 0; i--) {
      for (let j = i + 1; j < n; j++) z[i] -= lu[i * n + j] * z[j];
      z[i] /= this.d[i];
    }
    return z;
  }

  /** A'^{-T} b. */
  solveT(b: Float64Array): Float64Array {
    const { lu, piv } = this.f, n = this.n;
    const z = Float64Array.from(b);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) z[i] -= lu[j * n + i] * z[j];
      z[i] /= this.d[i];
    }
    for (let i = n - 1; i >= 0; i--) for (let j = i + 1; j < n; j++) z[i] -= lu[j * n + i] * z[j];
    for (let i = n - 1; i >= 0; i--) if (piv[i] !== i) [z[i], z[piv[i]]] = [z[piv[i]], z[i]];
    return z;
  }
}

/** Unit right and left singular vectors of the smallest singular value of P^T L U (approximately). */
function smallestSingularVectors(f: Factors, n: number, floor: number): { x: Float64Array; y: Float64Array } {
  const lu = f.lu;
  // Start from a null vector of U: back substitution from its smallest pivot.
  let k0 = 0;
  for (let i = 1; i < n; i++) if (Math.abs(lu[i * n + i]) < Math.abs(lu[k0 * n + k0])) k0 = i;
  const reg = new RegularizedLU(f, n, floor);
  let x: Float64Array = new Float64Array(n);
  x[k0] = 1;
  for (let j = k0 - 1; j >= 0; j--) {
    let s = 0;
    for (let l = j + 1; l <= k0; l++) s += lu[j * n + l] * x[l];
    x[j] = -s / (Math.abs(lu[j * n + j]) >= floor ? lu[j * n + j] : floor);
  }
  x = unit(x);
  for (let it = 0; it < 2; it++) x = unit(reg.solve(unit(reg.solveT(x))));
  return { x, y: unit(reg.solveT(x)) };
}

function minPivotRatio({ lu }: Factors, n: number, scale: number): number {
  let min = Infinity;
  for (let i = 0; i < n; i++) min = Math.min(min, Math.abs(lu[i * n + i]));
  return scale > 0 ? min / scale : 0;
}

/** The shift for det's rules at `a` (concrete, [..., n, n]) whose `ill` members need it. */
export function detShift(op: string, a: DenseTensor, ill: readonly boolean[]): DetShift {
  const n = a.shape[a.ndim - 1];
  const batch = a.shape.slice(0, -2);
  const count = sizeOf(batch);
  const data = a.readData(op);
  const eps = EPS[a.dtype];
  const u = new Float64Array(count * n), v = new Float64Array(count * n);
  const shift = new Float64Array(count * n * n);
  const keep = new Float64Array(count).fill(1);
  const members = ill.flatMap((bad, m) => (bad && n > 0 ? [m] : []));
  const gathered = new Float64Array(members.length * n * n);
  members.forEach((m, j) => gathered.set(data.subarray(m * n * n, (m + 1) * n * n), j * n * n));
  const factors = factor(op, gathered, members.length, n, a.dtype);
  members.forEach((m, j) => {
    const at = m * n * n;
    const s = maxAbs(data, at, at + n * n) || 1;
    const { x, y } = smallestSingularVectors(factors[j], n, n * eps * s);
    const b = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let c = 0; c < n; c++) b[i * n + c] = data[at + i * n + c] + s * y[i] * x[c];
    const [shifted] = factor(op, b, 1, n, a.dtype);
    if (minPivotRatio(shifted, n, s) <= 4 * n * eps) {
      // B is singular too: rank(A) <= n - 2 and adj(A) = 0. B = I keeps the formula finite.
      keep[m] = 0;
      for (let i = 0; i < n; i++) for (let c = 0; c < n; c++) shift[at + i * n + c] = (i === c ? 1 : 0) - data[at + i * n + c];
      return;
    }
    for (let i = 0; i < n; i++) {
      u[m * n + i] = s * y[i];
      v[m * n + i] = x[i];
      for (let c = 0; c < n; c++) shift[at + i * n + c] = s * y[i] * x[c];
    }
  });
  const dtype = a.dtype;
  return {
    u: array(u, { shape: [...batch, n, 1], dtype }),
    v: array(v, { shape: [...batch, n, 1], dtype }),
    shift: array(shift, { shape: [...batch, n, n], dtype }),
    keep: array(keep, { shape: [...batch, 1, 1], dtype }),
  };
}
