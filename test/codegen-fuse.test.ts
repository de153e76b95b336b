// Fused loops in generated code (src/staging/codegen-fuse.ts): a run of elementwise equations
// over small tensors of one size becomes one loop (a shared loop function) with its
// intermediates as loop-local consts. Compiled programs must equal the interpreter to the bit
// (the loops hold arithmetic, gathers and sums; Math.* maps stay kernel calls), store exactly
// the values read outside the loop, and keep memory steady.
import { afterEach, describe, expect, it } from 'vitest';
import {
  abs, add, array, broadcastTo, codegenControl, compiledOf, div, equal, exp, greater, jit, less, log, maximum, memory, minimum, mul, neg,
  reciprocal, reshape, scalar, slice, stack, seededUniformForTests, sigmoid, sign, sqrt, square, sub, sum, tanh, tidy, valueAndGrad, where, type Tensor,
} from './helpers/api.js';
import { spec } from './helpers/memory.js';
import { expectBitEqual, runBoth } from './helpers/codegen.js';

type DType = 'float64' | 'float32';
type Fn = (...xs: Tensor[]) => Tensor | Tensor[];

afterEach(() => {
  codegenControl.fusedLoops = 'auto';
  codegenControl.enabled = true;
});

/** f compiled with fused loops as `mode` says (always, unless asked), and interpreted. */
const runFused = (f: Fn, args: Tensor[], mode: 'auto' | 'always' = 'always') => runBoth(f, args, mode);


/** Calls of loop functions in a compiled program's source (each passes the views first). */
const loopCalls = (source: string) => source.match(/\(F64, F32, /g)?.length ?? 0;
/** Kernel calls in a compiled program's source (a bound kernel takes its inputs as an array). */
const kernelCalls = (source: string) => source.match(/^K\[\d+\]\([^)]*, \[/gm)?.length ?? 0;

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

function randomInputs(seed: number, shapes: number[][], dtype: DType): Tensor[] {
  const r = seededUniformForTests(seed);
  return shapes.map((shape) => array(Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r() < 0.1 ? pick(r, [0, -0, 1]) : 4 * r() - 2)), { shape, dtype }));
}

// ---- random elementwise chains --------------------------------------------------------------

/** Families of shapes that broadcast against each other (scalars, rows, columns, full). */
const FAMILIES: { full: number[]; shapes: number[][] }[] = [
  { full: [2, 7], shapes: [[], [7], [2, 7], [1, 7], [2, 1]] },
  { full: [1, 14], shapes: [[], [14], [1, 14], [1]] },
  { full: [8, 8], shapes: [[], [8, 8], [8], [8, 1], [1, 8]] },
  { full: [2, 3], shapes: [[], [3], [2, 3]] },
];

type Op = (r: () => number, xs: Tensor[]) => Tensor;
const constant = (r: () => number) => pick(r, [0, 1, -1, 0.5, 2, -3.25, 1e-3]);
const OPS: Op[] = [
  (r, [a, b]) => add(a, b), (r, [a, b]) => sub(a, b), (r, [a, b]) => mul(a, b), (r, [a, b]) => div(a, b),
  (r, [a, b]) => maximum(a, b), (r, [a, b]) => minimum(a, b), (r, [a]) => add(a, constant(r)), (r, [a]) => mul(constant(r), a),
  (r, [a]) => neg(a), (r, [a]) => square(a), (r, [a]) => reciprocal(add(abs(a), 1)), (r, [a]) => sign(a),
  (r, [a]) => sqrt(abs(a)), (r, [a, b]) => where(greater(a, b), a, b), (r, [a, b]) => less(a, b), (r, [a, b]) => equal(a, b),
  (r, [a]) => sum(a), (r, [a]) => (a.ndim === 2 && a.shape[0] === 1 ? reshape(a, [a.size]) : reshape(a, a.shape)),
  // Math.* maps of more than one element stay kernel calls, ending a loop (bit-equal too).
  (r, [a]) => (a.size > 1 ? tanh(a) : a), (r, [a]) => (a.size > 1 ? exp(minimum(a, 5)) : a),
];

/** A random chain of `length` ops (reading the latest values most often); its last three values broadcast to `shape`. */
function randomChain(seed: number, length: number, shape: number[]): (...xs: Tensor[]) => Tensor[] {
  return (...inputs) => {
    const r = seededUniformForTests(seed);
    const pool = [...inputs];
    for (let i = 0; i < length; i++) {
      const from = () => pool[Math.max(0, pool.length - 1 - Math.floor(r() * r() * pool.length))];
      pool.push(pick(r, OPS)(r, [from(), from()]));
    }
    return pool.slice(-3).map((t) => broadcastTo(t, shape));
  };
}

describe('random elementwise chains: fused loops equal the interpreter to the bit', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`60 chains of 24 ops over broadcasting shapes of 2 to 64 elements (${dtype})`, () => {
      let fused = 0;
      for (let seed = 1; seed <= 60; seed++) {
        tidy(() => {
          const r = seededUniformForTests(500 + seed);
          const { full, shapes } = FAMILIES[seed % FAMILIES.length];
          const args = randomInputs(seed, [pick(r, shapes), full, pick(r, shapes)], dtype);
          const { compiled, interpreted, source } = runFused(randomChain(seed, 24, full), args);
          expectBitEqual(compiled, interpreted, `chain ${seed}`);
          fused += loopCalls(source);
        });
      }
      expect(fused).toBeGreaterThan(60);
    });
  }

  spec('a fused sum of 2 to 64 elements adds in the sum kernel\'s order (float64 and float32)', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      for (let n = 2; n <= 64; n++) {
        const [x] = randomInputs(n, [[n]], dtype);
        const scale = array(Float64Array.from({ length: n }, (_, i) => 10 ** ((i % 7) - 3)), { dtype });
        const { compiled, interpreted, source } = runFused((a, s) => [sum(mul(add(a, 0.25), s)), sum(reshape(mul(a, s), [1, n]), 1)], [x, scale]);
        expect(loopCalls(source)).toBeGreaterThanOrEqual(1);
        expectBitEqual(compiled, interpreted, `sum of ${n} ${dtype}`);
      }
    }
  });
});

// ---- the shape of the generated code ---------------------------------------------------------

describe('programs compiled whole', () => {
  spec(`a program whose large values are a sliver (LARGE_FRACTION) and kernel-made compiles whole`, () => {
    const f = (x: Tensor, big: Tensor) => {
      let y = x;
      for (let i = 0; i < 60; i++) y = add(mul(y, 0.5), x);
      return [y, add(big, big)];
    };
    const [x, big] = randomInputs(7, [[14], [200]], 'float64');
    const { compiled, interpreted } = runFused(f, [x, big], 'auto');
    expectBitEqual(compiled, interpreted, 'mostly small');
  });

  spec('a program with large elementwise chains stays with the interpreter (and its fusion)', () => {
    const f = (x: Tensor) => sum(exp(mul(add(x, 1), x)));
    const [x] = randomInputs(8, [[1000]], 'float64');
    expect(compiledOf(jit(f).program(x))).toBeNull();
  });
});

describe('what a fused loop computes and stores', () => {
  const chain = (x: Tensor, w: Tensor) => {
    let y = x;
    for (let i = 0; i < 5; i++) y = add(mul(y, w), x);
    return sub(y, mul(x, 0.5));
  };

  spec('a chain of 12 arithmetic ops over 14 elements is one loop and no kernel call', () => {
    const [x, w] = randomInputs(3, [[14], [14]], 'float64');
    const { compiled, interpreted, source, loops } = runFused(chain, [x, w], 'auto');
    expect(loopCalls(source)).toBe(1);
    expect(loops.join('\n').match(/for \(/g)).toHaveLength(1);
    expect(source).not.toMatch(/for \(/);
    expect(kernelCalls(source)).toBe(0);
    expectBitEqual(compiled, interpreted, 'chain');
  });

  spec('with fused loops off (jit fuse: false) the same chain is 12 kernel calls', () => {
    const [x, w] = randomInputs(3, [[14], [14]], 'float64');
    const c = compiledOf(jit(chain, { fuse: false }).program(x, w))!;
    expect(loopCalls(c.source)).toBe(0);
    expect(kernelCalls(c.source)).toBe(12);
  });

  spec('a value read outside its loop (returned, or read by a kernel) is stored; the others are not', () => {
    const f = (x: Tensor, w: Tensor) => {
      const t = mul(x, w);
      const u = add(t, 1);
      const v = mul(square(u), x);
      return [v, tanh(t), t];
    };
    const [x, w] = randomInputs(4, [[14], [1, 14]], 'float32');
    const { compiled, interpreted, source, loops } = runFused(f, [x, w], 'auto');
    expectBitEqual(compiled, interpreted, 'stored values');
    expect(loopCalls(source)).toBe(1);
    // The loop's four values: t stored (read by the tanh kernel, returned), v stored
    // (returned), u and square(u) loop-local.
    expect(loops).toHaveLength(1);
    expect(loops[0].match(/const x\d+ = /g)).toHaveLength(4);
    expect(loops[0].match(/\] = x\d+;/g)).toHaveLength(2);
  });

  spec('a sum ends its loop: what reads the sum comes after, in a loop of its own', () => {
    const f = (x: Tensor) => {
      const y = mul(add(x, 1), x);
      const s = sum(y);
      return mul(sub(y, s), 2);
    };
    const [x] = randomInputs(5, [[14]], 'float64');
    const { compiled, interpreted, source } = runFused(f, [x], 'auto');
    expect(loopCalls(source)).toBe(2);
    expectBitEqual(compiled, interpreted, 'sum then broadcast');
  });

  spec(`over GROUP_SIZE elements (here 64) the auto rule leaves the chain to kernel calls`, () => {
    const [x, w] = randomInputs(6, [[64], [64]], 'float64');
    const { compiled, interpreted, source } = runFused(chain, [x, w], 'auto');
    expect(loopCalls(source)).toBe(0);
    expectBitEqual(compiled, interpreted, 'large chain');
  });
});

// ---- the LSTM of the field bench ---------------------------------------------------------------

/** GradBench's diagonal LSTM (bench/suites/field-models.mjs) with every weight row its own input, so every value is small. */
function lstm(l: number, c: number) {
  return (W: Tensor[], E: Tensor[], S: Tensor[], X: Tensor[]) => {
    const [inW, outW, outB] = E;
    const hidden = Array.from({ length: l }, (_, j) => S[2 * j]);
    const cell = Array.from({ length: l }, (_, j) => S[2 * j + 1]);
    let total = scalar(0);
    for (let t = 0; t < c - 1; t++) {
      let u = mul(X[t], inW);
      for (let j = 0; j < l; j++) {
        const [Wf, Wi, Wo, Wc, bf, bi, bo, bc] = W.slice(8 * j, 8 * j + 8);
        const forget = sigmoid(add(mul(u, Wf), bf));
        const ingate = sigmoid(add(mul(hidden[j], Wi), bi));
        const outgate = sigmoid(add(mul(u, Wo), bo));
        const change = tanh(add(mul(hidden[j], Wc), bc));
        cell[j] = add(mul(cell[j], forget), mul(ingate, change));
        hidden[j] = mul(outgate, tanh(cell[j]));
        u = hidden[j];
      }
      const y = add(mul(u, outW), outB);
      const lse = log(add(sum(exp(y)), 2));
      total = add(total, sum(mul(X[t + 1], sub(y, lse))));
    }
    return mul(total, -1 / ((c - 1) * X[0].size));
  };
}

describe('the LSTM objective and gradient (hidden 14, 2 layers)', () => {
  const [l, c, b] = [2, 12, 14];
  const rows = (seed: number, n: number) => randomInputs(seed, Array.from({ length: n }, () => [b]), 'float64').map((t) => mul(t, 0.5));

  spec('jit(valueAndGrad) compiles with fused loops and equals eager to 1e-12 relative', () => {
    const args = [rows(1, 8 * l), rows(2, 3), rows(3, 2 * l), rows(4, c)];
    const f = valueAndGrad(lstm(l, c), { argnums: [0, 1] }) as (...a: Tensor[][]) => [Tensor, Tensor[][]];
    const jf = jit(f);
    const source = compiledOf(jf.program(...args))?.source ?? '';
    expect(loopCalls(source)).toBeGreaterThan(3 * c);
    const flat = (out: [Tensor, Tensor[][]]) => [out[0], ...out[1].flat()].map((t) => Array.from(t.data()));
    const want = flat(f(...args));
    const got = flat(jf(...args));
    got.forEach((g, k) => g.forEach((x, i) => {
      const w = want[k][i];
      expect(Math.abs(x - w), `output ${k} element ${i}`).toBeLessThanOrEqual(1e-12 * Math.max(Math.abs(w), 1e-300));
    }));
  });

  spec('with the field bench\'s inputs ([l, 8, b] weights, [c, b] sequence: large values read by slices) it compiles whole and equals eager to 1e-12', () => {
    // 64 steps: its 33 large results (the weight gradient's pads and adds) are under LARGE_FRACTION of its equations.
    const cf = 64;
    const [W, E, S, X] = [rows(1, 8 * l), rows(2, 3), rows(3, 2 * l), rows(4, cf)];
    const field = (main: Tensor, extra: Tensor, state: Tensor, seq: Tensor) => {
      const row = (t: Tensor, ...at: number[]) => reshape(slice(t, [...at, 0], [...at.map(() => 1), b]), [b]);
      return lstm(l, cf)(
        Array.from({ length: 8 * l }, (_, k) => row(main, Math.floor(k / 8), k % 8)), [0, 1, 2].map((k) => row(extra, k)),
        Array.from({ length: 2 * l }, (_, k) => row(state, Math.floor(k / 2), k % 2)), Array.from({ length: cf }, (_, t) => row(seq, t)));
    };
    const args = [reshape(stack(W), [l, 8, b]), stack(E), reshape(stack(S), [l, 2, b]), stack(X)];
    const f = valueAndGrad(field, { argnums: [0, 1] }) as (...a: Tensor[]) => [Tensor, Tensor[]];
    const jf = jit(f);
    expect(loopCalls(compiledOf(jf.program(...args))?.source ?? '')).toBeGreaterThan(3 * cf);
    const flat = (out: [Tensor, Tensor[]]) => [out[0], ...out[1]].map((t) => Array.from(t.data()));
    const want = flat(f(...args));
    flat(jf(...args)).forEach((g, k) => g.forEach((x, i) => {
      expect(Math.abs(x - want[k][i]), `output ${k} element ${i}`).toBeLessThanOrEqual(1e-12 * Math.abs(want[k][i]));
    }));
  });

  it('repeated calls keep memory steady', () => {
    const args = [rows(1, 8 * l), rows(2, 3), rows(3, 2 * l), rows(4, c)];
    const jf = jit(valueAndGrad(lstm(l, c), { argnums: [0, 1] }) as (...a: Tensor[][]) => [Tensor, Tensor[][]]);
    const dispose = (out: [Tensor, Tensor[][]]) => [out[0], ...out[1].flat()].forEach((t) => t.dispose());
    dispose(jf(...args));
    const before = memory();
    for (let i = 0; i < 100; i++) dispose(jf(...args));
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
    args.flat().forEach((t) => t.dispose());
  });
});
