// Optimizers over parameter trees: each update rule against a plain-JS reference of its
// formula, tree handling, and the memory contract (a step frees the gradients, the state it
// consumed and the parameters an earlier step made, never the caller's own parameters).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArgumentError, DisposedError, DTypeError, OptimizerState, ShapeError, adam, array, grad, memory, momentum, sgd, square, sub, sum,
  type Optimizer, type Tensor,
} from './helpers/api.js';
import { expectClose } from './helpers/check.js';

let atStart = 0;
beforeEach(() => { atStart = memory().bytesInUse; });
afterEach(() => { expect(memory().bytesInUse, 'bytes in use after the test').toBe(atStart); });

const p0 = [1, 2];
const grads = [[0.5, -1], [0.25, 0.5], [-1, 2]]; // the gradients of three steps

/** Runs three steps of `opt` on p0 with the fixed gradients above; returns the parameters after each. */
function threeSteps(opt: Optimizer): number[][] {
  const initial = array(p0);
  let p: Tensor = initial;
  let state = opt.init(p);
  const seen: number[][] = [];
  for (const g of grads) {
    [p, state] = opt.step(p, array(g), state);
    seen.push(p.toArray() as number[]);
  }
  p.dispose();
  state.dispose();
  initial.dispose();
  return seen;
}

/** A plain-JS reference: applies `update(p, g, t)` elementwise over the three steps. */
function reference(update: (p: number, g: number, i: number, t: number) => number): number[][] {
  const p = [...p0];
  return grads.map((g, t) => p.map((_, i) => (p[i] = update(p[i], g[i], i, t + 1))));
}

describe('update rules', () => {
  it('sgd: p - lr g', () => {
    expectClose(threeSteps(sgd({ learningRate: 0.1 })).flat(), reference((p, g) => p - 0.1 * g).flat(), 1e-15);
  });

  it('momentum: v <- mu v + g, p <- p - lr v', () => {
    const v = [0, 0];
    const ref = reference((p, g, i) => { v[i] = 0.9 * v[i] + g; return p - 0.1 * v[i]; });
    expectClose(threeSteps(momentum({ learningRate: 0.1 })).flat(), ref.flat(), 1e-15);
  });

  it('momentum with nesterov: p <- p - lr (g + mu v)', () => {
    const v = [0, 0];
    const ref = reference((p, g, i) => { v[i] = 0.5 * v[i] + g; return p - 0.1 * (g + 0.5 * v[i]); });
    expectClose(threeSteps(momentum({ learningRate: 0.1, momentum: 0.5, nesterov: true })).flat(), ref.flat(), 1e-15);
  });

  it('adam: bias-corrected moments', () => {
    const m = [0, 0], v = [0, 0];
    const [lr, b1, b2, eps] = [0.01, 0.8, 0.99, 1e-6];
    const ref = reference((p, g, i, t) => {
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      return p - lr * (m[i] / (1 - b1 ** t)) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps);
    });
    expectClose(threeSteps(adam({ learningRate: lr, beta1: b1, beta2: b2, eps })).flat(), ref.flat(), 1e-14);
  });

  it('a learning-rate schedule is called with the step index, from 0', () => {
    const asked: number[] = [];
    const rates = [0.1, 0.01, 0.001];
    const seen = threeSteps(sgd({ learningRate: (t) => { asked.push(t); return rates[t]; } }));
    expect(asked).toEqual([0, 1, 2]);
    expectClose(seen.flat(), reference((p, g, _, t) => p - rates[t - 1] * g).flat(), 1e-15);
  });

  it('adam drives a quadratic to its minimizer', () => {
    const target = array([3, -1]);
    const loss = (p: Tensor) => sum(square(sub(p, target)));
    const opt = adam({ learningRate: 0.1 });
    let p = array([0, 0]);
    let state = opt.init(p);
    const start = p;
    for (let i = 0; i < 1000; i++) [p, state] = opt.step(p, grad(loss)(p), state);
    expectClose(p.toArray() as number[], [3, -1], 1e-6, 1e-6);
    for (const t of [p, start, target]) t.dispose();
    state.dispose();
  });
});

describe('parameter trees', () => {
  it('keeps the tree: arrays, objects and number leaves (which come back as tensors)', () => {
    const opt = sgd({ learningRate: 0.5 });
    const params = { layers: [{ w: array([1, 2]) }], scale: 3 };
    const state = opt.init(params);
    const [next, state2] = opt.step(params, { layers: [{ w: array([2, 2]) }], scale: 1 }, state);
    expect(next.layers[0].w.toArray()).toEqual([0, 1]);
    expect(next.scale.item()).toBe(2.5);
    expect(state2.count).toBe(1);
    next.layers[0].w.dispose();
    next.scale.dispose();
    params.layers[0].w.dispose();
    state2.dispose();
  });

  it('keeps float32 parameters float32 (the rate does not promote them)', () => {
    const opt = adam();
    const p = array([1, 2], { dtype: 'float32' });
    const state = opt.init(p);
    const [next, state2] = opt.step(p, array([1, 1], { dtype: 'float32' }), state);
    expect(next.dtype).toBe('float32');
    for (const t of [p, next]) t.dispose();
    state2.dispose();
  });
});

describe('memory', () => {
  it('a step frees the gradients and the state it consumed', () => {
    const opt = momentum({ learningRate: 0.1 });
    const p = array([1, 2]);
    const state = opt.init(p);
    const g = array([1, 1]);
    const [next, state2] = opt.step(p, g, state);
    expect(() => g.toArray()).toThrow(DisposedError);
    const g2 = array([1, 1]);
    expect(() => opt.step(next, g2, state)).toThrow(/already consumed/);
    for (const t of [p, next, g2]) t.dispose();
    state2.dispose();
  });

  it('frees the parameters an earlier step made, never the caller\'s own', () => {
    const opt = sgd({ learningRate: 0.1 });
    const p = array([1, 2]);
    let state = opt.init(p);
    let p1: Tensor, p2: Tensor;
    [p1, state] = opt.step(p, array([1, 1]), state);
    [p2, state] = opt.step(p1, array([1, 1]), state);
    expect(p.toArray()).toEqual([1, 2]);
    expect(() => p1.toArray()).toThrow(DisposedError);
    expectClose(p2.toArray() as number[], [0.8, 1.8], 1e-15);
    for (const t of [p, p2]) t.dispose();
    state.dispose();
  });

  it('a loop of steps keeps bytes in use and the tensor count flat', () => {
    const opt = adam({ learningRate: 0.01 });
    const target = array([1, 2, 3]);
    const loss = (w: Tensor) => sum(square(sub(w, target)));
    const w0 = array([0, 0, 0]);
    let w = w0;
    let state = opt.init(w);
    [w, state] = opt.step(w, grad(loss)(w), state);
    const after1 = memory();
    for (let i = 0; i < 500; i++) [w, state] = opt.step(w, grad(loss)(w), state);
    expect(memory().bytesInUse).toBe(after1.bytesInUse);
    expect(memory().tensors).toBe(after1.tensors);
    for (const t of [w, w0, target]) t.dispose();
    state.dispose();
  });

  it('OptimizerState is disposable', () => {
    const p = array([1, 2]);
    const before = memory().bytesInUse;
    {
      using state = adam().init(p);
      expect(state).toBeInstanceOf(OptimizerState);
      expect(memory().bytesInUse).toBeGreaterThan(before);
    }
    expect(memory().bytesInUse).toBe(before);
    p.dispose();
  });
});

describe('bad input', () => {
  it('a state from another optimizer', () => {
    const p = array([1]);
    const g = array([1]);
    const other = adam().init(p);
    expect(() => adam().step(p, g, other)).toThrow(/another adam optimizer/);
    expect(() => adam().step(p, g, other)).toThrow(ArgumentError);
    other.dispose();
    p.dispose();
    g.dispose();
  });

  it('gradients whose structure, shape or dtype differ from the parameters (nothing is consumed)', () => {
    const opt = sgd({ learningRate: 0.1 });
    const p = { w: array([1, 2]) };
    const state = opt.init(p);
    const [a, b, c] = [array([1, 2]), array([1, 2, 3]), array([1, 2], { dtype: 'float32' })];
    expect(() => opt.step(p, { v: a } as unknown as { w: Tensor }, state)).toThrow(/tree structure of params/);
    expect(() => opt.step(p, { w: b }, state)).toThrow(ShapeError);
    expect(() => opt.step(p, { w: c }, state)).toThrow(DTypeError);
    expect(a.toArray()).toEqual([1, 2]);
    const [next, state2] = opt.step(p, { w: a }, state); // the state is still usable
    for (const t of [p.w, next.w, b, c]) t.dispose();
    state2.dispose();
  });

  it('invalid hyperparameters name the option', () => {
    expect(() => sgd({ learningRate: -1 })).toThrow(/learning rate must be a finite number >= 0, got -1/);
    expect(() => momentum({ learningRate: 0.1, momentum: 1 })).toThrow(/momentum must be a number in \[0, 1\)/);
    expect(() => adam({ beta2: 1.5 })).toThrow(/beta2/);
  });
});
