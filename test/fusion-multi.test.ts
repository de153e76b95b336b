// Multi-output fusion groups (src/staging/fuse-merge.ts): groups over the same elements that
// read each other's values or the same inputs merge into one pass that writes several values.
// A jitted jvp's primal and tangent chains run as one fused equation with two outputs; the
// results equal the unfused program's to the bit (random programs returning several values,
// f32 and f64, broadcast operands, transcendentals), merges never put a group before a value
// it reads, and a fused program with a multi-output group still differentiates and batches.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  add, array, cos, div, exp, grad, greater, jit, jvp, maximum, mul, neg, sin, sub, sum, tanh, tidy, uniform, valueAndGrad, vmap, where, type Tensor,
} from './helpers/api.js';
import { checkGrads } from './helpers/check.js';
import { spec, steady } from './helpers/memory.js';
import { expectFusedEqualsUnfused, expectSameBits } from './helpers/fusion.js';
import { fusedCodegen } from '../src/backend/fused-wasm.js';
import { evalProgram } from '../src/staging/execute.js';
import { fuseProgram, fusion } from '../src/staging/fuse.js';
import type { Equation, Program } from '../src/staging/program.js';

afterEach(() => {
  fusedCodegen.enabled = true;
  fusion.multiOutput = true;
  fusion.mergeSums = false;
});

type Fn = (...xs: Tensor[]) => Tensor | Tensor[];

const isFused = (eq: Equation) => (eq.prim ?? eq.call).name === 'fused';
const fusedOf = (f: Fn, args: Tensor[]): Program => fuseProgram(jit(f).program(...args));
const outputsOf = (eq: Equation) => (eq.call ? eq.outs.length : 1);

/** The bench's mixed 20-op chain (bench/suites/fusion.mjs). */
function mixed(x: Tensor, y: Tensor): Tensor {
  let h = x;
  for (let i = 0; i < 4; i++) {
    h = add(h, 0.5);
    h = mul(h, y);
    h = i === 3 ? maximum(h, -1) : sub(h, 0.25);
    h = i === 1 ? div(h, 1.5) : mul(h, 0.75);
    h = add(h, y);
  }
  return h;
}

describe('multi-output groups: what merges', () => {
  spec("jit(jvp) of a 20-op chain is one fused equation writing the primal and the tangent", () => {
    const x = uniform([1000], { seed: 1, low: -1, high: 1 }), y = uniform([1000], { seed: 2, low: 0.5, high: 1 });
    const tx = uniform([1000], { seed: 3 }), ty = uniform([1000], { seed: 4 });
    const f = (x: Tensor, y: Tensor, tx: Tensor, ty: Tensor) => jvp(mixed, [x, y], [tx, ty]) as unknown as Tensor[];
    const program = fusedOf(f, [x, y, tx, ty]);
    const fused = program.equations.filter(isFused);
    expect(fused).toHaveLength(1);
    expect(outputsOf(fused[0])).toBe(2);
    // Everything else only reshapes (views, no pass over the data).
    expect(program.equations.filter((eq) => !isFused(eq)).every((eq) => eq.prim?.name === 'reshape')).toBe(true);
    expectFusedEqualsUnfused(f, [x, y, tx, ty]);
  });
  spec('unmerged (multiOutput off), the same jvp takes several fused equations', () => {
    fusion.multiOutput = false;
    const x = uniform([1000], { seed: 1 }), y = uniform([1000], { seed: 2 });
    const f = (x: Tensor, y: Tensor) => jvp(mixed, [x, y], [y, y]) as unknown as Tensor[];
    expect(fusedOf(f, [x, y]).equations.filter(isFused).length).toBeGreaterThan(1);
  });
  spec('jit(valueAndGrad) of the chain keeps three single-output passes (merging them saves no work)', () => {
    const x = uniform([1000], { seed: 1, low: -1, high: 1 }), y = uniform([1000], { seed: 2, low: 0.5, high: 1 });
    const vg = valueAndGrad((x: Tensor, y: Tensor) => sum(mixed(x, y))) as unknown as Fn;
    const fused = fusedOf(vg, [x, y]).equations.filter(isFused);
    expect(fused.map(outputsOf)).toEqual([1, 1, 1]);
    expectFusedEqualsUnfused(vg, [x, y]);
  });
  spec('chains that both compute a shared value merge into one pass writing both', () => {
    const x = uniform([500], { seed: 5 });
    const f = (x: Tensor) => {
      const h = mul(add(x, 0.5), x); // cheap: without merging, each chain recomputes it
      return [sub(mul(h, 3), x), tanh(add(h, 2))];
    };
    const fused = fusedOf(f, [x]).equations.filter(isFused);
    expect(fused).toHaveLength(1);
    expect(outputsOf(fused[0])).toBe(2);
    expectFusedEqualsUnfused(f, [x]);
  });
  for (const dtype of ['float64', 'float32'] as const) {
    spec(`with mergeSums, jit(valueAndGrad) is one pass writing the sum and the gradient, to the bit (${dtype})`, () => {
      fusion.mergeSums = true;
      for (const n of [64, 67, 1000, 4099]) {
        const x = uniform([n], { seed: 1, low: -1, high: 1, dtype }), y = uniform([n], { seed: 2, low: 0.5, high: 1, dtype });
        const vg = valueAndGrad((x: Tensor, y: Tensor) => sum(mixed(x, y))) as unknown as Fn;
        const fused = fusedOf(vg, [x, y]).equations.filter(isFused);
        expect(fused.map(outputsOf)).toEqual([2]);
        expectFusedEqualsUnfused(vg, [x, y]);
      }
    });
  }
  spec('chains that share only an input stay separate passes', () => {
    const x = uniform([500], { seed: 5 });
    const f = (x: Tensor) => [add(mul(x, 2), 1), tanh(sub(x, 0.5))];
    expect(fusedOf(f, [x]).equations.filter(isFused).map(outputsOf)).toEqual([1, 1]);
    expectFusedEqualsUnfused(f, [x]);
  });
  spec('a group whose value reaches another only through a non-fused op does not merge with it (no cycle)', () => {
    const x = uniform([40, 30], { seed: 6, low: -1, high: 1 });
    const f = (x: Tensor) => {
      const a = tanh(mul(add(x, 0.5), x));
      const s = sum(a, [0]); // a leading-axis sum: not fused
      const b = sub(mul(x, s), cos(x));
      return [a, b];
    };
    const program = fusedOf(f, [x]);
    expect(program.equations.filter(isFused)).toHaveLength(2);
    expectFusedEqualsUnfused(f, [x]);
    expectSameBits(jit(f)(x), f(x));
  });

  spec('a merged group writes a value that a third group, which also computes its reader, reads (a long jit(grad) chain cut into groups)', () => {
    // 1000 mul/add ops on 100 elements: the forward chain is cut at the group limit, and the
    // backward chain reads forward values; cheap readers are folded into two groups. A merge
    // once dropped such a value from the merged group's outputs, leaving a group reading a
    // value nothing wrote.
    const x = uniform([100], { seed: 8, low: -1, high: 1 }), w = uniform([100], { seed: 9, low: 0.3, high: 0.9 });
    const chain = (x: Tensor, w: Tensor) => {
      let y = x;
      for (let i = 0; i < 500; i++) y = add(mul(y, w), x);
      return sum(y);
    };
    const g = (x: Tensor, w: Tensor) => grad(chain, { argnums: [0, 1] })(x, w);
    const program = fusedOf(g, [x, w]);
    const defined = new Set<number>(Array.from({ length: program.inputCount + program.consts.length }, (_, v) => v));
    for (const eq of program.equations) {
      for (const v of eq.inputs) expect(defined.has(v)).toBe(true);
      for (const v of eq.call ? eq.outs : [eq.out]) defined.add(v);
    }
    expect(program.equations.filter((eq) => isFused(eq) && outputsOf(eq) > 1).length).toBeGreaterThan(0);
    expectFusedEqualsUnfused(g, [x, w]);
  });
});

// ---- random programs returning several values -------------------------------------------------

const UNARY: ((x: Tensor) => Tensor)[] = [
  sin, tanh, (x) => exp(tanh(x)), (x) => mul(x, x), (x) => sub(0.25, x),
  // A leading-axis sum (not fused on 2-d values), broadcast back: a group's value reaches
  // another group through a non-fused op.
  (x) => (x.ndim > 0 ? sub(x, sum(x, [0])) : neg(x)),
];
const BINARY: ((a: Tensor, b: Tensor) => Tensor)[] = [add, sub, mul, maximum, (a, b) => div(a, add(mul(b, b), 0.5)), (a, b) => where(greater(a, b), a, b)];

interface Step { op: number; a: number; b: number }
const stepArb = fc.record({ op: fc.nat(UNARY.length + BINARY.length - 1), a: fc.nat(), b: fc.nat() });

/**
 * A program over x, y (full size) and z (broadcast): each step reads earlier values; it
 * returns the last value and the values at `picks`, so several values leave each chain.
 */
function build(steps: Step[], picks: number[]): (x: Tensor, y: Tensor, z: Tensor) => Tensor[] {
  return (x, y, z) => {
    const values: Tensor[] = [x, y, z];
    for (const s of steps) {
      const a = values[s.a % values.length], b = values[s.b % values.length];
      values.push(s.op < UNARY.length ? UNARY[s.op](a) : BINARY[s.op - UNARY.length](a, b));
    }
    const full = values.slice(3).filter((v) => v.size === x.size);
    return [values[values.length - 1], ...picks.map((p) => full[p % full.length] ?? x)];
  };
}

describe('multi-output groups: results equal the unfused program to the bit', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`on random programs returning several values (${dtype})`, () => {
      let multi = 0;
      fc.assert(fc.property(fc.array(stepArb, { minLength: 3, maxLength: 16 }), fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
        fc.constantFrom([12, 30], [67], [300]), (steps, picks, shape) => tidy(() => {
          const x = uniform(shape, { seed: 5, low: -2, high: 2, dtype }), y = uniform(shape, { seed: 6, low: -2, high: 2, dtype });
          const z = shape.length === 2 ? uniform([1, 30], { seed: 7, dtype }) : array(0.75, { dtype });
          const f = build(steps, picks);
          multi += fusedOf(f, [x, y, z]).equations.filter((eq) => isFused(eq) && outputsOf(eq) > 1).length;
          expectFusedEqualsUnfused(f, [x, y, z]);
          expectSameBits(jit(f)(x, y, z), f(x, y, z));
        })), { seed: 20261204, numRuns: 60 });
      // The property exercised multi-output groups, not only single-output ones.
      expect(multi).toBeGreaterThan(10);
    });
  }
});

// ---- transforms of a program with a multi-output group ----------------------------------------

describe('multi-output groups under transforms', () => {
  const f = (x: Tensor, y: Tensor) => {
    const h = sin(mul(add(x, 0.5), y));
    return [sub(mul(h, y), x), tanh(add(h, x))];
  };
  const loss = (x: Tensor, y: Tensor) => {
    const [a, b] = f(x, y);
    return sum(mul(a, b));
  };
  spec('the fused program has a multi-output group', () => {
    const x = uniform([300], { seed: 1 }), y = uniform([300], { seed: 2 });
    expect(fusedOf(f, [x, y]).equations.some((eq) => isFused(eq) && outputsOf(eq) === 2)).toBe(true);
  });
  spec('replayed through bind, it matches finite differences, and grad and vmap match eager', () => {
    const x = uniform([300], { seed: 1, low: -1, high: 1 }), y = uniform([300], { seed: 2, low: 0.5, high: 1 });
    const fused = fusedOf(f, [x, y]);
    const replayed = (a: Tensor, b: Tensor) => evalProgram(fused, [a, b]);
    checkGrads((a: Tensor, b: Tensor) => mul(...(replayed(a, b) as [Tensor, Tensor])), [x, y]);
    const g = (a: Tensor) => sum(mul(...(replayed(a, y) as [Tensor, Tensor])));
    expectSameBits(grad(g)(x) as Tensor, grad((a: Tensor) => loss(a, y))(x) as Tensor);
    const rows = uniform([3, 300], { seed: 9 });
    expectSameBits(vmap((r: Tensor) => replayed(r, y))(rows) as Tensor[], vmap((r: Tensor) => f(r, y))(rows) as Tensor[]);
  });
  spec('grad(jit(f)) and vmap(jit(f)) match eager and the unfused jit', () => {
    const x = uniform([300], { seed: 1, low: -1, high: 1 }), y = uniform([300], { seed: 2, low: 0.5, high: 1 });
    const gFused = grad(jit(loss), { argnums: [0, 1] })(x, y) as Tensor[];
    expectSameBits(gFused, grad(jit(loss, { fuse: false }), { argnums: [0, 1] })(x, y) as Tensor[]);
    expectSameBits(gFused, grad(loss, { argnums: [0, 1] })(x, y) as Tensor[]);
    const rows = uniform([4, 300], { seed: 9 });
    const batched = vmap(jit(f), { inAxes: [0, null] })(rows, y) as Tensor[];
    expectSameBits(batched, vmap(jit(f, { fuse: false }), { inAxes: [0, null] })(rows, y) as Tensor[]);
    expectSameBits(batched, vmap(f, { inAxes: [0, null] })(rows, y) as Tensor[]);
  });
  spec('repeated jit(jvp) calls hold memory flat', () => {
    const x = uniform([1000], { seed: 1 }), y = uniform([1000], { seed: 2 });
    const g = jit((x: Tensor, y: Tensor) => jvp(mixed, [x, y], [y, x]) as unknown as Tensor[]);
    steady(() => {
      for (let i = 0; i < 20; i++) tidy(() => void g(x, y));
    });
  });
});
