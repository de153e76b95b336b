// odeint(f, y0, ts, params, options): the solution of dy/dt = f(y, t, params) at the times ts,
// as jax.experimental.ode.odeint, with an adaptive Dormand-Prince 5(4) integrator. The gradient
// comes from reverse mode through the steps the integrator took ('discretize', the default) or
// from the continuous adjoint ('adjoint', JAX's method).
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { Tensor, type NestedArray } from '../tensor/tensor.js';
import { array } from '../tensor/create.js';
import { resultDType, toTensor, type TensorLike } from '../ops/convert.js';
import { flatten, rebuild, type Tree } from '../tree.js';
import { checkFunction, checkOptions } from '../transforms/util.js';
import type { TensorTree } from '../solve/root.js';
import { parseOptions } from '../checkpoint/scan-options.js';
import { adjointOdeint, type LeafRhs } from './adjoint.js';
import { dopri5, type Dopri5Result, type StepControl } from './dopri5.js';

export interface OdeintOptions {
  /** The integrator: 'dopri5' (the default and only one), adaptive Dormand-Prince 5(4). */
  method?: 'dopri5';
  /** Relative tolerance per step (default 1.4e-8, as JAX). */
  rtol?: number;
  /** Absolute tolerance per step (default 1.4e-8, as JAX). */
  atol?: number;
  /** Step attempts allowed before giving up (default 100,000; JAX's is unbounded). */
  maxSteps?: number;
  /** The first step size; by default Hairer's initial step selection picks it. */
  firstStep?: number;
  /** The step-size controller: 'pi' (default, Hairer's DOPRI5 with beta = 0.04) or 'standard'. */
  controller?: 'pi' | 'standard';
  /** Safety factor on the proposed step (default 0.9). */
  safety?: number;
  /** The most a step may shrink, as a factor (default 0.2). */
  minFactor?: number;
  /** The most a step may grow, as a factor (default 10). */
  maxFactor?: number;
  /**
   * How reverse mode differentiates the solve: 'discretize' (default) differentiates the steps
   * taken, exact for the computed solution; 'adjoint' integrates the continuous adjoint system
   * backwards, as JAX (memory independent of the step count; accurate to the tolerances; only
   * y0, ts and params are differentiated; f closing over a differentiated value throws).
   */
  gradient?: 'discretize' | 'adjoint';
  /**
   * Reverse mode through the steps: keep at most this many snapshots of the step loop's carry
   * (online checkpointing, as whileLoop's option); the steps between them are recomputed in the
   * backward sweep. Without it (or `memory`) every step is taped.
   */
  checkpoints?: number;
  /** As `checkpoints`, given as bytes of snapshots (a number or a string such as '16MB'). */
  memory?: number | string;
}

/** A tensor, a number, or a (nested) JS array of numbers. */
export type OdeArray = TensorLike | NestedArray;

/** The right-hand side: dy/dt at (y, t), shaped like y. Number leaves of params arrive as tensors. */
export type OdeFunction<P> = (y: Tensor, t: Tensor, params: TensorTree<P>) => TensorLike;

const KNOWN = new Set(['method', 'rtol', 'atol', 'maxSteps', 'firstStep', 'controller', 'safety', 'minFactor', 'maxFactor', 'gradient', 'checkpoints', 'memory']);

function positive(op: string, name: string, value: unknown, fallback: number, max = Infinity): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !(value < max)) {
    throw new ArgumentError(`${op}: ${name} must be a number > 0${max < Infinity ? ` and < ${max}` : ''}, got ${String(value)}.`);
  }
  return value;
}

/** The step control from the options, with JAX's and Hairer's defaults. */
function stepControl(op: string, options: OdeintOptions): StepControl {
  checkOptions(op, options);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new ArgumentError(`${op}: unknown option '${key}'; the options are ${[...KNOWN].join(', ')}.`);
  }
  if (options.method !== undefined && options.method !== 'dopri5') throw new ArgumentError(`${op}: method must be 'dopri5', got ${JSON.stringify(options.method)}.`);
  if (options.controller !== undefined && options.controller !== 'pi' && options.controller !== 'standard') {
    throw new ArgumentError(`${op}: controller must be 'pi' or 'standard', got ${JSON.stringify(options.controller)}.`);
  }
  if (options.maxSteps !== undefined && !(Number.isInteger(options.maxSteps) && options.maxSteps >= 1)) {
    throw new ArgumentError(`${op}: maxSteps must be an integer >= 1, got ${String(options.maxSteps)}.`);
  }
  // The budget is the step loop's; checked here so that errors name odeint.
  parseOptions(op, { checkpoints: options.checkpoints, memory: options.memory });
  const minFactor = positive(op, 'minFactor', options.minFactor, 0.2, 1);
  const maxFactor = positive(op, 'maxFactor', options.maxFactor, 10);
  if (!(maxFactor > 1)) throw new ArgumentError(`${op}: maxFactor must be > 1, got ${maxFactor}.`);
  return {
    rtol: positive(op, 'rtol', options.rtol, 1.4e-8),
    atol: positive(op, 'atol', options.atol, 1.4e-8),
    maxSteps: options.maxSteps ?? 100_000,
    firstStep: options.firstStep === undefined ? null : positive(op, 'firstStep', options.firstStep, 0),
    safety: positive(op, 'safety', options.safety, 0.9, 1),
    minFactor,
    maxFactor,
    beta: options.controller === 'standard' ? 0 : 0.04,
    checkpoints: options.checkpoints,
    memory: options.memory,
  };
}

interface Problem {
  rhs: LeafRhs;
  y0: Tensor;
  ts: Tensor;
  leaves: Tensor[];
}

/** The inputs as tensors of one float dtype, and f over the flat param leaves, checked. */
function problem<P>(op: string, f: OdeFunction<P>, y0Like: OdeArray, tsLike: OdeArray, params: P): Problem {
  checkFunction(op, f);
  const { leaves, def } = flatten(params, `${op}: params`);
  const [y0, ts] = [y0Like, tsLike].map((x) => (Array.isArray(x) ? array(x) : x));
  const dtype = resultDType([y0, ts, ...leaves]);
  const y = toTensor(op, y0, dtype);
  const times = toTensor(op, ts, dtype);
  if (times.ndim !== 1) throw new ShapeError(`${op}: ts must be a 1-D tensor of times, got shape ${fmtShape(times.shape)}.`);
  const rhs: LeafRhs = (yy, t, ls) => {
    const out = f(yy, t, rebuild<TensorTree<P>>(def, ls));
    const dy = out instanceof Tensor ? out : typeof out === 'number' ? toTensor(op, out, dtype) : null;
    if (dy === null) throw new ArgumentError(`${op}: f must return a tensor shaped like y, got ${Array.isArray(out) ? 'an array' : typeof out}.`);
    if (dy.shape.length !== yy.shape.length || dy.shape.some((d, i) => d !== yy.shape[i])) {
      throw new ShapeError(`${op}: f must return dy/dt shaped like y, ${fmtShape(yy.shape)}, got ${fmtShape(dy.shape)}.`);
    }
    return dy.dtype === dtype ? dy : toTensor(op, dy, dtype);
  };
  return { rhs, y0: y, ts: times, leaves: leaves.map((l) => toTensor(op, l, dtype)) };
}

/**
 * Solves dy/dt = f(y, t, params) from y(ts[0]) = y0 and returns y at every time of ts (strictly
 * increasing), stacked along a new leading axis: shape [ts.length, ...y0.shape]. As
 * jax.experimental.ode.odeint: an adaptive Dormand-Prince 5(4) integrator (Hairer's DOPRI5
 * step-size control and initial step) with its fourth-order dense output at the times ts, so
 * the steps are chosen by the tolerances alone.
 *
 * The integration is one whileLoop over step attempts: inside jit it is one loop equation, jvp
 * differentiates it, and reverse mode (`gradient: 'discretize'`, the default) differentiates
 * the steps actually taken, with respect to y0, ts and params (and values f closes over). The
 * step sizes themselves are held fixed when differentiating (they depend on the inputs only
 * piecewise-constantly). Taped, memory grows with the steps; `{checkpoints: s}` keeps at most s
 * snapshots of the step loop (online checkpointing) and recomputes the rest. `gradient:
 * 'adjoint'` uses the continuous adjoint instead, as JAX.
 * @example
 * // Exponential decay y' = -k y: y(t) = exp(-k t).
 * const ys = odeint((y, t, k) => neg(mul(k, y)), 1, linspace(0, 1, 5), 0.5);
 * grad((k) => sum(odeint((y, t, kk) => neg(mul(kk, y)), 1, [0, 1], k)))(0.5); // -exp(-0.5)
 * grad((k) => sum(odeint((y, t, kk) => neg(mul(kk, y)), 1, [0, 1], k, { checkpoints: 4 })))(0.5); // the same
 */
export function odeint<P extends Tree>(f: OdeFunction<P>, y0: OdeArray, ts: OdeArray, params: P, options: OdeintOptions = {}): Tensor {
  const op = 'odeint';
  const control = stepControl(op, options);
  if (options.gradient !== undefined && options.gradient !== 'discretize' && options.gradient !== 'adjoint') {
    throw new ArgumentError(`${op}: gradient must be 'discretize' or 'adjoint', got ${JSON.stringify(options.gradient)}.`);
  }
  const { rhs, y0: y, ts: times, leaves } = problem(op, f, y0, ts, params);
  if (options.gradient === 'adjoint') return adjointOdeint(op, rhs, y, times, leaves, control);
  return dopri5(op, (yy, t) => rhs(yy, t, leaves), y, times, control).ys;
}

/**
 * odeint that also reports what the solve took: `{ys, accepted, rejected, evaluations}`, the
 * counts as scalar tensors (so it works inside jit). Differentiated as odeint's default,
 * through the steps taken.
 * @example
 * const { ys, accepted, evaluations } = odeintWithStats((y, t, k) => neg(mul(k, y)), 1, [0, 1], 0.5);
 * accepted.item(); // the number of accepted steps
 */
export function odeintWithStats<P extends Tree>(f: OdeFunction<P>, y0: OdeArray, ts: OdeArray, params: P, options: Omit<OdeintOptions, 'gradient'> = {}): Dopri5Result {
  const op = 'odeintWithStats';
  const control = stepControl(op, options);
  if ((options as OdeintOptions).gradient !== undefined) throw new ArgumentError(`${op}: the gradient option belongs to odeint; odeintWithStats always differentiates the steps taken.`);
  const { rhs, y0: y, ts: times, leaves } = problem(op, f, y0, ts, params);
  return dopri5(op, (yy, t) => rhs(yy, t, leaves), y, times, control);
}
