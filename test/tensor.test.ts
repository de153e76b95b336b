// Tensors: creation, reading data back, dtypes (float32 against float64 for every op), NumPy
// broadcasting against a plain-JS reference, plain numbers wherever a tensor goes, chainable
// methods and .T.
import { describe, expect } from 'vitest';
import {
  Tensor, abs, add, arange, array, astype, broadcastTo, concat, cos, div, dot, equal, exp, expandDims, eye, full,
  grad, greater, greaterEqual, jacfwd, jacrev, jvp, less, lessEqual, linspace, log, logsumexp, matmul, max, maximum, mean, min,
  minimum, mul, neg, ones, pad, pow, randn, reciprocal, reshape, scalar, sigmoid, sign, sin, slice, softmax, sqrt,
  square, squeeze, stack, sub, sum, tan, tanh, transpose, where, zeros, type TensorLike,
} from './helpers/api.js';
import { expectClose } from './helpers/check.js';
import { expectMemoryRestored, spec as tit } from './helpers/memory.js';

expectMemoryRestored();


describe('creation', () => {
  tit('array from a number, flat and nested arrays, with float64 as the default dtype', () => {
    const s = array(2.5);
    expect(s.shape).toEqual([]);
    expect(s.ndim).toBe(0);
    expect(s.size).toBe(1);
    expect(s.dtype).toBe('float64');
    expect(s.item()).toBe(2.5);
    const v = array([1, 2, 3]);
    expect(v.shape).toEqual([3]);
    expect(v.toArray()).toEqual([1, 2, 3]);
    const m = array([[[1, 2], [3, 4], [5, 6]]]);
    expect(m.shape).toEqual([1, 3, 2]);
    expect(m.ndim).toBe(3);
    expect(m.size).toBe(6);
    expect(m.toArray()).toEqual([[[1, 2], [3, 4], [5, 6]]]);
    expect(array([]).shape).toEqual([0]);
    expect(array([[], []]).shape).toEqual([2, 0]);
  });

  tit('array from typed arrays keeps their dtype unless one is given', () => {
    const f32 = array(new Float32Array([1.5, 2.25]));
    expect(f32.dtype).toBe('float32');
    expect(f32.data()).toBeInstanceOf(Float32Array);
    expect(Array.from(f32.data())).toEqual([1.5, 2.25]);
    const f64 = array(new Float64Array([0.1, 0.2]));
    expect(f64.dtype).toBe('float64');
    expect(f64.data()).toBeInstanceOf(Float64Array);
    expect(Array.from(f64.data())).toEqual([0.1, 0.2]);
    expect(array(new Float32Array([0.5]), { dtype: 'float64' }).dtype).toBe('float64');
    const narrowed = array(new Float64Array([0.1]), { dtype: 'float32' });
    expect(narrowed.dtype).toBe('float32');
    expect(narrowed.item()).toBe(Math.fround(0.1));
  });

  tit('array with a shape option lays flat data out row-major', () => {
    const x = array([1, 2, 3, 4, 5, 6], { shape: [2, 3] });
    expect(x.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(array(new Float32Array([1, 2, 3, 4]), { shape: [2, 1, 2] }).toArray()).toEqual([[[1, 2]], [[3, 4]]]);
    expect(array([7], { shape: [] }).shape).toEqual([]);
    expect(array([[1, 2], [3, 4]], { shape: [4] }).toArray()).toEqual([1, 2, 3, 4]);
    expect(array([1, 2], { dtype: 'float32', shape: [2, 1] }).dtype).toBe('float32');
  });

  tit('array of a tensor copies it (and casts with a dtype)', () => {
    const x = array([1, 2]);
    const y = array(x);
    expect(y).not.toBe(x);
    expect(y.toArray()).toEqual([1, 2]);
    x.dispose();
    expect(y.toArray()).toEqual([1, 2]);
    expect(array(y, { dtype: 'float32' }).dtype).toBe('float32');
  });

  tit('scalar, zeros, ones, full', () => {
    expect(scalar(3).shape).toEqual([]);
    expect(scalar(3).item()).toBe(3);
    expect(scalar(0.1, { dtype: 'float32' }).item()).toBe(Math.fround(0.1));
    expect(zeros([2, 3]).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(zeros([]).item()).toBe(0);
    expect(zeros([0, 4]).shape).toEqual([0, 4]);
    expect(ones([3], { dtype: 'float32' }).toArray()).toEqual([1, 1, 1]);
    expect(ones([3], { dtype: 'float32' }).dtype).toBe('float32');
    expect(full([2, 2], 7).toArray()).toEqual([[7, 7], [7, 7]]);
    expect(full([3], -Infinity).toArray()).toEqual([-Infinity, -Infinity, -Infinity]);
    expect(full([2], NaN).toArray()).toEqual([NaN, NaN]);
    // Every size class of the fill kernel.
    for (const n of [0, 1, 2, 3, 4, 5, 9]) {
      expect(Array.from(full([n], 2.5, { dtype: 'float32' }).data())).toEqual(new Array(n).fill(2.5));
      expect(Array.from(full([n], 2.5).data())).toEqual(new Array(n).fill(2.5));
    }
  });

  tit('eye', () => {
    expect(eye(3).toArray()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(eye(1).toArray()).toEqual([[1]]);
    expect(eye(0).shape).toEqual([0, 0]);
    expect(eye(2, { dtype: 'float32' }).dtype).toBe('float32');
    const e = eye(9).data();
    for (let i = 0; i < 9; i++) for (let j = 0; j < 9; j++) expect(e[i * 9 + j]).toBe(i === j ? 1 : 0);
  });

  tit('arange with one, two and three arguments, as NumPy', () => {
    expect(arange(5).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(arange(2, 6).toArray()).toEqual([2, 3, 4, 5]);
    expect(arange(0, 1, 0.25).toArray()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(arange(5, 0, -2).toArray()).toEqual([5, 3, 1]);
    expect(arange(1, 2, 0.3).size).toBe(4);
    expect(arange(0).shape).toEqual([0]);
    expect(arange(3, 1).shape).toEqual([0]);
    expect(arange(-3).shape).toEqual([0]);
    expect(arange(0, 10, 3, { dtype: 'float32' }).dtype).toBe('float32');
    // Values are start + i * step (as NumPy), not an accumulated sum.
    const x = arange(0, 1, 0.1).data();
    expect(x.length).toBe(10);
    for (let i = 0; i < 10; i++) expect(x[i]).toBe(i * 0.1);
    for (const n of [1, 2, 3, 4, 5, 9]) expect(Array.from(arange(n, undefined, 1, { dtype: 'float32' }).data())).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  tit('linspace includes both ends exactly', () => {
    expect(linspace(0, 1, 5).toArray()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(linspace(2, 3, 1).toArray()).toEqual([2]);
    expect(linspace(2, 3, 0).shape).toEqual([0]);
    expect(linspace(1, -1, 3).toArray()).toEqual([1, 0, -1]);
    const x = linspace(0, 0.3, 7).data();
    expect(x[0]).toBe(0);
    expect(x[6]).toBe(0.3);
    expect(linspace(0, 1, 3, { dtype: 'float32' }).dtype).toBe('float32');
  });

  describe('randn', () => {
    tit('the same seed gives the same values; a different seed different ones', () => {
      const a = randn([100], { seed: 42 }).data();
      const b = randn([100], { seed: 42 }).data();
      const c = randn([100], { seed: 43 }).data();
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(Array.from(a).filter((v, i) => v === c[i]).length).toBe(0);
      expect(randn([2, 3], { seed: 1 }).shape).toEqual([2, 3]);
      expect(Array.from(randn([7]).data())).toEqual(Array.from(randn([7], { seed: 0 }).data()));
    });

    tit('float32 samples are the float64 samples rounded', () => {
      const x64 = randn([9], { seed: 5 }).data();
      const x32 = randn([9], { seed: 5, dtype: 'float32' });
      expect(x32.dtype).toBe('float32');
      expect(Array.from(x32.data())).toEqual(Array.from(x64, Math.fround));
    });

    tit('1e5 samples look standard normal (bounds at 5 standard errors)', () => {
      const n = 100000;
      const x = randn([n], { seed: 2024 }).data();
      let s = 0, s2 = 0, within1 = 0, within2 = 0;
      for (const v of x) {
        s += v;
        s2 += v * v;
        if (Math.abs(v) < 1) within1++;
        if (Math.abs(v) < 2) within2++;
      }
      const m = s / n;
      const variance = s2 / n - m * m;
      // Standard errors: mean 1/sqrt(n) = 0.0032; variance sqrt(2/n) = 0.0045;
      // a proportion p: sqrt(p(1-p)/n) (0.0015 for P(|z|<1) = 0.6827, 0.0007 for P(|z|<2) = 0.9545).
      expect(Math.abs(m)).toBeLessThan(5 / Math.sqrt(n));
      expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
      expect(Math.abs(within1 / n - 0.682689)).toBeLessThan(5 * Math.sqrt(0.6827 * 0.3173 / n));
      expect(Math.abs(within2 / n - 0.954500)).toBeLessThan(5 * Math.sqrt(0.9545 * 0.0455 / n));
      // Neighbours (the two halves of a Box-Muller pair, and across pairs) are uncorrelated:
      // the sample correlation of independent pairs has standard error 1/sqrt(pairs).
      let pairs = 0, cross = 0;
      for (let i = 0; i + 1 < n; i += 2) pairs += x[i] * x[i + 1];
      for (let i = 1; i + 1 < n; i += 2) cross += x[i] * x[i + 1];
      expect(Math.abs(pairs / (n / 2))).toBeLessThan(5 / Math.sqrt(n / 2));
      expect(Math.abs(cross / (n / 2 - 1))).toBeLessThan(5 / Math.sqrt(n / 2 - 1));
    });
  });
});

describe('reading data back', () => {
  tit('toArray gives nested arrays (a number for 0-d); data a row-major copy; item the single value', () => {
    const x = array([[1, 2], [3, 4]]);
    expect(x.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(array(5).toArray()).toBe(5);
    expect(zeros([2, 0]).toArray()).toEqual([[], []]);
    expect(zeros([0, 2]).toArray()).toEqual([]);
    const d = x.data();
    expect(Array.from(d)).toEqual([1, 2, 3, 4]);
    d[0] = 100; // a copy: the tensor does not change
    expect(x.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(array([[7]]).item()).toBe(7);
    expect(array([1, 2]).data()).toBeInstanceOf(Float64Array);
    expect(String(array([1, 2]))).toBe('Tensor([1,2], shape=[2], dtype=float64)');
  });

  tit('item on more than one element throws a ShapeError naming the shape', () => {
    expect(() => array([1, 2]).item()).toThrow(/item: the tensor has shape \[2\] \(2 elements\)/);
    expect(() => zeros([0]).item()).toThrow(/shape \[0\] \(0 elements\)/);
  });
});

describe('dtypes: float32 agrees with float64 to float32 precision for every op', () => {
  type Op = (x: Tensor, y: Tensor, m: Tensor) => Tensor;
  // x, y in [-1, 1] of shape [3, 4]; m [4, 2]; each op stays away from poles and kinks.
  const ops: [string, Op][] = [
    ['neg', (x) => neg(x)], ['exp', (x) => exp(x)], ['log', (x) => log(add(abs(x), 0.5))],
    ['sin', (x) => sin(x)], ['cos', (x) => cos(x)], ['tan', (x) => tan(x)], ['tanh', (x) => tanh(x)],
    ['sigmoid', (x) => sigmoid(x)], ['sqrt', (x) => sqrt(abs(x))], ['square', (x) => square(x)],
    ['reciprocal', (x) => reciprocal(add(abs(x), 0.5))], ['abs', (x) => abs(x)], ['sign', (x) => sign(x)],
    ['add', (x, y) => add(x, y)], ['sub', (x, y) => sub(x, y)], ['mul', (x, y) => mul(x, y)],
    ['div', (x, y) => div(x, add(abs(y), 0.5))], ['pow', (x, y) => pow(add(abs(x), 0.5), y)],
    ['maximum', (x, y) => maximum(x, y)], ['minimum', (x, y) => minimum(x, y)],
    ['greater', (x, y) => greater(x, y)], ['less', (x, y) => less(x, y)], ['equal', (x) => equal(x, x)],
    ['greaterEqual', (x, y) => greaterEqual(x, y)], ['lessEqual', (x, y) => lessEqual(x, y)],
    ['where', (x, y) => where(greater(x, 0), x, y)],
    ['sum', (x) => sum(x, 1)], ['mean', (x) => mean(x, 0)], ['max', (x) => max(x, 1)], ['min', (x) => min(x)],
    ['logsumexp', (x) => logsumexp(x, 1)], ['softmax', (x) => softmax(x, 0)],
    ['reshape', (x) => reshape(x, [2, 6])], ['transpose', (x) => transpose(x)], ['broadcastTo', (x) => broadcastTo(x, [2, 3, 4])],
    ['slice', (x) => slice(x, [1, 1], [2, 2])], ['pad', (x) => pad(x, [[1, 0], [0, 2]])], ['concat', (x, y) => concat([x, y], 1)],
    ['stack', (x, y) => stack([x, y])], ['expandDims', (x) => expandDims(x, 1)], ['squeeze', (x) => squeeze(reshape(x, [1, 12]))],
    ['matmul', (x, _, m) => matmul(x, m)], ['dot', (x, y) => dot(reshape(x, [12]), reshape(y, [12]))],
  ];
  const make = (seed: number, shape: number[], dtype: 'float32' | 'float64') =>
    astype(randn(shape, { seed, dtype: 'float32' }).mul(0.5), dtype);
  for (const [name, op] of ops) {
    tit(name, () => {
      // Both runs start from the same (float32-representable) inputs.
      const y64 = op(make(1, [3, 4], 'float64'), make(2, [3, 4], 'float64'), make(3, [4, 2], 'float64'));
      const y32 = op(make(1, [3, 4], 'float32'), make(2, [3, 4], 'float32'), make(3, [4, 2], 'float32'));
      expect(y64.dtype).toBe('float64');
      expect(y32.dtype).toBe('float32');
      expect(y32.shape).toEqual(y64.shape);
      const ref = y64.data();
      const scale = Math.max(1, ...Array.from(ref, Math.abs));
      // A few float32 roundings of the result, relative to the largest entry.
      expectClose(y32.data(), ref, 4 * 2 ** -23, 8 * 2 ** -23 * scale);
    });
  }

  tit('astype casts both ways, rounds to nearest, and is the identity for the same dtype', () => {
    const x = array([0.1, 1 / 3, 1e40, -1e-50, NaN, Infinity]);
    const y = astype(x, 'float32');
    expect(y.dtype).toBe('float32');
    expect(Array.from(y.data())).toEqual([Math.fround(0.1), Math.fround(1 / 3), Infinity, -0, NaN, Infinity]);
    const z = astype(y, 'float64');
    expect(z.dtype).toBe('float64');
    expect(Array.from(z.data())).toEqual(Array.from(y.data()));
    expect(astype(x, 'float64')).toBe(x);
    expect(x.astype('float32').dtype).toBe('float32');
    for (const n of [0, 1, 2, 3, 4, 5, 9]) {
      const v = Array.from({ length: n }, (_, i) => i / 7);
      expect(Array.from(astype(array(v), 'float32').data())).toEqual(v.map(Math.fround));
      expect(Array.from(astype(array(v, { dtype: 'float32' }), 'float64').data())).toEqual(v.map(Math.fround));
    }
  });

  tit('astype: jacfwd equals jacrev in both directions, an identity matrix', () => {
    const x = array([0.5, 1.25, -2]);
    const down = (t: Tensor) => astype(t, 'float32');
    expect(Array.from((jacfwd(down)(x) as Tensor).data())).toEqual(Array.from(eye(3).data()));
    expect(Array.from((jacrev(down)(x) as Tensor).data())).toEqual(Array.from(eye(3).data()));
    const x32 = astype(x, 'float32');
    const up = (t: Tensor) => astype(t, 'float64');
    expect(Array.from((jacfwd(up)(x32) as Tensor).data())).toEqual(Array.from((jacrev(up)(x32) as Tensor).data()));
    const [, t] = jvp(down, [x], [array([1, 2, 3])]) as [Tensor, Tensor];
    expect(t.dtype).toBe('float32');
    expect(t.toArray()).toEqual([1, 2, 3]);
  });

  tit('astype is differentiable: tangents and cotangents are cast', () => {
    const g = grad((x: Tensor) => sum(astype(mul(x, x), 'float32')))(array([1.5, 2])) as Tensor;
    expect(g.dtype).toBe('float64');
    expect(g.toArray()).toEqual([3, 4]);
    const g32 = grad((x: Tensor) => sum(mul(astype(x, 'float64'), 3)))(array([1, 2], { dtype: 'float32' })) as Tensor;
    expect(g32.dtype).toBe('float32');
    expect(g32.toArray()).toEqual([3, 3]);
  });

  tit('mixed dtypes promote to float64 (never narrowing); plain numbers take the tensor\'s dtype', () => {
    const a = array([1, 2], { dtype: 'float32' });
    const b = array([0.1, 0.2]);
    expect(add(a, b).dtype).toBe('float64');
    expect(add(b, a).dtype).toBe('float64');
    expect(add(a, b).toArray()).toEqual([1 + 0.1, 2 + 0.2]);
    expect(mul(a, 0.1).dtype).toBe('float32');
    expect(mul(a, 0.1).toArray()).toEqual([Math.fround(Math.fround(0.1) * 1), Math.fround(Math.fround(0.1) * 2)]);
    expect(add(1, 2).dtype).toBe('float64');
    expect(where(array([1, 0], { dtype: 'float32' }), b, 0).dtype).toBe('float64');
    expect(where(array([1, 0]), a, 0).dtype).toBe('float32');
    expect(concat([a, b]).dtype).toBe('float64');
    expect(stack([a, a]).dtype).toBe('float32');
  });
});

describe('NumPy broadcasting against a plain-JS reference', () => {
  const sizeOf = (s: number[]) => s.reduce((a, b) => a * b, 1);
  /** The broadcast result of `ref` over row-major data of two shapes. */
  function broadcastRef(a: number[], sa: number[], b: number[], sb: number[], ref: (x: number, y: number) => number) {
    const nd = Math.max(sa.length, sb.length);
    const pa = [...new Array(nd - sa.length).fill(1), ...sa], pb = [...new Array(nd - sb.length).fill(1), ...sb];
    const shape = pa.map((d, i) => (d === 1 ? pb[i] : d));
    const out: number[] = [];
    for (let f = 0; f < sizeOf(shape); f++) {
      let rem = f, ia = 0, ib = 0, stA = 1, stB = 1;
      for (let d = nd - 1; d >= 0; d--) {
        const i = rem % shape[d];
        rem = Math.floor(rem / shape[d]);
        ia += (pa[d] === 1 ? 0 : i) * stA;
        ib += (pb[d] === 1 ? 0 : i) * stB;
        stA *= pa[d];
        stB *= pb[d];
      }
      out.push(ref(a[ia], b[ib]));
    }
    return { shape, out };
  }
  const pairs: [number[], number[]][] = [
    [[2, 3], [3]], [[2, 3], [2, 1]], [[], [2, 3]], [[2, 1, 3], [4, 1]], [[5, 1, 1], [1, 4, 1]], [[1], [3]],
    [[3, 1, 2, 1], [4, 1, 5]], [[0, 3], [3]], [[1], [0]], [[2, 1], [1, 1]], [[4], [1, 4]], [[1, 2, 1, 3], [2, 2, 1]],
  ];
  const ops: [string, (a: TensorLike, b: TensorLike) => Tensor, (x: number, y: number) => number][] = [
    ['add', add, (x, y) => x + y], ['sub', sub, (x, y) => x - y], ['mul', mul, (x, y) => x * y],
    ['div', div, (x, y) => x / y], ['maximum', maximum, Math.max], ['pow', pow, Math.pow], ['greater', greater, (x, y) => +(x > y)],
  ];
  for (const [sa, sb] of pairs) {
    tit(`${JSON.stringify(sa)} with ${JSON.stringify(sb)}`, () => {
      const a = Array.from({ length: sizeOf(sa) }, (_, i) => 1 + i * 0.5);
      const b = Array.from({ length: sizeOf(sb) }, (_, i) => 2 - i * 0.3);
      for (const [name, op, ref] of ops) {
        // Exact for the arithmetic ops; pow is within 2 ulps of Math.pow (neither is correctly rounded).
        const rtol = name === 'pow' ? 2 * 2 ** -52 : 0;
        const want = broadcastRef(a, sa, b, sb, ref);
        const got = op(array(a, { shape: sa }), array(b, { shape: sb }));
        expect(got.shape).toEqual(want.shape);
        expectClose(got.data(), want.out, rtol);
        const back = broadcastRef(b, sb, a, sa, ref);
        expectClose(op(array(b, { shape: sb }), array(a, { shape: sa })).data(), back.out, rtol);
      }
    });
  }
  tit('where broadcasts its condition and both branches together', () => {
    const y = where(array([[1], [0], [1]]), array([10, 20]), array([[-1, -2]]));
    expect(y.toArray()).toEqual([[10, 20], [-1, -2], [10, 20]]);
    expect(where(1, array([1, 2]), 5).toArray()).toEqual([1, 2]);
    expect(where(array([0, 1]), 3, 4).toArray()).toEqual([4, 3]);
  });
});

describe('plain JS numbers wherever a tensor goes', () => {
  tit('elementwise ops, reductions, shape ops, dot and transforms take numbers', () => {
    expect(exp(0).item()).toBe(1);
    expect(add(1, 2).item()).toBe(3);
    expect(sub(5, array([1, 2])).toArray()).toEqual([4, 3]);
    expect(pow(2, array([3, 0.5])).toArray()).toEqual([8, Math.SQRT2]);
    expect(where(array([1, 0]), 1, -1).toArray()).toEqual([1, -1]);
    expect(sum(3).item()).toBe(3);
    expect(max(3).item()).toBe(3);
    expect(mean(4).item()).toBe(4);
    expect(reshape(3, [1, 1]).toArray()).toEqual([[3]]);
    expect(broadcastTo(2, [3]).toArray()).toEqual([2, 2, 2]);
    expect(expandDims(2, 0).toArray()).toEqual([2]);
    expect(stack([1, 2, 3]).toArray()).toEqual([1, 2, 3]);
    expect(concat([array([1]), 2].map((v) => reshape(v, [1]))).toArray()).toEqual([1, 2]);
    expect(dot(2, 3).item()).toBe(6);
    expect(array([1, 2]).add(1).toArray()).toEqual([2, 3]);
    expect((grad((x: Tensor) => mul(x, x))(3) as Tensor).item()).toBe(6);
  });

  tit('numbers mean the same value in both dtypes: 0.1 meets a float32 tensor as float32(0.1)', () => {
    const x = array([1], { dtype: 'float32' });
    expect(add(x, 0.1).item()).toBe(Math.fround(1 + Math.fround(0.1)));
    expect(add(array([1]), 0.1).item()).toBe(1.1);
  });
});

describe('chainable methods', () => {
  tit('every method gives the same result as its function', () => {
    const x = array([[0.5, -1, 2], [1.5, 0.25, -0.75]]);
    const y = array([[2, 1, 0.5], [1, 3, 2]]);
    const same = (a: Tensor, b: Tensor) => {
      expect(a.shape).toEqual(b.shape);
      expect(Array.from(a.data())).toEqual(Array.from(b.data()));
    };
    same(x.add(y), add(x, y));
    same(x.sub(y), sub(x, y));
    same(x.mul(y), mul(x, y));
    same(x.div(y), div(x, y));
    same(y.pow(x), pow(y, x));
    same(x.maximum(y), maximum(x, y));
    same(x.minimum(y), minimum(x, y));
    same(x.greater(y), greater(x, y));
    same(x.less(y), less(x, y));
    same(x.equal(x), equal(x, x));
    same(x.neg(), neg(x));
    same(x.exp(), exp(x));
    same(y.log(), log(y));
    same(x.sin(), sin(x));
    same(x.cos(), cos(x));
    same(x.tan(), tan(x));
    same(x.tanh(), tanh(x));
    same(x.sigmoid(), sigmoid(x));
    same(y.sqrt(), sqrt(y));
    same(x.square(), square(x));
    same(x.abs(), abs(x));
    same(x.matmul(y.T), matmul(x, transpose(y)));
    same(x.reshape([6]).dot(y.reshape([6])), dot(reshape(x, [6]), reshape(y, [6])));
    same(x.sum(), sum(x));
    same(x.sum(1, { keepdims: true }), sum(x, 1, { keepdims: true }));
    same(x.mean(0), mean(x, 0));
    same(x.max(1), max(x, 1));
    same(x.min(), min(x));
    same(x.logsumexp(1), logsumexp(x, 1));
    same(x.softmax(0), softmax(x, 0));
    same(x.reshape([3, 2]), reshape(x, [3, 2]));
    same(x.transpose([1, 0]), transpose(x, [1, 0]));
    same(x.broadcastTo([4, 2, 3]), broadcastTo(x, [4, 2, 3]));
    same(x.slice([0, 1], [2, 2]), slice(x, [0, 1], [2, 2]));
    same(x.astype('float32'), astype(x, 'float32'));
  });

  tit('methods chain, and take plain numbers', () => {
    const r = array([1, 2, 3]).mul(2).add(1).square().sum();
    expect(r.item()).toBe(9 + 25 + 49);
    expect(array([4, 9]).sqrt().sub(1).div(2).toArray()).toEqual([0.5, 1]);
  });

  tit('.T reverses the axes (a no-op for 0-d and 1-D) and is differentiable', () => {
    const m = array([[1, 2, 3], [4, 5, 6]]);
    expect(m.T.toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(zeros([2, 3, 4]).T.shape).toEqual([4, 3, 2]);
    const v = array([1, 2]);
    expect(v.T).toBe(v);
    expect(array(3).T.item()).toBe(3);
    const g = grad((x: Tensor) => sum(mul(x.T, array([[1], [2], [3]]))))(m) as Tensor;
    expect(g.toArray()).toEqual([[1, 2, 3], [1, 2, 3]]);
  });

  tit('methods work on tracers inside transforms', () => {
    const g = grad((x: Tensor) => x.mul(x).sin().sum())(array([0.5, 1])) as Tensor;
    expectClose(g.data(), [2 * 0.5 * Math.cos(0.25), 2 * Math.cos(1)], 1e-15);
    expect(ones([2]).equal(1).toArray()).toEqual([1, 1]);
  });
});
