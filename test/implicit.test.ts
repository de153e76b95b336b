// Implicit differentiation: rootFind (bisection and Newton) and fixedPoint, whose derivatives
// come from the implicit function theorem, checked against closed forms and against finite
// differences of the solver itself, in both modes and nested; the iterations are never
// differentiated.
import { describe, expect } from 'vitest';
import {
  ArgumentError, ConvergenceError, DifferentiationError, ShapeError, add, array, cos, fixedPoint, grad, jacfwd, jacrev,
  jvp, matmul, mul, randn, rootFind, sin, sum, tanh, tidy, zeros, type Tensor,
} from './helpers/api.js';
import { Tracer } from '../src/core/trace.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { expectMemoryRestored, spec } from './helpers/memory.js';

expectMemoryRestored();


// The seed's example: F(x, factor) = factor x^3 - x - 2.
const F = (x: Tensor, factor: Tensor) => factor.mul(x.pow(3)).sub(x).sub(2);
const bisect = (factor: Tensor | number) => rootFind(F, factor, { bracket: [1, 2], method: 'bisection' });
const newton = (factor: Tensor | number) => rootFind(F, factor, { x0: 1.5, method: 'newton' });

/** The root of factor x^3 - x - 2 by Newton's method in plain JS, and its closed-form derivatives. */
function seedClosedForm(factor: number) {
  let x = 1.5;
  for (let i = 0; i < 100; i++) x -= (factor * x ** 3 - x - 2) / (3 * factor * x ** 2 - 1);
  // Differentiating F(x(f), f) = 0: x' = -x^3 / D with D = 3 f x^2 - 1; then x'' = (N' D - N D') / D^2.
  const D = 3 * factor * x ** 2 - 1;
  const d1 = -(x ** 3) / D;
  const dN = -3 * x ** 2 * d1;
  const dD = 3 * x ** 2 + 6 * factor * x * d1;
  const d2 = (dN * D + x ** 3 * dD) / D ** 2;
  return { x, d1, d2 };
}

describe('rootFind: the seed example', () => {
  const exact = seedClosedForm(2);

  spec('d root / d factor at factor = 2 is -0.22139914 (the seed prints float32)', () => {
    // The seed's number is JAX's float32 result: it agrees to float32 precision (2^-23
    // relative); the closed form, evaluated at the exact root, to 1e-10.
    const g = (grad(bisect)(2) as Tensor).item();
    expectClose(g, -0.22139914, 2 ** -23);
    expectClose(g, exact.d1, 1e-10);
  });

  spec('the root itself solves 2x^3 - x - 2 = 0', () => {
    expectClose(bisect(2).item(), exact.x, 4e-16);
    expectClose(newton(2).item(), exact.x, 4e-16);
  });

  spec('Newton gives the same derivative, from x0 or from the bracket midpoint', () => {
    expectClose((grad(newton)(2) as Tensor).item(), exact.d1, 1e-12);
    const fromBracket = (f: Tensor) => rootFind(F, f, { bracket: [1, 2], method: 'newton' });
    expectClose((grad(fromBracket)(2) as Tensor).item(), exact.d1, 1e-12);
  });

  spec('jvp and grad agree', () => {
    for (const solver of [bisect, newton]) {
      const [x, dx] = jvp(solver, [2], [1]) as [Tensor, Tensor];
      expectClose(x.item(), exact.x, 4e-16);
      expectClose(dx.item(), (grad(solver)(2) as Tensor).item(), 1e-13);
    }
  });

  spec('second derivatives nest in every order: grad of grad, jvp of grad, jacfwd of jacrev', () => {
    expectClose((grad(grad(bisect))(2) as Tensor).item(), exact.d2, 1e-9);
    expectClose((grad(grad(newton))(2) as Tensor).item(), exact.d2, 1e-9);
    expectClose((jvp(grad(newton), [2], [1])[1] as Tensor).item(), exact.d2, 1e-9);
    expectClose((grad((f: Tensor) => jvp(bisect, [f], [1])[1] as Tensor)(2) as Tensor).item(), exact.d2, 1e-9);
    expectClose((jacfwd(jacrev(newton))(array(2)) as Tensor).item(), exact.d2, 1e-9);
  });

  spec('the derivative matches finite differences of the solver itself', () => {
    const h = 1e-4;
    const fd = (bisect(2 + h).item() - bisect(2 - h).item()) / (2 * h);
    expectClose((grad(bisect)(2) as Tensor).item(), fd, 1e-7);
  });

  spec('float32 params give a float32 root and derivative', () => {
    const f32 = array(2, { dtype: 'float32' });
    for (const solver of [bisect, newton]) {
      expect(solver(f32).dtype).toBe('float32');
      const g = grad(solver)(f32) as Tensor;
      expect(g.dtype).toBe('float32');
      expectClose(g.item(), exact.d1, 2e-6);
    }
  });
});

describe('rootFind: systems and trees', () => {
  // F(x, {M, c}) = M x + sin(x) / 2 - c: a square nonlinear system.
  const G = (x: Tensor, p: { M: Tensor; c: Tensor }) => add(matmul(p.M, x), mul(sin(x), 0.5)).sub(p.c);
  const solveFor = (M: Tensor, c: Tensor) => rootFind(G, { M, c }, { x0: zeros([3]) });
  const M = add(randn([3, 3], { seed: 1 }), array([[3, 0, 0], [0, 3, 0], [0, 0, 3]]));

  spec('the root solves the system', () => {
    tidy(() => {
      const c = randn([3], { seed: 2 });
      const x = solveFor(M, c);
      expectClose(G(x, { M, c }).data(), [0, 0, 0], 0, 1e-15);
    });
  });

  spec('derivatives in M and c match finite differences of the solver, and vjp matches jvp', () => {
    checkGrads(solveFor, [M, randn([3], { seed: 3 })]);
  });

  spec('jacfwd and jacrev of the root agree; d x / d c = (M + diag(cos x) / 2)^{-1}', () => {
    const c = randn([3], { seed: 4 });
    const Jf = jacfwd(solveFor, { argnums: [0, 1] })(M, c) as Tensor[];
    const Jr = jacrev(solveFor, { argnums: [0, 1] })(M, c) as Tensor[];
    expect(Jf[0].shape).toEqual([3, 3, 3]);
    expectClose(Jf[0].data(), Jr[0].data(), 1e-13, 1e-15);
    expectClose(Jf[1].data(), Jr[1].data(), 1e-13, 1e-15);
    const x = solveFor(M, c);
    const jx = add(M, mul(array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]), mul(cos(x), 0.5)));
    expectClose(matmul(jx, Jf[1]).data(), [1, 0, 0, 0, 1, 0, 0, 0, 1], 0, 1e-14);
  });

  spec('gradients mirror the params tree; unused leaves and numbers get zeros', () => {
    const H = (x: Tensor, p: { a: Tensor; unused: Tensor; k: Tensor[] }) => x.mul(p.a).sub(p.k[0]);
    const g = grad((a: Tensor) => rootFind(H, { a, unused: 7, k: [3] }, { x0: 0 }))(2) as Tensor;
    // x* = 3 / a, so dx*/da = -3 / a^2.
    expectClose(g.item(), -0.75, 1e-14);
    const gTree = grad((p: { a: Tensor; unused: Tensor; k: Tensor[] }) => rootFind(H, p, { x0: 0 }))({ a: 2, unused: 7, k: [3] }) as { a: Tensor; unused: Tensor; k: Tensor[] };
    expectClose(gTree.a.item(), -0.75, 1e-14);
    expectClose(gTree.unused.item(), 0, 0, 0);
    expectClose(gTree.k[0].item(), 0.5, 1e-14);
  });
});

describe('rootFind: the iterations are not differentiated', () => {
  spec('F sees traced params once per derivative, however many iterations the solver takes', () => {
    let calls = 0;
    let traced = 0;
    const counted = (x: Tensor, factor: Tensor) => {
      calls++;
      if (factor instanceof Tracer) traced++;
      return F(x, factor);
    };
    grad((f: Tensor) => rootFind(counted, f, { bracket: [1, 2] }))(2);
    expect(calls).toBeGreaterThan(40);
    expect(traced).toBe(1);
    traced = 0;
    jvp((f: Tensor) => rootFind(counted, f, { bracket: [1, 2] }), [2], [1]);
    expect(traced).toBe(1);
  });

  spec('a function that closes over a differentiated value is refused', () => {
    const closing = (c: Tensor) => rootFind((x: Tensor, f: Tensor) => F(x, f).sub(c), 2, { bracket: [0, 3] });
    expect(() => grad(closing)(0.1)).toThrow(DifferentiationError);
    expect(() => grad(closing)(0.1)).toThrow(/rootFind: the function returned a traced value .* Pass that value in params/);
  });
});

describe('rootFind: errors', () => {
  spec('a bracket without a sign change', () => {
    expect(() => bisect(-1)).toThrow(ArgumentError);
    expect(() => rootFind(F, 2, { bracket: [2, 3] })).toThrow(/rootFind: the bracket \[2, 3\] must hold a sign change of F, but F\(2\) = 12 and F\(3\) = 49/);
  });

  spec('Newton without a root to find', () => {
    expect(() => rootFind((x: Tensor, c: Tensor) => x.mul(x).add(c), 1, { x0: 0.5 })).toThrow(ConvergenceError);
    expect(() => rootFind((x: Tensor, c: Tensor) => x.mul(x).add(c), 1, { x0: 0.5, maxIter: 5 })).toThrow(/did not converge in 5 iterations/);
  });

  spec('options and shapes', () => {
    expect(() => rootFind(F, 2, { method: 'bisection' })).toThrow(/needs a bracket/);
    expect(() => rootFind(F, 2, {})).toThrow(/needs a starting point x0/);
    expect(() => rootFind(F, 2, { x0: 1, method: 'secant' as 'newton' })).toThrow(/method must be 'newton' or 'bisection'/);
    expect(() => rootFind((x: Tensor) => sum(x), 2, { x0: zeros([2]) })).toThrow(ShapeError);
  });

  spec('a singular dF/dx at the root cannot be differentiated', () => {
    // x^3 - p has the root p^(1/3); at p = 0 (found exactly, at the bracket's midpoint) the slope 3x^2 vanishes.
    expect(() => grad((p: Tensor) => rootFind((x: Tensor, q: Tensor) => x.pow(3).sub(q), p, { bracket: [-1, 1] }))(0)).toThrow(/rootFind: dF\/dx = 0 at the root x = 0/);
  });
});

describe('fixedPoint', () => {
  // x* = a cos(x*), so d x*/d a = cos(x*) / (1 + a sin(x*)).
  const T = (x: Tensor, a: Tensor) => a.mul(cos(x));
  const fixed = (a: Tensor | number) => fixedPoint(T, a, { x0: 0 });

  spec('the fixed point and its derivative in both modes match the closed form', () => {
    const x = fixed(0.5).item();
    // The default tol stops at steps of 1e-12; the contraction rate here is about 0.2.
    expectClose(x, 0.5 * Math.cos(x), 1e-12);
    const expected = Math.cos(x) / (1 + 0.5 * Math.sin(x));
    expectClose((grad(fixed)(0.5) as Tensor).item(), expected, 1e-11);
    expectClose((jvp(fixed, [0.5], [1])[1] as Tensor).item(), expected, 1e-11);
  });

  spec('second derivative against finite differences of the first', () => {
    const h = 1e-4;
    const d1 = (a: number) => (grad(fixed)(a) as Tensor).item();
    expectClose((grad(grad(fixed))(0.5) as Tensor).item(), (d1(0.5 + h) - d1(0.5 - h)) / (2 * h), 1e-6);
  });

  spec('a vector fixed point: derivatives match finite differences of the solver, jvp = vjp', () => {
    // T(x) = tanh(W x + b) with |W| small is a contraction.
    const W = mul(randn([4, 4], { seed: 5 }), 0.2);
    const b = randn([4], { seed: 6 });
    const solveFor = (w: Tensor, c: Tensor) => fixedPoint((x: Tensor, p: Tensor[]) => tanh(add(matmul(p[0], x), p[1])), [w, c], { x0: zeros([4]), tol: 1e-15 });
    checkGrads(solveFor, [W, b]);
    const Jf = jacfwd(solveFor, { argnums: 1 })(W, b) as Tensor;
    const Jr = jacrev(solveFor, { argnums: 1 })(W, b) as Tensor;
    expectClose(Jf.data(), Jr.data(), 1e-13, 1e-15);
  });

  spec('a map that is not a contraction is a ConvergenceError', () => {
    expect(() => fixedPoint((x: Tensor, a: Tensor) => x.mul(a).add(1), 2, { x0: 0 })).toThrow(ConvergenceError);
    expect(() => fixedPoint((x: Tensor, a: Tensor) => x.mul(a).add(1), 2, { x0: 0, maxIter: 10 })).toThrow(/no fixed point within tol .* after 10 iterations/);
    expect(() => fixedPoint(T, 0.5, {} as { x0: number })).toThrow(/options.x0, the starting point, is required/);
  });
});
