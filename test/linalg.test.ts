// Linear algebra: values against known matrices and identities, every rule against finite
// differences and reverse against forward (checkGrads), second order through the rules
// (hvp and hessians through solve), batching, float32, and the errors.
import { describe, expect, it } from 'vitest';
import {
  DualtapeError, LinAlgError, ShapeError, add, array, cholesky, det, eye, grad, hessian, hvp, inv, jacfwd, jacrev, jvp, logdet, matmul,
  memory, mul, randn, reshape, sin, slice, solve, square, sum, tidy, transpose, triangularSolve, type Tensor,
} from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { expectMemoryRestored, spec } from './helpers/memory.js';

expectMemoryRestored();


/** A well-conditioned random matrix (or batch of them): randn + n I. */
function wellConditioned(shape: number[], seed: number, dtype: 'float64' | 'float32' = 'float64'): Tensor {
  const n = shape[shape.length - 1];
  return add(randn(shape, { seed, dtype }), mul(eye(n, { dtype }), n));
}

/** A random symmetric positive definite matrix: M M^T + n I. */
function spd(shape: number[], seed: number, dtype: 'float64' | 'float32' = 'float64'): Tensor {
  const m = randn(shape, { seed, dtype });
  const n = shape[shape.length - 1];
  const perm = shape.map((_, i) => i);
  [perm[shape.length - 2], perm[shape.length - 1]] = [shape.length - 1, shape.length - 2];
  return add(matmul(m, transpose(m, perm)), mul(eye(n, { dtype }), n));
}

function member(x: Tensor, i: number): Tensor {
  return reshape(slice(x, [i, ...x.shape.slice(1).map(() => 0)], [1, ...x.shape.slice(1)]), x.shape.slice(1));
}

const A3 = [[4, -2, 1], [-2, 4, -2], [1, -2, 4]];

describe('solve', () => {
  spec('solves A x = b for a vector b and A X = B for a matrix B', () => {
    // A [1, 2, 3] = [3, 0, 9]
    expectClose(solve(array(A3), array([3, 0, 9])).data(), [1, 2, 3], 1e-14);
    const X = array([[1, -1], [2, 0.5], [3, 4]]);
    const B = matmul(array(A3), X);
    const got = solve(array(A3), B);
    expect(got.shape).toEqual([3, 2]);
    expectClose(got.data(), X.data(), 1e-14, 1e-15);
  });

  spec('batches over leading axes and broadcasts A against B', () => {
    const A = wellConditioned([2, 3, 3], 1);
    const B = randn([3, 2], { seed: 2 });
    const X = solve(A, B);
    expect(X.shape).toEqual([2, 3, 2]);
    for (let i = 0; i < 2; i++) expectClose(member(X, i).data(), solve(member(A, i), B).data(), 1e-14, 1e-15);
    const Bs = randn([4, 3, 2], { seed: 3 });
    const Y = solve(member(A, 0), Bs);
    expect(Y.shape).toEqual([4, 3, 2]);
    expectClose(matmul(member(A, 0), Y).data(), Bs.data(), 1e-13, 1e-14);
  });

  spec('works in float32 and promotes mixed dtypes to float64', () => {
    const A = wellConditioned([4, 4], 4, 'float32');
    const b = randn([4], { seed: 5, dtype: 'float32' });
    const x = solve(A, b);
    expect(x.dtype).toBe('float32');
    expectClose(x.data(), solve(A.astype('float64'), b.astype('float64')).data(), 2e-6, 1e-6);
    expect(solve(A, b.astype('float64')).dtype).toBe('float64');
  });

  spec('has rules that agree with finite differences and with each other', () => {
    checkGrads((A, B) => solve(A, B), [wellConditioned([4, 4], 6), randn([4, 2], { seed: 7 })]);
    checkGrads((A, b) => solve(A, b), [wellConditioned([3, 3], 8), randn([3], { seed: 9 })]);
  });

  spec('has batched and broadcast rules', () => {
    checkGrads((A, B) => solve(A, B), [wellConditioned([2, 3, 3], 10), randn([3, 2], { seed: 11 })]);
    checkGrads((A, B) => solve(A, B), [wellConditioned([3, 3], 12), randn([2, 3, 1], { seed: 13 })]);
  });

  spec('rejects a singular matrix, naming the op, the shape and the pivot', () => {
    expect(() => solve(array([[1, 2], [2, 4]]), array([1, 1]))).toThrow(LinAlgError);
    expect(() => solve(array([[1, 2], [2, 4]]), array([1, 1]))).toThrow(DualtapeError);
    expect(() => solve(array([[1, 2], [2, 4]]), array([1, 1]))).toThrow(/^solve: the matrix of shape \[2, 2\] is singular: .*zero pivot in column 1/);
    const batch = array([[[1, 0], [0, 1]], [[0, 0], [0, 1]]]);
    expect(() => solve(batch, array([1, 1]))).toThrow(/solve: the matrix \(batch member 1\) of shape \[2, 2, 2\] is singular: .*column 0/);
  });

  spec('rejects shapes that do not fit', () => {
    expect(() => solve(array([[1, 2, 3], [4, 5, 6]]), array([1, 1]))).toThrow(ShapeError);
    expect(() => solve(array([[1, 2, 3], [4, 5, 6]]), array([1, 1]))).toThrow(/solve: expected a square matrix .* got shape \[2, 3\]/);
    expect(() => solve(eye(2), array([1, 2, 3]))).toThrow(/solve: the right-hand side must have shape \[2\] or \[\.\.\., 2, m\] .* got \[3\]/);
    expect(() => solve(randn([2, 2, 2]), randn([3, 2, 1]))).toThrow(ShapeError);
  });
});

describe('inv', () => {
  spec('inverts a known matrix', () => {
    expectClose(inv(array([[4, 7], [2, 6]])).data(), [0.6, -0.7, -0.2, 0.4], 1e-15, 1e-16);
  });

  spec('A inv(A) = I, batched, in float64 and float32', () => {
    const A = wellConditioned([3, 5, 5], 14);
    const I = matmul(A, inv(A));
    for (let i = 0; i < 3; i++) expectClose(member(I, i).data(), eye(5).data(), 0, 1e-14);
    const A32 = wellConditioned([5, 5], 15, 'float32');
    const I32 = matmul(A32, inv(A32));
    expect(I32.dtype).toBe('float32');
    expectClose(I32.data(), eye(5).data(), 0, 2e-6);
  });

  spec('has rules that agree with finite differences and with each other, batched too', () => {
    checkGrads((A) => inv(A), [wellConditioned([4, 4], 16)]);
    checkGrads((A) => inv(A), [wellConditioned([2, 3, 3], 17)]);
  });

  spec('rejects a singular matrix', () => {
    expect(() => inv(array([[1, 2, 3], [2, 4, 6], [0, 0, 1]]))).toThrow(/^inv: the matrix of shape \[3, 3\] is singular/);
    expect(() => inv(array([1, 2]))).toThrow(ShapeError);
  });
});

describe('det and logdet', () => {
  spec('det of known matrices', () => {
    expectClose(det(array([[1, 2], [3, 4]])).item(), -2, 1e-15);
    expectClose(det(array([[6, 1, 1], [4, -2, 5], [2, 8, 7]])).item(), -306, 1e-14);
    expect(det(array([[0, 1], [1, 0]])).item()).toBe(-1);
    expect(det(eye(4)).item()).toBe(1);
    expectClose(det(array([[2, 0, 0], [5, 3, 0], [1, 7, 0.5]])).item(), 3, 1e-15);
    expect(Math.abs(det(array([[1, 2], [2, 4]])).item())).toBe(0);
  });

  spec('det and logdet are batched: shape [...] for [..., n, n]', () => {
    const A = array([[[1, 2], [3, 4]], [[2, 0], [0, 3]], [[0, 1], [1, 0]]]);
    expect(det(A).toArray()).toEqual([-2, 6, -1]);
    expectClose(logdet(A).data(), [Math.log(2), Math.log(6), 0], 1e-15);
  });

  spec('logdet is log|det| whatever the sign, -Infinity when singular, and does not overflow', () => {
    expectClose(logdet(array([[2, 0], [0, -3]])).item(), Math.log(6), 1e-15);
    expect(logdet(array([[1, 2], [2, 4]])).item()).toBe(-Infinity);
    const big = mul(eye(310), 10);
    expect(det(big).item()).toBe(Infinity);
    expectClose(logdet(big).item(), 310 * Math.log(10), 1e-14);
  });

  spec('grad det = det A^{-T} (for 2 x 2: [[d, -c], [-b, a]])', () => {
    expectClose((grad(det)(array([[1, 2], [3, 4]])) as Tensor).data(), [4, -3, -2, 1], 1e-14);
    expectClose((grad(logdet)(array([[1, 2], [3, 4]])) as Tensor).data(), [-2, 1.5, 1, -0.5], 1e-14);
  });

  spec('have rules that agree with finite differences and with each other, batched too', () => {
    checkGrads((A) => det(A), [wellConditioned([4, 4], 18)]);
    checkGrads((A) => det(A), [wellConditioned([3, 3, 3], 19)]);
    checkGrads((A) => logdet(A), [wellConditioned([4, 4], 20)]);
    checkGrads((A) => logdet(A), [mul(wellConditioned([2, 3, 3], 21), array([[[1]], [[-1]]]))]);
  });

  spec('the derivative at a singular matrix is a clear error', () => {
    expect(() => grad(logdet)(array([[1, 2], [2, 4]]))).toThrow(/logdet \(derivative, which needs A invertible\): the matrix of shape \[2, 2\] is singular/);
  });
});

describe('cholesky', () => {
  spec('factors a known matrix exactly', () => {
    const L = cholesky(array([[4, 12, -16], [12, 37, -43], [-16, -43, 98]]));
    expect(L.toArray()).toEqual([[2, 0, 0], [6, 1, 0], [-8, 5, 3]]);
  });

  spec('L L^T = A, L lower triangular, batched and in float32', () => {
    const A = spd([2, 4, 4], 22);
    const L = cholesky(A);
    expectClose(matmul(L, transpose(L, [0, 2, 1])).data(), A.data(), 1e-14, 1e-14);
    const flat = L.toArray() as number[][][];
    for (const m of flat) for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) expect(m[i][j]).toBe(0);
    const A32 = spd([4, 4], 23, 'float32');
    const L32 = cholesky(A32);
    expect(L32.dtype).toBe('float32');
    expectClose(L32.data(), cholesky(A32.astype('float64')).data(), 1e-6, 1e-6);
  });

  spec('has rules that agree with finite differences and with each other, batched too', () => {
    // Random directions are not symmetric: cholesky uses (A + A^T)/2, and so do its rules.
    checkGrads((A) => cholesky(A), [spd([4, 4], 24)]);
    checkGrads((A) => cholesky(A), [spd([2, 3, 3], 25)]);
  });

  spec('its gradient is symmetric', () => {
    const W = randn([4, 4], { seed: 26 });
    const g = grad((A: Tensor) => sum(mul(cholesky(A), W)))(spd([4, 4], 27)) as Tensor;
    expectClose(g.data(), transpose(g).data(), 1e-14, 1e-15);
  });

  spec('rejects a matrix that is not positive definite, naming the minor', () => {
    expect(() => cholesky(array([[1, 2], [2, 1]]))).toThrow(LinAlgError);
    expect(() => cholesky(array([[1, 2], [2, 1]]))).toThrow(/^cholesky: the matrix of shape \[2, 2\] is not positive definite: its leading 2 x 2 minor/);
    expect(() => cholesky(array([[[1, 0], [0, 1]], [[-1, 0], [0, 1]]]))).toThrow(/batch member 1\) of shape \[2, 2, 2\] .* leading 1 x 1 minor/);
  });
});

describe('triangularSolve', () => {
  const T = [[2, 9, 9], [1, 3, 9], [-1, 2, 4]]; // 9s lie outside the lower triangle: never read
  const lowerPart = [[2, 0, 0], [1, 3, 0], [-1, 2, 4]];
  const upperPart = [[2, 9, 9], [0, 3, 9], [0, 0, 4]];

  spec('solves with the lower or upper triangle, transposed or not', () => {
    const b = array([1, 2, 3]);
    const cases: [boolean, boolean, number[][]][] = [[true, false, lowerPart], [true, true, lowerPart], [false, false, upperPart], [false, true, upperPart]];
    for (const [lower, trans, part] of cases) {
      const expected = solve(trans ? transpose(array(part)) : array(part), b);
      expectClose(triangularSolve(array(T), b, { lower, transpose: trans }).data(), expected.data(), 1e-15, 1e-15);
    }
  });

  spec('unitDiagonal takes the diagonal as ones', () => {
    const got = triangularSolve(array(T), array([1, 2, 3]), { unitDiagonal: true });
    expectClose(got.data(), solve(array([[1, 0, 0], [1, 1, 0], [-1, 2, 1]]), array([1, 2, 3])).data(), 1e-15, 1e-15);
  });

  spec('has rules that agree with finite differences and with each other', () => {
    const L = wellConditioned([2, 3, 3], 28);
    const B = randn([3, 2], { seed: 29 });
    for (const lower of [true, false]) {
      for (const trans of [false, true]) {
        for (const unitDiagonal of [false, true]) {
          checkGrads((t, b) => triangularSolve(t, b, { lower, transpose: trans, unitDiagonal }), [L, B]);
        }
      }
    }
  });

  spec('rejects a zero on the diagonal', () => {
    expect(() => triangularSolve(array([[1, 0], [1, 0]]), array([1, 1]))).toThrow(/triangularSolve: the triangular matrix of shape \[2, 2\] is singular: its diagonal entry 1 is zero/);
  });
});

describe('float32', () => {
  spec('every rule runs in float32 and agrees with float64 to float32 precision', () => {
    const W = randn([3, 3], { seed: 39 });
    const cases: [string, (a: Tensor) => Tensor, Tensor][] = [
      ['solve', (a) => solve(a, W), wellConditioned([3, 3], 40)],
      ['inv', (a) => inv(a), wellConditioned([3, 3], 41)],
      ['det', (a) => det(a), wellConditioned([3, 3], 42)],
      ['logdet', (a) => logdet(a), wellConditioned([3, 3], 43)],
      ['cholesky', (a) => cholesky(a), spd([3, 3], 44)],
      ['triangularSolve', (a) => triangularSolve(a, W), wellConditioned([3, 3], 45)],
    ];
    for (const [name, op, A] of cases) {
      const loss = (a: Tensor) => sum(mul(op(a), W.astype(a.dtype)));
      const g64 = grad(loss)(A) as Tensor;
      const g32 = grad(loss)(A.astype('float32')) as Tensor;
      expect(g32.dtype, name).toBe('float32');
      const scale = Math.max(...Array.from(g64.data(), Math.abs));
      expectClose(g32.data(), g64.data(), 0, 1e-5 * scale);
      const t64 = jvp(loss, [A], [W])[1] as Tensor;
      const t32 = jvp(loss, [A.astype('float32')], [W.astype('float32')])[1] as Tensor;
      expectClose(t32.item(), t64.item(), 0, 1e-5 * Math.max(1, Math.abs(t64.item())));
    }
  });
});

describe('second order through the rules', () => {
  // f(x) = |(A + diag(sin x))^{-1} x|^2: x enters both the matrix and the right-hand side.
  const f = (A: Tensor) => (x: Tensor) => sum(square(solve(add(A, mul(eye(x.shape[0]), reshape(sin(x), [1, -1]))), x)));

  spec('hvp through solve matches finite differences of the gradient', () => {
    const A = wellConditioned([4, 4], 30);
    const x = randn([4], { seed: 31 });
    const v = randn([4], { seed: 32 });
    const [h] = hvp(f(A), [x], [v]) as Tensor[];
    const g = (t: number) => (grad(f(A))(add(x, mul(v, t))) as Tensor).data();
    const central = (step: number) => Array.from(g(step), (p, i) => (p - g(-step)[i]) / (2 * step));
    const d1 = central(1e-3);
    const d2 = central(5e-4);
    const fd = d1.map((a, i) => (4 * d2[i] - a) / 3);
    expectClose(h.data(), fd, 1e-7, 1e-9);
  });

  spec('the hessian through solve is symmetric and fwd-over-rev equals rev-over-fwd', () => {
    const A = wellConditioned([3, 3], 33);
    const x = randn([3], { seed: 34 });
    const H = hessian(f(A))(x) as Tensor;
    expectClose(H.data(), transpose(H).data(), 1e-12, 1e-14);
    expectClose((jacrev(jacfwd(f(A)))(x) as Tensor).data(), H.data(), 1e-12, 1e-14);
    const v = array([1, -2, 0.5]);
    expectClose((hvp(f(A), [x], [v])[0] as Tensor).data(), matmul(H, v).data(), 1e-12, 1e-14);
  });

  spec('every rule is differentiable again: gradients checked as functions', () => {
    const W = randn([3, 3], { seed: 35 });
    const b = randn([3], { seed: 36 });
    const A = wellConditioned([3, 3], 37);
    checkGrads((M) => grad((a: Tensor) => sum(mul(inv(a), W)))(M) as Tensor, [A]);
    checkGrads((M) => grad((a: Tensor) => sum(mul(solve(a, b), b)))(M) as Tensor, [A]);
    checkGrads((M) => grad((a: Tensor) => det(a))(M) as Tensor, [A]);
    checkGrads((M) => grad((a: Tensor) => logdet(a))(M) as Tensor, [A]);
    checkGrads((M) => grad((a: Tensor) => sum(mul(cholesky(a), W)))(M) as Tensor, [spd([3, 3], 38)]);
    checkGrads((M) => grad((a: Tensor) => sum(mul(triangularSolve(a, W, { transpose: true }), W)))(M) as Tensor, [A]);
  });
});

describe('the kernels under the ops: sizes, batch members, pivots and scratch memory', () => {
  // 1, SIMD lanes - 1 and lanes of both dtypes, odd sizes with scalar tails, long SIMD rows.
  const SIZES = [1, 2, 3, 5, 17, 40];

  spec('solve and inv: every batch member and broadcast right-hand side, at SIMD sizes', () => {
    for (const n of SIZES) {
      for (const dtype of ['float64', 'float32'] as const) {
        const tol = dtype === 'float64' ? 1e-12 : 2e-5;
        const A = wellConditioned([2, n, n], n, dtype);
        const B = randn([n, 3], { seed: 100 + n, dtype });
        const X = solve(A, B);
        expect(X.shape).toEqual([2, n, 3]);
        for (let i = 0; i < 2; i++) expectClose(matmul(member(A, i), member(X, i)).data(), B.data(), 0, tol * n);
        const I = matmul(A, inv(A));
        for (let i = 0; i < 2; i++) expectClose(member(I, i).data(), eye(n).data(), 0, tol * n);
      }
    }
  });

  spec('det reads each member\'s own pivots: permutation matrices times 2 have det +-2^n', () => {
    const P = [
      [[1, 0, 0], [0, 1, 0], [0, 0, 1]], // identity: even
      [[0, 1, 0], [1, 0, 0], [0, 0, 1]], // one swap: odd
      [[0, 1, 0], [0, 0, 1], [1, 0, 0]], // a 3-cycle: even
      [[0, 0, 1], [0, 1, 0], [1, 0, 0]], // reversal: odd
    ];
    expect(det(mul(array(P), 2)).toArray()).toEqual([8, -8, 8, -8]);
    expectClose(logdet(mul(array(P), 2)).data(), [3, 3, 3, 3].map((k) => k * Math.log(2)), 1e-15);
  });

  spec('det of P L U at n = 40 is sign(P) prod diag(U)', () => {
    const n = 40;
    const r = randn([n, n], { seed: 101 }).toArray() as number[][];
    const L = r.map((row, i) => row.map((v, j) => (i === j ? 1 : j < i ? 0.1 * v : 0)));
    const U = r.map((row, i) => row.map((v, j) => (i === j ? [0.5, 2, 1][i % 3] : j > i ? 0.1 * v : 0)));
    const LU = matmul(array(L), array(U)).toArray() as number[][];
    // Rows rotated by one: an n-cycle, sign (-1)^(n-1) = -1 for n = 40.
    const A = array([...LU.slice(1), LU[0]]);
    const diag = Array.from({ length: n }, (_, i) => [0.5, 2, 1][i % 3]);
    const expected = -diag.reduce((p, d) => p * d, 1);
    expectClose(det(A).item(), expected, 1e-12);
    expectClose(logdet(A).item(), diag.reduce((s, d) => s + Math.log(d), 0), 0, 1e-12);
  });

  spec('cholesky and triangularSolve at SIMD sizes, batched, the solve broadcast', () => {
    for (const n of SIZES) {
      const A = spd([2, n, n], 200 + n);
      const L = cholesky(A);
      expectClose(matmul(L, transpose(L, [0, 2, 1])).data(), A.data(), 0, 1e-12 * n * n);
      const B = randn([n, 3], { seed: 300 + n });
      for (const trans of [false, true]) {
        const X = triangularSolve(L, B, { transpose: trans });
        expect(X.shape).toEqual([2, n, 3]);
        for (let i = 0; i < 2; i++) {
          const Li = member(L, i);
          expectClose(matmul(trans ? transpose(Li) : Li, member(X, i)).data(), B.data(), 0, 1e-12 * n);
        }
      }
    }
  });

  spec('empty matrices: det 1, logdet 0, and shapes with a zero axis', () => {
    const z = array([], { shape: [0, 0] });
    expect(det(z).item()).toBe(1);
    expect(logdet(z).item()).toBe(0);
    expect(inv(z).shape).toEqual([0, 0]);
    expect(cholesky(z).shape).toEqual([0, 0]);
    expect(solve(eye(2), array([], { shape: [2, 0] })).shape).toEqual([2, 0]);
    expect(det(array([], { shape: [0, 2, 2] })).shape).toEqual([0]);
  });

  it('frees the factors and pivots of an op that throws', () => {
    const singularA = array([[1, 2], [2, 4]]);
    const cases: [string, () => Tensor][] = [
      ['solve', () => solve(singularA, array([1, 1]))],
      ['inv', () => inv(singularA)],
      ['cholesky', () => cholesky(array([[1, 2], [2, 1]]))],
      ['triangularSolve', () => triangularSolve(array([[1, 0], [1, 0]]), array([1, 1]))],
    ];
    for (const [name, op] of cases) {
      const before = memory().bytesInUse;
      expect(() => tidy(op), name).toThrow(LinAlgError);
      expect(memory().bytesInUse, name).toBe(before);
    }
    singularA.dispose();
  });
});

describe('Tensor methods', () => {
  spec('A.inv(), A.det(), A.logdet() and A.cholesky() are the functions', () => {
    const A = array([[4, 2], [2, 2]]);
    expect(A.inv().toArray()).toEqual(inv(A).toArray());
    expect(A.det().item()).toBe(det(A).item());
    expect(A.logdet().item()).toBe(logdet(A).item());
    expect(A.cholesky().toArray()).toEqual([[2, 0], [1, 1]]);
  });

  spec('chain and differentiate: grad of A.det() is det A A^{-T}', () => {
    expectClose((grad((a: Tensor) => a.det())(array([[1, 2], [3, 4]])) as Tensor).data(), [4, -3, -2, 1], 1e-14);
    expectClose(array([[2, 0], [0, 4]]).inv().det().item(), 0.125, 1e-15);
  });
});
