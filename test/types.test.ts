// Typed transforms. These tests are compiled by tsc (npm run typecheck covers test/): each
// expectTypeOf states a type, and each `// @ts-expect-error` line must fail to compile (tsc
// reports an unused directive otherwise). The calls also run, so the types describe what the
// functions really return.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  array, finiteDiff, grad, hessian, hvp, jacfwd, jacobian, jacrev, jvp, scan, scalar, sum, tanh, tidy, valueAndGrad, vjp,
  type Tensor,
} from './helpers/api.js';

type Params = { W: Tensor; b: Tensor };
interface Layer { weight: Tensor; bias: Tensor }

const loss = (p: Params) => sum(tanh(p.W.mul(2).add(p.b)));
const mk = (): Params => ({ W: array([0.5, -1]), b: array([0.1, 0.2]) });

describe('grad', () => {
  it('gives the gradient the argument tree type; a misspelt key does not compile', () => tidy(() => {
    const g = grad(loss)(mk());
    expectTypeOf(g).toEqualTypeOf<{ W: Tensor; b: Tensor }>();
    // @ts-expect-error Wtypo is not a key of the gradient
    void g.Wtypo;
    expect(g.W.shape).toEqual([2]);
  }));

  it('works with interfaces as well as type literals', () => tidy(() => {
    const g = grad((l: Layer) => sum(l.weight.mul(l.bias)))({ weight: array([1, 2]), bias: array([3, 4]) });
    expectTypeOf(g).toEqualTypeOf<{ weight: Tensor; bias: Tensor }>();
    expect(g.weight.toArray()).toEqual([3, 4]);
  }));

  it('takes f\'s parameters: a missing argument does not compile', () => {
    const f = (x: Tensor) => sum(x);
    // @ts-expect-error f takes one argument
    expect(() => grad(f)()).toThrow(/argnums/);
  });

  it('refuses a function whose differentiated argument is not a tree', () => {
    const x = scalar(1);
    // @ts-expect-error a string cannot be differentiated
    expect(() => grad((s: string) => s.length)(x)).toThrow();
    // @ts-expect-error the function receives a tensor, not a number
    expect(() => grad((n: number) => n * 2)(2)).toThrow();
    x.dispose();
  });

  it('accepts plain numbers where f takes tensors, and gives tensors back', () => {
    const g = grad((x: Tensor) => x.mul(x))(3);
    expectTypeOf(g).toEqualTypeOf<Tensor>();
    expect(g.item()).toBe(6);
  });

  it('gives a tuple for an argnums array, in argument order', () => tidy(() => {
    const f = (x: Tensor, p: Params, scale: number) => sum(p.W.mul(x).mul(scale));
    const [gx, gp] = grad(f, { argnums: [0, 1] })(array([1, 2]), mk(), 3);
    expectTypeOf(gx).toEqualTypeOf<Tensor>();
    expectTypeOf(gp).toEqualTypeOf<{ W: Tensor; b: Tensor }>();
    const gp2 = grad(f, { argnums: 1 })(array([1, 2]), mk(), 3);
    expectTypeOf(gp2).toEqualTypeOf<{ W: Tensor; b: Tensor }>();
    expect(gx.toArray()).toEqual([1.5, -3]);
  }));

  it('a non-differentiated argument keeps its own type, which need not be a tree', () => {
    const f = (x: Tensor, label: string) => x.mul(label.length);
    expect(grad(f)(1, 'abc').item()).toBe(3);
    // @ts-expect-error label is a string
    void (() => grad(f)(1, 2));
  });

  it('types the aux with hasAux', () => tidy(() => {
    const f = (x: Tensor) => [sum(x.mul(x)), { double: x.mul(2), count: 2 }] as const;
    const [g, aux] = grad(f, { hasAux: true })(array([1, 2]));
    expectTypeOf(g).toEqualTypeOf<Tensor>();
    expectTypeOf(aux.double).toEqualTypeOf<Tensor>();
    expectTypeOf(aux.count).toEqualTypeOf<2>();
    const [[value, aux2], g2] = valueAndGrad(f, { hasAux: true })(array([1, 2]));
    expectTypeOf(value).toEqualTypeOf<Tensor>();
    expectTypeOf(aux2.double).toEqualTypeOf<Tensor>();
    expectTypeOf(g2).toEqualTypeOf<Tensor>();
    expect(aux.double.toArray()).toEqual([2, 4]);
  }));

  it('refuses a function that does not return a scalar', () => {
    // @ts-expect-error grad needs a Tensor or number result
    expect(() => grad((x: Tensor) => 'loss')(1)).toThrow(/must return a scalar/);
  });

  it('leaves untyped (JavaScript-style) functions usable', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const g = grad((x: any) => x.mul(x))(2);
    expectTypeOf(g).toBeAny();
    expect(g.item()).toBe(4);
  });
});

describe('valueAndGrad', () => {
  it('gives [Tensor, gradient tree]', () => tidy(() => {
    const [value, g] = valueAndGrad(loss)(mk());
    expectTypeOf(value).toEqualTypeOf<Tensor>();
    expectTypeOf(g).toEqualTypeOf<{ W: Tensor; b: Tensor }>();
    // @ts-expect-error no such key
    void g.c;
    expect(value.shape).toEqual([]);
  }));
});

describe('vjp and jvp', () => {
  it('vjp: the value has f\'s output type and the pullback gives one gradient per primal', () => tidy(() => {
    const f = (x: Tensor, p: Params) => ({ y: p.W.mul(x), z: [sum(x)] as [Tensor] });
    const [out, pullback] = vjp(f, array([1, 2]), mk());
    expectTypeOf(out).toEqualTypeOf<{ y: Tensor; z: [Tensor] }>();
    const [gx, gp] = pullback({ y: array([1, 1]), z: [1] });
    expectTypeOf(gx).toEqualTypeOf<Tensor>();
    expectTypeOf(gp).toEqualTypeOf<{ W: Tensor; b: Tensor }>();
    // @ts-expect-error the cotangent must have the output's structure
    void (() => pullback({ y: array([1, 1]) }));
    expect(gx.toArray()).toEqual([1.5, 0]);
  }));

  it('jvp: primals and tangents follow f\'s parameters, outputs its result', () => tidy(() => {
    const f = (x: Tensor, p: Params) => [p.W.mul(x), sum(x)] as const;
    const [y, dy] = jvp(f, [array([1, 2]), mk()], [array([1, 0]), { W: array([0, 0]), b: array([0, 0]) }]);
    expectTypeOf(y).toEqualTypeOf<[Tensor, Tensor]>();
    expectTypeOf(dy).toEqualTypeOf<[Tensor, Tensor]>();
    // @ts-expect-error the tangent tree lacks b
    void (() => jvp(f, [array([1, 2]), mk()], [array([1, 0]), { W: array([0, 0]) }]));
    expect(dy[1].item()).toBe(1);
  }));
});

describe('Jacobians and Hessians', () => {
  const f = (p: Params) => ({ out: p.W.mul(p.b) });

  it('jacfwd, jacrev and jacobian map each output leaf to the argument\'s tree', () => tidy(() => {
    for (const J of [jacfwd(f), jacrev(f), jacobian(f)]) {
      const j = J(mk());
      expectTypeOf(j).toEqualTypeOf<{ out: { W: Tensor; b: Tensor } }>();
      expect(j.out.W.shape).toEqual([2, 2]);
    }
    const two = jacrev((x: Tensor, y: Tensor) => x.mul(y), { argnums: [0, 1] })(array([1, 2]), array([3, 4]));
    expectTypeOf(two).toEqualTypeOf<[Tensor, Tensor]>();
  }));

  it('hessian is the gradient tree of gradient trees', () => tidy(() => {
    const h = hessian(loss)(mk());
    expectTypeOf(h).toEqualTypeOf<{ W: { W: Tensor; b: Tensor }; b: { W: Tensor; b: Tensor } }>();
    expect(h.W.b.shape).toEqual([2, 2]);
  }));

  it('hvp gives one tree per primal', () => tidy(() => {
    const [hv] = hvp(loss, [mk()], [mk()]);
    expectTypeOf(hv).toEqualTypeOf<{ W: Tensor; b: Tensor }>();
    expect(hv.W.shape).toEqual([2]);
  }));

  it('finiteDiff: one tree per argument, or the argnums selection', () => tidy(() => {
    const all = finiteDiff((x: Tensor, p: Params) => sum(p.W.mul(x)), [array([1, 2]), mk()]);
    expectTypeOf(all).toEqualTypeOf<[Tensor, { W: Tensor; b: Tensor }]>();
    const one = finiteDiff((x: Tensor, p: Params) => sum(p.W.mul(x)), [array([1, 2]), mk()], { argnums: 1 });
    expectTypeOf(one).toEqualTypeOf<{ W: Tensor; b: Tensor }>();
    expect(one.b.toArray()).toEqual([0, 0]);
  }));
});

describe('scan', () => {
  it('accepts a step that returns a readonly tuple', () => tidy(() => {
    const [h, ys] = scan((carry: Tensor, x: Tensor) => [carry.add(x), carry] as const, scalar(0), array([1, 2, 3]));
    expectTypeOf(h).toEqualTypeOf<Tensor>();
    expectTypeOf(ys).toEqualTypeOf<Tensor>();
    expect(h.item()).toBe(6);
  }));
});
