// odeint inside jit: one loop equation, the same numbers as eager, NaN past maxSteps, and the
// adjoint gradient of a jitted solve. A jitted function keeps its programs (and their planned
// buffers) while it lives, so memory is checked flat across calls rather than restored.
import { describe, expect, it } from 'vitest';
import { array, concat, grad, jit, memory, mul, neg, odeint, slice, sub, sum, tidy, type Tensor } from './helpers/api.js';
import { expectClose } from './helpers/check.js';
import { spec } from './helpers/memory.js';

const values = (t: Tensor) => Array.from(t.data());
const decay = (y: Tensor, _t: Tensor, k: Tensor) => neg(mul(k, y));
type LV = { alpha: Tensor; beta: Tensor; delta: Tensor; gamma: Tensor };
const lotkaVolterra = (z: Tensor, _t: Tensor, p: LV) => {
  const x = slice(z, [0], [1]), y = slice(z, [1], [1]);
  return concat([mul(x, sub(p.alpha, mul(p.beta, y))), mul(y, sub(mul(p.delta, x), p.gamma))]);
};
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

  spec('the adjoint gradient of a jitted solve equals the eager one and the closed form', () => {
    const loss = (k: Tensor) => sum(odeint(decay, 1, [0, 1, 2], k, { rtol: 1e-10, gradient: 'adjoint' }));
    expectClose(grad(jit(loss))(0.5).item(), grad(loss)(0.5).item(), 1e-12);
    expectClose(grad(loss)(0.5).item(), -Math.exp(-0.5) - 2 * Math.exp(-1), 1e-7);
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
