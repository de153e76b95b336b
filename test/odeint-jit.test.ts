// odeint inside jit: one loop equation, the same numbers as eager, NaN past maxSteps, and the
// adjoint gradient of a jitted solve. A jitted function keeps its programs (and their planned
// buffers) while it lives, so memory is checked flat across calls rather than restored.
import { describe, expect, it, vi } from 'vitest';
import { array, codegenControl, grad, greater, jit, jvp, memory, mul, odeint, square, sum, tidy, whileLoop, type Tensor } from './helpers/api.js';
import { expectClose } from './helpers/check.js';
import { spec } from './helpers/memory.js';
import { decay, lotkaVolterra, type LV } from './helpers/odes.js';

// Each solve is hundreds of eager steps; a busy shared machine can take seconds.
vi.setConfig({ testTimeout: 60_000 });

const values = (t: Tensor) => Array.from(t.data());
const lvTimes = Array.from({ length: 21 }, (_, i) => i / 2);
const lvParams = () => ({ alpha: array(1.5), beta: array(1), delta: array(1), gamma: array(3) });

describe('odeint inside jit', () => {
  spec('is one loop equation and equals the eager solve', () => {
    const solve = (p: LV) => odeint(lotkaVolterra, [10, 5], lvTimes, p, { rtol: 1e-8, atol: 1e-8 });
    const jitted = jit(solve);
    const p = lvParams();
    expect(jitted.program(p).equations.filter((e) => e.call?.name === 'whileLoop').length).toBe(1);
    expect(values(jitted(p))).toEqual(values(solve(p)));
  });

  spec('the adjoint gradient, as grad(jit(f)) and jit(grad(f)), equals the eager one and the closed form', () => {
    const loss = (k: Tensor) => sum(odeint(decay, 1, [0, 1, 2], k, { rtol: 1e-10, gradient: 'adjoint' }));
    expectClose(grad(jit(loss))(0.5).item(), grad(loss)(0.5).item(), 1e-12);
    expectClose(jit(grad(loss))(0.5).item(), grad(loss)(0.5).item(), 1e-12);
    expectClose(grad(loss)(0.5).item(), -Math.exp(-0.5) - 2 * Math.exp(-1), 1e-7);
  });

  spec('forward mode through the jitted solve equals eager forward mode', () => {
    const solve = (k: Tensor) => odeint(decay, 1, [0, 0.5, 1], k, { rtol: 1e-10 });
    const [, eager] = jvp(solve, [array(0.5)], [array(1)]) as Tensor[];
    const [, staged] = jvp(jit(solve), [array(0.5)], [array(1)]) as Tensor[];
    // jvp(jit(f)) stages the tangent loop as one whileLoop (forward-loops.ts) whose scalar body
    // is generated code: its Math.* calls are within an ulp of the kernels (codegen.test.ts),
    // so the last bit may differ; run by the kernels the two are bit-equal.
    expectClose(values(staged), values(eager), 1e-14);
    codegenControl.enabled = false;
    try {
      const [, interpreted] = jvp(jit(solve), [array(0.5)], [array(1)]) as Tensor[];
      expect(values(interpreted)).toEqual(values(eager));
    } finally {
      codegenControl.enabled = true;
    }
  });

  spec('the gradient through the steps is the same eager, through grad(jit(f)) and as jit(grad(f))', () => {
    const loss = (p: LV) => sum(square(odeint(lotkaVolterra, [10, 5], lvTimes, p, { rtol: 1e-8, atol: 1e-8 })));
    const p = lvParams();
    const eager = grad(loss)(p);
    const outer = grad(jit(loss))(p);
    const inner = jit(grad(loss))(p);
    for (const key of ['alpha', 'beta', 'delta', 'gamma'] as const) {
      expectClose(outer[key].item(), eager[key].item(), 1e-12);
      expectClose(inner[key].item(), eager[key].item(), 1e-12);
    }
  });

  spec('jit(grad(f)) with a snapshot budget equals the eager gradient, in ts too', () => {
    const loss = (ts: Tensor) => sum(square(odeint(lotkaVolterra, [10, 5], ts, lvParams(), { rtol: 1e-8, atol: 1e-8, checkpoints: 6 })));
    const ts = array([0, 0.7, 1.9, 3]);
    expectClose(values(jit(grad(loss))(ts)), values(grad(loss)(ts)), 1e-12);
  });

  spec('outputs past maxSteps are NaN inside jit', () => {
    const out = values(jit((k: Tensor) => odeint(decay, 1, [0, 1, 1e6], k, { maxSteps: 20 }))(array(0.5)));
    expect(out[0]).toBe(1);
    expect(out[1]).toBeCloseTo(Math.exp(-0.5), 7);
    expect(out[2]).toBeNaN();
  });

  it('a jitted solve called 20 times holds memory flat after the first call', () => {
    const solve = jit((p: LV) => odeint(lotkaVolterra, [10, 5], lvTimes, p, { rtol: 1e-6, atol: 1e-6 }));
    const p = lvParams();
    tidy(() => void solve(p));
    const after1 = memory().bytesInUse;
    for (let i = 0; i < 20; i++) tidy(() => void solve(p));
    expect(memory().bytesInUse).toBe(after1);
    Object.values(p).forEach((t) => t.dispose());
  });
});

describe('jvp of a jitted whileLoop whose condition reads a differentiated value', () => {
  // Halve x until it is below 1: the step count depends on x itself, so the forward derivative
  // cannot be staged; the jitted call is replayed op by op instead (as odeint's is).
  const halve = (x: Tensor) => whileLoop(([y]: Tensor[]) => greater(y, 1), ([y]: Tensor[]) => [mul(y, 0.5)], [x])[0] as Tensor;

  spec('equals the eager derivative', () => {
    const [y, dy] = jvp(jit(halve), [array(10)], [array(1)]) as Tensor[];
    expect(y.item()).toBe(0.625);
    expect(dy.item()).toBe(0.0625);
  });
});
