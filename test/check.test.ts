// finiteDiff and gradCheck: numerical Jacobians with the 2- and 4-point stencils, and the
// derivative checker that must pass on correct rules and name the mode, order and input of a
// wrong one.
import { describe, expect, it } from 'vitest';
import {
  ArgumentError, array, concat, cos, customJvp, customVjp, exp, finiteDiff, gradCheck, jacfwd, matmul, mul,
  reshape, sin, stack, stopGradient, sum, tanh, tidy, type Tensor,
} from './helpers/api.js';
import { expectClose } from './helpers/check.js';
import { expectMemoryRestored } from './helpers/memory.js';

expectMemoryRestored();

/** The largest |J_ii - exact(x_i)| of a numerical Jacobian of an elementwise function. */
function diagonalError(J: Tensor, x: Tensor, exact: (v: number) => number): number {
  const n = x.size, d = J.data(), xs = x.data();
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(d[i * n + i] - exact(xs[i])));
  return worst;
}

const smooth: [string, (x: Tensor) => Tensor, (v: number) => number][] = [
  ['exp(x) sin(x)', (x) => exp(x).mul(sin(x)), (v) => Math.exp(v) * (Math.sin(v) + Math.cos(v))],
  ['tanh(x)', (x) => tanh(x), (v) => 1 - Math.tanh(v) ** 2],
];

describe('finiteDiff', () => {
  it('reproduces the seed example: f(x) = [x1^2 + x2^2, x1 x2] has Jacobian [[2 x1, 2 x2], [x2, x1]]', () => {
    tidy(() => {
      const f = (x: Tensor) => stack([sum(x.mul(x)), reshape(x.slice([0], [1]).mul(x.slice([1], [1])), [])]);
      for (const stencil of [2, 4] as const) {
        const [J] = finiteDiff(f, [array([1.5, -2])], { stencil }) as Tensor[];
        expect(J.shape).toEqual([2, 2]);
        expectClose(J.data(), [3, -4, -2, 1.5], 1e-9);
      }
    });
  });

  it('at the default steps the 4-point stencil is over 20 times more accurate than the 2-point one', () => {
    tidy(() => {
      const x = array([-0.9, -0.3, 0.2, 0.8]);
      for (const [name, f, exact] of smooth) {
        const e2 = diagonalError((finiteDiff(f, [x], { stencil: 2 }) as Tensor[])[0], x, exact);
        const e4 = diagonalError((finiteDiff(f, [x], { stencil: 4 }) as Tensor[])[0], x, exact);
        expect(e2, name).toBeLessThan(1e-9);
        expect(e4, name).toBeLessThan(2e-12);
        expect(e4 * 20, name).toBeLessThan(e2);
      }
    });
  });

  it('has truncation error O(h^2) with 2 points and O(h^4) with 4 points: halving h divides it by 4 and by 16', () => {
    tidy(() => {
      const x = array([-0.9, -0.3, 0.2, 0.8]);
      for (const [name, f, exact] of smooth) {
        const err = (stencil: 2 | 4, eps: number) => diagonalError((finiteDiff(f, [x], { stencil, eps }) as Tensor[])[0], x, exact);
        const r2 = err(2, 2 ** -6) / err(2, 2 ** -7);
        const r4 = err(4, 2 ** -6) / err(4, 2 ** -7);
        expect(r2, name).toBeGreaterThan(3.8);
        expect(r2, name).toBeLessThan(4.2);
        expect(r4, name).toBeGreaterThan(15);
        expect(r4, name).toBeLessThan(17);
        // At the same step the 4-point stencil wins by orders of magnitude.
        expect(err(4, 2 ** -7) * 1e3, name).toBeLessThan(err(2, 2 ** -7));
      }
    });
  });

  it('is exact (up to rounding) for cubics with the 4-point stencil, whose error term is the fifth derivative', () => {
    tidy(() => {
      const x = array([-0.9, 0.4, 1.3]);
      const [J] = finiteDiff((t: Tensor) => t.mul(t).mul(t), [x], { stencil: 4, eps: 0.1 }) as Tensor[];
      expect(diagonalError(J, x, (v) => 3 * v * v)).toBeLessThan(1e-13);
    });
  });

  it('lays out trees as jacobian does: per output leaf, one tree per argument of shape out.shape + leaf.shape', () => {
    tidy(() => {
      const W = array([[0.5, -1, 2], [1.5, 0.3, -0.7]]);
      const b = 0.25;
      const v = array([0.2, -0.4, 0.9]);
      const f = (p: { W: Tensor; b: Tensor }, x: Tensor) => ({ y: tanh(matmul(p.W, x).add(p.b)), s: sum(sin(x)) });
      const fd = finiteDiff(f, [{ W, b }, v]) as { y: [{ W: Tensor; b: Tensor }, Tensor]; s: [{ W: Tensor; b: Tensor }, Tensor] };
      const ad = jacfwd(f, { argnums: [0, 1] })({ W, b: array(b) }, v) as typeof fd;
      expect(fd.y[0].W.shape).toEqual([2, 2, 3]);
      expect(fd.y[0].b.shape).toEqual([2]);
      expect(fd.y[1].shape).toEqual([2, 3]);
      expect(fd.s[0].W.shape).toEqual([2, 3]);
      expect(fd.s[1].shape).toEqual([3]);
      for (const [got, want] of [[fd.y[0].W, ad.y[0].W], [fd.y[0].b, ad.y[0].b], [fd.y[1], ad.y[1]], [fd.s[0].W, ad.s[0].W], [fd.s[1], ad.s[1]]]) {
        expectClose(got.data(), want.data(), 0, 1e-11);
      }
      // Exactly zero where the output does not depend on the input.
      expect(Array.from(fd.s[0].W.data())).toEqual([0, 0, 0, 0, 0, 0]);
    });
  });

  it('differentiates only the arguments named by argnums (a number gives one tree, not an array)', () => {
    tidy(() => {
      const f = (a: Tensor | number, x: Tensor) => mul(a, sin(x));
      const J = finiteDiff(f, [2, array([0.1, 0.7])], { argnums: 1 }) as Tensor;
      expect(J.shape).toEqual([2, 2]);
      expectClose(J.data(), [2 * Math.cos(0.1), 0, 0, 2 * Math.cos(0.7)], 1e-11);
      const [Ja] = finiteDiff(f, [2, array([0.1, 0.7])], { argnums: [0] }) as Tensor[];
      expectClose(Ja.data(), [Math.sin(0.1), Math.sin(0.7)], 1e-11);
    });
  });

  it('steps for float32 inputs by float32 machine epsilon and returns the output dtype', () => {
    tidy(() => {
      const x = array([0.3, -0.6], { dtype: 'float32' });
      for (const [stencil, tol] of [[2, 2e-5], [4, 2e-6]] as const) {
        const [J] = finiteDiff((t: Tensor) => sin(t), [x], { stencil }) as Tensor[];
        expect(J.dtype).toBe('float32');
        expectClose(J.data(), [Math.cos(0.3), 0, 0, Math.cos(-0.6)], 0, tol);
      }
    });
  });

  it('rejects a bad stencil or eps', () => {
    expect(() => finiteDiff((x: Tensor) => x, [1], { stencil: 3 as 2 })).toThrow(ArgumentError);
    expect(() => finiteDiff((x: Tensor) => x, [1], { eps: -1 })).toThrow(/eps must be a positive/);
  });
});

describe('gradCheck', () => {
  it('passes on correct functions of trees, to second order, in both modes', () => {
    tidy(() => {
      const f = (p: { W: Tensor; b: Tensor }, x: Tensor) => [tanh(matmul(p.W, x).add(p.b)), sum(exp(x).mul(sin(x)))];
      const args = [{ W: array([[0.5, -1, 2], [1.5, 0.3, -0.7]]), b: array([0.1, -0.2]) }, array([0.2, -0.4, 0.9])];
      const res = gradCheck(f, args, { order: 2, modes: ['fwd', 'rev'] });
      expect(res.failures).toEqual([]);
      expect(res.ok).toBe(true);
      // Order 1: 3 leaves x 2 modes; order 2: 3 leaves x 2 modes x 2 derivative maps.
      expect(res.checks).toBe(6 + 12);
    });
  });

  it('passes in float32 with the float32 tolerance (2e-3)', () => {
    tidy(() => {
      const x = array([0.3, -0.6, 1.1], { dtype: 'float32' });
      const res = gradCheck((t: Tensor) => sum(sin(t).mul(t)), [x], { order: 2 });
      expect(res.failures).toEqual([]);
    });
  });

  it('fails a customJvp with a wrong derivative in forward mode, naming the input and order', () => {
    tidy(() => {
      const wrong = customJvp((x: Tensor) => sin(x), ([x], [dx]) => [sin(x), cos(x).mul(dx).mul(2)]);
      const fwdOnly = gradCheck(wrong, [array([0.5, 1.5])], { order: 1, modes: ['fwd'] });
      expect(fwdOnly.ok).toBe(false);
      expect(fwdOnly.failures.map(({ input, order, mode }) => ({ input, order, mode }))).toEqual([{ input: 'args[0]', order: 1, mode: 'fwd' }]);
      // The error is the whole of cos(x) dx at the worst element, and the message says so.
      expect(fwdOnly.failures[0].error).toBeGreaterThan(0.5);
      expect(fwdOnly.failures[0].message).toMatch(/the jvp of f \(order 1\) is wrong for input args\[0\]/);
      // Reverse mode transposes the same wrong rule, so the vjp is wrong as well.
      const both = gradCheck(wrong, [array([0.5, 1.5])], { order: 1 });
      expect(both.failures.map((f) => f.mode)).toEqual(['fwd', 'rev']);
    });
  });

  it('fails a customVjp with a wrong bwd in reverse mode only, naming the argument whose cotangent is wrong', () => {
    tidy(() => {
      // d(x sin y) = sin(y) dx + x cos(y) dy; the bwd doubles the y part.
      const wrong = customVjp((x: Tensor, y: Tensor) => x.mul(sin(y)),
        (x: Tensor, y: Tensor) => [x.mul(sin(y)), [x, y] as const],
        ([x, y], g) => [g.mul(sin(y)), g.mul(x).mul(cos(y)).mul(2)]);
      const res = gradCheck(wrong, [array([0.7, -1.2]), array([0.4, 2.1])], { order: 1 });
      expect(res.ok).toBe(false);
      expect(res.failures.map(({ input, order, mode }) => ({ input, order, mode }))).toEqual([{ input: 'args[1]', order: 1, mode: 'rev' }]);
      expect(res.failures[0].message).toMatch(/the vjp of f .*<J\^T u, v>/);
    });
  });

  it('names a leaf inside a tree argument by its path', () => {
    tidy(() => {
      const scaleWrong = customVjp((b: Tensor) => exp(b), (b: Tensor) => [exp(b), b], (b, g) => [g.mul(exp(b)).mul(-1)]);
      const f = (p: { W: Tensor; bias: Tensor[] }) => sum(p.W.mul(p.W)).add(sum(scaleWrong(p.bias[1])));
      const res = gradCheck(f, [{ W: array([1, 2]), bias: [array(0.5), array([0.1, 0.3])] }], { order: 1 });
      expect(res.failures.map((f) => `${f.mode} ${f.input}`)).toEqual(['rev args[0].bias[1]']);
    });
  });

  it('passes order 1 but fails order 2 when a rule is right but not differentiable (stopGradient inside it)', () => {
    tidy(() => {
      const firstOrderOnly = customJvp((x: Tensor) => sin(x), ([x], [dx]) => [sin(x), stopGradient(cos(x)).mul(dx)]);
      const x = array([0.5, 1.5]);
      expect(gradCheck(firstOrderOnly, [x], { order: 1 }).ok).toBe(true);
      const res = gradCheck(firstOrderOnly, [x], { order: 2 });
      expect(res.ok).toBe(false);
      expect(res.failures.every((f) => f.order === 2)).toBe(true);
      expect(res.failures.map((f) => `${f.mode} of ${f.via.join(',')}`)).toEqual(['fwd of fwd', 'rev of fwd', 'fwd of rev', 'rev of rev']);
      expect(res.failures[2].message).toMatch(/the jvp of the vjp map of f \(order 2\)/);
    });
  });

  it('honours atol and rtol', () => {
    tidy(() => {
      const slightlyWrong = customJvp((x: Tensor) => sin(x), ([x], [dx]) => [sin(x), cos(x).mul(dx).mul(1 + 1e-4)]);
      const x = array([0.5, 1.5]);
      expect(gradCheck(slightlyWrong, [x], { order: 1, modes: ['fwd'] }).ok).toBe(false);
      expect(gradCheck(slightlyWrong, [x], { order: 1, modes: ['fwd'], atol: 0, rtol: 1e-3 }).ok).toBe(true);
    });
  });

  it('is deterministic for a seed', () => {
    tidy(() => {
      const wrong = customJvp((x: Tensor) => exp(x), ([x], [dx]) => [exp(x), dx]);
      const a = gradCheck(wrong, [array([0.3, 0.9, -0.4])], { order: 1, seed: 7 });
      const b = gradCheck(wrong, [array([0.3, 0.9, -0.4])], { order: 1, seed: 7 });
      expect(a.failures).toEqual(b.failures);
    });
  });

  it('rejects bad options', () => {
    expect(() => gradCheck((x: Tensor) => x, [1], { order: 0 })).toThrow(ArgumentError);
    expect(() => gradCheck((x: Tensor) => x, [1], { modes: ['sideways' as 'fwd'] })).toThrow(/modes must be/);
    expect(() => gradCheck((x: Tensor) => mul(x, x), 1 as unknown as [])).toThrow(/args must be an array/);
    expect(() => gradCheck((x: Tensor) => concat([x]), [1], { atol: -1 })).toThrow(/atol must be/);
  });
});
