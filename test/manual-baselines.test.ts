// The field suite (bench/suites/field.mjs) times dualtape against hand-written plain-JS value
// and gradient functions (bench/manual/). Those baselines are only worth timing if they are
// right: each hand-written gradient here equals central finite differences of the
// hand-written primal and dualtape's valueAndGrad of the suite's dualtape model, in float64,
// at random inputs. Nothing is timed. (The suite itself checks the jitted versions against
// these baselines before it times them; jit programs keep constants until a GC, so they are
// not run here under the file's memory check.)
import { describe, expect } from 'vitest';
import * as dt from './helpers/api.js';
import { expectMemoryRestored, spec } from './helpers/memory.js';
import * as manual from '../bench/manual/index.mjs';
import * as models from '../bench/suites/field-models.mjs';

expectMemoryRestored();

/** A seeded stream of uniform numbers in [lo, hi) (mulberry32), so failures reproduce. */
function uniforms(seed: number, count: number, lo = -1, hi = 1): Float64Array {
  let a = seed >>> 0;
  return Float64Array.from({ length: count }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return lo + ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo));
  });
}

/** Central differences of f at x, step 1e-6 scaled by max(1, |x_i|). */
function centralDifferences(f: (x: Float64Array) => number, x: Float64Array): Float64Array {
  return Float64Array.from(x, (xi, i) => {
    const step = 1e-6 * Math.max(1, Math.abs(xi));
    const plus = x.slice();
    const minus = x.slice();
    plus[i] = xi + step;
    minus[i] = xi - step;
    return (f(plus) - f(minus)) / (2 * step);
  });
}

/** Every |got_i - want_i| is within rtol of the largest |want_j| (one scale for a gradient). */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number): void {
  expect(got.length).toBe(want.length);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  expect(scale).toBeGreaterThan(0);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst / scale).toBeLessThanOrEqual(rtol);
}

/** The numbers of a tensor or a list of tensors, flattened in order. */
const numbers = (t: dt.Tensor | dt.Tensor[]): Float64Array => Float64Array.from([t].flat().flatMap((x) => Array.from(x.data())));

const FD_RTOL = 1e-6;
const AD_RTOL = 1e-10;

describe('logsumexp baseline', () => {
  const x = uniforms(1, 50, -4, 4);
  const grad = new Float64Array(x.length);
  const value = manual.logsumexpValueAndGrad(x, grad);

  spec('its value is the primal', () => {
    expect(value).toBe(manual.logsumexp(x));
    const direct = Math.log(x.reduce((s, v) => s + Math.exp(v), 0));
    expect(Math.abs(value - direct)).toBeLessThan(1e-13);
  });
  spec('its gradient matches finite differences', () => {
    expectClose(grad, centralDifferences(manual.logsumexp, x), FD_RTOL);
  });
  spec('its value and gradient match dualtape valueAndGrad', () => {
    const [v, g] = dt.valueAndGrad(models.logsumexpModel(dt))(dt.array(x));
    expectClose([v.item()], [value], AD_RTOL);
    expectClose(numbers(g), grad, AD_RTOL);
  });
  spec('its value and gradient match dualtape valueAndGrad of the composed model (max, exp, sum, log)', () => {
    const [v, g] = dt.valueAndGrad(models.logsumexpComposedModel(dt))(dt.array(x));
    expectClose([v.item()], [value], AD_RTOL);
    expectClose(numbers(g), grad, AD_RTOL);
  });
});

describe('ode baseline (GradBench ode, RK4)', () => {
  const s = 10;
  const x = uniforms(2, 12, 0.5, 1.5);
  const last = (xs: Float64Array) => manual.odePrimal(xs, s)[xs.length - 1];
  const grad = new Float64Array(x.length);
  const value = manual.odeValueAndGrad(x, s, grad);

  spec('its value is the last entry of the primal', () => {
    expect(value).toBe(last(x));
  });
  spec('the primal is near the ODE solution at t = 2 (y_i = x_0 ... x_i 2^(i+1) / (i+1)! for the first entries)', () => {
    const y = manual.odePrimal(x, s);
    // y_0 = 2 x_0 and y_1 = 2 x_0 x_1 are polynomials of degree <= 2, which RK4 integrates exactly.
    expect(Math.abs(y[0] - 2 * x[0])).toBeLessThan(1e-14);
    expect(Math.abs(y[1] - 2 * x[0] * x[1])).toBeLessThan(1e-14);
  });
  spec('its gradient matches finite differences', () => {
    expectClose(grad, centralDifferences(last, x), FD_RTOL);
  });
  spec('its value and gradient match dualtape valueAndGrad', () => {
    const [v, g] = dt.valueAndGrad(models.odeModel(dt, s))(dt.array(x));
    expectClose([v.item()], [value], AD_RTOL);
    expectClose(numbers(g), grad, AD_RTOL);
  });
});

describe('lstm baseline (GradBench lstm)', () => {
  const [l, c, b] = [2, 8, 4];
  const main = uniforms(3, 8 * l * b);
  const extra = uniforms(4, 3 * b);
  const state = uniforms(5, 2 * l * b);
  const seq = uniforms(6, c * b);
  const mainGrad = new Float64Array(main.length);
  const extraGrad = new Float64Array(extra.length);
  const value = manual.lstmValueAndGrad(l, c, b, main, extra, state, seq, mainGrad, extraGrad);

  spec('its value is the objective', () => {
    expect(value).toBe(manual.lstmObjective(l, c, b, main, extra, state, seq));
  });
  spec('its gradient with respect to the main parameters matches finite differences', () => {
    expectClose(mainGrad, centralDifferences((m) => manual.lstmObjective(l, c, b, m, extra, state, seq), main), FD_RTOL);
  });
  spec('its gradient with respect to the extra parameters matches finite differences', () => {
    expectClose(extraGrad, centralDifferences((e) => manual.lstmObjective(l, c, b, main, e, state, seq), extra), FD_RTOL);
  });
  spec('its value and gradient match dualtape valueAndGrad', () => {
    const f = models.lstmModel(dt);
    const args = [dt.array(main, { shape: [l, 8, b] }), dt.array(extra, { shape: [3, b] }), dt.array(state, { shape: [l, 2, b] }), dt.array(seq, { shape: [c, b] })] as const;
    const [v, [gm, ge]] = dt.valueAndGrad(f, { argnums: [0, 1] })(...args);
    expectClose([v.item()], [value], AD_RTOL);
    expectClose(numbers(gm), mainGrad, AD_RTOL);
    expectClose(numbers(ge), extraGrad, AD_RTOL);
  });
});

describe('det baseline (GradBench det, cofactor expansion)', () => {
  const ell = 5;
  const A = uniforms(7, ell * ell);
  const grad = new Float64Array(A.length);
  const value = manual.detValueAndGrad(A, ell, grad);

  spec('its value is the primal, and the primal is the determinant', () => {
    expect(Math.abs(value - manual.detPrimal(A, ell))).toBeLessThan(1e-14);
    expect(Math.abs(value - dt.det(dt.array(A, { shape: [ell, ell] })).item())).toBeLessThan(1e-13);
  });
  spec('its gradient matches finite differences', () => {
    expectClose(grad, centralDifferences((a) => manual.detPrimal(a, ell), A), FD_RTOL);
  });
  spec('its gradient is det(A) inv(A)^T (the cofactor identity)', () => {
    const inv = dt.inv(dt.array(A, { shape: [ell, ell] }));
    expectClose(grad, numbers(dt.mul(value, dt.transpose(inv))), 1e-10);
  });
  spec('its value and gradient match dualtape valueAndGrad', () => {
    const [v, g] = dt.valueAndGrad(models.detModel(dt))(dt.array(A, { shape: [ell, ell] }));
    expectClose([v.item()], [value], AD_RTOL);
    expectClose(numbers(g), grad, AD_RTOL);
  });
});

describe('Lotka-Volterra baseline (RK4 loop, 4 parameters)', () => {
  const setting = { ...manual.LV, steps: 60 };
  const { x0, y0, h, steps } = setting;
  const p = Float64Array.from(manual.LV.p, (v, i) => v * (1 + 0.1 * uniforms(8, 4)[i]));
  const grad = new Float64Array(4);
  const value = manual.lotkaVolterraValueAndGrad(Array.from(p), x0, y0, h, steps, grad);

  spec('its value is the primal', () => {
    expect(value).toBe(manual.lotkaVolterra(Array.from(p), x0, y0, h, steps));
  });
  spec('its gradient matches finite differences', () => {
    expectClose(grad, centralDifferences((q) => manual.lotkaVolterra(Array.from(q), x0, y0, h, steps), p), FD_RTOL);
  });
  spec('its value and gradient match dualtape valueAndGrad (JS loop)', () => {
    const [v, g] = dt.valueAndGrad(models.lotkaVolterraModel(dt, setting))(Array.from(p, (q) => dt.scalar(q)));
    expectClose([v.item()], [value], AD_RTOL);
    expectClose(numbers(g), grad, AD_RTOL);
  });
  spec('its value and gradient match dualtape valueAndGrad (fori loop)', () => {
    const [v, g] = dt.valueAndGrad(models.lotkaVolterraForiModel(dt, setting))(Array.from(p, (q) => dt.scalar(q)));
    expectClose([v.item()], [value], AD_RTOL);
    expectClose(numbers(g), grad, AD_RTOL);
  });
});

describe('Rosenbrock baseline (scalar)', () => {
  const points = uniforms(9, 10, -2, 2);
  spec('its gradient matches finite differences and dualtape valueAndGrad at five points', () => {
    const f = dt.valueAndGrad(models.rosenbrockModel(dt), { argnums: [0, 1] });
    for (let k = 0; k < points.length; k += 2) {
      const [x, y] = [points[k], points[k + 1]];
      const grad = new Float64Array(2);
      const value = manual.rosenbrockValueAndGrad(x, y, grad);
      expect(value).toBe(manual.rosenbrock(x, y));
      expectClose(grad, manual.rosenbrockGrad(x, y, new Float64Array(2)), 0);
      expectClose(grad, centralDifferences((q) => manual.rosenbrock(q[0], q[1]), Float64Array.of(x, y)), FD_RTOL);
      const [v, g] = f(dt.scalar(x), dt.scalar(y));
      expectClose([v.item()], [value], AD_RTOL);
      expectClose(numbers(g), grad, AD_RTOL);
    }
  });
});
