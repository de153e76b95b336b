// Loops under jit(jvp(f)) stay one loop equation whose carry holds the tangents too (the
// forward rule of whileLoop, fori and scan, src/checkpoint/forward-loops.ts). Each result is
// checked against eager jvp (which runs the loop step by step on dual numbers), against a
// closed form or central differences, and forward against reverse where the output is a scalar.
// A jitted function keeps its program, so memory is checked per call in the steady state.
import { describe, expect, it } from 'vitest';
import {
  add, array, astype, fori, grad, jacfwd, jit, jvp, less, memory, mul, odeint, scalar, scan, sin, sum, tidy, whileLoop, type Tensor,
} from './helpers/api.js';
import { expectClose } from './helpers/check.js';

/** Steady memory over repeated calls of a jitted function that holds its program. */
function expectSteady(call: () => Tensor[]): void {
  call().forEach((t) => t.dispose());
  const before = memory().bytesInUse;
  for (let i = 0; i < 5; i++) call().forEach((t) => t.dispose());
  expect(memory().bytesInUse).toBe(before);
}

const count = (text: string, word: string) => text.split('\n').filter((l) => new RegExp(`\\b${word}\\b`).test(l)).length;

/** Central difference of a scalar-to-scalar JS function. */
const central = (f: (x: number) => number, x: number, h = 1e-6) => (f(x + h) - f(x - h)) / (2 * h);

// Grows v by a factor until it passes the limit: the trip count depends on the input.
const growth = (x: Tensor, a: Tensor) => whileLoop(([, v]: Tensor[]) => less(v, 100), ([i, v]: Tensor[]) => [add(i, 1), mul(v, a)], [scalar(0), x]);

describe('whileLoop under jit(jvp(f))', () => {
  it('runs the data-dependent trip count and gives the tangent of the final carry', () => {
    tidy(() => {
      // From x = 2 and a = 1.5 the loop stops after 10 steps: v = x a^10, dv/dx = a^10.
      const f = jit((x: Tensor, t: Tensor) => jvp((y: Tensor) => growth(y, scalar(1.5))[1], [x], [t]));
      const [v, dv] = f(scalar(2), scalar(1));
      expectClose(v.item(), 2 * 1.5 ** 10);
      expectClose(dv.item(), 1.5 ** 10);
      const [ev, edv] = jvp((y: Tensor) => growth(y, scalar(1.5))[1], [scalar(2)], [scalar(1)]);
      expect(v.item()).toBe(ev.item());
      expect(dv.item()).toBe(edv.item());
    });
  });

  it('is one whileLoop equation in the jitted program, not an error or an unrolled loop', () => {
    tidy(() => {
      const f = jit((x: Tensor, t: Tensor) => jvp((y: Tensor) => growth(y, scalar(1.5))[1], [x], [t]));
      expect(count(f.program(scalar(2), scalar(1)).toString(), 'whileLoop')).toBe(1);
    });
  });

  it('differentiates through a closed-over value that has a tangent (the factor a)', () => {
    tidy(() => {
      // v = 2 a^n with n fixed by the primal: dv/da = 2 n a^(n-1) = 2 * 10 * 1.5^9.
      const f = jit((a: Tensor, t: Tensor) => jvp((b: Tensor) => growth(scalar(2), b)[1], [a], [t]));
      const [, dv] = f(scalar(1.5), scalar(1));
      expectClose(dv.item(), 2 * 10 * 1.5 ** 9);
      const plain = (a: number) => { let v = 2; while (v < 100) v *= a; return v; };
      // The step count is locally constant, so a small central difference agrees.
      expectClose(dv.item(), central(plain, 1.5), 1e-7);
    });
  });

  it('keeps an int32 counter a constant carry (no tangent) and counts the steps', () => {
    tidy(() => {
      const g = (x: Tensor) => whileLoop(([, v]: Tensor[]) => less(v, 10), ([i, v]: Tensor[]) => [add(i, scalar(1, { dtype: 'int32' })), mul(v, 3)],
        [scalar(0, { dtype: 'int32' }), x]);
      const f = jit((x: Tensor, t: Tensor) => jvp((y: Tensor) => { const [i, v] = g(y); return [astype(i, 'float64'), v]; }, [x], [t]));
      const [[n, v], [dn, dv]] = f(scalar(0.5), scalar(1)) as unknown as [Tensor[], Tensor[]];
      expect(n.item()).toBe(3); // 0.5 -> 1.5 -> 4.5 -> 13.5
      expectClose(v.item(), 0.5 * 3 ** 3);
      expect(dn.item()).toBe(0);
      expectClose(dv.item(), 27);
    });
  });

  it('has steady memory across calls', () => {
    tidy(() => {
      const f = jit((x: Tensor, t: Tensor) => jvp((y: Tensor) => growth(y, scalar(1.5))[1], [x], [t]));
      const x = scalar(2), t = scalar(1);
      expectSteady(() => f(x, t));
    });
  });
});

describe('fori under jit(jvp(f))', () => {
  // x_{k+1} = sin(x_k) * w + i: a closed-over w and the counter in the body.
  const loop = (x: Tensor, w: Tensor) => fori(0, 30, (i: Tensor, c: Tensor) => add(mul(sin(c), w), mul(i, 0.01)), x);

  it('equals eager jvp and is one fori equation', () => {
    tidy(() => {
      const f = jit((x: Tensor, w: Tensor, tx: Tensor, tw: Tensor) => jvp(loop, [x, w], [tx, tw]));
      const args = [array([0.3, -1.2]), array([0.9, 1.1]), array([1, 0.5]), array([-0.25, 2])] as const;
      const [y, dy] = f(...args);
      const [ey, edy] = jvp(loop, [args[0], args[1]], [args[2], args[3]]);
      expectClose(y.data(), ey.data());
      expectClose(dy.data(), edy.data());
      const text = f.program(...args).toString();
      expect(count(text, 'fori')).toBe(1);
      expect(count(text, 'sin')).toBeLessThanOrEqual(1);
    });
  });

  it('jit(jacfwd(f)) pushes a chunk of tangents through one loop and matches jacfwd and reverse mode', () => {
    tidy(() => {
      const x = array([0.3, -1.2, 0.7]), w = array([0.9, 1.1, 0.8]);
      const jac = jit((z: Tensor) => jacfwd((u: Tensor) => loop(u, w))(z));
      const J = jac(x);
      expect(count(jac.program(x).toString(), 'fori')).toBe(1);
      const eager = jacfwd((u: Tensor) => loop(u, w))(x);
      expectClose(J.data(), eager.data());
      // Forward against reverse: the gradient of the sum is the Jacobian's column sums.
      const g = grad((u: Tensor) => sum(loop(u, w)))(x).data();
      const Jd = J.data();
      for (let j = 0; j < 3; j++) expectClose(Jd[j] + Jd[3 + j] + Jd[6 + j], g[j], 1e-10);
    });
  });
});

describe('scan under jit(jvp(f))', () => {
  // h_{t+1} = sin(h_t * w + x_t), y_t = h_t^2: tangents through the carry, the sequence and ys.
  const run = (h0: Tensor, w: Tensor, xs: Tensor) => scan((h: Tensor, x: Tensor) => {
    const n = sin(add(mul(h, w), x));
    return [n, mul(n, n)] as [Tensor, Tensor];
  }, h0, xs);

  it('equals eager jvp for tangents in the carry, a closed-over value and the sequence, and is one scan equation', () => {
    tidy(() => {
      const h0 = array([0.1, 0.2]), w = array([0.7, -0.4]), xs = array([[0.5, 0.1], [-0.3, 0.2], [0.9, -0.8], [0.05, 0.4]]);
      const th = array([1, -1]), tw = array([0.3, 0.2]), tx = array([[1, 0], [0, 1], [0.5, 0.5], [-1, 2]]);
      const f = jit((a: Tensor, b: Tensor, c: Tensor, ta: Tensor, tb: Tensor, tc: Tensor) => jvp(run, [a, b, c], [ta, tb, tc]));
      const [[h, ys], [dh, dys]] = f(h0, w, xs, th, tw, tx) as unknown as [Tensor[], Tensor[]];
      const [[eh, eys], [edh, edys]] = jvp(run, [h0, w, xs], [th, tw, tx]) as unknown as [Tensor[], Tensor[]];
      expectClose(h.data(), eh.data());
      expectClose(ys.data(), eys.data());
      expectClose(dh.data(), edh.data());
      expectClose(dys.data(), edys.data());
      expect(dys.shape).toEqual([4, 2]);
      expect(count(f.program(h0, w, xs, th, tw, tx).toString(), 'scan')).toBe(1);
    });
  });

  it('gives zero tangents where nothing is differentiated (only the sequence has one)', () => {
    tidy(() => {
      const h0 = array([0.1]), w = array([0.7]), xs = array([[0.5], [-0.3]]);
      const f = jit((c: Tensor, tc: Tensor) => jvp((s: Tensor) => run(h0, w, s)[0], [c], [tc]));
      const [, dh] = f(xs, array([[0], [1]]));
      // Only x_1 moves: dh = cos(h_1 w + x_1) * 1.
      const h1 = Math.sin(0.1 * 0.7 + 0.5);
      expectClose(dh.item(), Math.cos(h1 * 0.7 - 0.3));
    });
  });
});

describe('odeint under jit(jvp(f))', () => {
  it('equals eager jvp and the closed form of exponential decay', () => {
    tidy(() => {
      const decay = (y0: Tensor, k: Tensor) => odeint((y: Tensor, _t: Tensor, p: Tensor) => mul(y, p), y0, array([0, 1, 2]), k, { rtol: 1e-10, atol: 1e-12 });
      const f = jit((y0: Tensor, k: Tensor, ty: Tensor, tk: Tensor) => jvp(decay, [y0, k], [ty, tk]));
      const [ys, dys] = f(array([1, 2]), scalar(-0.5), array([1, 0]), scalar(1));
      const [eys, edys] = jvp(decay, [array([1, 2]), scalar(-0.5)], [array([1, 0]), scalar(1)]);
      expectClose(ys.data(), eys.data(), 1e-12);
      expectClose(dys.data(), edys.data(), 1e-9);
      // y(t) = y0 e^{kt}: dy = e^{kt} dy0 + t y0 e^{kt} dk.
      const d = dys.data();
      [0, 1, 2].forEach((t, r) => [1, 2].forEach((y0, c) => expectClose(d[r * 2 + c], Math.exp(-0.5 * t) * ((c === 0 ? 1 : 0) + t * y0), 1e-7)));
    });
  });
});
