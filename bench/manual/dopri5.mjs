// A hand-written Dormand-Prince 5(4) integrator in plain JavaScript over Float64Arrays: the
// reference odeint's tests compare against, and the baseline its benchmark times. Same method
// as src/ode/dopri5.ts (Hairer's DOPRI5 step control, initial step and dense output), written
// independently as straight loops over the state.

const C2 = 1 / 5, C3 = 3 / 10, C4 = 4 / 5, C5 = 8 / 9;
const A21 = 1 / 5;
const A31 = 3 / 40, A32 = 9 / 40;
const A41 = 44 / 45, A42 = -56 / 15, A43 = 32 / 9;
const A51 = 19372 / 6561, A52 = -25360 / 2187, A53 = 64448 / 6561, A54 = -212 / 729;
const A61 = 9017 / 3168, A62 = -355 / 33, A63 = 46732 / 5247, A64 = 49 / 176, A65 = -5103 / 18656;
const A71 = 35 / 384, A73 = 500 / 1113, A74 = 125 / 192, A75 = -2187 / 6784, A76 = 11 / 84;
const E1 = 71 / 57600, E3 = -71 / 16695, E4 = 71 / 1920, E5 = -17253 / 339200, E6 = 22 / 525, E7 = -1 / 40;
const D1 = -12715105075 / 11282082432, D3 = 87487479700 / 32700410799, D4 = -10690763975 / 1880347072,
  D5 = 701980252875 / 199316789632, D6 = -1453857185 / 822651844, D7 = 69997945 / 29380423;

/**
 * Integrates dy/dt = f(y, t) (f writes dy/dt into its third argument) from y(ts[0]) = y0 and
 * returns y at each time of ts (strictly increasing) with the step counts.
 * @param {(y: Float64Array, t: number, dy: Float64Array) => void} f
 * @param {ArrayLike<number>} y0
 * @param {ArrayLike<number>} ts
 * @param {{rtol?: number, atol?: number, maxSteps?: number, safety?: number, minFactor?: number, maxFactor?: number, beta?: number}} [options]
 * @returns {{ys: Float64Array[], accepted: number, rejected: number, evaluations: number}}
 */
export function dopri5Plain(f, y0, ts, options = {}) {
  const { rtol = 1.4e-8, atol = 1.4e-8, maxSteps = 100_000, safety = 0.9, minFactor = 0.2, maxFactor = 10, beta = 0.04 } = options;
  const n = y0.length;
  const nt = ts.length;
  const ys = [Float64Array.from(y0)];
  if (nt === 1) return { ys, accepted: 0, rejected: 0, evaluations: 0 };
  const vec = () => new Float64Array(n);
  let y = Float64Array.from(y0), yNew = vec(), tmp = vec();
  let k1 = vec(), k7 = vec();
  const k2 = vec(), k3 = vec(), k4 = vec(), k5 = vec(), k6 = vec();
  const r5 = vec();
  let t = ts[0];
  const tEnd = ts[nt - 1];
  f(y, t, k1);
  let evaluations = 1;

  // Hairer's initial step.
  let d0 = 0, d1 = 0;
  for (let i = 0; i < n; i++) {
    const sc = atol + Math.abs(y[i]) * rtol;
    d0 += (y[i] / sc) ** 2;
    d1 += (k1[i] / sc) ** 2;
  }
  d0 = Math.sqrt(d0 / n);
  d1 = Math.sqrt(d1 / n);
  const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * (d0 / d1);
  for (let i = 0; i < n; i++) tmp[i] = y[i] + h0 * k1[i];
  f(tmp, t + h0, k2);
  evaluations++;
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += ((k2[i] - k1[i]) / (atol + Math.abs(y[i]) * rtol)) ** 2;
  d2 = Math.sqrt(d2 / n) / h0;
  const dMax = Math.max(d1, d2);
  const h1 = dMax <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / dMax) ** (1 / 5);
  let hNext = Math.min(100 * h0, h1);

  let errOld = 1e-4, lastRejected = false, accepted = 0, rejected = 0, next = 1;
  while (t < tEnd && accepted + rejected < maxSteps) {
    const h = Math.min(hNext, tEnd - t);
    for (let i = 0; i < n; i++) tmp[i] = y[i] + h * A21 * k1[i];
    f(tmp, t + C2 * h, k2);
    for (let i = 0; i < n; i++) tmp[i] = y[i] + h * (A31 * k1[i] + A32 * k2[i]);
    f(tmp, t + C3 * h, k3);
    for (let i = 0; i < n; i++) tmp[i] = y[i] + h * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i]);
    f(tmp, t + C4 * h, k4);
    for (let i = 0; i < n; i++) tmp[i] = y[i] + h * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]);
    f(tmp, t + C5 * h, k5);
    for (let i = 0; i < n; i++) tmp[i] = y[i] + h * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i] + A65 * k5[i]);
    f(tmp, t + h, k6);
    for (let i = 0; i < n; i++) yNew[i] = y[i] + h * (A71 * k1[i] + A73 * k3[i] + A74 * k4[i] + A75 * k5[i] + A76 * k6[i]);
    f(yNew, t + h, k7);
    evaluations += 6;
    let err = 0;
    for (let i = 0; i < n; i++) {
      const e = h * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i] + E7 * k7[i]);
      const sc = atol + Math.max(Math.abs(y[i]), Math.abs(yNew[i])) * rtol;
      err += (e / sc) ** 2;
    }
    err = Math.sqrt(err / n);
    const fac11 = err ** (0.2 - 0.75 * beta);
    if (err <= 1) {
      // Dense output for the requested times in (t, t + h].
      for (let i = 0; i < n; i++) r5[i] = h * (D1 * k1[i] + D3 * k3[i] + D4 * k4[i] + D5 * k5[i] + D6 * k6[i] + D7 * k7[i]);
      while (next < nt && ts[next] <= t + h) {
        const th = (ts[next] - t) / h, th1 = 1 - th;
        const out = vec();
        for (let i = 0; i < n; i++) {
          const r2 = yNew[i] - y[i], r3 = h * k1[i] - r2, r4 = r2 - h * k7[i] - r3;
          out[i] = y[i] + th * (r2 + th1 * (r3 + th * (r4 + th1 * r5[i])));
        }
        ys.push(out);
        next++;
      }
      const inverse = Math.min(1 / minFactor, Math.max(1 / maxFactor, fac11 / errOld ** beta / safety));
      hNext = h / inverse;
      if (lastRejected) hNext = Math.min(hNext, h);
      errOld = Math.max(err, 1e-4);
      t += h;
      [y, yNew] = [yNew, y];
      [k1, k7] = [k7, k1];
      accepted++;
      lastRejected = false;
    } else {
      hNext = h / Math.min(1 / minFactor, fac11 / safety);
      rejected++;
      lastRejected = true;
    }
  }
  if (t < tEnd) throw new Error(`dopri5Plain: maxSteps (${maxSteps}) reached at t = ${t}`);
  return { ys, accepted, rejected, evaluations };
}
