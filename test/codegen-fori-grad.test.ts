// fori under jit(grad) as generated code: with scalar carries the forward equation
// (fori_stacked) and the backward one (fori_backward) compile to two JS loops over numbers, the
// stacked carries living in memory. Each case compares with eager grad, the unrolled loop, finite
// differences and the interpreter (codegen off). Jitted functions keep their compiled code's
// buffers while they live, so memory is checked as a steady state across calls.
import { describe, expect, it } from 'vitest';
import {
  add, array, astype, codegenControl, compiledOf, div, fori, grad, jacrev, jit, mul, scalar, sin, stack, sub, sum, valueAndGrad, type Tensor,
} from './helpers/api.js';
import { checkGrads } from './helpers/check.js';
import { Program, definedBy, type Equation } from '../src/staging/program.js';
import type { DenseTensor } from '../src/tensor/tensor.js';
import { steady, disposedValues as values } from './helpers/memory.js';

type Fn = (...xs: Tensor[]) => Tensor;
type Carry = [Tensor, Tensor];

function expectClose(got: number[], want: number[], rtol = 1e-12): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThanOrEqual(rtol * Math.max(Math.abs(want[i]), 1e-300)));
}

/** One Lotka-Volterra RK4 step with parameters a, b, g, d (the bench's field model). */
function lvStep([a, b, g, d]: Tensor[], h: number): (x: Tensor, y: Tensor) => Carry {
  const rhs = (x: Tensor, y: Tensor): Carry => {
    const xy = mul(x, y);
    return [sub(mul(a, x), mul(b, xy)), sub(mul(d, xy), mul(g, y))];
  };
  return (x, y) => {
    const [k1x, k1y] = rhs(x, y);
    const [k2x, k2y] = rhs(add(x, mul(h / 2, k1x)), add(y, mul(h / 2, k1y)));
    const [k3x, k3y] = rhs(add(x, mul(h / 2, k2x)), add(y, mul(h / 2, k2y)));
    const [k4x, k4y] = rhs(add(x, mul(h, k3x)), add(y, mul(h, k3y)));
    const combine = (z: Tensor, k1: Tensor, k2: Tensor, k3: Tensor, k4: Tensor) => add(z, mul(h / 6, add(add(k1, mul(2, k2)), add(mul(2, k3), k4))));
    return [combine(x, k1x, k2x, k3x, k4x), combine(y, k1y, k2y, k3y, k4y)];
  };
}

const LV = { h: 0.01, steps: 500, init: [10, 5] };
const lvParams = () => [1.5, 1, 3, 1].map((v) => scalar(v));

/** The final prey, the loop as fori. */
const lvFori = (steps: number) => (...p: Tensor[]) => {
  const step = lvStep(p, LV.h);
  return fori(0, steps, (_, [x, y]: Carry) => step(x, y), [scalar(LV.init[0]), scalar(LV.init[1])] as Carry)[0];
};

/** The same with a JS loop (unrolled by every transform). */
const lvUnrolled = (steps: number) => (...p: Tensor[]) => {
  const step = lvStep(p, LV.h);
  let [x, y] = [scalar(LV.init[0]), scalar(LV.init[1])];
  for (let s = 0; s < steps; s++) [x, y] = step(x, y);
  return x;
};

/**
 * Three carries of both dtypes (two float32, one float64), three captures, the index read, and
 * bounds from 3 to 43: x <- x + 0.05 (a x - b x y), y <- y + 0.05 (x y / (1 + y) - a y), z <- z + 0.02 sin(c z + i) z.
 */
function mixedBody(i: Tensor, [x, y, z]: Tensor[], a: Tensor, b: Tensor, c: Tensor): Tensor[] {
  const xy = mul(x, y);
  return [
    add(x, mul(0.05, sub(mul(a, x), mul(b, xy)))),
    add(y, mul(0.05, sub(div(xy, add(1, y)), mul(a, y)))),
    add(z, mul(0.02, mul(sin(add(mul(c, z), i)), z))),
  ];
}
const mixedLower = 3, mixedUpper = 43;
const f32 = (v: number) => scalar(v, { dtype: 'float32' });
const mixedArgs = () => [f32(0.9), f32(0.6), scalar(0.4), f32(1.1), f32(0.7), scalar(1.3)];
const mixedLoss = (x: Tensor, y: Tensor, z: Tensor) => add(astype(add(x, mul(2, y)), 'float64'), mul(3, z));
const mixedFori: Fn = (x0, y0, z0, a, b, c) => {
  const [x, y, z] = fori(mixedLower, mixedUpper, (i, carry: Tensor[]) => mixedBody(i, carry, a, b, c), [x0, y0, z0]);
  return mixedLoss(x, y, z);
};
const mixedUnrolled: Fn = (x0, y0, z0, a, b, c) => {
  let carry = [x0, y0, z0];
  for (let i = mixedLower; i < mixedUpper; i++) carry = mixedBody(scalar(i), carry, a, b, c);
  return mixedLoss(carry[0], carry[1], carry[2]);
};
const all6 = { argnums: [0, 1, 2, 3, 4, 5] };
const all4 = { argnums: [0, 1, 2, 3] };

/** The generated source of jitted `g`'s program at `args` (it must compile). */
function sourceOf(g: ReturnType<typeof jit>, args: Tensor[]): string {
  const program = g.program(...args);
  const c = compiledOf(program);
  if (!c) throw new Error(`expected the program to compile:\n${program}`);
  expect(c.pure).toBe(true);
  return c.source;
}

/** f's outputs from a fresh jit with generated code off (the planned interpreter runs every equation). */
function interpreted(f: (...xs: Tensor[]) => unknown, args: Tensor[]): number[] {
  codegenControl.enabled = false;
  try {
    return values(jit(f as (...xs: Tensor[]) => Tensor[])(...args));
  } finally {
    codegenControl.enabled = true;
  }
}

/**
 * `program` cut before equation `at`: the first part returns every earlier variable the second
 * part reads or the program returns (inputs and constants too), the second takes them as inputs.
 */
function split(program: Program, at: number): [Program, Program] {
  const { avals, equations, inputCount, consts, outputs } = program;
  const boundary = Math.min(...definedBy(equations[at]));
  const later = equations.slice(at);
  const passed = [...new Set([...later.flatMap((eq) => eq.inputs), ...outputs].filter((v) => v < boundary))].sort((a, b) => a - b);
  const first = new Program(avals.slice(0, boundary), inputCount, consts, equations.slice(0, at), passed);
  const renumber = (v: number) => (v < boundary ? passed.indexOf(v) : v - boundary + passed.length);
  const second = new Program([...passed.map((v) => avals[v]), ...avals.slice(boundary)], passed.length, [], later.map((eq): Equation => (eq.call
    ? { call: eq.call, inputs: eq.inputs.map(renumber), outs: eq.outs.map(renumber) }
    : { prim: eq.prim, params: eq.params, inputs: eq.inputs.map(renumber), out: renumber(eq.out) })), outputs.map(renumber));
  return [first, second];
}

describe('fori under jit(grad) with scalar carries, as generated code', () => {
  it('jit(valueAndGrad) of Lotka-Volterra RK4 equals eager valueAndGrad and the unrolled loop', () => {
    const p = lvParams();
    const g = jit(valueAndGrad(lvFori(LV.steps), all4));
    const got = steady(() => values(g(...p)));
    expectClose(got, values(valueAndGrad(lvFori(LV.steps), all4)(...p)));
    expectClose(got, values(valueAndGrad(lvUnrolled(LV.steps), all4)(...p)));
    values(p);
  }, 60_000);

  it('the Lotka-Volterra gradient program is one forward and one backward JS loop, no per-step call', () => {
    const p = lvParams();
    const source = sourceOf(jit(valueAndGrad(lvFori(LV.steps), all4)), p);
    expect(source).toMatch(/for \(let (c\d+_i) = 0; \1 < 500; \1\+\+\)/);
    expect(source).toMatch(/for \(let (c\d+_i) = 499; \1 >= 0; \1--\)/);
    expect(source.match(/for \(/g)).toHaveLength(2);
    expect(source).not.toContain('.run(');
    values(p);
  });

  it('jit(grad) of Lotka-Volterra matches central differences of the value', () => {
    const p = lvParams();
    const got = values(jit(grad(lvFori(200), all4))(...p));
    const f = jit(lvFori(200));
    const at = (q: number[]) => values(f(...q.map((v) => scalar(v))))[0];
    const base = [1.5, 1, 3, 1];
    const fd = base.map((_, k) => {
      const d = (e: number) => (at(base.map((v, j) => (j === k ? v + e : v))) - at(base.map((v, j) => (j === k ? v - e : v)))) / (2 * e);
      return (4 * d(5e-5) - d(1e-4)) / 3;
    });
    expectClose(got, fd, 1e-6);
    values(p);
  }, 60_000);

  it('grad(jit(f)) passes checkGrads (its backward program is the two generated loops)', () => {
    const p = lvParams();
    const jf = jit(lvFori(100));
    checkGrads(jf, p);
    values(p);
  }, 60_000);

  it('float32 and float64 carries, captures, the index and a nonzero lower bound: equals eager grad and the unrolled loop', () => {
    const args = mixedArgs();
    const g = jit(valueAndGrad(mixedFori, all6));
    const got = steady(() => values(g(...args)));
    expectClose(got, values(valueAndGrad(mixedFori, all6)(...args)));
    expectClose(got, values(valueAndGrad(mixedUnrolled, all6)(...args)));
    const source = sourceOf(g, args);
    expect(source).toMatch(/for \(let (c\d+_i) = 3; \1 < 43; \1\+\+\)/);
    expect(source).toMatch(/for \(let (c\d+_i) = 42; \1 >= 3; \1--\)/);
    expect(source).toContain('Math.fround(');
    values(args);
  }, 60_000);

  it('the generated loops give the numbers the interpreter gives', () => {
    const args = mixedArgs();
    const g = valueAndGrad(mixedFori, all6);
    expect(values(jit(g)(...args))).toEqual(interpreted(g, args));
    const p = lvParams();
    const lv = valueAndGrad(lvFori(LV.steps), all4);
    expect(values(jit(lv)(...p))).toEqual(interpreted(lv, p));
    values([...args, ...p]);
  }, 60_000);

  it('a fori whose carry is a vector keeps the interpreted loops and the right gradient', () => {
    const f = (x: Tensor, w: Tensor) => sum(fori(2, 102, (i, c: Tensor) => add(c, mul(0.05, sin(add(mul(w, c), i)))), x));
    const args = [array([0.1, -0.4, 0.9]), array([1.3, 0.7, -0.2])] as const;
    const g = jit(grad(f, { argnums: [0, 1] }));
    expect(compiledOf(g.program(...args))).toBeNull();
    const got = steady(() => values(g(...args)));
    expectClose(got, values(grad(f, { argnums: [0, 1] })(...args)));
    values(args);
  }, 60_000);

  it('stacks compile as a program\'s outputs and as another\'s inputs (the two loops in separate programs)', () => {
    const p = lvParams();
    const g = jit(valueAndGrad(lvFori(LV.steps), all4));
    const program = g.program(...p);
    const at = program.equations.findIndex((eq) => eq.call?.name.endsWith('_backward'));
    const [first, second] = split(program, at);
    expect(first.outputAvals.some((a) => a.shape[0] === LV.steps)).toBe(true);
    const c1 = compiledOf(first), c2 = compiledOf(second);
    if (!c1 || !c2) throw new Error(`expected both parts to compile:\n${first}\n${second}`);
    const middle = c1.run(p as DenseTensor[]);
    const got = values(c2.run(middle));
    values(middle);
    expect(got).toEqual(values(g(...p)));
    values(p);
  }, 60_000);

  it('with several cotangent rows (jacrev of a vector) the forward loop is generated and the backward one interpreted', () => {
    const f = (x: Tensor, a: Tensor) => {
      const [u, v] = fori(1, 21, (i, [y, z]: Carry) => [add(y, mul(0.1, sin(mul(a, z)))), sub(z, mul(0.1, mul(y, i)))] as Carry, [x, mul(2, x)] as Carry);
      return stack([u, v]);
    };
    const args = [scalar(0.4), scalar(1.3)] as const;
    const j = (x: Tensor, a: Tensor) => jacrev(f, { argnums: [0, 1] })(x, a) as unknown as Tensor[];
    const g = jit(j);
    const source = compiledOf(g.program(...args))?.source ?? '';
    expect(source).toMatch(/for \(let (c\d+_i) = 1; \1 < 21; \1\+\+\)/);
    expect(source.match(/\.run\(/g)).toHaveLength(1);
    const got = steady(() => values(g(...args)));
    expectClose(got, values(j(...args)));
    values(args);
  }, 60_000);

  for (const n of [1, 5]) {
    it(`jit(grad) of a fori called in another fori's body (${n} inner steps) equals the eager loops`, () => {
      const inner = (c: Tensor, a: Tensor) => fori(0, n, (i, y: Tensor) => add(y, mul(0.1, sin(add(mul(a, y), i)))), c);
      const jg = jit(grad(inner));
      const f = (x: Tensor, a: Tensor) => fori(0, 4, (_, c: Tensor) => add(c, mul(0.5, jg(c, a) as Tensor)), x);
      const args = [scalar(0.4), scalar(1.3)] as const;
      const jf = jit(f);
      const got = steady(() => values(jf(...args)));
      expectClose(got, values(fori(0, 4, (_, c: Tensor) => add(c, mul(0.5, grad(inner)(c, args[1]) as Tensor)), args[0])));
      values(args);
    }, 60_000);
  }
});
