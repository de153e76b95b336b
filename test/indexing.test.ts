// Indexing: take, takeAlongAxis and scatterAdd (each other's transposes), oneHot, argmax,
// argmin, argsort and sort. Values against plain-JS references, derivative rules against
// finite differences in float64 (checkGrads) and against closed forms (repeated indices
// accumulate), second order, vmap against a loop, jit, errors, memory.
import { describe, expect } from 'vitest';
import {
  IndexError, DTypeError, ShapeError, ArgumentError, add, arange, argmax, argmin, argsort, array, astype, exp, grad, jacfwd,
  jacrev, mul, oneHot, reshape, scatterAdd, seededUniformForTests, sin, sort, sparsityPattern, sum, take, takeAlongAxis,
  transpose, vmap, zeros, type Tensor,
} from './helpers/api.js';
import { checkGrads } from './helpers/check.js';
import { expectMemoryRestored, spec } from './helpers/memory.js';

expectMemoryRestored();

function randomArray(shape: number[], seed: number): Tensor {
  const u = seededUniformForTests(seed);
  return array(Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * u() - 1), { shape });
}
const ints = (v: number[] | number[][], shape?: number[]) => array(v.flat(), { dtype: 'int32', shape: shape ?? [v.flat().length] });

/** NumPy's take along `axis` on nested JS arrays, for reference. */
function takeRef(x: Tensor, idx: number[], axis: number): number[] {
  const d = Array.from(x.data()), s = x.shape;
  const outer = s.slice(0, axis).reduce((a, b) => a * b, 1), n = s[axis], inner = s.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) for (const k of idx) for (let i = 0; i < inner; i++) out.push(d[(o * n + (k < 0 ? k + n : k)) * inner + i]);
  return out;
}

describe('take', () => {
  spec('gathers along an axis, with repeats and negative indices', () => {
    const x = randomArray([3, 4, 2], 1);
    for (const axis of [0, 1, 2]) {
      const idx = axis === 2 ? [1, -1, 0] : [2, 0, -1, 2];
      const y = take(x, idx, axis);
      expect(y.shape).toEqual([...x.shape.slice(0, axis), idx.length, ...x.shape.slice(axis + 1)]);
      expect(Array.from(y.data())).toEqual(takeRef(x, idx, axis));
    }
  });
  spec('index tensors of any shape give their shape to the result; no axis flattens', () => {
    const x = reshape(arange(12), [3, 4]);
    expect(take(x, ints([[0, 2], [1, 1]], [2, 2]), 0).shape).toEqual([2, 2, 4]);
    expect(take(x, ints([5, 11]), undefined).toArray()).toEqual([5, 11]);
    expect(take(x, 1, 1).toArray()).toEqual([1, 5, 9]);
    expect(take(astype(x, 'int32'), [2], 0).toArray()).toEqual([[8, 9, 10, 11]]);
    expect(take(astype(x, 'float32'), [2], 0).dtype).toBe('float32');
  });
  spec('the gradient adds the cotangent back at the indices, accumulating repeats', () => {
    const g = grad((x: Tensor) => sum(take(x, [0, 0, 2, -1], 0)))(array([1, 2, 3]));
    expect(g.toArray()).toEqual([2, 0, 2]);
  });
  spec('jvp and vjp agree with finite differences', () => {
    const x = randomArray([4, 3], 2);
    checkGrads((a) => sin(take(a, [3, 1, 1, 0, -2], 0)), [x]);
    checkGrads((a) => mul(take(a, ints([[2, 0], [1, 2]], [2, 2]), 1), 3), [x]);
  });
  spec('second derivatives go through take and scatterAdd', () => {
    const x = array([0.3, -0.7, 1.1]);
    const h = jacfwd(grad((a: Tensor) => sum(exp(take(a, [2, 2, 0], 0)))))(x) as Tensor;
    const e = (v: number) => Math.exp(v);
    expect(Array.from(h.data())).toEqual([e(0.3), 0, 0, 0, 0, 0, 0, 0, 2 * e(1.1)]);
  });
  spec('out-of-range indices are an IndexError naming the op, the index, the axis and the shape', () => {
    const x = zeros([3, 4]);
    expect(() => take(x, [0, 4], 1)).toThrow(IndexError);
    expect(() => take(x, [0, 4], 1)).toThrow('take: index 4 at [1] of the indices is out of range for axis 1 (size 4) of the input of shape [3, 4]');
    expect(() => take(x, [-4], 0)).toThrow(/index -4 .* axis 0 \(size 3\)/);
    expect(() => take(x, [0.5], 0)).toThrow(ArgumentError);
    expect(() => take(x, array([0]), 0)).toThrow(DTypeError);
    expect(() => take(zeros([0]), [0])).toThrow(IndexError);
  });
});

describe('takeAlongAxis', () => {
  spec('picks one element per index and broadcasts the other axes', () => {
    const x = array([[1, 9, 4], [8, 2, 7]]);
    expect(takeAlongAxis(x, [[1, 0], [2, -1]], 1).toArray()).toEqual([[9, 1], [7, 7]]);
    expect(takeAlongAxis(x, [[1, 0, 1]], 0).toArray()).toEqual([[8, 9, 7]]);
    expect(takeAlongAxis(x, [[2]], 1).toArray()).toEqual([[4], [7]]);
  });
  spec('jvp and vjp agree with finite differences; repeats accumulate', () => {
    const x = randomArray([3, 4], 3);
    checkGrads((a) => exp(takeAlongAxis(a, ints([[0, 0, 3], [2, 1, 2], [3, 3, 3]], [3, 3]), 1)), [x]);
    const g = grad((a: Tensor) => sum(takeAlongAxis(a, [[0, 0], [1, 0]], 1)))(array([[1, 2], [3, 4]]));
    expect(g.toArray()).toEqual([[2, 0], [1, 1]]);
  });
  spec('indices with another number of axes are a ShapeError; out of range an IndexError', () => {
    expect(() => takeAlongAxis(array([[1, 2]]), [0], 1)).toThrow(ShapeError);
    expect(() => takeAlongAxis(array([[1, 2]]), [[2]], 1)).toThrow(/takeAlongAxis: index 2 at \[0, 0\]/);
  });
});

describe('scatterAdd', () => {
  spec('adds updates at the indices; repeated indices accumulate', () => {
    expect(scatterAdd(zeros([3]), [0, 2, 0], array([1, 2, 3]), 0).toArray()).toEqual([4, 0, 2]);
    const x = reshape(arange(6), [2, 3]);
    expect(scatterAdd(x, [-1, 0], array([[10, 20], [30, 40]]), 1).toArray()).toEqual([[20, 1, 12], [43, 4, 35]]);
    expect(scatterAdd(x, [1], 1, 0).toArray()).toEqual([[0, 1, 2], [4, 5, 6]]);
    expect(scatterAdd(zeros([2], { dtype: 'int32' }), [1, 1], array([3, 4], { dtype: 'int32' })).toArray()).toEqual([0, 7]);
  });
  spec('is the transpose of take: <take(x), u> = <x, scatterAdd(0, u)>', () => {
    const x = randomArray([5, 2], 4), u = randomArray([4, 2], 5), idx = [4, 0, 4, -3];
    const lhs = sum(mul(take(x, idx, 0), u)).item();
    const rhs = sum(mul(x, scatterAdd(zeros([5, 2]), idx, u, 0))).item();
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-14);
  });
  spec('jvp and vjp in x and updates agree with finite differences', () => {
    const x = randomArray([3, 4], 6), u = randomArray([3, 5], 7);
    checkGrads((a, b) => sin(scatterAdd(a, [1, 3, 1, 0, -1], b, 1)), [x, u]);
    const gu = grad((b: Tensor) => sum(mul(scatterAdd(zeros([3]), [2, 2, 0], b, 0), array([1, 2, 3]))))(array([1, 1, 1]));
    expect(gu.toArray()).toEqual([3, 3, 1]);
  });
  spec('updates of the wrong shape are a ShapeError; out-of-range indices an IndexError', () => {
    expect(() => scatterAdd(zeros([3]), [0, 1], array([1, 2, 3]))).toThrow(ShapeError);
    expect(() => scatterAdd(zeros([3]), [3], array([1]))).toThrow('scatterAdd: index 3 at [0] of the indices is out of range for axis 0 (size 3)');
  });
});

describe('oneHot', () => {
  spec('rows with a 1 at each label', () => {
    expect(oneHot([0, 2], 3).toArray()).toEqual([[1, 0, 0], [0, 0, 1]]);
    expect(oneHot(ints([1, 0], [2]), 2, { dtype: 'float32' }).dtype).toBe('float32');
    expect(oneHot(ints([[1], [0]], [2, 1]), 2).shape).toEqual([2, 1, 2]);
    expect(oneHot([1], 3, { dtype: 'int32' }).toArray()).toEqual([[0, 1, 0]]);
  });
  spec('a label outside [0, n) is an IndexError', () => {
    expect(() => oneHot([3], 3)).toThrow('oneHot: label 3 at [0] is out of range for 3 classes');
    expect(() => oneHot([-1], 3)).toThrow(IndexError);
  });
});

describe('argmax and argmin', () => {
  spec('positions of the extrema as int32, first at ties, first NaN wins', () => {
    const x = array([[1, 5, 2, 5], [7, 0, 7, -1]]);
    const am = argmax(x, 1);
    expect(am.dtype).toBe('int32');
    expect(am.toArray()).toEqual([1, 0]);
    expect(argmin(x, 1).toArray()).toEqual([0, 3]);
    expect(argmax(x, 0).toArray()).toEqual([1, 0, 1, 0]);
    expect(argmax(x).item()).toBe(4);
    expect(argmin(x, 1, { keepdims: true }).shape).toEqual([2, 1]);
    expect(argmax(x, undefined, { keepdims: true }).shape).toEqual([1, 1]);
    expect(argmax(array([1, NaN, 3, NaN])).item()).toBe(1);
    expect(argmin(array([1, NaN, -3])).item()).toBe(1);
    expect(argmax(array([3, 9, -2], { dtype: 'int32' })).item()).toBe(1);
    expect(argmax(array([3, 9, 10], { dtype: 'float32' })).item()).toBe(2);
  });
  spec('with takeAlongAxis they pick the maxima, and gradients flow to them', () => {
    const x = array([[1, 5, 2], [7, 0, 3]]);
    const f = (a: Tensor) => sum(takeAlongAxis(a, argmax(a, 1, { keepdims: true }), 1));
    expect(f(x).item()).toBe(12);
    expect(grad(f)(x).toArray()).toEqual([[0, 1, 0], [1, 0, 0]]);
  });
  spec('an empty axis is an ArgumentError', () => {
    expect(() => argmax(zeros([2, 0]), 1)).toThrow(/argmax: axis 1 .* is empty/);
  });
});

describe('argsort and sort', () => {
  spec('argsort is stable, NaNs last, along any axis', () => {
    expect(argsort(array([3, 1, 2, 1])).toArray()).toEqual([1, 3, 2, 0]);
    expect(argsort(array([NaN, 2, -Infinity, NaN, 0])).toArray()).toEqual([2, 4, 1, 0, 3]);
    const x = array([[3, 1], [2, 5], [1, 1]]);
    expect(argsort(x, 0).toArray()).toEqual([[2, 0], [1, 2], [0, 1]]);
    expect(argsort(array([5, -3, 5, 0], { dtype: 'int32' })).toArray()).toEqual([1, 3, 0, 2]);
  });
  spec('argsort agrees with a stable JS sort at sizes across merge widths', () => {
    for (const n of [0, 1, 2, 3, 7, 8, 9, 33, 100]) {
      const u = seededUniformForTests(n + 10);
      const v = Array.from({ length: n }, () => Math.floor(u() * 5));
      const expected = v.map((_, i) => i).sort((a, b) => v[a] - v[b] || a - b);
      expect(Array.from(argsort(array(v)).data())).toEqual(expected);
    }
  });
  spec('sort sorts, and its gradient permutes back', () => {
    const x = array([[0.3, -1, 2], [5, 4, 4.5]]);
    expect(sort(x).toArray()).toEqual([[-1, 0.3, 2], [4, 4.5, 5]]);
    expect(sort(x, 0).toArray()).toEqual([[0.3, -1, 2], [5, 4, 4.5]]);
    const w = array([[1, 2, 3], [4, 5, 6]]);
    expect(grad((a: Tensor) => sum(mul(sort(a), w)))(x).toArray()).toEqual([[2, 1, 3], [6, 4, 5]]);
    checkGrads((a) => sort(a, 1), [randomArray([3, 5], 8)]);
    checkGrads((a) => sort(a, 0), [randomArray([4, 2], 9)]);
  });
});

describe('composition with transforms', () => {
  spec('vmap of take, takeAlongAxis, scatterAdd, argmax and sort equals a loop', () => {
    const xs = randomArray([3, 4, 2], 11);
    const idx = ints([[0, 3, 3], [1, 1, 0], [2, 0, -1]], [3, 3]);
    const loop = (f: (x: Tensor, i: Tensor) => Tensor) => [0, 1, 2].map((b) => Array.from(f(take(xs, [b], 0).reshape([4, 2]), take(idx, [b], 0).reshape([3])).data())).flat();
    const cases: ((x: Tensor, i: Tensor) => Tensor)[] = [
      (x, i) => take(x, i, 0),
      (x, i) => take(transpose(x), i, 1).sum(),
      (x, i) => scatterAdd(x, i, mul(take(x, i, 0), 2), 0),
      (x) => astype(argmax(x, 0), 'float64'),
      (x) => sort(x, 0),
      (x, i) => takeAlongAxis(x, reshape(take(i, [0, 1], 0), [2, 1]), 0),
    ];
    for (const f of cases) {
      expect(Array.from(vmap(f)(xs, idx).data())).toEqual(loop(f));
      expect(Array.from(vmap(f, { inAxes: [0, null] })(xs, take(idx, 0, 0)).data()))
        .toEqual([0, 1, 2].map((b) => Array.from(f(take(xs, [b], 0).reshape([4, 2]), take(idx, 0, 0)).data())).flat());
    }
  });
  spec('vmap with unbatched data and batched indices equals a loop', () => {
    const x = randomArray([4, 2], 13);
    const idx = ints([[0, 3], [-1, 1], [2, 2]], [3, 2]);
    const expected = [0, 1, 2].map((b) => Array.from(take(x, take(idx, b, 0), 0).data())).flat();
    expect(Array.from(vmap((a: Tensor, i: Tensor) => take(a, i, 0), { inAxes: [null, 0] })(x, idx).data())).toEqual(expected);
    const scattered = [0, 1, 2].map((b) => Array.from(scatterAdd(x, take(idx, b, 0), 1, 0).data())).flat();
    expect(Array.from(vmap((a: Tensor, i: Tensor) => scatterAdd(a, i, 1, 0), { inAxes: [null, 0] })(x, idx).data())).toEqual(scattered);
  });
  spec('vmap of the gradient of sort (a batched scatter along an axis) equals a loop', () => {
    const xs = randomArray([3, 5], 14), w = randomArray([5], 15);
    const g = grad((a: Tensor) => sum(mul(sort(a), w)));
    const expected = [0, 1, 2].map((b) => Array.from(g(take(xs, b, 0)).data())).flat();
    expect(Array.from(vmap(g)(xs).data())).toEqual(expected);
  });
  spec('forward and reverse Jacobians agree', () => {
    const x = randomArray([4], 12);
    const f = (a: Tensor) => add(take(a, [3, 0, 3], 0), sort(a).reshape([4]).sum());
    expect(Array.from((jacfwd(f)(x) as Tensor).data())).toEqual(Array.from((jacrev(f)(x) as Tensor).data()));
  });
  spec('sparsityPattern reads the indices', () => {
    const p = sparsityPattern((a: Tensor) => take(a, [2, 0], 0), array([1, 2, 3]));
    expect(Array.from(p.indices)).toEqual([2, 0]);
    const q = sparsityPattern((a: Tensor) => scatterAdd(zeros([2]), [1, 1], a, 0), array([1, 2]));
    expect(Array.from(q.indptr)).toEqual([0, 0, 2]);
  });
  spec('sparsityPattern follows indices computed from the input (argmax, sort)', () => {
    const p = sparsityPattern((a: Tensor) => takeAlongAxis(a, argmax(a, 0, { keepdims: true }), 0), array([1, 5, 2]));
    expect(Array.from(p.indices)).toEqual([1]);
    const q = sparsityPattern((a: Tensor) => sort(a), array([3, 1, 2]));
    expect(Array.from(q.indices)).toEqual([1, 2, 0]);
  });
});

describe('indexing kernels at several sizes', () => {
  spec('take, takeAlongAxis and scatterAdd against JS for inner runs 1, 2, 3, 5 and float32/int32', () => {
    for (const inner of [1, 2, 3, 5]) {
      for (const dtype of ['float64', 'float32', 'int32'] as const) {
        const n = 6, outer = 2;
        const v = Array.from({ length: outer * n * inner }, (_, i) => i * 3 - 11);
        const x = array(v, { shape: [outer, n, inner], dtype });
        const idx = [5, 0, -1, 3, 3, -6, 2];
        expect(Array.from(take(x, idx, 1).data())).toEqual(takeRef(x, idx, 1));
        const along = Array.from({ length: outer * 3 * inner }, (_, p) => ((p * 5) % n) - (p % 2 ? n : 0));
        const got = Array.from(takeAlongAxis(x, ints(along, [outer, 3, inner]), 1).data());
        const want = along.map((k, p) => {
          const o = Math.floor(p / (3 * inner)), i = p % inner;
          return v[(o * n + (k < 0 ? k + n : k)) * inner + i];
        });
        expect(got).toEqual(want);
        const u = Array.from({ length: outer * idx.length * inner }, (_, p) => p + 1);
        const acc = v.slice();
        for (let o = 0; o < outer; o++) for (let j = 0; j < idx.length; j++) for (let i = 0; i < inner; i++) {
          const k = idx[j] < 0 ? idx[j] + n : idx[j];
          acc[(o * n + k) * inner + i] += u[(o * idx.length + j) * inner + i];
        }
        expect(Array.from(scatterAdd(x, idx, array(u, { shape: [outer, idx.length, inner], dtype }), 1).data())).toEqual(acc);
      }
    }
  });
});

describe('chainable methods', () => {
  spec('x.take, x.argmax, x.argmin, x.argsort and x.sort call the functions', () => {
    const x = array([[3, 1, 2], [0, 5, 4]]);
    expect(x.take([2, 0], 1).toArray()).toEqual([[2, 3], [4, 0]]);
    expect(x.argmax(1).toArray()).toEqual([0, 1]);
    expect(x.argmin().item()).toBe(3);
    expect(x.argsort().toArray()).toEqual([[1, 2, 0], [0, 2, 1]]);
    expect(x.sort(0).toArray()).toEqual([[0, 1, 2], [3, 5, 4]]);
  });
});
