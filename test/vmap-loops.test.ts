// Loops under jit(vmap(f)) stay one loop equation on the batched values (the batching rule of
// whileLoop, fori and scan). A jitted function keeps its program, so memory is checked per
// call in the steady state rather than against a baseline taken before the jit existed.
import { describe, expect, it } from 'vitest';
import {
  add, array, fori, grad, jit, less, memory, mul, scalar, stack, sum, tidy, vmap, whileLoop, type Tensor,
} from './helpers/api.js';

function expectClose(got: Tensor, want: Tensor): void {
  expect(got.shape).toEqual(want.shape);
  const a = got.data(), b = want.data();
  for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i], 10);
}

/** Steady memory over repeated calls of a jitted function that holds its program. */
function expectSteady(call: () => Tensor): void {
  call().dispose();
  const before = memory().bytesInUse;
  for (let i = 0; i < 5; i++) call().dispose();
  expect(memory().bytesInUse).toBe(before);
}

const count = (text: string, word: string) => text.split('\n').filter((l) => new RegExp(`\\b${word}\\b`).test(l)).length;

// Doubles x (and counts the steps) until it exceeds the limit: a trip count per example.
const doubling = (x: Tensor, limit: Tensor): Tensor => {
  const [, n, y] = whileLoop(([, , v]: Tensor[]) => less(v, limit), ([i, k, v]: Tensor[]) => [add(i, 1), add(k, v), mul(v, 2)], [scalar(0), scalar(0), x]);
  return stack([n, y]);
};

describe('whileLoop under jit(vmap(f))', () => {
  it('runs a different number of steps per example and equals a loop over the examples', () => {
    tidy(() => {
      const xs = [0.3, 1.5, 7, 0.01];
      const f = jit(vmap(doubling, { inAxes: [0, null] }));
      const got = f(array(xs), scalar(10));
      expectClose(got, stack(xs.map((x) => doubling(scalar(x), scalar(10)))));
      const x = array(xs), lim = scalar(10);
      expectSteady(() => f(x, lim));
    });
  });

  it('batches a closed-over per-example value (the limit)', () => {
    tidy(() => {
      const xs = [0.3, 1.5, 7], limits = [1, 100, 8];
      const f = jit(vmap(doubling));
      const got = f(array(xs), array(limits));
      expectClose(got, stack(xs.map((x, i) => doubling(scalar(x), scalar(limits[i])))));
    });
  });

  it('is one whileLoop equation in the jitted program', () => {
    tidy(() => {
      const f = jit(vmap(doubling, { inAxes: [0, null] }));
      const text = f.program(array([0.3, 1.5, 7]), scalar(10)).toString();
      expect(count(text, 'whileLoop')).toBe(1);
    });
  });

  it('nests: jit(vmap(vmap(f))) equals a loop over both axes', () => {
    tidy(() => {
      const xs = [[0.3, 1.5], [7, 0.01], [2, 3]];
      const f = jit(vmap(vmap(doubling, { inAxes: [0, null] }), { inAxes: [0, null] }));
      const got = f(array(xs), scalar(10));
      expectClose(got, stack(xs.map((r) => stack(r.map((x) => doubling(scalar(x), scalar(10)))))));
    });
  });

  it('keeps a condition shared by every example a plain loop of the batched body', () => {
    tidy(() => {
      const g = (x: Tensor) => whileLoop(([i]: Tensor[]) => less(i, 3), ([i, v]: Tensor[]) => [add(i, 1), mul(v, v)], [scalar(0), x])[1];
      const xs = [1.1, 0.9, -1.2];
      const f = jit(vmap(g));
      expectClose(f(array(xs)), stack(xs.map((x) => g(scalar(x)))));
      expect(count(f.program(array(xs)).toString(), 'whileLoop')).toBe(1);
    });
  });

  it('differentiates: vmap(grad(f)) and grad(vmap(f)) with a whileLoop inside, and jit(grad(vmap(f)))', () => {
    tidy(() => {
      const h = (x: Tensor) => whileLoop(([v]: Tensor[]) => less(v, 5), ([v]: Tensor[]) => [mul(v, 1.5)], [x])[0];
      const xs = [0.7, 2, 4.5];
      const want = stack(xs.map((x) => grad(h)(scalar(x))));
      expectClose(vmap(grad(h))(array(xs)), want);
      expectClose(grad((x: Tensor) => sum(vmap(h)(x)))(array(xs)), want);
      expectClose(jit(grad((x: Tensor) => sum(vmap(h)(x))))(array(xs)), want);
    });
  });
});

describe('fori under jit(vmap(f))', () => {
  const g = (x: Tensor, w: Tensor) => fori(0, 4, (i, v: Tensor) => add(mul(v, w), i), x);

  it('is one fori equation and equals a loop over the examples', () => {
    tidy(() => {
      const xs = [0.5, -1, 2], ws = [1.5, 0.5, -0.3];
      const f = jit(vmap(g));
      expectClose(f(array(xs), array(ws)), stack(xs.map((x, i) => g(scalar(x), scalar(ws[i])))));
      expect(count(f.program(array(xs), array(ws)).toString(), 'fori')).toBe(1);
      const x = array(xs), w = array(ws);
      expectSteady(() => f(x, w));
    });
  });

  it('broadcasts a carry the body makes batched', () => {
    tidy(() => {
      const xs = [0.5, -1, 2];
      const f = jit(vmap((w: Tensor) => g(scalar(1), w)));
      expectClose(f(array(xs)), stack(xs.map((w) => g(scalar(1), scalar(w)))));
    });
  });

  it('differentiates: vmap(grad(f)) and grad(vmap(f))', () => {
    tidy(() => {
      const xs = [0.5, -1, 2];
      const h = (x: Tensor) => g(x, scalar(1.3));
      const want = stack(xs.map((x) => grad(h)(scalar(x))));
      expectClose(vmap(grad(h))(array(xs)), want);
      expectClose(grad((x: Tensor) => sum(vmap(h)(x)))(array(xs)), want);
    });
  });
});
