// Compositions of the two modes: hessian, hvp, and jacobian with mode selection.
import { ArgumentError, ConcretizationError } from '../errors.js';
import { abstractOutputs } from '../staging/trace.js';
import { sizeOf } from '../tensor/shape.js';
import { flatten } from '../tree.js';
import { USE_FORWARD, grad, jacrev, jacrevImpl } from './grad.js';
import { defaultChunk, jacfwd, jvp, type JacOptions } from './jvp.js';
import { checkFunction, checkOptions } from './util.js';
import type { AnyFunction, Argnums, GradientOf, Gradients, Jacobian, TensorLikes, TreeArgs } from './types.js';
import type { ScalarFunction } from './grad.js';

type Fn = (...args: any[]) => any;

/**
 * The Hessian of a scalar function, forward over reverse: jacfwd(jacrev(f)). For a tree
 * argument it is the gradient's tree with each leaf replaced by the gradient's tree again.
 * @example hessian((x: Tensor) => sum(pow(x, 3)))(array([1, 2])) // [[6, 0], [0, 12]]
 */
export function hessian<F extends ScalarFunction, const N extends Argnums = 0>(f: F, options?: Pick<JacOptions<N>, 'argnums'>):
  (...args: TreeArgs<Parameters<F>, N>) => Jacobian<GradientOf<Parameters<F>, N>, GradientOf<Parameters<F>, N>>;
export function hessian(f: Fn, options: Pick<JacOptions, 'argnums'> = {}) {
  checkFunction('hessian', f);
  checkOptions('hessian', options);
  return jacfwd(jacrev(f, options) as Fn, options);
}

/**
 * Hessian-vector product without forming the Hessian: the jvp of grad(f) along `tangents`.
 * Returns one tree per primal, shaped like the primals.
 * @example hvp((x) => sum(pow(x, 3)), [array([1, 2])], [array([1, 0])]) // [[6, 0]]
 */
export function hvp<F extends ScalarFunction>(f: F, primals: Readonly<TreeArgs<Parameters<F>>>, tangents: TensorLikes<Parameters<F>>): Gradients<Parameters<F>>;
export function hvp(f: Fn, primals: readonly unknown[], tangents: readonly unknown[]): unknown {
  checkFunction('hvp', f);
  if (!Array.isArray(primals) || primals.length === 0) throw new ArgumentError('hvp: primals must be a non-empty array with one entry per argument of f.');
  const argnums = primals.map((_, i) => i);
  const [, tangentOut] = jvp((...xs: unknown[]) => grad(f, { argnums })(...xs), primals, tangents);
  return tangentOut;
}

/** A key for the shapes and dtypes of the arguments, or null for arguments it cannot describe. */
function shapeKey(args: unknown[]): string | null {
  try {
    return flatten(args).leaves.map((l) => (typeof l === 'number' ? 'n' : `${l.dtype}[${l.shape.join(',')}]`)).join(';');
  } catch {
    return null;
  }
}

function inputSize(args: unknown[], argnums: number | readonly number[] | undefined): number {
  const list = argnums === undefined ? [0] : typeof argnums === 'number' ? [argnums] : [...argnums];
  return flatten(list.map((i) => args[i])).leaves.reduce<number>((acc, l) => acc + (typeof l === 'number' ? 1 : l.size), 0);
}

export type JacobianMode = 'auto' | 'fwd' | 'rev';

export interface JacobianOptions<N extends Argnums = Argnums> extends JacOptions<N> {
  mode?: JacobianMode;
}

/**
 * The cost model behind jacobian's 'auto' mode. A forward pass pushing k directions through a
 * map with n inputs and m outputs costs fwdPass + fwdPerElement * k * (n + m) microseconds
 * (a fixed per-pass overhead, then work proportional to the tangent elements); reverse mode
 * tapes f once (revTape) and each sweep pulling back k rows costs revSweep + revPerElement * k
 * * (n + m). Fitted to the diagonal sweep (n, m) = (1000, 2) .. (2, 1000) of a dense layer
 * between elementwise stages in `npm run bench` (suite jacobian-modes). Maps doing more work
 * per element scale both modes alike, so the choice (a ratio) carries over.
 */
export const jacobianCostModel = {
  measuredOn: '2026-11-22, Intel Xeon (Sapphire Rapids, KVM) 2 vCPU, Node 20.20, one thread',
  fwdPass: 17,
  fwdPerElement: 0.0098,
  revTape: 20,
  revSweep: 20,
  revPerElement: 0.006,
  fwdChunk: (n: number) => defaultChunk(n),
  revChunk: (m: number) => Math.max(1, Math.min(m, 64)),
};

export interface JacobianCost {
  mode: 'fwd' | 'rev';
  /** Estimated time of each mode in microseconds, for the model's reference map. */
  fwd: number;
  rev: number;
  fwdPasses: number;
  revSweeps: number;
}

/**
 * What `jacobian(f, {mode: 'auto'})` does for n inputs and m outputs, with the estimated
 * cost of each mode.
 * @example jacobianCost(1000, 2).mode // 'rev'
 */
export function jacobianCost(n: number, m: number): JacobianCost {
  for (const [name, v] of [['n', n], ['m', m]] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new ArgumentError(`jacobianCost: ${name} must be a non-negative integer, got ${typeof v === 'number' ? v : typeof v}; n counts input elements and m output elements.`);
    }
  }
  const c = jacobianCostModel;
  const kf = c.fwdChunk(n), kr = c.revChunk(m);
  const fwdPasses = Math.ceil(n / kf), revSweeps = Math.ceil(m / kr);
  const fwd = fwdPasses * (c.fwdPass + c.fwdPerElement * kf * (n + m));
  const rev = c.revTape + revSweeps * (c.revSweep + c.revPerElement * kr * (n + m));
  return { mode: fwd <= rev ? 'fwd' : 'rev', fwd, rev, fwdPasses, revSweeps };
}

/** Which mode `jacobian(f, {mode: 'auto'})` takes for n inputs and m outputs. */
export function chooseJacobianMode(n: number, m: number): 'fwd' | 'rev' {
  return jacobianCost(n, m).mode;
}

/**
 * The Jacobian, by forward mode, reverse mode, or ('auto', the default) whichever the cost
 * model predicts is cheaper for the input and output sizes. 'auto' learns the output size by
 * abstract evaluation (evalShape: nothing runs), once per input signature; for an f that reads
 * values as it goes (and so cannot be traced abstractly) it tapes f first instead, and uses
 * that tape when reverse mode wins.
 * @example jacobian((x) => sin(x))(array([0, 1]))
 */
export function jacobian<F extends AnyFunction, const N extends Argnums = 0>(f: F, options?: JacobianOptions<N>):
  (...args: TreeArgs<Parameters<F>, N>) => Jacobian<ReturnType<F>, GradientOf<Parameters<F>, N>>;
export function jacobian(f: Fn, options: JacobianOptions = {}) {
  checkFunction('jacobian', f);
  checkOptions('jacobian', options);
  const mode = options.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'fwd' && mode !== 'rev') {
    throw new ArgumentError(`jacobian: mode must be 'auto', 'fwd' or 'rev', got ${JSON.stringify(mode)}.`);
  }
  let outputSizes = outputSizesOf.get(f);
  if (!outputSizes) outputSizesOf.set(f, (outputSizes = new Map<string, number>()));
  const known = outputSizes;
  return (...args: unknown[]): unknown => {
    const outputSizes = known;
    if (mode === 'fwd') return jacfwd(f, options)(...args);
    if (mode === 'rev') return jacrev(f, options)(...args);
    const key = shapeKey(args);
    let m = key === null ? undefined : outputSizes.get(key);
    if (m === undefined) m = abstractOutputSize(f, args);
    if (m !== undefined) {
      if (key !== null) outputSizes.set(key, m);
      const n = inputSize(args, options.argnums);
      return chooseJacobianMode(n, m) === 'fwd' ? jacfwd(f, options)(...args) : jacrev(f, options)(...args);
    }
    const result = jacrevImpl(f, options, args, (n, outSize) => {
      if (key !== null) outputSizes.set(key, outSize);
      return chooseJacobianMode(n, outSize);
    });
    return result === USE_FORWARD ? jacfwd(f, options)(...args) : result;
  };
}

/** Output sizes by function and input signature, shared by every jacobian(f) of the same f. */
const outputSizesOf = new WeakMap<Fn, Map<string, number>>();

/** f's total output size from abstract evaluation, or undefined when f reads a traced value. */
function abstractOutputSize(f: Fn, args: unknown[]): number | undefined {
  try {
    return abstractOutputs(f, args, 'jacobian').avals.reduce((acc, a) => acc + sizeOf(a.shape), 0);
  } catch (e) {
    if (e instanceof ConcretizationError) return undefined;
    throw e;
  }
}
