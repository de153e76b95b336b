// cumsum, norm and the shape ops of issue 16, part 3: values against closed forms and plain-JS
// references, both derivative rules against finite differences (checkGrads), and JAX's
// conventions where the norm is not differentiable.
import { describe, expect, it } from 'vitest';
import {
  arange, array, cumprod, cumsum, diag, diagonal, flip, grad, jacfwd, jacrev, norm, roll, seededUniformForTests, split,
  sum, tidy, tile, trace, tril, triu, ArgumentError, ShapeError, type Tensor,
} from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { expectMemoryRestored, spec as tit } from './helpers/memory.js';

expectMemoryRestored();


function uniform(shape: number[], seed: number, lo = -2, hi = 2): Tensor {
  const rand = seededUniformForTests(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return array(Float64Array.from({ length: n }, () => lo + (hi - lo) * rand()), { shape });
}

const list = (t: Tensor) => t.toArray();

describe('cumsum', () => {
  tit('sums along the axis, forwards and in reverse', () => {
    const x = array([[1, 2, 3], [4, 5, 6]]);
    expect(list(cumsum(x))).toEqual([[1, 3, 6], [4, 9, 15]]);
    expect(list(cumsum(x, 0))).toEqual([[1, 2, 3], [5, 7, 9]]);
    expect(list(cumsum(x, 1, { reverse: true }))).toEqual([[6, 5, 3], [15, 11, 6]]);
  });
  tit('jvp and vjp agree with finite differences on every axis', () => {
    const x = uniform([2, 3, 4], 1);
    for (const axis of [0, 1, 2]) checkGrads((t) => cumsum(t, axis), [x]);
    checkGrads((t) => cumsum(t, 1, { reverse: true }), [x]);
  });
  tit('its Jacobian is the lower-triangular matrix of ones, in both modes', () => {
    const x = array([1, 2, 3]);
    const want = [[1, 0, 0], [1, 1, 0], [1, 1, 1]];
    expect(list(jacfwd(cumsum)(x) as Tensor)).toEqual(want);
    expect(list(jacrev(cumsum)(x) as Tensor)).toEqual(want);
  });
});

describe('cumprod', () => {
  tit('multiplies along the axis, forwards and in reverse, at every length', () => {
    expect(list(cumprod(array([[1, 2, 3], [4, 5, 6]])))).toEqual([[1, 2, 6], [4, 20, 120]]);
    expect(list(cumprod(array([[1, 2, 3], [4, 5, 6]]), 0))).toEqual([[1, 2, 3], [4, 10, 18]]);
    expect(list(cumprod(array([2, 3, 4]), 0, { reverse: true }))).toEqual([24, 12, 4]);
    for (const n of [0, 1, 2, 5, 8, 9]) {
      const x = Array.from({ length: n }, (_, i) => 1 + (i % 3));
      let p = 1;
      expect(list(cumprod(array(x, { shape: [n] })))).toEqual(x.map((v) => (p *= v)));
    }
  });
  tit('jvp and vjp agree with finite differences, also with zeros in the input', () => {
    checkGrads((t) => cumprod(t, 1), [uniform([2, 7], 11)]);
    checkGrads((t) => cumprod(t, 0, { reverse: true }), [uniform([5, 2], 12)]);
    checkGrads((t) => cumprod(t), [array([2, 0, 3, 0, -1.5])]);
  });
  tit('the derivative of the last product at a zero is the product of the others (no 0/0)', () => {
    const last = (t: Tensor) => cumprod(t).slice([4], [1]).sum();
    const g = (grad(last) as (t: Tensor) => Tensor)(array([2, 0, 3, 5, -1])).data();
    expect(Array.from(g)).toEqual([0, -30, 0, 0, 0]);
    const g1 = (grad(last) as (t: Tensor) => Tensor)(array([2, 0, 3, 0, -1])).data();
    expect(Array.from(g1)).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('norm', () => {
  const v = array([3, -4, 0, 1]);
  tit('vector orders match their closed forms', () => {
    expectClose(norm(v).data(), [Math.sqrt(26)], 1e-15);
    expect(norm(v, { ord: 1 }).item()).toBe(8);
    expect(norm(v, { ord: Infinity }).item()).toBe(4);
    expect(norm(v, { ord: -Infinity }).item()).toBe(0);
    expectClose(norm(v, { ord: 3 }).data(), [Math.cbrt(27 + 64 + 1)], 1e-15);
  });
  tit('matrix orders over two axes, with keepdims and batches', () => {
    const m = array([[1, -2], [3, 4]]);
    expectClose(norm(m, { ord: 'fro' }).data(), [Math.sqrt(30)], 1e-15);
    expect(norm(m, { ord: 1, axis: [0, 1] }).item()).toBe(6);
    expect(norm(m, { ord: -1, axis: [0, 1] }).item()).toBe(4);
    expect(norm(m, { ord: Infinity, axis: [0, 1] }).item()).toBe(7);
    expect(norm(m, { ord: -Infinity, axis: [0, 1] }).item()).toBe(3);
    const b = uniform([3, 2, 4], 2);
    const got = norm(b, { axis: [1, 2], keepdims: true });
    expect(got.shape).toEqual([3, 1, 1]);
    const d = b.data();
    expectClose(got.data(), [0, 1, 2].map((i) => Math.hypot(...d.slice(8 * i, 8 * i + 8))), 1e-15);
  });
  tit('vector norms along any one axis', () => {
    const m = array([[3, 4], [6, 8]]);
    expect(list(norm(m, { axis: 1 }))).toEqual([5, 10]);
    expect(list(norm(m, { axis: 0, ord: 1, keepdims: true }))).toEqual([[9, 12]]);
  });
  tit('jvp and vjp agree with finite differences for every order', () => {
    const x = uniform([3, 4], 3);
    for (const ord of [2, 1, Infinity, -Infinity, 3]) checkGrads((t) => norm(t, { ord, axis: 1 }), [x]);
    for (const ord of ['fro', 1, -1, Infinity, -Infinity] as const) checkGrads((t) => norm(t, { ord, axis: [0, 1] }), [x]);
  });
  tit('the gradient at 0 is JAX\'s: NaN for ord 2 and fro, 0 for ord 1 and ±Infinity', () => {
    const z = array([0, 0, 0]);
    const g = (ord: number | 'fro') => (grad((t: Tensor) => norm(t, { ord })) as (t: Tensor) => Tensor)(z).data();
    expect(Array.from(g(2)).every(Number.isNaN)).toBe(true);
    expect(Array.from(g(1))).toEqual([0, 0, 0]);
    expect(Array.from(g(Infinity))).toEqual([0, 0, 0]);
  });
  it('rejects unsupported orders and axes', () => {
    tidy(() => {
      expect(() => norm(array([[1, 2]]), { ord: 3, axis: [0, 1] })).toThrow(ArgumentError);
      expect(() => norm(array([1, 2]), { ord: 0 })).toThrow(/vector ord 0 is not supported/);
      expect(() => norm(array([1, 2]), { axis: [0, 0] })).toThrow(ArgumentError);
    });
  });
});

describe('flip, roll, tile, split', () => {
  tit('flip reverses the given axes', () => {
    const x = array([[1, 2, 3], [4, 5, 6]]);
    expect(list(flip(x))).toEqual([[6, 5, 4], [3, 2, 1]]);
    expect(list(flip(x, 1))).toEqual([[3, 2, 1], [6, 5, 4]]);
    expect(list(flip(x, [0]))).toEqual([[4, 5, 6], [1, 2, 3]]);
  });
  tit('roll shifts with wraparound, both ways', () => {
    const x = array([1, 2, 3, 4]);
    expect(list(roll(x, 1, 0))).toEqual([4, 1, 2, 3]);
    expect(list(roll(x, -1, 0))).toEqual([2, 3, 4, 1]);
    expect(list(roll(x, 6, 0))).toEqual([3, 4, 1, 2]);
    expect(list(roll(array([[1, 2, 3], [4, 5, 6]]), 1, 1))).toEqual([[3, 1, 2], [6, 4, 5]]);
  });
  tit('tile repeats along each axis, adding leading axes for longer reps', () => {
    expect(list(tile(array([1, 2]), [2]))).toEqual([1, 2, 1, 2]);
    expect(list(tile(array([1, 2]), [2, 2]))).toEqual([[1, 2, 1, 2], [1, 2, 1, 2]]);
    expect(list(tile(array([[1], [2]]), [1, 3]))).toEqual([[1, 1, 1], [2, 2, 2]]);
  });
  tit('split into equal sections or at indices', () => {
    expect(split(arange(6), 3).map(list)).toEqual([[0, 1], [2, 3], [4, 5]]);
    expect(split(arange(5), [1, 3]).map(list)).toEqual([[0], [1, 2], [3, 4]]);
    expect(split(array([[1, 2, 3, 4]]), 2, 1).map(list)).toEqual([[[1, 2]], [[3, 4]]]);
  });
  tit('jvp and vjp agree with finite differences', () => {
    const x = uniform([3, 4], 5);
    checkGrads((t) => flip(t, [0, 1]), [x]);
    checkGrads((t) => roll(t, 3, 1), [x]);
    checkGrads((t) => tile(t, [2, 1, 2]), [x]);
    checkGrads((t) => { const [a, b] = split(t, [1], 0); return sum(a).add(sum(b.mul(b))); }, [x]);
  });
  it('reject bad arguments with clear errors', () => {
    tidy(() => {
      expect(() => split(arange(5), 2)).toThrow(ShapeError);
      expect(() => split(arange(5), 2)).toThrow(/split: 2 equal sections of axis 0 \(length 5\)/);
      expect(() => roll(arange(3), 0.5, 0)).toThrow(ArgumentError);
      expect(() => tile(arange(3), [-1])).toThrow(ArgumentError);
    });
  });
});

describe('diagonal, trace, diag, triu, tril', () => {
  const m = array([[1, 2, 3], [4, 5, 6]]);
  tit('diagonal reads any offset and batches over other axes', () => {
    expect(list(diagonal(m))).toEqual([1, 5]);
    expect(list(diagonal(m, { offset: 1 }))).toEqual([2, 6]);
    expect(list(diagonal(m, { offset: 2 }))).toEqual([3]);
    expect(list(diagonal(m, { offset: -1 }))).toEqual([4]);
    expect(list(diagonal(m, { offset: 5 }))).toEqual([]);
    const b = array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
    expect(list(diagonal(b, { axis1: -2, axis2: -1 }))).toEqual([[1, 4], [5, 8]]);
    expect(list(diagonal(b))).toEqual([[1, 7], [2, 8]]);
  });
  tit('trace sums the diagonal', () => {
    expect(trace(array([[1, 2], [3, 4]])).item()).toBe(5);
    expect(trace(m, { offset: 1 }).item()).toBe(8);
  });
  tit('diag builds a matrix from a vector at any offset, and reads a matrix\'s diagonal', () => {
    expect(list(diag(array([1, 2])))).toEqual([[1, 0], [0, 2]]);
    expect(list(diag(array([1, 2]), 1))).toEqual([[0, 1, 0], [0, 0, 2], [0, 0, 0]]);
    expect(list(diag(array([1, 2]), -1))).toEqual([[0, 0, 0], [1, 0, 0], [0, 2, 0]]);
    expect(list(diag(m))).toEqual([1, 5]);
  });
  tit('triu and tril keep a triangle from diagonal k', () => {
    const a = array([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expect(list(triu(a))).toEqual([[1, 2, 3], [0, 5, 6], [0, 0, 9]]);
    expect(list(triu(a, 1))).toEqual([[0, 2, 3], [0, 0, 6], [0, 0, 0]]);
    expect(list(tril(a))).toEqual([[1, 0, 0], [4, 5, 0], [7, 8, 9]]);
    expect(list(tril(a, -1))).toEqual([[0, 0, 0], [4, 0, 0], [7, 8, 0]]);
  });
  tit('jvp and vjp agree with finite differences', () => {
    const x = uniform([2, 3, 3], 7);
    checkGrads((t) => diagonal(t, { axis1: 1, axis2: 2, offset: 1 }), [x]);
    checkGrads((t) => trace(t, { axis1: -2, axis2: -1 }), [x]);
    checkGrads((t) => diag(t, -1), [uniform([3], 8)]);
    checkGrads((t) => triu(t, 1), [x]);
    checkGrads((t) => tril(t), [x]);
  });
  it('reject bad arguments with clear errors', () => {
    tidy(() => {
      expect(() => diagonal(array([1, 2]))).toThrow(/diagonal: needs at least 2 axes, got shape \[2\]/);
      expect(() => diag(array([[[1]]]))).toThrow(ShapeError);
      expect(() => triu(array([1]))).toThrow(ShapeError);
      expect(() => diagonal(m, { axis1: 1, axis2: 1 })).toThrow(ArgumentError);
    });
  });
});
