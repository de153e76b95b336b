// The derivative of det at singular matrices (issue #18, item 12): d det A / dA is the
// cofactor matrix adj(A)^T, which exists everywhere (det is a polynomial). Checked against
// the closed form for 2 x 2 and 3 x 3, against finite differences at rank n-1 matrices (exactly
// singular, and singular only up to rounding), and through second derivatives.
import { describe, expect, it } from 'vitest';
import { array, det, grad, hessian, jvp, matmul, memory, randn, sum, tidy, type Tensor } from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';

/** adj(A)^T by cofactors, in plain JS: C_ij = (-1)^(i+j) det(A without row i and column j). */
function cofactors(a: number[][]): number[][] {
  const minorDet = (m: number[][]): number => {
    if (m.length === 0) return 1;
    return m[0].reduce((acc, v, j) => acc + (j % 2 === 0 ? 1 : -1) * v * minorDet(m.slice(1).map((row) => row.filter((_, c) => c !== j))), 0);
  };
  return a.map((_, i) => a.map((__, j) => ((i + j) % 2 === 0 ? 1 : -1) * minorDet(a.filter((___, r) => r !== i).map((row) => row.filter((____, c) => c !== j)))));
}

/** A rank n-1 matrix X Y (X n x (n-1), Y (n-1) x n), singular only up to rounding. */
function rankDeficient(n: number, seed: number): Tensor {
  return tidy(() => matmul(randn([n, n - 1], { seed }), randn([n - 1, n], { seed: seed + 1 })));
}

let atStart = 0;
const spec = (name: string, body: () => void) => it(name, () => {
  atStart = memory().bytesInUse;
  tidy(body);
  expect(memory().bytesInUse, 'bytes in use after the test').toBe(atStart);
});

describe('grad of det at singular matrices', () => {
  spec('2 x 2 closed form [[d, -c], [-b, a]] at singular matrices, with one or two zero pivots', () => {
    for (const a of [[[1, 2], [2, 4]], [[0, 1], [0, 0]], [[0, 0], [1, 0]], [[3, -6], [-1, 2]]]) {
      const g = grad(det)(array(a)) as Tensor;
      expectClose(g.data(), [a[1][1], -a[1][0], -a[0][1], a[0][0]], 1e-15, 1e-15);
    }
  });

  spec('3 x 3 closed form (cofactors) at rank-2 matrices', () => {
    for (const a of [[[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[1, 2, 3], [1, 2, 3], [0, 1, 5]], [[2, 0, 1], [0, 0, 0], [1, 3, 4]]]) {
      const g = grad(det)(array(a)) as Tensor;
      expectClose(g.data(), cofactors(a).flat(), 1e-13, 1e-13);
    }
  });

  spec('matches the cofactors of a random rank n-1 matrix (singular only up to rounding)', () => {
    for (const n of [2, 3, 5, 8]) {
      const A = rankDeficient(n, 10 * n);
      const g = grad(det)(A) as Tensor;
      const rows = A.toArray() as number[][];
      const scale = Math.max(...cofactors(rows).flat().map(Math.abs));
      expectClose(g.data(), cofactors(rows).flat(), 0, 1e-11 * scale);
    }
  });

  spec('matches the cofactors of nearly singular matrices (condition 1e9 to 1e12)', () => {
    for (const [n, delta] of [[3, 1e-9], [4, 1e-12], [6, 1e-10]] as const) {
      const A = tidy(() => rankDeficient(n, 3 * n).add(randn([n, n], { seed: n }).mul(delta)));
      const rows = A.toArray() as number[][];
      const c = cofactors(rows).flat();
      const scale = Math.max(...c.map(Math.abs));
      expectClose((grad(det)(A) as Tensor).data(), c, 0, 1e-10 * scale);
    }
  });

  spec('agrees with finite differences and reverse with forward at rank n-1 matrices', () => {
    checkGrads((A) => det(A), [array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])]);
    checkGrads((A) => det(A), [array([[0, 1], [0, 0]])]);
    for (const n of [3, 4, 6]) checkGrads((A) => det(A), [rankDeficient(n, n)]);
  });

  spec('batched: singular and regular members side by side', () => {
    const a = [[[1, 2], [2, 4]], [[1, 2], [3, 4]], [[0, 0], [0, 0]]];
    const g = grad((A: Tensor) => sum(det(A)))(array(a)) as Tensor;
    expectClose(g.data(), a.flatMap((m) => [m[1][1], -m[1][0], -m[0][1], m[0][0]]), 1e-15, 1e-15);
    checkGrads((A) => det(A), [array([[[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[2, 1, 0], [1, 3, 1], [0, 1, 4]]])]);
  });

  spec('is 0 at a matrix of rank n-2 (every cofactor vanishes)', () => {
    const a = [[1, 2, 3], [2, 4, 6], [3, 6, 9]];
    expectClose((grad(det)(array(a)) as Tensor).data(), new Array(9).fill(0), 0, 1e-12);
  });

  spec('jvp is sum(adj(A)^T * dA) at a singular matrix', () => {
    const a = [[1, 2, 3], [4, 5, 6], [7, 8, 9]];
    const t = [[0.5, -1, 2], [1, 0, -0.25], [3, 1, 1]];
    const [, dy] = jvp(det, [array(a)], [array(t)]) as [Tensor, Tensor];
    const c = cofactors(a).flat();
    expectClose(dy.item(), t.flat().reduce((acc, v, i) => acc + v * c[i], 0), 1e-12, 1e-12);
  });

  spec('float32 at a singular matrix', () => {
    const g = grad(det)(array([[1, 2], [2, 4]], { dtype: 'float32' })) as Tensor;
    expect(g.dtype).toBe('float32');
    expectClose(g.data(), [4, -2, -2, 1], 1e-6);
  });
});

describe('second derivatives of det at singular matrices', () => {
  spec('the Hessian of the 2 x 2 det is constant: d2/da dd = 1, d2/db dc = -1', () => {
    const H = hessian(det)(array([[1, 2], [2, 4]])) as Tensor;
    const expected = new Array(16).fill(0);
    expected[0 * 4 + 3] = expected[3 * 4 + 0] = 1;
    expected[1 * 4 + 2] = expected[2 * 4 + 1] = -1;
    expectClose(H.data(), expected, 0, 1e-12);
  });

  spec('the gradient of det agrees with finite differences at rank n-1 matrices (the Hessian check)', () => {
    checkGrads((A) => grad(det)(A) as Tensor, [array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])]);
    checkGrads((A) => grad(det)(A) as Tensor, [rankDeficient(4, 7)]);
  });
});
