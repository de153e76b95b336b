// The adaptive Dormand-Prince 5(4) integrator, written as one whileLoop over step attempts on
// tensors, so that jit stages it as one loop equation, jvp pushes tangents through the steps,
// and reverse mode differentiates the steps actually taken (discretise-then-optimise).
//
// Each iteration attempts one step from (t, y) with step h, estimates its error, and accepts
// it when the scaled RMS error is <= 1. An accepted step writes the outputs whose times fall in
// (t, t + h] from the step's dense output (all of them at once, through a mask over ts), so one
// loop serves every requested time and the carry is the same at every step. The step-size
// controller follows Hairer's DOPRI5: a PI controller (beta = 0.04) with safety factor and
// bounded growth and shrinkage, no growth right after a rejection, and Hairer's initial step.
//
// The step sizes are chosen from values with their gradient stopped: derivatives are those of
// the computed solution with the sequence of steps held fixed (the sequence is piecewise
// constant in the inputs, so this is the derivative almost everywhere). Only the last step,
// clipped to end at ts[-1], moves with the inputs (with ts[-1] and the times before it).
import { ArgumentError, ConcretizationError, ConvergenceError, ShapeError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { ones } from '../tensor/create.js';
import { scalarOf } from '../ops/convert.js';
import { abs, add, div, greater, less, lessEqual, maximum, minimum, mul, pow, sqrt, square, sub, where } from '../ops/elementwise.js';
import { stopGradient } from '../ops/convert.js';
import { mean } from '../ops/reduce.js';
import { broadcastTo } from '../ops/sum.js';
import { reshape, slice, stack } from '../ops/shape.js';
import { matmul } from '../ops/matmul.js';
import { whileLoop } from '../checkpoint/loops.js';
import { A, C, D, E } from './tableau.js';

/** The right-hand side as the integrator calls it: dy/dt at (y, t), shaped like y. */
export type Rhs = (y: Tensor, t: Tensor) => Tensor;

/** Step-size control, all fields set (odeint fills the defaults). */
export interface StepControl {
  rtol: number;
  atol: number;
  maxSteps: number;
  /** The first step; null: Hairer's initial step selection. */
  firstStep: number | null;
  safety: number;
  minFactor: number;
  maxFactor: number;
  /** The PI controller's beta (Hairer's 0.04); 0 is the standard (I) controller. */
  beta: number;
  /** The reverse-mode budget of the step loop: snapshots of its carry, or bytes. */
  checkpoints?: number;
  memory?: number | string;
}

/** The solution at each time of ts (leading axis), and what it took. */
export interface Dopri5Result {
  ys: Tensor;
  /** Accepted steps, a scalar tensor. */
  accepted: Tensor;
  /** Rejected step attempts, a scalar tensor. */
  rejected: Tensor;
  /** Evaluations of the right-hand side, a scalar tensor. */
  evaluations: Tensor;
}

interface Carry {
  [key: string]: Tensor;
  y: Tensor;
  /** f(t, y), the next step's first stage. */
  k: Tensor;
  t: Tensor;
  h: Tensor;
  /** The previous accepted step's error (Hairer keeps it >= 1e-4), for the PI controller. */
  errOld: Tensor;
  ys: Tensor;
  accepted: Tensor;
  rejected: Tensor;
  /** 1 when the last attempt was rejected: the next accepted step may not grow. */
  lastRejected: Tensor;
}

/** y + h sum_j w_j k_j over the non-zero weights. */
function combine(y: Tensor, h: Tensor, weights: readonly number[], ks: readonly Tensor[]): Tensor {
  let acc: Tensor | null = null;
  weights.forEach((w, j) => {
    if (w === 0) return;
    const term = mul(ks[j], w);
    acc = acc === null ? term : add(acc, term);
  });
  return acc === null ? y : add(y, mul(h, acc));
}

const rms = (x: Tensor): Tensor => sqrt(mean(square(x)));

/** Element i of a 1-D tensor as a scalar. */
export const at = (x: Tensor, i: number): Tensor => reshape(slice(x, [i], [1]), []);

interface Attempt {
  yNew: Tensor;
  /** f at the new point (the seventh stage). */
  kNew: Tensor;
  /** The scaled RMS error estimate (accept when <= 1). */
  err: Tensor;
  /** The dense-output coefficients r1..r5 of Hairer's contd5. */
  dense: Tensor[];
}

/** One Dormand-Prince step from (t, y) with step h and first stage k1 = f(y, t). */
function attempt(rhs: Rhs, y: Tensor, k1: Tensor, t: Tensor, h: Tensor, control: StepControl): Attempt {
  const ks = [k1];
  let yNew = y;
  for (let i = 0; i < 6; i++) {
    const yi = combine(y, h, A[i], ks);
    if (i === 5) yNew = yi;
    ks.push(rhs(yi, add(t, mul(h, C[i]))));
  }
  const kNew = ks[6];
  const scale = add(control.atol, mul(maximum(abs(y), abs(yNew)), control.rtol));
  const err = rms(div(sub(combine(y, h, E, ks), y), scale));
  const r2 = sub(yNew, y);
  const r3 = sub(mul(h, k1), r2);
  const r4 = sub(sub(r2, mul(h, kNew)), r3);
  const r5 = sub(combine(y, h, D, ks), y);
  return { yNew, kNew, err, dense: [y, r2, r3, r4, r5] };
}

/**
 * The dense output at fractions theta ([nt]) of the step, [nt, size]:
 *   r1 + th r2 + th (1-th) r3 + th^2 (1-th) r4 + th^2 (1-th)^2 r5,
 * as one product of the [nt, 5] basis values with the [5, size] coefficients, so that reverse
 * mode keeps O(nt + size) per step rather than several [nt, size] intermediates.
 */
function interpolate(dense: Tensor[], theta: Tensor): Tensor {
  const rest = sub(1, theta);
  const th2rest = mul(square(theta), rest);
  const basis = stack([ones(theta.shape, { dtype: theta.dtype }), theta, mul(theta, rest), th2rest, mul(th2rest, rest)], 1);
  return matmul(basis, stack(dense.map((r) => reshape(r, [r.size])), 0));
}

/**
 * Hairer's initial step (Solving ODEs I, section II.4): an explicit Euler step of size
 * h0 = 0.01 |y0| / |f0| estimates the second derivative, and h = (0.01 / max(|f0|, |f'|))^(1/5),
 * at most 100 h0, all norms scaled by the tolerances. Costs one evaluation of f.
 */
function initialStep(rhs: Rhs, y0: Tensor, t0: Tensor, k0: Tensor, control: StepControl): Tensor {
  const y = stopGradient(y0), k = stopGradient(k0), t = stopGradient(t0);
  const scale = add(control.atol, mul(abs(y), control.rtol));
  const d0 = rms(div(y, scale));
  const d1 = rms(div(k, scale));
  const tiny = maximum(less(d0, 1e-5), less(d1, 1e-5));
  const h0 = where(tiny, 1e-6, mul(0.01, div(d0, d1)));
  const k1 = stopGradient(rhs(add(y, mul(h0, k)), add(t, h0)));
  const d2 = div(rms(div(sub(k1, k), scale)), h0);
  const dMax = maximum(d1, d2);
  const h1 = where(lessEqual(dMax, 1e-15), maximum(1e-6, mul(h0, 1e-3)), pow(div(0.01, dMax), 1 / 5));
  return minimum(mul(h0, 100), h1);
}

/** The next step size after an attempt with error `err` (Hairer's DOPRI5 controller). */
function nextStep(c: Carry, h: Tensor, err: Tensor, ok: Tensor, control: StepControl): { h: Tensor; errOld: Tensor } {
  const { safety, minFactor, maxFactor, beta } = control;
  const fac11 = pow(err, 0.2 - 0.75 * beta);
  // The inverse factor h / hNew, bounded to [1 / maxFactor, 1 / minFactor].
  const inverse = minimum(1 / minFactor, maximum(1 / maxFactor, div(div(fac11, pow(c.errOld, beta)), safety)));
  const grown = div(h, inverse);
  const afterAccept = where(c.lastRejected, minimum(grown, h), grown);
  const afterReject = div(h, minimum(1 / minFactor, div(fac11, safety)));
  return {
    h: stopGradient(where(ok, afterAccept, afterReject)),
    errOld: stopGradient(where(ok, maximum(err, 1e-4), c.errOld)),
  };
}

/** The value of a scalar tensor, or null when it is traced (inside jit). */
function concrete(x: Tensor): number | null {
  try {
    return x.item();
  } catch (e) {
    if (e instanceof ConcretizationError) return null;
    throw e;
  }
}

/**
 * Integrates dy/dt = rhs(y, t) from ts[0] and returns y at every time of ts (strictly
 * increasing, checked when concrete). Outputs the loop did not reach (maxSteps, or a NaN or
 * vanishing step, inside jit) are NaN; outside jit that throws a ConvergenceError.
 */
export function dopri5(op: string, rhs: Rhs, y0: Tensor, ts: Tensor, control: StepControl): Dopri5Result {
  if (ts.ndim !== 1 || ts.size < 1) throw new ShapeError(`${op}: ts must be a 1-D tensor of at least one time, got shape ${fmtShape(ts.shape)}.`);
  const nt = ts.size;
  const t0 = at(ts, 0);
  const tEnd = at(ts, nt - 1);
  checkIncreasing(op, ts);
  const rowShape = [nt, ...y0.shape.map(() => 1)];
  const first = reshape(lessEqual(ts, t0), rowShape);
  const ys0 = where(first, broadcastTo(y0, [nt, ...y0.shape]), NaN);
  const zero = scalarOf(0, y0.dtype);
  if (nt === 1) return { ys: ys0, accepted: zero, rejected: zero, evaluations: zero };
  const k0 = rhs(y0, t0);
  const h0 = control.firstStep === null ? initialStep(rhs, y0, t0, k0, control) : scalarOf(control.firstStep, y0.dtype);
  const init: Carry = { y: y0, k: k0, t: t0, h: h0, errOld: scalarOf(1e-4, y0.dtype), ys: ys0, accepted: zero, rejected: zero, lastRejected: zero };
  const body = (c: Carry): Carry => {
    const h = minimum(c.h, sub(tEnd, c.t));
    const step = attempt(rhs, c.y, c.k, c.t, h, control);
    const err = stopGradient(step.err);
    const ok = lessEqual(err, 1);
    const tNew = add(c.t, h);
    // Outputs in (t, t + h] come from this step's dense output.
    const inStep = mul(ok, mul(greater(ts, c.t), lessEqual(ts, tNew)));
    const theta = div(sub(ts, c.t), h);
    const ys = where(reshape(inStep, rowShape), reshape(interpolate(step.dense, theta), c.ys.shape), c.ys);
    const next = nextStep(c, h, err, ok, control);
    return {
      y: where(ok, step.yNew, c.y), k: where(ok, step.kNew, c.k), t: where(ok, tNew, c.t), h: next.h, errOld: next.errOld, ys,
      accepted: add(c.accepted, ok), rejected: add(c.rejected, sub(1, ok)), lastRejected: sub(1, ok),
    };
  };
  const budget = control.checkpoints !== undefined ? { checkpoints: control.checkpoints } : control.memory !== undefined ? { memory: control.memory } : {};
  // Stops at ts[-1], after maxSteps attempts, or when the step is NaN (f gave NaN) or too small
  // to move t.
  const going = (c: Carry) => mul(mul(less(c.t, tEnd), less(add(c.accepted, c.rejected), control.maxSteps)), greater(add(c.t, c.h), c.t));
  const out = whileLoop(going, body, init, budget);
  if (concrete(less(out.t, tEnd)) === 1) {
    const attempts = concrete(add(out.accepted, out.rejected))!;
    const why = attempts >= control.maxSteps ? `maxSteps (${control.maxSteps}) step attempts ran out` : `the step size became ${concrete(out.h)}, too small to move t (or NaN: f returned NaN or Infinity)`;
    throw new ConvergenceError(`${op}: ${why} before t = ${concrete(tEnd)} (stopped at t = ${concrete(out.t)} after ${concrete(out.accepted)} accepted steps). Raise maxSteps, loosen rtol/atol, or check the system for stiffness, a blow-up or NaN.`);
  }
  const attempts = add(out.accepted, out.rejected);
  const evaluations = add(mul(attempts, 6), control.firstStep === null ? 2 : 1);
  return { ys: out.ys, accepted: out.accepted, rejected: out.rejected, evaluations };
}

/** Refuses concrete times that do not strictly increase (traced ones cannot be checked). */
function checkIncreasing(op: string, ts: Tensor): void {
  let values: Float64Array;
  try {
    values = Float64Array.from(stopGradient(ts).data());
  } catch (e) {
    if (e instanceof ConcretizationError) return;
    throw e;
  }
  for (let i = 1; i < values.length; i++) {
    if (!(values[i] > values[i - 1])) {
      throw new ArgumentError(`${op}: ts must strictly increase, but ts[${i - 1}] = ${values[i - 1]} and ts[${i}] = ${values[i]}. To integrate backwards in time, substitute s = -t (f(y, -s) negated).`);
    }
  }
}
