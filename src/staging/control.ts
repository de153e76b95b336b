// Control flow that stays one equation in a program: cond here, and the helpers the loops
// (fori and whileLoop in checkpoint/loops.ts, scan) share. Outside jit they are plain JS control
// flow on concrete values (and so work under every transform). Inside jit (when the innermost
// trace is a jit trace) each traces its bodies once into sub-programs and records one equation;
// a 10,000-step loop is a one-equation loop, not 10,000 copies of its body. The equation's
// `run` calls the same public function again with bodies that execute the sub-programs, so a
// program containing a loop runs, differentiates and inlines into an enclosing jit like any other.
import type { Aval } from '../core/primitive.js';
import { innermostTrace } from '../core/trace.js';
import { ConcretizationError, ShapeError, fmtShape } from '../errors.js';
import { toTensor } from '../ops/convert.js';
import { where } from '../ops/elementwise.js';
import { closeScope, openScope } from '../tensor/scope.js';
import { DenseTensor, type Tensor } from '../tensor/tensor.js';
import { flatten, rebuild, type Tree, type TreeDef } from '../tree.js';
import { checkFunction, denseInResult, unaliased } from '../transforms/util.js';
import { execute } from './execute.js';
import { fmtAval, type Program } from './program.js';
import { StagingTrace, traceProgram } from './trace.js';

/** The jit trace to record into, when the innermost active trace is one. */
export function staging(): StagingTrace | null {
  const top = innermostTrace();
  return top instanceof StagingTrace ? top : null;
}

export interface Leaves {
  leaves: Tensor[];
  def: TreeDef;
}

export function leavesOf(op: string, tree: unknown, what: string): Leaves {
  const { leaves, def } = flatten(tree, `${op}: ${what}`);
  return { leaves: leaves.map((l) => toTensor(op, l)), def };
}

export const avalOf = (t: Tensor): Aval => ({ shape: t.shape, dtype: t.dtype });

/** Checks that `out` has the structure `def` and the leaf types `avals` (a loop's carry, a branch's result). */
export function matching(op: string, what: string, out: unknown, def: TreeDef, avals: readonly Aval[]): Tensor[] {
  const got = leavesOf(op, out, what);
  if (JSON.stringify(got.def) !== JSON.stringify(def)) {
    throw new ShapeError(`${op}: ${what} has a different tree structure from the one expected; it must keep the same arrays, objects and leaves.`);
  }
  got.leaves.forEach((l, i) => {
    const a = avals[i];
    if (l.dtype !== a.dtype || l.shape.length !== a.shape.length || l.shape.some((d, j) => d !== a.shape[j])) {
      throw new ShapeError(`${op}: leaf ${i} of ${what} is ${l.dtype} ${fmtShape(l.shape)} but must be ${a.dtype} ${fmtShape(a.shape)} (${fmtAval(a)}); shapes and dtypes cannot change.`);
    }
  });
  return got.leaves;
}

/** A body as a function of tensors that runs a sub-program (concretely when it can). */
export function executor(program: Program, captures: readonly Tensor[]): (...ins: Tensor[]) => Tensor[] {
  return (...ins) => execute(program, [...ins, ...captures]);
}

/** Outputs that are the caller's inputs become new handles, so a program can free them safely. */
export function freshOutputs(outs: Tensor[], ins: readonly Tensor[]): Tensor[] {
  return outs.map((o) => unaliased(o, (d) => !ins.includes(d)));
}

/** The JS boolean of a scalar predicate; a traced one throws a ConcretizationError. */
export function truth(op: string, pred: Tensor): boolean {
  if (pred.size !== 1) throw new ShapeError(`${op}: the predicate must have one element, got shape ${fmtShape(pred.shape)}.`);
  return pred.item() !== 0;
}

/**
 * A loop's steps, each in its own scope that keeps only the new carry. Outside every transform
 * a carry the loop made is freed once replaced; under a transform it is left to the
 * transform's scope, since a tape may have saved it.
 */
export function stepLoop(init: Tensor[], keepGoing: (carry: Tensor[], i: number) => boolean, step: (carry: Tensor[], i: number) => Tensor[]): Tensor[] {
  let carry = init;
  const free = innermostTrace() === null;
  // The carry tensors the loop itself made (not init, not values the body closed over).
  let made = new Set<DenseTensor>();
  for (let i = 0; keepGoing(carry, i); i++) {
    const scope = openScope();
    let next: Tensor[];
    try {
      next = step(carry, i);
    } catch (e) {
      closeScope(scope, []);
      throw e;
    }
    const fresh = new Set(next.filter((t): t is DenseTensor => t instanceof DenseTensor && t.scope === scope));
    closeScope(scope, denseInResult(next));
    if (free) for (const old of made) if (!next.includes(old)) old.dispose();
    made = fresh;
    carry = next;
  }
  return carry;
}

/**
 * onTrue(...operands) where pred is non-zero, else onFalse(...operands), as jax.lax.cond. Both
 * branches must return trees of the same structure, shapes and dtypes. Inside jit it is one
 * equation and only the taken branch runs; under a transform inside jit (jit(grad(f))), where
 * the predicate is not known while tracing, both branches are computed and the result selected
 * elementwise (the unselected branch gets a zero cotangent).
 * @example cond(greater(x, 0), (x) => sqrt(x), (x) => neg(x), x)
 */
export function cond<T extends Tree>(pred: Tensor | number | boolean, onTrue: (...operands: Tensor[]) => T, onFalse: (...operands: Tensor[]) => T, ...operands: (Tensor | number)[]): T {
  const op = 'cond';
  checkFunction(op, onTrue);
  checkFunction(op, onFalse);
  const p = toTensor(op, typeof pred === 'boolean' ? (pred ? 1 : 0) : pred);
  if (p.size !== 1) throw new ShapeError(`${op}: the predicate must have one element, got shape ${fmtShape(p.shape)}.`);
  const ops = operands.map((o) => toTensor(op, o));
  const trace = staging();
  if (trace) {
    let def: TreeDef | null = null;
    let outAvals: readonly Aval[] = [];
    const yes = traceProgram(`${op} true`, ops.map(avalOf), (xs) => {
      const out = leavesOf(op, onTrue(...xs), 'the result of onTrue');
      def = out.def;
      outAvals = out.leaves.map(avalOf);
      return out.leaves;
    });
    const no = traceProgram(`${op} false`, ops.map(avalOf), (xs) => matching(op, 'the result of onFalse (it must match onTrue\'s)', onFalse(...xs), def!, outAvals));
    const n = ops.length, nt = yes.captures.length;
    const call = {
      name: op,
      params: { onTrue: yes.program, onFalse: no.program },
      run: (ins: readonly Tensor[]) => {
        const xs = ins.slice(1, 1 + n);
        const t = executor(yes.program, ins.slice(1 + n, 1 + n + nt));
        const f = executor(no.program, ins.slice(1 + n + nt));
        const out = cond(ins[0], (...a) => t(...a) as unknown as T, (...a) => f(...a) as unknown as T, ...xs) as unknown as Tensor[];
        return freshOutputs(out, ins);
      },
    };
    return rebuild<T>(def!, trace.emitCall(call, [p, ...ops, ...yes.captures, ...no.captures], outAvals));
  }
  let taken: boolean;
  try {
    taken = truth(op, p);
  } catch (e) {
    if (!(e instanceof ConcretizationError)) throw e;
    // The predicate is a value of an enclosing jit seen through another transform: select.
    const a = leavesOf(op, onTrue(...ops), 'the result of onTrue');
    const b = matching(op, 'the result of onFalse (it must match onTrue\'s)', onFalse(...ops), a.def, a.leaves.map(avalOf));
    return rebuild<T>(a.def, a.leaves.map((l, i) => where(p, l, b[i])));
  }
  return (taken ? onTrue : onFalse)(...ops);
}
