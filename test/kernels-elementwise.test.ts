// Elementwise kernels (assembly/elementwise.ts, assembly/mathf64.ts) against plain JS, and the
// run-time scalar code of the binary dual kernels (assembly/dual.ts).
// Exact ops must match bit for bit (NaN and the sign of zero included); transcendentals are
// measured in ulp against Math.* with the bound each kernel documents.
import { beforeEach, describe, expect, it } from 'vitest';
import { loadRawWasm, rng as prng } from './helpers/raw-wasm';

const wasm = loadRawWasm();
beforeEach(() => wasm.reset());

type DType = 'f64' | 'f32';
type Unary = (x: number) => number;
type Binary = (x: number, y: number) => number;

const LANES: Record<DType, number> = { f64: 2, f32: 4 };
const round: Record<DType, Unary> = { f64: (x) => x, f32: Math.fround };
const sizes = (dt: DType): number[] => {
  const l = LANES[dt];
  return [0, 1, l - 1, l, 3 * l + 1, 8 * l + 3, 4099];
};


// ---- ulp distance ----------------------------------------------------------------------

const f64Bits = new BigInt64Array(1);
const f64View = new Float64Array(f64Bits.buffer);
const f32Bits = new Int32Array(1);
const f32View = new Float32Array(f32Bits.buffer);

/** Distance in units in the last place, 0 for equal values (+0 and -0 included) and for two
 *  NaNs, Infinity when only one side is NaN. */
function ulps(dt: DType, got: number, want: number): number {
  if (Number.isNaN(got) || Number.isNaN(want)) return Number.isNaN(got) && Number.isNaN(want) ? 0 : Infinity;
  if (dt === 'f32') {
    const ord = (x: number) => { f32View[0] = x; const b = f32Bits[0]; return b < 0 ? -(b & 0x7fffffff) : b; };
    return Math.abs(ord(got) - ord(want));
  }
  const ord = (x: number) => { f64View[0] = x; const b = f64Bits[0]; return b < 0n ? -(b & 0x7fffffffffffffffn) : b; };
  const d = ord(got) - ord(want);
  return Number(d < 0n ? -d : d);
}

interface Worst { ulps: number; at: number[]; got: number; want: number }

function worstUlps(dt: DType, got: number[], want: number[], args: number[][]): Worst {
  const worst: Worst = { ulps: 0, at: [], got: 0, want: 0 };
  for (let i = 0; i < got.length; i++) {
    const u = ulps(dt, got[i], want[i]);
    // Zeros and infinities must also agree in sign.
    const signed = (want[i] === 0 || !Number.isFinite(want[i])) && !Number.isNaN(want[i]);
    const e = signed && !Object.is(got[i], want[i]) ? Infinity : u;
    if (e > worst.ulps) Object.assign(worst, { ulps: e, at: args.map((a) => a[i]), got: got[i], want: want[i] });
  }
  return worst;
}

// ---- kernel drivers --------------------------------------------------------------------

const GUARD = 4; // elements past the end that a kernel must leave alone
const SENTINEL = 12345.5;

function runUnary(name: string, dt: DType, xs: number[], inPlace = false): number[] {
  const a = wasm.alloc(dt, xs.length + GUARD, [...xs, ...Array(GUARD).fill(SENTINEL)]);
  const out = inPlace ? a : wasm.alloc(dt, xs.length + GUARD, Array(xs.length + GUARD).fill(SENTINEL));
  wasm.fn(`${name}_${dt}`)(out, a, xs.length);
  const all = wasm.read(dt, out, xs.length + GUARD);
  expect(all.slice(xs.length), `${name}_${dt} wrote past n = ${xs.length}`).toEqual(Array(GUARD).fill(SENTINEL));
  return all.slice(0, xs.length);
}

function runBinary(name: string, dt: DType, xs: number[], ys: number[], inPlace = false): number[] {
  const n = xs.length;
  const a = wasm.alloc(dt, n + GUARD, [...xs, ...Array(GUARD).fill(SENTINEL)]);
  const b = wasm.alloc(dt, n + GUARD, [...ys, ...Array(GUARD).fill(SENTINEL)]);
  const out = inPlace ? a : wasm.alloc(dt, n + GUARD, Array(n + GUARD).fill(SENTINEL));
  wasm.fn(`${name}_${dt}`)(out, a, b, n);
  const all = wasm.read(dt, out, n + GUARD);
  expect(all.slice(n), `${name}_${dt} wrote past n = ${n}`).toEqual(Array(GUARD).fill(SENTINEL));
  return all.slice(0, n);
}

/** Values for exact ops: mostly moderate numbers, with zeros, infinities and NaN mixed in. */
function mixedValues(rand: () => number, n: number, dt: DType): number[] {
  const specials = [0, -0, Infinity, -Infinity, NaN, 1, -1, 0.5];
  return Array.from({ length: n }, () =>
    round[dt](rand() < 0.15 ? specials[Math.floor(rand() * specials.length)] : (rand() - 0.5) * 200));
}

// ---- exact ops -------------------------------------------------------------------------

const exactUnary: Record<string, Unary> = {
  neg: (x) => -x,
  abs: Math.abs,
  sign: Math.sign,
  sqrt: Math.sqrt,
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
};

const exactBinary: Record<string, Binary> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  maximum: Math.max,
  minimum: Math.min,
  greater: (x, y) => (x > y ? 1 : 0),
  less: (x, y) => (x < y ? 1 : 0),
  equal: (x, y) => (x === y ? 1 : 0),
  greater_equal: (x, y) => (x >= y ? 1 : 0),
  less_equal: (x, y) => (x <= y ? 1 : 0),
};

/** f32 reference: the op in double, rounded once (exact for these ops: 53 >= 2 * 24 + 2). */
const refUnary = (dt: DType, f: Unary) => (x: number) => round[dt](f(x));
const refBinary = (dt: DType, f: Binary) => (x: number, y: number) => round[dt](f(x, y));

for (const dt of ['f64', 'f32'] as const) {
  describe(`exact unary kernels, ${dt}`, () => {
    for (const [name, f] of Object.entries(exactUnary)) {
      it(`${name}_${dt} matches JS bit for bit at n = ${sizes(dt).join(', ')}`, () => {
        const rand = prng(name.length * 7919);
        for (const n of sizes(dt)) {
          const xs = mixedValues(rand, n, dt);
          expect(runUnary(name, dt, xs)).toEqual(xs.map(refUnary(dt, f)));
        }
      });
      it(`${name}_${dt} works in place (out === a)`, () => {
        const xs = mixedValues(prng(11), 3 * LANES[dt] + 1, dt);
        expect(runUnary(name, dt, xs, true)).toEqual(xs.map(refUnary(dt, f)));
      });
    }
  });

  describe(`exact binary kernels, ${dt}`, () => {
    for (const [name, f] of Object.entries(exactBinary)) {
      it(`${name}_${dt} matches JS bit for bit at n = ${sizes(dt).join(', ')}`, () => {
        const rand = prng(name.length * 104729);
        for (const n of sizes(dt)) {
          const xs = mixedValues(rand, n, dt);
          // Repeat some values so that equal and ordered pairs both occur.
          const ys = mixedValues(rand, n, dt).map((y, i) => (i % 5 === 0 ? xs[i] : y));
          expect(runBinary(name, dt, xs, ys)).toEqual(xs.map((x, i) => refBinary(dt, f)(x, ys[i])));
        }
      });
      it(`${name}_${dt} works in place (out === a)`, () => {
        const rand = prng(5);
        const xs = mixedValues(rand, 8 * LANES[dt] + 3, dt);
        const ys = mixedValues(rand, xs.length, dt);
        expect(runBinary(name, dt, xs, ys, true)).toEqual(xs.map((x, i) => refBinary(dt, f)(x, ys[i])));
      });
    }
  });
}

describe('maximum and minimum follow Math.max and Math.min', () => {
  it('propagate NaN from either side and order -0 below +0', () => {
    const xs = [NaN, 1, -0, 0];
    const ys = [1, NaN, 0, -0];
    expect(runBinary('maximum', 'f64', xs, ys)).toEqual([NaN, NaN, 0, 0]);
    expect(runBinary('minimum', 'f64', xs, ys).map((v) => Object.is(v, -0))).toEqual([false, false, true, true]);
  });
});

// ---- where -----------------------------------------------------------------------------

describe('where', () => {
  for (const dt of ['f64', 'f32'] as const) {
    it(`where_${dt} takes a where cond is nonzero (NaN included), b where it is +-0`, () => {
      const rand = prng(77);
      for (const n of sizes(dt)) {
        const conds = Array.from({ length: n }, (_, i) => [0, -0, 1, NaN, -2.5][i % 5]);
        const xs = mixedValues(rand, n, dt);
        const ys = mixedValues(rand, n, dt);
        const c = wasm.alloc(dt, n, conds);
        const a = wasm.alloc(dt, n, xs);
        const b = wasm.alloc(dt, n, ys);
        const out = wasm.alloc(dt, n + GUARD, Array(n + GUARD).fill(SENTINEL));
        wasm.fn(`where_${dt}`)(out, c, a, b, n);
        const want = conds.map((cv, i) => (cv !== 0 ? xs[i] : ys[i]));
        expect(wasm.read(dt, out, n + GUARD)).toEqual([...want, ...Array(GUARD).fill(SENTINEL)]);
      }
    });
  }
});

// ---- broadcasting ----------------------------------------------------------------------

interface NdCase { label: string; shape: number[]; strides: number[][]; sizes: number[]; offsets?: number[] }

/** out[i] = f(operands at their strided offsets), i running over `shape` in row-major order. */
function ndReference(shape: number[], strides: number[][], offsets: number[], data: number[][], f: (...v: number[]) => number): number[] {
  const total = shape.reduce((p, s) => p * s, 1);
  const out: number[] = [];
  const index = Array(shape.length).fill(0);
  for (let flat = 0; flat < total; flat++) {
    out.push(f(...data.map((d, k) => d[offsets[k] + index.reduce((acc, v, dim) => acc + v * strides[k][dim], 0)])));
    for (let d = shape.length - 1; d >= 0 && ++index[d] === shape[d]; d--) index[d] = 0;
  }
  return out;
}

const binaryNdCases: NdCase[] = [
  { label: '[3,1] x [1,4]', shape: [3, 4], strides: [[1, 0], [0, 1]], sizes: [3, 4] },
  { label: '[2,3,4] x [4]', shape: [2, 3, 4], strides: [[12, 4, 1], [0, 0, 1]], sizes: [24, 4] },
  { label: 'scalar x [5]', shape: [5], strides: [[0], [1]], sizes: [1, 5] },
  { label: '[5] x scalar', shape: [5], strides: [[1], [0]], sizes: [5, 1] },
  { label: 'transposed [4,3]^T x [3,4]', shape: [3, 4], strides: [[1, 3], [4, 1]], sizes: [12, 12] },
  { label: 'contiguous rows of 37 (unrolled, with tails)', shape: [7, 37], strides: [[37, 1], [37, 1]], sizes: [259, 259] },
  { label: 'rows of 33 against a broadcast column', shape: [5, 33], strides: [[33, 1], [1, 0]], sizes: [165, 5] },
  { label: 'reversed a (negative stride)', shape: [9], strides: [[-1], [1]], sizes: [9, 9], offsets: [8, 0] },
  { label: 'scalar x scalar (ndim 0)', shape: [], strides: [[], []], sizes: [1, 1] },
  { label: 'an empty dimension', shape: [0, 3], strides: [[3, 1], [3, 1]], sizes: [1, 1] },
];

function runNd(name: string, dt: DType, c: NdCase, data: number[][]): number[] {
  const nd = c.shape.length;
  const meta = wasm.alloc('i32', Math.max(1, nd * (1 + data.length)), [...c.shape, ...c.strides.flat()]);
  const offsets = c.offsets ?? data.map(() => 0);
  const ptrs = data.map((d, k) => wasm.alloc(dt, d.length, d) + offsets[k] * (dt === 'f64' ? 8 : 4));
  const total = c.shape.reduce((p, s) => p * s, 1);
  const out = wasm.alloc(dt, total + GUARD, Array(total + GUARD).fill(SENTINEL));
  wasm.fn(`${name}_nd_${dt}`)(out, ...ptrs, meta, nd);
  const all = wasm.read(dt, out, total + GUARD);
  expect(all.slice(total), `${name}_nd_${dt} wrote past the output`).toEqual(Array(GUARD).fill(SENTINEL));
  return all.slice(0, total);
}

const allBinary: Record<string, Binary> = { ...exactBinary, pow: Math.pow };

for (const dt of ['f64', 'f32'] as const) {
  describe(`broadcasting binary kernels, ${dt}`, () => {
    for (const [name, f] of Object.entries(allBinary)) {
      for (const c of binaryNdCases) {
        it(`${name}_nd_${dt}: ${c.label}`, () => {
          const rand = prng(c.label.length);
          const data = c.sizes.map((s) => Array.from({ length: s }, () => round[dt](0.25 + rand() * 3 * (rand() < 0.3 ? -1 : 1))));
          const want = ndReference(c.shape, c.strides, c.offsets ?? [0, 0], data, refBinary(dt, f));
          const got = runNd(name, dt, c, data);
          if (name === 'pow') expect(worstUlps(dt, got, want, []).ulps).toBeLessThanOrEqual(1);
          else expect(got).toEqual(want);
        });
      }
    }
  });

  describe(`broadcasting where, ${dt}`, () => {
    const whereCases: NdCase[] = [
      { label: 'cond [3,1], a [1,4], b scalar', shape: [3, 4], strides: [[1, 0], [0, 1], [0, 0]], sizes: [3, 4, 1] },
      { label: 'all contiguous, rows of 11', shape: [3, 11], strides: [[11, 1], [11, 1], [11, 1]], sizes: [33, 33, 33] },
      { label: 'transposed cond', shape: [3, 4], strides: [[1, 3], [4, 1], [4, 1]], sizes: [12, 12, 12] },
      { label: 'ndim 0', shape: [], strides: [[], [], []], sizes: [1, 1, 1] },
    ];
    for (const c of whereCases) {
      it(`where_nd_${dt}: ${c.label}`, () => {
        const rand = prng(c.label.length + 1);
        const data = c.sizes.map((s, k) => Array.from({ length: s }, () => (k === 0 ? [0, 1, NaN, -0][Math.floor(rand() * 4)] : round[dt](rand() * 10))));
        const want = ndReference(c.shape, c.strides, [0, 0, 0], data, (cv, x, y) => (cv !== 0 ? x : y));
        expect(runNd('where', dt, c, data)).toEqual(want);
      });
    }
  });
}

// ---- transcendentals -------------------------------------------------------------------

const sigmoid: Unary = (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const transcendental: Record<string, Unary> = {
  exp: Math.exp, expm1: Math.expm1, log: Math.log, log1p: Math.log1p, sin: Math.sin, cos: Math.cos, tan: Math.tan, tanh: Math.tanh, sigmoid,
};

/** Documented bounds against Math.* (sigmoid: against the stable formula with Math.exp). */
const F64_BOUND: Record<string, number> = { exp: 1, expm1: 1, log: 1, log1p: 1, sin: 1, cos: 1, tan: 1, tanh: 2, sigmoid: 2, pow: 1 };
const F32_BOUND = 1;

for (const dt of ['f64', 'f32'] as const) {
  describe(`transcendental kernels at every size, ${dt}`, () => {
    for (const [name, f] of Object.entries(transcendental)) {
      it(`${name}_${dt} is within bound at n = ${sizes(dt).join(', ')} and in place`, () => {
        const rand = prng(name.length * 31);
        const bound = dt === 'f64' ? F64_BOUND[name] : F32_BOUND;
        for (const n of sizes(dt)) {
          const xs = Array.from({ length: n }, () => round[dt](name === 'log' || name === 'log1p' ? rand() * 50 : (rand() - 0.5) * 12));
          const want = xs.map(refUnary(dt, f));
          expect(worstUlps(dt, runUnary(name, dt, xs), want, [xs]).ulps).toBeLessThanOrEqual(bound);
          expect(worstUlps(dt, runUnary(name, dt, xs, true), want, [xs]).ulps).toBeLessThanOrEqual(bound);
        }
      });
    }
  });
}

const logUniform = (rand: () => number, lo: number, hi: number) => Math.exp(Math.log(lo) + rand() * (Math.log(hi) - Math.log(lo)));
const signed = (rand: () => number, v: number) => (rand() < 0.5 ? -v : v);
const POINTS = 100_000;
const SPECIAL = [0, -0, NaN, Infinity, -Infinity, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-300, -1e-300, 1, -1, 1.7976931348623157e308, -1.7976931348623157e308];

interface Sweep { label: string; gen: (rand: () => number) => number }

const sweeps: Record<string, Sweep[]> = {
  exp: [
    { label: 'uniform over [-745.2, 709.8]', gen: (r) => -745.2 + r() * 1455 },
    { label: 'magnitudes 1e-300..1e3, both signs', gen: (r) => signed(r, logUniform(r, 1e-300, 1e3)) },
    { label: 'the subnormal-result range [-745.2, -708]', gen: (r) => -745.2 + r() * 37.2 },
  ],
  expm1: [
    { label: 'uniform over [-50, 709.7]', gen: (r) => -50 + r() * 759.7 },
    { label: 'magnitudes 1e-300..1e3, both signs', gen: (r) => signed(r, logUniform(r, 1e-300, 1e3)) },
    { label: 'the hand-overs near -0.5 and 45', gen: (r) => (r() < 0.5 ? -0.5 : 45) * (1 + (r() - 0.5) * 1e-3) },
    { label: 'uniform over [-1, 1]', gen: (r) => -1 + 2 * r() },
  ],
  log1p: [
    { label: 'magnitudes 1e-300..1e300', gen: (r) => logUniform(r, 1e-300, 1e300) },
    { label: 'in (-1, 0): -(1e-300..1)', gen: (r) => -logUniform(r, 1e-300, 1) },
    { label: 'near -1: -1 + 1e-16..0.1', gen: (r) => -1 + logUniform(r, 1e-16, 0.1) },
    { label: 'uniform over [-0.9, 3]', gen: (r) => -0.9 + 3.9 * r() },
  ],
  log: [
    { label: 'magnitudes 1e-300..1e300', gen: (r) => logUniform(r, 1e-300, 1e300) },
    { label: 'subnormals', gen: (r) => logUniform(r, 5e-324, 2.2e-308) },
    { label: '1 +- 1e-16..0.1', gen: (r) => 1 + signed(r, logUniform(r, 1e-16, 0.1)) },
  ],
  sin: [
    { label: 'uniform over [-10, 10]', gen: (r) => -10 + 20 * r() },
    { label: 'magnitudes 1e-300..1e300, both signs', gen: (r) => signed(r, logUniform(r, 1e-300, 1e300)) },
    { label: 'near multiples of pi/2 up to 1e5', gen: (r) => Math.round(r() * 6e4) * (Math.PI / 2) * (1 + (r() - 0.5) * 1e-12) },
  ],
  tanh: [
    { label: 'magnitudes 1e-300..30, both signs', gen: (r) => signed(r, logUniform(r, 1e-300, 30)) },
    { label: 'uniform over [-25, 25]', gen: (r) => -25 + 50 * r() },
  ],
  sigmoid: [
    { label: 'uniform over [-800, 800]', gen: (r) => -800 + 1600 * r() },
    { label: 'magnitudes 1e-300..1e3, both signs', gen: (r) => signed(r, logUniform(r, 1e-300, 1e3)) },
  ],
};
sweeps.cos = sweeps.sin;
sweeps.tan = sweeps.sin;

const EXP_THRESHOLDS = [709.782712893384, 709.7827128933841, -745.1332191019411, -745.1332191019412, -708.3964185322641, -708.39641853226420, 708, -708];

describe('f64 transcendentals in ulp against Math.*', () => {
  for (const [name, list] of Object.entries(sweeps)) {
    const f = transcendental[name];
    for (const sweep of list) {
      it(`${name}_f64 is within ${F64_BOUND[name]} ulp over ${sweep.label} (1e5 points)`, () => {
        const rand = prng(sweep.label.length * 1009 + name.length);
        const xs = Array.from({ length: POINTS }, () => sweep.gen(rand));
        const worst = worstUlps('f64', runUnary(name, 'f64', xs), xs.map(f), [xs]);
        expect(worst.ulps, JSON.stringify(worst)).toBeLessThanOrEqual(F64_BOUND[name]);
      });
    }
    it(`${name}_f64 handles special values (zeros, NaN, infinities, subnormals, extremes)`, () => {
      const xs = name === 'exp' ? [...SPECIAL, ...EXP_THRESHOLDS] : SPECIAL;
      const worst = worstUlps('f64', runUnary(name, 'f64', xs), xs.map(f), [xs]);
      expect(worst.ulps, JSON.stringify(worst)).toBeLessThanOrEqual(F64_BOUND[name]);
    });
  }

  it('exp_f64 is finite at 709.782712893384, Infinity just above, and 0 just below -745.13321910194116', () => {
    expect(runUnary('exp', 'f64', [709.782712893384, 709.7827128933841, -745.1332191019412, -745.1332191019411]))
      .toEqual([Math.exp(709.782712893384), Infinity, 0, 5e-324]);
  });

  it('tanh_f64 and sigmoid_f64 keep tiny and signed-zero inputs exact', () => {
    expect(runUnary('tanh', 'f64', [-0, 1e-300, -5e-324])).toEqual([-0, 1e-300, -5e-324]);
    expect(runUnary('sigmoid', 'f64', [-0, 0, -Infinity, Infinity])).toEqual([0.5, 0.5, 0, 1]);
  });
});

describe('pow_f64 against Math.pow', () => {
  const grid = [0, -0, 1, -1, 0.5, -0.5, 2, -2, 3, -3, 1.5, -1.5, 1e300, -1e300, 1e-300, 5e-324, Infinity, -Infinity, NaN, 0.25, 9007199254740993, -9007199254740991];
  it('matches Math.pow on every pair of special values (NaN, zero signs and infinities exact)', () => {
    const xs = grid.flatMap((x) => grid.map(() => x));
    const ys = grid.flatMap(() => grid);
    const worst = worstUlps('f64', runBinary('pow', 'f64', xs, ys), xs.map((x, i) => Math.pow(x, ys[i])), [xs, ys]);
    expect(worst.ulps, JSON.stringify(worst)).toBeLessThanOrEqual(F64_BOUND.pow);
  });

  const powSweeps: { label: string; gen: (r: () => number) => [number, number] }[] = [
    { label: 'x 1e-300..1e300 with finite results', gen: (r) => { const x = logUniform(r, 1e-300, 1e300); return [x, (r() * 2 - 1) * 1100 / Math.abs(Math.log2(x))]; } },
    { label: 'negative x with integer y', gen: (r) => [-logUniform(r, 1e-10, 1e10), Math.round((r() * 2 - 1) * 30)] },
    { label: 'x near 1 with huge y', gen: (r) => [1 + signed(r, logUniform(r, 1e-16, 1e-6)), signed(r, logUniform(r, 1e5, 1e18))] },
    { label: 'x and y both 1e-300..1e300, both signs', gen: (r) => [signed(r, logUniform(r, 1e-300, 1e300)), signed(r, logUniform(r, 1e-300, 1e300))] },
  ];
  for (const sweep of powSweeps) {
    it(`is within ${F64_BOUND.pow} ulp over ${sweep.label} (1e5 points)`, () => {
      const rand = prng(sweep.label.length * 31337);
      const pairs = Array.from({ length: POINTS }, () => sweep.gen(rand));
      const xs = pairs.map((p) => p[0]);
      const ys = pairs.map((p) => p[1]);
      const worst = worstUlps('f64', runBinary('pow', 'f64', xs, ys), xs.map((x, i) => Math.pow(x, ys[i])), [xs, ys]);
      expect(worst.ulps, JSON.stringify(worst)).toBeLessThanOrEqual(F64_BOUND.pow);
    });
  }
});

describe('f32 transcendentals in f32 ulp against Math.fround(Math.f(x))', () => {
  const f32Sweeps: Record<string, (r: () => number) => number> = {
    exp: (r) => -104 + r() * 193,
    log: (r) => logUniform(r, 1e-45, 3e38),
    sin: (r) => signed(r, logUniform(r, 1e-30, 3e38)),
    cos: (r) => signed(r, logUniform(r, 1e-30, 3e38)),
    tan: (r) => -20 + 40 * r(),
    tanh: (r) => signed(r, logUniform(r, 1e-30, 20)),
    sigmoid: (r) => -110 + 220 * r(),
  };
  for (const [name, gen] of Object.entries(f32Sweeps)) {
    it(`${name}_f32 is within ${F32_BOUND} ulp (2e4 points and special values)`, () => {
      const rand = prng(name.length * 4421);
      const xs = [...Array.from({ length: 20_000 }, () => gen(rand)), 0, -0, NaN, Infinity, -Infinity, 1e-45, -1e-45].map(Math.fround);
      const worst = worstUlps('f32', runUnary(name, 'f32', xs), xs.map(refUnary('f32', transcendental[name])), [xs]);
      expect(worst.ulps, JSON.stringify(worst)).toBeLessThanOrEqual(F32_BOUND);
    });
  }
  it(`pow_f32 is within ${F32_BOUND} ulp (2e4 points)`, () => {
    const rand = prng(99);
    const xs = Array.from({ length: 20_000 }, () => Math.fround(signed(rand, logUniform(rand, 1e-20, 1e20))));
    const ys = xs.map((x) => Math.fround(x < 0 ? Math.round((rand() - 0.5) * 8) : (rand() - 0.5) * 8));
    const worst = worstUlps('f32', runBinary('pow', 'f32', xs, ys), xs.map((x, i) => Math.fround(Math.pow(x, ys[i]))), [xs, ys]);
    expect(worst.ulps, JSON.stringify(worst)).toBeLessThanOrEqual(F32_BOUND);
  });
});

// ---- binary dual kernels: the scalar code ----------------------------------------------
// <op>_dual_<dt>(out, tout, a, b, ta, tb, n, k, scalar): the one code a caller passes at run
// time (every op code is a compile-time constant). 0: a and b have n elements; 1 (2): a (b)
// is one element without a tangent (ta = 0, or tb = 0).

describe('binary dual kernels read the scalar code', () => {
  for (const dt of ['f64', 'f32'] as const) {
    it(`mul_dual_${dt} with scalar 0, 1, 2 matches JS at n = ${sizes(dt).join(', ')} (k = 2)`, () => {
      const f = round[dt];
      const rand = prng(123);
      const k = 2;
      for (const n of sizes(dt)) {
        const vals = (m: number) => Array.from({ length: m }, () => f(rand() * 4 - 2));
        const [a, b, ta, tb] = [vals(n), vals(n), vals(k * n), vals(k * n)];
        const cases = [
          { scalar: 0, a, b, ta, tb, want: (i: number, j: number) => f(f(ta[j * n + i] * b[i]) + f(a[i] * tb[j * n + i])) },
          { scalar: 1, a: a.slice(0, 1), b, ta: null, tb, want: (i: number, j: number) => f(a[0] * tb[j * n + i]) },
          { scalar: 2, a, b: b.slice(0, 1), ta, tb: null, want: (i: number, j: number) => f(ta[j * n + i] * b[0]) },
        ];
        for (const c of cases) {
          const out = wasm.alloc(dt, n);
          const tout = wasm.alloc(dt, k * n);
          const pta = c.ta ? wasm.alloc(dt, k * n, c.ta) : 0;
          const ptb = c.tb ? wasm.alloc(dt, k * n, c.tb) : 0;
          wasm.fn(`mul_dual_${dt}`)(out, tout, wasm.alloc(dt, c.a.length, c.a), wasm.alloc(dt, c.b.length, c.b), pta, ptb, n, k, c.scalar);
          const at = (arr: number[], i: number) => arr[arr.length === 1 ? 0 : i];
          expect(wasm.read(dt, out, n)).toEqual(Array.from({ length: n }, (_, i) => f(at(c.a, i) * at(c.b, i))));
          expect(wasm.read(dt, tout, k * n)).toEqual(Array.from({ length: k * n }, (_, p) => c.want(p % n, Math.floor(p / n))));
        }
      }
    });

    for (const op of ['sub', 'mul', 'div', 'maximum', 'minimum', 'pow']) {
      it(`${op}_dual_${dt} traps on a scalar code other than 0, 1, 2`, () => {
        const n = 3;
        const [out, tout, a, b, ta] = [1, 1, 1, 1, 1].map(() => wasm.alloc(dt, n, [0.5, 1.5, 2.5]));
        for (const scalar of [3, -1]) {
          expect(() => wasm.fn(`${op}_dual_${dt}`)(out, tout, a, b, ta, 0, n, 1, scalar)).toThrow(WebAssembly.RuntimeError);
        }
      });
    }
  }
});
