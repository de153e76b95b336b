// Forward and reverse mode: trees, chunking, nesting in every order, custom rules.
import { describe, expect, it } from 'vitest';
import {
  ArgumentError, DifferentiationError, ShapeError, add, array, cos, customJvp, exp, grad, hessian, jacfwd, jacobian,
  jacobianCost, jacrev, jvp, matmul, memory, mul, randn, sin, stopGradient, sum, tanh, valueAndGrad, vjp, type Tensor,
} from './helpers/api.js';
import { expectClose } from './helpers/check.js';

describe('jvp', () => {
  it('takes and returns trees with several inputs and outputs', () => {
    const f = (p: { a: Tensor; b: Tensor[] }) => ({ s: sum(mul(p.a, p.b[0])), t: [sin(p.b[1])] });
    const primals = { a: array([1, 2]), b: [array([3, 4]), array(0.5)] };
    const tangents = { a: array([1, 0]), b: [array([0, 1]), array(1)] };
    const [out, dout] = jvp(f, [primals], [tangents]) as [{ s: Tensor; t: Tensor[] }, { s: Tensor; t: Tensor[] }];
    expect(out.s.item()).toBe(11);
    expect(dout.s.item()).toBe(3 + 2);
    expectClose(dout.t[0].item(), Math.cos(0.5), 1e-15);
  });

  it('gives zero tangents for outputs that do not depend on the inputs', () => {
    const [, t] = jvp((_: Tensor) => array([1, 2]), [array(1)], [array(1)]);
    expect(t.toArray()).toEqual([0, 0]);
  });

  it('rejects tangents whose shape differs from the primal', () => {
    expect(() => jvp((x: Tensor) => x, [array([1, 2])], [array([1, 2, 3])])).toThrow(ShapeError);
    expect(() => jvp((x: Tensor) => x, [array([1, 2])], [array([1, 2, 3])])).toThrow(/tangent 0 has shape \[3\] but its primal has shape \[2\]/);
  });
});

describe('nesting without perturbation confusion', () => {
  it('d/dx [x * (d/dy (x + y)) at y = 1] = 1, which a naive dual-number scheme gets as 2', () => {
    const inner = (x: Tensor) => jvp((y: Tensor) => add(x, y), [1], [1])[1] as Tensor;
    const [, d] = jvp((x: Tensor) => mul(x, inner(x)), [1], [1]) as [Tensor, Tensor];
    expect(d.item()).toBe(1);
    expect((grad((x: Tensor) => mul(x, inner(x)))(1) as Tensor).item()).toBe(1);
  });

  it('grad of grad, jvp of grad, grad of jvp and jacfwd(jacrev) give second derivatives', () => {
    const f = (x: Tensor) => sin(x).mul(exp(x));
    // f'' = 2 e^x cos x
    const x0 = 0.7;
    const expected = 2 * Math.exp(x0) * Math.cos(x0);
    expectClose((grad(grad(f))(x0) as Tensor).item(), expected, 1e-14);
    expectClose((jvp(grad(f), [x0], [1])[1] as Tensor).item(), expected, 1e-14);
    const fwdDeriv = (x: Tensor) => jvp(f, [x], [1])[1] as Tensor;
    expectClose((grad(fwdDeriv)(x0) as Tensor).item(), expected, 1e-14);
    expectClose((jacfwd(jacrev(f))(array(x0)) as Tensor).item(), expected, 1e-14);
    expectClose((jacrev(jacfwd(f))(array(x0)) as Tensor).item(), expected, 1e-14);
  });

  it('third order: grad(grad(grad(sin))) = -cos', () => {
    expectClose((grad(grad(grad((x: Tensor) => sin(x))))(0.3) as Tensor).item(), -Math.cos(0.3), 1e-14);
  });

  it('hessian of a function of a vector is symmetric and matches the closed form', () => {
    const f = (x: Tensor) => sum(x.mul(x).mul(x)).add(x.slice([0], [1]).mul(x.slice([1], [1])).sum());
    const h = hessian(f)(array([1, 2, 3])) as Tensor;
    expect(h.toArray()).toEqual([[6, 1, 0], [1, 12, 0], [0, 0, 18]]);
  });
});

describe('Jacobians', () => {
  const W = randn([5, 7], { seed: 3 });
  const f = (x: Tensor) => tanh(matmul(W, x)).mul(cos(x.slice([0], [5])));
  const x = randn([7], { seed: 4 });

  it('jacfwd with every chunk size equals jacrev with every chunk size', () => {
    const ref = jacrev(f)(x) as Tensor;
    expect(ref.shape).toEqual([5, 7]);
    for (const chunkSize of [1, 2, 3, 7, 12]) {
      expectClose((jacfwd(f, { chunkSize })(x) as Tensor).data(), ref.data(), 1e-13, 1e-15);
    }
    for (const chunkSize of [1, 2, 5]) {
      expectClose((jacrev(f, { chunkSize })(x) as Tensor).data(), ref.data(), 1e-13, 1e-15);
    }
  });

  it('jacobian auto picks reverse for many inputs and few outputs, forward for the opposite, and says why', () => {
    expect(jacobianCost(1000, 2).mode).toBe('rev');
    expect(jacobianCost(2, 1000).mode).toBe('fwd');
    const c = jacobianCost(50, 200);
    expect(c.fwdPasses).toBe(5);
    expect(c.revSweeps).toBe(4);
    expect(c.mode).toBe(c.fwd <= c.rev ? 'fwd' : 'rev');
    const g = (v: Tensor) => tanh(v.slice([0], [2]).mul(3));
    const wide = randn([300], { seed: 9 });
    const auto = jacobian(g)(wide) as Tensor;
    expect(auto.shape).toEqual([2, 300]);
    expectClose(auto.data(), (jacfwd(g)(wide) as Tensor).data(), 1e-15);
    // The second call knows the output size and goes straight to the chosen mode.
    expectClose((jacobian(g)(wide) as Tensor).data(), auto.data(), 0);
  });

  it('jacobian has shape out.shape + x.shape in every mode', () => {
    const g = (m: Tensor) => matmul(m, m);
    const m = randn([2, 2], { seed: 5 });
    for (const mode of ['fwd', 'rev', 'auto'] as const) {
      expect((jacobian(g, { mode })(m) as Tensor).shape).toEqual([2, 2, 2, 2]);
    }
  });
});

describe('grad and vjp', () => {
  it('grad with argnums returns an array; valueAndGrad returns the value too', () => {
    const f = (a: Tensor, b: Tensor) => sum(a.mul(b).mul(b));
    const [ga, gb] = grad(f, { argnums: [0, 1] })(array([1, 2]), array([3, 4])) as Tensor[];
    expect(ga.toArray()).toEqual([9, 16]);
    expect(gb.toArray()).toEqual([6, 16]);
    const [v, g] = valueAndGrad(f, { argnums: 1 })(array([1, 2]), array([3, 4])) as [Tensor, Tensor];
    expect(v.item()).toBe(41);
    expect(g.toArray()).toEqual([6, 16]);
  });

  it('hasAux passes aux through', () => {
    const [g, aux] = grad((x: Tensor) => [sum(x.mul(x)), { double: x.mul(2) }], { hasAux: true })(array([1, 2])) as [Tensor, { double: Tensor }];
    expect(g.toArray()).toEqual([2, 4]);
    expect(aux.double.toArray()).toEqual([2, 4]);
  });

  it('grad of a non-scalar output names the shape', () => {
    expect(() => grad((x: Tensor) => x.mul(2))(array([1, 2]))).toThrow(ShapeError);
    expect(() => grad((x: Tensor) => x.mul(2))(array([1, 2]))).toThrow(/got shape \[2\]/);
  });

  it('a function returning something other than tensors is a clear error', () => {
    expect(() => grad((_: Tensor) => 'loss' as unknown as Tensor)(1)).toThrow(ArgumentError);
    expect(() => jvp((_: Tensor) => new Map() as unknown as Tensor, [1], [1])).toThrow(/expected a Tensor, a number/);
  });

  it('a value used many times accumulates its cotangents', () => {
    const g = grad((x: Tensor) => { let y = x; for (let i = 0; i < 5; i++) y = y.add(x); return sum(y); })(array([1, 2])) as Tensor;
    expect(g.toArray()).toEqual([6, 6]);
  });

  it('broadcasting is undone: the gradient has the input\'s shape', () => {
    const [ga, gb] = grad((a: Tensor, b: Tensor) => sum(a.mul(b)), { argnums: [0, 1] })(array([[1, 2, 3], [4, 5, 6]]), array([1, 1, 1])) as Tensor[];
    expect(ga.shape).toEqual([2, 3]);
    expect(gb.toArray()).toEqual([5, 7, 9]);
  });

  it('the pullback of vjp can be called more than once', () => {
    const [, pullback] = vjp((x: Tensor) => x.mul(x), array([1, 2]));
    expect((pullback(array([1, 0]))[0] as Tensor).toArray()).toEqual([2, 0]);
    expect((pullback(array([0, 1]))[0] as Tensor).toArray()).toEqual([0, 4]);
  });

  it('stopGradient blocks the derivative in both modes', () => {
    const f = (x: Tensor) => mul(x, stopGradient(x));
    expect((grad(f)(3) as Tensor).item()).toBe(3);
    expect((jvp(f, [3], [1])[1] as Tensor).item()).toBe(3);
  });

  it('a long chain of 100000 ops does not overflow the stack', () => {
    const g = grad((x: Tensor) => { let y = x; for (let i = 0; i < 100000; i++) y = y.mul(1.00001); return y; })(1) as Tensor;
    expectClose(g.item(), Math.pow(1.00001, 100000), 1e-9);
  });

  it('a tracer that escapes its transform is an error when used', () => {
    let leaked: Tensor | null = null;
    grad((x: Tensor) => { leaked = x; return x.mul(1); })(1);
    expect(() => (leaked as unknown as Tensor).mul(2)).toThrow(DifferentiationError);
  });
});

describe('custom rules', () => {
  it('a customJvp rule is transposed for reverse mode', () => {
    let calls = 0;
    const f = customJvp((x) => sin(x), ([x], [dx]) => { calls++; return [sin(x), cos(x).mul(dx)]; });
    const g = grad((x: Tensor) => sum(f(x)))(array([0.1, 0.2])) as Tensor;
    expectClose(g.data(), [Math.cos(0.1), Math.cos(0.2)], 1e-15);
    expect(calls).toBeGreaterThan(0);
  });

  it('a custom rule that differs from the true derivative is the one used', () => {
    const clipped = customJvp((x) => x.mul(1), ([x], [dx]) => [x.mul(1), dx.mul(0.5)]);
    expect((grad((x: Tensor) => clipped(x))(2) as Tensor).item()).toBe(0.5);
    expect((jvp((x: Tensor) => clipped(x), [2], [1])[1] as Tensor).item()).toBe(0.5);
  });
});

describe('memory', () => {
  it('transforms free what they allocate', () => {
    const x = array([1, 2, 3]);
    const before = memory().bytesInUse;
    for (let i = 0; i < 5; i++) {
      const g = grad((y: Tensor) => sum(tanh(y).mul(y)))(x) as Tensor;
      const j = jacfwd((y: Tensor) => sin(y))(x) as Tensor;
      g.dispose();
      j.dispose();
    }
    expect(memory().bytesInUse).toBe(before);
    x.dispose();
  });
});
