// odeint: adaptive Dormand-Prince 5(4) against closed forms (exponential decay, the harmonic
// oscillator) and against a hand-written plain-JS Dormand-Prince (bench/manual/dopri5.mjs) on
// Lotka-Volterra; its derivatives in both modes through the steps taken (finite differences,
// closed forms), the continuous adjoint against them, derivatives in ts, jit, and bad input.
import { describe, expect, vi } from 'vitest';
import {
  ArgumentError, ConvergenceError, DifferentiationError, ShapeError, array, concat, grad, jvp, linspace, memory, tidy, mul, neg, odeint, odeintWithStats,
  div, matmul, slice, square, sub, sum, tanh, vmap, type Tensor,
} from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { expectMemoryRestored, spec } from './helpers/memory.js';
import { dopri5Plain } from '../bench/manual/dopri5.mjs';
import { decay, lotkaVolterra, type LV } from './helpers/odes.js';

// Each solve is hundreds of eager steps; a busy shared machine can take seconds.
vi.setConfig({ testTimeout: 60_000 });

expectMemoryRestored();

const values = (t: Tensor) => Array.from(t.data());

const lvTrue = { alpha: 1.5, beta: 1, delta: 1, gamma: 3 };
const lvPlain = (p: typeof lvTrue) => (z: Float64Array, _t: number, dz: Float64Array) => {
  dz[0] = z[0] * (p.alpha - p.beta * z[1]);
  dz[1] = z[1] * (p.delta * z[0] - p.gamma);
};
const lvTimes = Array.from({ length: 21 }, (_, i) => i / 2);

describe('odeint values', () => {
  spec('exponential decay matches exp(-k t) to the tolerance', () => {
    const ts = linspace(0, 5, 11);
    const ys = odeint(decay, 2, ts, 0.7, { rtol: 1e-10, atol: 1e-12 });
    expect(ys.shape).toEqual([11]);
    expectClose(values(ys), values(ts).map((t) => 2 * Math.exp(-0.7 * t)), 1e-8);
  });

  spec('the harmonic oscillator keeps x = cos(w t), v = -w sin(w t) over ten periods', () => {
    const w = 2;
    const osc = (z: Tensor, _t: Tensor, om: Tensor) => concat([slice(z, [1], [1]), mul(neg(square(om)), slice(z, [0], [1]))]);
    const ts = linspace(0, 10 * Math.PI, 41);
    const ys = odeint(osc, [1, 0], ts, w, { rtol: 1e-10, atol: 1e-10 });
    expect(ys.shape).toEqual([41, 2]);
    const t = values(ts);
    expectClose(values(ys), t.flatMap((s) => [Math.cos(w * s), -w * Math.sin(w * s)]), 0, 1e-7);
  });

  spec('Lotka-Volterra equals a plain-JS Dormand-Prince, step for step', () => {
    const opts = { rtol: 1e-8, atol: 1e-8 };
    const ref = dopri5Plain(lvPlain(lvTrue), [10, 5], lvTimes, opts);
    const out = odeintWithStats(lotkaVolterra, [10, 5], lvTimes, lvTrue, opts);
    expect(out.accepted.item()).toBe(ref.accepted);
    expect(out.rejected.item()).toBe(ref.rejected);
    expect(out.evaluations.item()).toBe(ref.evaluations);
    expectClose(values(out.ys), ref.ys.flatMap((y) => Array.from(y)), 1e-10, 1e-12);
  });

  spec('a tolerance ten thousand times tighter takes more steps and lands closer to the reference at rtol 1e-13', () => {
    const exact = dopri5Plain(lvPlain(lvTrue), [10, 5], lvTimes, { rtol: 1e-13, atol: 1e-13 }).ys.flatMap((y) => Array.from(y));
    const error = (tol: number) => {
      const out = odeintWithStats(lotkaVolterra, [10, 5], lvTimes, lvTrue, { rtol: tol, atol: tol });
      return { steps: out.accepted.item(), err: Math.max(...values(out.ys).map((v, i) => Math.abs(v - exact[i]) / (1 + Math.abs(exact[i])))) };
    };
    const loose = error(1e-5), tight = error(1e-9);
    expect(tight.steps).toBeGreaterThan(loose.steps);
    expect(tight.err).toBeLessThan(loose.err / 100);
  });

  spec('the standard controller and a given first step reach the same solution', () => {
    const base = values(odeint(lotkaVolterra, [10, 5], [0, 2, 4], lvTrue, { rtol: 1e-10, atol: 1e-10 }));
    const standard = odeintWithStats(lotkaVolterra, [10, 5], [0, 2, 4], lvTrue, { rtol: 1e-10, atol: 1e-10, controller: 'standard', firstStep: 1e-3 });
    expect(standard.evaluations.item()).toBe(6 * (standard.accepted.item() + standard.rejected.item()) + 1);
    expectClose(values(standard.ys), base, 1e-7);
  });

  spec('one output time returns y0 with a leading axis of one', () => {
    expect(values(odeint(decay, [1, 2], [3], 0.5))).toEqual([1, 2]);
    expect(odeint(decay, [1, 2], [3], 0.5).shape).toEqual([1, 2]);
  });

  spec('state tensors of any shape keep their shape after the time axis', () => {
    const y0 = array([[1, 2], [3, 4]]);
    const ys = odeint(decay, y0, [0, 1], 0.5, { rtol: 1e-10 });
    expect(ys.shape).toEqual([2, 2, 2]);
    expectClose(values(ys).slice(4), [1, 2, 3, 4].map((v) => v * Math.exp(-0.5)), 1e-8);
  });
});

describe('odeint dtypes and batching', () => {
  spec('float32 inputs integrate in float32', () => {
    const ys = odeint(decay, array([1, 2], { dtype: 'float32' }), array([0, 1], { dtype: 'float32' }), array(0.5, { dtype: 'float32' }), { rtol: 1e-5, atol: 1e-6 });
    expect(ys.dtype).toBe('float32');
    expectClose(values(ys), [1, 2, Math.exp(-0.5), 2 * Math.exp(-0.5)], 1e-5);
  });

  spec('vmap over the parameters equals one solve per parameter', () => {
    const solve = (k: Tensor) => odeint(decay, 1, [0, 0.5, 1], k, { rtol: 1e-10 });
    const batched = values(vmap(solve)(array([0.5, 1, 2])));
    expect(batched).toEqual([0.5, 1, 2].flatMap((k) => values(solve(array(k)))));
  });
});

describe('odeint derivatives through the steps taken', () => {
  spec('d y(t) / d k of exponential decay is -t y0 exp(-k t), in reverse and forward mode', () => {
    const ts = [0, 0.5, 1, 2];
    const solve = (k: Tensor) => odeint(decay, 2, ts, k, { rtol: 1e-10, atol: 1e-12 });
    const expected = ts.map((t) => -t * 2 * Math.exp(-0.7 * t));
    const [, tangent] = jvp(solve, [array(0.7)], [array(1)]) as Tensor[];
    expectClose(values(tangent), expected, 1e-7, 1e-12);
    const weights = [0.3, -1, 2, 0.5];
    const g = grad((k: Tensor) => sum(mul(solve(k), array(weights))))(0.7);
    expectClose(g.item(), expected.reduce((s, e, i) => s + weights[i] * e, 0), 1e-7);
  });

  spec('derivatives in y0, ts and params agree with finite differences (forward) and forward with reverse mode', () => {
    const opts = { rtol: 1e-9, atol: 1e-9 };
    const run = (y0: Tensor, ts: Tensor, a: Tensor, g: Tensor) => odeint(lotkaVolterra, y0, ts, { alpha: a, beta: 1, delta: 1, gamma: g }, opts);
    checkGrads(run, [array([10, 5]), array([0.1, 0.7, 1.3, 2]), array(1.5), array(3)], { rtol: 1e-4 });
  });

  spec('second derivatives: d2 y(t) / dk2 = t^2 exp(-k t), taped and under a budget', () => {
    const y2 = (budget: { checkpoints?: number }) => (k: Tensor) => sum(odeint(decay, 1, [0, 2], k, { rtol: 1e-10, ...budget }));
    expectClose(grad(grad(y2({})))(0.5).item(), 4 * Math.exp(-1), 1e-6);
    expectClose(grad(grad(y2({ checkpoints: 3 })))(0.5).item(), grad(grad(y2({})))(0.5).item(), 1e-12);
  });

  spec('derivatives in ts: each output moves along f at its time, the first moves every later one', () => {
    const k = 0.7;
    const ts = array([0.2, 1, 1.5]);
    const g = grad((times: Tensor) => sum(odeint(decay, 1, times, k, { rtol: 1e-11, atol: 1e-12 })))(ts);
    const later = [1, 1.5].map((t) => Math.exp(-k * (t - 0.2)));
    expectClose(values(g), [k * (later[0] + later[1]), -k * later[0], -k * later[1]], 1e-7);
  });
});

describe('odeint derivatives under a memory budget', () => {
  const loss = (budget: { checkpoints?: number; memory?: string }) => (p: LV) =>
    sum(square(odeint(lotkaVolterra, [10, 5], lvTimes.slice(0, 11), p, { rtol: 1e-8, atol: 1e-8, ...budget })));
  const params = () => ({ alpha: array(1.5), beta: array(1), delta: array(1), gamma: array(3) });
  const peakOf = (fn: () => unknown) => {
    const before = memory().bytesInUse;
    memory({ resetPeak: true });
    tidy(() => void fn());
    return memory().peakBytes - before;
  };

  spec('with 8 snapshots the gradient equals the fully taped one, in a fraction of the memory', () => {
    const p = params();
    const taped = grad(loss({}))(p);
    const budgeted = grad(loss({ checkpoints: 8 }))(p);
    for (const key of ['alpha', 'beta', 'delta', 'gamma'] as const) expectClose(budgeted[key].item(), taped[key].item(), 1e-12);
    const tapedPeak = peakOf(() => grad(loss({}))(p));
    const budgetedPeak = peakOf(() => grad(loss({ checkpoints: 8 }))(p));
    expect(budgetedPeak).toBeLessThan(tapedPeak / 4);
  });

  spec('a byte budget works as a snapshot count', () => {
    const p = params();
    const taped = grad(loss({}))(p);
    const budgeted = grad(loss({ memory: '64KB' }))(p);
    for (const key of ['alpha', 'beta', 'delta', 'gamma'] as const) expectClose(budgeted[key].item(), taped[key].item(), 1e-12);
  });
});

describe('odeint with the continuous adjoint', () => {
  const fit = (p: LV, gradient: 'discretize' | 'adjoint') =>
    sum(square(sub(odeint(lotkaVolterra, [10, 5], lvTimes, p, { rtol: 1e-8, atol: 1e-8, gradient }), 3)));

  spec('Lotka-Volterra parameter gradients at rtol 1e-8 agree with the gradient through the steps', () => {
    const p = { alpha: array(1.5), beta: array(1), delta: array(1), gamma: array(3) };
    const steps = grad((q: LV) => fit(q, 'discretize'))(p);
    const adjoint = grad((q: LV) => fit(q, 'adjoint'))(p);
    for (const key of ['alpha', 'beta', 'delta', 'gamma'] as const) expectClose(adjoint[key].item(), steps[key].item(), 1e-5);
  });

  spec('gradients in y0 and ts agree with the gradient through the steps', () => {
    const loss = (gradient: 'discretize' | 'adjoint') => (y0: Tensor, ts: Tensor) =>
      sum(mul(odeint(lotkaVolterra, y0, ts, lvTrue, { rtol: 1e-9, atol: 1e-9, gradient }), array([[1, 0], [0.5, -1], [2, 1]])));
    const y0 = array([10, 5]), ts = array([0, 0.8, 1.7]);
    const [y0a, tsa] = grad(loss('adjoint'), { argnums: [0, 1] })(y0, ts);
    const [y0d, tsd] = grad(loss('discretize'), { argnums: [0, 1] })(y0, ts);
    expectClose(values(y0a), values(y0d), 1e-5);
    expectClose(values(tsa), values(tsd), 1e-5, 1e-6);
  });

  spec('refuses f closing over a value being differentiated, which only the steps can differentiate', () => {
    const loss = (gradient: 'discretize' | 'adjoint') => (k: Tensor) => sum(odeint((y: Tensor) => neg(mul(k, y)), 1, [0, 1], null, { rtol: 1e-10, gradient }));
    expect(() => grad(loss('adjoint'))(0.5)).toThrow(DifferentiationError);
    expect(() => grad(loss('adjoint'))(0.5)).toThrow(/Pass that value in params/);
    expectClose(grad(loss('discretize'))(0.5).item(), -Math.exp(-0.5), 1e-8);
  });

  spec('forward mode differentiates the forward solve', () => {
    const solve = (gradient: 'discretize' | 'adjoint') => (k: Tensor) => odeint(decay, 1, [0, 1], k, { rtol: 1e-10, gradient });
    const [, adj] = jvp(solve('adjoint'), [array(0.5)], [array(1)]) as Tensor[];
    const [, disc] = jvp(solve('discretize'), [array(0.5)], [array(1)]) as Tensor[];
    expect(values(adj)).toEqual(values(disc));
  });
});

describe('odeint input checks', () => {
  spec('refuses times that do not strictly increase, and ts that is not 1-D', () => {
    expect(() => odeint(decay, 1, [0, 1, 1], 0.5)).toThrow(ArgumentError);
    expect(() => odeint(decay, 1, [1, 0], 0.5)).toThrow(/strictly increase/);
    expect(() => odeint(decay, 1, [[0, 1]], 0.5)).toThrow(ShapeError);
  });

  spec('refuses f returning a different shape from y', () => {
    expect(() => odeint((y: Tensor) => sum(y), [1, 2], [0, 1], null)).toThrow(/shaped like y, \[2\], got \[\]/);
  });

  spec('refuses unknown or bad options', () => {
    expect(() => odeint(decay, 1, [0, 1], 0.5, { rtol: -1 })).toThrow(/rtol must be a number > 0/);
    expect(() => odeint(decay, 1, [0, 1], 0.5, { method: 'rk4' as 'dopri5' })).toThrow(ArgumentError);
    expect(() => odeint(decay, 1, [0, 1], 0.5, { gradient: 'backsolve' as 'adjoint' })).toThrow(/'discretize' or 'adjoint'/);
    expect(() => odeint(decay, 1, [0, 1], 0.5, { tol: 1 } as object)).toThrow(/unknown option 'tol'/);
    expect(() => odeint(decay, 1, [0, 1], 0.5, { checkpoints: 0 })).toThrow(/odeint: checkpoints must be an integer >= 1/);
    expect(() => odeint(decay, 1, [0, 1], 0.5, { memory: 'lots' })).toThrow(ArgumentError);
    expect(() => odeint(decay, 1, [0, 1], 0.5, { checkpoints: 4, memory: '1MB' })).toThrow(/either \{checkpoints\} or \{memory\}/);
  });

  spec('stops with a ConvergenceError when f returns NaN', () => {
    const blowUp = (y: Tensor, t: Tensor) => mul(y, div(1, sub(0.5, t)));
    expect(() => odeint(blowUp, 1, [0, 1], null)).toThrow(/too small to move t \(or NaN/);
    expect(() => odeint((y: Tensor) => mul(y, NaN), 1, [0, 1], null)).toThrow(ConvergenceError);
  });

  spec('throws a ConvergenceError when maxSteps runs out outside jit', () => {
    expect(() => odeint(decay, 1, [0, 1e6], 0.5, { maxSteps: 20 })).toThrow(ConvergenceError);
    expect(() => odeint(decay, 1, [0, 1e6], 0.5, { maxSteps: 20 })).toThrow(/Raise maxSteps/);
  });
});


describe('odeint with a matrix of parameters', () => {
  // y' = tanh(W y): the adjoint's parameter cotangent is a matrix, a^T df/dW = (a * (1 - tanh^2)) y^T.
  const net = (y: Tensor, _t: Tensor, W: Tensor) => tanh(matmul(W, y));
  const W0 = () => array([[0.3, -1.2, 0.5], [0.9, 0.1, -0.7], [-0.4, 0.8, 0.2]]);
  const loss = (gradient: 'discretize' | 'adjoint') => (W: Tensor) =>
    sum(square(odeint(net, [1, -0.5, 0.25], [0, 1, 2.5, 4], W, { rtol: 1e-9, atol: 1e-9, gradient })));

  spec('the adjoint gradient in W agrees with the gradient through the steps', () => {
    const steps = values(grad(loss('discretize'))(W0()));
    const adjoint = values(grad(loss('adjoint'))(W0()));
    const scale = Math.max(...steps.map(Math.abs));
    expectClose(adjoint, steps, 0, 1e-6 * scale);
  });

  spec('the gradient through the steps in W agrees with finite differences', () => {
    checkGrads((W: Tensor) => loss('discretize')(W), [W0()], { rtol: 1e-5 });
  });
});
