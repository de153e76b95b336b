// Gradient-descent optimizers over parameter trees, in the style of optax (init, then a pure
// step) with torch.optim's memory habits: a step frees what it consumes. It frees the
// gradients it is given, the state it is given, and the parameters an earlier step of the
// same optimizer returned (never the caller's own initial parameters), so a plain
// synchronous loop
//   [params, state] = opt.step(params, grad(loss)(params), state)
// keeps memory flat without tidy.
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { scalar, zeros } from '../tensor/create.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { toTensor } from '../ops/convert.js';
import { add, div, mul, sqrt, square, sub } from '../ops/elementwise.js';
import { flatten, rebuild } from '../tree.js';
import { scoped } from '../transforms/util.js';
import type { TensorLikes, Tensors } from '../transforms/types.js';

/** A fixed learning rate, or a schedule: the rate for step t (0 for the first step). */
export type LearningRate = number | ((step: number) => number);

export interface SgdOptions {
  learningRate: LearningRate;
}

export interface MomentumOptions {
  learningRate: LearningRate;
  /** The decay of the velocity (default 0.9). */
  momentum?: number;
  /** Nesterov's variant: step along g + momentum * velocity (default false). */
  nesterov?: boolean;
}

export interface AdamOptions {
  /** Default 1e-3. */
  learningRate?: LearningRate;
  /** Decay of the first moment (default 0.9). */
  beta1?: number;
  /** Decay of the second moment (default 0.999). */
  beta2?: number;
  /** Added to the root of the second moment (default 1e-8). */
  eps?: number;
}

/**
 * An optimizer's state: the step count and per-parameter slots (velocities, moments). A step
 * consumes the state it is given and returns the next one; `dispose()` frees a state you
 * stop using (it is disposable, so `using state = opt.init(params)` works too).
 */
export class OptimizerState {
  /** @internal */ consumed = false;

  /** @internal */
  constructor(readonly optimizer: string, readonly count: number, /** @internal */ readonly slots: Tensor[][], /** @internal */ readonly owner: object) {}

  /** Frees the slots. Safe to call twice. */
  dispose(): void {
    this.consumed = true;
    for (const leaf of this.slots) for (const t of leaf) t.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** An optimizer over parameter trees. */
export interface Optimizer {
  readonly name: string;
  /** The state for `params` (zero slots, step count 0). */
  init<P>(params: P): OptimizerState;
  /**
   * One update: returns [new params, new state]. Frees `grads`, `state` and the previous
   * params if an earlier step of this optimizer made them.
   */
  step<P>(params: P, grads: TensorLikes<P>, state: OptimizerState): [Tensors<P>, OptimizerState];
}

/** One parameter's update: the new value and slots from the old ones, at step t (1-based). */
type Rule = (x: { param: Tensor; grad: Tensor; slots: Tensor[]; t: number; lr: number }) => { param: Tensor; slots: Tensor[] };

function checkRate(op: string, lr: LearningRate, step: number): number {
  const value = typeof lr === 'function' ? lr(step) : lr;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ArgumentError(`${op}: the learning rate${typeof lr === 'function' ? ` for step ${step}` : ''} must be a finite number >= 0, got ${String(value)}.`);
  }
  return value;
}

function checkFraction(op: string, what: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) throw new ArgumentError(`${op}: ${what} must be a number in [0, 1), got ${String(value)}.`);
  return value;
}

function makeOptimizer(name: string, slotCount: number, lr: LearningRate, rule: Rule): Optimizer {
  if (typeof lr !== 'function') checkRate(name, lr, 0);
  const made = new WeakSet<Tensor>(); // parameters this optimizer returned: it may free them
  const self = {} as Optimizer;
  const init = <P>(params: P): OptimizerState => {
    const { leaves } = flatten(params, `${name}.init: params`);
    const slots = scoped(() => leaves.map((l) => {
      const p = toTensor(`${name}.init`, l);
      return Array.from({ length: slotCount }, () => zeros(p.shape, { dtype: p.dtype }));
    }));
    return new OptimizerState(name, 0, slots, self);
  };
  const step = <P>(params: P, grads: TensorLikes<P>, state: OptimizerState): [Tensors<P>, OptimizerState] => {
    const op = `${name}.step`;
    if (!(state instanceof OptimizerState) || state.owner !== self) {
      throw new ArgumentError(`${op}: state must come from this optimizer's init() or step(), got ${state instanceof OptimizerState ? `the state of another ${state.optimizer} optimizer` : typeof state}.`);
    }
    if (state.consumed) {
      throw new ArgumentError(`${op}: this state was already consumed by a step (or disposed); pass the state the last step returned, as [params, state] = opt.step(params, grads, state).`);
    }
    const p = flatten(params, `${op}: params`);
    const g = flatten(grads, `${op}: grads`);
    if (JSON.stringify(p.def) !== JSON.stringify(g.def)) {
      throw new ArgumentError(`${op}: grads must have the tree structure of params (${p.leaves.length} leaves), got ${g.leaves.length} leaves in a different structure. Pass the gradient of the loss with respect to params, as grad(loss)(params).`);
    }
    if (state.slots.length !== p.leaves.length) {
      throw new ArgumentError(`${op}: the state was made for ${state.slots.length} parameter leaves but params has ${p.leaves.length}; call init() with these params.`);
    }
    const rateNow = checkRate(op, lr, state.count);
    const t = state.count + 1;
    const out = scoped(() => p.leaves.map((leaf, i) => {
      const param = toTensor(op, leaf);
      const grad = toTensor(op, g.leaves[i], param.dtype);
      if (grad.shape.length !== param.shape.length || grad.shape.some((d, j) => d !== param.shape[j])) {
        throw new ShapeError(`${op}: the gradient of parameter leaf ${i} has shape ${fmtShape(grad.shape)} but the parameter has shape ${fmtShape(param.shape)}.`);
      }
      if (grad.dtype !== param.dtype) throw new DTypeError(`${op}: the gradient of parameter leaf ${i} is ${grad.dtype} but the parameter is ${param.dtype}.`);
      return rule({ param, grad, slots: state.slots[i], t, lr: rateNow });
    }));
    const next = out.map((o) => o.param);
    // Never free what is still in use: the new values, or a caller's parameter passed as a gradient.
    const keep = new Set<unknown>([...next, ...out.flatMap((o) => o.slots), ...p.leaves.filter((l) => !made.has(l as Tensor))]);
    const release = (x: unknown) => {
      if (x instanceof DenseTensor && !keep.has(x)) x.dispose();
    };
    for (const leaf of g.leaves) release(leaf);
    for (const leaf of p.leaves) if (leaf instanceof Tensor && made.has(leaf)) release(leaf);
    for (const slots of state.slots) for (const s of slots) release(s);
    state.consumed = true;
    for (const x of next) made.add(x);
    return [rebuild<Tensors<P>>(p.def, next), new OptimizerState(name, t, out.map((o) => o.slots), self)];
  };
  return Object.assign(self, { name, init, step });
}

/** A 0-d tensor of `value` in `like`'s dtype (so float32 parameters stay float32). */
function rate(value: number, like: Tensor): Tensor {
  return scalar(value, { dtype: like.dtype });
}

/**
 * Plain gradient descent: p <- p - lr g.
 * @example
 * const opt = sgd({ learningRate: 0.1 });
 * let state = opt.init(params);
 * [params, state] = opt.step(params, grad(loss)(params), state);
 */
export function sgd(options: SgdOptions): Optimizer {
  if (options === null || typeof options !== 'object') throw new ArgumentError('sgd: expected options such as {learningRate: 0.1}.');
  return makeOptimizer('sgd', 0, options.learningRate, ({ param, grad, lr }) => ({
    param: sub(param, mul(grad, rate(lr, param))),
    slots: [],
  }));
}

/**
 * Gradient descent with momentum, as torch.optim.SGD: v <- mu v + g, p <- p - lr v
 * (Nesterov: p <- p - lr (g + mu v)).
 * @example const opt = momentum({ learningRate: 0.01, momentum: 0.9 });
 */
export function momentum(options: MomentumOptions): Optimizer {
  if (options === null || typeof options !== 'object') throw new ArgumentError('momentum: expected options such as {learningRate: 0.01, momentum: 0.9}.');
  const mu = checkFraction('momentum', 'momentum', options.momentum ?? 0.9);
  const nesterov = options.nesterov ?? false;
  return makeOptimizer('momentum', 1, options.learningRate, ({ param, grad, slots: [v], lr }) => {
    const velocity = add(mul(v, mu), grad);
    const direction = nesterov ? add(grad, mul(velocity, mu)) : velocity;
    return { param: sub(param, mul(direction, rate(lr, param))), slots: [velocity] };
  });
}

/**
 * Adam (Kingma and Ba 2015) with bias correction, as optax.adam and torch.optim.Adam:
 * m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
 * p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 * @example
 * const opt = adam({ learningRate: 1e-3 });
 * let state = opt.init(params);
 * for (let i = 0; i < 1000; i++) [params, state] = opt.step(params, grad(loss)(params), state);
 */
export function adam(options: AdamOptions = {}): Optimizer {
  if (options === null || typeof options !== 'object') throw new ArgumentError('adam: expected options such as {learningRate: 1e-3}.');
  const b1 = checkFraction('adam', 'beta1', options.beta1 ?? 0.9);
  const b2 = checkFraction('adam', 'beta2', options.beta2 ?? 0.999);
  const eps = options.eps ?? 1e-8;
  if (typeof eps !== 'number' || !(eps >= 0)) throw new ArgumentError(`adam: eps must be a number >= 0, got ${String(eps)}.`);
  return makeOptimizer('adam', 2, options.learningRate ?? 1e-3, ({ param, grad, slots: [m, v], t, lr }) => {
    const m1 = add(mul(m, b1), mul(grad, 1 - b1));
    const v1 = add(mul(v, b2), mul(square(grad), 1 - b2));
    const mHat = mul(m1, rate(lr / (1 - b1 ** t), param));
    const vHat = mul(v1, rate(1 / (1 - b2 ** t), param));
    return { param: sub(param, div(mHat, add(sqrt(vHat), eps))), slots: [m1, v1] };
  });
}
