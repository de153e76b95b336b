// Reduction and accumulation kernels against plain-JS references, straight on build/release.wasm.
// Sizes straddle the SIMD widths: 0, 1, lanes-1, lanes, 3*lanes+1, one unrolled block plus a
// tail, and a size past the 512/1024-element tiles.
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
  return [...new Set([0, 1, L - 1, L, 3 * L + 1, 8 * L + 3, 1037])];
}


function randomArray(dt: DType, n: number, seed: number, lo = -1, hi = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => round(dt)(lo + (hi - lo) * r()));
}

/** |got - want| within `rel` of the scale (and one f32 ulp of want for f32 outputs). */
function expectNear(got: number, want: number, scale: number, dt: DType, rel = 1e-12): void {
  const ulp = dt === 'f32' ? Math.abs(want) * 2 ** -23 : 0;
  expect(Math.abs(got - want)).toBeLessThanOrEqual(rel * scale + ulp + 1e-300);
}

describe.each(DTYPES)('whole-array reductions (%s)', (dt) => {
  it.each(sizes(dt))('sum_%s matches a JS loop at n = %i', (n) => {
    const x = randomArray(dt, n, 11 + n);
    const got = wasm.fn(`sum_${dt}`)(wasm.alloc(dt, n, x), n) as number;
    const want = x.reduce((s, v) => s + v, 0);
    expectNear(got, want, x.reduce((s, v) => s + Math.abs(v), 0), 'f64');
  });

  it.each(sizes(dt))('max and min match Math.max/Math.min at n = %i', (n) => {
    const x = randomArray(dt, n, 23 + n);
    const p = wasm.alloc(dt, n, x);
    expect(wasm.fn(`max_${dt}`)(p, n)).toBe(Math.max(...x));
    expect(wasm.fn(`min_${dt}`)(p, n)).toBe(Math.min(...x));
  });

  it('max is -Infinity and min +Infinity on an empty array', () => {
    const p = wasm.alloc(dt, 0);
    expect(wasm.fn(`max_${dt}`)(p, 0)).toBe(-Infinity);
    expect(wasm.fn(`min_${dt}`)(p, 0)).toBe(Infinity);
  });

  it('max and min propagate a NaN wherever it sits', () => {
    const n = 8 * LANES[dt] + 3;
    for (const at of [0, 1, LANES[dt], n - 4, n - 1]) {
      const x = randomArray(dt, n, 5);
      x[at] = NaN;
      const p = wasm.alloc(dt, n, x);
      expect(wasm.fn(`max_${dt}`)(p, n)).toBeNaN();
      expect(wasm.fn(`min_${dt}`)(p, n)).toBeNaN();
    }
  });

  it('orders -0 below +0 like Math.max', () => {
    const p = wasm.alloc(dt, 5, [-0, 0, -0, 0, -0]);
    expect(Object.is(wasm.fn(`max_${dt}`)(p, 5), 0)).toBe(true);
    expect(Object.is(wasm.fn(`min_${dt}`)(p, 5), -0)).toBe(true);
  });
});

describe('sum accuracy', () => {
  it('sum_f32 of 1e7 float32 values keeps f64 accuracy', () => {
    const n = 1e7;
    const p = wasm.alloc('f32', n);
    const view = new Float32Array(wasm.memory.buffer, p, n);
    const r = rng(99);
    for (let i = 0; i < n; i++) view[i] = r();
    let want = 0;
    for (let i = 0; i < n; i++) want += view[i];
    const got = wasm.fn('sum_f32')(p, n) as number;
    expect(Math.abs(got - want) / want).toBeLessThan(1e-12);
  });

  it('sum_f32 of 1e7 copies of fround(0.1) is 1e7 * fround(0.1) to 1e-12', () => {
    const n = 1e7;
    const p = wasm.alloc('f32', n);
    new Float32Array(wasm.memory.buffer, p, n).fill(0.1);
    const got = wasm.fn('sum_f32')(p, n) as number;
    const want = n * Math.fround(0.1);
    expect(Math.abs(got - want) / want).toBeLessThan(1e-12);
  });
});

// [outer, len, inner] cases: inner = 1 (contiguous rows), len = 0 and len = 1, ragged inner
// widths, and an inner axis longer than one 512-element tile.
const AXIS_CASES: [number, number, number][] = [
  [1, 0, 1], [3, 0, 4], [2, 1, 1], [2, 1, 5], [1, 7, 1], [3, 5, 1], [2, 1037, 1],
  [2, 3, 7], [4, 9, 3], [1, 2, 2], [5, 13, 17], [2, 6, 600], [1, 4, 1100],
];

function axisReference(x: number[], outer: number, len: number, inner: number, op: (acc: number, v: number) => number, init: number): number[] {
  const out = new Array<number>(outer * inner).fill(init);
  for (let o = 0; o < outer; o++)
    for (let l = 0; l < len; l++)
      for (let i = 0; i < inner; i++) out[o * inner + i] = op(out[o * inner + i], x[(o * len + l) * inner + i]);
  return out;
}

describe.each(DTYPES)('middle-axis reductions (%s)', (dt) => {
  it.each(AXIS_CASES)('sum_axis over [%i, %i, %i]', (outer, len, inner) => {
    const x = randomArray(dt, outer * len * inner, outer * 100 + len * 10 + inner);
    const out = wasm.alloc(dt, outer * inner);
    wasm.fn(`sum_axis_${dt}`)(out, wasm.alloc(dt, x.length, x), outer, len, inner);
    const want = axisReference(x, outer, len, inner, (s, v) => s + v, 0);
    const scale = axisReference(x, outer, len, inner, (s, v) => s + Math.abs(v), 0);
    wasm.read(dt, out, outer * inner).forEach((g, j) => expectNear(g, want[j], scale[j], dt));
  });

  it.each(AXIS_CASES)('max_axis and min_axis over [%i, %i, %i]', (outer, len, inner) => {
    const x = randomArray(dt, outer * len * inner, 7 + outer * 100 + len * 10 + inner);
    const a = wasm.alloc(dt, x.length, x);
    const out = wasm.alloc(dt, outer * inner);
    wasm.fn(`max_axis_${dt}`)(out, a, outer, len, inner);
    expect(wasm.read(dt, out, outer * inner)).toEqual(axisReference(x, outer, len, inner, Math.max, -Infinity));
    wasm.fn(`min_axis_${dt}`)(out, a, outer, len, inner);
    expect(wasm.read(dt, out, outer * inner)).toEqual(axisReference(x, outer, len, inner, Math.min, Infinity));
  });

  it('max_axis and min_axis propagate NaN per output element', () => {
    const [outer, len, inner] = [2, 5, 9];
    for (const innerAxis of [1, inner]) {
      const shape = innerAxis === 1 ? [outer * inner, len, 1] : [outer, len, inner];
      const x = randomArray(dt, outer * len * inner, 17);
      x[3] = NaN;
      x[x.length - 2] = NaN;
      const a = wasm.alloc(dt, x.length, x);
      const count = shape[0] * shape[2];
      const out = wasm.alloc(dt, count);
      wasm.fn(`max_axis_${dt}`)(out, a, ...shape);
      expect(wasm.read(dt, out, count)).toEqual(axisReference(x, shape[0], shape[1], shape[2], Math.max, -Infinity));
      wasm.fn(`min_axis_${dt}`)(out, a, ...shape);
      expect(wasm.read(dt, out, count)).toEqual(axisReference(x, shape[0], shape[1], shape[2], Math.min, Infinity));
    }
  });
});

// Accumulation kernels: f32 references round after every operation, as the kernels do (wasm
// SIMD has no fused multiply-add), so both dtypes compare exactly.
describe.each(DTYPES)('accumulation kernels (%s)', (dt) => {
  const f = round(dt);
  const accSizes = [...sizes(dt), 2500];

  it.each(accSizes)('add_inplace and scale at n = %i', (n) => {
    const x = randomArray(dt, n, 41 + n);
    const y = randomArray(dt, n, 43 + n);
    const alpha = f(-0.7);
    const px = wasm.alloc(dt, n, x);
    const py = wasm.alloc(dt, n, y);
    wasm.fn(`add_inplace_${dt}`)(py, px, n);
    expect(wasm.read(dt, py, n)).toEqual(y.map((v, i) => f(v + x[i])));
    const out = wasm.alloc(dt, n);
    wasm.fn(`scale_${dt}`)(out, alpha, px, n);
    expect(wasm.read(dt, out, n)).toEqual(x.map((v) => f(alpha * v)));
  });
});
