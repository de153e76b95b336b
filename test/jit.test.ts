// jit: tracing to a program, the program's text, caching, and composition with transforms.
import { describe, expect, it } from 'vitest';
import {
  array, cos, exp, grad, hessian, jacfwd, jacrev, jit, jvp, memory, mul, sin, sum, tanh, tidy, valueAndGrad, vjp,
  ConcretizationError, type Tensor,
} from '../src/index.js';

const close = (a: Tensor, b: Tensor) => expect(Array.from(a.data())).toEqual(Array.from(b.data()));

describe('jit: tracing and caching', () => {
  it('traces once per signature and reuses the program', () => {
    tidy(() => {
      let calls = 0;
      const f = jit((x: Tensor, y: Tensor) => {
        calls++;
        return sum(mul(sin(x), y));
      });
      const a = f(array([1, 2, 3]), array(2)) as Tensor;
      const b = f(array([4, 5, 6]), array(3)) as Tensor;
      expect(calls).toBe(1);
      expect(a.item()).toBeCloseTo(2 * (Math.sin(1) + Math.sin(2) + Math.sin(3)), 14);
      expect(b.item()).toBeCloseTo(3 * (Math.sin(4) + Math.sin(5) + Math.sin(6)), 14);
      f(array([1, 2]), array(2));
      expect(calls).toBe(2);
      expect(f.stats()).toMatchObject({ traces: 2, cacheHits: 1, programs: 2 });
    });
  });

  it('prints its program', () => {
    const f = jit((x: Tensor, y: Tensor) => mul(sin(x), y));
    const text = f.program(array([1, 2, 3]), array(2)).toString();
    expect(text).toBe('{ lambda a:f64[3] b:f64[]. let\n    c:f64[3] = sin a\n    d:f64[3] = mul c b\n  in (d) }');
  });

  it('gives the eager result to the bit', () => {
    tidy(() => {
      const g = (x: Tensor) => sum(tanh(mul(exp(x), cos(x))));
      const x = array([0.1, -0.7, 2.5, 3]);
      close(jit(g)(x) as Tensor, g(x));
    });
  });

  it('throws a ConcretizationError naming the ways out when a traced value is read', () => {
    const f = jit((x: Tensor) => (x.item() > 0 ? x : mul(x, -1)));
    expect(() => f(array(2))).toThrow(ConcretizationError);
    expect(() => f(array(2))).toThrow(/staticArgnums.*where.*cond/s);
  });
});

describe('jit: composition with transforms', () => {
  const f = (x: Tensor) => sum(mul(sin(x), exp(mul(x, 0.5))));
  const x0 = array([0.3, -1.2, 2.0]);

  it('grad(jit(f)) equals grad(f)', () => tidy(() => close(grad(jit(f))(x0) as Tensor, grad(f)(x0) as Tensor)));
  it('jit(grad(f)) equals grad(f)', () => tidy(() => close(jit(grad(f))(x0) as Tensor, grad(f)(x0) as Tensor)));
  it('jvp(jit(f)) equals jvp(f)', () => tidy(() => {
    const [y1, t1] = jvp(jit(f), [x0], [array([1, 0.5, -2])]) as Tensor[];
    const [y2, t2] = jvp(f, [x0], [array([1, 0.5, -2])]) as Tensor[];
    close(y1, y2);
    close(t1, t2);
  }));
  it('jit(hessian(f)) equals hessian(f)', () => tidy(() => close(jit(hessian(f))(x0) as Tensor, hessian(f)(x0) as Tensor)));
  it('jit(jacfwd(f)) and jit(jacrev(f)) equal the eager Jacobians', () => tidy(() => {
    const g = (x: Tensor) => mul(sin(x), sum(x));
    close(jit(jacfwd(g))(x0) as Tensor, jacfwd(g)(x0) as Tensor);
    close(jit(jacrev(g))(x0) as Tensor, jacrev(g)(x0) as Tensor);
  }));
  it('jit of jit inlines the inner program', () => tidy(() => {
    const inner = jit((x: Tensor) => mul(x, x));
    const outer = jit((x: Tensor) => sum(inner(sin(x))));
    close(outer(x0) as Tensor, sum(mul(sin(x0), sin(x0))));
    expect(outer.program(x0).toString()).toContain('mul');
  }));
  it('vjp(jit(f)) with a closed-over tracer (grad of a jitted closure)', () => tidy(() => {
    const h = (a: Tensor) => sum(jit((x: Tensor) => mul(x, a))(x0) as Tensor);
    close(grad(h)(array(2)) as Tensor, sum(x0));
    const [, pull] = vjp(h, array(2));
    close(pull(array(1))[0] as Tensor, sum(x0));
  }));
  it('valueAndGrad of a jitted loss holds memory flat after the first call', () => {
    const loss = jit((x: Tensor) => sum(mul(tanh(x), x)));
    const step = () => tidy(() => void valueAndGrad(loss)(x0));
    step();
    const after1 = memory().bytesInUse;
    for (let i = 0; i < 50; i++) step();
    expect(memory().bytesInUse).toBe(after1);
  });
  it('a jitted gradient called 1,000 times holds memory flat after 10 calls', () => {
    const g = jit(grad((x: Tensor) => sum(mul(tanh(x), exp(x)))));
    for (let i = 0; i < 10; i++) (g(x0) as Tensor).dispose();
    const after10 = memory().bytesInUse;
    for (let i = 0; i < 1000; i++) (g(x0) as Tensor).dispose();
    expect(memory().bytesInUse).toBe(after10);
  });
});
