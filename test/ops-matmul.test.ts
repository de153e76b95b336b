// matmul and dot: NumPy's semantics for 1-D, 2-D and batched operands with broadcast batch
// axes; rules against finite differences, forward against reverse, second order; and the GEMM
// kernel (with its transpose flags) against a plain-JS triple loop at sizes around the SIMD
// lanes and the register and cache blocks.
import { describe, expect } from 'vitest';
import {
  array, dot, exp, grad, jacfwd, jacrev, matmul, ones, seededUniformForTests, sum, tanh, tidy, transpose,
  zeros, type Tensor,
} from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { matmulT } from '../src/ops/matmul.js';
import { expectMemoryRestored, spec as tit } from './helpers/memory.js';

expectMemoryRestored();


type DType = 'float64' | 'float32';

function uniform(shape: number[], seed: number, dtype: DType = 'float64'): Tensor {
  const rand = seededUniformForTests(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return array(Float64Array.from({ length: n }, () => rand() * 2 - 1), { shape, dtype });
}

/** Plain-JS batched matmul with NumPy's rules (1-D promotion, broadcast batch axes). */
function matmulRef(a: Tensor, b: Tensor): { data: number[]; shape: number[] } {
  const as = a.ndim === 1 ? [1, a.shape[0]] : [...a.shape];
  const bs = b.ndim === 1 ? [b.shape[0], 1] : [...b.shape];
  const [m, k] = as.slice(-2), [, n] = bs.slice(-2);
  const ba = as.slice(0, -2), bb = bs.slice(0, -2);
  const nd = Math.max(ba.length, bb.length);
  const pa = [...new Array(nd - ba.length).fill(1), ...ba], pb = [...new Array(nd - bb.length).fill(1), ...bb];
  const batch = pa.map((d, i) => Math.max(d, pb[i]));
  const count = batch.reduce((x, y) => x * y, 1);
  const ad = a.data(), bd = b.data();
  const out: number[] = [];
  for (let t = 0; t < count; t++) {
    let rem = t, offA = 0, offB = 0, sa = 1, sb = 1;
    for (let d = nd - 1; d >= 0; d--) {
      const i = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      offA += (pa[d] === 1 ? 0 : i) * sa;
      offB += (pb[d] === 1 ? 0 : i) * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += ad[offA * m * k + i * k + p] * bd[offB * k * n + p * n + j];
        out.push(s);
      }
    }
  }
  const shape = [...batch];
  if (a.ndim > 1) shape.push(m);
  if (b.ndim > 1) shape.push(n);
  return { data: out, shape };
}

/** Checks against the reference with a tolerance of a few roundings per term of each dot product. */
function expectMatmul(y: Tensor, a: Tensor, b: Tensor): void {
  const ref = matmulRef(a.astype('float64'), b.astype('float64'));
  expect(y.shape).toEqual(ref.shape);
  expect(y.dtype).toBe(a.dtype);
  const k = a.shape[a.ndim - 1] ?? 1;
  const eps = y.dtype === 'float64' ? 2 ** -52 : 2 ** -23;
  // Entries are sums of k products of numbers in [-1, 1].
  expectClose(y.data(), ref.data, 0, 2 * (k + 2) * eps);
}

function expectFwdEqualsRev(f: (a: Tensor, b: Tensor) => Tensor, a: Tensor, b: Tensor): void {
  const rev = jacrev(f, { argnums: [0, 1] })(a, b) as Tensor[];
  const fwd = jacfwd(f, { argnums: [0, 1] })(a, b) as Tensor[];
  const fwd3 = jacfwd(f, { argnums: [0, 1], chunkSize: 3 })(a, b) as Tensor[];
  const out = f(a, b).shape;
  [a, b].forEach((x, i) => {
    expect(rev[i].shape).toEqual([...out, ...x.shape]);
    expectClose(fwd[i].data(), rev[i].data(), 1e-14, 1e-15);
    expectClose(fwd3[i].data(), rev[i].data(), 1e-14, 1e-15);
  });
}

const shapeCases: [string, number[], number[]][] = [
  ['1-D x 2-D', [3], [3, 4]],
  ['2-D x 1-D', [4, 3], [3]],
  ['1-D x 1-D', [5], [5]],
  ['2-D x 2-D', [2, 3], [3, 4]],
  ['3-D x 2-D (stacked rows)', [2, 3, 4], [4, 2]],
  ['2-D x 3-D', [3, 4], [2, 4, 2]],
  ['batched, equal batch axes', [2, 3, 4], [2, 4, 5]],
  ['batched, broadcast batch axes', [2, 1, 2, 3], [3, 3, 2]],
  ['1-D x 3-D', [3], [2, 3, 4]],
  ['3-D x 1-D', [2, 4, 3], [3]],
];

describe('matmul rules against finite differences', () => {
  for (const [label, sa, sb] of shapeCases) {
    tit(`${label}: ${JSON.stringify(sa)} @ ${JSON.stringify(sb)}`, () => {
      const a = uniform(sa, 1), b = uniform(sb, 2);
      expectMatmul(matmul(a, b), a, b);
      checkGrads(matmul, [a, b]);
      checkGrads((x: Tensor, y: Tensor) => tanh(matmul(x, y)), [a, b]);
      expectFwdEqualsRev(matmul, a, b);
    });
  }

  tit('matmul of a matrix with itself and with a transposed view of its input', () => {
    checkGrads((x: Tensor) => matmul(x, x), [uniform([3, 3], 3)]);
    checkGrads((x: Tensor) => matmul(transpose(x), x), [uniform([4, 3], 4)]);
    checkGrads((x: Tensor) => matmul(x, x.T), [uniform([2, 5], 5)]);
  });

  tit('dot: vectors (short and long), matrices and scalars', () => {
    checkGrads(dot, [uniform([7], 6), uniform([7], 7)]);
    checkGrads(dot, [uniform([100], 8), uniform([100], 9)]);
    checkGrads(dot, [uniform([3, 4], 10), uniform([4], 11)]);
    checkGrads(dot, [uniform([], 12), uniform([2, 3], 13)]);
    expectFwdEqualsRev(dot, uniform([6], 14), uniform([6], 15));
    expectFwdEqualsRev(dot, uniform([100], 16), uniform([100], 17));
  });

  tit('second order: grad of grad of sum(tanh(A x)^2) and of sum(exp(A B))', () => {
    const A = uniform([3, 4], 18);
    checkGrads((x: Tensor) => grad((u: Tensor) => sum(tanh(matmul(A, u)).square()))(x) as Tensor, [uniform([4], 19)]);
    const B = uniform([4, 2], 20);
    checkGrads((a: Tensor, b: Tensor) => grad((p: Tensor, q: Tensor) => sum(exp(matmul(p, q))), { argnums: 1 })(a, b) as Tensor, [A, B]);
    checkGrads((a: Tensor, b: Tensor) => grad((p: Tensor, q: Tensor) => sum(exp(matmul(p, q))), { argnums: 0 })(a, b) as Tensor, [A, B]);
  });

  tit('the gradient of sum(A B) is 1 B^T and A^T 1 (closed form)', () => {
    const a = array([[1, 2, 3], [4, 5, 6]]);
    const b = array([[1, -1], [2, 0], [0, 3]]);
    const [ga, gb] = grad((x: Tensor, y: Tensor) => sum(matmul(x, y)), { argnums: [0, 1] })(a, b) as Tensor[];
    expect(ga.toArray()).toEqual([[0, 2, 3], [0, 2, 3]]);
    expect(gb.toArray()).toEqual([[5, 5], [7, 7], [9, 9]]);
  });
});

describe('values', () => {
  tit('small products with exact results', () => {
    expect(matmul(array([[1, 2], [3, 4]]), array([[5, 6], [7, 8]])).toArray()).toEqual([[19, 22], [43, 50]]);
    expect(matmul(array([[1, 2], [3, 4]]), array([1, 1])).toArray()).toEqual([3, 7]);
    expect(matmul(array([1, 1]), array([[1, 2], [3, 4]])).toArray()).toEqual([4, 6]);
    expect(matmul(array([1, 2, 3]), array([4, 5, 6])).shape).toEqual([]);
    expect(matmul(array([1, 2, 3]), array([4, 5, 6])).item()).toBe(32);
    expect(dot(array([1, 2]), array([3, 4])).item()).toBe(11);
    expect(dot(2, array([3, 4])).toArray()).toEqual([6, 8]);
    expect(array([[1, 0], [0, 2]]).matmul(array([3, 4])).toArray()).toEqual([3, 8]);
    expect(array([1, 2]).dot(array([3, 4])).item()).toBe(11);
  });

  tit('zero-sized dimensions: k = 0 gives zeros even in recycled memory, m = 0 or n = 0 give empty results', () => {
    // Free some non-zero blocks first so the allocator hands out dirty memory.
    for (let i = 0; i < 4; i++) tidy(() => { ones([2, 3]).mul(7); ones([6]).mul(9); });
    expect(matmul(zeros([2, 0]), zeros([0, 3])).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(matmul(zeros([2, 0], { dtype: 'float32' }), zeros([0, 3], { dtype: 'float32' })).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(matmul(zeros([0, 3]), zeros([3, 2])).shape).toEqual([0, 2]);
    expect(matmul(zeros([2, 3]), zeros([3, 0])).shape).toEqual([2, 0]);
    expect(matmul(zeros([0, 2, 3]), zeros([3, 2])).shape).toEqual([0, 2, 2]);
    expect(dot(zeros([0]), zeros([0])).item()).toBe(0);
  });

  tit('mixed dtypes promote to float64', () => {
    const y = matmul(array([[1, 2]], { dtype: 'float32' }), array([[3], [4]]));
    expect(y.dtype).toBe('float64');
    expect(y.toArray()).toEqual([[11]]);
  });
});

describe('GEMM kernel against a plain-JS triple loop', () => {
  // f64 lanes 2, f32 lanes 4: 0, 1, lanes-1, lanes, k*lanes+1, plus sizes across register
  // and cache blocks.
  const small = [1, 2, 3, 4, 5, 9];
  for (const dtype of ['float64', 'float32'] as DType[]) {
    tit(`${dtype}: every m, k, n in ${small.join(', ')}`, () => {
      for (const m of small) for (const k of small) for (const n of small) {
        const a = uniform([m, k], m * 100 + k, dtype), b = uniform([k, n], k * 100 + n + 7, dtype);
        expectMatmul(matmul(a, b), a, b);
      }
    });

    tit(`${dtype}: sizes across blocking boundaries`, () => {
      for (const [m, k, n] of [[17, 33, 9], [64, 64, 64], [65, 67, 63], [130, 257, 31], [3, 300, 5], [1, 513, 1], [200, 2, 130]]) {
        const a = uniform([m, k], m + k, dtype), b = uniform([k, n], k + n, dtype);
        expectMatmul(matmul(a, b), a, b);
      }
    });

    tit(`${dtype}: transposed operands, materialised and through the kernel's transpose flags`, () => {
      for (const [m, k, n] of [[1, 1, 1], [3, 5, 2], [4, 4, 4], [9, 17, 5], [33, 65, 17]]) {
        const at = uniform([k, m], m * 7 + k, dtype), bt = uniform([n, k], n * 7 + k, dtype);
        const a = transpose(at), b = transpose(bt);
        const want = matmul(a, b);
        expectMatmul(want, a, b);
        expectMatmul(matmulT(at, b, true, false), a, b);
        expectMatmul(matmulT(a, bt, false, true), a, b);
        expectMatmul(matmulT(at, bt, true, true), a, b);
      }
    });

    tit(`${dtype}: batched with broadcast batch axes and transpose flags`, () => {
      const a = uniform([2, 1, 5, 3], 40, dtype), b = uniform([3, 3, 4], 41, dtype);
      expectMatmul(matmul(a, b), a, b);
      const at = transpose(a, [0, 1, 3, 2]), bt = transpose(b, [0, 2, 1]);
      expectMatmul(matmulT(at, bt, true, true), a, b);
      const c = uniform([4, 5, 3], 42, dtype), d = uniform([3, 6], 43, dtype);
      expectMatmul(matmul(c, d), c, d);
      expectMatmul(matmulT(transpose(c, [0, 2, 1]), d, true, false), c, d);
    });
  }
});
