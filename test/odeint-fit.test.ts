// The README's parameter-fitting example, run as written: Lotka-Volterra parameters fitted to
// noisy observations with minimize (L-BFGS) and odeint, gradients through the steps taken.
import { expect, it } from 'vitest';
import { add, concat, mean, memory, minimize, mul, odeint, randn, slice, square, sub, tidy, type Tensor } from './helpers/api.js';

it('fits Lotka-Volterra parameters to noisy data', () => {
  const before = memory().bytesInUse;
  tidy(() => {
    // --- README example begins
    type Params = { alpha: Tensor; beta: Tensor; delta: Tensor; gamma: Tensor };
    // Prey x and predators y: x' = x (alpha - beta y), y' = y (delta x - gamma).
    const lotkaVolterra = (z: Tensor, t: Tensor, p: Params) => {
      const x = slice(z, [0], [1]), y = slice(z, [1], [1]);
      return concat([mul(x, sub(p.alpha, mul(p.beta, y))), mul(y, sub(mul(p.delta, x), p.gamma))]);
    };
    const ts = Array.from({ length: 41 }, (_, i) => i / 4); // t = 0, 0.25, ..., 10
    const y0 = [2, 1];
    const truth = { alpha: 1.5, beta: 1, delta: 1, gamma: 3 };
    // Observations: the true trajectory plus noise of standard deviation 0.05.
    const clean = odeint(lotkaVolterra, y0, ts, truth);
    const noise = randn(clean.shape, { seed: 7 }).mul(0.05);
    const data = add(clean, noise);

    const loss = (p: Params) => mean(square(sub(odeint(lotkaVolterra, y0, ts, p, { rtol: 1e-6, atol: 1e-6 }), data)));
    const guess = { alpha: 1.3, beta: 0.8, delta: 0.8, gamma: 2.5 };
    const fit = minimize(loss, guess, { method: 'lbfgs', tol: 1e-6 });
    fit.x; // { alpha: 1.477, beta: 0.981, delta: 1.020, gamma: 3.049 } after 20 iterations (truth 1.5, 1, 1, 3)
    // --- README example ends
    const got = Object.fromEntries(Object.entries(fit.x).map(([k, v]) => [k, (v as Tensor).item()]));
    for (const key of ['alpha', 'beta', 'delta', 'gamma'] as const) expect(Math.abs(got[key] - truth[key])).toBeLessThan(0.05 * truth[key]);
    expect(fit.fun).toBeLessThan(0.0025); // below the noise variance: the fit is as close to the data as the truth
    expect(fit.converged).toBe(true);
  });
  expect(memory().bytesInUse).toBe(before);
}, 120_000);
