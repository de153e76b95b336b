// Control flow that stays one equation in a program: cond, fori and whileLoop. Outside jit they
// are plain JS control flow on concrete values (and so work under every transform). Inside jit
// (when the innermost trace is a jit trace) each traces its bodies once into sub-programs and
// records one equation; a 10,000-step loop is a one-equation loop, not 10,000 copies of its body.
// The equation's `run` calls the same public function again with bodies that execute the
// sub-programs, so a program containing a loop runs, differentiates (grad(jit(f)) replays the
// loop eagerly under the tape) and inlines into an enclosing jit like any other.
import type { Aval } from '../core/primitive.js';
import { innermostTrace } from '../core/trace.js';
import { ArgumentError, ConcretizationError, ShapeError, fmtShape } from '../errors.js';
import { scalarOf, toTensor } from '../ops/convert.js';
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

interface Leaves {
  leaves: Tensor[];
  def: TreeDef;
}

function leavesOf(op: string, tree: unknown, what: string): Leaves {
  const { leaves, def } = flatten(tree, `${op}: ${what}`);
  return { leaves: leaves.map((l) => toTensor(op, l)), def };
}

const avalOf = (t: Tensor): Aval => ({ shape: t.shape, dtype: t.dtype });

/** Checks that `out` has the structure `def` and the leaf types `avals` (a loop's carry, a branch's result). */
function matching(op: string, what: string, out: unknown, def: TreeDef, avals: readonly Aval[]): Tensor[] {
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
function truth(op: string, pred: Tensor): boolean {
  if (pred.size !== 1) throw new ShapeError(`${op}: the predicate must have one element, got shape ${fmtShape(pred.shape)}.`);
  return pred.item() !== 0;
}

/**
 * A loop's steps, each in its own scope that keeps only the new carry. Outside every transform
 * a carry the loop made is freed once replaced; under a transform it is left to the
 * transform's scope, since a tape may have saved it.
 */
function stepLoop(init: Tensor[], keepGoing: (carry: Tensor[], i: number) => boolean, step: (carry: Tensor[], i: number) => Tensor[]): Tensor[] {
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
 * Runs `body(i, carry)` for i = lower, ..., upper - 1 and returns the final carry (a tree of
 * tensors), as jax.lax.fori_loop. The bounds are JS numbers. Inside jit the loop is one
 * equation of the program, however many steps it takes.
 * @example fori(0, 10, (i, x) => add(x, i), zeros([2])) // [45, 45]
 */
export function fori<T extends Tree>(lower: number, upper: number, body: (i: Tensor, carry: T) => T, init: T): T {
  const op = 'fori';
  checkFunction(op, body);
  if (!Number.isInteger(lower) || !Number.isInteger(upper)) {
    throw new ArgumentError(`${op}: lower and upper must be integers (JS numbers), got ${JSON.stringify(lower)} and ${JSON.stringify(upper)}. For a bound computed inside jit, use whileLoop with the counter in the carry.`);
  }
  const { leaves, def } = leavesOf(op, init, 'init');
  const avals = leaves.map(avalOf);
  const trace = staging();
  if (trace) {
    const { program, captures } = traceProgram(`${op} body`, [{ shape: [], dtype: 'float64' }, ...avals], ([i, ...carry]) =>
      matching(op, 'the carry body returned', body(i, rebuild<T>(def, carry)), def, avals));
    const run = executor(program, []);
    const call = {
      name: op,
      params: { lower, upper, body: program },
      structure: { kind: 'fori' as const, lower, upper, body: program },
      run: (ins: readonly Tensor[]) => {
        const caps = ins.slice(leaves.length);
        const out = fori(lower, upper, (i, c) => rebuild<T>(def, run(i, ...leavesOf(op, c, 'carry').leaves, ...caps)), rebuild<T>(def, ins.slice(0, leaves.length)));
        return freshOutputs(leavesOf(op, out, 'carry').leaves, ins);
      },
    };
    return rebuild<T>(def, trace.emitCall(call, [...leaves, ...captures], avals));
  }
  const out = stepLoop(leaves, (_, i) => lower + i < upper, (carry, i) =>
    matching(op, 'the carry body returned', body(scalarOf(lower + i, 'float64'), rebuild<T>(def, carry)), def, avals));
  return rebuild<T>(def, out);
}

/**
 * Runs `carry = body(carry)` while `condFn(carry)` is non-zero and returns the final carry, as
 * jax.lax.while_loop. Inside jit the loop is one equation. Differentiable in forward mode
 * (jvp); in reverse mode outside jit it tapes every step.
 * @example whileLoop(([i]) => less(i, 10), ([i, x]) => [add(i, 1), mul(x, 2)], [0, 1]) // [10, 1024]
 */
export function whileLoop<T extends Tree>(condFn: (carry: T) => Tensor | number, body: (carry: T) => T, init: T): T {
  const op = 'whileLoop';
  checkFunction(op, condFn);
  checkFunction(op, body);
  const { leaves, def } = leavesOf(op, init, 'init');
  const avals = leaves.map(avalOf);
  const trace = staging();
  if (trace) {
    const condPart = traceProgram(`${op} cond`, avals, (carry) => {
      const c = toTensor(op, condFn(rebuild<T>(def, carry)));
      if (c.size !== 1) throw new ShapeError(`${op}: condFn must return one element, got shape ${fmtShape(c.shape)}.`);
      return [c];
    });
    const bodyPart = traceProgram(`${op} body`, avals, (carry) => matching(op, 'the carry body returned', body(rebuild<T>(def, carry)), def, avals));
    const nc = condPart.captures.length;
    const call = {
      name: op,
      params: { cond: condPart.program, body: bodyPart.program },
      structure: { kind: 'while' as const, cond: condPart.program, body: bodyPart.program, carries: leaves.length },
      run: (ins: readonly Tensor[]) => {
        const carry0 = ins.slice(0, leaves.length);
        const condRun = executor(condPart.program, ins.slice(leaves.length, leaves.length + nc));
        const bodyRun = executor(bodyPart.program, ins.slice(leaves.length + nc));
        const out = whileLoop((c) => condRun(...leavesOf(op, c, 'carry').leaves)[0], (c) => rebuild<T>(def, bodyRun(...leavesOf(op, c, 'carry').leaves)), rebuild<T>(def, carry0));
        return freshOutputs(leavesOf(op, out, 'carry').leaves, ins);
      },
    };
    return rebuild<T>(def, trace.emitCall(call, [...leaves, ...condPart.captures, ...bodyPart.captures], avals));
  }
  const out = stepLoop(leaves, (carry) => {
    try {
      return truth(op, toTensor(op, condFn(rebuild<T>(def, carry))));
    } catch (e) {
      if (!(e instanceof ConcretizationError)) throw e;
      throw new ConcretizationError(`${op}: the loop condition depends on a value traced by jit under another transform (jit(grad(f)) or jit(jvp(f)) with a whileLoop inside f), so the number of steps is not known while tracing. Use grad(jit(f)) or jvp(jit(f)) instead (the jitted loop is then differentiated step by step), or fori with fixed bounds.`);
    }
  }, (carry) => matching(op, 'the carry body returned', body(rebuild<T>(def, carry)), def, avals));
  return rebuild<T>(def, out);
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
      structure: { kind: 'cond' as const, onTrue: yes.program, onFalse: no.program, operands: n },
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
