// Right-hand sides the odeint tests share, as f(y, t, params).
import { concat, mul, neg, slice, sub, type Tensor } from './api.js';

/** Exponential decay y' = -k y. */
export const decay = (y: Tensor, _t: Tensor, k: Tensor) => neg(mul(k, y));

/** Lotka-Volterra's parameters. */
export type LV = { alpha: Tensor; beta: Tensor; delta: Tensor; gamma: Tensor };

/** Lotka-Volterra: prey x' = x (alpha - beta y), predators y' = y (delta x - gamma). */
export const lotkaVolterra = (z: Tensor, _t: Tensor, p: LV) => {
  const x = slice(z, [0], [1]), y = slice(z, [1], [1]);
  return concat([mul(x, sub(p.alpha, mul(p.beta, y))), mul(y, sub(mul(p.delta, x), p.gamma))]);
};
