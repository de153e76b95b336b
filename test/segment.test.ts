// Partial compilation (src/staging/segment.ts): in a program with large values, runs of
// equations on small values are outlined into compiled `segment` equations. The pass must not
// change a single bit of any result, must really compile what it outlines, must keep the
// program differentiable and batchable through jit, and must leak nothing, errors included.
import { afterEach, describe, expect, it } from 'vitest';
import {
  add, arange, array, cholesky, codegenControl, cond, div, eye, fori, grad, greater, jit, less, lessEqual, maximum, memory,
  minimum, mul, odeint, reshape, scalar, slice, sqrt, square, sub, sum, tidy, vmap, where, whileLoop, concat, LinAlgError, type Tensor,
} from './helpers/api.js';
import { checkGrads } from './helpers/check.js';
import { spec } from './helpers/memory.js';
import { evalProgram, plannedProgram } from '../src/staging/execute.js';
import type { Program } from '../src/staging/program.js';
import { segmentation } from '../src/staging/segment.js';

// No file-wide return to the starting bytes: jitted functions hold their programs' constants
// and compiled buffers until collected; the memory tests check steady state across calls.

type Fn = (...xs: Tensor[]) => Tensor | Tensor[];

afterEach(() => {
  segmentation.enabled = true;
});

const data = (out: Tensor | Tensor[]) => [out].flat().map((t) => Array.from(t.data()));

/** f through a fresh jit with the pass on and off: the outputs' data, and the programs run. */
function onAndOff(f: Fn, args: Tensor[]): { on: number[][]; off: number[][]; program: Program } {
  const jOn = jit(f);
  const on = tidy(() => data(jOn(...args)));
  segmentation.enabled = false;
  try {
    const jOff = jit(f);
    return { on, off: tidy(() => data(jOff(...args))), program: jOn.program(...args) };
  } finally {
    segmentation.enabled = true;
  }
}

function expectBitEqual(got: number[][], want: number[][]): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, k) => g.forEach((x, i) => {
    if (!Object.is(x, want[k][i])) throw new Error(`output ${k} element ${i}: with segments ${x}, without ${want[k][i]}`);
  }));
}

/** The outlined segments of the program as the interpreter runs it. */
function segmentsOf(program: Program): Program[] {
  return plannedProgram(program).equations.flatMap((eq) => (eq.call?.name === 'segment' ? [eq.call.params.program as Program] : []));
}

const large = (n: number, seed = 1) => array(Float64Array.from({ length: n }, (_, i) => Math.sin(seed * (i + 1)) * 0.5));

/** Large ops interleaved with scalar chains that read their sums. */
function mixed(x: Tensor, s: Tensor): Tensor[] {
  const a = sum(x);
  let c = add(mul(a, s), 1);
  c = div(maximum(c, 0.5), add(square(s), 2));
  c = where(less(c, 1), sub(1, c), mul(c, 0.25));
  const y = mul(x, c);
  let d = sum(y);
  d = minimum(add(mul(d, d), c), 10);
  d = sqrt(add(square(d), mul(s, 3)));
  return [y, d, add(d, c)];
}

describe('outlining', () => {
  it('large ops interleaved with scalar chains: the chains are compiled segments, the results bit-equal', () => {
    const args = [large(200), scalar(0.7)];
    const before = codegenControl.compiled;
    const { on, off, program } = onAndOff(mixed, args);
    expectBitEqual(on, off);
    const segments = segmentsOf(program);
    expect(segments.length).toBeGreaterThanOrEqual(2);
    expect(codegenControl.compiled - before).toBeGreaterThanOrEqual(segments.length);
    for (const seg of segments) expect(seg.avals.every((a) => a.shape.reduce((m, d) => m * d, 1) <= 64)).toBe(true);
  });

  it('a large op the chain does not need does not split it: one segment around it', () => {
    const f = (x: Tensor, s: Tensor) => {
      let c = add(mul(s, s), 1);
      c = div(c, add(s, 3));
      const big = mul(x, 2);
      c = sub(mul(c, c), s);
      c = maximum(c, 0.1);
      return [big, c];
    };
    const args = [large(100), scalar(0.3)];
    const { on, off, program } = onAndOff(f, args);
    expectBitEqual(on, off);
    const segments = segmentsOf(program);
    expect(segments.length).toBe(1);
    expect(segments[0].equations.length).toBe(program.equations.length - 1);
  });

  it('scalar control flow (cond, fori) inside a chain is part of the segment', () => {
    const f = (x: Tensor, s: Tensor) => {
      const a = sum(x);
      const b = cond(greater(a, s), (u) => mul(u, 2), (u) => sub(u, 1), a);
      const c = fori(0, 5, (i, acc) => add(mul(acc, 0.5), i), add(b, s));
      const d = div(add(c, b), add(square(s), 1));
      return [mul(x, d), d];
    };
    const args = [large(150), scalar(-0.2)];
    const { on, off, program } = onAndOff(f, args);
    expectBitEqual(on, off);
    const names = segmentsOf(program).flatMap((p) => p.equations.flatMap((eq) => (eq.call ? [eq.call.name] : [])));
    expect(names).toEqual(expect.arrayContaining(['cond', 'fori']));
  });

  it('a loop with a large carry and scalar step control: the body\'s scalar part is compiled, the results bit-equal', () => {
    const f = (x: Tensor) => {
      const out = whileLoop(
        ([t]: Tensor[]) => less(t, 1),
        ([t, h, y, n]: Tensor[]) => {
          const step = minimum(h, sub(1, t));
          const yNew = add(y, mul(step, sub(0.5, y)));
          const err = div(sum(square(sub(yNew, y))), 100);
          const ok = lessEqual(err, 0.01);
          const grown = minimum(mul(h, 1.5), add(h, 0.2));
          return [where(ok, add(t, step), t), where(ok, grown, mul(h, 0.5)), where(ok, yNew, y), add(n, 1)];
        },
        [scalar(0), scalar(0.3), x, scalar(0)]);
      return out;
    };
    const args = [large(100, 3)];
    const { on, off, program } = onAndOff(f, args);
    expectBitEqual(on, off);
    const loop = program.equations.find((eq) => eq.call?.name === 'whileLoop')!;
    const body = loop.call!.params.body as Program;
    expect(segmentsOf(body).length).toBeGreaterThanOrEqual(1);
  });

  it('the adaptive ODE solver under jit: its step body is mostly segments, and it equals the eager solve bit for bit', () => {
    const lv = (z: Tensor, _t: Tensor, p: Tensor) => {
      const x = slice(z, [0], [1]), y = slice(z, [1], [1]);
      const [a, b, c, d] = [0, 1, 2, 3].map((i) => reshape(slice(p, [i], [1]), []));
      return concat([mul(x, sub(a, mul(b, y))), mul(y, sub(mul(c, x), d))]);
    };
    const solve = (p: Tensor) => odeint(lv, [10, 5], Array.from({ length: 21 }, (_, i) => i / 2), p, { rtol: 1e-8, atol: 1e-8 });
    const p = array([1.5, 1, 1, 3]);
    const jitted = jit(solve);
    expectBitEqual(tidy(() => data(jitted(p))), tidy(() => data(solve(p))));
    const loop = jitted.program(p).equations.find((eq) => eq.call?.name === 'whileLoop')!;
    const body = loop.call!.params.body as Program;
    const planned = plannedProgram(body);
    const outlined = segmentsOf(body).reduce((n, s) => n + s.equations.length, 0);
    expect(outlined).toBeGreaterThan(0.8 * body.equations.length);
    expect(planned.equations.length).toBeLessThan(body.equations.length / 5);
  });

  it('runs shorter than segmentation.minLength stay as they are', () => {
    const f = (x: Tensor, s: Tensor) => mul(x, add(mul(sum(x), s), 1));
    expect(segmentsOf(jit(f).program(large(100), scalar(2)))).toEqual([]);
  });

  it('with the switch off nothing is outlined', () => {
    segmentation.enabled = false;
    const jf = jit(mixed);
    expect(segmentsOf(jf.program(large(200), scalar(0.7)))).toEqual([]);
  });
});

describe('transforms through a program with segments', () => {
  const args = () => [large(80, 2), scalar(0.4)];
  const loss = (x: Tensor, s: Tensor) => {
    const [y, d, e] = mixed(x, s);
    return add(sum(mul(y, y)), mul(d, e));
  };

  it('grad(jit(f)) is bit-equal with and without the pass, and agrees with finite differences', () => {
    const { on, off } = onAndOff((x, s) => grad(jit(loss), { argnums: [0, 1] })(x, s) as Tensor[], args());
    expectBitEqual(on, off);
    checkGrads(jit(loss), args());
  });

  it('jit(grad(f)): the backward program\'s scalar parts are segments too, bit-equal', () => {
    const g = (x: Tensor, s: Tensor) => grad(loss, { argnums: [0, 1] })(x, s) as Tensor[];
    const { on, off, program } = onAndOff(g, args());
    expectBitEqual(on, off);
    expect(segmentsOf(program).length).toBeGreaterThanOrEqual(1);
  });

  it('vmap(jit(f)) is bit-equal with and without the pass, and to a loop over the examples', () => {
    const xs = reshape(array(Float64Array.from({ length: 3 * 80 }, (_, i) => Math.cos(i) * 0.3)), [3, 80]);
    const ss = array([0.4, -0.1, 2]);
    const batched = (x: Tensor, s: Tensor) => vmap(jit(loss))(x, s) as Tensor;
    const { on, off } = onAndOff(batched, [xs, ss]);
    expectBitEqual(on, off);
    const loop = tidy(() => [0, 1, 2].map((i) => loss(reshape(slice(xs, [i, 0], [1, 80]), [80]), reshape(slice(ss, [i], [1]), [])).item()));
    expect(on[0]).toEqual(loop);
  });

  it('a segment equation replays through bind on tracers (the planned program under grad)', () => {
    const [x, s] = args();
    const gradOf = (planned: Program) => tidy(() => data(grad((a: Tensor, b: Tensor) => evalProgram(planned, [a, b])[0], { argnums: [0, 1] })(x, s) as Tensor[]));
    const planned = plannedProgram(jit(loss).program(x, s));
    expect(planned.equations.some((eq) => eq.call?.name === 'segment')).toBe(true);
    segmentation.enabled = false;
    const unsegmented = plannedProgram(jit(loss).program(x, s));
    expect(unsegmented.equations.some((eq) => eq.call?.name === 'segment')).toBe(false);
    // The pass sinks scalar equations past large ones, so the tape records them in another
    // order and a cotangent's contributions are summed in another order: equal to rounding.
    const [got, want] = [gradOf(planned), gradOf(unsegmented)];
    got.forEach((g, k) => g.forEach((v, i) => expect(Math.abs(v - want[k][i])).toBeLessThanOrEqual(1e-14 * Math.max(1, Math.abs(want[k][i])))));
  });
});

describe('memory and errors', () => {
  it('repeated calls hold memory steady', () => {
    const jf = jit(mixed);
    const [x, s] = [large(200), scalar(0.7)];
    tidy(() => void jf(x, s));
    const before = memory();
    for (let i = 0; i < 100; i++) tidy(() => void jf(x, s));
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
  });

  it('an error after a segment ran (a large op throwing) propagates and leaks nothing; the next call works', () => {
    // cholesky of A + c I throws a LinAlgError when the compiled scalar chain makes c negative.
    const f = (a: Tensor, s: Tensor) => {
      let c = sub(mul(s, s), 1);
      c = add(mul(c, 3), div(s, 4));
      c = minimum(c, 100);
      c = mul(c, 2);
      const shifted = add(a, mul(eye(9), c));
      return [cholesky(shifted), c];
    };
    const jf = jit(f);
    const a = reshape(arange(81).mul(0), [9, 9]);
    const good = scalar(2), bad = scalar(0.1);
    expect(segmentsOf(jf.program(a, good)).length).toBe(1);
    const want = tidy(() => data(jf(a, good)));
    const before = memory();
    for (let i = 0; i < 3; i++) expect(() => tidy(() => jf(a, bad))).toThrow(LinAlgError);
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
    expect(tidy(() => data(jf(a, good)))).toEqual(want);
  });

  it('an error inside a loop body with segments frees the carries the loop made', () => {
    const f = (a: Tensor) => whileLoop(
      ([k]: Tensor[]) => less(k, 5),
      ([k, m]: Tensor[]) => {
        let c = sub(2, k);
        c = mul(c, add(k, 1));
        c = sub(c, 0.5);
        c = maximum(c, -10);
        return [add(k, 1), cholesky(add(m, mul(eye(9), c)))];
      },
      [scalar(0), a]);
    const jf = jit(f);
    const a = reshape(arange(81).mul(0), [9, 9]);
    tidy(() => void expect(() => jf(a)).toThrow(LinAlgError));
    const before = memory();
    for (let i = 0; i < 3; i++) tidy(() => void expect(() => jf(a)).toThrow(LinAlgError));
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
  });
});

spec('the outlined call prints as a nested program', () => {
  const jf = jit(mixed);
  const text = plannedProgram(jf.program(large(200), scalar(0.7))).toString();
  expect(text).toMatch(/= segment\[program=\{ lambda/);
});

describe('staged loops on concrete values', () => {
  it('a fori with a large carry and a scalar counter runs its body program per step, bit-equal with the pass off, memory steady', () => {
    const f = (x: Tensor) => fori(0, 30, (i, [y, h]: Tensor[]) => {
      let step = div(h, add(i, 1));
      step = minimum(maximum(step, 0.001), 0.5);
      step = sub(mul(step, 1.01), 0.0001);
      return [add(y, mul(step, sub(0.25, y))), mul(h, 0.97)];
    }, [x, scalar(0.4)]);
    const args = [large(100, 5)];
    const { on, off, program } = onAndOff(f, args);
    expectBitEqual(on, off);
    const body = program.equations.find((eq) => eq.call?.name === 'fori')!.call!.params.body as Program;
    expect(segmentsOf(body).length).toBe(1);
    const jf = jit(f);
    tidy(() => void jf(args[0]));
    const before = memory();
    for (let i = 0; i < 20; i++) tidy(() => void jf(args[0]));
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
  });

  spec('a loop that runs no step returns new handles of its initial carry', () => {
    const x = large(80);
    const [w] = jit((a: Tensor) => whileLoop(([y]: Tensor[]) => less(sum(y), -1e9), ([y]: Tensor[]) => [mul(y, 2)], [a]))(x);
    const [r] = jit((a: Tensor) => fori(3, 3, (_i, [y]: Tensor[]) => [mul(y, 2)], [a]))(x);
    w.dispose();
    r.dispose();
    expect(Array.from(x.data())).toEqual(Array.from(large(80).data()));
  });
});
