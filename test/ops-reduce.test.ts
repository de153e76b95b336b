// Reductions: sum, max, min, mean, logsumexp and softmax over every kind of axis selection,
// with and without keepdims. Rules against finite differences, forward against reverse,
// second order, the tie convention of max/min, and the kernels against a plain-JS reference.
import { describe, expect } from 'vitest';
import {
  array, exp, grad, jacfwd, jacrev, jvp, logsumexp, max, mean, min, mul, seededUniformForTests, softmax,
  sum, transpose, zeros, type Tensor, type TensorLike,
} from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { expectMemoryRestored, spec as tit } from './helpers/memory.js';

expectMemoryRestored();


type Axes = number | number[] | undefined;
type Reduce = (x: TensorLike, axes?: Axes, options?: { keepdims?: boolean }) => Tensor;

function uniform(shape: number[], lo: number, hi: number, seed: number, dtype: 'float64' | 'float32' = 'float64'): Tensor {
  const rand = seededUniformForTests(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return array(Float64Array.from({ length: n }, () => lo + (hi - lo) * rand()), { shape, dtype });
}

/** expectClose that also accepts equal infinities (reductions of empty axes give +-Infinity). */
function near(actual: ArrayLike<number> | number, expected: ArrayLike<number> | number, rtol: number, atol = 0): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : Array.from(expected);
  expect(a.length).toBe(e.length);
  e.forEach((v, i) => { if (!Number.isFinite(v) && !Number.isNaN(v)) expect(a[i], `element ${i}`).toBe(v); });
  expectClose(a.map((v, i) => (Number.isFinite(e[i]) ? v : 0)), e.map((v) => (Number.isFinite(v) ? v : 0)), rtol, atol);
}

function expectFwdEqualsRev(f: (x: Tensor) => Tensor, x: Tensor): void {
  const rev = jacrev(f)(x) as Tensor;
  expect(rev.shape).toEqual([...f(x).shape, ...x.shape]);
  expectClose((jacfwd(f)(x) as Tensor).data(), rev.data(), 1e-14, 1e-15);
  expectClose((jacfwd(f, { chunkSize: 5 })(x) as Tensor).data(), rev.data(), 1e-14, 1e-15);
  expectClose((jacrev(f, { chunkSize: 2 })(x) as Tensor).data(), rev.data(), 1e-14, 1e-15);
}

/** Plain-JS reduction of row-major `data` of `shape` over `axes` (keepdims shape returned too). */
function reduceRef(data: ArrayLike<number>, shape: number[], axes: number[], op: (acc: number, v: number) => number, init: number) {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outSize = outShape.reduce((a, b) => a * b, 1);
  const out = new Array<number>(outSize).fill(init);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const outStrides = outShape.map((_, i) => outShape.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let flat = 0; flat < data.length; flat++) {
    let o = 0;
    for (let i = 0; i < shape.length; i++) {
      const idx = Math.floor(flat / strides[i]) % shape[i];
      if (!axes.includes(i)) o += idx * outStrides[i];
    }
    out[o] = op(out[o], data[flat]);
  }
  return { out, outShape };
}

const axisChoices: [string, Axes][] = [
  ['all axes', undefined], ['axis 0', 0], ['axis 1', 1], ['axis -1', -1], ['axes [0, 2]', [0, 2]],
  ['axes [1, 2]', [1, 2]], ['axes [0, 1]', [0, 1]], ['axes [2, 0, 1]', [2, 0, 1]],
];

describe('reduction rules against finite differences', () => {
  const ops: [string, Reduce][] = [['sum', sum], ['max', max], ['min', min], ['mean', mean], ['logsumexp', logsumexp]];
  for (const [name, f] of ops) {
    for (const [label, axes] of axisChoices) {
      for (const keepdims of [false, true]) {
        tit(`${name} over ${label}${keepdims ? ' with keepdims' : ''}`, () => {
          // Continuous random values: no ties for max/min.
          const x = uniform([2, 3, 4], -2, 2, 7);
          checkGrads((t: Tensor) => f(t, axes, { keepdims }), [x]);
        });
      }
    }
    tit(`${name}: jacfwd equals jacrev over several axes`, () => {
      const x = uniform([3, 4], -2, 2, 8);
      expectFwdEqualsRev((t) => f(t, 1), x);
      expectFwdEqualsRev((t) => f(t, 0, { keepdims: true }), x);
      expectFwdEqualsRev((t) => f(t), x);
    });
    tit(`${name}: on a broadcast input and followed by broadcasting`, () => {
      const x = uniform([3, 1], -2, 2, 9);
      const y = uniform([4], -1, 1, 10);
      // The reduction sees a broadcast product; its keepdims output broadcasts back against x.
      checkGrads((a: Tensor, b: Tensor) => mul(f(mul(a, b), 1, { keepdims: true }), a), [x, y]);
      // Reducing over a broadcast axis: max/min meet ties there, and the even split sums back to 1.
      checkGrads((a: Tensor) => f(a.broadcastTo([3, 2]), 0), [uniform([2], -1, 1, 11)]);
    });
  }

  tit('max and min at exact ties: the derivative is shared evenly (JAX), in both modes, with and without keepdims', () => {
    const x = array([[1, 3, 3], [5, 2, 5]]);
    const t = array([[1, 2, 4], [8, 16, 32]]);
    for (const keepdims of [false, true]) {
      const [, dMax] = jvp((u: Tensor) => max(u, 1, { keepdims }), [x], [t]) as [Tensor, Tensor];
      expect(dMax.data()).toEqual(Float64Array.from([3, 20]));
      expect(dMax.shape).toEqual(keepdims ? [2, 1] : [2]);
      const [, dMin] = jvp((u: Tensor) => min(u, 1, { keepdims }), [x], [t]) as [Tensor, Tensor];
      expect(dMin.data()).toEqual(Float64Array.from([1, 16]));
      const gMax = grad((u: Tensor) => sum(mul(max(u, 1, { keepdims }), array(keepdims ? [[1], [10]] : [1, 10]))))(x) as Tensor;
      expect(gMax.toArray()).toEqual([[0, 0.5, 0.5], [5, 0, 5]]);
      const gMin = grad((u: Tensor) => sum(min(u, 1, { keepdims })))(x) as Tensor;
      expect(gMin.toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
    }
  });

  for (const axis of [-1, 0, 1, 2]) {
    tit(`softmax along axis ${axis}`, () => {
      checkGrads((t: Tensor) => softmax(t, axis), [uniform([2, 3, 4], -2, 2, 12)]);
    });
  }
  tit('softmax along several axes at once', () => {
    checkGrads((t: Tensor) => softmax(t, [0, 2]), [uniform([2, 3, 4], -2, 2, 13)]);
  });
  tit('softmax: jacfwd equals jacrev, and the Jacobian is diag(p) - p p^T', () => {
    const x = array([0.5, -1, 2]);
    expectFwdEqualsRev((t) => softmax(t), x);
    const p = Array.from(softmax(x).data());
    const want = p.flatMap((pi, i) => p.map((pj, j) => (i === j ? pi : 0) - pi * pj));
    expectClose((jacrev((t: Tensor) => softmax(t))(x) as Tensor).data(), want, 1e-14, 1e-16);
  });
});

describe('second order', () => {
  tit('logsumexp: the Hessian is diag(p) - p p^T (grad of grad against finite differences too)', () => {
    const x = uniform([5], -2, 2, 21);
    checkGrads((t: Tensor) => grad((u: Tensor) => logsumexp(u))(t) as Tensor, [x]);
    const p = Array.from(softmax(x).data());
    const h = jacfwd(grad((u: Tensor) => logsumexp(u)))(x) as Tensor;
    expectClose(h.data(), p.flatMap((pi, i) => p.map((pj, j) => (i === j ? pi : 0) - pi * pj)), 1e-13, 1e-16);
  });
  tit('softmax and mean: grad of grad against finite differences', () => {
    const x = uniform([2, 3], -2, 2, 22);
    checkGrads((t: Tensor) => grad((u: Tensor) => sum(mul(softmax(u, 0), u)))(t) as Tensor, [x]);
    checkGrads((t: Tensor) => grad((u: Tensor) => sum(exp(mean(u, 1))))(t) as Tensor, [x]);
  });
  tit('max: grad of grad of sum(max(x)^2) is 2 at the argmax and 0 elsewhere', () => {
    const x = uniform([2, 3], -2, 2, 23);
    checkGrads((t: Tensor) => grad((u: Tensor) => sum(mul(max(u, 1), max(u, 1))))(t) as Tensor, [x]);
  });
});

describe('values and conventions', () => {
  tit('sum, mean, max, min over axes with and without keepdims give NumPy\'s values and shapes', () => {
    const x = array([[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], [[-1, -2, -3, -4], [0, 0, 0, 0], [4, 3, 2, 1]]]);
    expect(sum(x).item()).toBe(78 - 10 + 10);
    expect(sum(x, 0).toArray()).toEqual([[0, 0, 0, 0], [5, 6, 7, 8], [13, 13, 13, 13]]);
    expect(sum(x, [0, 2], { keepdims: true }).shape).toEqual([1, 3, 1]);
    expect(sum(x, [0, 2], { keepdims: true }).toArray()).toEqual([[[0], [26], [52]]]);
    expect(max(x, -1).toArray()).toEqual([[4, 8, 12], [-1, 0, 4]]);
    expect(min(x, [1, 2]).toArray()).toEqual([1, -4]);
    expect(mean(x, 1).toArray()).toEqual([[5, 6, 7, 8], [1, 1 / 3, -1 / 3, -1]]);
    expect(mean(x, undefined, { keepdims: true }).shape).toEqual([1, 1, 1]);
    expect(x.sum(1).shape).toEqual([2, 4]);
    expect(x.max([0, 1, 2]).item()).toBe(12);
  });

  tit('an empty axis list leaves the tensor as it is', () => {
    const x = array([[1, 2], [3, 4]]);
    expect(sum(x, []).toArray()).toEqual([[1, 2], [3, 4]]);
  });

  tit('reductions of a 0-d tensor and over size-0 axes', () => {
    expect(sum(array(3)).item()).toBe(3);
    expect(max(array(3)).item()).toBe(3);
    expect(sum(zeros([0])).item()).toBe(0);
    expect(sum(zeros([2, 0]), 1).toArray()).toEqual([0, 0]);
    expect(sum(zeros([0, 3]), 0).toArray()).toEqual([0, 0, 0]);
    // NumPy raises for max of an empty array; dualtape returns the identity of the reduction.
    expect(max(zeros([0])).item()).toBe(-Infinity);
    expect(min(zeros([0])).item()).toBe(Infinity);
    expect(mean(zeros([0])).item()).toBeNaN();
  });

  tit('max and min propagate NaN', () => {
    expect(max(array([1, NaN, 3])).item()).toBeNaN();
    expect(min(array([1, NaN, 3])).item()).toBeNaN();
    expect(max(array([[1, NaN], [3, 4]]), 1).toArray()).toEqual([NaN, 4]);
  });

  tit('max and min share the derivative evenly among tied positions', () => {
    const x = array([[3, 1, 3], [2, 2, 2]]);
    expect((grad((t: Tensor) => sum(max(t, 1)))(x) as Tensor).toArray()).toEqual([[0.5, 0, 0.5], [1 / 3, 1 / 3, 1 / 3]]);
    expect((grad((t: Tensor) => min(t))(x) as Tensor).toArray()).toEqual([[0, 1, 0], [0, 0, 0]]);
    const [, t] = jvp((u: Tensor) => max(u, 1), [x], [array([[1, 5, 3], [3, 6, 9]])]) as [Tensor, Tensor];
    expect(t.toArray()).toEqual([2, 6]);
  });

  tit('logsumexp is stable for large and -Infinity inputs', () => {
    expectClose(logsumexp(array([1000, 1000])).item(), 1000 + Math.LN2, 1e-15);
    expectClose(logsumexp(array([-1000, -1000])).item(), -1000 + Math.LN2, 1e-15);
    expect(logsumexp(array([-Infinity, -Infinity])).item()).toBe(-Infinity);
    expect(logsumexp(array([-Infinity, 0])).item()).toBe(0);
    expect(logsumexp(array([Infinity, 0])).item()).toBe(Infinity);
    expectClose(logsumexp(array([[0, 0], [1, 2]]), 1).data(), [Math.LN2, 2 + Math.log1p(Math.exp(-1))], 1e-15);
    expect(logsumexp(array([[0, 0], [1, 2]]), 0, { keepdims: true }).shape).toEqual([1, 2]);
    // Its gradient is softmax, also at large inputs.
    const big = array([1000, 1000, 1000 + Math.log(2)]);
    const [u, v, w] = big.data();
    const denom = Math.exp(u - w) + Math.exp(v - w) + 1;
    expectClose((grad((t: Tensor) => logsumexp(t))(big) as Tensor).data(), [Math.exp(u - w) / denom, Math.exp(v - w) / denom, 1 / denom], 4e-16);
  });

  tit('softmax sums to one along its axis and is stable for large inputs', () => {
    const p = softmax(array([[1000, 1000, 1001], [-5, 0, 5]]));
    expect(p.shape).toEqual([2, 3]);
    // A few ulps: exp(x - max) / sum, not exp(x - logsumexp(x)), whose rounding of the
    // large logsumexp costs about 100 ulps here.
    expectClose(sum(p, 1).data(), [1, 1], 4.5e-16);
    const e = Math.E;
    expectClose(p.data().slice(0, 3), [1 / (2 + e), 1 / (2 + e), e / (2 + e)], 4.5e-16);
    expectClose(softmax(array([[1, 2], [3, 5]]), 0).data(), [1 / (1 + e * e), 1 / (1 + e ** 3), e * e / (1 + e * e), e ** 3 / (1 + e ** 3)], 4.5e-16);
  });
});

describe('reduction kernels against plain JS', () => {
  const ops: [string, Reduce, (a: number, b: number) => number, number][] = [
    ['sum', sum, (a, b) => a + b, 0],
    ['max', max, (a, b) => Math.max(a, b), -Infinity],
    ['min', min, (a, b) => Math.min(a, b), Infinity],
  ];
  // f64 lanes 2, f32 lanes 4: 0, 1, lanes-1, lanes, k*lanes+1 for both, and longer runs.
  const sizes = [0, 1, 2, 3, 4, 5, 9, 17, 33, 1001];
  for (const dtype of ['float64', 'float32'] as const) {
    const rtol = dtype === 'float64' ? 1e-14 : 1e-6;
    for (const [name, f, op, init] of ops) {
      tit(`${name} ${dtype} of every element at sizes ${sizes.join(', ')}`, () => {
        for (const n of sizes) {
          const x = uniform([n], -3, 5, n + 1, dtype);
          const { out } = reduceRef(x.data(), [n], [0], op, init);
          const y = f(x);
          expect(y.dtype).toBe(dtype);
          near(y.item(), out[0], rtol, name === 'sum' ? rtol * n : 0);
        }
      });
      tit(`${name} ${dtype} along each axis of [outer, len, inner] blocks of SIMD-awkward sizes`, () => {
        for (const shape of [[3, 5, 1], [1, 5, 3], [2, 3, 5], [2, 4, 4], [3, 9, 2], [5, 1, 5], [2, 0, 3]]) {
          const x = uniform(shape, -3, 5, shape[0] * 31 + shape[1], dtype);
          for (const axes of [[0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2]]) {
            const { out, outShape } = reduceRef(x.data(), shape, axes, op, init);
            const y = f(x, axes, { keepdims: true });
            expect(y.shape).toEqual(outShape);
            near(y.data(), out, rtol, name === 'sum' ? rtol * 10 : 0);
          }
        }
      });
      tit(`${name} ${dtype} of a transposed and of a broadcast input`, () => {
        const x = uniform([3, 5, 4], -3, 5, 77, dtype);
        const t = transpose(x, [2, 0, 1]); // [4, 3, 5]
        const td = t.data();
        for (const axes of [[0], [1], [2], [0, 2]]) {
          const { out } = reduceRef(td, [4, 3, 5], axes, op, init);
          near(f(t, axes).data(), out, rtol, name === 'sum' ? rtol * 10 : 0);
        }
        const b = x.slice([0, 0, 0], [1, 5, 1]).broadcastTo([3, 5, 4]);
        const { out } = reduceRef(b.data(), [3, 5, 4], [0, 2], op, init);
        near(f(b, [0, 2]).data(), out, rtol, name === 'sum' ? rtol * 10 : 0);
      });
    }
  }
});
