// Elementwise primitives: every jvp and vjp rule against finite differences (checkGrads) at
// random points inside each op's domain, on equal, broadcast and reduced shapes; forward
// Jacobians against reverse ones; second order (grad of grad); JAX's conventions at the
// non-differentiable points; and the kernels at every SIMD size class against plain JS.
import { describe, expect } from 'vitest';
import {
  abs, add, array, cos, div, equal, exp, grad, greater, greaterEqual, jacfwd, jacrev, jvp, less, lessEqual, log,
  maximum, minimum, mul, neg, pow, reciprocal, seededUniformForTests, sigmoid, sign, sin, sqrt, square,
  sub, sum, tan, tanh, transpose, where, type Tensor, type TensorLike,
} from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { expectMemoryRestored, spec as tit } from './helpers/memory.js';

expectMemoryRestored();


type Unary = (x: Tensor) => Tensor;
type Binary = (a: TensorLike, b: TensorLike) => Tensor;

/** Uniform samples in [lo, hi); with `signed`, the magnitude is in [lo, hi) and the sign random. */
function uniform(shape: number[], lo: number, hi: number, seed: number, signed = false): Tensor {
  const rand = seededUniformForTests(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float64Array.from({ length: n }, () => {
    const v = lo + (hi - lo) * rand();
    return signed && rand() < 0.5 ? -v : v;
  });
  return array(data, { shape });
}

/** jacfwd (default and small chunks) equals jacrev (default and small chunks) for every argument. */
function expectFwdEqualsRev(f: (...xs: Tensor[]) => Tensor, args: Tensor[]): void {
  const argnums = args.map((_, i) => i);
  const rev = jacrev(f, { argnums })(...args) as Tensor[];
  const variants = [
    jacfwd(f, { argnums })(...args) as Tensor[],
    jacfwd(f, { argnums, chunkSize: 2 })(...args) as Tensor[],
    jacrev(f, { argnums, chunkSize: 3 })(...args) as Tensor[],
  ];
  const outShape = f(...args).shape;
  rev.forEach((j, i) => expect(j.shape).toEqual([...outShape, ...args[i].shape]));
  for (const v of variants) v.forEach((j, i) => expectClose(j.data(), rev[i].data(), 1e-14, 1e-300));
}

/** Operands of the given shapes whose broadcast pairs differ by at least 0.1 (no ties). */
function apart(sa: number[], sb: number[], seed: number): [Tensor, Tensor] {
  for (let s = seed; ; s += 2) {
    const a = uniform(sa, -2, 2, s), b = uniform(sb, -2, 2, s + 1);
    if (Math.min(...abs(sub(a, b)).data()) >= 0.1) return [a, b];
  }
}

// Each unary op with a sampler of points inside its domain (away from kinks and poles).
const unaryCases: [string, Unary, (shape: number[], seed: number) => Tensor][] = [
  ['neg', neg, (s, seed) => uniform(s, -2, 2, seed)],
  ['exp', exp, (s, seed) => uniform(s, -2, 2, seed)],
  ['log', log, (s, seed) => uniform(s, 0.5, 3, seed)],
  ['sin', sin, (s, seed) => uniform(s, -3, 3, seed)],
  ['cos', cos, (s, seed) => uniform(s, -3, 3, seed)],
  ['tan', tan, (s, seed) => uniform(s, -1.2, 1.2, seed)],
  ['tanh', tanh, (s, seed) => uniform(s, -2, 2, seed)],
  ['sigmoid', sigmoid, (s, seed) => uniform(s, -4, 4, seed)],
  ['sqrt', sqrt, (s, seed) => uniform(s, 0.5, 3, seed)],
  ['square', square, (s, seed) => uniform(s, -2, 2, seed)],
  ['reciprocal', reciprocal, (s, seed) => uniform(s, 0.5, 3, seed, true)],
  ['abs', abs, (s, seed) => uniform(s, 0.2, 2, seed, true)],
];

describe('unary rules against finite differences', () => {
  for (const [name, f, sample] of unaryCases) {
    tit(`${name}: jvp and vjp at random points of shapes [], [7] and [2, 3]`, () => {
      checkGrads(f, [sample([], 11)], { seed: 1 });
      checkGrads(f, [sample([7], 12)], { seed: 2 });
      checkGrads(f, [sample([2, 3], 13)], { seed: 3 });
    });

    tit(`${name}: on a reduced value and feeding a reduction`, () => {
      // The input of the op is a sum over an axis (a reduced shape); its output is reduced again.
      const g = (x: Tensor) => sum(f(div(sum(x, 1), 3)), 0);
      checkGrads(g, [sample([2, 3, 2], 14)], { seed: 4 });
      checkGrads((x: Tensor) => sum(f(x), [0, 2], { keepdims: true }), [sample([2, 3, 2], 15)], { seed: 5 });
    });

    tit(`${name}: jacfwd equals jacrev`, () => {
      expectFwdEqualsRev(f, [sample([2, 3], 16)]);
    });
  }
});

describe('binary rules against finite differences', () => {
  const shapePairs: [number[], number[]][] = [[[5], [5]], [[3, 1], [4]], [[], [2, 3]], [[2, 3], []], [[2, 1, 3], [4, 1]], [[1], [3]]];
  const cases: [string, Binary, (shape: number[], seed: number) => Tensor, (shape: number[], seed: number) => Tensor][] = [
    ['add', add, (s, seed) => uniform(s, -2, 2, seed), (s, seed) => uniform(s, -2, 2, seed)],
    ['sub', sub, (s, seed) => uniform(s, -2, 2, seed), (s, seed) => uniform(s, -2, 2, seed)],
    ['mul', mul, (s, seed) => uniform(s, -2, 2, seed), (s, seed) => uniform(s, -2, 2, seed)],
    ['div', div, (s, seed) => uniform(s, -2, 2, seed), (s, seed) => uniform(s, 0.5, 2, seed, true)],
    ['pow', pow, (s, seed) => uniform(s, 0.5, 2, seed), (s, seed) => uniform(s, -2, 2, seed)],
  ];
  for (const [name, f, sampleA, sampleB] of cases) {
    for (const [sa, sb] of shapePairs) {
      tit(`${name}: shapes ${JSON.stringify(sa)} and ${JSON.stringify(sb)}`, () => {
        checkGrads(f, [sampleA(sa, 21), sampleB(sb, 22)], { seed: 6 });
      });
    }
    tit(`${name}: jacfwd equals jacrev, broadcasting [3, 1] against [4]`, () => {
      expectFwdEqualsRev(f, [sampleA([3, 1], 23), sampleB([4], 24)]);
    });
    tit(`${name}: on reduced operands (a keepdims sum against a full one, a mean against a row)`, () => {
      const a = sampleA([3, 4], 27), b = sampleB([3, 4], 28);
      // sum/mean of positive samples stay positive, so div and pow stay inside their domains.
      checkGrads((x: Tensor, y: Tensor) => f(div(sum(x, 1, { keepdims: true }), 4), y), [a, b], { seed: 10 });
      checkGrads((x: Tensor, y: Tensor) => f(x, div(sum(y, 0), 3)), [a, b], { seed: 11 });
    });
    tit(`${name}: with one operand a plain number`, () => {
      checkGrads((a: Tensor) => f(a, 1.5), [sampleA([4], 25)], { seed: 7 });
      checkGrads((b: Tensor) => f(1.5, b), [sampleB([4], 26)], { seed: 8 });
    });
  }

  // maximum and minimum away from ties: b = a + offset with |offset| >= 0.2.
  for (const [name, f] of [['maximum', maximum], ['minimum', minimum]] as [string, Binary][]) {
    for (const [sa, sb] of shapePairs) {
      tit(`${name}: shapes ${JSON.stringify(sa)} and ${JSON.stringify(sb)}, away from ties`, () => {
        const [a, b] = apart(sa, sb, 31);
        checkGrads(f, [a, b], { seed: 9 });
      });
    }
    tit(`${name}: jacfwd equals jacrev`, () => {
      expectFwdEqualsRev(f, apart([3, 1], [4], 33));
    });
  }

  tit('where: a fixed mask picks the derivative of the chosen operand, with broadcasting', () => {
    const mask = array([[1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 0]]);
    checkGrads((a: Tensor, b: Tensor) => where(mask, a, b), [uniform([3, 4], -2, 2, 41), uniform([3, 4], -2, 2, 42)]);
    checkGrads((a: Tensor, b: Tensor) => where(mask, a, b), [uniform([3, 1], -2, 2, 43), uniform([4], -2, 2, 44)]);
    checkGrads((a: Tensor, b: Tensor) => where(array([1, 0, 1]), a, b), [uniform([], -2, 2, 45), uniform([2, 3], -2, 2, 46)]);
    expectFwdEqualsRev((a: Tensor, b: Tensor) => where(mask, a, b), [uniform([3, 1], -2, 2, 47), uniform([4], -2, 2, 48)]);
  });

  tit('where: a mask computed from the inputs (relu-like) is a constant for the derivative', () => {
    const a = uniform([6], 0.1, 2, 49, true);
    checkGrads((x: Tensor) => where(greater(x, 0), mul(x, x), mul(3, x)), [a]);
    const [, t] = jvp((x: Tensor) => where(greater(x, 0), x, 0), [array([-1, 2])], [array([1, 1])]) as [Tensor, Tensor];
    expect(t.toArray()).toEqual([0, 1]);
  });

  tit('pow with a negative base and a fixed integer exponent', () => {
    checkGrads((a: Tensor) => pow(a, 3), [uniform([5], -2, -0.5, 50)]);
    checkGrads((a: Tensor) => pow(a, -2), [uniform([5], -2, -0.5, 51)]);
  });
});

describe('second order: grad of grad against finite differences of grad', () => {
  const cases: [string, Unary, () => Tensor][] = [
    ['exp', exp, () => uniform([4], -1, 1, 61)],
    ['log', log, () => uniform([4], 0.5, 2, 62)],
    ['sin', sin, () => uniform([4], -2, 2, 63)],
    ['cos', cos, () => uniform([4], -2, 2, 63)],
    ['tan', tan, () => uniform([4], -1, 1, 64)],
    ['tanh', tanh, () => uniform([4], -2, 2, 65)],
    ['sigmoid', sigmoid, () => uniform([4], -2, 2, 66)],
    ['sqrt', sqrt, () => uniform([4], 0.5, 2, 67)],
    ['reciprocal', reciprocal, () => uniform([4], 0.5, 2, 68, true)],
    ['square', square, () => uniform([4], -2, 2, 69)],
  ];
  for (const [name, f, sample] of cases) {
    tit(`${name}: forward-over-reverse and reverse-over-reverse`, () => {
      checkGrads((y: Tensor) => grad((z: Tensor) => sum(f(z)))(y) as Tensor, [sample()]);
    });
  }

  tit('pow, div and mul: mixed second derivatives in both arguments', () => {
    const a = uniform([2, 1], 0.5, 2, 69), b = uniform([3], -2, 2, 70);
    for (const f of [pow, div, mul] as Binary[]) {
      const g = (p: Tensor, q: Tensor) => sum(f(p, q));
      checkGrads((p: Tensor, q: Tensor) => grad(g, { argnums: 0 })(p, q) as Tensor, [a, b]);
      checkGrads((p: Tensor, q: Tensor) => grad(g, { argnums: 1 })(p, q) as Tensor, [a, b]);
    }
  });

  tit('third order on a composition: d3/dx3 sin(x) exp(x) = 2 e^x (cos x - sin x)', () => {
    const x0 = 0.4;
    const f = (x: Tensor) => mul(sin(x), exp(x));
    const d3 = grad(grad(grad(f)))(x0) as Tensor;
    expectClose(d3.item(), 2 * Math.exp(x0) * (Math.cos(x0) - Math.sin(x0)), 1e-13);
  });
});

describe('non-differentiable points follow JAX', () => {
  const d = (f: Unary, x: number) => (grad(f)(x) as Tensor).item();
  const dFwd = (f: Unary, x: number) => (jvp(f, [x], [1])[1] as Tensor).item();

  tit("abs'(0) = 0 in both modes, and sign(x) elsewhere", () => {
    expect(d(abs, 0)).toBe(0);
    expect(dFwd(abs, 0)).toBe(0);
    expect(d(abs, -3)).toBe(-1);
    expect(d(abs, 2)).toBe(1);
  });

  tit('maximum and minimum at ties give 0.5 to each operand', () => {
    for (const f of [maximum, minimum]) {
      const [ga, gb] = grad((a: Tensor, b: Tensor) => sum(f(a, b)), { argnums: [0, 1] })(array([1, 2, 3]), array([1, 0, 5])) as Tensor[];
      expect(ga.toArray()).toEqual(f === maximum ? [0.5, 1, 0] : [0.5, 0, 1]);
      expect(gb.toArray()).toEqual(f === maximum ? [0.5, 0, 1] : [0.5, 1, 0]);
      const [, t] = jvp(f, [array([2, 2]), array([2, 1])], [array([1, 1]), array([3, 3])]) as [Tensor, Tensor];
      expect(t.toArray()).toEqual([2, f === maximum ? 1 : 3]);
    }
  });

  tit('comparisons and sign have zero derivative', () => {
    const x = array([-1, 0, 2]);
    for (const f of [greater, less, equal, greaterEqual, lessEqual]) {
      const g = grad((a: Tensor) => sum(mul(f(a, 0), a)))(x) as Tensor;
      // Only the factor a contributes: d/da [mask(a) a] = mask(a).
      expect(g.toArray()).toEqual(f(x, 0).toArray());
      const [, t] = jvp((a: Tensor) => f(a, 1), [x], [array([1, 1, 1])]) as [Tensor, Tensor];
      expect(t.toArray()).toEqual([0, 0, 0]);
    }
    expect((grad((a: Tensor) => sum(sign(a)))(x) as Tensor).toArray()).toEqual([0, 0, 0]);
  });

  tit('pow: 0^0 has slope 0 in the base and in the exponent; x^0 has slope 0 everywhere', () => {
    const [ga, gb] = grad((a: Tensor, b: Tensor) => pow(a, b), { argnums: [0, 1] })(0, 0) as Tensor[];
    expect(pow(0, 0).item()).toBe(1);
    expect(ga.item()).toBe(0);
    expect(gb.item()).toBe(0);
    expect((grad((a: Tensor) => sum(pow(a, 0)))(array([-2, 0, 3])) as Tensor).toArray()).toEqual([0, 0, 0]);
    const [, t] = jvp((a: Tensor, b: Tensor) => pow(a, b), [0, 0], [1, 1]) as [Tensor, Tensor];
    expect(t.item()).toBe(0);
  });

  tit('pow at a zero base: slope b 0^(b-1) in the base, 0 in the exponent', () => {
    expect(d((a) => pow(a, 1), 0)).toBe(1);
    expect(d((a) => pow(a, 2), 0)).toBe(0);
    expect(d((a) => pow(a, 0.5), 0)).toBe(Infinity);
    expect(d((b) => pow(0, b), 2)).toBe(0);
    // Away from zero the exponent slope is log(a) a^b.
    expectClose(d((b) => pow(2, b), 3), Math.log(2) * 8, 1e-15);
  });

  tit("sqrt'(0) = Infinity", () => {
    expect(d(sqrt, 0)).toBe(Infinity);
    expect(dFwd(sqrt, 0)).toBe(Infinity);
  });
});

describe('kernels at every SIMD size class, against plain JS', () => {
  // f64 has 2 lanes and f32 has 4: sizes 0, 1, lanes-1, lanes, k*lanes+1 for both.
  const sizes = [0, 1, 2, 3, 4, 5, 9, 17, 33];
  const ulp = { float64: 2 ** -52, float32: 2 ** -23 };
  const round = (dtype: 'float64' | 'float32') => (v: number) => (dtype === 'float32' ? Math.fround(v) : v);

  const unaryRef: [string, Unary, (x: number) => number, number, number, number][] = [
    // name, op, reference, lo, hi, tolerance in ulps
    ['neg', neg, (x) => -x, -5, 5, 0],
    ['abs', abs, Math.abs, -5, 5, 0],
    ['sign', sign, Math.sign, -5, 5, 0],
    ['sqrt', sqrt, Math.sqrt, 0, 50, 0],
    ['square', square, (x) => x * x, -5, 5, 0],
    ['reciprocal', reciprocal, (x) => 1 / x, 0.1, 5, 0],
    ['exp', exp, Math.exp, -30, 30, 4],
    ['log', log, Math.log, 1e-3, 1e3, 4],
    ['sin', sin, Math.sin, -20, 20, 4],
    ['cos', cos, Math.cos, -20, 20, 4],
    ['tan', tan, Math.tan, -1.5, 1.5, 4],
    ['tanh', tanh, Math.tanh, -10, 10, 4],
    ['sigmoid', sigmoid, (x) => 1 / (1 + Math.exp(-x)), -20, 20, 4],
  ];
  tit('unary ops on transposed and broadcast inputs agree with the op on the contiguous data', () => {
    const x = array(Array.from({ length: 15 }, (_, i) => 0.1 + i / 8), { shape: [3, 5] });
    for (const [, f] of unaryRef) {
      expect(Array.from(f(transpose(x)).data())).toEqual(Array.from(transpose(f(x)).data()));
      const row = x.slice([1, 0], [1, 5]);
      expect(Array.from(f(row.broadcastTo([4, 5])).data())).toEqual(Array.from(f(row).broadcastTo([4, 5]).data()));
    }
  });

  for (const dtype of ['float64', 'float32'] as const) {
    for (const [name, f, ref, lo, hi, ulps] of unaryRef) {
      tit(`${name} ${dtype} at sizes ${sizes.join(', ')}`, () => {
        for (const n of sizes) {
          const rand = seededUniformForTests(n + 100);
          const xs = Array.from({ length: n }, () => round(dtype)(lo + (hi - lo) * rand()));
          const y = f(array(xs, { dtype }));
          expect(y.dtype).toBe(dtype);
          expect(y.shape).toEqual([n]);
          const expected = xs.map((x) => round(dtype)(ref(x)));
          // A few ulps, relative to the value (with one ulp of absolute slack near zero).
          expectClose(y.data(), expected, Math.max(ulps, 0.5) * ulp[dtype] * 2, ulps ? ulp[dtype] : 0);
        }
      });
    }
  }

  const binaryRef: [string, Binary, (a: number, b: number) => number][] = [
    ['add', add, (a, b) => a + b],
    ['sub', sub, (a, b) => a - b],
    ['mul', mul, (a, b) => a * b],
    ['div', div, (a, b) => a / b],
    ['maximum', maximum, Math.max],
    ['minimum', minimum, Math.min],
    ['greater', greater, (a, b) => +(a > b)],
    ['less', less, (a, b) => +(a < b)],
    ['equal', equal, (a, b) => +(a === b)],
    ['greaterEqual', greaterEqual, (a, b) => +(a >= b)],
    ['lessEqual', lessEqual, (a, b) => +(a <= b)],
  ];
  /** Values with deliberate ties between a and b, so comparisons meet equality. */
  const operands = (n: number, seed: number, dtype: 'float64' | 'float32') => {
    const rand = seededUniformForTests(seed);
    const a = Array.from({ length: n }, () => round(dtype)(Math.round(rand() * 8 - 4) / 2 + 0.25));
    const b = a.map((v, i) => (i % 3 === 0 ? v : round(dtype)(Math.round(rand() * 8 - 4) / 2 + 0.25)));
    return [a, b];
  };
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [name, f, ref] of binaryRef) {
      tit(`${name} ${dtype}: same shapes at every size, exact`, () => {
        for (const n of sizes) {
          const [a, b] = operands(n, n + 200, dtype);
          const y = f(array(a, { dtype }), array(b, { dtype }));
          expect(Array.from(y.data())).toEqual(a.map((v, i) => round(dtype)(ref(v, b[i]))));
        }
      });
      tit(`${name} ${dtype}: broadcast and transposed operands, exact`, () => {
        for (const n of [1, 3, 4, 5]) {
          const [a, b] = operands(n * 3, n + 300, dtype);
          // [n, 3] against a row [3], a column [n, 1], a scalar, and a transposed [3, n] -> [n, 3].
          const A = array(a, { dtype, shape: [n, 3] });
          const row = b.slice(0, 3), col = b.slice(0, n), s = b[0];
          const bt = array(b, { dtype, shape: [3, n] });
          const at = (i: number, j: number) => a[i * 3 + j];
          const check = (y: Tensor, other: (i: number, j: number) => number) => {
            expect(y.shape).toEqual([n, 3]);
            const want: number[] = [];
            for (let i = 0; i < n; i++) for (let j = 0; j < 3; j++) want.push(round(dtype)(ref(at(i, j), other(i, j))));
            expect(Array.from(y.data())).toEqual(want);
          };
          check(f(A, array(row, { dtype })), (_, j) => row[j]);
          check(f(A, array(col, { dtype, shape: [n, 1] })), (i) => col[i]);
          check(f(A, array(s, { dtype })), () => s);
          check(f(A, transpose(bt)), (i, j) => b[j * n + i]);
          // The broadcast operand first: [3] op [n, 3].
          const y = f(array(row, { dtype }), A);
          const want: number[] = [];
          for (let i = 0; i < n; i++) for (let j = 0; j < 3; j++) want.push(round(dtype)(ref(row[j], at(i, j))));
          expect(Array.from(y.data())).toEqual(want);
          // Both operands broadcast: [n, 1] op [1, 3] -> [n, 3].
          const z = f(array(col, { dtype, shape: [n, 1] }), array(row, { dtype, shape: [1, 3] }));
          const wantZ: number[] = [];
          for (let i = 0; i < n; i++) for (let j = 0; j < 3; j++) wantZ.push(round(dtype)(ref(col[i], row[j])));
          expect(Array.from(z.data())).toEqual(wantZ);
        }
      });
    }

    tit(`pow ${dtype} at every size and broadcast, within an ulp of Math.pow`, () => {
      for (const n of sizes) {
        const rand = seededUniformForTests(n + 400);
        const a = Array.from({ length: n }, () => round(dtype)(0.1 + 4 * rand()));
        const b = Array.from({ length: n }, () => round(dtype)(6 * rand() - 3));
        const y = pow(array(a, { dtype }), array(b, { dtype }));
        expectClose(y.data(), a.map((v, i) => round(dtype)(Math.pow(v, b[i]))), 4 * ulp[dtype]);
        const yb = pow(array(a, { dtype }), array(2, { dtype }));
        expectClose(yb.data(), a.map((v) => round(dtype)(v * v)), 2 * ulp[dtype]);
      }
    });

    tit(`where ${dtype} at every size and with broadcast condition and operands`, () => {
      for (const n of sizes) {
        const c = Array.from({ length: n }, (_, i) => (i % 3 === 1 ? 0 : 1));
        const a = Array.from({ length: n }, (_, i) => i + 0.5);
        const b = Array.from({ length: n }, (_, i) => -i);
        const y = where(array(c, { dtype }), array(a, { dtype }), array(b, { dtype }));
        expect(Array.from(y.data())).toEqual(c.map((ci, i) => (ci ? a[i] : b[i])));
      }
      const y = where(array([[1], [0]], { dtype }), array([1, 2, 3], { dtype }), array(-1, { dtype }));
      expect(y.toArray()).toEqual([[1, 2, 3], [-1, -1, -1]]);
      const z = where(array([1, 0, 1], { dtype }), transpose(array([[1, 2], [3, 4], [5, 6]], { dtype })), array([[7], [8]], { dtype }));
      expect(z.toArray()).toEqual([[1, 7, 5], [2, 8, 6]]);
    });
  }
});
