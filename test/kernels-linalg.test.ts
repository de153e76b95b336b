// Factorisation and triangular-solve kernels, straight on build/release.wasm: factors must
// reconstruct their matrix and solves must leave small residuals (relative to |A| |X|, the
// backward-stability bound), in f64 below 1e-12 and in f32 below 1e-5.
import { beforeEach, describe, expect, it } from 'vitest';
import { loadRawWasm, rng } from './helpers/raw-wasm.js';

type DType = 'f64' | 'f32';
type Matrix = number[][];
const wasm = loadRawWasm();
beforeEach(() => wasm.reset());

const DTYPES: DType[] = ['f64', 'f32'];
const TOL = { f64: 1e-12, f32: 1e-5 } as const;
const round = (dt: DType) => (dt === 'f32' ? Math.fround : (x: number) => x);
// 0, 1, lanes-1 and lanes of both dtypes, 3*lanes+1, and sizes with long SIMD rows.
const SIZES = [0, 1, 2, 3, 4, 5, 7, 13, 40];


function randomMatrix(dt: DType, rows: number, cols: number, seed: number): Matrix {
  const r = rng(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => round(dt)(2 * r() - 1)));
}

const matmul = (a: Matrix, b: Matrix): Matrix =>
  a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const transpose = (a: Matrix): Matrix => (a.length ? a[0].map((_, j) => a.map((row) => row[j])) : []);
const maxAbs = (a: Matrix): number => Math.max(0, ...a.flat().map(Math.abs));
function maxDiff(a: Matrix, b: Matrix): number {
  const bf = b.flat();
  return Math.max(0, ...a.flat().map((v, i) => Math.abs(v - bf[i])));
}
const rowsOf = (flat: number[], rows: number, cols: number): Matrix =>
  Array.from({ length: rows }, (_, i) => flat.slice(i * cols, (i + 1) * cols));

/** max|A X - B| / (max|A| max|X| n): the normwise relative backward error, up to a constant. */
function residual(a: Matrix, x: Matrix, b: Matrix): number {
  if (a.length === 0) return 0;
  return maxDiff(matmul(a, x), b) / (maxAbs(a) * maxAbs(x) * a.length || 1);
}

function factorLU(dt: DType, a: Matrix): { info: number; lu: Matrix; piv: number[]; pa: number; ppiv: number } {
  const n = a.length;
  const pa = wasm.alloc(dt, n * n, a.flat());
  const ppiv = wasm.alloc('i32', n);
  const info = wasm.fn(`lu_${dt}`)(pa, ppiv, n) as number;
  return { info, lu: rowsOf(wasm.read(dt, pa, n * n), n, n), piv: wasm.read('i32', ppiv, n), pa, ppiv };
}

describe.each(DTYPES)('lu (%s)', (dt) => {
  it.each(SIZES)('reconstructs P*A = L*U with |L| <= 1 at n = %i', (n) => {
    const a = randomMatrix(dt, n, n, 100 + n);
    const { info, lu, piv } = factorLU(dt, a);
    expect(info).toBe(0);
    const l = lu.map((row, i) => row.map((v, j) => (j < i ? v : j === i ? 1 : 0)));
    const u = lu.map((row, i) => row.map((v, j) => (j >= i ? v : 0)));
    const pa = a.map((row) => row.slice());
    piv.forEach((p, k) => ([pa[k], pa[p]] = [pa[p], pa[k]]));
    expect(maxAbs(l)).toBeLessThanOrEqual(1);
    expect(maxDiff(matmul(l, u), pa)).toBeLessThanOrEqual(TOL[dt] * n * maxAbs(a));
  });

  it('gives det = lu_sign * prod(diag U): det [[0,2,1],[1,1,1],[2,0,3]] = -4', () => {
    const { info, lu, ppiv } = factorLU(dt, [[0, 2, 1], [1, 1, 1], [2, 0, 3]]);
    expect(info).toBe(0);
    const det = (wasm.fn('lu_sign')(ppiv, 3) as number) * lu[0][0] * lu[1][1] * lu[2][2];
    expect(det).toBeCloseTo(-4, dt === 'f64' ? 14 : 5);
  });

  it('reports the first zero pivot, 1-based: [[1,2],[2,4]] gives 2', () => {
    const { info, lu } = factorLU(dt, [[1, 2], [2, 4]]);
    expect(info).toBe(2);
    expect(lu).toEqual([[2, 4], [0.5, 0]]);
  });

  it('reports a zero first column as 1 and still finishes the factorisation', () => {
    const { info, lu, piv } = factorLU(dt, [[0, 1, 2], [0, 3, 4], [0, 5, 7]]);
    expect(info).toBe(1);
    expect(piv).toEqual([0, 2, 2]);
    // Column 0 is skipped; the trailing 2x2 [[3,4],[5,7]] is factored with pivot row 5.
    expect(lu[2][2]).toBeCloseTo(4 - 0.6 * 7, dt === 'f64' ? 14 : 5);
  });

  for (const nrhs of [1, 3]) {
    it.each(SIZES)(`lu_solve with ${nrhs} right-hand side(s) leaves a small residual at n = %i`, (n) => {
      const a = randomMatrix(dt, n, n, 200 + n);
      const b = randomMatrix(dt, n, nrhs, 300 + n);
      const { info, pa, ppiv } = factorLU(dt, a);
      expect(info).toBe(0);
      const pb = wasm.alloc(dt, n * nrhs, b.flat());
      wasm.fn(`lu_solve_${dt}`)(pa, ppiv, pb, n, nrhs);
      const x = rowsOf(wasm.read(dt, pb, n * nrhs), n, nrhs);
      expect(residual(a, x, b)).toBeLessThan(TOL[dt]);
    });
  }
});

describe.each(DTYPES)('cholesky (%s)', (dt) => {
  it.each(SIZES)('reconstructs A = L*L^T from the lower triangle alone at n = %i', (n) => {
    const m = randomMatrix(dt, n, n, 400 + n);
    const a = matmul(m, transpose(m)).map((row, i) => row.map((v, j) => round(dt)(v + (i === j ? n : 0))));
    // NaN in the strict upper triangle proves it is never read.
    const input = a.map((row, i) => row.map((v, j) => (j > i ? NaN : v)));
    const pa = wasm.alloc(dt, n * n, input.flat());
    expect(wasm.fn(`cholesky_${dt}`)(pa, n)).toBe(0);
    const l = rowsOf(wasm.read(dt, pa, n * n), n, n);
    expect(l.every((row, i) => row.every((v, j) => j <= i || v === 0))).toBe(true);
    expect(l.every((row, i) => row[i] > 0)).toBe(true);
    expect(maxDiff(matmul(l, transpose(l)), a)).toBeLessThanOrEqual(TOL[dt] * maxAbs(a));
  });

  it.each([
    [[[1, 2], [2, 1]], 2],
    [[[0]], 1],
    [[[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, -1, 0], [0, 0, 0, 3]], 3],
    [[[4, 2, 2], [2, 1, 1], [2, 1, 5]], 2],
  ] as [Matrix, number][])('returns the order of the first non-positive-definite minor: %j gives %i', (a, k) => {
    expect(wasm.fn(`cholesky_${dt}`)(wasm.alloc(dt, a.length ** 2, a.flat()), a.length)).toBe(k);
  });
});

describe.each(DTYPES)('tri_solve (%s)', (dt) => {
  const cases: [number, number, number][] = [];
  for (const lower of [1, 0]) for (const trans of [0, 1]) for (const unit of [0, 1]) cases.push([lower, trans, unit]);

  describe.each(cases)('lower = %i, transpose = %i, unitDiag = %i', (lower, trans, unit) => {
    for (const nrhs of [1, 2, 5]) {
      it.each(SIZES)(`solves ${nrhs} right-hand side(s) without reading the other triangle at n = %i`, (n) => {
        const r = rng(500 + 17 * n + nrhs + 4 * lower + 2 * trans + unit);
        // Off-diagonal entries of size 1/n and a diagonal of size 1..2 keep T well conditioned.
        const t = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => {
          if (i === j) return unit ? 1 : round(dt)((r() < 0.5 ? -1 : 1) * (1 + r()));
          return (j < i) === (lower === 1) ? round(dt)((2 * r() - 1) / n) : 0;
        }));
        const input = t.map((row, i) => row.map((v, j) => (i === j ? (unit ? NaN : v) : (j < i) === (lower === 1) ? v : NaN)));
        const b = randomMatrix(dt, n, nrhs, 600 + n);
        const pb = wasm.alloc(dt, n * nrhs, b.flat());
        wasm.fn(`tri_solve_${dt}`)(wasm.alloc(dt, n * n, input.flat()), pb, n, nrhs, lower, trans, unit);
        const x = rowsOf(wasm.read(dt, pb, n * nrhs), n, nrhs);
        expect(residual(trans ? transpose(t) : t, x, b)).toBeLessThan(TOL[dt]);
      });
    }
  });
});
