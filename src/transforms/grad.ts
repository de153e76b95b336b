// vjp, grad, valueAndGrad and jacrev: reverse mode over argument trees.
import { denseParts, popTrace, pushTrace } from '../core/trace.js';
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { closeScope, openScope } from '../tensor/scope.js';
import { ones, zeros } from '../tensor/create.js';
import { shapesEqual } from '../tensor/shape.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { toTensor } from '../ops/convert.js';
import { concat, reshape } from '../ops/shape.js';
import { flatten, mapTree, rebuild, type Tree } from '../tree.js';
import { TapeTrace, TapeVar, backward } from './reverse.js';
import { identityBlock, type JacOptions } from './jvp.js';
import { checkDifferentiated, checkFunction, checkOptions, normalizeArgnums, refuseThenable, scoped, unaliased } from './util.js';
import type { AnyFunction, Argnums, GradientOf, Gradients, Jacobian, Scalar, TensorLikes, Tensors, TreeArgs } from './types.js';

type Fn = (...args: any[]) => any;

interface Taped {
  trace: TapeTrace;
  /** The differentiated leaves as tensors, and their tape variables. */
  xs: Tensor[];
  vars: TapeVar[];
  result: unknown;
}

/** Calls f with the leaves of `list` arguments replaced by fresh tape variables. */
function tape(op: string, f: Fn, args: unknown[], list: number[], def: ReturnType<typeof flatten>['def'], leaves: unknown[], trace: TapeTrace): Taped {
  const xs = leaves.map((l) => toTensor(op, l as Tensor));
  const vars = xs.map((x) => trace.variable(x));
  const trees = rebuild<unknown[]>(def, vars);
  const call = [...args];
  list.forEach((a, i) => (call[a] = trees[i]));
  const result = f(...call);
  refuseThenable(op, result);
  return { trace, xs, vars, result };
}

/** Replaces this trace's variables in a result tree by their values. */
function valuesOf(trace: TapeTrace, tree: unknown, op: string): unknown {
  const { leaves, def } = flatten(tree, `${op}: the function's output`);
  return rebuild(def, leaves.map((l) => (l instanceof TapeVar && l.trace === trace ? l.primal : l)));
}

function keepSet(...values: unknown[]): Set<DenseTensor> {
  const keep = new Set<DenseTensor>();
  for (const v of values) {
    const { leaves } = flatten(v);
    for (const l of leaves) if (l instanceof Tensor) for (const d of denseParts(l)) keep.add(d);
  }
  return keep;
}

/** Cotangents [1, ...shape] (or null) to gradient trees mirroring the selected arguments. */
function gradientTrees(cts: (Tensor | null)[], xs: Tensor[], def: ReturnType<typeof flatten>['def'], single: boolean): unknown {
  const grads = cts.map((c, i) => (c ? reshape(c, xs[i].shape) : zeros(xs[i].shape, { dtype: xs[i].dtype })));
  const trees = rebuild<unknown[]>(def, grads);
  return single ? trees[0] : trees;
}

export interface GradOptions<N extends Argnums = Argnums> {
  /** Which positional arguments to differentiate (default 0); an array gives an array of gradients. */
  argnums?: N;
  /** f returns [value, aux]; aux is passed through undifferentiated. */
  hasAux?: boolean;
}

/** A function grad accepts: a scalar result, or [scalar, aux] with hasAux. */
export type ScalarFunction = (...args: any[]) => Scalar;
export type ScalarAuxFunction = (...args: any[]) => readonly [Scalar, unknown];

/** The aux part of a hasAux function's result. */
export type AuxOf<F extends ScalarAuxFunction> = ReturnType<F>[1];

/**
 * Returns a function giving [f(...args), gradient] (with hasAux: [[value, aux], gradient]).
 * The gradient mirrors the differentiated argument's tree, in its type too.
 * @example
 * const [value, g] = valueAndGrad((p: { w: Tensor }) => sum(square(p.w)))({ w: array([1, 2]) });
 * // value: 5, g.w: [2, 4]
 */
export function valueAndGrad<F extends ScalarAuxFunction, const N extends Argnums = 0>(f: F, options: GradOptions<N> & { hasAux: true }):
  (...args: TreeArgs<Parameters<F>, N>) => [[Tensor, AuxOf<F>], GradientOf<Parameters<F>, N>];
export function valueAndGrad<F extends ScalarFunction, const N extends Argnums = 0>(f: F, options?: GradOptions<N> & { hasAux?: false }):
  (...args: TreeArgs<Parameters<F>, N>) => [Tensor, GradientOf<Parameters<F>, N>];
export function valueAndGrad(f: Fn, options: GradOptions = {}) {
  checkFunction('valueAndGrad', f);
  checkOptions('valueAndGrad', options);
  return (...args: unknown[]) => gradImpl(f, options, args, true);
}

/** With `wantValue` false the value is freed with the transform's scope (grad's case). */
function gradImpl(f: Fn, options: GradOptions, args: unknown[], wantValue: boolean): [unknown, unknown] {
    const op = 'grad';
    const { list, single } = normalizeArgnums(op, options.argnums, args.length);
    checkDifferentiated(op, args, list);
    const selected = flatten(list.map((i) => args[i]), `${op}: argument`);
    return scoped((scope) => {
      const trace = pushTrace((level) => new TapeTrace(level, scope));
      try {
        const { xs, vars, result } = tape(op, f, args, list, selected.def, selected.leaves, trace);
        let out: unknown = result;
        let aux: unknown;
        if (options.hasAux) {
          if (!Array.isArray(result) || result.length !== 2) {
            throw new ArgumentError(`${op}: with hasAux the function must return [value, aux], got ${Array.isArray(result) ? `an array of ${result.length}` : typeof result}.`);
          }
          [out, aux] = result;
        }
        if (!(out instanceof Tensor) && typeof out !== 'number') {
          throw new ArgumentError(`${op}: the function must return a scalar tensor or a number${options.hasAux ? ' as the first element of [value, aux]' : ''}, got ${out === null ? 'null' : Array.isArray(out) ? 'an array' : typeof out}. Use jacrev or vjp for tree or vector outputs.`);
        }
        const y = toTensor(op, out);
        if (y.ndim !== 0) {
          throw new ShapeError(`${op}: the function must return a scalar (shape []), got shape ${fmtShape(y.shape)}. Reduce it (sum, mean) first, or use jacrev/vjp for non-scalar outputs.`);
        }
        if (y.dtype === 'int32') {
          throw new DTypeError(`${op}: the function returned an int32 scalar, which has no gradient (int32 values are piecewise constant and never differentiated); return a float value, e.g. astype(y, 'float64') of a float computation.`);
        }
        const value = y instanceof TapeVar && y.trace === trace ? y.primal : y;
        const auxValue = options.hasAux ? valuesOf(trace, aux, op) : undefined;
        let cts: (Tensor | null)[] = vars.map(() => null);
        if (y instanceof TapeVar && y.trace === trace) {
          const keep = options.hasAux ? keepSet(value, auxValue) : new Set(denseParts(value));
          cts = backward(trace, new Map([[y.id, ones([1], { dtype: y.dtype })]]), vars.map((v) => v.id), { consume: true, keep });
        }
        const g = gradientTrees(cts, xs, selected.def, single);
        // The value and aux never alias an input or a closed-over tensor: disposing them must
        // leave those intact. Tensors f made here are handed over as they are.
        const own = (d: DenseTensor) => d.scope === scope;
        const shown = wantValue ? unaliased(value, own) : undefined;
        const auxShown = options.hasAux ? mapTree(auxValue, (l) => unaliased(l, own), `${op}: aux`) : undefined;
        return [options.hasAux ? [shown, auxShown] : shown, g];
      } finally {
        popTrace(trace);
      }
    });
}

/**
 * The gradient of a scalar function (reverse mode), mirroring the argument's tree, in its
 * type too: `grad((p: {W: Tensor}) => ...)(params).W` is a Tensor. With `argnums: [0, 1]` it
 * returns a tuple of gradients; with `hasAux: true`, f returns [value, aux] and grad [gradient, aux].
 * @example grad((x: Tensor) => x.pow(3))(2).item() // 12
 */
export function grad<F extends ScalarAuxFunction, const N extends Argnums = 0>(f: F, options: GradOptions<N> & { hasAux: true }):
  (...args: TreeArgs<Parameters<F>, N>) => [GradientOf<Parameters<F>, N>, AuxOf<F>];
export function grad<F extends ScalarFunction, const N extends Argnums = 0>(f: F, options?: GradOptions<N> & { hasAux?: false }):
  (...args: TreeArgs<Parameters<F>, N>) => GradientOf<Parameters<F>, N>;
export function grad(f: Fn, options: GradOptions = {}) {
  checkFunction('grad', f);
  checkOptions('grad', options);
  return (...args: unknown[]): unknown => {
    const [value, g] = gradImpl(f, options, args, false);
    return options.hasAux ? [g, (value as unknown[])[1]] : g;
  };
}

/**
 * Reverse-mode vector-Jacobian product: returns [f(...primals), pullback], where
 * pullback(cotangent) gives one cotangent tree per primal. The pullback may be called again.
 * @example
 * const [y, pullback] = vjp((x) => mul(x, 2), array([1, 2]));
 * pullback(array([1, 1])) // [[2, 2]]
 */
export function vjp<F extends AnyFunction>(f: F, ...primals: TreeArgs<Parameters<F>>):
  [Tensors<ReturnType<F>>, (cotangent: TensorLikes<ReturnType<F>>) => Gradients<Parameters<F>>];
export function vjp(f: Fn, ...primals: unknown[]): [unknown, unknown] {
  checkFunction('vjp', f);
  const op = 'vjp';
  const list = primals.map((_, i) => i);
  const selected = flatten(primals, `${op}: primal`);
  const scope = openScope();
  let state: Taped;
  let trace: TapeTrace;
  try {
    trace = pushTrace((level) => new TapeTrace(level, scope));
    try {
      state = tape(op, f, primals, list, selected.def, selected.leaves, trace);
    } finally {
      popTrace(trace);
    }
  } catch (e) {
    closeScope(scope, []);
    throw e;
  }
  // The pullback may run later and more than once: the tape's values outlive this call.
  closeScope(scope, scope.tensors);
  const { leaves: outLeaves, def: outDef } = flatten(state.result, `${op}: the function's output`);
  const outTensors = outLeaves.map((l) => toTensor(op, l));
  // The value is a fresh Tensor object even where it is an input or a value the tape saved,
  // so disposing it leaves the pullback and the inputs intact.
  const value = rebuild(outDef, outTensors.map((l) => unaliased(l instanceof TapeVar && l.trace === trace ? l.primal : l)));
  const pullback = (cotangent: Tree): unknown[] => {
    const ct = flatten(cotangent, `${op}: cotangent`);
    if (ct.leaves.length !== outTensors.length || JSON.stringify(ct.def) !== JSON.stringify(outDef)) {
      throw new ArgumentError(`${op}: the cotangent must have the structure of f's output (${outTensors.length} leaves), got ${ct.leaves.length} leaves.`);
    }
    return scoped(() => {
      const seeds = new Map<number, Tensor>();
      ct.leaves.forEach((l, i) => {
        const y = outTensors[i];
        const c = toTensor(op, l, y.dtype);
        if (!shapesEqual(c.shape, y.shape)) {
          throw new ShapeError(`${op}: cotangent ${i} has shape ${fmtShape(c.shape)} but the output has shape ${fmtShape(y.shape)}.`);
        }
        if (c.dtype !== y.dtype) throw new DTypeError(`${op}: cotangent ${i} is ${c.dtype} but the output is ${y.dtype}.`);
        if (y instanceof TapeVar && y.trace === trace) {
          const seed = reshape(c, [1, ...c.shape]);
          const prev = seeds.get(y.id);
          seeds.set(y.id, prev ? prev.add(seed) : seed);
        }
      });
      const cts = backward(trace, seeds, state.vars.map((v) => v.id), { consume: false, keep: new Set() });
      return gradientTrees(cts, state.xs, selected.def, false) as unknown[];
    });
  };
  return [value, pullback];
}

/**
 * The Jacobian by reverse mode: output rows are pulled back `chunkSize` at a time (one sweep
 * of matrix products per chunk). The result has shape out.shape + x.shape.
 * @example jacrev((x) => mul(x, x))(array([1, 2])) // [[2, 0], [0, 4]]
 */
export function jacrev<F extends AnyFunction, const N extends Argnums = 0>(f: F, options?: JacOptions<N>):
  (...args: TreeArgs<Parameters<F>, N>) => Jacobian<ReturnType<F>, GradientOf<Parameters<F>, N>>;
export function jacrev(f: Fn, options: JacOptions = {}) {
  checkFunction('jacrev', f);
  checkOptions('jacrev', options);
  return (...args: unknown[]): unknown => jacrevImpl(f, options, args, null);
}

/** Returned by jacrevImpl when `decide` picks forward mode after seeing the output size. */
export const USE_FORWARD = Symbol('use forward mode');

/**
 * jacrev's body. `decide(n, m)`, when given, is asked once the function has been taped and
 * the output size m is known; if it answers 'fwd' the tape is dropped and USE_FORWARD returned.
 */
export function jacrevImpl(f: Fn, options: JacOptions, args: unknown[], decide: ((n: number, m: number) => 'fwd' | 'rev') | null): unknown {
  const op = 'jacrev';
  const { list, single } = normalizeArgnums(op, options.argnums, args.length);
  checkDifferentiated(op, args, list);
  const selected = flatten(list.map((i) => args[i]), `${op}: argument`);
  return scoped((scope) => {
    const trace = pushTrace((level) => new TapeTrace(level, scope));
    try {
      const { xs, vars, result } = tape(op, f, args, list, selected.def, selected.leaves, trace);
      const { leaves, def } = flatten(result, `${op}: the function's output`);
      const outs = leaves.map((l) => toTensor(op, l));
      if (decide) {
        const n = xs.reduce((acc, x) => acc + x.size, 0);
        const m = outs.reduce((acc, y) => acc + y.size, 0);
        if (decide(n, m) === 'fwd') return USE_FORWARD;
      }
      const values = outs.map((y) => (y instanceof TapeVar && y.trace === trace ? y.primal : y));
      const keep = keepSet(values);
      const jac = outs.map((y, o) => {
        const m = y.size;
        const k = options.chunkSize ?? Math.max(1, Math.min(m, 64));
        if (!Number.isInteger(k) || k < 1) throw new ArgumentError(`${op}: chunkSize must be a positive integer, got ${k}.`);
        let perLeaf: Tensor[];
        if (!(y instanceof TapeVar && y.trace === trace) || m === 0) {
          perLeaf = xs.map((x) => zeros([...y.shape, ...x.shape], { dtype: x.dtype }));
        } else {
          const blocks: Tensor[][] = xs.map(() => []);
          for (let start = 0; start < m; start += k) {
            const rows = Math.min(k, m - start);
            const last = o === outs.length - 1 && start + rows >= m;
            const seed = identityBlock(start, rows, 0, m, y.shape, y.dtype);
            const cts = backward(trace, new Map([[y.id, seed]]), vars.map((v) => v.id), { consume: last, keep });
            cts.forEach((c, i) => blocks[i].push(c ?? zeros([rows, ...xs[i].shape], { dtype: xs[i].dtype })));
          }
          // Rows of the Jacobian: [m, ...leafShape] per leaf.
          perLeaf = xs.map((x, i) => {
            const rowsAll = blocks[i].length === 1 ? blocks[i][0] : concat(blocks[i], 0);
            return reshape(rowsAll, [...y.shape, ...x.shape]);
          });
        }
        const trees = rebuild<unknown[]>(selected.def, perLeaf);
        return single ? trees[0] : trees;
      });
      return rebuild(def, jac);
    } finally {
      popTrace(trace);
    }
  });
}
