// A line search for the strong Wolfe conditions (Nocedal and Wright, Numerical Optimization,
// 2nd ed., Algorithms 3.5 and 3.6): along a descent direction d from x, find a step a with
//   f(x + a d) <= f(x) + c1 a g.d          (sufficient decrease)
//   |g(x + a d).d| <= c2 |g.d|             (curvature, strong form)
// The bracketing phase grows the step until it brackets such a point; zoom shrinks the
// bracket, each trial at the minimizer of the cubic that matches f and its slope at both ends
// (N&W eq. 3.59), falling back to bisection when that lands too close to an end.
import { axpy, dot, type Evaluation } from './objective.js';

/** One evaluated point on the line. */
export interface Trial {
  alpha: number;
  x: Float64Array;
  f: number;
  g: Float64Array;
  /** The slope along d: g . d. */
  slope: number;
}

export interface LineSearchOptions {
  c1: number;
  c2: number;
  /** Trials before giving up (default 30). */
  maxTrials?: number;
}

export interface LineSearchResult {
  /** The accepted point, or null when no trial decreased f enough. */
  trial: Trial | null;
  /** False when the point decreases f but the curvature condition was not met in time. */
  wolfe: boolean;
}

/**
 * The minimizer of the cubic through (a, fa) and (b, fb) with slopes da and db (N&W 3.59);
 * NaN when the cubic has no minimizer.
 */
export function cubicMinimizer(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - 3 * (fa - fb) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - (b - a) * (db + d2 - d1) / (db - da + 2 * d2);
}

/**
 * Searches along `d` from `start` (alpha 0) for a strong Wolfe point, trying `alpha1` first.
 * `evaluate` gives f and its gradient at a point.
 */
export function strongWolfe(evaluate: (x: Float64Array) => Evaluation, start: Trial, d: Float64Array, alpha1: number,
  options: LineSearchOptions): LineSearchResult {
  const { c1, c2 } = options;
  const maxTrials = options.maxTrials ?? 30;
  const f0 = start.f;
  const slope0 = start.slope;
  let trials = 0;
  const at = (alpha: number): Trial => {
    trials++;
    const x = axpy(start.x, alpha, d);
    const { f, g } = evaluate(x);
    return { alpha, x, f, g, slope: dot(g, d) };
  };
  const decreases = (t: Trial) => t.f <= f0 + c1 * t.alpha * slope0; // false for NaN
  const flat = (t: Trial) => Math.abs(t.slope) <= -c2 * slope0;

  // Algorithm 3.6: lo satisfies sufficient decrease with the lowest f seen; [lo, hi] brackets.
  const zoom = (lo: Trial, hi: Trial): LineSearchResult => {
    while (trials < maxTrials) {
      const width = hi.alpha - lo.alpha;
      if (Math.abs(width) <= 1e-14 * Math.max(1, Math.abs(lo.alpha))) break;
      let alpha = Number.isFinite(hi.f) && Number.isFinite(hi.slope)
        ? cubicMinimizer(lo.alpha, lo.f, lo.slope, hi.alpha, hi.f, hi.slope)
        : NaN;
      const left = Math.min(lo.alpha, hi.alpha), right = Math.max(lo.alpha, hi.alpha);
      const margin = 0.1 * (right - left);
      if (!(alpha >= left + margin && alpha <= right - margin)) alpha = lo.alpha + 0.5 * width;
      const t = at(alpha);
      if (!decreases(t) || t.f >= lo.f) {
        hi = t;
      } else {
        if (flat(t)) return { trial: t, wolfe: true };
        if (t.slope * (hi.alpha - lo.alpha) >= 0) hi = lo;
        lo = t;
      }
    }
    return lo.alpha > 0 ? { trial: lo, wolfe: false } : { trial: null, wolfe: false };
  };

  // Algorithm 3.5: grow the step until the interval (prev, cur) brackets a Wolfe point.
  let prev = start;
  let alpha = alpha1;
  for (let i = 0; trials < maxTrials; i++) {
    const cur = at(alpha);
    if (!decreases(cur) || (i > 0 && cur.f >= prev.f)) return zoom(prev, cur);
    if (flat(cur)) return { trial: cur, wolfe: true };
    if (cur.slope >= 0) return zoom(cur, prev);
    // Extrapolate: the cubic's minimizer beyond cur, kept within [1.1, 4] times the last step.
    const span = cur.alpha - prev.alpha;
    const guess = cubicMinimizer(prev.alpha, prev.f, prev.slope, cur.alpha, cur.f, cur.slope);
    const lower = cur.alpha + 1.1 * span, upper = cur.alpha + 4 * span;
    alpha = Number.isFinite(guess) ? Math.min(upper, Math.max(lower, guess)) : upper;
    prev = cur;
  }
  return prev.alpha > 0 ? { trial: prev, wolfe: false } : { trial: null, wolfe: false };
}
