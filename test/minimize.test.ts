// minimize over parameter trees: L-BFGS against scipy's L-BFGS-B on the 100-dimensional
// Rosenbrock function (the reference counts come from test/fixtures/gen-rosenbrock.py, whose
// output is committed), BFGS and CG on the same problem, every method on a tree-valued
// quadratic with a closed-form minimizer, the result fields, the callback, the strong-Wolfe
// line search on its own, and memory.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArgumentError, ShapeError, array, grad, memory, minimize, square, sub, sum, tidy, type MinimizeMethod, type Tensor,
} from './helpers/api.js';
import { cubicMinimizer, strongWolfe } from '../src/optim/line-search.js';
import { expectClose } from './helpers/check.js';

let atStart = 0;
beforeEach(() => { atStart = memory().bytesInUse; });
afterEach(() => { expect(memory().bytesInUse, 'bytes in use after the test').toBe(atStart); });

interface Reference { iterations: number; evaluations: number; fun: number; gradInfNorm: number }
const fixture = JSON.parse(readFileSync(new URL('./fixtures/rosenbrock-scipy.json', import.meta.url), 'utf8')) as {
  n: number; tol: number; runs: Record<'lbfgs' | 'bfgs' | 'cg', Reference>;
};

const n = fixture.n;
const rosenbrock = (x: Tensor) => {
  const a = x.slice([0], [n - 1]), b = x.slice([1], [n - 1]);
  return sum(square(b.sub(square(a))).mul(100).add(square(sub(1, a))));
};
const start = () => array(Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -1.2 : 1)));

function solveRosenbrock(method: 'lbfgs' | 'bfgs' | 'cg') {
  const x0 = start();
  const r = minimize(rosenbrock, x0, { method, tol: fixture.tol });
  const x = Array.from(r.x.data());
  const g = Array.from(r.grad.data());
  for (const t of [x0, r.x, r.grad]) t.dispose();
  return { ...r, x, g };
}

describe('the 100-dimensional Rosenbrock function from [-1.2, 1, -1.2, 1, ...]', () => {
  it(`L-BFGS converges to tol 1e-8 within 25% of scipy's L-BFGS-B iteration count (${fixture.runs.lbfgs.iterations})`, () => {
    const r = solveRosenbrock('lbfgs');
    expect(r.converged, r.message).toBe(true);
    expect(Math.max(...r.g.map(Math.abs))).toBeLessThanOrEqual(1e-8);
    expect(Math.max(...r.x.map((v) => Math.abs(v - 1)))).toBeLessThan(1e-8);
    const ref = fixture.runs.lbfgs.iterations;
    expect(r.iterations).toBeGreaterThanOrEqual(Math.floor(0.75 * ref));
    expect(r.iterations).toBeLessThanOrEqual(Math.ceil(1.25 * ref));
  }, 60_000);

  it(`BFGS converges within 25% of scipy's BFGS iteration count (${fixture.runs.bfgs.iterations})`, () => {
    const r = solveRosenbrock('bfgs');
    expect(r.converged, r.message).toBe(true);
    expect(Math.max(...r.x.map((v) => Math.abs(v - 1)))).toBeLessThan(1e-8);
    const ref = fixture.runs.bfgs.iterations;
    expect(r.iterations).toBeGreaterThanOrEqual(Math.floor(0.75 * ref));
    expect(r.iterations).toBeLessThanOrEqual(Math.ceil(1.25 * ref));
  }, 60_000);

  it(`CG converges in no more iterations than 1.25 x scipy's CG (${fixture.runs.cg.iterations})`, () => {
    const r = solveRosenbrock('cg');
    expect(r.converged, r.message).toBe(true);
    expect(Math.max(...r.x.map((v) => Math.abs(v - 1)))).toBeLessThan(1e-7);
    expect(r.iterations).toBeLessThanOrEqual(Math.ceil(1.25 * fixture.runs.cg.iterations));
  }, 60_000);
});

// f(p) = sum((a - [1, -2])^2) + 2 (c - 3)^2 + (d + 1)^2, minimized at a = [1, -2], c = 3, d = -1.
type Params = { a: Tensor; inner: { c: Tensor }; rest: [Tensor] };
const target = [1, -2];
const quadratic = (p: Params) => sum(square(sub(p.a, array(target)))).add(square(p.inner.c.sub(3)).mul(2)).add(square(p.rest[0].add(1)));
const p0 = (): Params => ({ a: array([0, 0]), inner: { c: array(0) }, rest: [array(0)] });
const disposeTree = (p: Params) => [p.a, p.inner.c, p.rest[0]].forEach((t) => t.dispose());

describe('every method on a parameter tree', () => {
  const cases: [MinimizeMethod, object][] = [['lbfgs', {}], ['bfgs', {}], ['cg', {}], ['adam', { learningRate: 0.05 }], ['sgd', { learningRate: 0.1 }]];
  for (const [method, extra] of cases) {
    it(`${method} finds the closed-form minimizer and returns x and grad as trees like x0`, () => {
      const x0 = p0();
      const r = minimize(quadratic, x0, { method, tol: 1e-7, ...extra });
      expect(r.converged, r.message).toBe(true);
      expectClose(r.x.a.toArray() as number[], target, 1e-6, 1e-6);
      expectClose([r.x.inner.c.item(), r.x.rest[0].item()], [3, -1], 1e-6, 1e-6);
      for (const g of [r.grad.a, r.grad.inner.c, r.grad.rest[0]]) for (const v of g.data()) expect(Math.abs(v)).toBeLessThanOrEqual(1e-7);
      expect(x0.a.toArray()).toEqual([0, 0]); // x0 is left alone
      disposeTree(x0);
      disposeTree(r.x);
      disposeTree(r.grad);
    }, 30_000);
  }
});

describe('the result', () => {
  it('fun is f(x), grad is grad(f)(x), evaluations counts calls of f', () => {
    let calls = 0;
    const f = (p: Params) => { calls++; return quadratic(p); };
    const x0 = p0();
    const r = minimize(f, x0, { tol: 1e-9 });
    calls -= r.evaluations;
    expect(calls).toBe(0);
    expect(r.fun).toBe(tidy(() => quadratic(r.x).item()));
    const g = grad(quadratic)(r.x);
    expect(Array.from(r.grad.a.data())).toEqual(Array.from(g.a.data()));
    expect(r.iterations).toBeGreaterThan(0);
    expect(r.evaluations).toBeGreaterThan(r.iterations);
    expect(r.message).toMatch(/converged/);
    [x0, r.x, r.grad, g].forEach(disposeTree);
  });

  it('maxIter stops the run unconverged and says so', () => {
    const x0 = start();
    const r = minimize(rosenbrock, x0, { maxIter: 5 });
    expect(r.iterations).toBe(5);
    expect(r.converged).toBe(false);
    expect(r.message).toMatch(/maxIter \(5\)/);
    for (const t of [x0, r.x, r.grad]) t.dispose();
  });

  it('a float32 x0 gives float32 results', () => {
    const x0 = array([0.5, 0.5], { dtype: 'float32' });
    const r = minimize((x: Tensor) => sum(square(sub(x, 2))), x0, { tol: 1e-4 });
    expect(r.x.dtype).toBe('float32');
    expect(r.converged).toBe(true);
    for (const t of [x0, r.x, r.grad]) t.dispose();
  });
});

describe('the callback', () => {
  for (const method of ['lbfgs', 'adam'] as const) {
    it(`${method}: sees iterations 1, 2, ... with x, fun and gradNorm, and stops the run by returning true`, () => {
      const seen: { iteration: number; fun: number; gradNorm: number; a: number[] }[] = [];
      const x0 = p0();
      const r = minimize(quadratic, x0, {
        method,
        callback: ({ iteration, x, fun, gradNorm }) => {
          seen.push({ iteration, fun, gradNorm, a: x.a.toArray() as number[] });
          return iteration === 3;
        },
      });
      expect(seen.map((s) => s.iteration)).toEqual([1, 2, 3]);
      expect(r.iterations).toBe(3);
      expect(r.converged).toBe(false);
      expect(r.message).toBe('stopped by the callback');
      expect(r.x.a.toArray()).toEqual(seen[2].a);
      expect(seen[2].gradNorm).toBeGreaterThan(0);
      disposeTree(x0);
      disposeTree(r.x);
      disposeTree(r.grad);
    });
  }

  it('x given to the callback is freed when the callback returns', () => {
    const x0 = p0();
    let kept: Tensor | null = null;
    const r = minimize(quadratic, x0, { callback: ({ x }) => { kept = x.a; return true; } });
    expect(() => kept!.toArray()).toThrow(/disposed/);
    [x0, r.x, r.grad].forEach(disposeTree);
  });
});

describe('bad input', () => {
  const x0 = () => array([1, 2]);
  const f = (x: Tensor) => sum(square(x));
  const refuse = (options: object, message: RegExp) => {
    const x = x0();
    expect(() => minimize(f, x, options)).toThrow(ArgumentError);
    expect(() => minimize(f, x, options)).toThrow(message);
    x.dispose();
  };
  it('an unknown method or option', () => {
    refuse({ method: 'newton' }, /method must be one of 'lbfgs', 'bfgs', 'cg', 'adam', 'sgd', got "newton"/);
    refuse({ gtol: 1e-5 }, /unknown option 'gtol'/);
  });
  it('sgd without a learning rate, a learning rate for a line-search method, memory for BFGS', () => {
    refuse({ method: 'sgd' }, /needs a learningRate/);
    refuse({ learningRate: 0.1 }, /learningRate is for 'adam' and 'sgd'/);
    refuse({ method: 'bfgs', memory: 5 }, /memory is an L-BFGS option/);
  });
  it('a function that does not return a scalar', () => {
    const x = x0();
    expect(() => minimize((v: Tensor) => v.mul(2), x)).toThrow(ShapeError);
    x.dispose();
  });
});

describe('the strong-Wolfe line search', () => {
  it('the cubic interpolation step is exact for a cubic', () => {
    // f(a) = (a - 1)^3 - 3 (a - 1) has its local minimizer at a = 2.
    const f = (a: number) => (a - 1) ** 3 - 3 * (a - 1);
    const df = (a: number) => 3 * (a - 1) ** 2 - 3;
    expect(cubicMinimizer(0.5, f(0.5), df(0.5), 3, f(3), df(3))).toBeCloseTo(2, 12);
  });

  const line = (phi: (a: number) => number, dphi: (a: number) => number) => (x: Float64Array) => ({ f: phi(x[0]), g: Float64Array.of(dphi(x[0])) });
  const cases: [string, (a: number) => number, (a: number) => number, number][] = [
    ['a quadratic, first step too long', (a) => (a - 3) ** 2, (a) => 2 * (a - 3), 10],
    ['a quadratic, first step too short', (a) => (a - 3) ** 2, (a) => 2 * (a - 3), 0.01],
    ['-a exp(-a), a long step', (a) => -a * Math.exp(-a), (a) => (a - 1) * Math.exp(-a), 20],
  ];
  for (const [what, phi, dphi, alpha1] of cases) {
    it(`returns a point satisfying both conditions: ${what}`, () => {
      const c1 = 1e-4, c2 = 0.1;
      const evaluate = line(phi, dphi);
      const first = evaluate(Float64Array.of(0));
      const d = Float64Array.of(1);
      const { trial, wolfe } = strongWolfe(evaluate, { alpha: 0, x: Float64Array.of(0), f: first.f, g: first.g, slope: first.g[0] }, d, alpha1, { c1, c2 });
      expect(wolfe).toBe(true);
      const a = trial!.alpha;
      expect(phi(a)).toBeLessThanOrEqual(phi(0) + c1 * a * dphi(0));
      expect(Math.abs(dphi(a))).toBeLessThanOrEqual(c2 * Math.abs(dphi(0)));
    });
  }
});
