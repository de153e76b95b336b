// Decompositions: values against closed forms (2 x 2 eigenproblems, diagonal and rotation
// matrices, known least-squares solutions) and identities (reconstruction, orthogonality),
// every rule against finite differences and reverse against forward (checkGrads), second order
// through the rules, batching, float32, JAX's convention at degenerate points, and the errors.
import { describe, expect } from 'vitest';
import {
  LinAlgError, ShapeError, ArgumentError, add, array, eigh, eye, grad, jvp, lstsq, matmul, mul, qr, randn, reshape, slice,
  solve, sum, svd, transpose, type Tensor,
} from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { expectMemoryRestored, spec } from './helpers/memory.js';

expectMemoryRestored();


/** Swaps the last two axes. */
function mT(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[x.ndim - 2], perm[x.ndim - 1]] = [x.ndim - 1, x.ndim - 2];
  return transpose(x, perm);
}

function member(x: Tensor, i: number): Tensor {
  return reshape(slice(x, [i, ...x.shape.slice(1).map(() => 0)], [1, ...x.shape.slice(1)]), x.shape.slice(1));
}

/** Diagonal matrices [..., n, n] from [..., n]. */
const diagOf = (d: Tensor): Tensor => mul(reshape(d, [...d.shape.slice(0, -1), 1, d.shape[d.ndim - 1]]), eye(d.shape[d.ndim - 1], { dtype: d.dtype }));
const rotation = (t: number) => [[Math.cos(t), -Math.sin(t)], [Math.sin(t), Math.cos(t)]];
const symmetric = (shape: number[], seed: number, dtype: 'float64' | 'float32' = 'float64') => {
  const m = randn(shape, { seed, dtype });
  return mul(add(m, mT(m)), 0.5);
};
const allFinite = (x: Tensor) => Array.from(x.data()).every(Number.isFinite);
/** A scalar that reads every factor, so one gradient exercises every part of a rule. */
const weigh = (xs: Tensor[], seed: number) => xs.reduce((acc: Tensor, x, i) => add(acc, sum(mul(x, randn(x.shape as number[], { seed: seed + i, dtype: x.dtype })))), array(0, { dtype: xs[0].dtype }));

// ---- qr -------------------------------------------------------------------------------------

describe('qr', () => {
  spec('gives the closed form of [[3, 1], [4, 2]]: Q = [[3, -4], [4, 3]] / 5, R = [[5, 11/5], [0, 2/5]]', () => {
    const [q, r] = qr(array([[3, 1], [4, 2]]));
    expectClose(q.data(), [0.6, -0.8, 0.8, 0.6], 1e-15, 1e-16);
    expectClose(r.data(), [5, 2.2, 0, 0.4], 1e-15, 1e-15);
  });

  spec('factors a rotation R(t) diag(2, 3) as Q = R(t), R = diag(2, 3)', () => {
    const [q, r] = qr(matmul(array(rotation(0.7)), array([[2, 0], [0, 3]])));
    expectClose(q.data(), rotation(0.7).flat(), 1e-15, 1e-15);
    expectClose(r.data(), [2, 0, 0, 3], 1e-15, 1e-15);
  });

  spec('reconstructs tall, square and wide batches with orthonormal Q and upper triangular R, diagonal >= 0', () => {
    for (const shape of [[2, 5, 3], [3, 4, 4], [2, 3, 5]]) {
      const a = randn(shape, { seed: shape[1] * 10 + shape[2] });
      const [q, r] = qr(a);
      const k = Math.min(shape[1], shape[2]);
      expect(q.shape).toEqual([shape[0], shape[1], k]);
      expect(r.shape).toEqual([shape[0], k, shape[2]]);
      expectClose(matmul(q, r).data(), a.data(), 0, 1e-14);
      expectClose(matmul(mT(q), q).data(), Array.from({ length: shape[0] }, () => Array.from(eye(k).data())).flat(), 0, 1e-14);
      const rs = r.toArray() as number[][][];
      for (const m of rs) m.forEach((row, i) => row.forEach((v, j) => expect(j < i ? v === 0 : j > i || v >= 0).toBe(true)));
      for (let i = 0; i < shape[0]; i++) expectClose(member(r, i).data(), qr(member(a, i))[1].data(), 1e-15, 1e-15);
    }
  });

  spec('works in float32', () => {
    const a = randn([5, 3], { seed: 1, dtype: 'float32' });
    const [q, r] = qr(a);
    expect([q.dtype, r.dtype]).toEqual(['float32', 'float32']);
    expectClose(r.data(), qr(a.astype('float64'))[1].data(), 0, 1e-5);
  });

  spec('has rules that agree with finite differences and with each other: tall, square, wide and batched', () => {
    checkGrads((a) => qr(a)[0], [randn([5, 3], { seed: 2 })]);
    checkGrads((a) => qr(a)[1], [randn([5, 3], { seed: 2 })]);
    checkGrads((a) => qr(a)[0], [randn([4, 4], { seed: 3 })]);
    checkGrads((a) => qr(a)[1], [randn([2, 3, 3], { seed: 4 })]);
    checkGrads((a) => qr(a)[0], [randn([3, 5], { seed: 5 })]);
    checkGrads((a) => qr(a)[1], [randn([3, 5], { seed: 5 })]);
  });

  spec('its rules are differentiable again', () => {
    checkGrads((m) => grad((a: Tensor) => weigh(qr(a), 6))(m) as Tensor, [randn([4, 3], { seed: 7 })]);
  });

  spec('the derivative at a rank-deficient matrix is a clear error', () => {
    // A zero column makes R's diagonal entry exactly 0.
    const deficient = array([[1, 0], [2, 0], [3, 0]]);
    expect(() => grad((x: Tensor) => sum(qr(x)[0]))(deficient)).toThrow(LinAlgError);
    expect(() => grad((x: Tensor) => sum(qr(x)[0]))(deficient)).toThrow(/^qr \(derivative, which needs R invertible: A of full column rank\): the triangular matrix of shape \[2, 2\] is singular/);
  });

  spec('rejects a vector', () => {
    expect(() => qr(array([1, 2, 3]))).toThrow(ShapeError);
    expect(() => qr(array([1, 2, 3]))).toThrow(/^qr: expected a matrix or a batch of them \(shape \[\.\.\., m, n\]\), got shape \[3\]/);
  });
});

// ---- eigh -----------------------------------------------------------------------------------

describe('eigh', () => {
  spec('gives the closed form of a 2 x 2 symmetric matrix [[a, b], [b, c]]', () => {
    const [a, b, c] = [1.5, -2, 0.25];
    const [w, v] = eigh(array([[a, b], [b, c]]));
    const mid = (a + c) / 2, rad = Math.hypot((a - c) / 2, b);
    expectClose(w.data(), [mid - rad, mid + rad], 1e-15);
    // (b, w - a) is an eigenvector for w; each column has its largest component positive.
    const unit = (x: number[]) => x.map((t) => t / Math.hypot(...x));
    const positive = (x: number[]) => (Math.abs(x[0]) >= Math.abs(x[1]) ? x[0] : x[1]) < 0 ? x.map((t) => -t) : x;
    const v0 = positive(unit([b, mid - rad - a])), v1 = positive(unit([b, mid + rad - a]));
    expectClose(v.data(), [v0[0], v1[0], v0[1], v1[1]], 1e-15, 1e-15);
  });

  spec('sorts a diagonal matrix and returns coordinate vectors', () => {
    const [w, v] = eigh(array([[3, 0, 0], [0, -1, 0], [0, 0, 2]]));
    expect(w.toArray()).toEqual([-1, 2, 3]);
    expect(v.toArray()).toEqual([[0, 0, 1], [1, 0, 0], [0, 1, 0]]);
  });

  spec('recovers a rotation: R(t) diag(1, 3) R(t)^T gives w = [1, 3] and V = R(t)', () => {
    const r = array(rotation(0.4));
    const [w, v] = eigh(matmul(matmul(r, array([[1, 0], [0, 3]])), mT(r)));
    expectClose(w.data(), [1, 3], 1e-15);
    expectClose(v.data(), rotation(0.4).flat(), 1e-15, 1e-15);
  });

  spec('reconstructs a batch, A V = V diag(w), with orthonormal V', () => {
    const a = symmetric([3, 5, 5], 10);
    const [w, v] = eigh(a);
    expect(w.shape).toEqual([3, 5]);
    expectClose(matmul(a, v).data(), matmul(v, diagOf(w)).data(), 0, 1e-14);
    expectClose(matmul(mT(v), v).data(), [0, 1, 2].flatMap(() => Array.from(eye(5).data())), 0, 1e-14);
    for (let i = 0; i < 3; i++) expectClose(member(w, i).data(), eigh(member(a, i))[0].data(), 1e-15);
  });

  spec('uses only the symmetric part (A + A^T) / 2', () => {
    const m = randn([4, 4], { seed: 11 });
    expectClose(eigh(m)[0].data(), eigh(mul(add(m, mT(m)), 0.5))[0].data(), 1e-15);
  });

  spec('works in float32', () => {
    const a = symmetric([6, 6], 12, 'float32');
    const [w, v] = eigh(a);
    expect([w.dtype, v.dtype]).toEqual(['float32', 'float32']);
    expectClose(w.data(), eigh(a.astype('float64'))[0].data(), 0, 1e-5);
  });

  spec('has rules that agree with finite differences and with each other, batched too', () => {
    checkGrads((a) => eigh(a)[0], [symmetric([4, 4], 13)]);
    checkGrads((a) => eigh(a)[1], [symmetric([4, 4], 13)]);
    checkGrads((a) => eigh(a)[1], [symmetric([2, 3, 3], 14)]);
  });

  spec('grad of an eigenvalue is v v^T (Hellmann-Feynman), and the gradient is symmetric', () => {
    const a = randn([4, 4], { seed: 15 });
    const [, v] = eigh(a);
    const top = slice(v, [0, 3], [4, 1]);
    const g = grad((x: Tensor) => sum(slice(eigh(x)[0], [3], [1])))(a) as Tensor;
    expectClose(g.data(), matmul(top, mT(top)).data(), 1e-14, 1e-15);
    expectClose(g.data(), mT(g).data(), 0, 0);
  });

  spec('its rules are differentiable again', () => {
    checkGrads((m) => grad((a: Tensor) => weigh(eigh(a), 16))(m) as Tensor, [symmetric([3, 3], 17)]);
  });

  spec("JAX's convention at a repeated eigenvalue: eigenvalue derivatives finite, eigenvector derivatives not", () => {
    const c = array([1, 2, 3]);
    const g = grad((a: Tensor) => sum(mul(eigh(a)[0], c)))(eye(3)) as Tensor;
    expectClose(g.data(), diagOf(c).data(), 0, 0);
    const direction = symmetric([3, 3], 18);
    const [, dw] = jvp((a: Tensor) => eigh(a)[0], [eye(3)], [direction]) as Tensor[];
    expect(allFinite(dw)).toBe(true);
    const [, dv] = jvp((a: Tensor) => eigh(a)[1], [eye(3)], [direction]) as Tensor[];
    expect(allFinite(dv)).toBe(false);
    expect(allFinite(grad((a: Tensor) => sum(mul(eigh(a)[1], c)))(eye(3)) as Tensor)).toBe(false);
  });

  spec('rejects a non-square matrix', () => {
    expect(() => eigh(randn([2, 3]))).toThrow(/^eigh: expected a square symmetric matrix or a batch of them \(shape \[\.\.\., n, n\]\), got shape \[2, 3\]/);
  });
});

// ---- svd ------------------------------------------------------------------------------------

describe('svd', () => {
  spec('gives the closed form of a diagonal matrix: signs go to U', () => {
    const [u, s, vt] = svd(array([[3, 0], [0, -2]]));
    expect(s.toArray()).toEqual([3, 2]);
    expect(u.toArray()).toEqual([[1, 0], [0, -1]]);
    expect(vt.toArray()).toEqual([[1, 0], [0, 1]]);
  });

  spec('factors a rotation times a diagonal, R(t) diag(3, 2), as U = R(t), S = [3, 2], Vt = I', () => {
    const [u, s, vt] = svd(matmul(array(rotation(1.1)), array([[3, 0], [0, 2]])));
    expectClose(s.data(), [3, 2], 1e-15);
    expectClose(u.data(), rotation(1.1).flat(), 1e-15, 1e-15);
    expectClose(vt.data(), [1, 0, 0, 1], 0, 1e-15);
  });

  spec('reconstructs tall, square and wide batches with orthonormal U and V', () => {
    for (const shape of [[2, 6, 3], [2, 4, 4], [2, 3, 6]]) {
      const a = randn(shape, { seed: 20 + shape[1] });
      const [u, s, vt] = svd(a);
      const k = Math.min(shape[1], shape[2]);
      expect([u.shape, s.shape, vt.shape]).toEqual([[2, shape[1], k], [2, k], [2, k, shape[2]]]);
      expectClose(matmul(mul(u, reshape(s, [2, 1, k])), vt).data(), a.data(), 0, 1e-14);
      const identity = [0, 1].flatMap(() => Array.from(eye(k).data()));
      expectClose(matmul(mT(u), u).data(), identity, 0, 1e-14);
      expectClose(matmul(vt, mT(vt)).data(), identity, 0, 1e-14);
      for (let i = 0; i < 2; i++) expectClose(member(s, i).data(), svd(member(a, i))[1].data(), 1e-15);
    }
  });

  spec('works in float32', () => {
    const a = randn([5, 4], { seed: 21, dtype: 'float32' });
    const [u, s, vt] = svd(a);
    expect([u.dtype, s.dtype, vt.dtype]).toEqual(['float32', 'float32', 'float32']);
    expectClose(s.data(), svd(a.astype('float64'))[1].data(), 0, 1e-5);
  });

  spec('has rules that agree with finite differences and with each other: tall, square, wide and batched', () => {
    for (const [shape, seed] of [[[5, 3], 22], [[3, 3], 23], [[3, 5], 24], [[2, 4, 3], 25]] as [number[], number][]) {
      checkGrads((a) => svd(a)[0], [randn(shape, { seed })]);
      checkGrads((a) => svd(a)[1], [randn(shape, { seed })]);
      checkGrads((a) => svd(a)[2], [randn(shape, { seed })]);
    }
  });

  spec('the gradient of the nuclear norm sum(S) is U Vt, and of the largest singular value u1 v1^T', () => {
    const a = randn([5, 3], { seed: 26 });
    const [u, , vt] = svd(a);
    expectClose((grad((x: Tensor) => sum(svd(x)[1]))(a) as Tensor).data(), matmul(u, vt).data(), 1e-14, 1e-15);
    const top = grad((x: Tensor) => sum(slice(svd(x)[1], [0], [1])))(a) as Tensor;
    expectClose(top.data(), matmul(slice(u, [0, 0], [5, 1]), slice(vt, [0, 0], [1, 3])).data(), 1e-14, 1e-15);
  });

  spec('its rules are differentiable again', () => {
    checkGrads((m) => grad((a: Tensor) => weigh(svd(a), 27))(m) as Tensor, [randn([4, 3], { seed: 28 })]);
    checkGrads((m) => grad((a: Tensor) => weigh(svd(a), 29))(m) as Tensor, [randn([2, 3], { seed: 30 })]);
  });

  spec("JAX's convention at repeated and zero singular values: S derivatives finite, U and Vt derivatives not", () => {
    // The identity repeats its singular value 1; the nuclear norm's gradient is still U Vt = I.
    expectClose((grad((x: Tensor) => sum(svd(x)[1]))(eye(3)) as Tensor).data(), eye(3).data(), 0, 0);
    const direction = randn([3, 3], { seed: 31 });
    expect(allFinite(jvp((x: Tensor) => svd(x)[1], [eye(3)], [direction])[1] as Tensor)).toBe(true);
    expect(allFinite(jvp((x: Tensor) => svd(x)[0], [eye(3)], [direction])[1] as Tensor)).toBe(false);
    // A tall rank-1 matrix: a zero singular value divides the (I - U U^T) term.
    const rank1 = array([[1, 2], [2, 4], [3, 6]]);
    expect(allFinite(grad((x: Tensor) => sum(svd(x)[1]))(rank1) as Tensor)).toBe(true);
    expect(allFinite(grad((x: Tensor) => sum(svd(x)[0]))(rank1) as Tensor)).toBe(false);
  });

  spec('rejects a vector', () => {
    expect(() => svd(array([1, 2]))).toThrow(/^svd: expected a matrix or a batch of them/);
  });
});

// ---- lstsq ----------------------------------------------------------------------------------

describe('lstsq', () => {
  spec('solves a known overdetermined system exactly', () => {
    // [[1, 0], [0, 1], [1, 1]] x = [1, 2, 3] has the exact solution [1, 2].
    expectClose(lstsq(array([[1, 0], [0, 1], [1, 1]]), array([1, 2, 3])).data(), [1, 2], 1e-15);
  });

  spec('equals the normal-equations solution for full column rank, with vector and matrix right-hand sides', () => {
    const a = randn([6, 3], { seed: 40 });
    const b = randn([6, 2], { seed: 41 });
    const normal = solve(matmul(mT(a), a), matmul(mT(a), b));
    const x = lstsq(a, b);
    expect(x.shape).toEqual([3, 2]);
    expectClose(x.data(), normal.data(), 1e-12, 1e-13);
    expectClose(lstsq(a, slice(b, [0, 0], [6, 1]).reshape([6])).data(), slice(normal, [0, 0], [3, 1]).data(), 1e-12, 1e-13);
  });

  spec('gives the minimum-norm solution of a wide or rank-deficient system', () => {
    const a = randn([2, 4], { seed: 42 });
    const b = randn([2], { seed: 43 });
    expectClose(lstsq(a, b).data(), matmul(mT(a), solve(matmul(a, mT(a)), b)).data(), 1e-12, 1e-13);
    // [[1, 1], [1, 1]] x = [2, 2]: every x with x0 + x1 = 2 solves it; the shortest is [1, 1].
    expectClose(lstsq(array([[1, 1], [1, 1]]), array([2, 2])).data(), [1, 1], 1e-15);
    expect(lstsq(array([[0, 0], [0, 0]]), array([1, 1])).toArray()).toEqual([0, 0]);
  });

  spec('batches over leading axes and works in float32', () => {
    const a = randn([3, 5, 2], { seed: 44 });
    const b = randn([5, 1], { seed: 45 });
    const x = lstsq(a, b);
    expect(x.shape).toEqual([3, 2, 1]);
    for (let i = 0; i < 3; i++) expectClose(member(x, i).data(), lstsq(member(a, i), b).data(), 1e-14, 1e-15);
    const x32 = lstsq(a.astype('float32'), b.astype('float32'));
    expect(x32.dtype).toBe('float32');
    expectClose(x32.data(), x.data(), 0, 1e-5);
  });

  spec('has rules that agree with finite differences and with each other, in A and b', () => {
    checkGrads((a, b) => lstsq(a, b), [randn([5, 3], { seed: 46 }), randn([5], { seed: 47 })]);
    checkGrads((a, b) => lstsq(a, b), [randn([3, 5], { seed: 48 }), randn([3, 2], { seed: 49 })]);
    checkGrads((a, b) => lstsq(a, b), [randn([2, 4, 3], { seed: 50 }), randn([4, 1], { seed: 51 })]);
  });

  spec('is differentiable at repeated singular values (unlike differentiating through svd) and at fixed rank', () => {
    // Orthonormal columns times 2: every singular value is 2.
    const q = qr(randn([5, 3], { seed: 52 }))[0];
    checkGrads((a, b) => lstsq(a, b), [mul(q, 2), randn([5], { seed: 53 })]);
    // Rank 2 of 3, with rcond above the perturbations' singular values: the rank stays 2.
    const low = matmul(randn([5, 2], { seed: 54 }), randn([2, 3], { seed: 55 }));
    checkGrads((a, b) => lstsq(a, b, { rcond: 1e-2 }), [low, randn([5], { seed: 56 })], { rtol: 1e-5 });
  });

  spec('its rules are differentiable again', () => {
    const b = randn([4], { seed: 57 });
    checkGrads((m) => grad((a: Tensor) => sum(mul(lstsq(a, b), array([1, -2, 0.5]))))(m) as Tensor, [randn([4, 3], { seed: 58 })]);
  });

  spec('rejects a right-hand side that does not fit and a bad rcond', () => {
    expect(() => lstsq(randn([4, 3]), randn([3]))).toThrow(/^lstsq: the right-hand side must have shape \[4\] or \[\.\.\., 4, p\] to match the matrix of shape \[4, 3\], got \[3\]/);
    expect(() => lstsq(randn([4, 3]), randn([4]), { rcond: -1 })).toThrow(ArgumentError);
  });
});
