// scan without a budget in reverse mode inside jit (jit(grad(f)), jit(valueAndGrad(f)),
// grad(jit(f))): the loop stays two equations, scan_stacked (final carry, ys stacked, the
// carry before each step stacked) and scan_backward (the step's VJP from the last step to the
// first), however many steps it takes. Each case compares with eager valueAndGrad and with the
// loop unrolled in plain JS. Jitted programs keep their constants, so memory is checked as a
// steady state across calls.
import { describe, expect, it } from 'vitest';
import {
  add, array, fori, grad, jacrev, jit, memory, mul, scalar, scan, sin, sub, sum, tanh, valueAndGrad, vmap, type Tensor,
} from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';

/** Runs `run` twice; the second run must leave bytesInUse as it found it. */
function steady<T>(run: () => T): T {
  run();
  const before = memory().bytesInUse;
  const out = run();
  expect(memory().bytesInUse).toBe(before);
  return out;
}

/** The numbers in a tensor or a (nested) list of tensors, which are then disposed. */
const values = (ts: unknown): number[] => (Array.isArray(ts) ? ts : [ts]).flatMap((t) => {
  if (Array.isArray(t)) return values(t);
  const out = Array.from((t as Tensor).data());
  (t as Tensor).dispose();
  return out;
});

const countEquations = (text: string) => text.split('\n').filter((l) => l.includes(' = ')).length;
const occurrences = (text: string, word: string) => text.split(new RegExp(`\\b${word}\\b`)).length - 1;

const xsOf = (n: number, phase: number) => Array.from({ length: n }, (_, i) => Math.sin(0.7 * i + phase));

/**
 * A carry tree {h, v} and two xs leaves (a, b); ys are [h, v * a] (two leaves). The loss uses
 * the final carry and, if `useYs`, the sum of the first ys leaf.
 */
const treeLoop = (useYs: boolean) => (h: Tensor, v: Tensor, w: Tensor, a: Tensor, b: Tensor) => {
  type C = { h: Tensor; v: Tensor };
  const [c, ys] = scan((carry: C, x: [Tensor, Tensor]) => {
    const nh = add(carry.h, mul(0.05, sin(add(mul(w, carry.v), x[0]))));
    const nv = sub(carry.v, mul(0.05, tanh(add(mul(nh, x[1]), w))));
    return [{ h: nh, v: nv }, [nh, mul(nv, x[0])]] as const;
  }, { h, v } as C, [a, b]);
  const loss = add(mul(c.h, c.h), c.v);
  return useYs ? add(loss, sum(ys[0])) : loss;
};

/** The same loss and its gradient in plain JS (forward-mode by dual numbers, one direction per input). */
function unrolledTree(useYs: boolean, h0: number, v0: number, w0: number, a: number[], b: number[]): number[] {
  // Duals: [value, d/dh0, d/dv0, d/dw, d/da_0..., d/db_0...].
  const n = a.length, m = 3 + 2 * n;
  type D = number[];
  const seed = (x: number, k: number): D => Array.from({ length: m + 1 }, (_, j) => (j === 0 ? x : j === k + 1 ? 1 : 0));
  const plus = (x: D, y: D) => x.map((e, j) => e + y[j]);
  const times = (x: D, y: D) => x.map((e, j) => (j === 0 ? e * y[0] : e * y[0] + x[0] * y[j]));
  const scale = (s: number, x: D) => x.map((e) => s * e);
  const fn = (x: D, f: (t: number) => number, df: (t: number) => number) => x.map((e, j) => (j === 0 ? f(x[0]) : df(x[0]) * e));
  let h = seed(h0, 0), v = seed(v0, 1);
  const w = seed(w0, 2);
  let ysum: D = seed(0, -2);
  for (let i = 0; i < n; i++) {
    const ai = seed(a[i], 3 + i), bi = seed(b[i], 3 + n + i);
    const nh = plus(h, scale(0.05, fn(plus(times(w, v), ai), Math.sin, Math.cos)));
    const nv = plus(v, scale(-0.05, fn(plus(times(nh, bi), w), Math.tanh, (t) => 1 - Math.tanh(t) ** 2)));
    h = nh;
    v = nv;
    ysum = plus(ysum, nh);
  }
  let loss = plus(times(h, h), v);
  if (useYs) loss = plus(loss, ysum);
  return loss;
}

describe('scan: reverse mode inside jit', () => {
  for (const useYs of [true, false]) {
    it(`jit(valueAndGrad(f)) equals eager valueAndGrad and the unrolled loop (carry tree, two xs and two ys leaves, ys ${useYs ? 'used' : 'unused'})`, () => {
      const n = 40, a = xsOf(n, 0.1), b = xsOf(n, 1.3);
      const f = treeLoop(useYs);
      const args = [scalar(0.3), scalar(-0.4), scalar(1.1), array(a), array(b)] as const;
      const argnums = [0, 1, 2, 3, 4];
      const eager = values(valueAndGrad(f, { argnums })(...args));
      const g = jit(valueAndGrad(f, { argnums }));
      const got = steady(() => values(g(...args)));
      expectClose(got, eager, 1e-12);
      expectClose(got, unrolledTree(useYs, 0.3, -0.4, 1.1, a, b), 1e-12);
      const text = g.program(...args).toString();
      expect(occurrences(text, 'scan_stacked')).toBe(1);
      expect(occurrences(text, 'scan_backward')).toBe(1);
    }, 60_000);
  }

  it('xs not differentiated and a step closing over a differentiated weight', () => {
    const n = 30, a = xsOf(n, 0.2), b = xsOf(n, 2.1);
    const f = treeLoop(true);
    const args = [scalar(0.3), scalar(-0.4), scalar(1.1), array(a), array(b)] as const;
    const argnums = [0, 2];
    const eager = values(valueAndGrad(f, { argnums })(...args));
    const g = jit(valueAndGrad(f, { argnums }));
    const got = steady(() => values(g(...args)));
    expectClose(got, eager, 1e-12);
    const full = unrolledTree(true, 0.3, -0.4, 1.1, a, b);
    expectClose(got, [full[0], full[1], full[3]], 1e-12);
    expect(occurrences(g.program(...args).toString(), 'scan_backward')).toBe(1);
  }, 60_000);

  it('float32 vector carries match eager valueAndGrad', () => {
    const f = (h: Tensor, w: Tensor, xs: Tensor) => {
      const [c, ys] = scan((c: Tensor, x: Tensor) => {
        const nc = add(c, mul(0.1, tanh(add(mul(w, c), x))));
        return [nc, sum(nc)] as const;
      }, h, xs);
      return add(sum(mul(c, c)), sum(ys));
    };
    const d = { dtype: 'float32' as const };
    const xs = array(Array.from({ length: 25 }, (_, i) => xsOf(3, i)), d);
    const args = [array([0.1, -0.5, 0.7], d), array([0.9, 1.2, -0.3], d), xs] as const;
    const argnums = [0, 1, 2];
    const eager = values(valueAndGrad(f, { argnums })(...args));
    const g = jit(valueAndGrad(f, { argnums }));
    const got = steady(() => values(g(...args)));
    // The same float32 operations in the same order.
    expectClose(got, eager, 1e-12);
    expect(occurrences(g.program(...args).toString(), 'scan_backward')).toBe(1);
  }, 60_000);

  it('the gradient agrees with finite differences (checkGrads on the loss, and on jit(grad) itself)', () => {
    const n = 20, a = array(xsOf(n, 0.4)), b = array(xsOf(n, 0.9));
    const f = treeLoop(true);
    const g = jit(grad((h: Tensor, w: Tensor) => f(h, scalar(-0.4), w, a, b), { argnums: [0, 1] }));
    const loss = (h: Tensor, w: Tensor) => f(h, scalar(-0.4), w, a, b);
    const h = 0.3, w = 1.1, eps = 1e-5;
    const at = (hh: number, ww: number) => values(loss(scalar(hh), scalar(ww)))[0];
    const fd = [(at(h + eps, w) - at(h - eps, w)) / (2 * eps), (at(h, w + eps) - at(h, w - eps)) / (2 * eps)];
    expectClose(values(g(scalar(h), scalar(w))), fd, 1e-7);
    checkGrads((hh: Tensor) => (g(hh, scalar(w)) as Tensor[])[1], [scalar(h)]);
  }, 60_000);

  it('the gradient program has one scan_stacked, one scan_backward and as many equations for 10 steps as for 1000', () => {
    const f = (h: Tensor, w: Tensor, xs: Tensor) => sum(scan((c: Tensor, x: Tensor) => {
      const nc = add(c, mul(0.01, sin(add(mul(w, c), x))));
      return [nc, nc] as const;
    }, h, xs)[0]);
    const text = (n: number) => jit(grad(f, { argnums: [0, 1, 2] })).program(scalar(0.3), scalar(1.2), array(xsOf(n, 0))).toString();
    const small = text(10), large = text(1000);
    expect(countEquations(large)).toBe(countEquations(small));
    expect(occurrences(large, 'scan_stacked')).toBe(1);
    expect(occurrences(large, 'scan_backward')).toBe(1);
  }, 60_000);

  it('grad(jit(f)) equals eager grad', () => {
    const f = treeLoop(true);
    const n = 30, args = [scalar(0.3), scalar(-0.4), scalar(1.1), array(xsOf(n, 0.5)), array(xsOf(n, 1.5))] as const;
    const argnums = [0, 1, 2, 3, 4];
    const want = values(grad(f, { argnums })(...args));
    const jf = jit(f);
    expectClose(steady(() => values(grad(jf, { argnums })(...args))), want, 1e-12);
  }, 60_000);

  it('jit(grad(f)) inlined into an enclosing jit keeps both loops as one equation each', () => {
    const f = treeLoop(true);
    const n = 50, args = [scalar(0.3), scalar(-0.4), scalar(1.1), array(xsOf(n, 0.5)), array(xsOf(n, 1.5))] as const;
    const argnums = [0, 1, 2, 3, 4];
    const want = values(grad(f, { argnums })(...args));
    const inner = jit(grad(f, { argnums }));
    const outer = jit((...xs: Tensor[]) => inner(...(xs as [Tensor, Tensor, Tensor, Tensor, Tensor])) as Tensor[]);
    expectClose(steady(() => values(outer(...args))), want, 1e-12);
    const text = outer.program(...args).toString();
    expect(occurrences(text, 'scan_stacked')).toBe(1);
    expect(occurrences(text, 'scan_backward')).toBe(1);
  }, 60_000);

  it('a fori with a checkpoint budget under jit(grad) keeps its budget: it is unrolled (checkpointed), not stacked', () => {
    // The stacked route holds every step's carry, which is what a budget promises not to do.
    const f = (x: Tensor, a: Tensor) => fori(0, 40, (i, c: Tensor) => add(c, mul(0.01, sin(add(mul(a, c), i)))), x, { checkpoints: 4 });
    const args = [scalar(0.3), scalar(1.7)] as const;
    const want = values(grad(f, { argnums: [0, 1] })(...args));
    const g = jit(grad(f, { argnums: [0, 1] }));
    expectClose(steady(() => values(g(...args))), want, 1e-12);
    const text = g.program(...args).toString();
    expect(text).not.toContain('scan_stacked');
    expect(text).not.toContain('fori_stacked');
  }, 60_000);
  it('a scan over {length: n} with no ys (only a carry) equals eager grad', () => {
    const f = (x: Tensor, w: Tensor) => scan((c: Tensor) => [add(c, mul(0.02, sin(mul(w, c)))), null] as const, x, { length: 300 })[0];
    const args = [scalar(0.4), scalar(1.9)] as const;
    const want = values(grad(f, { argnums: [0, 1] })(...args));
    const g = jit(grad(f, { argnums: [0, 1] }));
    expectClose(steady(() => values(g(...args))), want, 1e-12);
    expect(occurrences(g.program(...args).toString(), 'scan_backward')).toBe(1);
  }, 60_000);

  it('jit(jacrev(f)) pulls several cotangent rows through the carry, the ys and the xs at once', () => {
    const f = (h: Tensor, w: Tensor, xs: Tensor) => {
      const [c, ys] = scan((c: Tensor, x: Tensor) => {
        const nc = add(c, mul(0.1, sin(add(mul(w, c), x))));
        return [nc, mul(nc, x)] as const;
      }, h, xs);
      return add(c, sum(ys));
    };
    const args = [array([0.1, -0.4, 0.9]), array([1.3, 0.7, -0.2]), array(Array.from({ length: 12 }, (_, i) => xsOf(3, i)))] as const;
    const argnums = [0, 1, 2];
    const want = values(jacrev(f, { argnums })(...args));
    const g = jit(jacrev(f, { argnums }));
    expectClose(steady(() => values(g(...args))), want, 1e-12);
    expect(occurrences(g.program(...args).toString(), 'scan_backward')).toBe(1);
  }, 60_000);

  it('vmap(jit(grad(f))) equals eager grad per example', () => {
    const f = (h: Tensor, w: Tensor, xs: Tensor) => sum(scan((c: Tensor, x: Tensor) => {
      const nc = add(c, mul(0.05, sin(add(mul(w, c), x))));
      return [nc, nc] as const;
    }, h, xs)[1]);
    const hs = [0.3, -0.5, 1.1], w = scalar(1.7), xs = array(xsOf(20, 0.3));
    const want = hs.flatMap((h) => values(grad(f, { argnums: [0, 1, 2] })(scalar(h), w, xs)));
    const g = jit(grad(f, { argnums: [0, 1, 2] }));
    const got = vmap((h: Tensor) => g(h, w, xs) as Tensor[])(array(hs)) as Tensor[];
    // vmap stacks each gradient along a leading axis: reorder to per-example.
    const [dh, dw, dxs] = got.map((t) => values(t));
    const per = hs.flatMap((_, e) => [dh[e], dw[e], ...dxs.slice(20 * e, 20 * e + 20)]);
    expectClose(per, want, 1e-12);
  }, 60_000);
});
