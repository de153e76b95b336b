// fori and whileLoop: loops whose carry is a tree of tensors, as jax.lax.fori_loop and
// while_loop, differentiable in both modes, eagerly and inside jit.
//
// Outside jit a loop is plain JS control flow on concrete values. In reverse mode without a
// budget every step is taped; with {checkpoints: s} or {memory} the tape keeps only the loop's
// inputs and outputs and an online checkpointing schedule keeps at most s snapshots of the
// carry (online.ts, online-loop.ts). Inside jit the loop is one equation whose `run` calls
// whileLoop again with bodies that execute the traced sub-programs. Under a tape inside jit
// (jit(grad(f)), and the backward program grad(jit(f)) traces) the number of steps is not
// known while tracing, so the loop is recorded as two equations: the forward loop, and a
// backward equation that, when the program runs, replays the loop from its inputs on a
// concrete tape (checkpointed with the same budget) and pulls the cotangents back.
import { BYTES } from '../backend/buffer.js';
import { sizeClass } from '../backend/memory.js';
import type { Aval } from '../core/primitive.js';
import { Tracer, innermostTrace, popTrace, pushTrace, topTrace, traceAt } from '../core/trace.js';
import { ArgumentError, ConcretizationError, ShapeError, fmtShape } from '../errors.js';
import { astype, scalarOf, toTensor } from '../ops/convert.js';
import { add, less, where } from '../ops/elementwise.js';
import { reshape } from '../ops/shape.js';
import { array, scalar, zeros } from '../tensor/create.js';
import { sizeOf } from '../tensor/shape.js';
import { closeScope, openScope } from '../tensor/scope.js';
import { DenseTensor, type Tensor } from '../tensor/tensor.js';
import { rebuild, type Tree, type TreeDef } from '../tree.js';
import { recordOutputs } from '../transforms/group.js';
import { TapeTrace, TapeVar, backward, seedsFor } from '../transforms/reverse.js';
import { checkFunction, denseInResult, scoped } from '../transforms/util.js';
import { anyExample, avalOf, batchedPart, executor, freshOutputs, leavesOf, matching, staging, stepLoop, truth } from '../staging/control.js';
import { execute } from '../staging/execute.js';
import type { Program, StagedCall } from '../staging/program.js';
import { StagingTrace, traceProgram } from '../staging/trace.js';
import { distinct, tapedStagedFori } from './fori-taped.js';
import { OnlineLoop, type LoopFunctions } from './online-loop.js';
import { forwardSweep, reverseSweep, type ExplicitBody } from './online-sweeps.js';
import { scan } from './scan.js';
import { batchedLoop, batchingLevel, lift, traced, type BatchedParts } from './batched-loops.js';
import { forwardLevel, forwardLoop, tracedForward } from './forward-loops.js';
import { parseOptions, type Budget } from './scan-options.js';

/** A reverse-mode budget for a loop (whileLoop, fori). */
export interface LoopOptions {
  /** Snapshots of the carry kept at once by the backward sweep (the initial state counts as one). */
  checkpoints?: number;
  /** Bytes of carry snapshots: a number or a string such as '64MB'; converted to a snapshot count. */
  memory?: number | string;
}

function parseLoopOptions(op: string, options: LoopOptions): Budget {
  if (options !== null && typeof options === 'object') {
    for (const key of Object.keys(options)) {
      if (key !== 'checkpoints' && key !== 'memory') throw new ArgumentError(`${op}: unknown option '${key}'; the options are checkpoints and memory.`);
    }
  }
  return parseOptions(op, options).budget;
}

/** The snapshot count a budget allows for a carry of `avals`, or null without a budget. */
function snapshotCount(op: string, budget: Budget, avals: readonly Aval[]): { snapshots: number; stateBytes: number } | null {
  if (budget.kind === 'none') return null;
  const perState = avals.reduce((n, a) => n + sizeClass(sizeOf(a.shape) * BYTES[a.dtype]), 0);
  if (budget.kind === 'snapshots') return { snapshots: budget.count, stateBytes: perState };
  const snapshots = Math.floor(budget.bytes / perState);
  if (snapshots < 1) {
    throw new ArgumentError(`${op}: a memory budget of ${budget.text} (${budget.bytes} bytes) cannot hold one snapshot of the loop's carry (${perState} bytes); raise it to at least ${perState} bytes or give {checkpoints: n}.`);
  }
  return { snapshots, stateBytes: perState };
}

interface Loop {
  op: string;
  def: TreeDef;
  avals: readonly Aval[];
  cond(carry: Tensor[]): Tensor;
  body(carry: Tensor[]): Tensor[];
}

function loopOf<T extends Tree>(op: string, condFn: (carry: T) => Tensor | number, body: (carry: T) => T, def: TreeDef, avals: readonly Aval[]): Loop {
  return {
    op, def, avals,
    cond: (carry) => {
      const c = toTensor(op, condFn(rebuild<T>(def, carry)));
      if (c.size !== 1) throw new ShapeError(`${op}: condFn must return one element, got shape ${fmtShape(c.shape)}.`);
      return c;
    },
    body: (carry) => matching(op, 'the carry body returned', body(rebuild<T>(def, carry)), def, avals),
  };
}

/**
 * The loop run step by step. Under vmap the condition may differ per example: the loop then
 * runs while any example's does, and an example whose condition is false keeps its carry
 * (selected with where).
 */
function plainLoop(loop: Loop, leaves: Tensor[]): Tensor[] {
  let perExample: Tensor | null = null;
  return stepLoop(leaves, (carry) => {
    perExample = null;
    return goOn(loop, carry, (c) => {
      const pred = loop.cond(c);
      if (batchedPart(pred)) perExample = pred;
      return pred;
    });
  }, (carry) => {
    const next = loop.body(carry);
    if (perExample === null) return next;
    const running = reshape(perExample, []);
    return next.map((x, i) => where(running, x, carry[i]));
  });
}

/** The loop condition as a JS boolean, its temporaries freed (a per-example condition is kept). */
function goOn(loop: Loop, carry: Tensor[], cond: (carry: Tensor[]) => Tensor = loop.cond): boolean {
  const scope = openScope();
  let pred: Tensor | null = null;
  try {
    pred = cond(carry);
    return batchedPart(pred) ? anyExample(loop.op, pred) : truth(loop.op, pred);
  } catch (e) {
    if (!(e instanceof ConcretizationError)) throw e;
    throw new ConcretizationError(`${loop.op}: the loop condition depends on a value traced by jit under grad with another transform between grad and jit (jit(jvp(grad(f))), jit(hessian(f)) or jit(vmap(grad(f))) with a whileLoop inside f), so the number of steps is not known while tracing. Use hessian(jit(f)), jvp(jit(grad(f))) or jit(grad(vmap(f))) instead (the jitted loop is then transformed step by step), or fori with fixed bounds.`);
  } finally {
    closeScope(scope, pred !== null && batchedPart(pred) ? denseInResult(pred) : []);
  }
}

/**
 * Runs `carry = body(carry)` while `condFn(carry)` is non-zero and returns the final carry, as
 * jax.lax.while_loop. Inside jit the loop is one equation. Differentiable in forward mode (jvp)
 * and in reverse mode (grad, vjp), eagerly and inside jit (jit(grad(f)) and grad(jit(f))).
 *
 * In reverse mode without a budget every step is taped (memory grows with the number of
 * steps). With `{checkpoints: s}` (or `{memory: bytes}`, converted to s snapshots of the carry)
 * at most s carry states are kept, placed by an online checkpointing schedule as the loop runs
 * (its length is unknown until it ends); the backward sweep then reverses each stretch between
 * kept states with Revolve. A loop of l steps costs l untaped body calls forward plus l taped
 * ones and the recomputation, within 1.25x of what offline Revolve needs knowing l (s >= 2).
 * The body may close over values being differentiated (grad with respect to W, W used inside).
 * @example whileLoop(([i]) => less(i, 10), ([i, x]) => [add(i, 1), mul(x, 2)], [0, 1]) // [10, 1024]
 * @example grad((a) => whileLoop(([x]) => greater(x, 1), ([x]) => [mul(x, a)], [scalar(8)], {checkpoints: 4})[0])(scalar(0.5))
 */
export function whileLoop<T extends Tree>(condFn: (carry: T) => Tensor | number, body: (carry: T) => T, init: T, options: LoopOptions = {}): T {
  const op = 'whileLoop';
  checkFunction(op, condFn);
  checkFunction(op, body);
  const budget = parseLoopOptions(op, options);
  const { leaves, def } = leavesOf(op, init, 'init');
  const avals = leaves.map(avalOf);
  const loop = loopOf(op, condFn, body, def, avals);
  const batching = batchingLevel();
  if (batching) {
    const parts: BatchedParts = {
      trace: batching, carry: leaves.map((x) => lift(batching, x)),
      leading: 0,
      body: traced(batching, `${op} body`, avals, (carry) => loop.body(carry)),
      cond: traced(batching, `${op} cond`, avals, (carry) => [loop.cond(carry)]),
    };
    return rebuild<T>(def, batchedLoop(parts, (c, b, init) => whileLoop(c!, (carry: Tensor[]) => b([], carry), init, options)));
  }
  const forward = forwardLevel();
  if (forward) {
    const body = tracedForward(forward, `${op} body`, avals, (carry) => loop.body(carry));
    const cond = tracedForward(forward, `${op} cond`, avals, (carry) => [loop.cond(carry)]);
    return rebuild<T>(def, forwardLoop(forward, leaves, body, 0, cond, (c, b, init) => whileLoop(c!, (carry: Tensor[]) => b([], carry), init, options)));
  }
  const trace = staging();
  if (trace) {
    const [call, inputs, outAvals] = stagedLoop(loop, leaves, options);
    return rebuild<T>(def, trace.emitCall(call, inputs, outAvals));
  }
  const inner = innermostTrace();
  if (inner instanceof TapeTrace && inner.redirect === null) {
    const below = traceAt(inner.level - 1);
    if (below instanceof StagingTrace) {
      const out = tapedStagedLoop(loop, inner, below, leaves, options, budget);
      if (out) return rebuild<T>(def, out);
    }
  }
  return rebuild<T>(def, eagerLoop(loop, leaves, budget));
}

/** The loop as one equation of the jit trace being recorded: [call, inputs, output avals]. */
function stagedLoop(loop: Loop, leaves: Tensor[], options: LoopOptions): [StagedCall, Tensor[], readonly Aval[], LoopParts] {
  const { op, def, avals } = loop;
  const condPart = traceProgram(`${op} cond`, avals, (carry) => [loop.cond(carry)]);
  const bodyPart = traceProgram(`${op} body`, avals, (carry) => loop.body(carry));
  const n = leaves.length, nc = condPart.captures.length;
  const budget = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const call: StagedCall = {
    name: op,
    params: { ...budget, cond: condPart.program, body: bodyPart.program },
    structure: { kind: 'while', cond: condPart.program, body: bodyPart.program, carries: n },
    run: (ins: readonly Tensor[]) => {
      const condRun = executor(condPart.program, ins.slice(n, n + nc));
      const bodyRun = executor(bodyPart.program, ins.slice(n + nc));
      const leavesOfCarry = (c: Tree) => leavesOf(op, c, 'carry').leaves;
      const out = whileLoop((c) => condRun(...leavesOfCarry(c))[0], (c) => rebuild<Tree>(def, bodyRun(...leavesOfCarry(c))), rebuild<Tree>(def, ins.slice(0, n)), options);
      return freshOutputs(leavesOfCarry(out), ins);
    },
  };
  return [call, [...leaves, ...condPart.captures, ...bodyPart.captures], avals, { cond: condPart.program, body: bodyPart.program, condCaptures: nc }];
}

/**
 * The loop under `tape` whose values are `staging`'s (jit(grad(f))): the forward loop is one
 * equation of `staging`, recorded on the tape as one group whose pullback adds a backward
 * equation. With a budget the forward equation also outputs its snapshots (s carry states,
 * their positions and the step count), which the backward equation reverses from; without
 * one the backward equation replays the loop on a tape. Returns null when some input belongs
 * to yet another transform.
 */
function tapedStagedLoop(loop: Loop, tape: TapeTrace, staging: StagingTrace, leaves: Tensor[], options: LoopOptions, budget: Budget): Tensor[] | null {
  const [call, inputs, avals, parts] = stagedLoop(loop, leaves, options);
  const primals = tape.unpack(inputs);
  if (primals.some((p) => p instanceof Tracer && p.trace !== staging)) return null;
  const differentiated = inputs.map((x) => x instanceof TapeVar && x.trace === tape);
  const count = snapshotCount(loop.op, budget, avals);
  if (!differentiated.includes(true) || count === null) {
    const outs = staging.emitCall(call, primals, avals);
    if (!differentiated.includes(true)) return outs;
    return recordOutputs(tape, loop.op, inputs, primals, outs, (cts, rows) => {
      const back = backwardCall(loop.op, call, inputs.map(avalOf), differentiated, cts, rows, null);
      return emitBackward(staging, back, [...primals, ...(cts.filter((c) => c !== null) as Tensor[])], differentiated);
    });
  }
  const s = count.snapshots, n = leaves.length;
  const forward = snapshotForward(loop, call, parts, n, s);
  const outs = staging.emitCall(forward, primals, [...avals, ...Array.from({ length: s }, () => avals).flat(), { shape: [s], dtype: 'float64' }, { shape: [], dtype: 'float64' }]);
  const carry = outs.slice(0, n);
  const saved = outs.slice(n);
  return recordOutputs(tape, loop.op, inputs, primals, carry, (cts, rows) => {
    const back = backwardCall(loop.op, call, inputs.map(avalOf), differentiated, cts, rows, { parts, n, s, saved: saved.length });
    return emitBackward(staging, back, [...primals, ...saved, ...(cts.filter((c) => c !== null) as Tensor[])], differentiated);
  });
}

interface LoopParts {
  cond: Program;
  body: Program;
  /** Number of the cond's captures (they come right after the carry among the inputs). */
  condCaptures: number;
}

/** The forward equation of a budgeted loop under jit(grad(f)): the final carry, s snapshots padded with the initial state, their positions (-1: padding) and the step count. */
function snapshotForward(loop: Loop, call: StagedCall, parts: LoopParts, n: number, s: number): StagedCall {
  return {
    name: loop.op,
    params: call.params,
    run: (ins) => {
      const init = ins.slice(0, n);
      if (!ins.every((x) => x instanceof DenseTensor)) {
        // Replayed under another transform: no snapshots; the backward equation replays the loop.
        const carry = call.run(ins);
        return distinct([...carry, ...Array.from({ length: s }, () => init).flat(), array(new Array<number>(s).fill(-1)), scalar(-1)], ins);
      }
      const condRun = executor(parts.cond, ins.slice(n, n + parts.condCaptures));
      const body: ExplicitBody = (carry, caps) => execute(parts.body, [...carry, ...caps]);
      const r = forwardSweep((carry) => goOn(loop, carry, (c) => condRun(...c)[0]), body, ins.slice(n + parts.condCaptures), init, s);
      const positions = [...r.kept, ...new Array<number>(s - r.kept.length).fill(-1)];
      const states = [...r.states, ...Array.from({ length: s - r.kept.length }, () => init)];
      return distinct([...r.carry, ...states.flat(), array(positions), scalar(r.steps)], ins);
    },
  };
}

/**
 * The backward equation: (inputs, [snapshots, positions, steps,] cotangents given) -> one
 * cotangent per differentiated input. From snapshots when it has them; otherwise it replays
 * the loop from its inputs on a concrete tape.
 */
function backwardCall(op: string, call: StagedCall, inputAvals: readonly Aval[], differentiated: readonly boolean[], cts: readonly (Tensor | null)[], rows: number,
  snap: { parts: LoopParts; n: number; s: number; saved: number } | null): { call: StagedCall; avals: Aval[] } {
  const given = cts.map((c) => c !== null);
  const ctAvals: Aval[] = inputAvals.flatMap((a, i) => (differentiated[i] ? [{ shape: [rows, ...a.shape], dtype: a.dtype }] : []));
  const replay = (xs: readonly Tensor[], seedsIn: readonly Tensor[]): Tensor[] => scoped((scope) => {
    const t = pushTrace((level) => new TapeTrace(level, scope));
    let vars: Tensor[], result: Tensor[];
    try {
      vars = xs.map((x, i) => (differentiated[i] ? t.variable(x) : x));
      result = call.run(vars);
    } finally {
      popTrace(t);
    }
    let c = 0;
    const seeds = seedsFor(t, result, result.map((_, j) => (given[j] ? seedsIn[c++] : null)));
    const wanted = vars.flatMap((v, i) => (differentiated[i] ? [(v as TapeVar).id] : []));
    const got = backward(t, seeds, wanted, { consume: true, keep: new Set() });
    const xsWanted = xs.filter((_, i) => differentiated[i]);
    return got.map((g, k) => g ?? zeros([rows, ...xsWanted[k].shape], { dtype: xsWanted[k].dtype }));
  });
  const inputCount = inputAvals.length;
  const run = (ins: readonly Tensor[]): Tensor[] => {
    const xs = ins.slice(0, inputCount);
    if (snap === null) return distinct(replay(xs, ins.slice(inputCount)), ins);
    const { parts, n, s } = snap;
    const saved = ins.slice(inputCount, inputCount + snap.saved);
    const seedsIn = ins.slice(inputCount + snap.saved);
    const steps = saved[saved.length - 1];
    if (!ins.every((x) => x instanceof DenseTensor) || steps.item() < 0) return distinct(replay(xs, seedsIn), ins);
    const positions = Array.from(saved[saved.length - 2].data());
    const kept = positions.filter((p) => p >= 0);
    const states = kept.map((_, j) => saved.slice(j * n, (j + 1) * n));
    let c = 0;
    const carryCts = given.map((g) => (g ? seedsIn[c++] : null));
    const caps = xs.slice(n + parts.condCaptures);
    const body: ExplicitBody = (carry, captures) => execute(parts.body, [...carry, ...captures]);
    const r = reverseSweep(body, caps, differentiated.slice(n + parts.condCaptures), kept, states, steps.item(), s, carryCts, rows);
    const out: Tensor[] = [];
    xs.forEach((x, i) => {
      if (!differentiated[i]) return;
      const g = i < n ? r.carry[i] : i >= n + parts.condCaptures ? r.captures[i - n - parts.condCaptures] : null;
      out.push(g ?? zeros([rows, ...x.shape], { dtype: x.dtype }));
    });
    return distinct(out, ins);
  };
  return { call: { name: `${op}_backward`, params: call.params, run }, avals: ctAvals };
}

/** Emits the backward equation; its outputs are the differentiated inputs' cotangents (null for the rest). */
function emitBackward(staging: StagingTrace, back: { call: StagedCall; avals: Aval[] }, inputs: Tensor[], differentiated: readonly boolean[]): (Tensor | null)[] {
  const got = staging.emitCall(back.call, inputs, back.avals);
  let k = 0;
  return differentiated.map((d) => (d ? got[k++] : null));
}

/**
 * The tape a budgeted loop checkpoints on: the innermost tape among its inputs or, when the
 * inputs are constants, the innermost transform if it is a tape (the body may close over that
 * tape's variables).
 */
function loopTape(top: ReturnType<typeof topTrace>): TapeTrace | null {
  if (top instanceof TapeTrace) return top;
  if (top !== null) return null;
  const inner = innermostTrace();
  return inner instanceof TapeTrace && inner.redirect === null ? inner : null;
}

function eagerLoop(loop: Loop, leaves: Tensor[], budget: Budget): Tensor[] {
  const plain = () => plainLoop(loop, leaves);
  const top = topTrace(loop.op, leaves);
  // Inside a step that an enclosing checkpointed loop replays, that loop decides what the
  // tape's values mean: this one runs plainly.
  if (top instanceof TapeTrace && top.redirect !== null) return plain();
  const count = snapshotCount(loop.op, budget, loop.avals);
  const tape = count === null ? null : loopTape(top);
  if (tape === null || count === null) return plain();
  const primals = tape.unpack(leaves);
  const fns: LoopFunctions = { goOn: (carry) => goOn(loop, carry), body: (carry) => loop.body(carry) };
  const online = new OnlineLoop(loop.op, fns, tape, primals, count.snapshots, count.stateBytes);
  const carry = online.forward();
  const closed = online.closures.vars;
  if (top !== tape && closed.length === 0) online.discard();
  return recordOutputs(tape, loop.op, [...leaves, ...closed], [...primals, ...closed.map((v) => v.primal)], carry, (cts) => online.reverse(cts));
}

/**
 * Runs `body(i, carry)` for i = lower, ..., upper - 1 and returns the final carry (a tree of
 * tensors), as jax.lax.fori_loop. Inside jit the loop is one equation, however many steps it
 * takes. With JS-number bounds and a budget (`{checkpoints: s}` or `{memory}`) reverse mode
 * checkpoints it as scan does (Revolve: the length is known); with tensor bounds (a bound
 * computed inside jit) it is a whileLoop on a counter and goes through whileLoop's reverse mode.
 * @example fori(0, 10, (i, x) => add(x, i), zeros([2])) // [45, 45]
 */
export function fori<T extends Tree>(lower: number | Tensor, upper: number | Tensor, body: (i: Tensor, carry: T) => T, init: T, options: LoopOptions = {}): T {
  const op = 'fori';
  checkFunction(op, body);
  const budget = parseLoopOptions(op, options);
  if (typeof lower === 'number' && typeof upper === 'number') {
    if (!Number.isInteger(lower) || !Number.isInteger(upper)) {
      throw new ArgumentError(`${op}: lower and upper must be integers (or scalar tensors), got ${JSON.stringify(lower)} and ${JSON.stringify(upper)}.`);
    }
    if (budget.kind !== 'none' && upper > lower) {
      type Carry = [Tensor, T];
      const [[, out]] = scan((c: Carry) => [[add(c[0], 1), body(c[0], c[1])] as Carry, null], [scalarOf(lower, 'float64'), init] as Carry, { length: upper - lower }, options);
      return out;
    }
    return numberBounds(op, lower, upper, body, init);
  }
  const bound = (b: number | Tensor, which: string) => {
    const t = toTensor(op, b);
    if (t.size !== 1) throw new ShapeError(`${op}: ${which} must be a number or a one-element tensor, got shape ${fmtShape(t.shape)}.`);
    return t.dtype === 'float64' ? t : astype(t, 'float64');
  };
  const lo = bound(lower, 'lower'), hi = bound(upper, 'upper');
  type Counted = [Tensor, T];
  const [, out] = whileLoop((c: Counted) => less(c[0], hi), (c: Counted) => [add(c[0], 1), body(c[0], c[1])] as Counted, [lo, init] as Counted, options);
  return out;
}

/** fori with JS-number bounds and no budget: one equation inside jit, two (forward and backward, fori-taped.ts) inside jit(grad(f)), a plain loop outside. */
function numberBounds<T extends Tree>(op: string, lower: number, upper: number, body: (i: Tensor, carry: T) => T, init: T): T {
  const { leaves, def } = leavesOf(op, init, 'init');
  const avals = leaves.map(avalOf);
  const batching = batchingLevel();
  if (batching) {
    const parts: BatchedParts = {
      trace: batching, carry: leaves.map((x) => lift(batching, x)),
      leading: 1,
      body: traced(batching, `${op} body`, [{ shape: [], dtype: 'float64' }, ...avals], ([i, ...carry]) =>
        matching(op, 'the carry body returned', body(i, rebuild<T>(def, carry)), def, avals)),
    };
    return rebuild<T>(def, batchedLoop(parts, (_, b, init) => fori(lower, upper, (i, carry: Tensor[]) => b([i], carry), init)));
  }
  const forward = forwardLevel();
  if (forward) {
    const part = tracedForward(forward, `${op} body`, [{ shape: [], dtype: 'float64' }, ...avals], ([i, ...carry]) =>
      matching(op, 'the carry body returned', body(i, rebuild<T>(def, carry)), def, avals));
    return rebuild<T>(def, forwardLoop(forward, leaves, part, 1, null, (_, b, init) => fori(lower, upper, (i, carry: Tensor[]) => b([i], carry), init)));
  }
  const trace = staging();
  const inner = innermostTrace();
  const below = inner instanceof TapeTrace && inner.redirect === null && upper > lower ? traceAt(inner.level - 1) : null;
  if (trace || below instanceof StagingTrace) {
    const { program, captures } = traceProgram(`${op} body`, [{ shape: [], dtype: 'float64' }, ...avals], ([i, ...carry]) =>
      matching(op, 'the carry body returned', body(i, rebuild<T>(def, carry)), def, avals));
    const run = executor(program, []);
    const call: StagedCall = {
      name: op,
      params: { lower, upper, body: program },
      structure: { kind: 'fori', lower, upper, body: program },
      run: (ins: readonly Tensor[]) => {
        const caps = ins.slice(leaves.length);
        const out = fori(lower, upper, (i, c) => rebuild<T>(def, run(i, ...leavesOf(op, c, 'carry').leaves, ...caps)), rebuild<T>(def, ins.slice(0, leaves.length)));
        return freshOutputs(leavesOf(op, out, 'carry').leaves, ins);
      },
    };
    if (trace) return rebuild<T>(def, trace.emitCall(call, [...leaves, ...captures], avals));
    const out = tapedStagedFori(op, lower, upper, program, call, avals, leaves, captures, inner as TapeTrace, below as StagingTrace);
    if (out) return rebuild<T>(def, out);
  }
  const out = stepLoop(leaves, (_, i) => lower + i < upper, (carry, i) =>
    matching(op, 'the carry body returned', body(scalarOf(lower + i, 'float64'), rebuild<T>(def, carry)), def, avals));
  return rebuild<T>(def, out);
}
