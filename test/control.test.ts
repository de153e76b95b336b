// cond, fori and whileLoop: plain control flow outside jit, one equation inside it, and
// differentiable through both.
import { describe, expect, it } from 'vitest';
import {
  abs, add, array, cond, cos, fori, grad, greater, hessian, jit, jvp, less, memory, mul, neg, scalar, scan, sin, sqrt, sum, tidy, whileLoop,
  ConcretizationError, ShapeError, type Tensor,
} from '../src/index.js';

const values = (t: unknown) => Array.from((t as Tensor).data());

describe('fori', () => {
  it('runs body(i, carry) for i in [lower, upper)', () => tidy(() => {
    expect(values(fori(0, 10, (i, x: Tensor) => add(x, i), array([0, 1])))).toEqual([45, 46]);
    expect(values(fori(3, 3, (i, x: Tensor) => add(x, i), array([7])))).toEqual([7]);
  }));

  it('carries trees and checks that the carry keeps its shapes', () => tidy(() => {
    const out = fori(0, 3, (_, c: { a: Tensor; b: Tensor[] }) => ({ a: mul(c.a, 2), b: [add(c.b[0], 1)] }), { a: array(1), b: [array([0, 0])] });
    expect(values(out.a)).toEqual([8]);
    expect(values(out.b[0])).toEqual([3, 3]);
    expect(() => fori(0, 2, (_, x: Tensor) => sum(x), array([1, 2]))).toThrow(ShapeError);
  }));

  it('is one equation inside jit, however many steps', () => {
    const f = jit((x: Tensor) => fori(0, 10000, (_, y: Tensor) => add(mul(y, 0.999), 0.001), x));
    const program = f.program(array([1, 2]));
    expect(program.equations.length).toBe(1);
    expect(program.toString()).toContain('fori[lower=0 upper=10000 body={ lambda');
    tidy(() => {
      const eager = fori(0, 10000, (_, y: Tensor) => add(mul(y, 0.999), 0.001), array([1, 2]));
      expect(values(f(array([1, 2])))).toEqual(values(eager));
    });
  });

  it('closes over values of the enclosing jit and tensors outside it', () => tidy(() => {
    const w = array([2, 3]);
    const f = jit((x: Tensor, s: Tensor) => fori(0, 4, (_, y: Tensor) => add(mul(y, s), w), x));
    const eager = (x: Tensor, s: Tensor) => fori(0, 4, (_, y: Tensor) => add(mul(y, s), w), x);
    expect(values(f(array([1, 1]), array(0.5)))).toEqual(values(eager(array([1, 1]), array(0.5))));
  }));

  it('differentiates in both modes, eagerly and through jit', () => tidy(() => {
    // y_{k+1} = sin(y_k) + p: dy/dp by the chain rule, checked against eager grad.
    const loop = (p: Tensor) => sum(fori(0, 20, (_, y: Tensor) => add(sin(y), p), array([0.3, -0.4])));
    const eager = values(grad(loop)(array(0.7)));
    expect(values(grad(jit(loop))(array(0.7)))).toEqual(eager);
    expect(values(jit(grad(loop))(array(0.7)))).toEqual(eager);
    const [, t] = jvp(jit(loop), [array(0.7)], [array(1)]) as Tensor[];
    expect(values(t)[0]).toBeCloseTo(eager[0], 12);
  }));

  it('frees every replaced carry outside transforms', () => {
    const x = array(Float64Array.from({ length: 1000 }, (_, i) => i));
    fori(0, 2, (_, y: Tensor) => add(y, 1), x).dispose();
    const before = memory().bytesInUse;
    fori(0, 500, (_, y: Tensor) => add(y, 1), x).dispose();
    expect(memory().bytesInUse).toBe(before);
    x.dispose();
  });
});

describe('whileLoop', () => {
  // n is even iff |sin(n pi / 2)| < 0.5: a tensor test, so the branch depends on data.
  const isEven = (n: Tensor) => less(abs(sin(mul(n, Math.PI / 2))), 0.5);
  const collatzSteps = ([n, steps]: Tensor[]) => [cond(isEven(n), (m: Tensor) => mul(m, 0.5), (m: Tensor) => add(mul(m, 3), 1), n), add(steps, 1)];

  it('loops while the condition holds', () => tidy(() => {
    const out = whileLoop(([i]: Tensor[]) => less(i, 10), ([i, x]: Tensor[]) => [add(i, 1), mul(x, 2)], [scalar(0), scalar(1)]);
    expect(out.map((t) => (t as Tensor).item())).toEqual([10, 1024]);
  }));

  it('is one equation inside jit, with data-dependent steps (Collatz from 27 takes 111)', () => tidy(() => {
    const f = jit((n: Tensor) => whileLoop(([m]: Tensor[]) => greater(m, 1), collatzSteps, [n, scalar(0)]));
    expect(f.program(scalar(27)).equations.length).toBe(1);
    const [last, steps] = f(scalar(27)) as Tensor[];
    expect(last.item()).toBe(1);
    expect(steps.item()).toBe(111);
  }));

  it('differentiates in forward mode through jit (Newton iterations for sqrt(a))', () => tidy(() => {
    const root = (a: Tensor) => whileLoop(([, k]: Tensor[]) => less(k, 30), ([x, k]: Tensor[]) => [mul(add(x, a.div(x)), 0.5), add(k, 1)], [scalar(1), scalar(0)])[0] as Tensor;
    const [y, dy] = jvp(jit(root), [scalar(2)], [scalar(1)]) as Tensor[];
    expect(y.item()).toBeCloseTo(Math.SQRT2, 14);
    expect(dy.item()).toBeCloseTo(1 / (2 * Math.SQRT2), 12);
    expect(values(grad(root)(scalar(2)))[0]).toBeCloseTo(1 / (2 * Math.SQRT2), 12);
  }));

  it('differentiates in reverse mode eagerly, under jit(grad(f)) and through grad(jit(f))', () => tidy(() => {
    // 8 a^3 after three steps at a = 0.5: d/da = 24 a^2 = 6.
    const root = (a: Tensor) => whileLoop(([x]: Tensor[]) => greater(x, 1), ([x]: Tensor[]) => [mul(x, a)], [scalar(8)])[0] as Tensor;
    expect(grad(root)(scalar(0.5)).item()).toBeCloseTo(6, 12);
    expect(jit(grad(root))(scalar(0.5)).item()).toBeCloseTo(6, 12);
    expect(grad(jit(root))(scalar(0.5)).item()).toBeCloseTo(6, 12);
  }));

  it('under jit(jvp(f)) stays one loop carrying the tangent', () => tidy(() => {
    const root = (a: Tensor) => whileLoop(([x]: Tensor[]) => greater(x, 1), ([x]: Tensor[]) => [mul(x, a)], [scalar(8)])[0] as Tensor;
    const f = jit((a: Tensor) => jvp(root, [a], [scalar(1)])[1]);
    expect(f(scalar(0.5)).item()).toBeCloseTo(6, 12);
  }));

  it('under jit(hessian(f)) says why the step count cannot be traced and what to use', () => {
    const root = (a: Tensor) => whileLoop(([x]: Tensor[]) => greater(x, 1), ([x]: Tensor[]) => [mul(x, a)], [scalar(8)])[0] as Tensor;
    const f = jit(hessian(root));
    expect(() => f(scalar(0.5))).toThrow(ConcretizationError);
    expect(() => f(scalar(0.5))).toThrow(/hessian\(jit\(f\)\)/);
    // 8 a^3: the second derivative 48 a = 24 at a = 0.5.
    expect(hessian(jit(root))(scalar(0.5)).item()).toBeCloseTo(24, 10);
  });
});

describe('cond', () => {
  const f = (x: Tensor) => cond(greater(sum(x), 0), (y: Tensor) => sqrt(y), (y: Tensor) => neg(y), x);

  it('takes one branch outside jit', () => tidy(() => {
    expect(values(f(array([4, 9])))).toEqual([2, 3]);
    expect(values(f(array([-4, 1])))).toEqual([4, -1]);
  }));

  it('is one equation inside jit and takes the branch the data picks', () => tidy(() => {
    const g = jit(f);
    expect(g.program(array([4, 9])).equations.some((e) => e.call?.name === 'cond')).toBe(true);
    expect(values(g(array([4, 9])))).toEqual([2, 3]);
    expect(values(g(array([-4, 1])))).toEqual([4, -1]);
    expect(g.stats().traces).toBe(1);
  }));

  it('differentiates the taken branch, in every order with jit', () => tidy(() => {
    const loss = (x: Tensor) => sum(cond(greater(sum(x), 0), (y: Tensor) => sin(y), (y: Tensor) => cos(y), x));
    const x = array([0.4, 0.5]);
    const expected = values(cos(x));
    expect(values(grad(loss)(x))).toEqual(expected);
    expect(values(grad(jit(loss))(x))).toEqual(expected);
    expect(values(jit(grad(loss))(x))).toEqual(expected);
    const xn = array([-0.4, -0.5]);
    expect(values(jit(grad(loss))(xn))).toEqual(values(neg(sin(xn))));
  }));

  it('rejects branches whose results differ in shape', () => {
    expect(() => jit((x: Tensor) => cond(greater(x.sum(), 0), (y: Tensor) => y, (y: Tensor) => sum(y), x))(array([1, 2]))).toThrow(ShapeError);
  });
});

describe('scan inside jit', () => {
  const xs = array(Float64Array.from({ length: 600 }, (_, i) => Math.sin(i) * 0.1), { shape: [300, 2] });
  const run = (h0: Tensor) => scan((h: Tensor, x: Tensor) => [add(mul(sin(h), 0.9), x), sum(h)], h0, xs) as [Tensor, Tensor];

  it('is one equation with the final carry and the stacked ys as outputs', () => tidy(() => {
    const f = jit(run);
    const program = f.program(array([0.1, 0.2]));
    expect(program.equations.length).toBe(1);
    expect(program.outputAvals.map((a) => a.shape)).toEqual([[2], [300]]);
    const [c1, y1] = f(array([0.1, 0.2])) as Tensor[];
    const [c2, y2] = run(array([0.1, 0.2]));
    expect(values(c1)).toEqual(values(c2));
    expect(values(y1)).toEqual(values(y2));
  }));

  it('differentiates through jit, with a checkpoint budget too', () => tidy(() => {
    const loss = (h0: Tensor) => sum(run(h0)[0]);
    const budgeted = (h0: Tensor) => sum((scan((h: Tensor, x: Tensor) => [add(mul(sin(h), 0.9), x), null], h0, xs, { checkpoints: 5 }) as [Tensor, null])[0]);
    const eager = values(grad(loss)(array([0.1, 0.2])));
    expect(values(grad(jit(loss))(array([0.1, 0.2])))).toEqual(eager);
    expect(values(jit(grad(loss))(array([0.1, 0.2])))).toEqual(eager);
    expect(values(grad(jit(budgeted))(array([0.1, 0.2])))).toEqual(eager);
  }));
});
