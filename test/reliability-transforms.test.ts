// Regression tests for issue #18, the transform side: async functions are refused without a
// rejected promise left behind, tidy never frees a tensor the caller can still reach, outputs
// never alias inputs or residuals, and tensors of another copy of the package are named.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArgumentError, Tensor, array, checkpoint, exp, grad, jacfwd, jvp, memory, mul, ones, scalar,
  sin, sum, tidy, valueAndGrad, vjp, zeros,
} from './helpers/api.js';

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let atStart = 0;
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
  atStart = memory().bytesInUse;
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  expect(memory().bytesInUse, 'bytes in use after the test').toBe(atStart);
});

/** Lets pending promises settle, so an unhandled rejection would have been reported. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('async functions (item 4)', () => {
  // Each runs f on x; the tests own x and dispose it.
  const transforms: [string, (f: (x: Tensor) => unknown, x: Tensor) => unknown][] = [
    ['tidy', (f) => tidy(f as () => unknown)],
    ['grad', (f, x) => grad(f as (x: Tensor) => Tensor)(x)],
    ['valueAndGrad', (f, x) => valueAndGrad(f as (x: Tensor) => Tensor)(x)],
    ['vjp', (f, x) => vjp(f as (x: Tensor) => Tensor, x)],
    ['jvp', (f, x) => jvp(f as (x: Tensor) => Tensor, [x], [1])],
    ['jacfwd', (f, x) => jacfwd(f as (x: Tensor) => Tensor)(x)],
    ['checkpoint', (f, x) => grad(checkpoint(f as (x: Tensor) => Tensor))(x)],
  ];

  for (const [name, run] of transforms) {
    it(`${name} refuses an async function before running it`, async () => {
      let ran = false;
      const f = async (x: Tensor) => {
        ran = true;
        await null;
        throw new Error(`rejected inside ${name}`);
        return x; // eslint-disable-line no-unreachable
      };
      const x = scalar(2);
      expect(() => run(f, x)).toThrow(ArgumentError);
      expect(() => run(f, x)).toThrow(/async function/);
      expect(ran).toBe(false);
      x.dispose();
      await settle();
      expect(unhandled).toEqual([]);
    });

    it(`${name} refuses a returned Promise and leaves no unhandled rejection behind`, async () => {
      const f = () => Promise.reject(new Error(`rejected inside ${name}`));
      const x = scalar(2);
      expect(() => run(f, x)).toThrow(/fn returned a Promise/);
      x.dispose();
      await settle();
      expect(unhandled).toEqual([]);
    });
  }
});

describe('tidy keeps every tensor it hands back (item 5)', () => {
  it('keeps tensors in objects with a null prototype, as grad accepts them', () => {
    const out = tidy(() => Object.assign(Object.create(null) as Record<string, Tensor>, { w: exp(ones([2])) }));
    expect(out.w.toArray()).toEqual([Math.E, Math.E]);
    out.w.dispose();
  });

  for (const [name, make, read] of [
    ['a Map', (t: Tensor) => new Map([['w', t]]), (c: unknown) => (c as Map<string, Tensor>).get('w')!],
    ['a Set', (t: Tensor) => new Set([t]), (c: unknown) => [...(c as Set<Tensor>)][0]],
    ['a class instance', (t: Tensor) => new (class Params { constructor(readonly w: Tensor) {} })(t), (c: unknown) => (c as { w: Tensor }).w],
    ['a Map key', (t: Tensor) => new Map([[t, 'w']]), (c: unknown) => [...(c as Map<Tensor, string>).keys()][0]],
  ] as const) {
    it(`keeps a tensor held by ${name} in the result`, () => {
      const out = tidy(() => ({ params: make(exp(ones([3]))) }));
      const w = read(out.params);
      expect(w.toArray()).toEqual([Math.E, Math.E, Math.E]);
      w.dispose();
    });
  }

  it('walks a result with cycles', () => {
    const out = tidy(() => {
      const node: { self?: unknown; w: Tensor } = { w: exp(zeros([1])) };
      node.self = new Map([['back', node]]);
      return node;
    });
    expect(out.w.toArray()).toEqual([1]);
    out.w.dispose();
  });

  it('still returns primitives and typed arrays alongside tensors', () => {
    const out = tidy(() => ({ loss: 1.5, name: 'mse', data: exp(zeros([2])).data(), y: ones([1]) }));
    expect(out.loss).toBe(1.5);
    expect(Array.from(out.data)).toEqual([1, 1]);
    out.y.dispose();
  });

  it('walks a result nested 5,000 levels deep without overflowing the stack', () => {
    const out = tidy(() => {
      let tree: unknown = ones([1]);
      for (let i = 0; i < 5_000; i++) tree = [tree];
      return tree;
    });
    let leaf: unknown = out;
    while (Array.isArray(leaf)) leaf = leaf[0];
    expect((leaf as Tensor).toArray()).toEqual([1]);
    (leaf as Tensor).dispose();
  });
});

describe('outputs never alias inputs or residuals (item 10)', () => {
  it("disposing vjp's output leaves its pullback working", () => {
    // tidy frees the tape's saved values at its end (at top level the pullback would keep
    // them until it is collected).
    const gradient = tidy(() => {
      const [y, pullback] = vjp((v: Tensor) => exp(v), array([0.5, 1]));
      y.dispose();
      return (pullback(ones([2])) as Tensor[])[0].toArray();
    });
    expect(gradient).toEqual([Math.exp(0.5), Math.exp(1)]);
  });

  it('vjp of the identity returns a new Tensor: disposing it leaves the input', () => {
    const x = array([1, 2]);
    tidy(() => {
      const [y] = vjp((v: Tensor) => v, x);
      expect(y).not.toBe(x);
      y.dispose();
    });
    expect(x.toArray()).toEqual([1, 2]);
    x.dispose();
  });

  it('jvp(v => v) returns a new Tensor: disposing it leaves the input', () => {
    const x = array([1, 2]);
    const t = ones([2]);
    const [y, dy] = jvp((v: Tensor) => v, [x], [t]) as [Tensor, Tensor];
    expect(y).not.toBe(x);
    y.dispose();
    dy.dispose();
    t.dispose();
    expect(x.toArray()).toEqual([1, 2]);
    x.dispose();
  });

  it('valueAndGrad returning its input, or a closed-over tensor, as the value leaves them intact', () => {
    const x = scalar(3);
    const w = scalar(4);
    const [v1, g1] = valueAndGrad((v: Tensor) => v)(x) as [Tensor, Tensor];
    const [v2, g2] = valueAndGrad((v: Tensor) => mul(v, 0).add(w).sub(mul(v, 0)))(x) as [Tensor, Tensor];
    // A function that ignores its argument, called with one (as untyped JS code may).
    const [v3, g3] = (valueAndGrad(() => w) as unknown as (x: Tensor) => [Tensor, Tensor])(x);
    for (const t of [v1, v2, v3, g1, g2, g3]) t.dispose();
    expect(x.item()).toBe(3);
    expect(w.item()).toBe(4);
    x.dispose();
    w.dispose();
  });

  it('hasAux returning the input hands back a new Tensor', () => {
    const x = array([1, 2]);
    const [g, aux] = grad((v: Tensor) => [sum(sin(v)), v], { hasAux: true })(x) as [Tensor, Tensor];
    expect(aux).not.toBe(x);
    aux.dispose();
    expect(x.toArray()).toEqual([1, 2]);
    expect(g.toArray()).toEqual([Math.cos(1), Math.cos(2)]);
    g.dispose();
    x.dispose();
  });
});

describe('tensors from another copy of the package (item 11)', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const cjsPath = `${root}dist/index.cjs`;

  function otherCopy(): { array: (data: number[]) => Tensor; grad: typeof grad } {
    if (!existsSync(cjsPath)) throw new Error('dist/index.cjs is missing: build it with npx tsc -p tsconfig.build.json && npx rollup -c rollup.config.mjs (npm install runs this).');
    return createRequire(import.meta.url)(cjsPath);
  }

  it('an op given a tensor of the other copy says what happened and how to fix it', () => {
    const other = otherCopy();
    const foreign = other.array([1, 2]);
    expect(foreign instanceof Tensor).toBe(false);
    expect(() => exp(foreign)).toThrow(ArgumentError);
    expect(() => exp(foreign)).toThrow(/exp: this tensor was made by another copy of dualtape .*array\(tensor\)/);
    expect(() => grad((x: Tensor) => sum(x))(foreign)).toThrow(/grad: argument\[0\]: this tensor was made by another copy/);
    foreign.dispose();
  });

  it('array() copies the values of a tensor of the other copy', () => {
    const other = otherCopy();
    const foreign = other.array([1.5, -2]);
    const mine = array(foreign);
    expect(mine instanceof Tensor).toBe(true);
    expect(mine.toArray()).toEqual([1.5, -2]);
    mine.dispose();
    foreign.dispose();
  });
});
