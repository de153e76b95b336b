// Loops under jit(vmap(f)) stay one loop equation on the batched values (the batching rule of
// whileLoop, fori and scan). A jitted function keeps its program, so memory is checked per
// call in the steady state rather than against a baseline taken before the jit existed.
import { describe, expect, it } from 'vitest';
import {
  add, array, cond, fori, grad, jit, less, memory, mul, scalar, scan, sin, stack, sum, tidy, vmap, whileLoop, greater, ConcretizationError, type Tensor,
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

describe('scan under jit(vmap(f))', () => {
  const X = [[0.3, -1.2, 0.7, 2], [1.1, 0.4, -0.5, 0], [-0.8, 0.9, 0.2, 1]];
  // A carry [h, total] and a per-step output; h starts shared, the xs make it batched.
  const g = (xs: Tensor, w: Tensor) => {
    const [[h, total], hs] = scan(([c, t]: Tensor[], x: Tensor) => {
      const n = sin(add(mul(c, w), x));
      return [[n, add(t, n)], n];
    }, [scalar(0), scalar(0)], xs);
    return stack([h, total, sum(hs)]);
  };

  it('is one scan equation and equals a loop over the examples', () => {
    tidy(() => {
      const f = jit(vmap(g, { inAxes: [0, null] }));
      const xs = array(X), w = scalar(0.7);
      expectClose(f(xs, w), stack(X.map((r) => g(array(r), w))));
      expect(count(f.program(xs, w).toString(), 'scan')).toBe(1);
      expectSteady(() => f(xs, w));
    });
  });

  it('maps over the sequence axis of batched xs and returns ys batched after it', () => {
    tidy(() => {
      const h = (xs: Tensor) => scan((c: Tensor, x: Tensor) => [add(c, x), mul(c, x)], scalar(1), xs)[1];
      const f = jit(vmap(h));
      expectClose(f(array(X)), stack(X.map((r) => h(array(r)))));
    });
  });

  it('batches a closed-over per-example value with shared xs', () => {
    tidy(() => {
      const ws = [0.5, -0.3, 1.2];
      const f = jit(vmap((w: Tensor, xs: Tensor) => g(xs, w), { inAxes: [0, null] }));
      const xs = array(X[0]);
      expectClose(f(array(ws), xs), stack(ws.map((w) => g(xs, scalar(w)))));
    });
  });

  it('differentiates: grad(vmap(f)) and jit(grad(vmap(f)))', () => {
    tidy(() => {
      const loss = (xs: Tensor) => sum(vmap(g, { inAxes: [0, null] })(xs, scalar(0.7)));
      const want = stack(X.map((r) => grad((xs: Tensor) => sum(g(xs, scalar(0.7))))(array(r))));
      expectClose(grad(loss)(array(X)), want);
      expectClose(jit(grad(loss))(array(X)), want);
    });
  });
});

describe('cond under jit(vmap(f))', () => {
  it('selects per example with a batched predicate', () => {
    tidy(() => {
      const g = (x: Tensor) => cond(greater(x, 0), (a) => sin(a), (a) => mul(a, 3), x);
      const xs = [0.5, -1, 2, -0.1];
      expectClose(jit(vmap(g))(array(xs)), stack(xs.map((x) => g(scalar(x)))));
    });
  });
});

describe('jit(vmap(grad(f))) with a per-example whileLoop', () => {
  it('throws a ConcretizationError naming jit(grad(vmap(f))) as the way out', () => {
    tidy(() => {
      const h = (x: Tensor) => whileLoop(([v]: Tensor[]) => less(v, 5), ([v]: Tensor[]) => [mul(v, 1.5)], [x])[0];
      expect(() => jit(vmap(grad(h)))(array([0.7, 2]))).toThrow(ConcretizationError);
      expect(() => jit(vmap(grad(h)))(array([0.7, 2]))).toThrow(/jit\(grad\(vmap\(f\)\)\)/);
    });
  });
});
