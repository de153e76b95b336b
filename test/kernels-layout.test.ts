// Layout kernels against plain-JS references, straight on build/release.wasm.
import { beforeEach, describe, expect, it } from 'vitest';
import { loadRawWasm, rng } from './helpers/raw-wasm.js';

type DType = 'f64' | 'f32';
const wasm = loadRawWasm();
beforeEach(() => wasm.reset());

const LANES = { f64: 2, f32: 4 } as const;
const DTYPES: DType[] = ['f64', 'f32'];
const round = (dt: DType) => (dt === 'f32' ? Math.fround : (x: number) => x);

function sizes(dt: DType): number[] {
  const L = LANES[dt];
  return [...new Set([0, 1, L - 1, L, 3 * L + 1, 1037])];
}


function randomArray(dt: DType, n: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => round(dt)(2 * r() - 1));
}

/** Reads `a` through strides (element offset `offset`), in row-major order of `shape`. */
function gather(a: number[], shape: number[], strides: number[], offset = 0): number[] {
  const size = shape.reduce((p, s) => p * s, 1);
  const out: number[] = [];
  const idx = shape.map(() => 0);
  for (let e = 0; e < size; e++) {
    out.push(a[offset + idx.reduce((p, v, d) => p + v * strides[d], 0)]);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

function contiguousStrides(shape: number[]): number[] {
  const strides = shape.map(() => 1);
  for (let d = shape.length - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

/** Runs copy_strided on `a` viewed at element `offset` with shape/strides; returns the output. */
function copyStrided(dt: DType, a: number[], shape: number[], strides: number[], offset = 0): number[] {
  const size = shape.reduce((p, s) => p * s, 1);
  const pa = wasm.alloc(dt, a.length, a);
  const meta = wasm.alloc('i32', 2 * shape.length, [...shape, ...strides]);
  const out = wasm.alloc(dt, size);
  wasm.fn(`copy_strided_${dt}`)(out, pa + offset * (dt === 'f64' ? 8 : 4), meta, shape.length);
  return wasm.read(dt, out, size);
}

describe.each(DTYPES)('fills, copies and casts (%s)', (dt) => {
  it.each(sizes(dt))('fill and copy at n = %i', (n) => {
    const out = wasm.alloc(dt, n);
    wasm.fn(`fill_${dt}`)(out, 0.25, n);
    expect(wasm.read(dt, out, n)).toEqual(new Array(n).fill(0.25));
    const x = randomArray(dt, n, n);
    wasm.fn(`copy_${dt}`)(out, wasm.alloc(dt, n, x), n);
    expect(wasm.read(dt, out, n)).toEqual(x);
  });

  it.each([...sizes(dt).slice(0, -1), 37])('eye at n = %i', (n) => {
    const out = wasm.alloc(dt, n * n, new Array(n * n).fill(7));
    wasm.fn(`eye_${dt}`)(out, n);
    expect(wasm.read(dt, out, n * n)).toEqual(Array.from({ length: n * n }, (_, j) => (j % (n + 1) === 0 ? 1 : 0)));
  });

  it.each(sizes(dt))('arange(0.5, 0.1) at n = %i is start + i*step rounded once', (n) => {
    const out = wasm.alloc(dt, n);
    wasm.fn(`arange_${dt}`)(out, 0.5, 0.1, n);
    expect(wasm.read(dt, out, n)).toEqual(Array.from({ length: n }, (_, i) => round(dt)(0.5 + i * 0.1)));
  });
});

describe('casts', () => {
  it.each(sizes('f32'))('cast_f64_f32 rounds like Math.fround at n = %i', (n) => {
    const x = randomArray('f64', n, 3 + n).map((v, i) => [v, 1e300, -1e300, NaN, 1e-50, 1 + 2 ** -24][i % 6]);
    const out = wasm.alloc('f32', n);
    wasm.fn('cast_f64_f32')(out, wasm.alloc('f64', n, x), n);
    expect(wasm.read('f32', out, n)).toEqual(x.map(Math.fround));
  });

  it.each(sizes('f32'))('cast_f32_f64 is exact at n = %i', (n) => {
    const x = randomArray('f32', n, 5 + n);
    const out = wasm.alloc('f64', n);
    wasm.fn('cast_f32_f64')(out, wasm.alloc('f32', n, x), n);
    expect(wasm.read('f64', out, n)).toEqual(x);
  });
});

describe.each(DTYPES)('copy_strided (%s)', (dt) => {
  const src = randomArray(dt, 24, 1);

  it.each(permutations(3))('transposes [2,3,4] by the permutation (%i, %i, %i)', (...perm: number[]) => {
    const shape = [2, 3, 4];
    const strides = contiguousStrides(shape);
    const outShape = perm.map((p) => shape[p]);
    const outStrides = perm.map((p) => strides[p]);
    expect(copyStrided(dt, src, outShape, outStrides)).toEqual(gather(src, outShape, outStrides));
  });

  it('broadcasts [3,1] to [3,5] with a zero stride', () => {
    const a = [1.5, -2, 3];
    expect(copyStrided(dt, a, [3, 5], [1, 0])).toEqual([1.5, 1.5, 1.5, 1.5, 1.5, -2, -2, -2, -2, -2, 3, 3, 3, 3, 3]);
  });

  it('broadcasts a row [1,7] to [4,7] and a scalar to [3,3]', () => {
    const row = randomArray(dt, 7, 2);
    expect(copyStrided(dt, row, [4, 7], [0, 1])).toEqual(gather(row, [4, 7], [0, 1]));
    expect(copyStrided(dt, [0.5], [3, 3], [0, 0])).toEqual(new Array(9).fill(0.5));
  });

  it('slices [1:3, ::2, 1:] out of [4, 6, 5]', () => {
    const a = randomArray(dt, 120, 3);
    const shape = [2, 3, 4];
    const strides = [30, 10, 1];
    const offset = 30 + 1;
    expect(copyStrided(dt, a, shape, strides, offset)).toEqual(gather(a, shape, strides, offset));
  });

  it('reads negative strides (a reversed axis)', () => {
    const a = randomArray(dt, 35, 4);
    expect(copyStrided(dt, a, [5, 7], [7, -1], 6)).toEqual(gather(a, [5, 7], [7, -1], 6));
  });

  it('handles 0-d, size-0 and size-1 axes', () => {
    expect(copyStrided(dt, [2.5], [], [])).toEqual([2.5]);
    expect(copyStrided(dt, [1, 2, 3], [3, 0], [1, 1])).toEqual([]);
    const a = randomArray(dt, 12, 5);
    expect(copyStrided(dt, a, [1, 3, 1, 4], [0, 1, 9, 3])).toEqual(gather(a, [1, 3, 1, 4], [0, 1, 9, 3]));
  });

  it.each(permutations(3))('transposes a larger [5, 37, 41] by (%i, %i, %i) (tiled and ragged paths)', (...perm: number[]) => {
    const shape = [5, 37, 41];
    const a = randomArray(dt, 5 * 37 * 41, 6);
    const strides = contiguousStrides(shape);
    const outShape = perm.map((p) => shape[p]);
    const outStrides = perm.map((p) => strides[p]);
    expect(copyStrided(dt, a, outShape, outStrides)).toEqual(gather(a, outShape, outStrides));
  });

  it('transposes a matrix with a reversed axis (negative stride on the tiled path)', () => {
    const a = randomArray(dt, 9 * 13, 8);
    // a[::-1, :].T for a of shape [9, 13]
    expect(copyStrided(dt, a, [13, 9], [1, -13], 8 * 13)).toEqual(gather(a, [13, 9], [1, -13], 8 * 13));
  });

  it('transposes a sliced matrix (the row stride is not the row length)', () => {
    const a = randomArray(dt, 40 * 50, 7);
    // a[3:33, 2:47].T
    const shape = [45, 30];
    const strides = [1, 50];
    expect(copyStrided(dt, a, shape, strides, 3 * 50 + 2)).toEqual(gather(a, shape, strides, 3 * 50 + 2));
  });
});

describe.each(DTYPES)('transpose2d (%s)', (dt) => {
  const L = LANES[dt];
  const shapes: [number, number][] = [[0, 0], [0, 3], [1, 1], [1, 5], [5, 1], [L - 1, L], [L, L], [3 * L + 1, 2 * L + 3], [37, 53], [64, 64], [100, 9]];
  it.each(shapes)('transposes a %i x %i matrix', (rows, cols) => {
    const a = randomArray(dt, rows * cols, rows * 1000 + cols);
    const out = wasm.alloc(dt, rows * cols);
    wasm.fn(`transpose2d_${dt}`)(out, wasm.alloc(dt, rows * cols, a), rows, cols);
    expect(wasm.read(dt, out, rows * cols)).toEqual(gather(a, [cols, rows], [1, cols]));
  });
});
