// Every primitive declares its facts; these tests hold each declaration against the primitive's
// own behaviour. `shape` (abstract evaluation) must agree with impl on random shapes, including
// broadcasting and size-0 and size-1 axes; the declared sparsity must contain the nonzero
// pattern of the dense Jacobian, and equal it where the structure is exact.
import { describe, expect, it } from 'vitest';
import { allPrimitives, definePrimitive, type Primitive } from '../src/core/primitive.js';
import { bind } from '../src/core/trace.js';
import { DenseTensor } from '../src/tensor/tensor.js';
import { add, array, cos, jacfwd, jacobian, jacrev, matmul, mul, sin, sparsityPattern, stack, sum, tidy, transpose, vmap, type Tensor } from '../src/index.js';
import { empty, seededUniform } from '../src/tensor/create.js';
import { batchSame } from '../src/core/batch-axes.js';
import { compiledOf } from '../src/staging/codegen.js';
import { Program } from '../src/staging/program.js';

type Params = Record<string, unknown>;
const denseMap = (x: Tensor) => mul(x, sum(x));
interface Case {
  shapes: number[][];
  params?: Params;
  /** Inputs in (0.5, 1.5) (log, sqrt, pow bases). */
  positive?: boolean;
  /** Input 0 is made symmetric positive definite ([n, n]). */
  spd?: boolean;
  /** The batch axes the vmap walk gives the inputs (default: drawn at random). */
  batchAxes?: (number | null)[];
  /** Inputs that are int32 indices: input number -> values drawn from [0, bound). */
  ints?: Record<number, number>;
}

const unary: Case[] = [{ shapes: [[]] }, { shapes: [[0]] }, { shapes: [[1]] }, { shapes: [[3, 4]] }, { shapes: [[2, 0, 3]] }, { shapes: [[1, 5, 1]] }];
const binary: Case[] = [
  { shapes: [[3, 4], [3, 4]] }, { shapes: [[3, 1], [1, 4]] }, { shapes: [[], [2, 3]] }, { shapes: [[2, 0, 3], [3]] },
  { shapes: [[1], [5]] }, { shapes: [[2, 1, 3], [4, 1]] },
];
const positive = (cases: Case[]) => cases.map((c) => ({ ...c, positive: true }));
const reduce: Case[] = [
  { shapes: [[3, 4]], params: { axes: [0], keepdims: false } }, { shapes: [[3, 4]], params: { axes: [1], keepdims: true } },
  { shapes: [[2, 3, 4]], params: { axes: [0, 2], keepdims: false } }, { shapes: [[2, 1, 4]], params: { axes: [0, 1, 2], keepdims: true } },
  { shapes: [[2, 0, 3]], params: { axes: [2], keepdims: false } },
];

/** Inputs and params per primitive; a primitive without an entry fails the walk. */
const cases: Record<string, Case[]> = {
  neg: unary, exp: unary, sin: unary, cos: unary, tan: unary, tanh: unary, sigmoid: unary, square: unary,
  reciprocal: positive(unary), abs: unary, sign: unary, log: positive(unary), sqrt: positive(unary),
  add: binary, sub: binary, mul: binary, div: positive(binary), pow: positive(binary), maximum: binary, minimum: binary,
  greater: binary, less: binary, equal: binary, greater_equal: binary, less_equal: binary,
  log1p: unary, expm1: unary, sinh: unary, cosh: unary, asin: unary, acos: unary, atan: unary, erf: unary,
  floor: unary, ceil: unary, round: unary,
  atan2: [{ shapes: [[3, 4], [3, 4]] }, { shapes: [[0, 2], [0, 2]] }, { shapes: [[], []] }],
  cumsum: [
    { shapes: [[3, 4]], params: { axis: 1, reverse: false } }, { shapes: [[3, 4]], params: { axis: 0, reverse: true } },
    { shapes: [[2, 3, 2]], params: { axis: 1, reverse: false } }, { shapes: [[0, 3]], params: { axis: 1, reverse: true } },
  ],
  flip: [{ shapes: [[3, 4]], params: { axis: 0 } }, { shapes: [[2, 3, 2]], params: { axis: 1 } }, { shapes: [[2, 0]], params: { axis: 0 } }],
  where: [{ shapes: [[3, 4], [3, 4], [3, 4]] }, { shapes: [[1, 4], [3, 1], []] }, { shapes: [[0, 2], [2], [1]] }],
  astype: [{ shapes: [[2, 3]], params: { dtype: 'float32' } }, { shapes: [[0]], params: { dtype: 'float32' } }],
  stop_gradient: unary,
  sum: reduce, max: reduce, min: reduce,
  reshape: [{ shapes: [[2, 3]], params: { shape: [3, 2] } }, { shapes: [[0, 4]], params: { shape: [2, 0, 2] } }, { shapes: [[1]], params: { shape: [] } }],
  transpose: [{ shapes: [[2, 3]], params: { perm: [1, 0] } }, { shapes: [[2, 3, 4]], params: { perm: [2, 0, 1] } }, { shapes: [[1, 0, 2]], params: { perm: [2, 1, 0] } }],
  broadcast_to: [{ shapes: [[3]], params: { shape: [2, 3] } }, { shapes: [[2, 1]], params: { shape: [2, 4] } }, { shapes: [[]], params: { shape: [0, 3] } }],
  slice: [{ shapes: [[4, 5]], params: { begin: [1, 2], size: [2, 3] } }, { shapes: [[3]], params: { begin: [1], size: [0] } }],
  pad: [{ shapes: [[2, 3]], params: { widths: [[1, 0], [2, 1]] } }, { shapes: [[0]], params: { widths: [[1, 2]] } }],
  concat: [{ shapes: [[2, 3], [1, 3]], params: { axis: 0 } }, { shapes: [[2, 1], [2, 0], [2, 2]], params: { axis: 1 } }],
  name: [{ shapes: [[3]], params: { label: 'h' } }],
  // Calls of functions with custom rules: f(x) = x sum(x) has a dense Jacobian.
  custom_jvp: [{ shapes: [[3]], params: { f: denseMap, rule: ([x]: Tensor[], [dx]: Tensor[]) => [denseMap(x), add(mul(dx, sum(x)), mul(x, sum(dx)))] } }],
  custom_vjp: [{ shapes: [[3]], params: {
    f: denseMap, fwd: (x: Tensor) => [denseMap(x), x], bwd: (x: Tensor, g: Tensor) => [add(mul(g, sum(x)), sum(mul(g, x)))],
  } }],
  matmul: [
    { shapes: [[2, 3], [3, 4]], params: { transA: false, transB: false } }, { shapes: [[3, 2], [4, 3]], params: { transA: true, transB: true } },
    { shapes: [[2, 2, 3], [3, 4]], params: { transA: false, transB: false } }, { shapes: [[0, 3], [3, 2]], params: { transA: false, transB: false } },
  ],
  solve: [{ shapes: [[3, 3], [3, 2]], params: { op: 'solve' }, spd: true }, { shapes: [[2, 3, 3], [3, 1]], params: { op: 'solve' }, spd: true }],
  inv: [{ shapes: [[3, 3]], params: { op: 'inv' }, spd: true }],
  det: [{ shapes: [[3, 3]], spd: true }, { shapes: [[2, 2, 2]], spd: true }],
  logdet: [{ shapes: [[3, 3]], spd: true }],
  cholesky: [{ shapes: [[4, 4]], spd: true }],
  qr: [{ shapes: [[4, 3]] }, { shapes: [[3, 3]] }, { shapes: [[2, 3, 2]] }, { shapes: [[3, 0]] }, { shapes: [[1, 1]] }],
  eigh: [{ shapes: [[3, 3]] }, { shapes: [[2, 4, 4]] }, { shapes: [[0, 0]] }, { shapes: [[1, 1]] }],
  svd: [{ shapes: [[4, 3]] }, { shapes: [[2, 3]] }, { shapes: [[2, 3, 3]] }, { shapes: [[0, 3]] }, { shapes: [[3, 1]] }, { shapes: [[1, 3]] }],
  pinv: [{ shapes: [[4, 3]], params: { rcond: 1e-15 } }, { shapes: [[2, 3]], params: { rcond: 1e-15 } }, { shapes: [[2, 0]], params: { rcond: 1e-15 } }],
  triangular_solve: [false, true].flatMap((lower) => [false, true].flatMap((tr) => [false, true].map((unitDiag) => ({
    shapes: [[4, 4], [4, 2]], params: { op: 'triangularSolve', lower, transpose: tr, unitDiag }, spd: true,
  })))),
  softplus: unary,
  gather: [
    { shapes: [[4, 3], [5]], params: { axis: 0, along: false }, ints: { 1: 4 } },
    { shapes: [[2, 3, 4], [2, 2]], params: { axis: 1, along: false }, ints: { 1: 3 } },
    { shapes: [[3, 4], [3, 2]], params: { axis: 1, along: true }, ints: { 1: 4 } },
    { shapes: [[0, 3], [2]], params: { axis: 1, along: false }, ints: { 1: 3 } },
  ],
  scatter_add: [
    { shapes: [[4, 3], [5], [5, 3]], params: { axis: 0, along: false }, ints: { 1: 4 } },
    { shapes: [[3, 4], [3, 2], [3, 2]], params: { axis: 1, along: true }, ints: { 1: 4 } },
    { shapes: [[2, 0], [3], [3, 0]], params: { axis: 0, along: false }, ints: { 1: 2 } },
  ],
  argmax: [{ shapes: [[3, 4]], params: { axis: 1, keepdims: false } }, { shapes: [[2, 3, 4]], params: { axis: 0, keepdims: true } }],
  argmin: [{ shapes: [[3, 4]], params: { axis: 0, keepdims: false } }, { shapes: [[2, 3, 1]], params: { axis: 2, keepdims: true } }],
  argsort: [{ shapes: [[3, 4]], params: { axis: 1 } }, { shapes: [[4, 2]], params: { axis: 0 } }, { shapes: [[0, 3]], params: { axis: 1 } }],
};

/** Ops whose Jacobian may vanish where the declared pattern does not: selections (max, where, ...). */
const selecting = new Set(['maximum', 'minimum', 'max', 'min', 'abs']);

let seed = 1;
function input(shape: number[], c: Case, i: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = seededUniform(seed++);
  const bound = c.ints?.[i];
  if (bound !== undefined) return array(Int32Array.from({ length: n }, () => Math.floor(u() * bound)), { shape });
  const data = Float64Array.from({ length: n }, () => (c.positive ? 0.5 + u() : 2 * u() - 1));
  let x = array(data, { shape });
  if (c.spd && i === 0) {
    // A A^T + n I per member: symmetric positive definite, so every factorisation applies.
    const m = shape[shape.length - 1];
    const eye = Float64Array.from({ length: m * m }, (_, k) => (k % (m + 1) === 0 ? m : 0));
    x = matmul(x, transpose(x, [...shape.keys()].map((d, _, all) => (d < all.length - 2 ? d : 2 * all.length - 3 - d)))).add(array(eye, { shape: [m, m] }));
  }
  return x;
}

const walked = allPrimitives().filter((p) => !p.name.startsWith('test_') && !p.name.startsWith('counted_'));

describe('every primitive has cases here', () => {
  it('walks all primitives', () => {
    expect(walked.length).toBeGreaterThan(40);
    for (const p of walked) expect(cases[p.name], `add cases for primitive '${p.name}'`).toBeDefined();
  });
});

describe.each(walked.map((p) => [p.name, p] as [string, Primitive<unknown>]))('primitive %s', (_, prim) => {
  const list = cases[prim.name] ?? [];
  it.each(list.map((c, i) => [i, c] as [number, Case]))('shape agrees with impl (case %i)', (_, c) => {
    tidy(() => {
      const xs = c.shapes.map((s, i) => input(s, c, i)) as DenseTensor[];
      const out = prim.impl(xs, c.params ?? {});
      const aval = prim.shape(xs.map((x) => ({ shape: x.shape, dtype: x.dtype })), c.params ?? {});
      expect([...aval.shape]).toEqual([...out.shape]);
      expect(aval.dtype).toBe(out.dtype);
    });
  });

  it.each(list.map((c, i) => [i, c] as [number, Case]))('declared sparsity contains the Jacobian pattern (case %i)', (_, c) => {
    tidy(() => {
      const xs = c.shapes.map((s, i) => input(s, c, i));
      if (xs.some((x) => x.size === 0) || (c.params?.dtype && c.params.dtype !== 'float64')) return;
      for (let i = 0; i < xs.length; i++) {
        if (xs[i].dtype === 'int32') continue;
        const f = (x: Tensor) => bind(prim, xs.map((y, j) => (j === i ? x : y)), c.params ?? {});
        const declared = sparsityPattern(f, xs[i]);
        const jac = jacfwd(f)(xs[i]) as Tensor;
        const dense = jac.data();
        const n = xs[i].size, m = dense.length / n;
        const rows: number[][] = Array.from({ length: m }, () => []);
        for (let r = 0; r < m; r++) for (let col = 0; col < n; col++) if (dense[r * n + col] !== 0) rows[r].push(col);
        const declaredRows = Array.from({ length: m }, (_, r) => Array.from(declared.indices.subarray(declared.indptr[r], declared.indptr[r + 1])));
        for (let r = 0; r < m; r++) {
          for (const col of rows[r]) expect(declaredRows[r], `${prim.name} input ${i}: output ${r} depends on input element ${col}`).toContain(col);
        }
        if (!selecting.has(prim.name)) expect(declaredRows, `${prim.name} input ${i}: the declared pattern is wider than the Jacobian's`).toEqual(rows);
      }
    });
  });
});

describe('jacobian auto chooses by abstract evaluation', () => {
  let runs = 0;
  const countedSin = definePrimitive({
    name: 'test_counted_sin',
    impl: ([x]) => {
      runs++;
      return sin(x) as DenseTensor;
    },
    shape: ([x]) => x,
    saves: [0],
    sparsity: 'elementwise',
    batch: batchSame(),
    jvp: ({ inputs: [x], tangents: [t] }) => (t ? mul(t, cos(x)) : null),
    vjp: ({ ct, inputs: [x] }) => [mul(ct, cos(x))],
  });
  const countOf = (run: () => unknown) => {
    runs = 0;
    tidy(() => void run());
    return runs;
  };

  it('runs f\'s kernels no more often than the mode it picks (R^3 -> R^500: forward)', () => {
    const w = array(Float64Array.from({ length: 1500 }, (_, i) => Math.sin(i)), { shape: [500, 3] });
    const f = (x: Tensor) => bind(countedSin, [matmul(w, x)], {});
    const x = array([0.1, 0.2, 0.3]);
    expect(countOf(() => jacobian(f)(x))).toBe(countOf(() => jacfwd(f)(x)));
    expect(countOf(() => jacobian(f)(x))).toBe(1);
  });

  it('and for R^500 -> R^3 (reverse)', () => {
    const w = array(Float64Array.from({ length: 1500 }, (_, i) => Math.cos(i)), { shape: [3, 500] });
    const f = (x: Tensor) => bind(countedSin, [matmul(w, x)], {});
    const x = array(Float64Array.from({ length: 500 }, (_, i) => i / 500));
    expect(countOf(() => jacobian(f)(x))).toBe(countOf(() => jacrev(f)(x)));
  });

  it('falls back to taping f when f reads a value (abstract evaluation cannot run it)', () => {
    const f = (x: Tensor) => (x.sum().item() > 0 ? bind(countedSin, [x], {}) : x);
    const x = array([0.1, 0.2]);
    expect(Array.from((jacobian(f)(x) as Tensor).data())).toEqual(Array.from((jacfwd(f)(x) as Tensor).data()));
  });
});

describe('bound kernels (into) equal impl to the bit', () => {
  const bound = walked.filter((p) => p.into);
  it('covers the elementwise primitives', () => {
    expect(bound.map((p) => p.name)).toEqual(expect.arrayContaining(['add', 'mul', 'exp', 'neg', 'where', 'sum', 'matmul']));
  });
  describe.each(bound.map((p) => [p.name, p] as [string, Primitive<unknown>]))('%s', (_, prim) => {
    it.each((cases[prim.name] ?? []).map((c, i) => [i, c] as [number, Case]))('case %i', (_, c) => {
      tidy(() => {
        const xs = c.shapes.map((s, i) => input(s, c, i)) as DenseTensor[];
        const kernel = prim.into!(xs.map((x) => ({ shape: x.shape, dtype: x.dtype })), c.params ?? {});
        if (!kernel) return;
        const expected = prim.impl(xs, c.params ?? {});
        const out = empty(expected.shape, expected.dtype);
        kernel(out, xs);
        expect(Array.from(out.data()).map((v) => Object.is(v, -0) ? '-0' : v)).toEqual(Array.from(expected.data()).map((v) => Object.is(v, -0) ? '-0' : v));
      });
    });
  });
});

// The batch (vmap) rule of every primitive against a loop over the examples: the inputs get
// random batch axes (or none: an operand shared by every example), and vmap of the primitive
// must equal stacking it applied to each example.
describe('batch rules equal a loop over the examples', () => {
  const B = 3;
  let state = 12345;
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  // Layouts the batch rules special-case: outer products (a contraction of length 1) and a
  // shared matrix against a batch of columns.
  const batchOnly: Record<string, Case[]> = {
    matmul: [
      { shapes: [[3, 1], [1, 4]], params: { transA: false, transB: false }, batchAxes: [1, 0] },
      { shapes: [[1, 3], [4, 1]], params: { transA: true, transB: true }, batchAxes: [0, null] },
      { shapes: [[3, 2], [2, 1]], params: { transA: false, transB: false }, batchAxes: [null, 0] },
      { shapes: [[2, 3, 2], [1, 2]], params: { transA: false, transB: true }, batchAxes: [null, 1] },
      { shapes: [[3, 2], [2, 4]], params: { transA: false, transB: false }, batchAxes: [1, null] },
      { shapes: [[3, 2], [4, 2]], params: { transA: false, transB: true }, batchAxes: [0, null] },
    ],
    solve: [
      { shapes: [[3, 3], [3, 2]], params: { op: 'solve' }, spd: true, batchAxes: [null, 0] },
      { shapes: [[3, 3], [3, 2]], params: { op: 'solve' }, spd: true, batchAxes: [null, 1] },
      { shapes: [[3, 3], [3, 2]], params: { op: 'solve' }, spd: true, batchAxes: [null, 2] },
    ],
    triangular_solve: [
      { shapes: [[3, 3], [3, 2]], params: { op: 'triangularSolve', lower: true, transpose: true, unitDiag: false }, spd: true, batchAxes: [null, 1] },
      { shapes: [[3, 3], [3, 2]], params: { op: 'triangularSolve', lower: false, transpose: false, unitDiag: false }, spd: true, batchAxes: [null, 0] },
    ],
  };
  describe.each(walked.map((p) => [p.name, p] as [string, Primitive<unknown>]))('%s', (_, prim) => {
    it.each([...(cases[prim.name] ?? []), ...(batchOnly[prim.name] ?? [])].map((c, i) => [i, c] as [number, Case]))('case %i', (_, c) => {
      tidy(() => {
        // Draw per input: null (shared) or an axis in [0, rank]; at least one input is batched.
        let axes: (number | null)[];
        do axes = c.shapes.map((s) => (random() < 0.3 ? null : Math.floor(random() * (s.length + 1))));
        while (axes.every((a) => a === null));
        if (c.batchAxes) axes = c.batchAxes;
        const examples = Array.from({ length: B }, () => c.shapes.map((s, i) => input(s, c, i)));
        const shared = c.shapes.map((s, i) => input(s, c, i));
        const perExample = (e: number) => c.shapes.map((_, i) => (axes[i] === null ? shared[i] : examples[e][i]));
        const batched = c.shapes.map((_, i) => (axes[i] === null ? shared[i] : stack(examples.map((ex) => ex[i]), axes[i]!)));
        const f = (...xs: Tensor[]) => bind(prim, xs, c.params ?? {});
        const got = vmap(f, { inAxes: axes })(...batched);
        const expected = stack(Array.from({ length: B }, (_, e) => f(...perExample(e))));
        expect([...got.shape], `${prim.name} with batch axes ${JSON.stringify(axes)}`).toEqual([...expected.shape]);
        expect(got.dtype).toBe(expected.dtype);
        const g = got.data(), x = expected.data();
        for (let k = 0; k < x.length; k++) {
          const tol = 1e-9 * Math.max(1, Math.abs(x[k]));
          if (!(Math.abs(g[k] - x[k]) <= tol || (Number.isNaN(g[k]) && Number.isNaN(x[k])))) {
            expect(g[k], `${prim.name} with batch axes ${JSON.stringify(axes)}, element ${k}`).toBe(x[k]);
          }
        }
      });
    });
  });
});

describe('generated code (emit) equals impl', () => {
  const emitting = walked.filter((p) => p.emit);
  it('covers the elementwise, shape and sum primitives', () => {
    expect(emitting.map((p) => p.name)).toEqual(expect.arrayContaining(['add', 'mul', 'exp', 'neg', 'where', 'sum', 'reshape', 'broadcast_to', 'astype']));
  });
  /** ulp between two float64 values (0 when equal or both NaN). */
  const ulps = (a: number, b: number) => {
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) return 0;
    const bits = new BigInt64Array(new Float64Array([a, b]).buffer);
    const d = bits[0] - bits[1];
    return Number(d < 0n ? -d : d);
  };
  describe.each(emitting.map((p) => [p.name, p] as [string, Primitive<unknown>]))('%s', (_, prim) => {
    it.each((cases[prim.name] ?? []).map((c, i) => [i, c] as [number, Case]))('case %i: a one-equation compiled program gives impl\'s values', (_, c) => {
      tidy(() => {
        const xs = c.shapes.map((s, i) => input(s, c, i)) as DenseTensor[];
        const avals = xs.map((x) => ({ shape: x.shape, dtype: x.dtype }));
        const params = c.params ?? {};
        const out = prim.shape(avals, params);
        const program = new Program([...avals, out], xs.length, [], [{ prim, inputs: xs.map((_, i) => i), params, out: xs.length }], [xs.length]);
        const compiled = compiledOf(program);
        expect(compiled).not.toBeNull();
        const [got] = compiled!.run(xs);
        const want = prim.impl(xs, params);
        const exact = prim.emit!(avals, params)?.kind !== 'map' || (prim.emit!(avals, params) as { exact: boolean }).exact;
        const g = Array.from(got.data()), w = Array.from(want.data());
        expect(g.length).toBe(w.length);
        // Math.* on scalars: within the ulp test/codegen.test.ts measures against the kernels.
        g.forEach((v, i) => expect(ulps(v, w[i]), `element ${i}: ${v} vs ${w[i]}`).toBeLessThanOrEqual(exact ? 0 : 2));
        got.dispose();
      });
    });
  });
});
