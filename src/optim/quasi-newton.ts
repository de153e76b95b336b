// Line-search methods on a flat float64 vector: L-BFGS (N&W Algorithms 7.4 and 7.5, the
// two-loop recursion over the last m curvature pairs), BFGS with a dense inverse Hessian
// (N&W Algorithm 6.1, the first step scaled by eq. 6.20), and nonlinear conjugate gradients
// (Polak-Ribiere+, N&W eq. 5.44). All stop when the largest gradient component is <= tol.
import { axpy, dot, maxAbs, norm2, type Evaluation } from './objective.js';
import { strongWolfe, type Trial } from './line-search.js';

export interface VectorProblem {
  x0: Float64Array;
  evaluate: (x: Float64Array) => Evaluation;
  tol: number;
  maxIter: number;
  /** Called after each iteration; true stops the run. */
  onIteration: (iteration: number, x: Float64Array, f: number, g: Float64Array) => boolean;
}

export interface VectorResult {
  x: Float64Array;
  f: number;
  g: Float64Array;
  iterations: number;
  converged: boolean;
  message: string;
}

export const MESSAGES = {
  converged: (tol: number) => `converged: the largest gradient component is <= tol (${tol})`,
  maxIter: (n: number) => `stopped after maxIter (${n}) iterations without meeting tol`,
  callback: 'stopped by the callback',
  lineSearch: 'stopped: the line search found no point that decreases f along a descent direction (f may be non-smooth there, or tol is below what rounding allows)',
  nonFinite: 'stopped: f or its gradient is not finite at the starting point',
};

/** A search direction's state: turns the gradient into a descent direction, learns from steps. */
interface Direction {
  direction(g: Float64Array): Float64Array;
  /** Learns from the step s = x1 - x0 with gradient change y = g1 - g0. */
  update(s: Float64Array, y: Float64Array, g1: Float64Array, g0: Float64Array): void;
  /** Forgets curvature (after a failed line search), so that the next direction is -g. */
  reset(): void;
  /** The first step to try, given the last accepted one. */
  firstStep(iteration: number, d: Float64Array, slope: number, fDrop: number): number;
  readonly c2: number;
}

function run(problem: VectorProblem, dir: Direction): VectorResult {
  const { evaluate, tol, maxIter } = problem;
  const first = evaluate(problem.x0);
  let cur: Trial = { alpha: 0, x: Float64Array.from(problem.x0), f: first.f, g: first.g, slope: 0 };
  const done = (iterations: number, converged: boolean, message: string): VectorResult =>
    ({ x: cur.x, f: cur.f, g: cur.g, iterations, converged, message });
  if (!Number.isFinite(cur.f) || !Number.isFinite(maxAbs(cur.g))) return done(0, false, MESSAGES.nonFinite);
  let fDrop = 0;
  let retried = false;
  for (let k = 0; ; ) {
    if (maxAbs(cur.g) <= tol) return done(k, true, MESSAGES.converged(tol));
    if (k >= maxIter) return done(k, false, MESSAGES.maxIter(maxIter));
    let d = dir.direction(cur.g);
    let slope = dot(cur.g, d);
    if (!(slope < 0)) {
      dir.reset();
      d = dir.direction(cur.g);
      slope = dot(cur.g, d);
    }
    const start: Trial = { ...cur, alpha: 0, slope };
    const { trial } = strongWolfe(evaluate, start, d, dir.firstStep(k, d, slope, fDrop), { c1: 1e-4, c2: dir.c2 });
    if (trial === null) {
      // One retry from scratch along -g before giving up.
      if (retried) return done(k, false, MESSAGES.lineSearch);
      retried = true;
      dir.reset();
      continue;
    }
    retried = false;
    const s = axpy(trial.x, -1, cur.x);
    const y = axpy(trial.g, -1, cur.g);
    dir.update(s, y, trial.g, cur.g);
    fDrop = cur.f - trial.f;
    cur = trial;
    k++;
    if (problem.onIteration(k, cur.x, cur.f, cur.g)) return done(k, false, MESSAGES.callback);
  }
}

/** The first trial step of quasi-Newton methods: 1/||d|| at the start (as L-BFGS-B), then 1. */
function quasiNewtonStep(fresh: () => boolean) {
  return (_k: number, d: Float64Array) => (fresh() ? Math.min(1e10, 1 / norm2(d)) : 1);
}

/** L-BFGS with `m` curvature pairs. */
export function lbfgs(problem: VectorProblem, m: number): VectorResult {
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  const alphas = new Float64Array(m);
  const dir: Direction = {
    c2: 0.9,
    direction(g) {
      // Two-loop recursion: r = H g with H the L-BFGS inverse Hessian, H0 = gamma I.
      const q = Float64Array.from(g);
      for (let i = s.length - 1; i >= 0; i--) {
        alphas[i] = rho[i] * dot(s[i], q);
        axpy(q, -alphas[i], y[i], q);
      }
      const last = s.length - 1;
      const gamma = last >= 0 ? dot(s[last], y[last]) / dot(y[last], y[last]) : 1;
      for (let i = 0; i < q.length; i++) q[i] *= gamma;
      for (let i = 0; i < s.length; i++) {
        const beta = rho[i] * dot(y[i], q);
        axpy(q, alphas[i] - beta, s[i], q);
      }
      for (let i = 0; i < q.length; i++) q[i] = -q[i];
      return q;
    },
    update(si, yi) {
      const sy = dot(si, yi);
      // Skip pairs without positive curvature (a weak line search can produce them).
      if (!(sy > 2.220446049250313e-16 * dot(yi, yi))) return;
      if (s.length === m) {
        s.shift();
        y.shift();
        rho.shift();
      }
      s.push(si);
      y.push(yi);
      rho.push(1 / sy);
    },
    reset() {
      s.length = 0;
      y.length = 0;
      rho.length = 0;
    },
    firstStep: quasiNewtonStep(() => s.length === 0),
  };
  return run(problem, dir);
}

/** BFGS with a dense n x n inverse Hessian approximation. */
export function bfgs(problem: VectorProblem): VectorResult {
  const n = problem.x0.length;
  let H: Float64Array | null = null; // null: the identity, before the first update
  const Hy = new Float64Array(n);
  const dir: Direction = {
    c2: 0.9,
    direction(g) {
      const d = new Float64Array(n);
      if (H === null) {
        for (let i = 0; i < n; i++) d[i] = -g[i];
        return d;
      }
      for (let i = 0; i < n; i++) {
        let acc = 0;
        const row = i * n;
        for (let j = 0; j < n; j++) acc += H[row + j] * g[j];
        d[i] = -acc;
      }
      return d;
    },
    update(s, y) {
      const sy = dot(s, y);
      if (!(sy > 2.220446049250313e-16 * dot(y, y))) return;
      if (H === null) {
        // N&W 6.20: scale the identity by s.y / y.y before the first update.
        H = new Float64Array(n * n);
        const scale = sy / dot(y, y);
        for (let i = 0; i < n; i++) H[i * n + i] = scale;
      }
      const h = H;
      const rho = 1 / sy;
      for (let i = 0; i < n; i++) {
        let acc = 0;
        const row = i * n;
        for (let j = 0; j < n; j++) acc += h[row + j] * y[j];
        Hy[i] = acc;
      }
      // H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T
      //    = H - rho (s Hy^T + Hy s^T) + (rho^2 y.Hy + rho) s s^T   (H symmetric)
      const c = rho * rho * dot(y, Hy) + rho;
      for (let i = 0; i < n; i++) {
        const row = i * n;
        for (let j = 0; j < n; j++) h[row + j] += -rho * (s[i] * Hy[j] + Hy[i] * s[j]) + c * s[i] * s[j];
      }
    },
    reset() {
      H = null;
    },
    firstStep: quasiNewtonStep(() => H === null),
  };
  return run(problem, dir);
}

/** Nonlinear conjugate gradients, Polak-Ribiere+, restarting along -g when d is not descent. */
export function cg(problem: VectorProblem): VectorResult {
  let d: Float64Array | null = null;
  let pending: Float64Array | null = null;
  const dir: Direction = {
    // N&W recommend a tighter curvature condition for CG than for quasi-Newton methods.
    c2: 0.1,
    direction(g) {
      if (pending !== null) {
        d = pending;
        pending = null;
        return d;
      }
      d = Float64Array.from(g, (v) => -v);
      return d;
    },
    update(_s, _y, g1, g0) {
      const beta = Math.max(0, (dot(g1, g1) - dot(g1, g0)) / dot(g0, g0));
      const next = new Float64Array(g1.length);
      for (let i = 0; i < g1.length; i++) next[i] = -g1[i] + beta * d![i];
      pending = next;
    },
    reset() {
      pending = null;
    },
    firstStep(k, dk, slope, fDrop) {
      // N&W eq. 3.60: assume the first-order change matches the last iteration's decrease.
      if (k === 0 || !(fDrop > 0)) return Math.min(1, 1 / norm2(dk));
      return Math.min(1, 1.01 * 2 * fDrop / -slope);
    },
  };
  return run(problem, dir);
}
