// Generated code (src/staging/codegen.ts): jit compiles programs of small and scalar values to
// JS. The compiled program must compute what the interpreter (the planned executor) computes:
// to the bit for arithmetic, comparisons, selections, shape ops and sums; within a measured
// number of ulp where Math.* stands in for a SIMD kernel (exp, log, trig, tanh, sigmoid, pow).
import { describe, expect, it } from 'vitest';
import {
  abs, add, array, atan2, broadcastTo, compiledOf, cond, cos, div, equal, exp, expm1, fori, grad, greater, jit, less, log, log1p,
  maximum, memory, minimum, mul, neg, pow, reciprocal, reshape, scalar, seededUniformForTests, sigmoid, sign, sin, sqrt, square, sub, sum,
  tan, tanh, tidy, transpose, where, whileLoop, SMALL_SIZE, type Tensor,
} from './helpers/api.js';
import { checkGrads } from './helpers/check.js';
import { sumRow } from '../src/staging/codegen-scalar.js';
import { spec } from './helpers/memory.js';
import { expectBitEqual, runBoth } from './helpers/codegen.js';

// No file-wide return to the starting bytes: a jitted function keeps its program's constants and
// its compiled code's buffers while it lives (freed once it is collected); the memory tests
// below check steady state across calls instead.

type DType = 'float64' | 'float32';

const f64Bits = new BigInt64Array(1);
const f64View = new Float64Array(f64Bits.buffer);
const f32Bits = new Int32Array(1);
const f32View = new Float32Array(f32Bits.buffer);

/** Distance in units in the last place (0 for equal values and for two NaNs). */
function ulps(dtype: DType, a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return 0;
  if (dtype === 'float32') {
    const ord = (x: number) => { f32View[0] = x; const v = f32Bits[0]; return v < 0 ? -(v & 0x7fffffff) : v; };
    return Math.abs(ord(a) - ord(b));
  }
  const ord = (x: number) => { f64View[0] = x; const v = f64Bits[0]; return v < 0n ? -(v & 0x7fffffffffffffffn) : v; };
  const d = ord(a) - ord(b);
  return Number(d < 0n ? -d : d);
}

// ---- random programs ----------------------------------------------------------------------

/** Shapes that all broadcast against each other, to at most [2, 3]. */
const SHAPES = [[], [3], [2, 3], [1, 3], [2, 1]];

type Op = (r: () => number, xs: Tensor[]) => Tensor;
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const constant = (r: () => number) => pick(r, [0, 1, -1, 0.5, 2, -3.25, 1e-3]);

/** Ops whose compiled form is bit-equal to the kernels. */
const EXACT_OPS: Op[] = [
  (r, [a, b]) => add(a, b), (r, [a, b]) => sub(a, b), (r, [a, b]) => mul(a, b), (r, [a, b]) => div(a, b),
  (r, [a, b]) => maximum(a, b), (r, [a, b]) => minimum(a, b), (r, [a]) => add(a, constant(r)), (r, [a]) => mul(constant(r), a),
  (r, [a]) => neg(a), (r, [a]) => square(a), (r, [a]) => reciprocal(add(abs(a), 1)), (r, [a]) => abs(a), (r, [a]) => sign(a),
  (r, [a]) => sqrt(abs(a)), (r, [a, b]) => where(greater(a, b), a, b), (r, [a, b]) => less(a, b), (r, [a, b]) => equal(a, b),
  (r, [a]) => sum(a), (r, [a]) => (a.ndim === 2 ? sum(a, 0) : a), (r, [a]) => broadcastTo(a, [2, 3]),
  (r, [a]) => (a.ndim === 2 && a.shape[0] === 2 && a.shape[1] === 3 ? transpose(transpose(a)) : reshape(a, a.shape)),
];

/** A random program of `length` ops over the given inputs (each op reads the latest values more often). */
function randomProgram(seed: number, length: number, ops: readonly Op[]): (...xs: Tensor[]) => Tensor[] {
  return (...inputs) => {
    const r = seededUniformForTests(seed);
    const pool = [...inputs];
    for (let i = 0; i < length; i++) {
      const from = () => pool[Math.max(0, pool.length - 1 - Math.floor(r() * r() * pool.length))];
      pool.push(pick(r, ops)(r, [from(), from()]));
    }
    return pool.slice(-3);
  };
}

function randomInputs(seed: number, shapes: number[][], dtype: DType): Tensor[] {
  const r = seededUniformForTests(seed);
  return shapes.map((shape) => array(Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r() < 0.1 ? pick(r, [0, -0, 1]) : 4 * r() - 2)), { shape, dtype }));
}

describe('random programs: compiled equals interpreted', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`scalar programs (${dtype}, 40 programs of 16 ops) agree to the bit`, () => {
      for (let seed = 1; seed <= 40; seed++) {
        tidy(() => {
          const args = randomInputs(seed, [[], [], []], dtype);
          const { compiled, interpreted } = runBoth(randomProgram(seed, 16, EXACT_OPS.slice(0, 17)), args);
          expectBitEqual(compiled, interpreted, `scalar program ${seed}`);
        });
      }
    });

    it(`small broadcasting programs (${dtype}, 40 programs of 16 ops) agree to the bit`, () => {
      for (let seed = 1; seed <= 40; seed++) {
        tidy(() => {
          const r = seededUniformForTests(1000 + seed);
          const args = randomInputs(seed, [pick(r, SHAPES), pick(r, SHAPES), pick(r, SHAPES)], dtype);
          const { compiled, interpreted } = runBoth(randomProgram(seed, 16, EXACT_OPS), args);
          expectBitEqual(compiled, interpreted, `small program ${seed}`);
        });
      }
    });
  }

  spec('sums of 1 to SMALL_SIZE elements add in the kernel\'s order (float64 and float32), compiled and by the JS replica', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      for (let n = 1; n <= SMALL_SIZE; n++) {
        const [x] = randomInputs(n, [[n]], dtype);
        const scaled = mul(x, array(Float64Array.from({ length: n }, (_, i) => 10 ** ((i % 7) - 3)), { dtype }));
        const { compiled, interpreted } = runBoth((a) => [sum(a), sum(reshape(a, [1, n]), 1)], [scaled]);
        expectBitEqual(compiled, interpreted, `sum of ${n} ${dtype}`);
        // The JS replica of the kernel's lane order (used where no kernel is bound), on its own.
        const data = scaled.data();
        const padded = dtype === 'float64' ? new Float64Array(n + 3) : new Float32Array(n + 3);
        padded.set(data, 3);
        const row = sumRow(padded, 3, n, dtype === 'float64' ? 1 : 0);
        expect(Object.is(dtype === 'float64' ? row : Math.fround(row), sum(scaled).item()), `sumRow of ${n} ${dtype}`).toBe(true);
      }
    }
  });
});

// ---- Math.* against the SIMD kernels ------------------------------------------------------

/**
 * The most ulp between the compiled op on a scalar (Math.*; larger tensors call the kernel) and
 * the kernel over 4096 points in these ranges: the float64 bounds are the measured worst cases. In float32 both round
 * a float64 result once, and no point differed; the bound of 1 allows the rare input where the
 * two float64 results straddle a float32 rounding boundary.
 */
const TRANSCENDENTAL: [string, (x: Tensor) => Tensor, number, number, Record<DType, number>][] = [
  ['exp', exp, -700, 700, { float64: 1, float32: 1 }],
  ['log', log, 1e-3, 1e3, { float64: 1, float32: 1 }],
  ['sin', sin, -10, 10, { float64: 0, float32: 1 }],
  ['cos', cos, -10, 10, { float64: 0, float32: 1 }],
  ['tan', tan, -1.5, 1.5, { float64: 0, float32: 1 }],
  ['tanh', tanh, -20, 20, { float64: 2, float32: 1 }],
  ['sigmoid', sigmoid, -40, 40, { float64: 2, float32: 1 }],
  ['log1p', log1p, -0.9, 10, { float64: 1, float32: 1 }],
  ['expm1', expm1, -5, 5, { float64: 1, float32: 1 }],
  ['pow', (x) => pow(x, 2.7), 1e-3, 50, { float64: 1, float32: 1 }],
];

describe('transcendental ops: Math.* in generated code against the kernels', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [name, op, lo, hi, bound] of TRANSCENDENTAL) {
      spec(`${name} (${dtype}) of a scalar is within ${bound[dtype]} ulp of the kernel over [${lo}, ${hi}]`, () => {
        const r = seededUniformForTests(name.length * 31 + (dtype === 'float32' ? 7 : 0));
        const jitted = jit(op);
        const x0 = scalar(lo, { dtype });
        expect(compiledOf(jitted.program(x0))?.source).toMatch(/Math\.|K\[\d+\]\(/);
        let worst = 0;
        for (let k = 0; k < 4096; k++) {
          const x = scalar(lo + (hi - lo) * r(), { dtype });
          worst = Math.max(worst, ulps(dtype, jitted(x).item(), op(x).item()));
        }
        expect(worst).toBeLessThanOrEqual(bound[dtype]);
      });
    }
  }
});

// ---- derivatives through compiled programs ------------------------------------------------

const rosenbrock = (x: Tensor, y: Tensor) => add(square(sub(1, x)), mul(100, square(sub(y, square(x)))));

describe('derivatives through compiled programs', () => {
  spec('jit(grad(rosenbrock)) is the hand-derived gradient and compiles to one function', () => {
    const jg = jit(grad(rosenbrock, { argnums: [0, 1] }) as (x: Tensor, y: Tensor) => Tensor[]);
    const [x, y] = [scalar(-1.2), scalar(1)];
    expect(compiledOf(jg.program(x, y))?.pure).toBe(true);
    const [gx, gy] = jg(x, y);
    const r = 1 - 1.44;
    expect(gx.item()).toBeCloseTo(-2 * (1 + 1.2) - 400 * -1.2 * r, 12);
    expect(gy.item()).toBeCloseTo(200 * r, 12);
  });

  spec('jit(grad(f)) of a scalar program with transcendentals matches central differences', () => {
    const f = (x: Tensor, y: Tensor) => add(mul(sin(x), exp(mul(y, 0.3))), div(tanh(mul(x, y)), add(square(y), 1)));
    const jg = jit(grad(f, { argnums: [0, 1] }) as (x: Tensor, y: Tensor) => Tensor[]);
    const at = [0.7, -1.3];
    const [gx, gy] = jg(scalar(at[0]), scalar(at[1]));
    const h = 1e-6;
    const value = (a: number, b: number) => f(scalar(a), scalar(b)).item();
    expect(gx.item()).toBeCloseTo((value(at[0] + h, at[1]) - value(at[0] - h, at[1])) / (2 * h), 8);
    expect(gy.item()).toBeCloseTo((value(at[0], at[1] + h) - value(at[0], at[1] - h)) / (2 * h), 8);
  });

  spec('grad and jvp of a jitted small-tensor program pass the shared derivative check', () => {
    const f = (x: Tensor, w: Tensor) => sum(mul(sigmoid(mul(x, w)), add(log1p(square(x)), 1)));
    const [x, w] = randomInputs(5, [[2, 3], [3]], 'float64');
    checkGrads(jit(f), [x, w]);
  });
});

describe('long programs', () => {
  spec('a 5000-equation scalar chain is cut into functions and equals the interpreter to the bit', () => {
    const f = (x: Tensor, y: Tensor) => {
      let [a, b] = [x, y];
      for (let i = 0; i < 1000; i++) [a, b] = [add(mul(a, 0.999), mul(b, 1e-3)), sub(b, mul(a, 1e-3))];
      return [a, b];
    };
    const { compiled, interpreted, source } = runBoth(f, [scalar(1), scalar(0.5)]);
    expect(source.match(/\(\(\) => \{/g)?.length).toBeGreaterThanOrEqual(4);
    expectBitEqual(compiled, interpreted, 'chain');
  });
});

// ---- control flow -------------------------------------------------------------------------

describe('control flow with scalar bodies becomes JS loops and branches', () => {
  spec('fori: a 100-step scalar recurrence is a for loop, equal to the interpreter', () => {
    const f = (a: Tensor, b: Tensor) => fori(0, 100, (i, [x, y]: Tensor[]) => [add(mul(x, 0.99), mul(b, sin(y))), sub(y, mul(a, div(i, 100)))], [a, b]);
    const { compiled, interpreted, source } = runBoth(f, [scalar(0.3), scalar(-0.2)]);
    expect(source).toMatch(/for \(let /);
    expectBitEqual(compiled.map((c) => c.map((v) => Number(v.toPrecision(15)))), interpreted.map((c) => c.map((v) => Number(v.toPrecision(15)))), 'fori');
  });

  spec('whileLoop and cond inside it compile and agree with the interpreter to the bit', () => {
    const f = (n: Tensor) => whileLoop(([i]: Tensor[]) => less(i, n), ([i, acc]: Tensor[]) => [add(i, 1), cond(greater(i, 3), (a) => mul(a, 2), (a) => add(a, 1), acc)], [scalar(0), scalar(1)]);
    const { compiled, interpreted, source } = runBoth(f, [scalar(10)]);
    expect(source).toMatch(/for \(;;\)/);
    expectBitEqual(compiled, interpreted, 'whileLoop');
    expect(compiled[1][0]).toBe(5 * 2 ** 6);
  });

  spec('a loop with a small-tensor carry runs through the loop\'s own executor inside compiled code', () => {
    const f = (v: Tensor) => fori(0, 5, (_, x: Tensor) => add(mul(x, 2), 1), v);
    const { compiled, interpreted } = runBoth(f, [array([1, 2, 3])]);
    expectBitEqual(compiled, interpreted, 'fori with a [3] carry');
    expect(compiled[0]).toEqual([63, 95, 127]);
  });
});

// ---- memory and fallbacks -----------------------------------------------------------------

describe('memory and fallbacks', () => {
  it('1000 calls of a compiled function whose results are disposed leave memory where it was', () => {
    const jg = jit(grad(rosenbrock, { argnums: [0, 1] }) as (x: Tensor, y: Tensor) => Tensor[]);
    const [x, y] = [scalar(0.5), scalar(2)];
    for (const t of jg(x, y)) t.dispose();
    const before = memory();
    for (let i = 0; i < 1000; i++) for (const t of jg(x, y)) t.dispose();
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
    x.dispose();
    y.dispose();
  });

  spec('an output that is an input, or returned twice, is a handle of its own', () => {
    const jf = jit((a: Tensor, b: Tensor) => [a, mul(a, b), mul(a, b)]);
    const [x, y] = [scalar(3), scalar(4)];
    const [same, p, q] = jf(x, y);
    same.dispose();
    expect(x.item()).toBe(3);
    const pq = jit((a: Tensor, b: Tensor) => { const m = mul(a, b); return [m, m]; })(x, y);
    pq[0].dispose();
    expect(pq[1].item()).toBe(12);
    expect(p.item() + q.item()).toBe(24);
  });

  it('a program with an op that has neither JS nor a bound kernel (atan2) compiles around its impl and leaks nothing', () => {
    const f = (a: Tensor, b: Tensor) => add(atan2(mul(a, 2), b), reshape(a, [3, 1]));
    const jf = jit(f);
    const [x, y] = [array([0.5, -1, 2]), array([1, 1, -1])];
    expect(compiledOf(jf.program(x, y))?.pure).toBe(false);
    const want = tidy(() => Array.from(f(x, y).data()));
    jf(x, y).dispose();
    const before = memory();
    for (let i = 0; i < 50; i++) expect(Array.from(tidy(() => jf(x, y).data()))).toEqual(want);
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    x.dispose();
    y.dispose();
  });

  spec(`a program with a variable over ${SMALL_SIZE} elements runs interpreted`, () => {
    const jf = jit((a: Tensor) => exp(a));
    const x = array(new Float64Array(SMALL_SIZE + 1));
    expect(compiledOf(jf.program(x))).toBeNull();
    expect(Array.from(jf(x).data())).toEqual(new Array(SMALL_SIZE + 1).fill(1));
  });

  spec('a compiled call inside tidy leaves its outputs to the tidy', () => {
    const jf = jit((a: Tensor) => mul(a, a));
    const x = scalar(3);
    const before = memory().tensors;
    tidy(() => void jf(x));
    expect(memory().tensors).toBe(before);
  });
});
