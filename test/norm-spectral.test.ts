// Matrix norms from singular values: ord 2 (largest), -2 (smallest) and 'nuc' (their sum),
// against closed forms, both derivative rules against finite differences, and JAX's
// convention where the largest singular value repeats (tied values share the derivative).
import { describe, expect } from 'vitest';
import { array, grad, norm, seededUniformForTests, ArgumentError, type Tensor } from './helpers/api.js';
import * as dt from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { expectMemoryRestored, spec as tit } from './helpers/memory.js';

expectMemoryRestored();

function uniform(shape: number[], seed: number): Tensor {
  const rand = seededUniformForTests(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return array(Float64Array.from({ length: n }, () => 2 * rand() - 1), { shape });
}

/** The singular values of a 2 x 2 matrix [[a, b], [c, d]], from the eigenvalues of A^T A. */
function singular2(a: number, b: number, c: number, d: number): [number, number] {
  const p = a * a + b * b + c * c + d * d, q = Math.abs(a * d - b * c);
  const big = Math.sqrt((p + Math.sqrt(p * p - 4 * q * q)) / 2);
  return [big, q / big];
}

describe('matrix norms ord 2, -2 and nuc', () => {
  tit('equal |diagonal| extremes and sum for a diagonal matrix', () => {
    const m = array([[2, 0, 0], [0, -3, 0], [0, 0, 0.5]]);
    expectClose(norm(m, { ord: 2 }).data(), [3], 1e-14);
    expectClose(norm(m, { ord: -2 }).data(), [0.5], 1e-14);
    expectClose(norm(m, { ord: 'nuc' }).data(), [5.5], 1e-14);
  });
  tit('match the closed-form singular values of a 2 x 2 matrix', () => {
    const [a, b, c, d] = [1, -2, 3, 4];
    const [s1, s2] = singular2(a, b, c, d);
    const m = array([[a, b], [c, d]]);
    expectClose(norm(m, { ord: 2 }).data(), [s1], 1e-14);
    expectClose(norm(m, { ord: -2 }).data(), [s2], 1e-14);
    expectClose(norm(m, { ord: 'nuc' }).data(), [s1 + s2], 1e-14);
  });
  tit('the 2-norm of a rank-one matrix u v^T is |u| |v|', () => {
    const u = [1, 2, 2], v = [3, 4];
    const m = array(u.map((ui) => v.map((vj) => ui * vj)));
    expectClose(norm(m, { ord: 2 }).data(), [15], 1e-14);
    expectClose(norm(m, { ord: 'nuc' }).data(), [15], 1e-14);
  });
  tit('reduce any two axes, in either order, with keepdims', () => {
    const x = uniform([2, 3, 4], 1);
    const got = norm(x, { ord: 2, axis: [0, 2], keepdims: true });
    expect(got.shape).toEqual([1, 3, 1]);
    for (let j = 0; j < 3; j++) {
      const member = dt.reshape(dt.slice(x, [0, j, 0], [2, 1, 4]), [2, 4]);
      expectClose(got.data()[j], norm(member, { ord: 2 }).data(), 1e-14);
    }
    expectClose(norm(x, { ord: 'nuc', axis: [2, 0] }).data(), norm(x, { ord: 'nuc', axis: [0, 2] }).data(), 1e-14);
  });
  tit('keep float32 as float32', () => {
    const m = array([[2, 0], [0, -3]], { dtype: 'float32' });
    const got = norm(m, { ord: 'nuc' });
    expect(got.dtype).toBe('float32');
    expectClose(got.data(), [5], 1e-6);
  });
  tit('jvp and vjp agree with finite differences (distinct singular values)', () => {
    for (const ord of [2, -2, 'nuc'] as const) {
      checkGrads((t) => norm(t, { ord }), [uniform([4, 3], 2)]);
      checkGrads((t) => norm(t, { ord, axis: [2, 0] }), [uniform([3, 2, 2], 3)]);
    }
  });
  tit('the gradient of ord 2 is u1 v1^T, of nuc U V^T (closed forms on a diagonal matrix)', () => {
    const m = array([[2, 0], [0, -3]]);
    const g2 = grad((t: Tensor) => norm(t, { ord: 2 }))(m) as Tensor;
    expectClose(g2.data(), [0, 0, 0, -1], 1e-14, 1e-14);
    const gn = grad((t: Tensor) => norm(t, { ord: 'nuc' }))(m) as Tensor;
    expectClose(gn.data(), [1, 0, 0, -1], 1e-14, 1e-14);
    const gm = grad((t: Tensor) => norm(t, { ord: -2 }))(m) as Tensor;
    expectClose(gm.data(), [1, 0, 0, 0], 1e-14, 1e-14);
  });
  tit('where the largest singular value repeats, the tied values share the derivative (JAX)', () => {
    // I = U I V^T for any orthogonal U = V: each of the two tied values gets 1/2, so the
    // gradient is (u1 v1^T + u2 v2^T) / 2 = U V^T / 2 = I / 2 whatever basis svd returns.
    const g = grad((t: Tensor) => norm(t, { ord: 2 }))(array([[1, 0], [0, 1]])) as Tensor;
    expectClose(g.data(), [0.5, 0, 0, 0.5], 1e-14, 1e-14);
    const gn = grad((t: Tensor) => norm(t, { ord: 'nuc' }))(array([[1, 0], [0, 1]])) as Tensor;
    expectClose(gn.data(), [1, 0, 0, 1], 1e-14, 1e-14);
  });
  tit('are rejected for a vector, with the two-axes hint', () => {
    expect(() => norm(array([1, 2]), { ord: 'nuc' })).toThrow(ArgumentError);
    expect(() => norm(array([1, 2]), { ord: 'nuc' })).toThrow(/'fro' and 'nuc' are matrix norms: pass two axes/);
  });
});

describe('var', () => {
  tit('is exported as an alias of variance (import * as dt; dt.var)', () => {
    expect(dt.var).toBe(dt.variance);
    expectClose(dt.var(array([1, 2, 3, 4])).data(), [1.25], 1e-15);
  });
});
