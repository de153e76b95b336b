// vmap against a JS loop over the batch: each mapped result equals stacking f on each example.
import { describe, expect, it } from 'vitest';
import {
  ArgumentError, ShapeError, array, cond, exp, fori, grad, greater, hessian, jit, jvp, matmul, memory, mul, sin, stack, sum, tidy, transpose, vmap, type Tensor,
} from '../src/index.js';

const rows = (m: number[][]) => m.map((r) => array(r));
const expectClose = (a: Tensor, b: Tensor, digits = 12) => {
  expect(a.shape).toEqual(b.shape);
  const x = Array.from(a.data());
  const y = Array.from(b.data());
  x.forEach((v, i) => expect(v).toBeCloseTo(y[i], digits));
};
const X = [[0.3, -1.2, 0.7], [1.1, 0.4, -0.5], [-0.8, 0.9, 0.2], [0.5, 0.5, -1.5]];
const W = [0.7, -0.3, 1.4];
const loss = (w: Tensor, x: Tensor) => sum(mul(sin(mul(w, x)), x));

describe('vmap: mapping over a batch axis', () => {
  it('equals stacking f over the examples along axis 0', () => {
    tidy(() => {
      const f = (x: Tensor) => mul(exp(x), sum(x));
      expectClose(vmap(f)(array(X)), stack(rows(X).map(f)));
    });
  });

  it('maps a matmul over a batch of matrices', () => {
    tidy(() => {
      const A = [[[1, 2], [3, 4]], [[0.5, -1], [2, 0]], [[-3, 1], [1, 1]]];
      const b = array([[0.2, -0.7], [1.5, 0.3]]);
      const f = (a: Tensor) => matmul(a, b);
      expectClose(vmap(f)(array(A)), stack(A.map((a) => f(array(a)))));
    });
  });

  it('passes inAxes null arguments whole to every example', () => {
    tidy(() => {
      const w = array(W);
      const got = vmap(loss, { inAxes: [null, 0] })(w, array(X));
      expectClose(got, stack(rows(X).map((x) => loss(w, x))));
    });
  });

  it('maps over a negative in axis and places the batch at outAxes', () => {
    tidy(() => {
      const xt = transpose(array(X)); // [3, 4]: examples along the last axis
      const f = (x: Tensor) => mul(x, 2);
      const got = vmap(f, { inAxes: -1, outAxes: 1 })(xt);
      expectClose(got, stack(rows(X).map(f), 1));
    });
  });

  it('takes an inAxes tree matching an object argument and maps a tree result', () => {
    tidy(() => {
      const w = array(W);
      const f = (p: { w: Tensor; x: Tensor }) => ({ y: mul(p.w, p.x), s: sum(p.x) });
      const got = vmap(f, { inAxes: [{ w: null, x: 0 }] })({ w, x: array(X) });
      expectClose(got.y, stack(rows(X).map((x) => mul(w, x))));
      expectClose(got.s, stack(rows(X).map((x) => sum(x))));
    });
  });

  it('nests: vmap(vmap(f)) maps over two axes', () => {
    tidy(() => {
      const B = [X, X.map((r) => r.map((v) => v * 2))];
      const f = (x: Tensor) => mul(sin(x), x);
      expectClose(vmap(vmap(f))(array(B)), f(array(B)));
    });
  });

  it('returns memory to its baseline', () => {
    const before = memory().bytesInUse;
    const x = array(X);
    const y = vmap((r: Tensor) => mul(r, r))(x);
    y.dispose();
    x.dispose();
    expect(memory().bytesInUse).toBe(before);
  });
});

describe('vmap: composition with transforms', () => {
  it('vmap(grad(f)) gives per-example gradients', () => {
    tidy(() => {
      const w = array(W);
      const g = vmap(grad(loss), { inAxes: [null, 0] })(w, array(X));
      expectClose(g, stack(rows(X).map((x) => grad(loss)(w, x))));
    });
  });

  it('grad(vmap(f)) differentiates through the mapped function', () => {
    tidy(() => {
      const w = array(W);
      const total = (ww: Tensor) => sum(vmap(loss, { inAxes: [null, 0] })(ww, array(X)));
      const loop = (ww: Tensor) => rows(X).map((x) => loss(ww, x)).reduce((a, b) => a.add(b) as Tensor);
      expectClose(grad(total)(w), grad(loop)(w));
    });
  });

  it('jvp(vmap(f)) equals the stacked per-example jvps', () => {
    tidy(() => {
      const f = (x: Tensor) => mul(sin(x), sum(x));
      const t = array(X.map((r) => r.map((v) => 1 - v)));
      const [y, dy] = jvp(vmap(f), [array(X)], [t]);
      const per = rows(X).map((x, i) => jvp(f, [x], [array(X[i].map((v) => 1 - v))]));
      expectClose(y as Tensor, stack(per.map((p) => p[0] as Tensor)));
      expectClose(dy as Tensor, stack(per.map((p) => p[1] as Tensor)));
    });
  });

  it('vmap(jvp(f)) maps a forward derivative over primals and tangents', () => {
    tidy(() => {
      const f = (x: Tensor) => exp(mul(x, x));
      const fj = (x: Tensor, t: Tensor) => jvp(f, [x], [t])[1] as Tensor;
      const T = X.map((r) => r.map((v) => v + 0.5));
      expectClose(vmap(fj)(array(X), array(T)), stack(X.map((x, i) => fj(array(x), array(T[i])))));
    });
  });

  it('vmap(jit(f)) and jit(vmap(f)) equal the loop', () => {
    tidy(() => {
      const f = (x: Tensor) => mul(sin(x), sum(x));
      const ref = stack(rows(X).map(f));
      expectClose(vmap(jit(f) as (x: Tensor) => Tensor)(array(X)), ref);
      expectClose(jit(vmap(f)) (array(X)) as Tensor, ref);
    });
  });

  it('vmap(jit(f)) with a loop and a branch in the program', () => {
    tidy(() => {
      const f = (x: Tensor) => {
        const y = fori(0, 2, (_i, c: Tensor) => mul(c, 1.5), x);
        return cond(greater(sum(y), 0), (a) => exp(a), (a) => mul(a, -1), y);
      };
      const jf = jit(f);
      expectClose(vmap(jf)(array(X)), stack(rows(X).map(f)));
      expectClose(vmap(jf)(array(X)), stack(rows(X).map(f)));
      expect(jf.stats().traces).toBe(1);
    });
  });

  it('vmap(hessian(f)) gives per-example Hessians', () => {
    tidy(() => {
      const f = (x: Tensor) => sum(mul(sin(x), x));
      const got = vmap(hessian(f) as (x: Tensor) => Tensor)(array(X));
      expectClose(got, stack(rows(X).map((x) => hessian(f)(x) as Tensor)));
    });
  });
});

describe('vmap: bad input', () => {
  it('names the arguments and sizes when mapped sizes disagree', () => {
    tidy(() => {
      const call = () => vmap((a: Tensor, b: Tensor) => mul(a, b))(array(X), array([[1, 2, 3]]));
      expect(call).toThrow(ShapeError);
      expect(call).toThrow(/leaf 0 of shape \[4, 3\] has size 4 on axis 0; leaf 1 of shape \[1, 3\] has size 1/);
    });
  });

  it('refuses an inAxes array whose length differs from the arguments', () => {
    tidy(() => {
      expect(() => vmap(loss, { inAxes: [0] })(array(W), array(X))).toThrow(/inAxes has 1 entries but the function was called with 2 arguments/);
    });
  });

  it('refuses an inAxes tree that does not match the argument', () => {
    tidy(() => {
      const call = () => vmap((p: { x: Tensor }) => p.x, { inAxes: [{ y: 0 }] })({ x: array(X) });
      expect(call).toThrow(ArgumentError);
      expect(call).toThrow(/inAxes\[0\] has keys \{y\}/);
    });
  });

  it('refuses a non-integer axis and calls with nothing mapped', () => {
    tidy(() => {
      expect(() => vmap(loss, { inAxes: 0.5 })).toThrow(ArgumentError);
      expect(() => vmap(loss, { inAxes: null })(array(W), array(X))).toThrow(/no argument is mapped/);
    });
  });

  it('refuses an axis out of range for the argument', () => {
    tidy(() => {
      expect(() => vmap((x: Tensor) => x, { inAxes: 2 })(array(X))).toThrow(/axis 2 is out of range/);
    });
  });
});
