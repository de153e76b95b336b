// matmul_<dt>(out, a, b, m, k, n, transA, transB) against a plain-JS triple loop, straight on
// build/release.wasm. The shapes walk every path of the kernel: empty and k = 0, the tiny
// unpacked loop, matrix-vector (m = 1 or n = 1), fewer than MR rows or columns, thin outputs
// computed transposed, B read in place (m <= 16), and the packed GEMM at its micro-tile
// (MR = 4, NR = 8 f32 / 4 f64), depth-block (KC = 256) and row/column-block (MC = 64 / 32,
// NC = 512 / 256) boundaries.
import { beforeEach, describe, expect, it } from 'vitest';
import { loadRawWasm, rng } from './helpers/raw-wasm.js';

type DType = 'f64' | 'f32';
type Shape = [m: number, k: number, n: number];
const wasm = loadRawWasm();
beforeEach(() => wasm.reset());

const MR = 4;
const NR = { f64: 4, f32: 8 } as const;
const KC = 256;
// Error bound relative to sum_p |a_ip| |b_pj|, the scale of the rounding error of a dot product.
const TOL = { f64: 1e-13, f32: 1e-5 } as const;
const TRANS: [number, number][] = [[0, 0], [1, 0], [0, 1], [1, 1]];

function shapes(dt: DType): Shape[] {
  const nr = NR[dt];
  const list: Shape[] = [
    [1, 1, 1], [2, 2, 2], [3, 3, 3], [2, 5, 3],
    [MR - 1, 7, nr - 1], [MR, 7, nr], [MR + 1, 7, nr + 1], [MR, 40, nr], [MR + 1, 40, nr - 1], [2 * MR, 9, 2 * nr],
    [17, 33, 9], [9, 33, 17], [1, 37, 1], [1, 37, 19], [19, 37, 1], [2, 64, 2],
    [2, 50, 45], [3, 70, 33], [45, 50, 2], [33, 70, 3], [40, 30, 6], [200, 300, 13],
    [9, KC + 1, 10], [5, 2 * KC + 3, 6],
    [130, 257, 70], [70, 5, 530], [6, 20, 530],
  ];
  return list;
}


function randomArray(dt: DType, n: number, seed: number): number[] {
  const r = rng(seed);
  const round = dt === 'f32' ? Math.fround : (x: number) => x;
  return Array.from({ length: n }, () => round(2 * r() - 1));
}

/** out = op(A) op(B) in f64, and the scale sum_p |op(A)_ip op(B)_pj| of each entry. */
function reference(a: number[], b: number[], [m, k, n]: Shape, transA: number, transB: number) {
  const value = new Float64Array(m * n);
  const scale = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let t = 0;
      for (let p = 0; p < k; p++) {
        const x = transA ? a[p * m + i] : a[i * k + p];
        const y = transB ? b[j * k + p] : b[p * n + j];
        s += x * y;
        t += Math.abs(x * y);
      }
      value[i * n + j] = s;
      scale[i * n + j] = t;
    }
  }
  return { value, scale };
}

/** Runs the kernel on a fresh region whose output starts as NaN, so nothing may be left unwritten. */
function matmul(dt: DType, a: number[], b: number[], [m, k, n]: Shape, transA: number, transB: number): number[] {
  const pa = wasm.alloc(dt, m * k, a);
  const pb = wasm.alloc(dt, k * n, b);
  const out = wasm.alloc(dt, m * n, new Array(m * n).fill(NaN));
  wasm.fn(`matmul_${dt}`)(out, pa, pb, m, k, n, transA, transB);
  return wasm.read(dt, out, m * n);
}

/** Largest |got - want| / scale over all entries (0 where both are exactly 0). */
function worstError(got: number[], want: { value: Float64Array; scale: Float64Array }): number {
  let worst = 0;
  for (let e = 0; e < got.length; e++) {
    const err = Math.abs(got[e] - want.value[e]);
    if (err !== 0) worst = Math.max(worst, want.scale[e] > 0 ? err / want.scale[e] : Infinity);
  }
  return worst;
}

describe.each(['f64', 'f32'] as DType[])('matmul_%s', (dt) => {
  for (const [transA, transB] of TRANS) {
    const op = `${transA ? 'A^T' : 'A'} ${transB ? 'B^T' : 'B'}`;

    for (const shape of shapes(dt)) {
      it(`${op}: ${shape.join('x')} (m x k x n) matches the triple loop`, () => {
        const [m, k, n] = shape;
        const seed = 1000 * m + 10 * k + n + 7 * transA + 3 * transB;
        const a = randomArray(dt, m * k, seed);
        const b = randomArray(dt, k * n, seed + 1);
        const got = matmul(dt, a, b, shape, transA, transB);
        expect(got.every(Number.isFinite)).toBe(true);
        expect(worstError(got, reference(a, b, shape, transA, transB))).toBeLessThanOrEqual(TOL[dt]);
      });
    }

    it(`${op}: k = 0 fills the output with zeros`, () => {
      for (const [m, n] of [[1, 1], [3, 5], [MR, NR[dt]], [20, 30]]) {
        expect(matmul(dt, [], [], [m, 0, n], transA, transB)).toEqual(new Array(m * n).fill(0));
      }
    });

    it(`${op}: m = 0 or n = 0 writes nothing`, () => {
      const guard = wasm.alloc(dt, 4, [7, 7, 7, 7]);
      const a = wasm.alloc(dt, 12, randomArray(dt, 12, 1));
      wasm.fn(`matmul_${dt}`)(guard, a, a, 0, 3, 4, transA, transB);
      wasm.fn(`matmul_${dt}`)(guard, a, a, 4, 3, 0, transA, transB);
      wasm.fn(`matmul_${dt}`)(guard, a, a, 0, 0, 0, transA, transB);
      expect(wasm.read(dt, guard, 4)).toEqual([7, 7, 7, 7]);
    });
  }

  it('overwrites rather than accumulates: a second call gives the same result', () => {
    const shape: Shape = [37, 300, 29];
    const a = randomArray(dt, 37 * 300, 5);
    const b = randomArray(dt, 300 * 29, 6);
    const pa = wasm.alloc(dt, a.length, a);
    const pb = wasm.alloc(dt, b.length, b);
    const out = wasm.alloc(dt, 37 * 29);
    const f = wasm.fn(`matmul_${dt}`);
    f(out, pa, pb, ...shape, 0, 0);
    const first = wasm.read(dt, out, 37 * 29);
    f(out, pa, pb, ...shape, 0, 0);
    expect(wasm.read(dt, out, 37 * 29)).toEqual(first);
  });

  it('small integers multiply exactly: [[1,2],[3,4]] [[5,6],[7,8]] = [[19,22],[43,50]]', () => {
    expect(matmul(dt, [1, 2, 3, 4], [5, 6, 7, 8], [2, 2, 2], 0, 0)).toEqual([19, 22, 43, 50]);
    expect(matmul(dt, [1, 3, 2, 4], [5, 7, 6, 8], [2, 2, 2], 1, 1)).toEqual([19, 22, 43, 50]);
  });

  it('leaves the bytes after the output untouched on edge tiles', () => {
    const shape: Shape = [MR + 1, 20, NR[dt] + 1];
    const [m, k, n] = shape;
    const pa = wasm.alloc(dt, m * k, randomArray(dt, m * k, 8));
    const pb = wasm.alloc(dt, k * n, randomArray(dt, k * n, 9));
    const out = wasm.alloc(dt, m * n + 8, new Array(m * n + 8).fill(-3));
    wasm.fn(`matmul_${dt}`)(out, pa, pb, m, k, n, 0, 0);
    expect(wasm.read(dt, out + m * n * (dt === 'f32' ? 4 : 8), 8)).toEqual(new Array(8).fill(-3));
  });
});
