// Decomposition kernels (assembly/decomp.ts), straight on build/release.wasm: factors must
// reconstruct their matrix to a normwise backward error of a few n eps, be orthonormal to the
// same order, come in the documented order with the documented signs, and keep doing so for
// rank-deficient, ill-conditioned and degenerate inputs. References are computed in JS here.
import { beforeEach, describe, expect, it } from 'vitest';
import { loadRawWasm, rng } from './helpers/raw-wasm.js';

type DType = 'f64' | 'f32';
type Matrix = number[][];
const wasm = loadRawWasm();
beforeEach(() => wasm.reset());

const DTYPES: DType[] = ['f64', 'f32'];
const EPS = { f64: 2 ** -52, f32: 2 ** -23 } as const;
const round = (dt: DType) => (dt === 'f32' ? Math.fround : (x: number) => x);
const SQUARE = [0, 1, 2, 3, 7, 32];
const RECT: [number, number][] = [[7, 3], [3, 7], [32, 7], [7, 32], [5, 1], [1, 5], [40, 13], [13, 40], [4, 0], [0, 4]];

// ---- JS reference helpers -------------------------------------------------------------------

function randomMatrix(dt: DType, rows: number, cols: number, seed: number): Matrix {
  const r = rng(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => round(dt)(2 * r() - 1)));
}

const matmul = (a: Matrix, b: Matrix, cols = b[0]?.length ?? 0): Matrix =>
  a.map((row) => Array.from({ length: cols }, (_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const transpose = (a: Matrix, cols = a[0]?.length ?? 0): Matrix => Array.from({ length: cols }, (_, j) => a.map((row) => row[j]));
const maxAbs = (a: Matrix): number => Math.max(0, ...a.flat().map(Math.abs));
const maxDiff = (a: Matrix, b: Matrix): number => Math.max(0, ...a.flat().map((v, i) => Math.abs(v - b.flat()[i])));
const eye = (n: number): Matrix => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
const rowsOf = (flat: number[], rows: number, cols: number): Matrix => Array.from({ length: rows }, (_, i) => flat.slice(i * cols, (i + 1) * cols));
const scaleColumns = (a: Matrix, d: number[]): Matrix => a.map((row) => row.map((v, j) => v * d[j]));

/** Columns orthonormalised by modified Gram-Schmidt, twice (a JS reference, independent of the kernels). */
function orthonormalColumns(a: Matrix): Matrix {
  const cols = transpose(a);
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < cols.length; j++) {
      for (let i = 0; i < j; i++) {
        const d = cols[i].reduce((s, v, k) => s + v * cols[j][k], 0);
        cols[j] = cols[j].map((v, k) => v - d * cols[i][k]);
      }
      const norm = Math.hypot(...cols[j]);
      cols[j] = cols[j].map((v) => v / norm);
    }
  }
  return transpose(cols, a.length);
}

/** A random m x n matrix with orthonormal columns (m >= n). */
const randomOrthonormal = (m: number, n: number, seed: number): Matrix => orthonormalColumns(randomMatrix('f64', m, n, seed));

/** Q diag(values) Q^T for a random orthogonal Q: a symmetric matrix with known eigenvalues. */
function withEigenvalues(values: number[], seed: number): Matrix {
  const q = randomOrthonormal(values.length, values.length, seed);
  return matmul(scaleColumns(q, values), transpose(q));
}

/** Normwise backward error of a factorisation, in units of eps * max(rows, cols) * max|A|. */
function backwardError(dt: DType, a: Matrix, product: Matrix): number {
  if (a.length === 0 || a[0].length === 0) return 0;
  return maxDiff(product, a) / (EPS[dt] * Math.max(a.length, a[0].length) * (maxAbs(a) || 1));
}

/** max |X^T X - I| in units of eps * rows, for X with orthonormal columns. */
function orthogonalityError(dt: DType, x: Matrix, cols: number): number {
  if (cols === 0) return 0;
  return maxDiff(matmul(transpose(x, cols), x, cols), eye(cols)) / (EPS[dt] * Math.max(x.length, 1));
}

/** Is each column's largest component positive (the first of those tied up to rounding)? */
function largestComponentPositive(dt: DType, columns: Matrix): boolean {
  return columns.every((col) => {
    const big = Math.max(...col.map(Math.abs));
    const first = col.find((v) => Math.abs(v) >= big * (1 - (dt === 'f64' ? 2 ** -26 : 2 ** -12)));
    return first === undefined || first > 0;
  });
}

// ---- kernel calls ---------------------------------------------------------------------------

function qr(dt: DType, a: Matrix, m: number, n: number): { q: Matrix; r: Matrix } {
  const k = Math.min(m, n);
  const pa = wasm.alloc(dt, m * n, a.flat());
  const pq = wasm.alloc(dt, m * k);
  const pr = wasm.alloc(dt, k * n);
  wasm.fn(`qr_${dt}`)(pa, pq, pr, wasm.alloc(dt, n + k), m, n);
  return { q: rowsOf(wasm.read(dt, pq, m * k), m, k), r: rowsOf(wasm.read(dt, pr, k * n), k, n) };
}

function eigh(dt: DType, a: Matrix): { info: number; w: number[]; v: Matrix } {
  const n = a.length;
  const pw = wasm.alloc(dt, n);
  const pv = wasm.alloc(dt, n * n);
  const info = wasm.fn(`eigh_${dt}`)(wasm.alloc(dt, n * n, a.flat()), pw, pv, wasm.alloc(dt, 3 * n), n) as number;
  return { info, w: wasm.read(dt, pw, n), v: rowsOf(wasm.read(dt, pv, n * n), n, n) };
}

function svd(dt: DType, a: Matrix, m: number, n: number): { info: number; u: Matrix; s: number[]; vt: Matrix; input: number[] } {
  const k = Math.min(m, n);
  const pa = wasm.alloc(dt, m * n, a.flat());
  const pu = wasm.alloc(dt, m * k);
  const ps = wasm.alloc(dt, k);
  const pvt = wasm.alloc(dt, k * n);
  const info = wasm.fn(`svd_${dt}`)(pa, pu, ps, pvt, wasm.alloc(dt, k * Math.max(m, n) + k * k), m, n) as number;
  return { info, u: rowsOf(wasm.read(dt, pu, m * k), m, k), s: wasm.read(dt, ps, k), vt: rowsOf(wasm.read(dt, pvt, k * n), k, n), input: wasm.read(dt, pa, m * n) };
}

const usv = (u: Matrix, s: number[], vt: Matrix, n: number) => matmul(scaleColumns(u, s), vt, n);
const roundMatrix = (dt: DType, a: Matrix) => a.map((row) => row.map(round(dt)));

// ---- qr -------------------------------------------------------------------------------------

describe.each(DTYPES)('qr (%s)', (dt) => {
  const shapes: [number, number][] = [...SQUARE.map((n) => [n, n] as [number, number]), ...RECT];

  it.each(shapes)('reconstructs A = QR with orthonormal Q at %i x %i', (m, n) => {
    const a = randomMatrix(dt, m, n, 10 * m + n);
    const { q, r } = qr(dt, a, m, n);
    expect(backwardError(dt, a, matmul(q, r, n))).toBeLessThan(4);
    expect(orthogonalityError(dt, q, Math.min(m, n))).toBeLessThan(4);
  });

  it.each(shapes)('returns R upper triangular with a non-negative diagonal at %i x %i', (m, n) => {
    const { r } = qr(dt, randomMatrix(dt, m, n, 20 * m + n), m, n);
    expect(r.every((row, i) => row.every((v, j) => j >= i || v === 0))).toBe(true);
    expect(r.every((row, i) => row[i] >= 0)).toBe(true);
  });

  it('gives the closed form of [[3, 1], [4, 2]]: Q = [[3, -4], [4, 3]] / 5, R = [[5, 11/5], [0, 2/5]]', () => {
    const { q, r } = qr(dt, [[3, 1], [4, 2]], 2, 2);
    const tol = 8 * EPS[dt];
    expect(maxDiff(q, [[0.6, -0.8], [0.8, 0.6]])).toBeLessThan(tol);
    expect(maxDiff(r, [[5, 2.2], [0, 0.4]])).toBeLessThan(4 * tol);
  });

  it('stays backward stable and orthogonal for a rank-deficient A, with a (near) zero diagonal entry in R', () => {
    // Column 2 = column 0 + column 1 exactly.
    const b = randomMatrix(dt, 6, 2, 31);
    const a = b.map(([x, y]) => [x, y, round(dt)(x + y), round(dt)(x - 2 * y)]);
    const { q, r } = qr(dt, a, 6, 4);
    expect(backwardError(dt, a, matmul(q, r, 4))).toBeLessThan(4);
    expect(orthogonalityError(dt, q, 4)).toBeLessThan(4);
    expect(Math.abs(r[2][2])).toBeLessThan(8 * EPS[dt] * maxAbs(a));
  });

  it('handles a zero column and a zero matrix', () => {
    const a = [[1, 0, 2], [2, 0, 1], [3, 0, 5]];
    const { q, r } = qr(dt, a, 3, 3);
    expect(backwardError(dt, a, matmul(q, r, 3))).toBeLessThan(4);
    expect(orthogonalityError(dt, q, 3)).toBeLessThan(4);
    const zero = qr(dt, [[0, 0], [0, 0], [0, 0]], 3, 2);
    expect(zero.r.flat()).toEqual([0, 0, 0, 0]);
    expect(orthogonalityError(dt, zero.q, 2)).toBe(0);
  });

  it('is backward stable on an ill-conditioned matrix (Hilbert 8, condition ~1e10) and on huge and tiny entries', () => {
    const h = roundMatrix(dt, Array.from({ length: 8 }, (_, i) => Array.from({ length: 8 }, (_, j) => 1 / (i + j + 1))));
    const { q, r } = qr(dt, h, 8, 8);
    expect(backwardError(dt, h, matmul(q, r, 8))).toBeLessThan(4);
    for (const scale of dt === 'f64' ? [1e300, 1e-300] : [1e35, 1e-35]) {
      const a = roundMatrix(dt, randomMatrix('f64', 5, 3, 33).map((row) => row.map((v) => v * scale)));
      const f = qr(dt, a, 5, 3);
      expect(backwardError(dt, a, matmul(f.q, f.r, 3))).toBeLessThan(4);
    }
  });

  it('gives NaN factors for an input holding NaN or Infinity', () => {
    for (const bad of [NaN, Infinity]) {
      const { q, r } = qr(dt, [[1, 2], [bad, 3]], 2, 2);
      expect([...q.flat(), ...r.flat()].every(Number.isNaN)).toBe(true);
    }
  });
});

// ---- eigh -----------------------------------------------------------------------------------

describe.each(DTYPES)('eigh (%s)', (dt) => {
  function symmetric(n: number, seed: number): Matrix {
    const m = randomMatrix(dt, n, n, seed);
    return m.map((row, i) => row.map((v, j) => (j <= i ? v : m[j][i])));
  }

  it.each(SQUARE)('reconstructs A = V diag(w) V^T with orthonormal V and ascending w at n = %i', (n) => {
    const a = symmetric(n, 40 + n);
    const { info, w, v } = eigh(dt, a);
    expect(info).toBe(0);
    expect(backwardError(dt, a, matmul(scaleColumns(v, w), transpose(v, n), n))).toBeLessThan(4);
    expect(orthogonalityError(dt, v, n)).toBeLessThan(4);
    expect(w.every((x, i) => i === 0 || w[i - 1] <= x)).toBe(true);
  });

  it.each(SQUARE)('reads only the lower triangle at n = %i', (n) => {
    const a = symmetric(n, 50 + n);
    const { w, v } = eigh(dt, a.map((row, i) => row.map((x, j) => (j > i ? NaN : x))));
    expect(backwardError(dt, a, matmul(scaleColumns(v, w), transpose(v, n), n))).toBeLessThan(4);
  });

  it.each(SQUARE)('gives each eigenvector its largest component positive at n = %i', (n) => {
    const { v } = eigh(dt, symmetric(n, 60 + n));
    expect(largestComponentPositive(dt, transpose(v, n))).toBe(true);
  });

  it('gives the closed form of [[a, b], [b, c]]', () => {
    const [a, b, c] = [2, 1.5, -1];
    const { w, v } = eigh(dt, [[a, b], [b, c]]);
    const mid = (a + c) / 2, rad = Math.hypot((a - c) / 2, b);
    expect(Math.abs(w[0] - (mid - rad))).toBeLessThan(4 * EPS[dt] * rad);
    expect(Math.abs(w[1] - (mid + rad))).toBeLessThan(4 * EPS[dt] * rad);
    // The eigenvector of w1 is (b, w1 - a) normalised, its largest component positive.
    const x = [b, w[1] - a].map((t) => t / Math.hypot(b, w[1] - a));
    expect(Math.abs(v[0][1] - x[0]) + Math.abs(v[1][1] - x[1])).toBeLessThan(8 * EPS[dt]);
  });

  it('sorts a diagonal matrix and returns coordinate vectors with positive signs', () => {
    const { w, v } = eigh(dt, [[3, 0, 0], [0, -1, 0], [0, 0, 2]]);
    expect(w).toEqual([-1, 2, 3]);
    expect(v).toEqual([[0, 0, 1], [1, 0, 0], [0, 1, 0]]);
  });

  it('resolves repeated eigenvalues: eigenvalues to rounding, an orthonormal basis of each eigenspace', () => {
    const values = [-2, 1, 1, 1, 3, 3];
    const a = roundMatrix(dt, withEigenvalues(values, 71));
    const { info, w, v } = eigh(dt, a);
    expect(info).toBe(0);
    for (let i = 0; i < 6; i++) expect(Math.abs(w[i] - values[i])).toBeLessThan(16 * EPS[dt] * 6 * 3);
    expect(backwardError(dt, a, matmul(scaleColumns(v, w), transpose(v, 6), 6))).toBeLessThan(4);
    expect(orthogonalityError(dt, v, 6)).toBeLessThan(4);
    // The identity, and a multiple of it, come back exactly.
    expect(eigh(dt, eye(4).map((r) => r.map((x) => 5 * x)))).toEqual({ info: 0, w: [5, 5, 5, 5], v: eye(4) });
  });

  it('ties: [[2, 1], [1, 2]] gives w = [1, 3] and eigenvectors (1, -1)/sqrt2 and (1, 1)/sqrt2', () => {
    const { w, v } = eigh(dt, [[2, 1], [1, 2]]);
    expect(maxDiff([w], [[1, 3]])).toBeLessThan(4 * EPS[dt] * 3);
    const h = Math.SQRT1_2;
    expect(maxDiff(v, [[h, h], [-h, h]])).toBeLessThan(4 * EPS[dt]);
  });

  it('is backward stable on a graded and an ill-conditioned matrix', () => {
    const graded = roundMatrix(dt, withEigenvalues([1, 1e-4, 1e-8, 1e-12, -1e-6], 72));
    const h = roundMatrix(dt, Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, j) => 1 / (i + j + 1))));
    for (const a of [graded, h]) {
      const { w, v } = eigh(dt, a);
      expect(backwardError(dt, a, matmul(scaleColumns(v, w), transpose(v, a.length), a.length))).toBeLessThan(4);
      expect(orthogonalityError(dt, v, a.length)).toBeLessThan(4);
    }
  });

  it('handles huge and tiny entries without overflow or underflow', () => {
    for (const scale of dt === 'f64' ? [1e300, 1e-300] : [1e35, 1e-35]) {
      const a = roundMatrix(dt, [[2, 1], [1, 2]].map((row) => row.map((x) => x * scale)));
      const { w } = eigh(dt, a);
      expect(Math.abs(w[0] / scale - 1)).toBeLessThan(8 * EPS[dt]);
      expect(Math.abs(w[1] / scale - 3)).toBeLessThan(8 * EPS[dt]);
    }
  });

  it('gives NaN for an input holding NaN or Infinity', () => {
    for (const bad of [NaN, -Infinity]) {
      const { w, v } = eigh(dt, [[1, 0], [bad, 3]]);
      expect([...w, ...v.flat()].every(Number.isNaN)).toBe(true);
    }
  });
});

// ---- svd ------------------------------------------------------------------------------------

describe.each(DTYPES)('svd (%s)', (dt) => {
  const shapes: [number, number][] = [...SQUARE.map((n) => [n, n] as [number, number]), ...RECT];

  it.each(shapes)('reconstructs A = U diag(s) Vt with orthonormal U, V and s descending at %i x %i, leaving A as it was', (m, n) => {
    const a = randomMatrix(dt, m, n, 80 + 7 * m + n);
    const k = Math.min(m, n);
    const { info, u, s, vt, input } = svd(dt, a, m, n);
    expect(info).toBe(0);
    expect(backwardError(dt, a, usv(u, s, vt, n))).toBeLessThan(4);
    expect(orthogonalityError(dt, u, k)).toBeLessThan(4);
    expect(orthogonalityError(dt, transpose(vt, n), k)).toBeLessThan(4);
    expect(s.every((x, i) => x >= 0 && (i === 0 || s[i - 1] >= x))).toBe(true);
    expect(input).toEqual(a.flat());
  });

  it.each(shapes)('gives each row of Vt its largest component positive at %i x %i', (m, n) => {
    const { vt } = svd(dt, randomMatrix(dt, m, n, 90 + m + n), m, n);
    expect(largestComponentPositive(dt, vt)).toBe(true);
  });

  it('gives the closed form of a rotation times a diagonal: [[c, -s], [s, c]] diag(3, 2)', () => {
    const t = 0.3;
    const [c, s] = [Math.cos(t), Math.sin(t)];
    const f = svd(dt, roundMatrix(dt, [[3 * c, -2 * s], [3 * s, 2 * c]]), 2, 2);
    const tol = 8 * EPS[dt];
    expect(maxDiff([f.s], [[3, 2]])).toBeLessThan(3 * tol);
    expect(maxDiff(f.vt, [[1, 0], [0, 1]])).toBeLessThan(tol);
    expect(maxDiff(f.u, [[c, -s], [s, c]])).toBeLessThan(tol);
  });

  it('computes tiny singular values of a graded matrix to high relative accuracy (A = Q diag(d), Q orthonormal)', () => {
    const d = dt === 'f64' ? [1, 1e-3, 1e-7, 1e-11, 1e-15] : [1, 1e-2, 1e-4, 1e-6];
    const a = roundMatrix(dt, scaleColumns(randomOrthonormal(9, d.length, 91), d));
    const { s } = svd(dt, a, 9, d.length);
    d.forEach((x, i) => expect(Math.abs(s[i] - x) / x).toBeLessThan(64 * EPS[dt]));
  });

  it('is exact about rank: rank-1 and rank-2 matrices give zero (or rounding-level) singular values and still orthonormal U and V', () => {
    for (const [m, n, rank] of [[6, 4, 1], [4, 6, 2], [5, 5, 2]]) {
      const a = roundMatrix(dt, matmul(randomMatrix(dt, m, rank, 92 + m), randomMatrix(dt, rank, n, 93 + n), n));
      const k = Math.min(m, n);
      const { u, s, vt } = svd(dt, a, m, n);
      expect(backwardError(dt, a, usv(u, s, vt, n))).toBeLessThan(4);
      expect(orthogonalityError(dt, u, k)).toBeLessThan(4);
      expect(orthogonalityError(dt, transpose(vt, n), k)).toBeLessThan(4);
      for (let i = rank; i < k; i++) expect(s[i]).toBeLessThan(16 * EPS[dt] * s[0]);
    }
  });

  it('completes U for exactly zero singular values: the zero matrix gives s = 0 and orthonormal U and V', () => {
    for (const [m, n] of [[3, 2], [2, 3]]) {
      const { u, s, vt } = svd(dt, [[0, 0, 0], [0, 0, 0], [0, 0, 0]].slice(0, m).map((r) => r.slice(0, n)), m, n);
      expect(s).toEqual([0, 0]);
      expect(orthogonalityError(dt, u, 2)).toBe(0);
      expect(orthogonalityError(dt, transpose(vt, n), 2)).toBe(0);
    }
    // Exactly dependent columns: [1, 2, 3] (x) [1, 2] has one zero singular value.
    const { u, s } = svd(dt, [[1, 2], [2, 4], [3, 6]], 3, 2);
    expect(Math.abs(s[0] - Math.sqrt(70))).toBeLessThan(8 * EPS[dt] * s[0]);
    expect(s[1]).toBeLessThan(8 * EPS[dt] * s[0]);
    expect(orthogonalityError(dt, u, 2)).toBeLessThan(4);
  });

  it('resolves repeated singular values', () => {
    const values = [2, 2, 2, 1, 1];
    const a = roundMatrix(dt, matmul(scaleColumns(randomOrthonormal(7, 5, 94), values), transpose(randomOrthonormal(5, 5, 95)), 5));
    const { u, s, vt } = svd(dt, a, 7, 5);
    s.forEach((x, i) => expect(Math.abs(x - values[i])).toBeLessThan(32 * EPS[dt]));
    expect(backwardError(dt, a, usv(u, s, vt, 5))).toBeLessThan(4);
    expect(orthogonalityError(dt, u, 5)).toBeLessThan(4);
    expect(orthogonalityError(dt, transpose(vt, 5), 5)).toBeLessThan(4);
  });

  it('handles huge and tiny entries without overflow or underflow', () => {
    for (const scale of dt === 'f64' ? [1e300, 1e-300] : [1e35, 1e-35]) {
      const t = 0.3;
      const a = roundMatrix(dt, [[3 * Math.cos(t), -2 * Math.sin(t)], [3 * Math.sin(t), 2 * Math.cos(t)]].map((r) => r.map((x) => x * scale)));
      const { s } = svd(dt, a, 2, 2);
      expect(Math.abs(s[0] / scale - 3)).toBeLessThan(16 * EPS[dt]);
      expect(Math.abs(s[1] / scale - 2)).toBeLessThan(16 * EPS[dt]);
    }
  });

  it('gives NaN for an input holding NaN or Infinity', () => {
    for (const bad of [NaN, Infinity]) {
      const { u, s, vt } = svd(dt, [[1, 2, 3], [4, bad, 6]], 2, 3);
      expect([...u.flat(), ...s, ...vt.flat()].every(Number.isNaN)).toBe(true);
    }
  });
});
