// The ops of issue 16, part 3, inside jit: a jitted function of them gives the eager values and
// gradients. (A separate file: a jitted function keeps its program's constants and arena while
// it lives, so this file checks steady memory across calls rather than a return to baseline.)
import { describe, expect, it } from 'vitest';
import { array, atan2, clip, cumsum, einsum, erf, expm1, flip, floor, grad, jit, log1p, memory, norm, seededUniformForTests, sum, tidy, type Tensor } from './helpers/api.js';
import * as api from './helpers/api.js';
import { expectClose } from './helpers/check.js';

function uniform(shape: number[], lo: number, hi: number, seed: number): Tensor {
  const rand = seededUniformForTests(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return array(Float64Array.from({ length: n }, () => lo + (hi - lo) * rand()), { shape });
}

describe('under jit', () => {
  const f = (x: Tensor, y: Tensor) => sum(api.mul(api.add(log1p(api.square(x)), erf(x)), atan2(y, api.add(x, 3))))
    .add(sum(cumsum(flip(expm1(x), 0), 1))).add(sum(floor(y))).add(norm(clip(x, -0.5, 0.5)));

  it('a jitted function of the new ops gives the eager values and gradients', () => {
    tidy(() => {
      const x = uniform([3, 4], -1, 1, 71), y = uniform([3, 4], -1, 1, 72);
      const jitted = jit(f);
      expectClose(jitted(x, y).data(), f(x, y).data(), 1e-15);
      const g = grad(f, { argnums: [0, 1] }) as (a: Tensor, b: Tensor) => Tensor[];
      const gj = grad(jitted, { argnums: [0, 1] }) as (a: Tensor, b: Tensor) => Tensor[];
      const [want, got] = [g(x, y), gj(x, y)];
      for (let i = 0; i < 2; i++) expectClose(got[i].data(), want[i].data(), 1e-14, 1e-15);
    });
  });

  it('repeated calls of the jitted function allocate nothing that outlives them', () => {
    const x = uniform([3, 4], -1, 1, 73), y = uniform([3, 4], -1, 1, 74);
    const jitted = jit(f);
    tidy(() => void jitted(x, y));
    const steady = memory().bytesInUse;
    for (let i = 0; i < 5; i++) tidy(() => void jitted(x, y));
    expect(memory().bytesInUse).toBe(steady);
    x.dispose();
    y.dispose();
  });
});

describe('matrix norms from singular values under jit', () => {
  // No memory check in this file: a jitted program keeps its constants for its lifetime.
  it('give the eager values', () => {
    tidy(() => {
      const f = (t: Tensor) => norm(t, { ord: 2 }).add(norm(t, { ord: -2 })).add(norm(t, { ord: 'nuc' }));
      const x = uniform([3, 3], -1, 1, 75);
      expectClose(jit(f)(x).data(), f(x).data(), 1e-14);
    });
  });
});

describe('einsum under jit', () => {
  it('jit(einsum) gives the eager values and gradients, and holds steady memory across calls', () => {
    tidy(() => {
      const f = (a: Tensor, b: Tensor, c: Tensor) => sum(einsum('bij,bjk,k->bi', a, b, c));
      const args = [uniform([2, 3, 4], -1, 1, 72), uniform([2, 4, 5], -1, 1, 73), uniform([5], -1, 1, 74)] as const;
      const jf = jit(f);
      expectClose(jf(...args).data(), f(...args).data(), 1e-14);
      const g = grad(f, { argnums: [0, 1, 2] }) as (...xs: Tensor[]) => Tensor[];
      const gj = grad(jf, { argnums: [0, 1, 2] }) as (...xs: Tensor[]) => Tensor[];
      const [want, got] = [g(...args), gj(...args)];
      for (let i = 0; i < 3; i++) expectClose(got[i].data(), want[i].data(), 1e-14, 1e-15);
      jf(...args).dispose();
      const before = memory().bytesInUse;
      for (let i = 0; i < 5; i++) jf(...args).dispose();
      expect(memory().bytesInUse).toBe(before);
    });
  });
});
