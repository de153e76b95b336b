// The fused kernels (assembly/dual.ts and matmul_pair in assembly/matmul.ts) against the
// rules they stand in for: forward mode's op-and-tangent kernels against impl + jvp rule, and
// reverse mode's cotangent kernels against the vjp rule. The elementwise kernels perform the rules' roundings in the
// rules' order, so primal and tangent agree to the bit (NaN and -0 included); the paired GEMM
// agrees within rounding. Sizes cover every loop of the SIMD kernels (vector body and one-lane
// tail) and chunks of 1 to 12 tangent directions. First-order correctness against finite
// differences, for both paths, is in the ops-* tests (checkGrads runs each).
import { describe, expect, test } from 'vitest';
import {
  abs, array, cos, div, exp, fusedKernels, grad, jacfwd, jacrev, jvp, log, matmul, max, maximum, min, minimum, mul, pow, randn, reciprocal, sigmoid, sin,
  sqrt, square, sub, tan, tanh, tidy, type Tensor,
} from './helpers/api.js';
import { pushForward } from '../src/transforms/jvp.js';
import { matmulT } from '../src/ops/matmul.js';
import { expectClose, jvpWith } from './helpers/check.js';

type DType = 'float64' | 'float32';
type Fn = (...xs: Tensor[]) => Tensor;

/** f pushed forward with k stacked tangent directions per input, fused or by the rules. */
function pushChunked(fused: boolean, f: Fn, xs: Tensor[], ts: Tensor[], k: number): { y: Tensor; t: Tensor; calls: number } {
  const before = fusedKernels.calls;
  fusedKernels.enabled = fused;
  try {
    const out = pushForward(f, xs, ts, k, (duals) => duals, 'test');
    return { y: out.primals[0], t: out.tangents[0]!, calls: fusedKernels.calls - before };
  } finally {
    fusedKernels.enabled = true;
  }
}

/** jacrev with k output rows per sweep, fused or by the rules, and the fused calls made. */
function pullRows(fused: boolean, f: Fn, x: Tensor, k: number): { jac: Tensor; calls: number } {
  const before = fusedKernels.calls;
  fusedKernels.enabled = fused;
  try {
    return { jac: jacrev(f, { chunkSize: k })(x) as Tensor, calls: fusedKernels.calls - before };
  } finally {
    fusedKernels.enabled = true;
  }
}

/** Same bits, element for element (NaN equals NaN, -0 differs from 0). */
function expectSameBits(actual: Tensor, expected: Tensor, what: string): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.data(), e = expected.data();
  for (let i = 0; i < e.length; i++) {
    if (!Object.is(a[i], e[i])) expect.fail(`${what}: element ${i} is ${a[i]}, the rule gives ${e[i]}`);
  }
}

/** Inputs for an op: random values in its domain, plus the special values it must pass through. */
function inputs(shape: number[], dtype: DType, positive: boolean, seed: number): Tensor {
  const x = randn(shape, { seed, dtype });
  return positive ? abs(x).add(0.05) : x.mul(3);
}

const unary: [string, Fn, boolean][] = [
  ['exp', exp, false], ['log', log, true], ['sin', sin, false], ['cos', cos, false], ['tan', tan, false],
  ['tanh', tanh, false], ['sigmoid', sigmoid, false], ['sqrt', sqrt, true], ['square', square, false],
  ['reciprocal', reciprocal, false], ['abs', abs, false],
];
// Vector body only, tails only, both: 1 f64x2 lane pair is 2 elements, f32x4 is 4.
const sizes = [0, 1, 3, 4, 5, 17, 64];
const chunks = [1, 3, 12];

describe('fused unary kernels equal impl + jvp rule to the bit', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [name, f, positive] of unary) {
      test(`${name} ${dtype}`, () => {
        tidy(() => {
          for (const n of sizes) {
            for (const k of chunks) {
              const x = inputs([n], dtype, positive, n + k);
              const t = randn([k, n], { seed: 100 + n, dtype });
              const fused = pushChunked(true, f, [x], [t], k);
              const rules = pushChunked(false, f, [x], [t], k);
              expect(fused.calls, 'the fused kernel ran').toBe(1);
              expect(rules.calls).toBe(0);
              expectSameBits(fused.y, rules.y, `${name} primal, n = ${n}, k = ${k}`);
              expectSameBits(fused.t, rules.t, `${name} tangent, n = ${n}, k = ${k}`);
            }
          }
        });
      });
    }
  }

  // Derivatives in closed form with Math.*, independent of the rules.
  const reference: Record<string, (x: number) => number> = {
    exp: Math.exp, log: (x) => 1 / x, sin: Math.cos, cos: (x) => -Math.sin(x), tan: (x) => 1 + Math.tan(x) ** 2,
    tanh: (x) => 1 - Math.tanh(x) ** 2, sigmoid: (x) => Math.exp(-x) / (1 + Math.exp(-x)) ** 2,
    sqrt: (x) => 0.5 / Math.sqrt(x), square: (x) => 2 * x, reciprocal: (x) => -1 / (x * x), abs: Math.sign,
  };
  test('float64 tangents against the derivatives in closed form with Math.*', () => {
    tidy(() => {
      for (const [name, f, positive] of unary) {
        const x = inputs([37], 'float64', positive, 11);
        const t = randn([3, 37], { seed: 12 });
        const { t: got } = pushChunked(true, f, [x], [t], 3);
        const xs = x.data(), ts = t.data();
        const want = Float64Array.from(ts, (v, i) => reference[name](xs[i % 37]) * v);
        // Relative 1e-14, plus an absolute 1e-14 (|t| < 5) for slopes such as 1 - tanh^2 that
        // cancel: there a 1-ulp difference from Math.tanh is an absolute, not relative, error.
        expectClose(got.data(), want, 1e-14, 1e-14);
      }
    });
  });

  test('special values: 0, -0, +-inf, NaN, huge trig arguments', () => {
    tidy(() => {
      const specials = [0, -0, Infinity, -Infinity, NaN, 1e300, -1e22, 2 ** 20 * Math.PI, 1e-310, 710, -745];
      for (const dtype of ['float64', 'float32'] as const) {
        const x = array(specials, { dtype });
        const t = array([specials.map(() => 1), specials.map((_, i) => i - 5)], { dtype });
        for (const [name, f] of unary) {
          const fused = pushChunked(true, f, [x], [t], 2);
          const rules = pushChunked(false, f, [x], [t], 2);
          expectSameBits(fused.y, rules.y, `${name} ${dtype} primal`);
          expectSameBits(fused.t, rules.t, `${name} ${dtype} tangent`);
        }
      }
    });
  });

  test('sin and cos from the shared reduction match the plain kernels', () => {
    tidy(() => {
      const x = randn([1001], { seed: 7 }).mul(1e3);
      const [y, dy] = jvp(sin, [x], [array(new Float64Array(1001).fill(1))]) as [Tensor, Tensor];
      expectSameBits(y, sin(x), 'sin');
      expectSameBits(dy, cos(x), "sin' = cos");
    });
  });
});

describe('fused binary kernels equal impl + jvp rule to the bit', () => {
  const ops: [string, Fn][] = [['sub', sub], ['mul', mul], ['div', div], ['pow', pow], ['maximum', maximum], ['minimum', minimum]];
  /** Operands with ties (maximum, minimum) and zeros in both (pow's where branches). */
  function operands(n: number, dtype: DType): [Tensor, Tensor] {
    const a = inputs([n], dtype, true, n).data(), b = inputs([n], dtype, true, n + 1).data();
    for (let i = 0; i < n; i += 3) b[i] = a[i];
    for (let i = 1; i < n; i += 4) a[i] = 0;
    for (let i = 2; i < n; i += 5) b[i] = 0;
    return [array(a, { dtype }), array(b, { dtype })];
  }
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [name, f] of ops) {
      test(`${name} ${dtype}: tangent on a, on b, on both; one operand a single element`, () => {
        tidy(() => {
          for (const n of [1, 3, 4, 9, 33]) {
            for (const k of [1, 5]) {
              const [a, b] = operands(n, dtype);
              const ta = randn([k, n], { seed: 3, dtype });
              const tb = randn([k, n], { seed: 4, dtype });
              const c = array(1.7, { dtype });
              for (const [which, g, args, ts] of [
                ['a', (x: Tensor) => f(x, b), [a], [ta]],
                ['b', (y: Tensor) => f(a, y), [b], [tb]],
                ['both', f, [a, b], [ta, tb]],
                ['a, b a constant scalar', (x: Tensor) => f(x, c), [a], [ta]],
                ['b, a a constant scalar', (y: Tensor) => f(c, y), [b], [tb]],
              ] as [string, Fn, Tensor[], Tensor[]][]) {
                const fused = pushChunked(true, g, args, ts, k);
                const rules = pushChunked(false, g, args, ts, k);
                // Where the rule is one cheap kernel (da b, a db, da / b, da, -db) it runs.
                const ruleIsOneKernel = (name === 'mul' || name === 'sub') ? which !== 'both' : name === 'div' && which.startsWith('a');
                expect(fused.calls).toBe(ruleIsOneKernel ? 0 : 1);
                expectSameBits(fused.y, rules.y, `${name} primal (${which}), n = ${n}, k = ${k}`);
                expectSameBits(fused.t, rules.t, `${name} tangent (${which}), n = ${n}, k = ${k}`);
              }
            }
          }
        });
      });
    }
  }

  test('broadcasting operands, and a single element with a tangent, take the rules', () => {
    tidy(() => {
      const a = randn([3, 4], { seed: 1 });
      const b = randn([4], { seed: 2 });
      const r = pushChunked(true, mul, [a, b], [randn([2, 3, 4], { seed: 3 }), randn([2, 4], { seed: 4 })], 2);
      expect(r.calls).toBe(0);
      const s = pushChunked(true, mul, [a, array(2)], [randn([2, 3, 4], { seed: 3 }), randn([2], { seed: 4 })], 2);
      expect(s.calls).toBe(0);
      expect(s.t.shape).toEqual([2, 3, 4]);
      // A [1, 1, 1] constant against [4] broadcasts to [1, 1, 4]: the rules handle the shape.
      const u = pushChunked(true, (x: Tensor) => maximum(x, array([[[0]]])), [b], [randn([2, 4], { seed: 5 })], 2);
      expect(u.calls).toBe(0);
      expect(u.y.shape).toEqual([1, 1, 4]);
      expect(r.t.shape).toEqual([2, 3, 4]);
      // Equal sizes are not enough: [1, 3] * [3, 1] is [3, 3].
      const row = randn([1, 3], { seed: 5 }), col = randn([3, 1], { seed: 6 });
      const outer = pushChunked(true, mul, [row, col], [randn([2, 1, 3], { seed: 7 }), randn([2, 3, 1], { seed: 8 })], 2);
      expect(outer.calls).toBe(0);
      expect(outer.t.shape).toEqual([2, 3, 3]);
    });
  });
});

describe('paired GEMM: the primal and its tangent rows against one packed B', () => {
  // Shapes for every path of matmul_pair: the packed path, a thin output (n <= 16, two
  // calls), tiny products, batched A, transposed B, and one row of A.
  const cases: [number[], number[], boolean][] = [
    [[40, 30], [30, 20], false], [[40, 30], [20, 30], true], [[2, 9, 30], [30, 24], false],
    [[33, 70], [70, 10], false], [[3, 2], [2, 3], false], [[1, 50], [50, 40], false], [[5, 300], [70, 300], true],
  ];
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [sa, sb, transB] of cases) {
      test(`${dtype} A ${JSON.stringify(sa)} B ${JSON.stringify(sb)}${transB ? ' (B^T)' : ''}`, () => {
        tidy(() => {
          const a = randn(sa, { seed: 1, dtype });
          const b = randn(sb, { seed: 2, dtype });
          // transB reaches the primitive from the rules (a vjp run under jvp, as in an HVP).
          const f = (x: Tensor) => matmulT(x, b, false, transB);
          for (const k of [1, 4, 12]) {
            const t = randn([k, ...sa], { seed: 3 + k, dtype });
            const fused = pushChunked(true, f, [a], [t], k);
            const rules = pushChunked(false, f, [a], [t], k);
            expect(fused.calls).toBe(1);
            const tol = dtype === 'float64' ? 1e-13 : 1e-5;
            const scale = Math.sqrt(sa[sa.length - 1]);
            expectClose(fused.y.data(), rules.y.data(), 0, tol * scale);
            expectClose(fused.t.data(), rules.t.data(), 0, tol * scale);
          }
        });
      });
    }
  }

  test('a tangent on B, or on both operands, takes the rules', () => {
    tidy(() => {
      const a = randn([6, 5], { seed: 1 });
      const b = randn([5, 7], { seed: 2 });
      expect(pushChunked(true, (y: Tensor) => matmul(a, y), [b], [randn([2, 5, 7], { seed: 3 })], 2).calls).toBe(0);
      expect(pushChunked(true, matmul, [a, b], [randn([2, 6, 5], { seed: 4 }), randn([2, 5, 7], { seed: 5 })], 2).calls).toBe(0);
    });
  });
});

describe('the fused path inside transforms', () => {
  test('jacfwd of an elementwise chain and an MLP layer: fused and rules agree, and jacfwd equals jacrev', () => {
    tidy(() => {
      const W = randn([6, 4], { seed: 1 });
      const f = (x: Tensor) => tanh(matmul(x, W)).mul(sin(x).sum()).div(exp(x).sum().add(1));
      const x = randn([3, 6], { seed: 2 });
      const fused = jacfwd(f)(x) as Tensor;
      fusedKernels.enabled = false;
      const rules = jacfwd(f)(x) as Tensor;
      fusedKernels.enabled = true;
      expectClose(fused.data(), rules.data(), 1e-13, 1e-15);
    });
  });

  test('nested jvp: the inner level sees tracers and runs the rules, the outer one fuses', () => {
    tidy(() => {
      // d/dx of the directional derivative of sin(x) * x along 1: d/dx (cos x * x + sin x).
      const inner = (x: Tensor) => (jvp((y: Tensor) => sin(y).mul(y), [x], [array(1)]) as [Tensor, Tensor])[1];
      const before = fusedKernels.calls;
      const [, t] = jvp(inner, [array(0.7)], [array(1)]) as [Tensor, Tensor];
      expect(fusedKernels.calls).toBeGreaterThan(before);
      expectClose(t.item(), 2 * Math.cos(0.7) - 0.7 * Math.sin(0.7), 1e-14);
      const [, tRules] = jvpWith(false, inner, [array(0.7)], [array(1)]);
      expect(tRules.item()).toBe(t.item());
    });
  });
});

describe('fused cotangent kernels equal the vjp rule to the bit', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [name, f, positive] of unary) {
      test(`${name} ${dtype}: k = 1, 3, all rows per sweep`, () => {
        tidy(() => {
          for (const n of [1, 3, 4, 5, 17]) {
            // The cotangent reaching f is [k, n] rows of an elementwise scale: not one-hot.
            const scale = randn([n], { seed: n, dtype });
            const g = (x: Tensor) => mul(f(x), scale);
            for (const k of [1, 3, n]) {
              const x = inputs([n], dtype, positive, n + k);
              const fused = pullRows(true, g, x, k);
              const rules = pullRows(false, g, x, k);
              // exp's rule is already one kernel (ct * e^x) and is left to it.
              expect(fused.calls).toBe(name === 'exp' ? 0 : Math.ceil(n / k));
              expect(rules.calls).toBe(0);
              expectSameBits(fused.jac, rules.jac, `${name} Jacobian, n = ${n}, k = ${k}`);
            }
          }
        });
      });
    }
  }

  test('grad of grad: the inner cotangents are tracers, so the rules run and stay differentiable', () => {
    tidy(() => {
      // d2/dx2 tanh(x) = -2 tanh(x) (1 - tanh(x)^2)
      const d2 = grad(grad((x: Tensor) => tanh(x)))(array(0.3)) as Tensor;
      const t = Math.tanh(0.3);
      expectClose(d2.item(), -2 * t * (1 - t * t), 1e-14);
    });
  });
});

describe('fused tangent of max and min reductions', () => {
  /** Values from a small set, so ties are common; the seed varies the pattern. */
  function tied(shape: number[], dtype: DType, seed: number): Tensor {
    const u = randn(shape, { seed, dtype }).data();
    return array(Float64Array.from(u, (v) => Math.round(v * 2) / 2), { shape, dtype });
  }
  const cases: [number[], number | number[]][] = [
    [[7], 0], [[4, 9], 1], [[4, 9], 0], [[3, 5, 6], 1], [[3, 5, 6], [1, 2]], [[3, 5, 6], [0, 1]], [[2, 3, 4, 5], [1, 2]], [[5, 3], [0, 1]],
  ];
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [name, f] of [['max', max], ['min', min]] as const) {
      test(`${name} ${dtype}: rows (inner = 1), columns with vector tails, several axes; ties shared evenly`, () => {
        tidy(() => {
          for (const [shape, axes] of cases) {
            for (const keepdims of [false, true]) {
              for (const k of [1, 3]) {
                const x = tied(shape, dtype, shape.length + k);
                const t = randn([k, ...shape], { seed: 9, dtype });
                const g = (u: Tensor) => f(u, axes, { keepdims });
                const fused = pushChunked(true, g, [x], [t], k);
                const rules = pushChunked(false, g, [x], [t], k);
                expect(fused.calls, `${JSON.stringify(shape)} over ${JSON.stringify(axes)}`).toBe(1);
                expect(fused.t.shape).toEqual(rules.t.shape);
                expectSameBits(fused.y, rules.y, 'primal');
                expectClose(fused.t.data(), rules.t.data(), dtype === 'float64' ? 1e-14 : 1e-6, dtype === 'float64' ? 1e-15 : 1e-6);
              }
            }
          }
        });
      });
    }
  }

  for (const dtype of ['float64', 'float32'] as const) {
    test(`max and min ${dtype}: the fused cotangent equals the vjp rule to the bit`, () => {
      tidy(() => {
        for (const [name, f] of [['max', max], ['min', min]] as const) {
          for (const [shape, axes] of cases) {
            for (const keepdims of [false, true]) {
              const x = tied(shape, dtype, shape.length);
              // Weighted outputs, so each cotangent row carries distinct values.
              const g = (u: Tensor) => { const r = f(u, axes, { keepdims }); return mul(r, randn(r.shape as number[], { seed: 4, dtype })); };
              for (const rows of [1, 3]) {
                const fused = pullRows(true, g, x, rows);
                const rules = pullRows(false, g, x, rows);
                expect(fused.calls, `${name} ${JSON.stringify(shape)} over ${JSON.stringify(axes)}`).toBeGreaterThan(0);
                expect(rules.calls).toBe(0);
                expectSameBits(fused.jac, rules.jac, `${name} ${JSON.stringify(shape)} over ${JSON.stringify(axes)}, keepdims ${keepdims}, ${rows} rows`);
              }
            }
          }
        }
      });
    });
  }

  test('axes that are not one contiguous run take the rule; NaN rows give NaN as the rule does', () => {
    tidy(() => {
      const x = randn([3, 4, 5], { seed: 1 });
      const r = pushChunked(true, (u: Tensor) => max(u, [0, 2]), [x], [randn([2, 3, 4, 5], { seed: 2 })], 2);
      expect(r.calls).toBe(0);
      const withNaN = array([[1, NaN, 3], [4, 5, 6]]);
      const [, dt] = jvp((u: Tensor) => max(u, 1), [withNaN], [array([[1, 1, 1], [1, 2, 3]])]) as [Tensor, Tensor];
      expect(dt.data()[0]).toBeNaN();
      expect(dt.data()[1]).toBe(3);
    });
  });
});
