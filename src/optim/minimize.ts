// minimize(f, x0, {method}): unconstrained minimization of a scalar function of a parameter
// tree. The line-search methods (L-BFGS, BFGS, CG) work on the tree as one float64 vector;
// Adam and SGD step the tree's tensors with the optimizers. Either way every evaluation runs
// in a scope of its own, so a fit allocates only its result.
import { ArgumentError } from '../errors.js';
import { array } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { toTensor } from '../ops/convert.js';
import { flatten, rebuild } from '../tree.js';
import { valueAndGrad } from '../transforms/grad.js';
import { scoped } from '../transforms/util.js';
import type { Scalar, Tensors, TreeArgs } from '../transforms/types.js';
import { Objective, maxAbs } from './objective.js';
import { adam, sgd, type LearningRate } from './optimizers.js';
import { MESSAGES, bfgs, cg, lbfgs, type VectorProblem, type VectorResult } from './quasi-newton.js';

export type MinimizeMethod = 'lbfgs' | 'bfgs' | 'cg' | 'adam' | 'sgd';

/** What the callback sees after each iteration. `x` is freed when the callback returns. */
export interface MinimizeProgress<X> {
  iteration: number;
  x: X;
  fun: number;
  /** The largest gradient component, |g|_inf. */
  gradNorm: number;
}

export interface MinimizeOptions<X = unknown> {
  /** 'lbfgs' (default), 'bfgs', 'cg', 'adam' or 'sgd'. */
  method?: MinimizeMethod;
  /** Converged when the largest gradient component is <= tol (default 1e-5, as scipy's gtol). */
  tol?: number;
  /** Iteration limit (default 10,000). */
  maxIter?: number;
  /** Called after each iteration; returning true stops the run. */
  callback?: (progress: MinimizeProgress<X>) => boolean | void;
  /** L-BFGS: curvature pairs kept (default 10, as scipy). */
  memory?: number;
  /** Adam (default 1e-3) and SGD (required): the learning rate or a schedule. */
  learningRate?: LearningRate;
}

export interface MinimizeResult<X> {
  /** The minimizer found, as a tree like x0 (new tensors). */
  x: X;
  /** f(x). */
  fun: number;
  /** The gradient at x, as a tree like x0 (new tensors). */
  grad: X;
  iterations: number;
  /** Evaluations of f and its gradient. */
  evaluations: number;
  /** True when the gradient tolerance was met. */
  converged: boolean;
  message: string;
}

const METHODS: readonly MinimizeMethod[] = ['lbfgs', 'bfgs', 'cg', 'adam', 'sgd'];

function positiveInteger(op: string, what: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ArgumentError(`${op}: ${what} must be an integer >= 1, got ${String(value)}.`);
  return value;
}

/**
 * Minimizes a scalar function of a parameter tree (tensors, numbers, arrays and plain objects
 * of them), differentiating it with valueAndGrad. 'lbfgs' (default) uses the two-loop
 * recursion with a strong-Wolfe line search; 'bfgs' a dense inverse Hessian; 'cg' nonlinear
 * conjugate gradients (Polak-Ribiere+); 'adam' and 'sgd' fixed-rate steps. Stops when the
 * largest gradient component is <= tol, after maxIter iterations, or when the callback
 * returns true.
 * @example
 * const rosen = (x: Tensor) => { const a = x.slice([0], [1]), b = x.slice([1], [1]);
 *   return sum(square(b.sub(square(a))).mul(100).add(square(sub(1, a)))); };
 * const { x, fun, converged } = minimize(rosen, array([-1.2, 1]), { tol: 1e-8 });
 * // x ~ [1, 1], fun ~ 0, converged true
 */
export function minimize<F extends (x: any) => Scalar>(f: F, x0: TreeArgs<Parameters<F>, 0>[0],
  options: MinimizeOptions<Tensors<Parameters<F>[0]>> = {}): MinimizeResult<Tensors<Parameters<F>[0]>> {
  const op = 'minimize';
  if (typeof f !== 'function') throw new ArgumentError(`${op}: expected a function as the first argument, got ${f === null ? 'null' : typeof f}.`);
  if (options === null || typeof options !== 'object') throw new ArgumentError(`${op}: options must be an object such as {method: 'lbfgs', tol: 1e-8}.`);
  for (const key of Object.keys(options)) {
    if (!['method', 'tol', 'maxIter', 'callback', 'memory', 'learningRate'].includes(key)) {
      throw new ArgumentError(`${op}: unknown option '${key}'; the options are method, tol, maxIter, callback, memory and learningRate.`);
    }
  }
  const method = options.method ?? 'lbfgs';
  if (!METHODS.includes(method)) throw new ArgumentError(`${op}: method must be one of ${METHODS.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(method)}.`);
  const tol = options.tol ?? 1e-5;
  if (typeof tol !== 'number' || !(tol >= 0)) throw new ArgumentError(`${op}: tol must be a number >= 0, got ${String(tol)}.`);
  const maxIter = options.maxIter === undefined ? 10_000 : options.maxIter;
  if (typeof maxIter !== 'number' || !Number.isInteger(maxIter) || maxIter < 0) throw new ArgumentError(`${op}: maxIter must be an integer >= 0, got ${String(maxIter)}.`);
  const callback = options.callback;
  if (callback !== undefined && typeof callback !== 'function') throw new ArgumentError(`${op}: callback must be a function, got ${typeof callback}.`);
  type X = Tensors<Parameters<F>[0]>;
  if (method === 'adam' || method === 'sgd') {
    if ('memory' in options) throw new ArgumentError(`${op}: memory is an L-BFGS option; method '${method}' does not take it.`);
    return firstOrder<X>(f, x0, method, tol, maxIter, callback, options.learningRate);
  }
  if ('learningRate' in options) throw new ArgumentError(`${op}: learningRate is for 'adam' and 'sgd'; method '${method}' chooses its steps by line search.`);
  const objective = new Objective(op, f, x0);
  const problem: VectorProblem = {
    x0: objective.x0,
    evaluate: (x) => objective.at(x),
    tol,
    maxIter,
    onIteration: (iteration, x, fun, g) => {
      if (!callback) return false;
      return scoped(() => callback({ iteration, x: objective.tree(x) as X, fun, gradNorm: maxAbs(g) }) === true);
    },
  };
  let result: VectorResult;
  if (method === 'lbfgs') result = lbfgs(problem, positiveInteger(op, 'memory', options.memory, 10));
  else {
    if ('memory' in options) throw new ArgumentError(`${op}: memory is an L-BFGS option; method '${method}' does not take it.`);
    result = method === 'bfgs' ? bfgs(problem) : cg(problem);
  }
  return {
    x: objective.tree(result.x) as X,
    fun: result.f,
    grad: objective.tree(result.g) as X,
    iterations: result.iterations,
    evaluations: objective.evaluations,
    converged: result.converged,
    message: result.message,
  };
}

/** Adam or SGD over the tree's tensors, one gradient evaluation per iteration. */
function firstOrder<X>(f: (x: never) => Scalar, x0: unknown, method: 'adam' | 'sgd', tol: number, maxIter: number,
  callback: MinimizeOptions<X>['callback'], learningRate: LearningRate | undefined): MinimizeResult<X> {
  const op = 'minimize';
  if (method === 'sgd' && learningRate === undefined) throw new ArgumentError(`${op}: method 'sgd' needs a learningRate, as {method: 'sgd', learningRate: 0.01}.`);
  const opt = method === 'adam' ? adam({ learningRate: learningRate ?? 1e-3 }) : sgd({ learningRate: learningRate! });
  const evaluate = valueAndGrad(f as (x: Tensor) => Tensor);
  // A private copy of x0, so that the optimizer may free every iterate it replaces.
  const copy = scoped(() => {
    const { leaves, def } = flatten(x0, `${op}: x0`);
    return rebuild(def, leaves.map((l) => array(toTensor(op, l))));
  });
  let x = copy;
  let state = opt.init(x);
  let evaluations = 0;
  const finish = (fun: number, grad: unknown, iterations: number, converged: boolean, message: string): MinimizeResult<X> => {
    state.dispose();
    return { x: x as X, fun, grad: grad as X, iterations, evaluations, converged, message };
  };
  for (let k = 0; ; k++) {
    const [value, grads] = evaluate(x as Tensor);
    evaluations++;
    const fun = value.item();
    value.dispose();
    const gradNorm = Math.max(0, ...flatten(grads).leaves.map((l) => maxAbs(Float64Array.from(toTensor(op, l).data()))));
    if (!Number.isFinite(fun) || !Number.isFinite(gradNorm)) {
      return finish(fun, grads, k, false, `stopped: f or its gradient is not finite at iteration ${k} (lower the learning rate)`);
    }
    if (gradNorm <= tol) return finish(fun, grads, k, true, MESSAGES.converged(tol));
    if (k >= maxIter) return finish(fun, grads, k, false, MESSAGES.maxIter(maxIter));
    [x, state] = opt.step(x, grads, state);
    if (k === 0) for (const leaf of flatten(copy).leaves) (leaf as Tensor).dispose();
    if (callback && scoped(() => callback({ iteration: k + 1, x: x as X, fun, gradNorm }) === true)) {
      const [v, g] = evaluate(x as Tensor);
      evaluations++;
      const last = v.item();
      v.dispose();
      return finish(last, g, k + 1, false, MESSAGES.callback);
    }
  }
}
