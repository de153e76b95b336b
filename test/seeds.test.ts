// The worked examples of the seed tutorials (../shared/seeds), reproduced on dualtape. Where a
// seed prints float32 results (JAX's default) we compare at float32 precision; where a seed
// slips, the test states the mathematics and checks that instead.
import { describe, expect, it } from 'vitest';
import {
  array, cos, customJvp, customVjp, dot, exp, grad, hvp, jacfwd, jacrev, jvp, log, mul, pow, sin, sub, sum, tanh, vjp,
  valueAndGrad, type Tensor,
} from './helpers/api.js';
import { expectClose } from './helpers/check.js';

describe('seed 004: torch and JAX first examples', () => {
  it('tanh\'(2) = 0.0707 (JAX prints 0.070650816)', () => {
    const g = grad((x: Tensor) => tanh(x))(2) as Tensor;
    expectClose(g.item(), 0.070650816, 3e-7); // JAX computes in float32
    expect(g.item().toFixed(4)).toBe('0.0707');
  });

  it('f(x) = x^3 + 2x^2 - 3x + 1 has f\'(1) = 4', () => {
    const f = (x: Tensor) => pow(x, 3).add(mul(2, pow(x, 2))).sub(mul(3, x)).add(1);
    expect((grad(f)(1) as Tensor).item()).toBe(4);
  });

  it('f(x, y) = x^3 + 2 y0^2 - 3 y1 + 1 at x = 1, y = [2, 3] gives 3 and [8, -3]', () => {
    const f = (x: Tensor, y: Tensor) => {
      const y0 = y.slice([0], [1]).reshape([]);
      const y1 = y.slice([1], [1]).reshape([]);
      return pow(x, 3).add(mul(2, pow(y0, 2))).sub(mul(3, y1)).add(1);
    };
    const [gx, gy] = grad(f, { argnums: [0, 1] })(1, array([2, 3])) as Tensor[];
    expect(gx.item()).toBe(3);
    expect(gy.toArray()).toEqual([8, -3]);
  });

  it('custom_jvp sin(x) * y gives 2.7278922 and tangent -1.2484405 at (2, 3) along (1, 0)', () => {
    const f = customJvp(
      (x, y) => sin(x).mul(y),
      ([x, y], [dx, dy]) => [sin(x).mul(y), cos(x).mul(dx).mul(y).add(sin(x).mul(dy))],
    );
    // JAX prints float32 values to 8 digits: agreement to float32 precision.
    expectClose(f(2, 3).item(), 2.7278922, 1e-7);
    const [y, dy] = jvp(f, [2, 3], [1, 0]) as [Tensor, Tensor];
    expectClose(y.item(), 2.7278922, 1e-7);
    expectClose(dy.item(), -1.2484405, 1e-7);
    expectClose(dy.item(), 3 * Math.cos(2), 1e-15);
  });

  // The seed's W, b and v come from JAX's PRNG, which dualtape does not reproduce. They are
  // recovered from the printed predictions instead: logit(y) = inputs W + b is four linear
  // equations in (W, b), and u = y (1 - y) (inputs v) gives v from three of its four rows.
  // The fourth row of u and the printed gradient of loss2 are then independent checks.
  const inputs = [[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.3], [0.74, -2.49, 1.39]];
  const targets = [1, 1, 0, 1];
  const yPrinted = [0.13262254, 0.952067, 0.6249393, 0.9980987];
  const uPrinted = [0.01893247, 0.06917656, -0.00554809, 0.00501772];
  const gradW = [-0.16965583, -0.8774644, -1.4901346];
  const gradB = -0.29227245;

  function solveDense(a: number[][], rhs: number[]): number[] {
    const n = rhs.length;
    const m = a.map((row, i) => [...row, rhs[i]]);
    for (let c = 0; c < n; c++) {
      let p = c;
      for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
      [m[c], m[p]] = [m[p], m[c]];
      for (let r = 0; r < n; r++) {
        if (r === c) continue;
        const f = m[r][c] / m[c][c];
        for (let j = c; j <= n; j++) m[r][j] -= f * m[c][j];
      }
    }
    return m.map((row, i) => row[n] / row[i]);
  }

  const logit = (p: number) => Math.log(p / (1 - p));
  const wb = solveDense(inputs.map((r) => [...r, 1]), yPrinted.map(logit));
  const W = array(wb.slice(0, 3));
  const b = array(wb[3]);
  const v = solveDense(inputs.slice(0, 3), uPrinted.slice(0, 3).map((u, i) => u / (yPrinted[i] * (1 - yPrinted[i]))));
  const X = array(inputs);
  const sigmoid = (x: Tensor) => mul(0.5, tanh(x.div(2)).add(1));
  const predict = (w: Tensor, bias: Tensor, xs: Tensor) => sigmoid(dot(xs, w).add(bias));

  it('jvp of predict along v reproduces the printed push-forward (all four rows)', () => {
    const [y, u] = jvp((w: Tensor) => predict(w, b, X), [W], [array(v)]) as [Tensor, Tensor];
    expectClose(y.data(), yPrinted, 1e-6);
    expectClose(u.data(), uPrinted, 2e-5);
  });

  it('grad(loss2)({W, b}) returns {W, b} with the printed gradient', () => {
    const loss2 = (params: { W: Tensor; b: Tensor }) => {
      const preds = predict(params.W, params.b, X);
      const t = array(targets);
      const labelProbs = preds.mul(t).add(sub(1, preds).mul(sub(1, t)));
      return sum(log(labelProbs)).neg();
    };
    const g = grad(loss2)({ W, b }) as { W: Tensor; b: Tensor };
    expect(Object.keys(g)).toEqual(['W', 'b']);
    expect(g.b.shape).toEqual([]);
    expectClose(g.W.data(), gradW, 1e-4);
    expectClose(g.b.item(), gradB, 1e-4);
  });
});

describe('seed 000: VJPs by hand and torch.autograd.Function', () => {
  const x = array([1, 2, 3]);
  const w = array([0.1, 0.2, 0.3]);
  const myFunction = (a: Tensor, c: Tensor) => dot(a, c);

  it('the vjp of my_function at u = 1 is (w, x), what the seed\'s vjp_x and vjp_w compute', () => {
    const [y, pullback] = vjp(myFunction, x, w);
    expectClose((y as Tensor).item(), 1.4, 1e-15);
    const [gx, gw] = pullback(1) as Tensor[];
    expectClose(gx.data(), [0.1, 0.2, 0.3], 1e-15);
    expectClose(gw.data(), [1, 2, 3], 1e-15);
  });

  // The seed seeds the chain with u_loss = ones, which is the derivative of y, not of
  // loss = sum(y^2). The chain rule needs dloss/dy = 2y = 2.8, so the gradient is 2.8 w and
  // 2.8 x; the seed's printed numbers are J^T 1, off by that factor.
  it('composing the vjps of loss and my_function gives the true gradient 2 y (w, x)', () => {
    const [y, pullF] = vjp(myFunction, x, w);
    const [, pullLoss] = vjp((t: Tensor) => sum(pow(t, 2)), y as Tensor);
    const [uLoss] = pullLoss(1) as Tensor[];
    expectClose(uLoss.item(), 2.8, 1e-15);
    const [gx, gw] = pullF(uLoss) as Tensor[];
    expectClose(gx.data(), [0.28, 0.56, 0.84], 1e-14);
    expectClose(gw.data(), [2.8, 5.6, 8.4], 1e-14);
    const direct = grad((a: Tensor, c: Tensor) => sum(pow(myFunction(a, c), 2)), { argnums: [0, 1] })(x, w) as Tensor[];
    expectClose(direct[0].data(), gx.data(), 1e-15);
    expectClose(direct[1].data(), gw.data(), 1e-15);
  });

  it('the Exp function (save the result in forward, multiply in backward) as customVjp', () => {
    let backwardCalls = 0;
    const myExp = customVjp(
      (t) => exp(t),
      (t) => {
        const result = exp(t);
        return [result, result];
      },
      (result, gradOutput) => {
        backwardCalls++;
        return [gradOutput.mul(result)];
      },
    );
    const input = array([0, 1, -2]);
    const [value, g] = valueAndGrad((t: Tensor) => sum(myExp(t)))(input) as [Tensor, Tensor];
    expectClose(value.item(), 1 + Math.E + Math.exp(-2), 1e-15);
    expectClose(g.data(), [1, Math.E, Math.exp(-2)], 1e-15);
    expect(backwardCalls).toBe(1);
  });
});

describe('seed 002: reverse mode on the logistic map', () => {
  const f = (x: Tensor) => {
    let y = x;
    for (let i = 0; i < 3; i++) y = mul(4, y).mul(sub(1, y));
    return y;
  };
  it('the derivative of 3 iterations of 4x(1-x) is the product of 4 - 8 x_i', () => {
    const x0 = 0.3;
    let x = x0;
    let d = 1;
    for (let i = 0; i < 3; i++) {
      d *= 4 - 8 * x;
      x = 4 * x * (1 - x);
    }
    expectClose((grad(f)(x0) as Tensor).item(), d, 1e-13);
    const [, forward] = jvp(f, [x0], [1]) as [Tensor, Tensor];
    expectClose(forward.item(), d, 1e-13);
  });

  it('jacfwd and jacrev of a vector map agree', () => {
    const xs = array([0.1, 0.25, 0.7]);
    expectClose((jacfwd(f)(xs) as Tensor).data(), (jacrev(f)(xs) as Tensor).data(), 1e-14);
  });
});

describe('seed 003: Hessian-vector products', () => {
  it('hvp(f, x, v) = grad(x -> <grad f(x), v>)(x) without forming the Hessian', () => {
    const f = (x: Tensor) => sum(pow(x, 3)).add(sum(sin(x)));
    const x = array([0.5, -1, 2]);
    const v = array([1, 2, -1]);
    const [h] = hvp(f, [x], [v]) as Tensor[];
    // Closed form: H = diag(6x - sin x).
    const expected = [0.5, -1, 2].map((xi, i) => (6 * xi - Math.sin(xi)) * [1, 2, -1][i]);
    expectClose(h.data(), expected, 1e-13);
    const viaGrad = grad((y: Tensor) => dot(grad(f)(y) as Tensor, v))(x) as Tensor;
    expectClose(viaGrad.data(), expected, 1e-13);
  });
});
