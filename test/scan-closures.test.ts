// Closures in budgeted loops: a checkpointed scan whose step closes over values being
// differentiated (the JAX habit: grad with respect to W, W used inside the step) gets the same
// gradient as the fully taped loop and as finite differences, in every reverse-mode entry
// point; and carry leaves the step passes through unchanged cost a byte budget nothing, so a
// weight matrix carried along does not shrink the snapshot count.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DifferentiationError, add, finiteDiff, grad, jacrev, matmul, memory, optimalAdvances, randn, scan, sum, tanh, tidy, vjp,
  type ScanOptions, type Tensor,
} from './helpers/api.js';
import { expectClose } from './helpers/check.js';

let atStart = 0;
beforeEach(() => { atStart = memory().bytesInUse; });
afterEach(() => { expect(memory().bytesInUse, 'bytes in use after the test').toBe(atStart); });

const n = 4;
const l = 12;
const data = () => ({
  W: randn([n, n], { seed: 1 }).mul(0.5),
  h0: randn([n], { seed: 2 }),
  xs: randn([l, n], { seed: 3 }),
});

/** sum(h_l) of the RNN h <- tanh(W h + x), W closed over by the step. */
const rnn = (options: ScanOptions) => (W: Tensor, h0: Tensor, xs: Tensor) =>
  sum(scan((h: Tensor, x: Tensor) => [tanh(add(matmul(W, h), x)), null] as const, h0, xs, options)[0]);

const budgets: ScanOptions[] = [{ checkpoints: 1 }, { checkpoints: 3 }, { memory: '1KB' }, { memory: '1MB' }, { checkpoints: 5, schedule: 'uniform' }];

describe('a step closing over a value being differentiated', () => {
  for (const budget of budgets) {
    it(`grad with respect to the closed-over W equals the taped loop's, ${JSON.stringify(budget)}`, () => tidy(() => {
      const { W, h0, xs } = data();
      const taped = grad(rnn({}))(W, h0, xs);
      const checkpointed = grad(rnn(budget))(W, h0, xs);
      expectClose(checkpointed.data(), taped.data(), 1e-13, 1e-15);
    }));
  }

  it('matches finite differences, with W, h0 and xs differentiated together', () => tidy(() => {
    const { W, h0, xs } = data();
    const [gW, gh0, gxs] = grad(rnn({ checkpoints: 3 }), { argnums: [0, 1, 2] })(W, h0, xs);
    const fd = finiteDiff(rnn({}), [W, h0, xs]);
    expectClose(gW.data(), fd[0].data(), 1e-8, 1e-10);
    expectClose(gh0.data(), fd[1].data(), 1e-8, 1e-10);
    expectClose(gxs.data(), fd[2].data(), 1e-8, 1e-10);
  }));

  it('works when init and xs are constants and only the closure is differentiated', () => tidy(() => {
    const { W, h0, xs } = data();
    const f = (options: ScanOptions) => (w: Tensor) => rnn(options)(w, h0, xs);
    expectClose(grad(f({ checkpoints: 2 }))(W).data(), grad(f({}))(W).data(), 1e-13, 1e-15);
  }));

  it('works for a value derived from the differentiated one outside the loop (W^T closed over)', () => tidy(() => {
    const { W, h0, xs } = data();
    const f = (options: ScanOptions) => (w: Tensor) => {
      const wt = w.T.mul(2);
      return sum(scan((h: Tensor, x: Tensor) => [tanh(add(matmul(wt, h), x)), null] as const, h0, xs, options)[0]);
    };
    expectClose(grad(f({ checkpoints: 2 }))(W).data(), grad(f({}))(W).data(), 1e-13, 1e-15);
  }));

  it('a vjp pullback called after vjp returned, twice, gives the taped loop\'s cotangents', () => tidy(() => {
    const { W, h0, xs } = data();
    const seq = (options: ScanOptions) => (w: Tensor) => scan((h: Tensor, x: Tensor) => {
      const next = tanh(add(matmul(w, h), x));
      return [next, next] as const;
    }, h0, xs, options)[1];
    const u = randn([l, n], { seed: 4 });
    const [, pullTaped] = vjp(seq({}), W);
    const [, pull] = vjp(seq({ checkpoints: 3 }), W);
    const [expected] = pullTaped(u);
    expectClose(pull(u)[0].data(), expected.data(), 1e-13, 1e-15);
    expectClose(pull(u)[0].data(), expected.data(), 1e-13, 1e-15);
  }));

  it('jacrev (several backward sweeps) gives the taped loop\'s Jacobian', () => tidy(() => {
    const { W, h0, xs } = data();
    const last = (options: ScanOptions) => (w: Tensor) => scan((h: Tensor, x: Tensor) => [tanh(add(matmul(w, h), x)), null] as const, h0, xs, options)[0];
    expectClose(jacrev(last({ checkpoints: 2 }), { chunkSize: 1 })(W).data(), jacrev(last({}))(W).data(), 1e-13, 1e-15);
  }));

  it('calls the step as often as with the parameter in the carry (the Revolve optimum)', () => tidy(() => {
    const { W, h0, xs } = data();
    let calls = 0;
    const f = (w: Tensor) => sum(scan((h: Tensor, x: Tensor) => (calls++, [tanh(add(matmul(w, h), x)), null] as const), h0, xs, { checkpoints: 3 })[0]);
    grad(f)(W);
    expect(calls).toBe(l + optimalAdvances(l, 3) + 1);
  }));

  it('a step that uses a differentiated value only when replayed is an error naming the cause', () => tidy(() => {
    const { W, h0, xs } = data();
    let calls = 0;
    const f = (w: Tensor) => sum(scan((h: Tensor, x: Tensor) => {
      calls++;
      const next = calls > l ? tanh(add(matmul(w, h), x)) : tanh(h.add(x));
      return [next, null] as const;
    }, h0.mul(w.sum()), xs, { checkpoints: 2 })[0]);
    expect(() => grad(f)(W)).toThrow(DifferentiationError);
    calls = 0;
    expect(() => grad(f)(W)).toThrow(/did not use in the forward pass/);
  }));

  it('nested: a budgeted scan inside the step of another, both closing over W', () => tidy(() => {
    const { W, h0, xs } = data();
    const f = (options: ScanOptions) => (w: Tensor) => sum(scan((h: Tensor, x: Tensor) => {
      const [inner] = scan((g: Tensor) => [tanh(matmul(w, g)), null] as const, h.add(x), { length: 2 }, options);
      return [inner, null] as const;
    }, h0, xs, options)[0]);
    expectClose(grad(f({ checkpoints: 2 }))(W).data(), grad(f({}))(W).data(), 1e-13, 1e-15);
  }));
});

describe('carry leaves the step passes through unchanged', () => {
  // A 256-state RNN carrying its 256 x 256 weight matrix (512 KiB) under a 1 MB budget: before,
  // every snapshot was charged the matrix and the budget allowed one snapshot (l^2/2 steps).
  const size = 256;
  const steps = 200;
  it('cost a byte budget nothing: 1 MB keeps every state of a 256-state RNN with its 256 x 256 W in the carry', () => tidy(() => {
    const W = randn([size, size], { seed: 5 }).mul(1 / Math.sqrt(size));
    const h0 = randn([size], { seed: 6 });
    const xs = randn([steps, size], { seed: 7 }).mul(0.1);
    let calls = 0;
    const f = (options: ScanOptions) => (w: Tensor) => sum(scan((c: { h: Tensor; W: Tensor }, x: Tensor) => {
      calls++;
      return [{ h: tanh(add(matmul(c.W, c.h), x)), W: c.W }, null] as const;
    }, { h: h0, W: w }, xs, options)[0].h);
    const counted = (options: ScanOptions) => {
      calls = 0;
      const g = grad(f(options))(W);
      return { calls, g };
    };
    const budgeted = counted({ memory: '1MB' });
    const allStates = counted({ checkpoints: steps });
    expect(budgeted.calls).toBe(allStates.calls);
    expect(budgeted.calls).toBe(steps + optimalAdvances(steps, steps) + 1);
    expect(budgeted.calls).toBeLessThan((steps + optimalAdvances(steps, 1) + 1) / 10);
    expectClose(budgeted.g.data(), grad(f({}))(W).data(), 1e-12, 1e-14);
  }), 60_000);
});
