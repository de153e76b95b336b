// jit's elementwise fusion (src/staging/fuse.ts): fused programs return the bits of the same
// program run one kernel per op (jit(f, {fuse: false})), through both fused kernels (the
// generated wasm and the interpreter), on random elementwise programs, with broadcasting, a
// final sum, derivatives and control flow; intermediates of a fused group get no buffer.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  abs, add, ArgumentError, array, cos, DisposedError, div, equal, exp, fori, grad, greater, greaterEqual, jit, jvp, less, lessEqual, log, maximum, memory,
  minimum, mul, neg, pow, reciprocal, sigmoid, sign, sin, sqrt, square, sub, sum, tan, tanh, tidy, uniform, valueAndGrad, vmap, where, type Tensor,
} from './helpers/api.js';
import { checkGrads } from './helpers/check.js';
import { spec } from './helpers/memory.js';
import { expectFusedEqualsUnfused, expectSameBits } from './helpers/fusion.js';
import { fusedCodegen } from '../src/backend/fused-wasm.js';
import { evalProgram } from '../src/staging/execute.js';
import { fuseProgram, fusion } from '../src/staging/fuse.js';

// Not expectMemoryRestored: the unfused programs' arenas are freed when their plans are
// collected, which a test cannot force; the memory tests below check what fusion changes.
afterEach(() => {
  fusedCodegen.enabled = true;
  fusedCodegen.refused = false;
});

type Fn = (...xs: Tensor[]) => Tensor | Tensor[];

/** How many fused equations (one output or several) the program of f runs (top level). */
function fusedCount(f: Fn, args: Tensor[]): number {
  return fuseProgram(jit(f).program(...args)).equations.filter((eq) => (eq.prim ?? eq.call).name === 'fused').length;
}

const chain = (x: Tensor, y: Tensor) => {
  let h = x;
  for (let i = 0; i < 4; i++) h = sub(div(maximum(mul(add(h, 0.5), y), -1), 1.5), y);
  return h;
};

describe('fusion: which equations fuse', () => {
  spec('a 20-op chain becomes one fused equation', () => {
    const x = uniform([1000], { seed: 1 }), y = uniform([1000], { seed: 2 });
    expect(fusedCount(chain, [x, y])).toBe(1);
    expect(fuseProgram(jit(chain).program(x, y)).equations.length).toBe(1);
    expect(String(fuseProgram(jit(chain).program(x, y)))).toContain('fused[ops="add mul maximum div sub add');
  });
  spec('chains below the minimum size stay one kernel per op', () => {
    const x = uniform([fusion.minSize - 1], { seed: 1 }), y = uniform([fusion.minSize - 1], { seed: 2 });
    expect(fusedCount(chain, [x, y])).toBe(0);
  });
  spec('a costly value read by two chains is computed once', () => {
    const f = (x: Tensor) => {
      const s = sin(x);
      return [add(mul(s, 2), 1), sub(mul(s, 3), 1)];
    };
    const x = uniform([500], { seed: 3 });
    const fused = String(fuseProgram(jit(f).program(x)));
    // sin is shared by two groups and costly: computed once, not in each group.
    expect(fused.match(/sin/g)).toHaveLength(1);
    expect(fusedCount(f, [x])).toBeGreaterThan(0);
    expectFusedEqualsUnfused(f, [x]);
  });
  spec('a chain ending in a sum over all axes fuses the sum', () => {
    const f = (x: Tensor, y: Tensor) => sum(chain(x, y));
    const x = uniform([700], { seed: 1 }), y = uniform([700], { seed: 2 });
    expect(String(fuseProgram(jit(f).program(x, y)))).toMatch(/fused\[ops="[a-z ]* sum"/);
  });
});

// ---- fused == unfused, bit for bit ----------------------------------------------------------

const UNARY: Record<string, (x: Tensor) => Tensor> = {
  neg, abs, sign, square, sin, cos, tanh, sigmoid, exp: (x) => exp(tanh(x)), log: (x) => log(add(abs(x), 0.5)),
  sqrt: (x) => sqrt(abs(x)), reciprocal: (x) => reciprocal(add(abs(x), 0.25)), tan: (x) => tan(mul(tanh(x), 1.2)),
};
const BINARY: Record<string, (a: Tensor, b: Tensor) => Tensor> = {
  add, sub, mul, div: (a, b) => div(a, add(abs(b), 0.5)), maximum, minimum, greater, less, equal, greaterEqual, lessEqual,
  pow: (a, b) => pow(add(abs(a), 0.5), tanh(b)), where: (a, b) => where(greater(a, b), a, b),
};
const names = { unary: Object.keys(UNARY), binary: Object.keys(BINARY) };
const CONSTANTS = [0.5, -1, 2, 1e-3];

interface Step { op: string; a: number; b: number }
const stepArb = fc.record({ op: fc.constantFrom(...names.unary, ...names.binary), a: fc.nat(), b: fc.nat() });

/** A program over inputs x, y and the constants: each step reads two earlier values (or a constant). */
function build(steps: Step[]): (x: Tensor, y: Tensor) => Tensor {
  return (x, y) => {
    const values: (Tensor | number)[] = [x, y];
    for (const s of steps) {
      const pick = (i: number) => values[i % values.length];
      const a = pick(s.a), b = s.b % 5 === 4 ? CONSTANTS[s.b % CONSTANTS.length] : pick(s.b);
      const ta = typeof a === 'number' ? add(x, a) : a;
      values.push(s.op in UNARY ? UNARY[s.op](ta) : BINARY[s.op](ta, typeof b === 'number' ? array(b, { dtype: x.dtype }) : b));
    }
    return values[values.length - 1] as Tensor;
  };
}

describe('fusion: results equal the unfused program to the bit', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`on random elementwise programs (${dtype})`, () => {
      fc.assert(fc.property(fc.array(stepArb, { minLength: 2, maxLength: 14 }), fc.constantFrom(64, 67, 300, 1027), (steps, n) => tidy(() => {
        const x = uniform([n], { seed: 5, low: -2, high: 2, dtype }), y = uniform([n], { seed: 6, low: -2, high: 2, dtype });
        const f = build(steps);
        expectFusedEqualsUnfused(f, [x, y]);
        expectSameBits(jit(f)(x, y), f(x, y));
      })), { seed: 20261204, numRuns: 60 });
    });
  }
  for (const dtype of ['float64', 'float32'] as const) {
    spec(`with a final sum, over sizes around the block and lane counts (${dtype})`, () => {
      const f = (x: Tensor, y: Tensor) => sum(chain(x, y));
      for (const n of [64, 71, 255, 256, 257, 511, 512, 513, 1000, 4099]) {
        const x = uniform([n], { seed: n, low: -2, high: 2, dtype }), y = uniform([n], { seed: n + 1, dtype });
        expectFusedEqualsUnfused(f, [x, y]);
        expectSameBits(jit(f)(x, y), f(x, y));
      }
    });
  }
  for (const dtype of ['float64', 'float32'] as const) {
    spec(`with a final sum over trailing axes, short rows and long ones (${dtype})`, () => {
      const shapes = [[40, 3], [9, 7, 5], [64, 8], [30, 100], [3, 256], [5, 257], [4, 1000], [2, 3, 800]];
      for (const shape of shapes) {
        const x = uniform(shape, { seed: shape[1], low: -2, high: 2, dtype }), y = uniform(shape, { seed: 9, dtype });
        const axes = shape.length === 3 ? [1, 2] : [1];
        const f = (x: Tensor, y: Tensor) => sum(chain(x, y), axes);
        expectFusedEqualsUnfused(f, [x, y]);
        expectSameBits(jit(f)(x, y), f(x, y));
      }
    });
  }
  spec('a sum over trailing axes fuses with its chain; rows of 257 (not a multiple of 8, longer than a block) do not', () => {
    const rowSum = (x: Tensor, y: Tensor) => sum(chain(x, y), [1]);
    const a = uniform([30, 100], { seed: 1 }), b = uniform([5, 257], { seed: 1 });
    expect(String(fuseProgram(jit(rowSum).program(a, a)))).toMatch(/fused\[ops="[a-z ]* sum"/);
    expect(String(fuseProgram(jit(rowSum).program(b, b)))).not.toMatch(/sum"/);
  });
  spec('with scalar, row, column and 3-d broadcast operands', () => {
    const x = uniform([20, 30], { seed: 1, low: -1, high: 1 });
    const operands = [array(0.5), uniform([30], { seed: 2 }), uniform([20, 1], { seed: 3 }), uniform([1, 30], { seed: 4 }), array([[2]])];
    for (const b of operands) expectFusedEqualsUnfused((x, b) => tanh(sub(mul(add(x, b), b), maximum(x, b))), [x, b]);
    const cube = uniform([4, 5, 6], { seed: 5 });
    expectFusedEqualsUnfused((c, r, m) => add(mul(c, r), sin(m)), [cube, uniform([5, 1], { seed: 6 }), uniform([4, 1, 6], { seed: 7 })]);
  });
  spec('with where, comparisons and sign on special values', () => {
    const special = [0, -0, NaN, Infinity, -Infinity, 1, -1, 1e-310, 2.5];
    const x = array(Array.from({ length: 90 }, (_, i) => special[i % special.length]));
    const y = array(Array.from({ length: 90 }, (_, i) => special[(i * 7) % special.length]));
    expectFusedEqualsUnfused((x, y) => where(greaterEqual(x, y), sign(add(x, y)), minimum(maximum(x, y), neg(x))), [x, y]);
    expectFusedEqualsUnfused((x, y) => add(mul(lessEqual(x, y), 2), equal(sqrt(x), y)), [x, y]);
  });
});

// ---- derivatives, control flow, vmap ---------------------------------------------------------

describe('fusion: derivative programs fuse and agree with the unfused ones', () => {
  let x: Tensor, y: Tensor;
  beforeEach(() => {
    x = uniform([300], { seed: 1, low: -1, high: 1 });
    y = uniform([300], { seed: 2, low: 0.5, high: 1 });
  });
  afterEach(() => {
    x.dispose();
    y.dispose();
  });
  const loss = (x: Tensor, y: Tensor) => sum(tanh(sin(chain(x, y))));
  spec('jit(valueAndGrad(f))', () => expectFusedEqualsUnfused(valueAndGrad(loss, { argnums: [0, 1] }) as unknown as Fn, [x, y]));
  spec('jit(grad(f)) fuses its backward chain', () => {
    const g = grad(loss) as unknown as Fn;
    expect(fusedCount(g, [x, y])).toBeGreaterThan(0);
    expectFusedEqualsUnfused(g, [x, y]);
  });
  spec('grad(jit(f)) runs a fused backward program', () => {
    expectSameBits(grad(jit(loss))(x, y) as Tensor, grad(jit(loss, { fuse: false }))(x, y) as Tensor);
  });
  spec('jit(jvp(f)) computes primal and tangent chains fused', () => {
    const f = (x: Tensor, t: Tensor) => jvp((x: Tensor) => chain(sin(x), y), [x], [t]) as unknown as Tensor[];
    expect(fusedCount(f, [x, y])).toBeGreaterThan(0);
    expectFusedEqualsUnfused(f, [x, y]);
  });
  spec('jvp(jit(f)) runs a fused forward-derivative program', () => {
    const [p, t] = jvp(jit(chain), [x, y], [y, x]) as Tensor[];
    const [pu, tu] = jvp(jit(chain, { fuse: false }), [x, y], [y, x]) as Tensor[];
    expectSameBits([p, t], [pu, tu]);
  });
  spec('control-flow bodies fuse', () => {
    const f = (x: Tensor, y: Tensor) => fori(0, 3, (_, h: Tensor) => chain(h, y), x);
    expectFusedEqualsUnfused(f, [x, y]);
  });
  spec("the fused primitive's rules (a fused program replayed through bind) match finite differences", () => {
    const f = (x: Tensor, y: Tensor) => tanh(mul(sin(add(x, 0.5)), y));
    const fused = fuseProgram(jit(f).program(x, y));
    expect(fused.equations[0].prim?.name).toBe('fused');
    const replayed = (a: Tensor, b: Tensor) => evalProgram(fused, [a, b])[0];
    checkGrads(replayed, [x, y]);
    expectSameBits(grad((a: Tensor) => sum(replayed(a, y)))(x) as Tensor, grad((a: Tensor) => sum(f(a, y)))(x) as Tensor);
    const rows = uniform([3, 300], { seed: 9 });
    expectSameBits(vmap((r: Tensor) => replayed(r, y))(rows), vmap((r: Tensor) => f(r, y))(rows));
  });
});

// ---- memory, errors, fallback ----------------------------------------------------------------

describe('fusion: memory and errors', () => {
  spec("a fused chain's intermediates get no buffer; unfused they take an arena", () => {
    const x = uniform([1000], { seed: 1 }), y = uniform([1000], { seed: 2 });
    const fused = jit(chain), unfused = jit(chain, { fuse: false });
    fused(x, y);
    unfused(x, y);
    expect(fused.stats().arenaBytes).toBe(0);
    expect(unfused.stats().arenaBytes).toBeGreaterThanOrEqual(2 * 1000 * 8);
  });
  spec('repeated fused calls and gradients hold memory flat', () => {
    const x = uniform([1000], { seed: 1 }), y = uniform([1000], { seed: 2 });
    const g = jit(valueAndGrad((x: Tensor, y: Tensor) => sum(chain(x, y))));
    tidy(() => {
      g(x, y);
    });
    const before = memory().bytesInUse;
    for (let i = 0; i < 20; i++) {
      tidy(() => {
        g(x, y);
      });
    }
    expect(memory().bytesInUse).toBe(before);
  });
  it('jit rejects a fuse option that is not a boolean', () => {
    expect(() => jit(chain, { fuse: 'yes' as unknown as boolean })).toThrow(ArgumentError);
    expect(() => jit(chain, { fuse: 'yes' as unknown as boolean })).toThrow(/fuse must be true or false/);
  });
  it('a disposed input throws the same error fused and unfused', () => tidy(() => {
    const x = uniform([500], { seed: 1 }), y = uniform([500], { seed: 2 });
    const f = jit(chain), u = jit(chain, { fuse: false });
    f(x, y);
    u(x, y);
    y.dispose();
    expect(() => f(x, y)).toThrow(DisposedError);
    expect(() => u(x, y)).toThrow(DisposedError);
  }));
  spec('where generated code is refused, fused chains run on the interpreter and say so once', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const module = vi.spyOn(WebAssembly, 'Module').mockImplementation(function refuse() {
      throw new WebAssembly.CompileError("Refused to compile or instantiate WebAssembly module because 'wasm-unsafe-eval' is not allowed");
    });
    try {
      const x = uniform([999], { seed: 1 }), y = uniform([999], { seed: 2 });
      const before = fusedCodegen.compiled;
      const g = (x: Tensor, y: Tensor) => add(mul(sub(x, y), 3.25), div(x, 7));
      expectSameBits(jit(g)(x, y), jit(g, { fuse: false })(x, y));
      expectSameBits(jit(chain)(x, y), jit(chain, { fuse: false })(x, y));
      expect(fusedCodegen.compiled).toBe(before);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/interpreter/);
    } finally {
      module.mockRestore();
      warn.mockRestore();
    }
  });
});

describe('int32 chains', () => {
  it('stay on the exact integer kernels: no fused equation, and wrapping products equal eager', () => {
    tidy(() => {
      const n = 200;
      const x = array(Int32Array.from({ length: n }, (_, i) => 70000 + i), { dtype: 'int32' });
      const f = (v: Tensor) => add(mul(v, v), sub(v, 3));
      const program = fuseProgram(jit(f).program(x));
      expect(program.toString()).not.toContain('fused');
      const got = jit(f)(x).data(), want = f(x).data();
      expect(Array.from(got)).toEqual(Array.from(want));
      // 70000^2 wraps modulo 2^32 as int32 (NumPy and JAX int32 do the same).
      expect(want[0]).toBe(((70000 * 70000) | 0) + 70000 - 3);
    });
  });
});
