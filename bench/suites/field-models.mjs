// The field suite's workloads written with dualtape's public API, the way a user would write
// them: each takes the library module `dt` (dist in the bench, src in the tests) and returns
// the function to differentiate. Their hand-written counterparts are under bench/manual/.

/** logsumexp of a vector, the library's op. */
export const logsumexpModel = (dt) => (x) => dt.logsumexp(x);

/**
 * The same written out from elementwise ops and reductions, as a user without the op would:
 * m + log(sum(exp(x - m))), the shift m = max(x) held constant (it cancels in the derivative).
 * An elementwise chain feeding a reduction: what jit's fusion is for.
 */
export const logsumexpComposedModel = (dt) => (x) => {
  const m = dt.stopGradient(dt.max(x));
  return dt.add(m, dt.log(dt.sum(dt.exp(dt.sub(x, m)))));
};

/**
 * GradBench "ode": y' = x * [1, y_0, ..., y_{n-2}] from y = 0, RK4 with s steps over [0, 2];
 * the last entry of the final state.
 */
export function odeModel(dt, s) {
  return (x) => {
    const n = x.shape[0];
    const h = 2 / s;
    const one = dt.ones([1]);
    const f = (y) => dt.mul(x, dt.concat([one, dt.slice(y, [0], [n - 1])]));
    let y = dt.zeros([n]);
    for (let step = 0; step < s; step++) {
      const k1 = f(y);
      const k2 = f(dt.add(y, dt.mul(h / 2, k1)));
      const k3 = f(dt.add(y, dt.mul(h / 2, k2)));
      const k4 = f(dt.add(y, dt.mul(h, k3)));
      y = dt.add(y, dt.mul(h / 6, dt.add(dt.add(k1, dt.mul(2, k2)), dt.add(dt.mul(2, k3), k4))));
    }
    return dt.sum(dt.slice(y, [n - 1], [1]));
  };
}

/**
 * GradBench "lstm" (ADBench's diagonal-weight LSTM): main [l, 8, b] (per layer the forget,
 * ingate, outgate and change weights, then their biases), extra [3, b] (input weight, output
 * weight, output bias), state [l, 2, b] (initial hidden and cell), seq [c, b]. The objective.
 */
export const lstmModel = (dt) => (main, extra, state, seq) => {
  const [l, , b] = main.shape;
  const c = seq.shape[0];
  const row = (t, ...at) => dt.reshape(dt.slice(t, [...at, 0], [...at.map(() => 1), b]), [b]);
  const W = Array.from({ length: l }, (_, j) => Array.from({ length: 8 }, (_, g) => row(main, j, g)));
  const hidden = Array.from({ length: l }, (_, j) => row(state, j, 0));
  const cell = Array.from({ length: l }, (_, j) => row(state, j, 1));
  return lstmObjective(dt, W, [0, 1, 2].map((k) => row(extra, k)), hidden, cell, Array.from({ length: c }, (_, t) => row(seq, t)));
};

/**
 * The LSTM's objective from its rows: W[j] the 8 weight and bias rows of layer j, E the input
 * weight, output weight and output bias rows, the initial hidden and cell rows per layer, and
 * the sequence xs, one row per step.
 */
export function lstmObjective(dt, W, E, hidden, cell, xs) {
  const [inW, outW, outB] = E;
  const c = xs.length;
  hidden = [...hidden];
  cell = [...cell];
  let total = dt.scalar(0);
  for (let t = 0; t < c - 1; t++) {
    let u = dt.mul(xs[t], inW);
    for (let j = 0; j < W.length; j++) {
      const [Wf, Wi, Wo, Wc, bf, bi, bo, bc] = W[j];
      const forget = dt.sigmoid(dt.add(dt.mul(u, Wf), bf));
      const ingate = dt.sigmoid(dt.add(dt.mul(hidden[j], Wi), bi));
      const outgate = dt.sigmoid(dt.add(dt.mul(u, Wo), bo));
      const change = dt.tanh(dt.add(dt.mul(hidden[j], Wc), bc));
      cell[j] = dt.add(dt.mul(cell[j], forget), dt.mul(ingate, change));
      hidden[j] = dt.mul(outgate, dt.tanh(cell[j]));
      u = hidden[j];
    }
    const y = dt.add(dt.mul(u, outW), outB);
    const lse = dt.log(dt.add(dt.sum(dt.exp(y)), 2));
    total = dt.add(total, dt.sum(dt.mul(xs[t + 1], dt.sub(y, lse))));
  }
  return dt.mul(total, -1 / ((c - 1) * xs[0].size));
}

/** GradBench "det": the determinant of a square matrix by cofactor expansion along the first row. */
export const detModel = (dt) => (A) => {
  const ell = A.shape[0];
  const a = dt.split(A, ell, 0).map((r) => dt.split(dt.reshape(r, [ell]), ell, 0).map((e) => dt.reshape(e, [])));
  const minor = (r0, cols) => {
    if (cols.length === 1) return a[r0][cols[0]];
    let total = null;
    cols.forEach((c, j) => {
      const term = dt.mul(a[r0][c], minor(r0 + 1, cols.filter((_, k) => k !== j)));
      total = total === null ? term : j % 2 === 0 ? dt.add(total, term) : dt.sub(total, term);
    });
    return total;
  };
  return minor(0, Array.from({ length: ell }, (_, j) => j));
};

/** Lotka-Volterra's right-hand side with parameters [alpha, beta, gamma, delta]. */
function lvStep(dt, [a, b, g, d], h) {
  const rhs = (x, y) => {
    const xy = dt.mul(x, y);
    return [dt.sub(dt.mul(a, x), dt.mul(b, xy)), dt.sub(dt.mul(d, xy), dt.mul(g, y))];
  };
  return (x, y) => {
    const [k1x, k1y] = rhs(x, y);
    const [k2x, k2y] = rhs(dt.add(x, dt.mul(h / 2, k1x)), dt.add(y, dt.mul(h / 2, k1y)));
    const [k3x, k3y] = rhs(dt.add(x, dt.mul(h / 2, k2x)), dt.add(y, dt.mul(h / 2, k2y)));
    const [k4x, k4y] = rhs(dt.add(x, dt.mul(h, k3x)), dt.add(y, dt.mul(h, k3y)));
    const combine = (z, k1, k2, k3, k4) => dt.add(z, dt.mul(h / 6, dt.add(dt.add(k1, dt.mul(2, k2)), dt.add(dt.mul(2, k3), k4))));
    return [combine(x, k1x, k2x, k3x, k4x), combine(y, k1y, k2y, k3y, k4y)];
  };
}

/** 2-state Lotka-Volterra, RK4, a plain JS loop (unrolled when jitted); the final prey. */
export const lotkaVolterraModel = (dt, { x0, y0, h, steps }) => (p) => {
  const step = lvStep(dt, p, h);
  let x = dt.scalar(x0);
  let y = dt.scalar(y0);
  for (let s = 0; s < steps; s++) [x, y] = step(x, y);
  return x;
};

/** The same with the loop as dualtape's fori (one loop equation when jitted). */
export const lotkaVolterraForiModel = (dt, { x0, y0, h, steps }) => (p) => {
  const step = lvStep(dt, p, h);
  const [x] = dt.fori(0, steps, (_, [x, y]) => step(x, y), [dt.scalar(x0), dt.scalar(y0)]);
  return x;
};

/** Scalar Rosenbrock (1 - x)^2 + 100 (y - x^2)^2. */
export const rosenbrockModel = (dt) => (x, y) => dt.add(dt.square(dt.sub(1, x)), dt.mul(100, dt.square(dt.sub(y, dt.square(x)))));
