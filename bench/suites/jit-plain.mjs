// Hand-written plain-JS baselines for the jit suite: the physical limit a staged program could
// approach on one core (no tensors, no dispatch, no allocation in the loop). The gradients are
// derived by hand below and checked against central finite differences before anything is timed.

/** The 2-D Rosenbrock function f(x, y) = (1 - x)^2 + 100 (y - x^2)^2. */
export function rosenbrockPlain(x, y) {
  const r = y - x * x;
  return (1 - x) * (1 - x) + 100 * r * r;
}

/**
 * Its gradient, by hand: with r = y - x^2,
 * df/dx = -2 (1 - x) - 400 x r,  df/dy = 200 r.
 * Writes into `out` (length 2) so a timing loop allocates nothing.
 */
export function rosenbrockPlainGrad(x, y, out) {
  const r = y - x * x;
  out[0] = -2 * (1 - x) - 400 * x * r;
  out[1] = 200 * r;
  return out;
}

/**
 * Lotka-Volterra, p = [alpha, beta, gamma, delta]:
 * x' = alpha x - beta x y (prey), y' = delta x y - gamma y (predators).
 * Classic RK4 with step h; returns the prey population after `steps` steps.
 */
export function lotkaVolterraPlain(p, x0, y0, h, steps) {
  const [a, b, g, d] = p;
  const h2 = h / 2;
  const h6 = h / 6;
  let x = x0;
  let y = y0;
  for (let s = 0; s < steps; s++) {
    const k1x = a * x - b * x * y;
    const k1y = d * x * y - g * y;
    const x2 = x + h2 * k1x;
    const y2 = y + h2 * k1y;
    const k2x = a * x2 - b * x2 * y2;
    const k2y = d * x2 * y2 - g * y2;
    const x3 = x + h2 * k2x;
    const y3 = y + h2 * k2y;
    const k3x = a * x3 - b * x3 * y3;
    const k3y = d * x3 * y3 - g * y3;
    const x4 = x + h * k3x;
    const y4 = y + h * k3y;
    const k4x = a * x4 - b * x4 * y4;
    const k4y = d * x4 * y4 - g * y4;
    x += h6 * (k1x + 2 * k2x + 2 * k3x + k4x);
    y += h6 * (k1y + 2 * k2y + 2 * k3y + k4y);
  }
  return x;
}

/**
 * The prey population after `steps` RK4 steps and its gradient with respect to the four
 * parameters, by forward-mode sensitivities of the discrete RK4 map (so it is the exact
 * derivative of what lotkaVolterraPlain computes, not of the ODE's flow).
 *
 * Each state z = (x, y) carries its sensitivity dz/dp_j for each parameter j. For a stage
 * k = F(z; p) at the stage state z_i:
 *   dk/dp_j = Jz(z_i) dz_i/dp_j + dF/dp_j(z_i), with
 *   Jz = [[alpha - beta y, -beta x], [delta y, delta x - gamma]],
 *   dF/dp = [[x, -x y, 0, 0], [0, 0, -y, x y]]   (columns: alpha, beta, gamma, delta),
 * and the stage states and the update are linear in (z, k), so the sensitivities follow them
 * with the same coefficients: dz_2 = dz + h/2 dk_1, ..., dz' = dz + h/6 (dk_1 + 2 dk_2 + 2 dk_3 + dk_4).
 * Each step runs the primal stages first, then the four parameters' tangent recurrences.
 * Writes the gradient into `grad` (length 4) and returns the value.
 */
export function lotkaVolterraPlainGrad(p, x0, y0, h, steps, grad) {
  const [a, b, g, d] = p;
  const h2 = h / 2;
  const h6 = h / 6;
  let x = x0;
  let y = y0;
  const sx = new Float64Array(4);
  const sy = new Float64Array(4);
  for (let s = 0; s < steps; s++) {
    const x1 = x;
    const y1 = y;
    const k1x = a * x1 - b * x1 * y1;
    const k1y = d * x1 * y1 - g * y1;
    const x2 = x + h2 * k1x;
    const y2 = y + h2 * k1y;
    const k2x = a * x2 - b * x2 * y2;
    const k2y = d * x2 * y2 - g * y2;
    const x3 = x + h2 * k2x;
    const y3 = y + h2 * k2y;
    const k3x = a * x3 - b * x3 * y3;
    const k3y = d * x3 * y3 - g * y3;
    const x4 = x + h * k3x;
    const y4 = y + h * k3y;
    const k4x = a * x4 - b * x4 * y4;
    const k4y = d * x4 * y4 - g * y4;
    for (let j = 0; j < 4; j++) {
      // dF/dp_j at a stage state (xi, yi) = (ax xi + bx xi yi, gy yi + dy xi yi): one of the
      // four coefficients is +-1, the others 0 (products with 0 and 1 are exact).
      const ax = j === 0 ? 1 : 0;
      const bx = j === 1 ? -1 : 0;
      const gy = j === 2 ? -1 : 0;
      const dy = j === 3 ? 1 : 0;
      const dx1 = sx[j];
      const dy1 = sy[j];
      const dk1x = (a - b * y1) * dx1 - b * x1 * dy1 + (ax * x1 + bx * x1 * y1);
      const dk1y = d * y1 * dx1 + (d * x1 - g) * dy1 + (gy * y1 + dy * x1 * y1);
      const dx2 = dx1 + h2 * dk1x;
      const dy2 = dy1 + h2 * dk1y;
      const dk2x = (a - b * y2) * dx2 - b * x2 * dy2 + (ax * x2 + bx * x2 * y2);
      const dk2y = d * y2 * dx2 + (d * x2 - g) * dy2 + (gy * y2 + dy * x2 * y2);
      const dx3 = dx1 + h2 * dk2x;
      const dy3 = dy1 + h2 * dk2y;
      const dk3x = (a - b * y3) * dx3 - b * x3 * dy3 + (ax * x3 + bx * x3 * y3);
      const dk3y = d * y3 * dx3 + (d * x3 - g) * dy3 + (gy * y3 + dy * x3 * y3);
      const dx4 = dx1 + h * dk3x;
      const dy4 = dy1 + h * dk3y;
      const dk4x = (a - b * y4) * dx4 - b * x4 * dy4 + (ax * x4 + bx * x4 * y4);
      const dk4y = d * y4 * dx4 + (d * x4 - g) * dy4 + (gy * y4 + dy * x4 * y4);
      sx[j] = dx1 + h6 * (dk1x + 2 * dk2x + 2 * dk3x + dk4x);
      sy[j] = dy1 + h6 * (dk1y + 2 * dk2y + 2 * dk3y + dk4y);
    }
    x += h6 * (k1x + 2 * k2x + 2 * k3x + k4x);
    y += h6 * (k1y + 2 * k2y + 2 * k3y + k4y);
  }
  for (let j = 0; j < 4; j++) grad[j] = sx[j];
  return x;
}

/**
 * Central differences of `f` at `p` (relative step `eps`), to check a hand-written gradient.
 * The step is scaled by max(1, |p_j|) so that it is well above rounding for every component.
 */
export function centralDifferences(f, p, eps = 1e-6) {
  return p.map((pj, j) => {
    const step = eps * Math.max(1, Math.abs(pj));
    const plus = p.slice();
    const minus = p.slice();
    plus[j] = pj + step;
    minus[j] = pj - step;
    return (f(plus) - f(minus)) / (2 * step);
  });
}

/** Largest |a_i - b_i| / max(1, max_i |b_i|): one scale for a whole gradient. */
export function relativeError(a, b) {
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
  return worst;
}
