// jit: tracing to a program, the program's text, caching, and composition with transforms.
import { describe, expect, it, vi } from 'vitest';
import {
  add, array, checkpoint, cos, customJvp, customVjp, div, exp, fixedPoint, grad, hessian, jacfwd, jacrev, jit, jvp, memory, mul, pow, rootFind,
  evalShape, matmul, scan, sin, sub, sum, tanh, tidy, valueAndGrad, vjp, ConcretizationError, type Tensor,
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
    for (const read of [(x: Tensor) => x.toArray(), (x: Tensor) => x.data(), (x: Tensor) => Number(x), (x: Tensor) => (x as unknown as number) > 0, (x: Tensor) => Math.tanh(x as unknown as number)]) {
      expect(() => jit((x: Tensor) => [read(x), x][1] as Tensor)(array(2))).toThrow(ConcretizationError);
    }
    expect(() => jit((x: Tensor) => (Number(x) > 0 ? x : x))(array(2))).toThrow(/f64\[\].*as a JS number or boolean/s);
    // String conversion still works (printing inside a traced function).
    expect(String(jit((x: Tensor) => x).program(array([1, 2])))).toContain('lambda a:f64[2]');
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

describe('jit: composition with the rest of the library', () => {
  const x0 = array([0.3, -1.2, 2.0]);
  const f = (x: Tensor) => sum(mul(sin(x), exp(mul(x, 0.5))));

  it('customVjp and customJvp inside jit keep their rules', () => tidy(() => {
    const clipped = customVjp((x: Tensor) => mul(x, 1), (x: Tensor) => [mul(x, 1), null], (_: null, g: Tensor) => [mul(g, 0.5)]);
    const h = (x: Tensor) => sum(clipped(x));
    close(grad(jit(h))(x0) as Tensor, grad(h)(x0) as Tensor);
    close(jit(grad(h))(x0) as Tensor, array([0.5, 0.5, 0.5]));
    const s = customJvp((x: Tensor) => sin(x), ([x], [dx]) => [sin(x), mul(cos(x), mul(dx, 2))]);
    const [, t1] = jvp(jit((x: Tensor) => s(x)), [x0], [array([1, 1, 1])]) as Tensor[];
    close(t1, mul(cos(x0), 2));
  }));

  it('checkpoint(jit(f)) and jit(checkpoint(f)) give grad(f)', () => tidy(() => {
    close(grad((x: Tensor) => checkpoint(jit(f))(x))(x0) as Tensor, grad(f)(x0) as Tensor);
    close(jit(grad((x: Tensor) => checkpoint(f)(x)))(x0) as Tensor, grad(f)(x0) as Tensor);
  }));

  it('a jitted step inside scan, differentiated', () => tidy(() => {
    const step = jit((h: Tensor, x: Tensor): [Tensor, null] => [add(mul(h, 0.9), sin(x)), null]);
    const loss = (h0: Tensor) => sum((scan(step as (h: Tensor, x: Tensor) => [Tensor, null], h0, array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])) as [Tensor, null])[0]);
    const eager = (h0: Tensor) => sum((scan((h: Tensor, x: Tensor) => [add(mul(h, 0.9), sin(x)), null], h0, array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])) as [Tensor, null])[0]);
    close(grad(loss)(x0) as Tensor, grad(eager)(x0) as Tensor);
  }));

  it('rootFind with a jitted residual, differentiated by the implicit function theorem', () => tidy(() => {
    const F = jit((x: Tensor, c: Tensor) => sub(sub(mul(c, pow(x, 3)), x), 2));
    const root = (c: Tensor) => rootFind(F as (x: Tensor, c: Tensor) => Tensor, c, { bracket: [1, 2], method: 'bisection' });
    expect((grad(root)(array(2)) as Tensor).item()).toBeCloseTo(-0.2213991627, 8);
  }));

  it('nested derivatives through jit stay free of perturbation confusion', () => tidy(() => {
    // d/dx [x * d/dy (x + y)] = 1 at any x: an inner derivative that leaked x's perturbation would give 2.
    const inner = jit((x: Tensor) => grad((y: Tensor) => add(x, y))(array(1)));
    const outer = grad((x: Tensor) => mul(x, inner(x) as Tensor));
    expect((outer(array(3)) as Tensor).item()).toBe(1);
  }));

  it('warns once when retraced more than 10 times, naming the changing argument', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const g = jit((x: Tensor, y: Tensor) => add(sum(x), sum(y)));
      tidy(() => {
        for (let n = 1; n <= 13; n++) g(array(new Float64Array(n)), array([1, 2]));
      });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/traced 11 times: argument 0 keeps changing/);
    } finally {
      warn.mockRestore();
    }
  });

  it('static arguments are part of the key and reach f as they are', () => tidy(() => {
    const g = jit((x: Tensor, n: number) => (n > 1 ? mul(x, n) : x), { staticArgnums: [1] });
    close(g(x0, 3) as Tensor, mul(x0, 3));
    close(g(x0, 1) as Tensor, x0);
    expect(g.stats().traces).toBe(2);
  }));

  it('number arguments are weak: a float32 tensor keeps its dtype, as in eager', () => tidy(() => {
    const g = jit((x: Tensor, s: Tensor | number) => mul(x, s));
    const y = g(array([1, 2], { dtype: 'float32' }), 0.1) as Tensor;
    expect(y.dtype).toBe('float32');
    close(y, mul(array([1, 2], { dtype: 'float32' }), 0.1));
  }));
});

describe('jit: program passes', () => {
  it('drops equations whose values nothing reads (forward values no rule saved, under jit(grad))', () => {
    const f = (x: Tensor) => sum(add(mul(x, 2), 1));
    const text = jit(grad(f)).program(array([1, 2])).toString();
    // d/dx sum(2x + 1) = 2: neither the forward mul nor the add is needed.
    expect(text).not.toContain('= add');
    expect(jit(f).program(array([1, 2])).equations.length).toBe(3);
    tidy(() => expect(Array.from((jit(grad(f))(array([1, 2])) as Tensor).data())).toEqual([2, 2]));
  });
});

describe('evalShape', () => {
  it('gives output shapes and dtypes without running, and holds no memory', () => {
    tidy(() => {
      const W = array([[1, 2, 3], [4, 5, 6]]);
      const before = memory().bytesInUse;
      const out = evalShape((x: Tensor) => ({ y: matmul(W, x), s: sum(x) }), array([1, 2, 3], { dtype: 'float64' }));
      expect(out).toEqual({ y: { shape: [2], dtype: 'float64' }, s: { shape: [], dtype: 'float64' } });
      W.dispose();
      expect(memory().bytesInUse).toBeLessThan(before);
    });
  });
});

describe('jit: derivatives of a jitted function run as programs', () => {
  const f = (x: Tensor, y: Tensor) => [sum(mul(sin(x), y)), mul(x, 2), y];
  const x0 = array([0.3, -1.2, 2.0]);
  const y0 = array([1.5, 0.5, -1]);

  it('grad of a jitted function with several outputs (one passed through) equals eager', () => tidy(() => {
    const loss = (g: (x: Tensor, y: Tensor) => Tensor[]) => (x: Tensor, y: Tensor) => {
      const [a, b, c] = g(x, y);
      return add(a, sum(mul(b, c)));
    };
    const jf = jit(f);
    const eager = grad(loss(f), { argnums: [0, 1] })(x0, y0) as Tensor[];
    for (let i = 0; i < 3; i++) {
      const got = grad(loss(jf as unknown as (x: Tensor, y: Tensor) => Tensor[]), { argnums: [0, 1] })(x0, y0) as Tensor[];
      close(got[0], eager[0]);
      close(got[1], eager[1]);
    }
    expect(jf.stats().traces).toBe(1);
  }));

  it('jvp of a jitted function equals eager, and so do hessian and jvp of grad through it (nested)', () => tidy(() => {
    const g = (x: Tensor) => sum(mul(sin(x), exp(mul(x, 0.5))));
    const jg = jit(g);
    const [y1, t1] = jvp(jg, [x0], [array([1, 2, 3])]) as Tensor[];
    const [y2, t2] = jvp(g, [x0], [array([1, 2, 3])]) as Tensor[];
    close(y1, y2);
    close(t1, t2);
    close(hessian(jg)(x0) as Tensor, hessian(g)(x0) as Tensor);
    close(jacrev(jg)(x0) as Tensor, jacrev(g)(x0) as Tensor);
  }));
});

describe('jit: planned memory', () => {
  it('keeps intermediates in an arena no larger than 1.25x their peak, and a steady call allocates only its outputs', () => {
    const f = jit((x: Tensor) => {
      let y = x;
      for (let i = 0; i < 50; i++) y = add(mul(sin(y), 0.5), x);
      return sum(y);
    });
    const x = array(Float64Array.from({ length: 100 }, (_, i) => i / 100));
    for (let i = 0; i < 10; i++) (f(x) as Tensor).dispose();
    const after10 = memory().bytesInUse;
    for (let i = 0; i < 10000; i++) (f(x) as Tensor).dispose();
    expect(memory().bytesInUse).toBe(after10);
    const { arenaBytes, arenaPeakBytes } = f.stats();
    expect(arenaPeakBytes).toBeGreaterThan(0);
    expect(arenaBytes).toBeLessThanOrEqual(1.25 * arenaPeakBytes);
    tidy(() => {
      let y: Tensor = x;
      for (let i = 0; i < 50; i++) y = add(mul(sin(y), 0.5), x);
      expect((f(x) as Tensor).item()).toBe(sum(y).item());
    });
    x.dispose();
  });
});

describe('jit: more orders of composition', () => {
  it('jit(jvp(f)) equals jvp(f)', () => tidy(() => {
    const f = (x: Tensor) => mul(sin(x), exp(x));
    const x0 = array([0.2, -0.4, 1.1]);
    const v = array([1, -1, 0.5]);
    const staged = jit((x: Tensor, t: Tensor) => jvp(f, [x], [t]) as Tensor[]);
    const [y1, t1] = staged(x0, v) as Tensor[];
    const [y2, t2] = jvp(f, [x0], [v]) as Tensor[];
    close(y1, y2);
    close(t1, t2);
  }));

  it('fixedPoint with a jitted map, differentiated by the implicit function theorem', () => tidy(() => {
    // x = cos(x) / a has d x / d a = -(x / a) / (1 + sin(x) / a) at the fixed point.
    const T = jit((x: Tensor, a: Tensor) => div(cos(x), a));
    const solve = (a: Tensor) => fixedPoint(T as (x: Tensor, a: Tensor) => Tensor, a, { x0: 0.5 });
    const a = array(2);
    const x = (solve(a) as Tensor).item();
    expect(Math.abs(x - Math.cos(x) / 2)).toBeLessThan(1e-10);
    const expected = -(x / 2) / (1 + Math.sin(x) / 2);
    expect((grad(solve)(a) as Tensor).item()).toBeCloseTo(expected, 8);
  }));
});
