// vmap is vectorized: f runs once on batched values. Each result here is checked against a JS
// loop over the examples (f applied to each example, the results stacked).
import { describe, expect, it } from 'vitest';
import {
  ArgumentError, ConcretizationError, add, array, checkpoint, cond, cos, customJvp, customVjp, exp, fixedPoint, fori, grad, greater,
  hessian, jacfwd, jit, jvp, less, matmul, memory, mul, rootFind, scan, sin, solve, stack, sub, sum, tanh, transpose, vmap, whileLoop,
  type Tensor,
} from './helpers/api.js';
import { expectMemoryRestored, spec } from './helpers/memory.js';

expectMemoryRestored();

const closeTo = (got: Tensor, want: Tensor, digits = 11) => {
  expect([...got.shape]).toEqual([...want.shape]);
  const a = got.data(), b = want.data();
  for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i], digits);
};
const X = [[0.3, -1.2, 0.7], [1.1, 0.4, -0.5], [-0.8, 0.9, 0.2], [0.5, 0.5, -1.5]];
const rows = () => X.map((r) => array(r));
const loop = (f: (x: Tensor) => Tensor) => stack(rows().map(f));

describe('vmap: composition, against a loop over the examples', () => {
  spec('vmap(vmap(grad(f))) over two batch axes', () => {
    const f = (x: Tensor) => sum(mul(sin(x), x));
    const xs = array([X, X.map((r) => r.map((v) => v / 2))]);
    const got = vmap(vmap(grad(f)))(xs);
    closeTo(got, stack([0, 1].map((i) => stack([0, 1, 2, 3].map((j) => grad(f)(array(i === 0 ? X[j] : X[j].map((v) => v / 2))) as Tensor)))));
  });

  spec('an inner vmap closing over a value batched by the outer one (levels are kept apart)', () => {
    const ys = array([[1, 2], [3, 4], [5, 6]]);
    const got = vmap((x: Tensor) => vmap((y: Tensor) => mul(x, y))(ys))(array([10, 20]));
    closeTo(got, stack([10, 20].map((x) => mul(x, ys))));
  });

  spec('jvp of a function that vmaps over a closed-over dual (no perturbation confusion)', () => {
    const ys = array([1, 2, 3]);
    // d/dx sum_y sin(x y) = sum_y y cos(x y)
    const [, dy] = jvp((x: Tensor) => sum(vmap((y: Tensor) => sin(mul(x, y)))(ys)), [0.5], [1]);
    closeTo(dy as Tensor, sum(mul(ys, cos(mul(0.5, ys)))));
  });

  spec('vmap of a jvp whose function closes over the batched value', () => {
    // d/dc (x c)^2 at c = 1 is 2 x^2, per example.
    const got = vmap((x: Tensor) => jvp((c: Tensor) => mul(mul(x, c), mul(x, c)), [array(1)], [array(1)])[1] as Tensor)(array([1, 2, 3]));
    closeTo(got, array([2, 8, 18]));
  });

  spec('grad of a function that vmaps over a closed-over tape variable', () => {
    const ys = array([1, 2, 3]);
    // d/dx sum_y x^2 y = 2 x sum(y)
    closeTo(grad((x: Tensor) => sum(vmap((y: Tensor) => mul(mul(x, x), y))(ys)))(array(0.5)), array(6));
  });

  spec('vmap of a grad whose function closes over the batched value', () => {
    // d/dc x c^2 at c = 3 is 6 x, per example.
    closeTo(vmap((x: Tensor) => grad((c: Tensor) => mul(x, mul(c, c)))(array(3)) as Tensor)(array([1, 2, 3])), array([6, 12, 18]));
  });

  spec('grad of a loss over vmap with a batched matmul', () => {
    const W = array([[0.5, -0.2], [0.1, 0.3], [-0.4, 0.6]]);
    const loss = (w: Tensor) => sum(tanh(vmap((x: Tensor) => matmul(x, w))(array(X))));
    const loopLoss = (w: Tensor) => rows().map((x) => sum(tanh(matmul(x, w)))).reduce((a, b) => add(a, b));
    closeTo(grad(loss)(W), grad(loopLoss)(W));
  });

  spec('grad through a vmapped solve with a shared matrix (one solve with the examples as columns)', () => {
    const A = array([[4, 1, 0], [1, 3, 1], [0, 1, 5]]);
    const loss = (a: Tensor) => sum(tanh(vmap((b: Tensor) => solve(a, b))(array(X))));
    const loopLoss = (a: Tensor) => rows().map((b) => sum(tanh(solve(a, b)))).reduce((p, q) => add(p, q));
    closeTo(grad(loss)(A), grad(loopLoss)(A));
  });

  spec('vmap(hessian(f)) of a function with a matmul', () => {
    const A = array([[2, 1, 0], [1, 3, 1], [0, 1, 4]]);
    const f = (x: Tensor) => sum(mul(exp(matmul(A, x)), x));
    closeTo(vmap(hessian(f) as (x: Tensor) => Tensor)(array(X)), loop((x) => hessian(f)(x) as Tensor));
  });

  spec('vmap(jacfwd(f)) equals the per-example Jacobians', () => {
    const f = (x: Tensor) => mul(sin(x), sum(x));
    closeTo(vmap(jacfwd(f) as (x: Tensor) => Tensor)(array(X)), loop((x) => jacfwd(f)(x) as Tensor));
  });
});

describe('vmap: what the batched program computes', () => {
  spec('a matmul of examples by a shared matrix is one product with the batch in its rows', () => {
    const W = array([[0.5, -0.2], [0.1, 0.3], [-0.4, 0.6]]);
    const text = jit(vmap((x: Tensor, w: Tensor) => matmul(x, w), { inAxes: [0, null] })).program(array(X), W).toString();
    expect(text.match(/= matmul/g)).toHaveLength(1);
    expect(text).toMatch(/f64\[4,1,2\] = matmul\[transA=false transB=false\] \w+ \w+/);
    expect(text).not.toMatch(/transpose/);
  });

  spec('an op on values that do not depend on the batch runs once, unbatched', () => {
    const text = jit(vmap((x: Tensor, w: Tensor) => mul(x, exp(w)), { inAxes: [0, null] })).program(array(X), array([0.5, -0.2, 0.1])).toString();
    expect(text).toMatch(/f64\[3\] = exp/);
  });

  spec('a reduction over the examples\' axis keeps the batch axis in place', () => {
    const text = jit(vmap((x: Tensor) => sum(x, 0), { inAxes: 1 })).program(transpose(array(X))).toString();
    expect(text).toMatch(/f64\[4\] = sum\[axes=\[0\] keepdims=false\]/);
    expect(text).not.toMatch(/transpose/);
  });
});

describe('vmap: outAxes', () => {
  spec('null returns an output shared by every example once', () => {
    const W = array([1, 2, 3]);
    const [y, s] = vmap((x: Tensor) => [mul(x, W), sum(W)], { outAxes: [0, null] })(array(X)) as Tensor[];
    closeTo(y, loop((x) => mul(x, W)));
    closeTo(s, array(6));
  });

  spec('null for an output that depends on the examples is an error naming the leaf', () => {
    expect(() => vmap((x: Tensor) => mul(x, 2), { outAxes: null })(array(X))).toThrow(ArgumentError);
    expect(() => vmap((x: Tensor) => mul(x, 2), { outAxes: null })(array(X))).toThrow(/result leaf 0 .* depends on the mapped arguments/);
  });

  spec('a negative out axis counts from the end', () => {
    closeTo(vmap((x: Tensor) => mul(x, 2), { outAxes: -1 })(array(X)), transpose(loop((x) => mul(x, 2))));
  });

  spec('an output that does not depend on the batch is repeated along the out axis', () => {
    closeTo(vmap((_x: Tensor) => array([1, 2]), { outAxes: 1 })(array(X)), transpose(stack(rows().map(() => array([1, 2])))));
  });

  spec('an out axis out of range names the result leaf', () => {
    expect(() => vmap((x: Tensor) => x, { outAxes: 3 })(array(X))).toThrow(/outAxes of result leaf 0/);
  });
});

describe('vmap: control flow and custom rules', () => {
  spec('reading a batched value throws a ConcretizationError that names vmap', () => {
    expect(() => vmap((x: Tensor) => (sum(x).item() > 0 ? x : mul(x, 2)))(array(X))).toThrow(ConcretizationError);
    expect(() => vmap((x: Tensor) => (sum(x).item() > 0 ? x : mul(x, 2)))(array(X))).toThrow(/inside vmap/);
  });

  spec('cond with a per-example predicate selects per example', () => {
    const f = (x: Tensor) => cond(greater(sum(x), 0), (a) => sin(a), (a) => mul(a, 3), x);
    closeTo(vmap(f)(array(X)), loop(f));
  });

  spec('whileLoop whose condition differs per example runs each example its own number of steps', () => {
    // Doubles x until it exceeds 10: 1 -> 16 (4 steps), 3 -> 12 (2 steps), 20 -> 20 (none).
    const f = (x: Tensor) => whileLoop((c: Tensor) => less(c, 10), (c: Tensor) => mul(c, 2), x);
    closeTo(vmap(f)(array([1, 3, 20])), array([16, 12, 20]));
  });

  spec('whileLoop under two vmaps, and inside a jitted function under vmap', () => {
    const f = (x: Tensor) => whileLoop((c: Tensor) => less(c, 10), (c: Tensor) => mul(c, 2), x);
    closeTo(vmap(vmap(f))(array([[1, 3], [20, 6]])), array([[16, 12], [20, 12]]));
    closeTo(vmap(jit(f))(array([1, 3, 20])), array([16, 12, 20]));
  });

  spec('grad through a vmapped whileLoop', () => {
    const f = (x: Tensor) => whileLoop((c: Tensor) => less(c, 10), (c: Tensor) => mul(c, 2), x);
    // d/dx of x 2^steps is 2^steps.
    closeTo(grad((xs: Tensor) => sum(vmap(f)(xs)))(array([1, 3, 20])), array([16, 4, 1]));
  });

  spec('fori and scan map over the batch', () => {
    const f = (x: Tensor) => fori(0, 3, (_i, c: Tensor) => add(sin(c), x), x);
    closeTo(vmap(f)(array(X)), loop(f));
    const g = (x: Tensor) => scan((c: Tensor, xi: Tensor) => { const n = add(mul(c, 0.5), xi); return [n, n]; }, array(0), x)[1];
    closeTo(vmap(g)(array(X)), loop(g));
  });

  spec('customJvp: vmap, and grad and jvp of vmap, use the rule', () => {
    let ruleCalls = 0;
    const f = customJvp((x: Tensor) => sin(x), ([x], [dx]) => {
      ruleCalls++;
      return [sin(x), mul(cos(x), dx)];
    });
    closeTo(vmap(f)(array(X)), loop((x) => sin(x)));
    closeTo(grad((xs: Tensor) => sum(vmap(f)(xs)))(array(X)), cos(array(X)));
    closeTo(jvp(vmap(f), [array(X)], [array(X)])[1] as Tensor, mul(cos(array(X)), array(X)));
    expect(ruleCalls).toBeGreaterThan(0);
  });

  spec('customVjp: grad of vmap and vmap of grad use bwd; a shared input\'s cotangent sums over the examples', () => {
    let bwdCalls = 0;
    const f = customVjp((x: Tensor, w: Tensor) => mul(sin(x), w), (x: Tensor, w: Tensor) => [mul(sin(x), w), [x, w]],
      ([x, w]: Tensor[], g: Tensor) => {
        bwdCalls++;
        return [mul(mul(g, cos(x)), w), mul(g, sin(x))];
      });
    const w = array([1, 2, 3]);
    const [gx, gw] = grad((xs: Tensor, ww: Tensor) => sum(vmap(f, { inAxes: [0, null] })(xs, ww)), { argnums: [0, 1] })(array(X), w) as Tensor[];
    closeTo(gx, mul(cos(array(X)), w));
    closeTo(gw, sum(sin(array(X)), 0));
    closeTo(vmap(grad((x: Tensor) => sum(f(x, w))))(array(X)), mul(cos(array(X)), w));
    expect(bwdCalls).toBeGreaterThan(0);
  });

  spec('checkpoint inside vmap, and vmap inside checkpoint under grad', () => {
    const f = checkpoint((x: Tensor) => sin(mul(x, x)));
    closeTo(vmap(f)(array(X)), loop((x) => sin(mul(x, x))));
    const g = grad((xs: Tensor) => sum(checkpoint((a: Tensor) => vmap((x: Tensor) => sin(mul(x, x)))(a))(xs)));
    closeTo(g(array(X)), mul(mul(2, array(X)), cos(mul(array(X), array(X)))));
  });

  spec('rootFind and fixedPoint solve each example, and their implicit derivatives batch', () => {
    // x^3 + x = p has one real root; dx/dp = 1 / (3x^2 + 1).
    const root = (p: Tensor) => rootFind((x: Tensor, q: Tensor) => sub(add(mul(mul(x, x), x), x), q), p, { x0: 0.5 });
    const ps = array([0.5, 2, 10]);
    const xs = vmap(root)(ps);
    closeTo(xs, stack([0.5, 2, 10].map((p) => root(array(p)))), 9);
    closeTo(vmap(grad(root))(ps), stack([0.5, 2, 10].map((p) => grad(root)(array(p)) as Tensor)), 9);
    closeTo(grad((q: Tensor) => sum(vmap(root)(q)))(ps), stack([0.5, 2, 10].map((p) => grad(root)(array(p)) as Tensor)), 9);
    const fp = (a: Tensor) => fixedPoint((x: Tensor, b: Tensor) => mul(b, cos(x)), a, { x0: 0 });
    closeTo(vmap(fp)(array([0.2, 0.5])), stack([0.2, 0.5].map((a) => fp(array(a)))), 9);
    closeTo(vmap(grad(fp))(array([0.2, 0.5])), stack([0.2, 0.5].map((a) => grad(fp)(array(a)) as Tensor)), 9);
  });
});

describe('vmap: memory', () => {
  it('per-example gradients and nested vmaps free everything they do not return', () => {
    const before = memory().bytesInUse;
    const x = array(X);
    const w = array([0.1, 0.2, 0.3]);
    const g = vmap(grad((ww: Tensor, xx: Tensor) => sum(tanh(mul(ww, xx)))), { inAxes: [null, 0] })(w, x);
    const h = vmap(vmap((a: Tensor) => exp(a)))(x);
    const j = jit(vmap((a: Tensor) => sin(a)))(x);
    for (const t of [g, h, j, x, w]) t.dispose();
    expect(memory().bytesInUse).toBe(before);
  });
});
