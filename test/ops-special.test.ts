// Special functions and everyday numerics (issue 16, part 3): values against Math.* and
// tabulated constants, both derivative rules against finite differences (checkGrads), forward
// against reverse Jacobians, second order, and JAX's conventions at non-differentiable points.
import { describe, expect, it } from 'vitest';
import {
  acos, array, asin, atan, atan2, ceil, clip, cosh, erf, expm1, floor, grad, jacfwd, jacrev, log1p, logaddexp,
  round, seededUniformForTests, sinh, softplus, std, sum, tidy, variance, ArgumentError, type Tensor,
} from './helpers/api.js';
import * as api from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { expectMemoryRestored, spec as tit } from './helpers/memory.js';

expectMemoryRestored();


function uniform(shape: number[], lo: number, hi: number, seed: number): Tensor {
  const rand = seededUniformForTests(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return array(Float64Array.from({ length: n }, () => lo + (hi - lo) * rand()), { shape });
}

const gradOf = (f: (x: Tensor) => Tensor, x: number | number[]) => (grad((t: Tensor) => sum(f(t))) as (t: Tensor) => Tensor)(array(x)).data();

describe('unary special functions match Math.* and their derivatives', () => {
  const cases: [string, (x: Tensor) => Tensor, (x: number) => number, number, number][] = [
    ['log1p', log1p, Math.log1p, -0.9, 3],
    ['expm1', expm1, Math.expm1, -3, 3],
    ['sinh', sinh, Math.sinh, -3, 3],
    ['cosh', cosh, Math.cosh, -3, 3],
    ['asin', asin, Math.asin, -0.95, 0.95],
    ['acos', acos, Math.acos, -0.95, 0.95],
    ['atan', atan, Math.atan, -4, 4],
  ];
  for (const [name, f, ref, lo, hi] of cases) {
    // log1p and expm1 run SIMD kernels measured within 1 ulp of Math.*; the others call Math.*.
    const kernel = name === 'expm1' || name === 'log1p';
    tit(`${name}: values equal Math.${name} in float64${kernel ? ' (to 1 ulp)' : ''}`, () => {
      const x = uniform([3, 5], lo, hi, 11);
      if (kernel) expectClose(f(x).data(), Array.from(x.data(), ref), 2.3e-16);
      else expect(Array.from(f(x).data())).toEqual(Array.from(x.data(), ref));
    });
    tit(`${name}: jvp and vjp agree with finite differences`, () => {
      checkGrads(f, [uniform([2, 3], lo, hi, 12)]);
    });
    tit(`${name}: forward and reverse Jacobians agree, and second order holds`, () => {
      const x = uniform([4], lo, hi, 13);
      expectClose(jacfwd(f)(x).data(), jacrev(f)(x).data(), 1e-14);
      checkGrads((t) => (grad((u: Tensor) => sum(f(u))) as (u: Tensor) => Tensor)(t), [x], { rtol: 1e-5 });
    });
  }

  tit('log1p and expm1 keep full relative accuracy near 0', () => {
    expectClose(log1p(array([1e-10, -1e-12])).data(), [9.9999999995e-11, -1.0000000000005e-12], 2.3e-16);
    expectClose(expm1(array([1e-10, -1e-12])).data(), [1.00000000005e-10, -9.999999999995e-13], 1e-15);
  });

  tit('float32 inputs give float32 results rounded from Math.*', () => {
    const x = array([0.1, 0.5, 2], { dtype: 'float32' });
    const y = sinh(x);
    expect(y.dtype).toBe('float32');
    expect(Array.from(y.data())).toEqual(Array.from(new Float32Array(Array.from(x.data(), Math.sinh))));
  });

  tit('asin and acos are NaN outside [-1, 1] and have infinite slope at 1', () => {
    expect(asin(1.5).item()).toBeNaN();
    expect(acos(-1.5).item()).toBeNaN();
    expect(gradOf(asin, [1])[0]).toBe(Infinity);
    expect(gradOf(acos, [1])[0]).toBe(-Infinity);
  });
});

describe('erf', () => {
  tit('matches tabulated values (Abramowitz and Stegun table 7.1) to 1 ulp-scale', () => {
    const x = [0, 0.1, 0.5, 1, 2, 2.5, 3, 4, -1];
    const tab = [0, 0.1124629160182849, 0.5204998778130465, 0.8427007929497149, 0.9953222650189527, 0.9995930479825550,
      0.9999779095030014, 0.9999999845827421, -0.8427007929497149];
    expectClose(erf(array(x)).data(), tab, 4e-16);
  });
  tit('is odd, saturates to ±1 and keeps NaN', () => {
    expect(Array.from(erf(array([7, -7, Infinity, -Infinity])).data())).toEqual([1, -1, 1, -1]);
    expect(erf(NaN).item()).toBeNaN();
    const x = uniform([20], 0, 5, 3);
    expectClose(erf(api.neg(x)).data(), Array.from(erf(x).data(), (v) => -v), 0);
  });
  tit('is continuous where the series hands over to the continued fraction (2.5)', () => {
    // The step across the hand-over is the slope times the gap, to within 2 ulp of erf(2.5).
    const [below, above] = erf(array([2.5 - 1e-12, 2.5])).data();
    const slope = (2 / Math.sqrt(Math.PI)) * Math.exp(-6.25);
    expect(Math.abs(above - below - slope * 1e-12)).toBeLessThan(2.3e-16);
  });
  tit('jvp and vjp agree with finite differences on both sides of 2.5', () => {
    checkGrads(erf, [uniform([2, 4], -4, 4, 21)]);
    expectClose(gradOf(erf, [0]), [2 / Math.sqrt(Math.PI)], 1e-15);
  });
});

describe('atan2', () => {
  tit('matches Math.atan2 in every quadrant and on the axes, with broadcasting', () => {
    const y = array([[1], [-1], [0]]);
    const x = array([1, -1, 0, -0.5]);
    const got = atan2(y, x);
    expect(got.shape).toEqual([3, 4]);
    const want = [1, -1, 0].flatMap((yy) => [1, -1, 0, -0.5].map((xx) => Math.atan2(yy, xx)));
    expect(Array.from(got.data())).toEqual(want);
  });
  tit('jvp and vjp agree with finite differences, also broadcast', () => {
    checkGrads(atan2, [uniform([2, 3], -2, 2, 31), uniform([2, 3], 0.5, 2, 32)]);
    checkGrads(atan2, [uniform([3, 1], 0.5, 2, 33), uniform([4], -2, 2, 34)]);
  });
  tit('has derivative (x, -y) / (x^2 + y^2), and NaN at the origin as JAX', () => {
    const [gy, gx] = grad((y: Tensor, x: Tensor) => atan2(y, x), { argnums: [0, 1] })(array(3), array(4)) as Tensor[];
    expectClose([gy.item(), gx.item()], [4 / 25, -3 / 25], 1e-15);
    const [g0] = grad((y: Tensor, x: Tensor) => atan2(y, x), { argnums: [0, 1] })(array(0), array(0)) as Tensor[];
    expect(g0.item()).toBeNaN();
  });
});

describe('floor, ceil and round have zero derivative', () => {
  tit('values follow Math.floor, Math.ceil and round-half-to-even', () => {
    const x = array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.4, -2.6, 3]);
    expect(Array.from(floor(x).data())).toEqual(Array.from(x.data(), Math.floor));
    expect(Array.from(ceil(x).data())).toEqual(Array.from(x.data(), Math.ceil));
    expect(Array.from(round(x).data())).toEqual([-2, -2, -0, 0, 2, 2, 2, -3, 3]);
  });
  tit('the gradient is zero, also at the jumps', () => {
    for (const f of [floor, ceil, round]) expect(Array.from(gradOf(f, [0.3, 1, 2.5]))).toEqual([0, 0, 0]);
    checkGrads((x) => api.add(floor(x), x), [uniform([4], 0.1, 0.9, 41)]);
  });
});

describe('clip', () => {
  tit('limits to [lo, hi], with either bound optional', () => {
    const x = array([-2, 0.5, 3]);
    expect(Array.from(clip(x, 0, 1).data())).toEqual([0, 0.5, 1]);
    expect(Array.from(clip(x, undefined, 1).data())).toEqual([-2, 0.5, 1]);
    expect(Array.from(clip(x, 0).data())).toEqual([0, 0.5, 3]);
  });
  tit('has derivative 1 inside, 0 outside and 1/2 at a bound (JAX)', () => {
    expect(Array.from(gradOf((t) => clip(t, 0, 1), [-1, 0, 0.5, 1, 2]))).toEqual([0, 0.5, 1, 0.5, 0]);
  });
  tit('jvp and vjp agree with finite differences, in x and in tensor bounds', () => {
    checkGrads((x, lo, hi) => clip(x, lo, hi), [array([-1, 0.3, 2, 0.6]), array([0, 0.1, 0, 0.7]), array([1, 1, 1.5, 2])]);
  });
  it('rejects lo above hi', () => {
    expect(() => clip(1, 2, 0)).toThrow(ArgumentError);
    expect(() => clip(1, 2, 0)).toThrow(/clip: the lower bound 2 is above the upper bound 0/);
  });
});

describe('logaddexp and softplus', () => {
  tit('logaddexp equals log(e^a + e^b), without overflow', () => {
    const a = uniform([6], -5, 5, 51), b = uniform([6], -5, 5, 52);
    const want = Array.from(a.data(), (v, i) => Math.log(Math.exp(v) + Math.exp(b.data()[i])));
    // The reference loses absolute accuracy ~1e-16 in log(s) for s near 1, hence the atol.
    expectClose(logaddexp(a, b).data(), want, 1e-14, 1e-15);
    expectClose(logaddexp(1000, 1000).data(), [1000 + Math.LN2], 1e-15);
    expect(Array.from(logaddexp(array([-Infinity, Infinity, -Infinity]), array([-Infinity, Infinity, 0])).data())).toEqual([-Infinity, Infinity, 0]);
  });
  tit('logaddexp: derivatives are softmax weights, 1/2 each where a = b', () => {
    checkGrads(logaddexp, [uniform([2, 3], -3, 3, 53), uniform([3], -3, 3, 54)]);
    const [ga, gb] = grad((a: Tensor, b: Tensor) => logaddexp(a, b), { argnums: [0, 1] })(array(2), array(2)) as Tensor[];
    expect([ga.item(), gb.item()]).toEqual([0.5, 0.5]);
  });
  tit('logaddexp: the gradient at two -Infinity operands is not NaN', () => {
    const [ga, gb] = grad((a: Tensor, b: Tensor) => logaddexp(a, b), { argnums: [0, 1] })(array(-Infinity), array(-Infinity)) as Tensor[];
    expect([ga.item(), gb.item()]).toEqual([0.5, 0.5]);
  });
  tit('softplus equals log(1 + e^x) and its derivative is sigmoid(x)', () => {
    const x = uniform([7], -6, 6, 55);
    expectClose(softplus(x).data(), Array.from(x.data(), (v) => Math.log1p(Math.exp(v))), 1e-14);
    expectClose(gradOf(softplus, Array.from(x.data())), Array.from(x.data(), (v) => 1 / (1 + Math.exp(-v))), 1e-14);
    expect(softplus(800).item()).toBe(800);
    expect(softplus(-800).item()).toBe(0);
    expect(gradOf(softplus, [0])[0]).toBe(0.5);
    checkGrads(softplus, [x]);
  });
});

describe('variance and std', () => {
  tit('match the closed forms over all axes and with ddof', () => {
    const x = array([1, 2, 3, 4]);
    expectClose(variance(x).data(), [1.25], 1e-15);
    expectClose(variance(x, null, { ddof: 1 }).data(), [5 / 3], 1e-15);
    expectClose(std(x, null, { ddof: 1 }).data(), [Math.sqrt(5 / 3)], 1e-15);
    expect(api.var).toBe(variance);
  });
  tit('reduce over the given axes, with keepdims', () => {
    const x = array([[1, 2, 3], [2, 4, 9]]);
    expectClose(variance(x, 1).data(), [2 / 3, 26 / 3], 1e-14);
    expect(variance(x, 0, { keepdims: true }).shape).toEqual([1, 3]);
    expectClose(std(x, 0, { ddof: 1 }).data(), [Math.SQRT1_2, Math.SQRT2, 3 * Math.SQRT2], 1e-15);
  });
  tit('jvp and vjp agree with finite differences', () => {
    const x = uniform([3, 4], -2, 2, 61);
    checkGrads((t) => variance(t, 1, { ddof: 1 }), [x]);
    checkGrads((t) => std(t, [0, 1]), [x]);
    checkGrads((t) => std(t, 0, { keepdims: true }), [x]);
  });
  tit('std of a constant has a NaN derivative, as JAX', () => {
    expect(Array.from(gradOf((t) => std(t), [2, 2])).every(Number.isNaN)).toBe(true);
  });
  it('rejects ddof at or above the count', () => {
    tidy(() => {
      expect(() => variance(array([1, 2]), null, { ddof: 2 })).toThrow(ArgumentError);
      expect(() => std(array([[1, 2]]), 0, { ddof: 1 })).toThrow(/var: ddof = 1 with 1 element\(s\) per reduction over axes \[0\] of shape \[1, 2\]/);
    });
  });
});

describe('dtypes and bad input', () => {
  tit('float32 stays float32 through the composites, and mixing promotes to float64', () => {
    const x = array([-1, 0.25, 2], { dtype: 'float32' });
    for (const y of [clip(x, 0, 1), softplus(x), logaddexp(x, 1), std(x), atan2(x, 2), erf(x), round(x)]) expect(y.dtype).toBe('float32');
    expect(atan2(x, array([1, 1, 1])).dtype).toBe('float64');
    expectClose(softplus(x).data(), Array.from(x.data(), (v) => Math.fround(Math.log1p(Math.exp(v)))), 2e-7);
  });
  it('a non-tensor argument is an ArgumentError naming the op', () => {
    tidy(() => {
      expect(() => erf([1, 2] as unknown as Tensor)).toThrow(ArgumentError);
      expect(() => erf([1, 2] as unknown as Tensor)).toThrow(/^erf: expected a Tensor or a number, got a JS array/);
      expect(() => atan2(1, 'x' as unknown as Tensor)).toThrow(/^atan2: /);
    });
  });
  it('operands that do not broadcast are a ShapeError naming atan2 and both shapes', () => {
    tidy(() => {
      expect(() => atan2(array([1, 2]), array([1, 2, 3]))).toThrow(api.ShapeError);
      expect(() => atan2(array([1, 2]), array([1, 2, 3]))).toThrow(/atan2.*\[2\].*\[3\]/);
    });
  });
});
