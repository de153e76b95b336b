// whileLoop's reverse mode inside jit (jit(grad(f)) and grad(jit(f))), and fori with tensor
// bounds, which is a whileLoop on a counter. Jitted programs keep their constants, so instead of
// the file-wide memory check each case checks that a second call leaves nothing behind.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { add, array, fori, grad, jit, less, linspace, memory, mul, scalar, sin, sum, tidy, vjp, whileLoop, type Tensor } from './helpers/api.js';
import { expectSame, gradients, gradientsOf, looped, loss, p0, stepOf, unrolled, v0, x0, type State } from './helpers/loops.js';
import { steady } from './helpers/memory.js';

describe('whileLoop: reverse mode inside jit', () => {
  const l = 60, s = 5;
  let reference: number[][];
  beforeAll(() => {
    reference = gradients(unrolled(l));
  }, 60_000);

  it('jit(grad(f)) gives the unrolled gradient with a budget', () => {
    const g = jit(grad(looped(l, { checkpoints: s }), { argnums: [0, 1, 2] }));
    expectSame(steady(() => gradientsOf(g)), reference);
  }, 60_000);

  it('jit(grad(f)) with a budget handles a loop that takes no step', () => {
    const g = jit(grad(looped(0, { checkpoints: s }), { argnums: [0, 1, 2] }));
    expectSame(steady(() => gradientsOf(g)), gradients(unrolled(0)));
  });

  it('jit(grad(f)) gives the unrolled gradient without a budget', () => {
    const g = jit(grad(looped(l, {}), { argnums: [0, 1, 2] }));
    expectSame(steady(() => gradientsOf(g)), reference);
  }, 60_000);

  it('grad(jit(f)) gives the unrolled gradient, with and without a budget', () => {
    const budgeted = jit(looped(l, { checkpoints: s }));
    const plain = jit(looped(l, {}));
    expectSame(steady(() => gradients(budgeted)), reference);
    expectSame(steady(() => gradients(plain)), reference);
  }, 60_000);

  it('jit(grad(f)) stages the loop as a forward and a backward equation carrying the budget', () => {
    const text = jit(grad(looped(l, { checkpoints: s }), { argnums: [0, 1, 2] })).program(x0, v0, p0).toString();
    expect(text).toContain('whileLoop[checkpoints=5');
    expect(text).toContain('whileLoop_backward[checkpoints=5');
  }, 60_000);

  it('with a budget the forward equation hands its s snapshots, their positions and the step count to the backward one', () => {
    const program = jit(grad(looped(l, { checkpoints: s }), { argnums: [0, 1, 2] })).program(x0, v0, p0);
    const calls = program.equations.flatMap((eq) => (eq.call ? [{ name: eq.call.name, inputs: eq.inputs, outs: eq.outs }] : []));
    const forward = calls.find((eq) => eq.name === 'whileLoop')!;
    const back = calls.find((eq) => eq.name === 'whileLoop_backward')!;
    // Carry [k, x, v]: 3 leaves, then 5 snapshots of 3 leaves, positions [5] and the step count.
    expect(forward.outs.length).toBe(3 + 5 * 3 + 2);
    expect(program.avals[forward.outs[3 + 15]].shape).toEqual([5]);
    for (const v of forward.outs.slice(3)) expect(back.inputs).toContain(v);
  }, 60_000);
});

describe('fori with tensor bounds', () => {
  it('loops between bounds given as tensors, eagerly and inside jit (one loop equation)', () => tidy(() => {
    const f = (n: Tensor) => fori(0, n, (i, x: Tensor) => add(x, i), array([0, 1]));
    expect(Array.from(f(scalar(10)).data())).toEqual([45, 46]);
    const jf = jit(f);
    expect(Array.from(jf(scalar(10)).data())).toEqual([45, 46]);
    expect(Array.from(jf(scalar(4)).data())).toEqual([6, 7]);
    expect(jf.program(scalar(10)).toString()).toContain('whileLoop[');
  }));

  it('differentiates through whileLoop\'s reverse mode with a budget, eagerly and inside jit', () => {
    const f = (x: Tensor, v: Tensor, p: Tensor, n: Tensor) => {
      const [, x1, v1] = fori(0, n, (_, st: State) => stepOf(p)(st), [scalar(0), x, v] as State, { checkpoints: 3 });
      return loss([scalar(0), x1, v1]);
    };
    const reference = gradients(unrolled(20));
    const jitted = grad(jit(f), { argnums: [0, 1, 2] });
    expectSame(steady(() => tidy(() => (jitted(x0, v0, p0, scalar(20)) as Tensor[]).map((g) => Array.from(g.data())))), reference);
    const eager = tidy(() => (grad(f, { argnums: [0, 1, 2] })(x0, v0, p0, scalar(20)) as Tensor[]).map((g) => Array.from(g.data())));
    expectSame(eager, reference);
  }, 60_000);

  it('with number bounds and a budget checkpoints as scan does', () => {
    const f = (x: Tensor, v: Tensor, p: Tensor) => {
      const [, x1, v1] = fori(0, 20, (_, st: State) => stepOf(p)(st), [scalar(0), x, v] as State, { checkpoints: 3 });
      return loss([scalar(0), x1, v1]);
    };
    expectSame(gradients(f), gradients(unrolled(20)));
  }, 60_000);
});

describe('whileLoop under jit(grad(f)): peak memory', () => {
  it('holds no more carry states than the eager loop: (s + 4) plus one step\'s tape', () => {
    const s = 6, l = 300, n = 1024;
    const stateBytes = 2 * n * 8 + 16;
    const body = ([k, x]: Tensor[]) => [add(k, 1), add(mul(x, 0.999), mul(sin(x), 0.001))];
    const g = jit(grad((y: Tensor) => sum(whileLoop(([k]: Tensor[]) => less(k, l), body, [scalar(0), y], { checkpoints: s })[1])));
    tidy(() => {
      const x = linspace(-1, 1, n);
      const tape = tidy(() => {
        const before = memory().bytesInUse;
        vjp((y: Tensor) => body([scalar(0), y])[1], x);
        return memory().bytesInUse - before;
      });
      tidy(() => g(x));
      memory({ resetPeak: true });
      const base = memory().bytesInUse;
      tidy(() => g(x));
      expect(memory().peakBytes - base).toBeLessThan((s + 4) * stateBytes + tape);
    });
  }, 60_000);
});

describe('whileLoop under jit(grad(f)): the recomputation warning', () => {
  afterEach(() => vi.restoreAllMocks());

  it('warns once when the budget forces more than 100x recomputation', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const g = jit(grad((x: Tensor) => whileLoop(([k]: Tensor[]) => less(k, 210), ([k, y]: Tensor[]) => [add(k, 1), mul(y, 1.001)], [scalar(0), x], { checkpoints: 1 })[1]));
    tidy(() => void g(scalar(0.5)));
    tidy(() => void g(scalar(0.5)));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/210 steps .* 1 snapshots .*\{checkpoints: \d+\}/);
  }, 60_000);
});
