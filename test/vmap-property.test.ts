// Property-based tests of vmap: on random programs (the style of property.test.ts), with random
// batch axes, a shared (unmapped) second input or not, and random out axes, vmap(f)(xs) equals
// stacking f over the examples, and vmap(grad(f)) equals the per-example gradients.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import {
  add, array, cos, div, exp, grad, logsumexp, matmul, max, mean, mul, neg, sigmoid, sin, slice, softmax, square, stack, sub, sum, tanh,
  tidy, transpose, vmap, concat, type Tensor,
} from './helpers/api.js';
import { expectMemoryRestored } from './helpers/memory.js';

expectMemoryRestored();

interface Instr {
  op: string;
  args: number[];
  axis: number;
}

// Every op maps values of the program's square shape [n, n] to that shape.
const UNARY: Record<string, (x: Tensor, axis: number) => Tensor> = {
  sin: (x) => sin(x), cos: (x) => cos(x), tanh: (x) => tanh(x), sigmoid: (x) => sigmoid(x), neg: (x) => neg(x),
  expTanh: (x) => exp(tanh(x)),
  transpose: (x) => transpose(x),
  sumKeep: (x, axis) => add(x, sum(x, axis, { keepdims: true })),
  sumDrop: (x, axis) => mul(x, sum(x, axis)),
  meanKeep: (x, axis) => mul(x, mean(x, axis, { keepdims: true })),
  maxKeep: (x, axis) => sub(x, max(x, axis, { keepdims: true })),
  lse: (x, axis) => sub(x, logsumexp(x, axis, { keepdims: true })),
  softmax: (x, axis) => softmax(x, axis),
  rotate: (x, axis) => {
    const n = x.shape[axis];
    if (n < 2) return x;
    const begin = [0, 0], size = [...x.shape];
    begin[axis] = 1;
    size[axis] = n - 1;
    const rest = [...x.shape];
    rest[axis] = 1;
    return concat([slice(x, begin, size), slice(x, [0, 0], rest)], axis);
  },
};
const BINARY: Record<string, (a: Tensor, b: Tensor) => Tensor> = {
  add, sub, mul,
  divSafe: (a, b) => div(a, add(1.5, square(b))),
  matmulScaled: (a, b) => mul(matmul(a, b), 0.25),
  matmulRow: (a, b) => add(a, matmul(sum(a, 0), b)),
};

function run(program: Instr[], inputs: Tensor[]): Tensor {
  const pool = [...inputs];
  for (const ins of program) {
    const [i, j] = ins.args.map((a) => pool[a % pool.length]);
    pool.push(ins.op in UNARY ? UNARY[ins.op](i, ins.axis) : BINARY[ins.op](i, j));
  }
  return pool[pool.length - 1];
}

function show(program: Instr[]): string {
  return program.map((ins, k) => `v${k + 2} = ${ins.op}(${ins.args.map((a) => `v${a % (k + 2)}`).join(', ')}, axis=${ins.axis})`).join('\n');
}

const instr = fc.oneof(
  fc.record({ op: fc.constantFrom(...Object.keys(UNARY)), args: fc.array(fc.nat(20), { minLength: 1, maxLength: 1 }), axis: fc.constantFrom(0, 1) }),
  fc.record({ op: fc.constantFrom(...Object.keys(BINARY)), args: fc.array(fc.nat(20), { minLength: 2, maxLength: 2 }), axis: fc.constant(0) }),
);

const caseArb = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  batch: fc.integer({ min: 1, max: 4 }),
  program: fc.array(instr, { minLength: 1, maxLength: 6 }),
  axes: fc.tuple(fc.constantFrom(0, 1, 2, -1), fc.constantFrom(0, 1, 2, null)),
  outAxis: fc.constantFrom(0, 1, 2, -1),
  values: fc.array(fc.double({ min: -1.5, max: 1.5, noNaN: true }), { minLength: 9 * 9, maxLength: 9 * 9 }),
});

/** Example e of input k ([n, n]), from the drawn values. */
function exampleOf(values: number[], n: number, k: number, e: number): Tensor {
  const m = n * n, start = ((2 * e + k) * m) % (values.length - m);
  return array(values.slice(start, start + m), { shape: [n, n] });
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 1;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

const params = { seed: 20261204, numRuns: 120 };

describe('vmap on random programs', () => {
  it('equals stacking f over the examples (random in and out axes, shared inputs)', () => {
    fc.assert(fc.property(caseArb, ({ n, batch, program, axes, outAxis, values }) => tidy(() => {
      const f = (a: Tensor, b: Tensor) => run(program, [a, b]);
      const examples = Array.from({ length: batch }, (_, e) => [exampleOf(values, n, 0, e), exampleOf(values, n, 1, e)]);
      const shared = exampleOf(values, n, 1, batch);
      const batched = [0, 1].map((k) => (axes[k] === null ? shared : stack(examples.map((ex) => ex[k]), axes[k]!)));
      const got = vmap(f, { inAxes: [...axes], outAxes: outAxis })(batched[0], batched[1]);
      const want = stack(examples.map(([a, b]) => f(a, axes[1] === null ? shared : b)), outAxis);
      const shapes = `${JSON.stringify(got.shape)} vs ${JSON.stringify(want.shape)}`;
      if (JSON.stringify(got.shape) !== JSON.stringify(want.shape)) throw new Error(`shapes ${shapes}\n${show(program)}`);
      const err = relErr(got.data(), want.data());
      if (!(err < 1e-12)) throw new Error(`vmap vs loop: relative error ${err} (inAxes ${JSON.stringify(axes)}, outAxes ${outAxis})\n${show(program)}`);
      return true;
    })), params);
  });

  it('vmap(grad(f)) equals the per-example gradients', () => {
    fc.assert(fc.property(caseArb, ({ n, batch, program, axes, values }) => tidy(() => {
      const loss = (a: Tensor, b: Tensor) => sum(run(program, [a, b]));
      const g = grad(loss, { argnums: [0, 1] });
      const examples = Array.from({ length: batch }, (_, e) => [exampleOf(values, n, 0, e), exampleOf(values, n, 1, e)]);
      const shared = exampleOf(values, n, 1, batch);
      const batched = [0, 1].map((k) => (axes[k] === null ? shared : stack(examples.map((ex) => ex[k]), axes[k]!)));
      const got = vmap(g, { inAxes: [...axes] })(batched[0], batched[1]) as Tensor[];
      const per = examples.map(([a, b]) => g(a, axes[1] === null ? shared : b) as Tensor[]);
      for (let k = 0; k < 2; k++) {
        const err = relErr(got[k].data(), stack(per.map((p) => p[k])).data());
        if (!(err < 1e-11)) throw new Error(`vmap(grad) vs loop, argument ${k}: relative error ${err} (inAxes ${JSON.stringify(axes)})\n${show(program)}`);
      }
      return true;
    })), params);
  });
});
