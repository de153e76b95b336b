// Shared by the whileLoop reverse-mode tests: a leapfrog-like pendulum with carry [k, x, v]
// (x and v vectors) and a parameter p the body closes over, run by whileLoop or unrolled in JS.
import { add, array, grad, less, mul, scalar, sin, sub, sum, tidy, whileLoop, type LoopOptions, type Tensor } from './api.js';
import { expectClose } from './check.js';

export type State = [Tensor, Tensor, Tensor];

/** Body calls since the last reset. */
export const counter = { calls: 0 };
const h = 0.01;

export const stepOf = (p: Tensor) => ([k, x, v]: State): State => {
  counter.calls++;
  const v1 = sub(v, mul(sin(x), mul(p, h)));
  return [add(k, 1), add(x, mul(v1, h)), v1];
};

export const loss = ([, x, v]: State) => add(sum(mul(x, x)), sum(mul(v, array([1, 2, 3]))));

/** The loop run by whileLoop until k reaches n. */
export const looped = (n: number, options: LoopOptions) => (x0: Tensor, v0: Tensor, p: Tensor) =>
  loss(whileLoop(([k]: State) => less(k, n), stepOf(p), [scalar(0), x0, v0] as State, options));

/** The same loop unrolled in JS, taped step by step. */
export const unrolled = (n: number) => (x0: Tensor, v0: Tensor, p: Tensor) => {
  let s: State = [scalar(0), x0, v0];
  for (let i = 0; i < n; i++) s = stepOf(p)(s);
  return loss(s);
};

export const x0 = array([0.3, -0.2, 1.1]);
export const v0 = array([0.1, 0.5, -0.4]);
export const p0 = array(2.5);

/** The gradients of g(x0, v0, p0) with respect to all three, as arrays. */
export function gradientsOf(g: (x: Tensor, v: Tensor, p: Tensor) => unknown): number[][] {
  return tidy(() => (g(x0, v0, p0) as Tensor[]).map((t) => Array.from(t.data())));
}

export function gradients(f: (x: Tensor, v: Tensor, p: Tensor) => Tensor): number[][] {
  return gradientsOf(grad(f, { argnums: [0, 1, 2] }));
}

export function expectSame(a: number[][], b: number[][]): void {
  a.forEach((g, i) => expectClose(g, b[i], 1e-11, 1e-13));
}
