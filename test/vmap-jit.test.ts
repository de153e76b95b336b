// jit(vmap(f)) runs as one batched program. A jitted function keeps its program (and the
// program's planned buffers) until the function is collected, so this file checks memory per
// call, in the steady state, rather than against a baseline taken before the jit existed.
import { describe, expect, it } from 'vitest';
import { array, jit, matmul, memory, stack, tanh, tidy, vmap, type Tensor } from './helpers/api.js';

const X = [[0.3, -1.2, 0.7], [1.1, 0.4, -0.5], [-0.8, 0.9, 0.2], [0.5, 0.5, -1.5]];

describe('jit(vmap(f))', () => {
  it('traces once, runs the batched program and equals a loop over the examples', () => {
    tidy(() => {
      const W = array([[0.5, -0.2], [0.1, 0.3], [-0.4, 0.6]]);
      const f = jit(vmap((x: Tensor, w: Tensor) => tanh(matmul(x, w)), { inAxes: [0, null] }));
      const got = f(array(X), W);
      const want = stack(X.map((r) => tanh(matmul(array([r]), W)).reshape([2])));
      const a = got.data(), b = want.data();
      for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i], 12);
      f(array(X), W).dispose();
      expect(f.stats().traces).toBe(1);
      const xs = array(X);
      f(xs, W).dispose();
      const before = memory().bytesInUse;
      for (let i = 0; i < 10; i++) f(xs, W).dispose();
      expect(memory().bytesInUse).toBe(before);
    });
  });
});
