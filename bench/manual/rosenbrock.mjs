// Hand-written scalar Rosenbrock f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 and its gradient: the
// same functions the jit suite times (bench/suites/jit-plain.mjs, derivation there), re-exported
// so that every workload of the field suite has its manual baseline under bench/manual/.
export { rosenbrockPlain as rosenbrock, rosenbrockPlainGrad as rosenbrockGrad } from '../suites/jit-plain.mjs';

/** The value, with the gradient written into `grad` (length 2): one call for both. */
export function rosenbrockValueAndGrad(x, y, grad) {
  const r = y - x * x;
  grad[0] = -2 * (1 - x) - 400 * x * r;
  grad[1] = 200 * r;
  return (1 - x) * (1 - x) + 100 * r * r;
}
