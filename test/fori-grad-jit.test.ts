// fori with JS-number bounds in reverse mode inside jit (jit(grad(f)), jit(valueAndGrad(f)),
// grad(jit(f))): the loop stays a forward and a backward loop equation, however many steps it
// takes. Jitted programs keep their constants, so instead of the file-wide memory check each
// case checks that a second call leaves nothing behind.
import { describe, expect, it } from 'vitest';
import { add, array, fori, grad, jacrev, jit, mul, scalar, sin, sub, sum, valueAndGrad, vmap, type Tensor } from './helpers/api.js';
import { steady, disposedValues as values } from './helpers/memory.js';

function expectClose(got: number[], want: number[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(want[i]))));
}

/** Scalar carry: x <- x + h * sin(a * x + i). */
const scalarLoop = (n: number) => (x: Tensor, a: Tensor) => fori(0, n, (i, c: Tensor) => add(c, mul(0.01, sin(add(mul(a, c), i)))), x);

/** Lotka-Volterra with explicit Euler: two leaves, parameters captured. */
const lotka = (n: number) => (u: Tensor, v: Tensor, p: Tensor) => {
  const [uu, vv] = fori(0, n, (_, [x, y]: [Tensor, Tensor]) => [
    add(x, mul(0.01, sub(mul(p, x), mul(x, y)))),
    add(y, mul(0.01, sub(mul(x, y), mul(p, y)))),
  ] as [Tensor, Tensor], [u, v] as [Tensor, Tensor]);
  return add(mul(uu, uu), vv);
};

const countEquations = (text: string) => text.split('\n').filter((l) => l.includes(' = ')).length;

describe('fori: reverse mode inside jit', () => {
  for (const n of [0, 1, 2, 1000]) {
    it(`jit(grad(f)) equals eager grad with a scalar carry and a captured parameter, n = ${n}`, () => {
      const f = scalarLoop(n);
      const x = scalar(0.3), a = scalar(1.7);
      const want = values(grad(f, { argnums: [0, 1] })(x, a));
      const g = jit(grad(f, { argnums: [0, 1] }));
      expectClose(steady(() => values(g(x, a))), want);
    }, 60_000);
  }

  it('jit(grad(f)) equals eager grad with a two-leaf carry', () => {
    const f = lotka(300);
    const args = [scalar(1.2), scalar(0.8), scalar(0.9)] as const;
    const want = values(grad(f, { argnums: [0, 1, 2] })(...args));
    const g = jit(grad(f, { argnums: [0, 1, 2] }));
    expectClose(steady(() => values(g(...args))), want);
  }, 60_000);

  it('jit(valueAndGrad(f)) equals eager valueAndGrad', () => {
    const f = lotka(200);
    const args = [scalar(1.2), scalar(0.8), scalar(0.9)] as const;
    const want = values(valueAndGrad(f, { argnums: [0, 1, 2] })(...args));
    const g = jit(valueAndGrad(f, { argnums: [0, 1, 2] }));
    expectClose(steady(() => values(g(...args))), want);
  }, 60_000);

  it('grad(jit(f)) equals eager grad', () => {
    const f = lotka(200);
    const args = [scalar(1.2), scalar(0.8), scalar(0.9)] as const;
    const want = values(grad(f, { argnums: [0, 1, 2] })(...args));
    const jf = jit(f);
    expectClose(steady(() => values(grad(jf, { argnums: [0, 1, 2] })(...args))), want);
  }, 60_000);

  it('the gradient program has as many equations for 10 steps as for 1000', () => {
    const args = [scalar(1.2), scalar(0.8), scalar(0.9)] as const;
    const text = (n: number) => jit(grad(lotka(n), { argnums: [0, 1, 2] })).program(...args).toString();
    const small = text(10), large = text(1000);
    expect(countEquations(large)).toBe(countEquations(small));
    expect(large).toContain('fori_stacked');
  }, 60_000);

  it('jit(grad(f)) equals eager grad with a vector carry', () => {
    const f = (x: Tensor, w: Tensor) => sum(fori(0, 50, (i, c: Tensor) => add(c, mul(0.05, sin(add(mul(w, c), i)))), x));
    const args = [array([0.1, -0.4, 0.9]), array([1.3, 0.7, -0.2])] as const;
    const want = values(grad(f, { argnums: [0, 1] })(...args));
    const g = jit(grad(f, { argnums: [0, 1] }));
    expectClose(steady(() => values(g(...args))), want);
  }, 60_000);

  it('jit(grad(f)) inlined into an enclosing jit keeps both loops as equations', () => {
    const f = lotka(400);
    const args = [scalar(1.2), scalar(0.8), scalar(0.9)] as const;
    const want = values(grad(f, { argnums: [0, 1, 2] })(...args));
    const inner = jit(grad(f, { argnums: [0, 1, 2] }));
    const outer = jit((u: Tensor, v: Tensor, p: Tensor) => inner(u, v, p) as Tensor[]);
    expectClose(steady(() => values(outer(...args))), want);
    const text = outer.program(...args).toString();
    expect(text).toContain('fori_stacked');
    expect(text).toContain('fori_backward');
    expect(countEquations(text)).toBeLessThan(400);
  }, 60_000);

  it('vmap(jit(grad(f))) equals eager grad per example', () => {
    const f = scalarLoop(100);
    const xs = [0.3, -0.5, 1.1], a = scalar(1.7);
    const want = xs.flatMap((x) => values(grad(f)(scalar(x), a)));
    const g = jit(grad(f));
    const got = values(vmap((x: Tensor) => g(x, a) as Tensor)(array(xs)));
    expectClose(got, want);
  }, 60_000);

  it('grad(jit(grad(f))) gives the second derivative eager grad(grad(f)) gives', () => {
    const f = (x: Tensor) => scalarLoop(60)(x, scalar(1.7));
    const x = scalar(0.3);
    const want = values(grad(grad(f))(x));
    const jg = jit(grad(f));
    expectClose(values(grad((y: Tensor) => jg(y) as Tensor)(x)), want);
  }, 60_000);

  it('jit(jacrev(f)) pulls several cotangent rows through the loop at once', () => {
    const f = (x: Tensor, w: Tensor) => fori(0, 40, (i, c: Tensor) => add(c, mul(0.05, sin(add(mul(w, c), i)))), x);
    const args = [array([0.1, -0.4, 0.9]), array([1.3, 0.7, -0.2])] as const;
    const want = values(jacrev(f, { argnums: [0, 1] })(...args));
    const g = jit(jacrev(f, { argnums: [0, 1] }));
    expectClose(steady(() => values(g(...args))), want);
    expect(g.program(...args).toString()).toContain('fori_backward');
  }, 60_000);
});
