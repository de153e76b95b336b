// Decompositions under jit and sparsityPattern. A separate file from decomp.test.ts, whose
// memory check would count the constants a kept jit program holds (the masks and identities its
// rules created while tracing) for as long as the jitted function lives.
import { describe, expect } from 'vitest';
import { add, eigh, grad, jit, lstsq, matmul, mul, qr, randn, sparsityPattern, sum, svd, transpose, type Tensor } from './helpers/api.js';
import { expectClose } from './helpers/check.js';
import { spec } from './helpers/memory.js';


function mT(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[x.ndim - 2], perm[x.ndim - 1]] = [x.ndim - 1, x.ndim - 2];
  return transpose(x, perm);
}

// ---- staging and structure ------------------------------------------------------------------

describe('under jit and sparsityPattern', () => {
  // Reads every factor, through products with fixed, unsymmetric weights.
  const weigh = (x: Tensor, seed: number) => sum(mul(x, randn(x.shape as number[], { seed })));
  const f = (a: Tensor, b: Tensor) => {
    const [q, r] = qr(a);
    const [w, v] = eigh(matmul(mT(a), a));
    const [u, s, vt] = svd(a);
    return [q, r, w, v, u, s, vt].reduce((acc: Tensor, x, i) => add(acc, weigh(x, 60 + i)), sum(lstsq(a, b)));
  };

  spec('one program per signature gives the eager values and gradients', () => {
    const a = randn([2, 5, 3], { seed: 70 });
    const b = randn([5], { seed: 71 });
    expectClose(jit(f)(a, b).data(), f(a, b).data(), 1e-14);
    const eager = grad(f, { argnums: [0, 1] })(a, b) as Tensor[];
    const staged = jit(grad(f, { argnums: [0, 1] }))(a, b) as Tensor[];
    eager.forEach((g, i) => expectClose(staged[i].data(), g.data(), 1e-13, 1e-14));
  });

  spec('batch members stay apart, and QR keeps its triangular structure', () => {
    // R[0][1] of each member depends on that member's column 0 and column 1; R[1][0] on nothing.
    const pattern = sparsityPattern((x: Tensor) => qr(x)[1], randn([2, 3, 2], { seed: 72 }));
    const rows = (r: number) => Array.from(pattern.indices.subarray(pattern.indptr[r], pattern.indptr[r + 1]));
    expect(rows(1)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(rows(2)).toEqual([]);
    expect(rows(4)).toEqual([6, 8, 10]);
  });
});
