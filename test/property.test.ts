// Property-based tests: random programs built from the primitives, on random shapes and values
// inside each op's domain. For every program, forward mode matches central differences, reverse
// mode satisfies <u, J v> = <J^T u, v>, jacfwd equals jacrev, and float32 agrees with float64
// within float32 tolerance. Seeded (reproducible); a failure prints the program.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  add, array, cos, div, exp, jacfwd, jacrev, jvp, log, logsumexp, matmul, mean, memory, mul, neg, sigmoid, sin, softmax,
  sqrt, square, sub, sum, tanh, tidy, transpose, vjp, type Tensor,
} from './helpers/api.js';

type Value = Tensor;
interface Instr {
  op: string;
  args: number[];
  axis?: number;
}

// Each op maps values of the program's square shape [n, n] to that shape (reductions keep
// dims and broadcast back), and stays inside its domain for any real input.
const UNARY: Record<string, (x: Value) => Value> = {
  sin, cos, tanh, sigmoid, neg,
  square: (x) => square(x),
  expTanh: (x) => exp(tanh(x)),
  log1pSq: (x) => log(add(1, square(x))),
  sqrt1pSq: (x) => sqrt(add(1, square(x))),
  transpose: (x) => transpose(x),
};
const BINARY: Record<string, (a: Value, b: Value) => Value> = {
  add, sub, mul,
  divSafe: (a, b) => div(a, add(1.5, square(b))),
  matmulScaled: (a, b) => mul(matmul(a, b), 0.25),
};
const REDUCE: Record<string, (x: Value, axis: number) => Value> = {
  sumKeep: (x, axis) => add(x, sum(x, axis, { keepdims: true })),
  meanKeep: (x, axis) => mul(x, mean(x, axis, { keepdims: true })),
  lseKeep: (x, axis) => sub(x, logsumexp(x, axis, { keepdims: true })),
  softmax: (x, axis) => softmax(x, axis),
};

function run(program: Instr[], inputs: Value[]): Value {
  const pool = [...inputs];
  for (const ins of program) {
    const [i, j] = ins.args.map((a) => pool[a % pool.length]);
    if (ins.op in UNARY) pool.push(UNARY[ins.op](i));
    else if (ins.op in BINARY) pool.push(BINARY[ins.op](i, j));
    else pool.push(REDUCE[ins.op](i, ins.axis ?? 0));
  }
  return pool[pool.length - 1];
}

function show(program: Instr[], n: number): string {
  return `inputs x0, x1 of shape [${n}, ${n}]\n` + program
    .map((ins, k) => `v${k + 2} = ${ins.op}(${ins.args.map((a) => `v${a % (k + 2)}`).join(', ')}${ins.axis !== undefined ? `, axis=${ins.axis}` : ''})`)
    .join('\n');
}

const instr = fc.oneof(
  fc.record({ op: fc.constantFrom(...Object.keys(UNARY)), args: fc.array(fc.nat(20), { minLength: 1, maxLength: 1 }) }),
  fc.record({ op: fc.constantFrom(...Object.keys(BINARY)), args: fc.array(fc.nat(20), { minLength: 2, maxLength: 2 }) }),
  fc.record({ op: fc.constantFrom(...Object.keys(REDUCE)), args: fc.array(fc.nat(20), { minLength: 1, maxLength: 1 }), axis: fc.constantFrom(0, 1) }),
);

const caseArb = fc.record({
  n: fc.integer({ min: 1, max: 4 }),
  program: fc.array(instr, { minLength: 1, maxLength: 6 }),
  values: fc.array(fc.double({ min: -1.5, max: 1.5, noNaN: true }), { minLength: 32, maxLength: 32 }),
  direction: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 32, maxLength: 32 }),
});

function normRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]), Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1);
}

function dotOf(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function inputsOf(n: number, values: number[], dtype: 'float64' | 'float32' = 'float64'): [Value, Value] {
  const m = n * n;
  const input = (k: number) => array(values.slice(k * m, k * m + m), { shape: [n, n], dtype });
  return [input(0), input(1)];
}

let baseline = 0;
beforeAll(() => {
  baseline = memory().bytesInUse;
});
afterAll(() => {
  expect(memory().bytesInUse).toBe(baseline);
});

const params = { seed: 20261122, numRuns: 150 };

describe('random programs', () => {
  it('jvp matches central differences (float64)', () => {
    fc.assert(fc.property(caseArb, ({ n, program, values, direction }) => tidy(() => {
      const xs = inputsOf(n, values);
      const vs = inputsOf(n, direction);
      const f = (a: Value, b: Value) => run(program, [a, b]);
      const [, dy] = jvp(f, xs, vs) as [Value, Value];
      const at = (h: number) => f(...(xs.map((x, i) => add(x, mul(vs[i], h))) as [Value, Value])).data();
      const h = 1e-3;
      const d1 = Float64Array.from(at(h), (p, i) => (p - at(-h)[i]) / (2 * h));
      const d2 = Float64Array.from(at(h / 2), (p, i) => (p - at(-h / 2)[i]) / h);
      const fd = Float64Array.from(d1, (a, i) => (4 * d2[i] - a) / 3);
      const err = normRel(dy.data(), fd);
      if (!(err < 1e-6)) throw new Error(`jvp vs finite differences: relative error ${err}\n${show(program, n)}`);
      return true;
    })), params);
  });

  it('vjp satisfies <u, J v> = <J^T u, v>', () => {
    fc.assert(fc.property(caseArb, ({ n, program, values, direction }) => tidy(() => {
      const xs = inputsOf(n, values);
      const vs = inputsOf(n, direction);
      const f = (a: Value, b: Value) => run(program, [a, b]);
      const [y, dy] = jvp(f, xs, vs) as [Value, Value];
      const u = array(Array.from({ length: y.size }, (_, i) => Math.sin(3 * i + 1)), { shape: [...y.shape] });
      const [, pullback] = vjp(f, ...xs);
      const cts = pullback(u) as Value[];
      const lhs = dotOf(u.data(), dy.data());
      const rhs = dotOf(cts[0].data(), vs[0].data()) + dotOf(cts[1].data(), vs[1].data());
      const err = Math.abs(lhs - rhs) / Math.max(1, Math.abs(lhs), Math.abs(rhs));
      if (!(err < 1e-10)) throw new Error(`<u, Jv> = ${lhs} but <J^T u, v> = ${rhs}\n${show(program, n)}`);
      return true;
    })), params);
  });

  it('jacfwd equals jacrev', () => {
    fc.assert(fc.property(caseArb, ({ n, program, values }) => tidy(() => {
      const xs = inputsOf(n, values);
      const f = (a: Value, b: Value) => run(program, [a, b]);
      const fwd = jacfwd(f, { argnums: [0, 1] })(...xs) as Value[];
      const rev = jacrev(f, { argnums: [0, 1] })(...xs) as Value[];
      for (let i = 0; i < 2; i++) {
        const err = normRel(fwd[i].data(), rev[i].data());
        if (!(err < 1e-12)) throw new Error(`jacfwd vs jacrev (argument ${i}): relative difference ${err}\n${show(program, n)}`);
      }
      return true;
    })), params);
  });

  it('float32 agrees with float64 within float32 tolerance, derivatives too', () => {
    fc.assert(fc.property(caseArb, ({ n, program, values, direction }) => tidy(() => {
      const f = (a: Value, b: Value) => run(program, [a, b]);
      const [y64, d64] = jvp(f, inputsOf(n, values), inputsOf(n, direction)) as [Value, Value];
      const [y32, d32] = jvp(f, inputsOf(n, values, 'float32'), inputsOf(n, direction, 'float32')) as [Value, Value];
      expect(y32.dtype).toBe('float32');
      const ey = normRel(y32.data(), y64.data());
      const ed = normRel(d32.data(), d64.data());
      if (!(ey < 1e-4 && ed < 1e-3)) throw new Error(`float32 vs float64: value ${ey}, tangent ${ed}\n${show(program, n)}`);
      return true;
    })), params);
  });
});
