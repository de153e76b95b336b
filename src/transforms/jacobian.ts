// Compositions of the two modes: hessian, hvp, and jacobian with mode selection.
import { ArgumentError } from '../errors.js';
import { flatten, type Tree } from '../tree.js';
import { grad } from './grad.js';
import { jacrev } from './grad.js';
import { jacfwd, jvp, type JacOptions } from './jvp.js';
import { checkFunction } from './util.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Fn = (...args: any[]) => any;

/**
 * The Hessian of a scalar function, forward over reverse: jacfwd(jacrev(f)).
 * @example hessian((x) => sum(pow(x, 3)))(array([1, 2])) // [[6, 0], [0, 12]]
 */
export function hessian(f: Fn, options: Pick<JacOptions, 'argnums'> = {}) {
  checkFunction('hessian', f);
  return jacfwd(jacrev(f, options), options);
}

/**
 * Hessian-vector product without forming the Hessian: the jvp of grad(f) along `tangents`.
 * Returns one tree per primal, shaped like the primals.
 * @example hvp((x) => sum(pow(x, 3)), [array([1, 2])], [array([1, 0])]) // [[6, 0]]
 */
export function hvp(f: Fn, primals: readonly Tree[], tangents: readonly Tree[]): any[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  checkFunction('hvp', f);
  if (!Array.isArray(primals) || primals.length === 0) throw new ArgumentError('hvp: primals must be a non-empty array with one entry per argument of f.');
  const argnums = primals.map((_, i) => i);
  const [, tangentOut] = jvp((...xs: unknown[]) => grad(f, { argnums })(...xs), primals, tangents);
  return tangentOut as unknown[];
}

export type JacobianMode = 'auto' | 'fwd' | 'rev';

export interface JacobianOptions extends JacOptions {
  mode?: JacobianMode;
}

/** Which mode `jacobian(f, {mode: 'auto'})` takes for n inputs and m outputs. */
export function chooseJacobianMode(n: number, m: number): 'fwd' | 'rev' {
  return n <= m ? 'fwd' : 'rev';
}

/**
 * The Jacobian, by forward mode, reverse mode, or ('auto', the default) whichever the cost
 * model predicts is cheaper for the input and output sizes.
 * @example jacobian((x) => sin(x))(array([0, 1]))
 */
export function jacobian(f: Fn, options: JacobianOptions = {}) {
  checkFunction('jacobian', f);
  const mode = options.mode ?? 'auto';
  if (mode !== 'auto' && mode !== 'fwd' && mode !== 'rev') {
    throw new ArgumentError(`jacobian: mode must be 'auto', 'fwd' or 'rev', got ${JSON.stringify(mode)}.`);
  }
  return (...args: unknown[]): any => { // eslint-disable-line @typescript-eslint/no-explicit-any
    let chosen = mode;
    if (mode === 'auto') {
      const argnums = options.argnums ?? 0;
      const list = typeof argnums === 'number' ? [argnums] : [...argnums];
      const n = flatten(list.map((i) => args[i])).leaves.reduce<number>((acc, l) => acc + (typeof l === 'number' ? 1 : l.size), 0);
      // The output size needs one evaluation; the rule only needs its order of magnitude.
      const m = flatten(f(...args)).leaves.reduce<number>((acc, l) => acc + (typeof l === 'number' ? 1 : l.size), 0);
      chosen = chooseJacobianMode(n, m);
    }
    return chosen === 'fwd' ? jacfwd(f, options)(...args) : jacrev(f, options)(...args);
  };
}
