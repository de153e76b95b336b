// whileLoop in reverse mode, eagerly: with a snapshot budget its gradient equals the gradient
// of the same loop unrolled (every step taped), at lengths 1, 2, s, s + 1, 1000 and 10,000; it
// calls the body exactly as often as the online schedule counts; its peak memory stays within
// the offline scan schedule's plus one state; jvp still works; and the budget's errors and
// warning. Inside jit: while-grad-jit.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ArgumentError, add, array, grad, jvp, less, linspace, memory, mul, scalar, sin, sub, sum, tidy, vjp, vmap, whileLoop,
  type LoopOptions, type Tensor,
} from './helpers/api.js';
import { onlineCost } from '../src/checkpoint/online.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { counter, expectSame, gradients, looped, loss, p0, stepOf, unrolled, v0, x0, type State } from './helpers/loops.js';
import { expectMemoryRestored } from './helpers/memory.js';

expectMemoryRestored();

describe('whileLoop: the gradient with a budget equals the unrolled loop\'s', () => {
  const s = 4;
  for (const l of [1, 2, s, s + 1, 37]) {
    it(`at ${l} steps with ${s} snapshots, calling the body as the online schedule counts`, () => {
      const reference = gradients(unrolled(l));
      counter.calls = 0;
      const got = gradients(looped(l, { checkpoints: s }));
      expect(counter.calls).toBe(onlineCost(l, s).total);
      expectSame(got, reference);
    });
  }

  it('at 0 steps (the condition is false at once) passes the cotangent straight through', () => {
    counter.calls = 0;
    expectSame(gradients(looped(0, { checkpoints: 3 })), gradients(unrolled(0)));
    expect(counter.calls).toBe(0);
  });

  it('at 1000 steps with 10 snapshots', () => {
    expectSame(gradients(looped(1000, { checkpoints: 10 })), gradients(unrolled(1000)));
  }, 60_000);

  it('at 10,000 steps with 10 snapshots, within 1.25x of offline Revolve\'s body calls', () => {
    const reference = gradients(unrolled(10000));
    counter.calls = 0;
    const got = gradients(looped(10000, { checkpoints: 10 }));
    expectSame(got, reference);
    expect(counter.calls).toBe(onlineCost(10000, 10).total);
    expect(counter.calls).toBeLessThanOrEqual(1.25 * (10000 + 57624 + 1));
  }, 120_000);

  it('without a budget tapes every step (the body runs l times)', () => {
    counter.calls = 0;
    const got = gradients(looped(37, {}));
    expect(counter.calls).toBe(37);
    expectSame(got, gradients(unrolled(37)));
  });

  it('converts a memory budget to snapshots of the carry (the bytes of three carry states, as the allocator charges them, give s = 3)', () => {
    const oneState = (() => {
      const m0 = memory().bytesInUse;
      const t = [scalar(0), array([1, 2, 3]), array([1, 2, 3])];
      const bytes = memory().bytesInUse - m0;
      t.forEach((x) => x.dispose());
      return bytes;
    })();
    counter.calls = 0;
    const got = gradients(looped(37, { memory: 3 * oneState }));
    expect(counter.calls).toBe(onlineCost(37, 3).total);
    expectSame(got, gradients(unrolled(37)));
  });

  it('sends the gradient to a parameter only the body uses (the initial carry is constant)', () => {
    const f = (p: Tensor) => loss(whileLoop(([k]: State) => less(k, 25), stepOf(p), [scalar(0), x0, v0] as State, { checkpoints: 3 }));
    const g = tidy(() => Array.from((grad(f)(p0) as Tensor).data()));
    const ref = tidy(() => Array.from((grad((p: Tensor) => unrolled(25)(x0, v0, p))(p0) as Tensor).data()));
    expectClose(g, ref, 1e-11, 1e-13);
  });

  it('pulls back twice from one vjp (the second sweep retakes the snapshots)', () => tidy(() => {
    const [, pull] = vjp((x: Tensor) => looped(30, { checkpoints: 3 })(x, v0, p0), x0);
    const a = Array.from((pull(scalar(1)) as Tensor[])[0].data());
    const b = Array.from((pull(scalar(1)) as Tensor[])[0].data());
    expect(b).toEqual(a);
  }));
});

describe('whileLoop: forward mode', () => {
  it('jvp through a budgeted loop equals the unrolled loop\'s', () => tidy(() => {
    const t = array([1, 0, -1]);
    const [y, dy] = jvp((x: Tensor) => looped(40, { checkpoints: 3 })(x, v0, p0), [x0], [t]) as Tensor[];
    const [yr, dyr] = jvp((x: Tensor) => unrolled(40)(x, v0, p0), [x0], [t]) as Tensor[];
    expectClose(y.item(), yr.item(), 1e-12);
    expectClose(dy.item(), dyr.item(), 1e-11);
  }));
});

describe('whileLoop: peak memory with a budget', () => {
  it('holds at most (s + 3) carry states plus one step\'s tape, plus one state: within the offline scan schedule\'s bound', () => {
    const s = 6, l = 300;
    const n = 1024;
    const stateBytes = 2 * n * 8 + 16;
    const body = ([k, x]: Tensor[]) => [add(k, 1), add(mul(x, 0.999), mul(sin(x), 0.001))];
    tidy(() => {
      const x = linspace(-1, 1, n);
      const tape = tidy(() => {
        const before = memory().bytesInUse;
        vjp((y: Tensor) => body([scalar(0), y])[1], x);
        return memory().bytesInUse - before;
      });
      memory({ resetPeak: true });
      const base = memory().bytesInUse;
      grad((y: Tensor) => sum(whileLoop(([k]: Tensor[]) => less(k, l), body, [scalar(0), y], { checkpoints: s })[1]))(x);
      const peak = memory().peakBytes - base;
      expect(peak).toBeLessThan((s + 3 + 1) * stateBytes + tape);
    });
  }, 60_000);
});

describe('whileLoop: budget errors and the recomputation warning', () => {
  afterEach(() => vi.restoreAllMocks());

  it('rejects unknown options and a memory budget below one state', () => {
    const f = (o: object) => () => grad((x: Tensor) => sum(whileLoop(([k]: Tensor[]) => less(k, 3), ([k, y]: Tensor[]) => [add(k, 1), mul(y, 2)], [scalar(0), x], o as LoopOptions)[1]))(x0);
    expect(f({ checkpoint: 3 })).toThrow(ArgumentError);
    expect(f({ checkpoint: 3 })).toThrow(/unknown option 'checkpoint'/);
    expect(f({ memory: 8 })).toThrow(/at least \d+ bytes/);
    expect(f({ checkpoints: 0 })).toThrow(/integer >= 1/);
  });

  it('warns once when the budget forces more than 100x recomputation, naming the budget needed', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    // One snapshot: step i is reached from state 0 again, about l / 2 calls per step; l = 210 passes 100x.
    const f = () => tidy(() => void grad((x: Tensor) => whileLoop(([k]: Tensor[]) => less(k, 210), ([k, y]: Tensor[]) => [add(k, 1), mul(y, 1.001)], [scalar(0), x], { checkpoints: 1 })[1])(scalar(0.5)));
    f();
    f();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/210 steps .* 1 snapshots .*\{checkpoints: \d+\}/);
  }, 60_000);
});

describe('whileLoop: the README example', () => {
  it('integrates until x leaves the unit ball and differentiates with respect to the closed-over p', () => tidy(() => {
    const h = 0.01, xs0 = array([0.5, 0]), vs0 = array([0, 1]);
    const run = (options: LoopOptions) => (p: Tensor) => {
      const [t, x] = whileLoop(([, x]: Tensor[]) => less(sum(mul(x, x)), 1),
        ([t, x, v]: Tensor[]) => [add(t, h), add(x, mul(v, h)), sub(v, mul(x, mul(p, h)))],
        [scalar(0), xs0, vs0], options);
      return add(t, sum(x));
    };
    const g = (grad(run({ checkpoints: 10 }))(scalar(0.3)) as Tensor).item();
    const taped = (grad(run({}))(scalar(0.3)) as Tensor).item();
    expectClose(g, taped, 1e-12);
    // Central differences at a p where the step count does not change in between.
    const e = 1e-6;
    const fd = ((run({})(scalar(0.3 + e)) as Tensor).item() - (run({})(scalar(0.3 - e)) as Tensor).item()) / (2 * e);
    expectClose(g, fd, 1e-5);
  }), 60_000);
});

describe('whileLoop: composed transforms with a budget', () => {
  // x_{k+1} = sin(x_k) + a x_k from x_0 = a, seven steps.
  const f = (options: LoopOptions) => (a: Tensor) =>
    whileLoop(([k]: Tensor[]) => less(k, 7), ([k, x]: Tensor[]) => [add(k, 1), add(sin(x), mul(x, a))], [scalar(0), a], options)[1] as Tensor;

  it('grad of grad equals the taped loop\'s', () => tidy(() => {
    expectClose((grad(grad(f({ checkpoints: 2 })))(scalar(0.5)) as Tensor).item(), (grad(grad(f({})))(scalar(0.5)) as Tensor).item(), 1e-12);
  }));

  it('vmap of grad equals the taped loop\'s', () => tidy(() => {
    const a = array([0.5, 0.6, -0.3]);
    expectClose(Array.from((vmap(grad(f({ checkpoints: 2 })))(a) as Tensor).data()), Array.from((vmap(grad(f({})))(a) as Tensor).data()), 1e-12);
  }));
});

describe('whileLoop: against finite differences', () => {
  it('the budgeted gradient with respect to x0, v0 and the closed-over p matches central differences (float64)', () => {
    checkGrads(looped(50, { checkpoints: 4 }), [x0, v0, p0]);
  });
});
