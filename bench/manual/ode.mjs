// Hand-written primal and gradient of GradBench's "ode" eval (cmpad's an_ode): the state
// y in R^n starts at 0 and follows
//   y_0' = x_0,   y_i' = x_i y_{i-1}  (i > 0),
// integrated by classic RK4 over t in [0, 2] with s steps. The gradient is that of the last
// entry of the final state with respect to x. GradBench's own "manual" tool returns the
// gradient of the ODE's exact solution; this one is the exact reverse-mode (adjoint) derivative
// of the discrete RK4 map computed below, so it agrees with AD of the same primal to rounding.
//
// Write S(y) = [1, y_0, ..., y_{n-2}], so f(y) = x * S(y) elementwise. One step:
//   k1 = f(y), k2 = f(y + h/2 k1), k3 = f(y + h/2 k2), k4 = f(y + h k3),
//   y' = y + h/6 (k1 + 2 k2 + 2 k3 + k4).
// Backward through one step, given the cotangent b of y' (bars are cotangents):
//   k4bar = h/6 b, k3bar = h/3 b, k2bar = h/3 b, k1bar = h/6 b, ybar = b;
//   for a stage k = x * S(z):  xbar += kbar * S(z),  zbar = S^T(x * kbar),
//   where S^T(v)_j = v_{j+1} (j < n-1) and S^T(v)_{n-1} = 0;
//   z4 = y + h k3:   ybar += z4bar, k3bar += h z4bar;   and likewise for z3, z2 (step h/2);
//   z1 = y:          ybar += z1bar.
// The stage states are recomputed from the step's start state, which the forward sweep keeps.

/** k = x * S(z): k_0 = x_0, k_i = x_i z_{i-1}. */
function rhs(n, x, z, k) {
  k[0] = x[0];
  for (let i = 1; i < n; i++) k[i] = x[i] * z[i - 1];
}

/** The four stages of one RK4 step from y (stage states into z2, z3, z4). */
function stages(n, x, y, h, k1, k2, k3, k4, z2, z3, z4) {
  rhs(n, x, y, k1);
  for (let i = 0; i < n; i++) z2[i] = y[i] + (h * k1[i]) / 2;
  rhs(n, x, z2, k2);
  for (let i = 0; i < n; i++) z3[i] = y[i] + (h * k2[i]) / 2;
  rhs(n, x, z3, k3);
  for (let i = 0; i < n; i++) z4[i] = y[i] + h * k3[i];
  rhs(n, x, z4, k4);
}

function work(n) {
  return Array.from({ length: 7 }, () => new Float64Array(n));
}

/** The final state after s RK4 steps, written into `out` (length n); returns out. */
export function odePrimal(x, s, out = new Float64Array(x.length)) {
  const n = x.length;
  const h = 2 / s;
  const [k1, k2, k3, k4, z2, z3, z4] = work(n);
  out.fill(0);
  for (let step = 0; step < s; step++) {
    stages(n, x, out, h, k1, k2, k3, k4, z2, z3, z4);
    for (let i = 0; i < n; i++) out[i] += (h * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i])) / 6;
  }
  return out;
}

/** xbar += kbar * S(z); zbar = S^T(x * kbar). */
function stageBack(n, x, z, kbar, xbar, zbar) {
  xbar[0] += kbar[0];
  for (let i = 1; i < n; i++) xbar[i] += kbar[i] * z[i - 1];
  for (let j = 0; j < n - 1; j++) zbar[j] = x[j + 1] * kbar[j + 1];
  zbar[n - 1] = 0;
}

/**
 * The last entry of the final state, with its gradient with respect to x written into `grad`
 * (length n). Keeps the s start-of-step states (s n doubles) for the backward sweep.
 */
export function odeValueAndGrad(x, s, grad) {
  const n = x.length;
  const h = 2 / s;
  const [k1, k2, k3, k4, z2, z3, z4] = work(n);
  const states = Array.from({ length: s + 1 }, () => new Float64Array(n));
  for (let step = 0; step < s; step++) {
    const y = states[step];
    const next = states[step + 1];
    stages(n, x, y, h, k1, k2, k3, k4, z2, z3, z4);
    for (let i = 0; i < n; i++) next[i] = y[i] + (h * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i])) / 6;
  }
  const value = states[s][n - 1];
  const [b, k1b, k2b, k3b, k4b, zb, yb] = work(n);
  grad.fill(0);
  b[n - 1] = 1;
  for (let step = s - 1; step >= 0; step--) {
    const y = states[step];
    stages(n, x, y, h, k1, k2, k3, k4, z2, z3, z4);
    for (let i = 0; i < n; i++) {
      yb[i] = b[i];
      k1b[i] = (h * b[i]) / 6;
      k2b[i] = (h * b[i]) / 3;
      k3b[i] = (h * b[i]) / 3;
      k4b[i] = (h * b[i]) / 6;
    }
    stageBack(n, x, z4, k4b, grad, zb);
    for (let i = 0; i < n; i++) {
      yb[i] += zb[i];
      k3b[i] += h * zb[i];
    }
    stageBack(n, x, z3, k3b, grad, zb);
    for (let i = 0; i < n; i++) {
      yb[i] += zb[i];
      k2b[i] += (h / 2) * zb[i];
    }
    stageBack(n, x, z2, k2b, grad, zb);
    for (let i = 0; i < n; i++) {
      yb[i] += zb[i];
      k1b[i] += (h / 2) * zb[i];
    }
    stageBack(n, x, y, k1b, grad, zb);
    for (let i = 0; i < n; i++) b[i] = yb[i] + zb[i];
  }
  return value;
}
