// scan: a loop as one operation, as jax.lax.scan. Without a reverse-mode trace it is a plain
// loop. Under grad with no budget every step is taped (inside jit(grad(f)) it is two
// equations instead, scan_stacked and scan_backward: fori-taped.ts). With a budget the tape
// holds only the scan's inputs and outputs; the forward pass keeps a few carry snapshots placed by the
// binomial (Revolve) schedule, and the backward sweep replays the schedule: untaped steps to
// move between snapshots, one taped step at a time to pull the carry's cotangent back.
import { memoryInfo } from '../backend/memory.js';
import { Tracer, innermostTrace, popTrace, pushTrace, topTrace, traceAt } from '../core/trace.js';
import { ArgumentError, DifferentiationError, ShapeError } from '../errors.js';
import { zeros } from '../tensor/create.js';
import { shapesEqual } from '../tensor/shape.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { toTensor } from '../ops/convert.js';
import { add } from '../ops/elementwise.js';
import { reshape, slice, stack } from '../ops/shape.js';
import { flatten, rebuild, type Tree, type TreeDef } from '../tree.js';
import { NodeGroup, claimFor, recordOutputs } from '../transforms/group.js';
import { StateStore, SweepCotangents, keepFresh, stateBytes } from './scan-state.js';
import { Closures, LiftingTape } from './scan-closures.js';
import { TapeTrace, TapeVar, backward } from '../transforms/reverse.js';
import { revolveSchedule, scheduleStats, uniformSchedule, type ScheduleAction } from './revolve.js';
import { checkFunction, scoped } from '../transforms/util.js';
import { executor, freshOutputs, staging } from '../staging/control.js';
import { StagingTrace, traceProgram } from '../staging/trace.js';
import type { StagedCall } from '../staging/program.js';
import { tapedStagedLoop } from './fori-taped.js';
import { batchedScan, batchingLevel } from './batched-loops.js';
import { forwardLevel, forwardScan } from './forward-loops.js';
import type { Aval } from '../core/primitive.js';
import {
  type Budget, type Layout, type ScanLength, type ScanOptions, type Sequence, describe, layoutOf, parseOptions, parseXs,
} from './scan-options.js';

interface StepResult {
  carry: Tensor[];
  ys: Tensor[];
  fresh: DenseTensor[];
}

/** Calls the user's step and checks that the carry keeps its layout and y its structure. */
class StepFunction {
  private yDef: TreeDef | null = null;
  private yLayout: Layout[] = [];
  private readonly carryLayout: Layout[];
  private readonly carryDefText: string;

  constructor(private readonly op: string, private readonly fn: (carry: unknown, x: unknown) => unknown, readonly carryDef: TreeDef,
    init: Tensor[], private readonly seq: Sequence) {
    this.carryLayout = init.map(layoutOf);
    this.carryDefText = JSON.stringify(carryDef);
  }

  /** The tree structure of y (known once the step has run). */
  yTreeDef(): TreeDef {
    return this.yDef ?? { kind: 'none', value: null };
  }

  /** The leaves of x_i: row i of each leaf of xs (taken from `sources`, xs at some level). */
  xAt(i: number, sources: readonly Tensor[]): Tensor[] {
    return sources.map((s) => reshape(slice(s, [i, ...s.shape.slice(1).map(() => 0)], [1, ...s.shape.slice(1)]), s.shape.slice(1)));
  }

  call(i: number, carry: Tensor[], x: readonly Tensor[], closureLevel: number | null): { carry: Tensor[]; ys: Tensor[] } {
    const xTree = this.seq.def === null ? null : rebuild(this.seq.def, x);
    const out = this.fn(rebuild(this.carryDef, carry), xTree);
    if (!Array.isArray(out) || out.length !== 2) {
      throw new ArgumentError(`${this.op}: step must return [carry, y] (y may be null), got ${Array.isArray(out) ? `an array of ${out.length}` : out === null ? 'null' : typeof out}.`);
    }
    const c = flatten(out[0], `${this.op}: step's carry`);
    if (JSON.stringify(c.def) !== this.carryDefText) {
      throw new ShapeError(`${this.op}: step ${i} returned a carry whose tree structure differs from init's; the carry must keep its structure, leaf shapes and dtypes.`);
    }
    const carryOut = c.leaves.map((l, j) => {
      const t = toTensor(this.op, l, this.carryLayout[j].dtype);
      if (t.dtype !== this.carryLayout[j].dtype || !shapesEqual(t.shape, this.carryLayout[j].shape)) {
        throw new ShapeError(`${this.op}: step ${i} returned carry leaf ${j} as ${describe(layoutOf(t))} but init has ${describe(this.carryLayout[j])}; the carry must keep its shapes and dtypes.`);
      }
      return t;
    });
    const y = flatten(out[1], `${this.op}: step's y`);
    const ys = y.leaves.map((l) => toTensor(this.op, l));
    if (this.yDef === null) {
      this.yDef = y.def;
      this.yLayout = ys.map(layoutOf);
    } else if (JSON.stringify(y.def) !== JSON.stringify(this.yDef) || ys.some((t, j) => t.dtype !== this.yLayout[j].dtype || !shapesEqual(t.shape, this.yLayout[j].shape))) {
      throw new ShapeError(`${this.op}: step ${i} returned y as ${ys.map((t) => describe(layoutOf(t))).join(', ') || 'no tensors'} but step 0 returned ${this.yLayout.map(describe).join(', ') || 'no tensors'}; y must keep its structure, shapes and dtypes to be stacked.`);
    }
    if (closureLevel !== null) {
      for (const t of [...carryOut, ...ys]) {
        if (t instanceof Tracer && t.trace instanceof TapeTrace && t.trace.level >= closureLevel) {
          throw new DifferentiationError(`${this.op}: step ${i} uses a value that grad is differentiating without receiving it through the carry or xs (a closure). With a checkpoint budget the steps are replayed during the backward sweep, where closed-over values cannot receive gradients: put the value in the carry (e.g. carry = [h, W]) or drop the budget.`);
        }
      }
    }
    return { carry: carryOut, ys };
  }

  /** Calls step i in its own scope; only its outputs survive (y's only if `keepY`). */
  scopedCall(i: number, carry: Tensor[], sources: readonly Tensor[], keepY: boolean, closureLevel: number | null, measure?: () => void): StepResult {
    const { result, fresh } = keepFresh(() => {
      const r = this.call(i, carry, this.xAt(i, sources), closureLevel);
      measure?.();
      return r;
    }, (r) => (keepY ? [...r.carry, ...r.ys] : r.carry));
    return { carry: result.carry, ys: keepY ? result.ys : [], fresh };
  }

  stackYs(ys: Tensor[][]): Tree {
    const def = this.yDef ?? { kind: 'none', value: null };
    const stacked = this.yLayout.map((_, j) => stack(ys.map((y) => y[j]), 0));
    return rebuild(def, stacked);
  }
}

/**
 * The checkpointed loop under a tape. `forward` runs the value pass, taking the schedule's
 * snapshots on the way; `reverse` pulls cotangents back by carrying out the rest of the
 * schedule. A second reverse (vjp's pullback called again, or jacrev's next chunk) starts over
 * from the initial state, since the first one has released the snapshots.
 */
class CheckpointedLoop {
  private readonly store = new StateStore();
  private actions: ScheduleAction[] = [];
  private firstTurn = 0;
  private swept = false;

  readonly closures: Closures;

  constructor(private readonly op: string, private readonly step: StepFunction, private readonly trace: TapeTrace,
    private readonly init: Tensor[], private readonly xs: Tensor[], private readonly differentiatedXs: boolean[],
    private readonly length: number, private readonly budget: Budget, private readonly schedule: 'revolve' | 'uniform') {
    this.closures = new Closures(op, trace);
  }

  /** The value pass; the variables the step closes over are in `closures` afterwards. */
  forward(): { carry: Tensor[]; ys: Tree } {
    return this.closures.untaped(true, () => this.valuePass());
  }

  /** Frees the snapshots when the scan is not recorded after all (nothing was differentiated). */
  discard(): void {
    this.store.clear();
  }

  private valuePass(): { carry: Tensor[]; ys: Tree } {
    const l = this.length;
    let stepZero: StepResult | null = null;
    let snapshots = Infinity;
    if (this.budget.kind === 'bytes') {
      const before = memoryInfo().bytesInUse;
      let tapeBytes = 0;
      stepZero = this.step.scopedCall(0, this.init, this.xs, true, this.trace.level, () => (tapeBytes = memoryInfo().bytesInUse - before));
      // Leaves the step passes through unchanged (a weight matrix in the carry) are shared by
      // every snapshot, so they do not count against the budget.
      const zero = stepZero;
      const perState = stateBytes(this.init.filter((leaf, j) => zero.carry[j] !== leaf));
      snapshots = perState === 0 ? l : Math.floor((this.budget.bytes - tapeBytes) / perState);
      if (snapshots < 1) {
        for (const d of stepZero.fresh) d.dispose();
        throw new ArgumentError(`${this.op}: a memory budget of ${this.budget.text} (${this.budget.bytes} bytes) cannot hold one carry state (${perState} bytes) plus one step's tape (${tapeBytes} bytes, measured on step 0); it needs at least ${perState + tapeBytes} bytes. Raise the budget or give {checkpoints: n}.`);
      }
    } else if (this.budget.kind === 'snapshots') {
      snapshots = this.budget.count;
    }
    this.actions = this.schedule === 'uniform' ? uniformSchedule(l) : revolveSchedule(l, Math.min(snapshots, l));
    if (this.schedule === 'uniform' && Number.isFinite(snapshots)) {
      const need = scheduleStats(this.actions).peakSlots;
      if (need > snapshots) {
        throw new ArgumentError(`${this.op}: the uniform schedule for ${l} steps holds up to ${need} snapshots but the budget allows ${snapshots}; use the default (revolve) schedule or raise the budget.`);
      }
    }
    this.firstTurn = this.actions.findIndex((a) => a.kind === 'firsturn');
    const ys: Tensor[][] = [];
    this.store.setCurrent(this.init);
    const advance = (i: number, last: boolean): StepResult => {
      const r = i === 0 && stepZero ? stepZero : this.step.scopedCall(i, this.store.current!, this.xs, true, this.trace.level);
      this.store.own(r.fresh);
      this.store.hold(r.ys);
      ys.push(r.ys);
      if (!last) this.store.setCurrent(r.carry);
      return r;
    };
    for (const a of this.actions.slice(0, this.firstTurn)) {
      if (a.kind === 'advance') for (let i = a.from; i < a.to; i++) advance(i, false);
      else if (a.kind === 'takeshot') this.store.takeshot(a.slot);
    }
    // The value pass also runs the last step, untaped; its state stays current for the turn.
    const last = advance(l - 1, true);
    this.store.disown(last.carry);
    const stacked = this.step.stackYs(ys);
    for (const y of ys) this.store.drop(y);
    claimFor(this.trace, this.store.held());
    this.store.movedTo(this.trace.scope);
    return { carry: last.carry, ys: stacked };
  }

  reverse(cts: (Tensor | null)[], rows: number): (Tensor | null)[] {
    const nc = this.init.length;
    let carryCt = cts.slice(0, nc);
    const ysCt = cts.slice(nc);
    // The cotangents handed in are this pullback's own (see Pullback, set aside in the tape's
    // scope) and the turns' results live in the sweep's scope: each is freed as soon as the
    // sweep has moved past it, so that only one carry cotangent is alive at a time. One that
    // an enclosing tape has recorded (grad of grad) has moved to that tape's scope; it is left.
    const sweep = new SweepCotangents(cts, this.trace.scope);
    const owned = sweep.owned;
    const free = (t: Tensor) => sweep.free(t);
    if (this.swept) {
      this.store.clear();
      this.store.setCurrent(this.init);
      this.run(this.actions.slice(0, this.firstTurn), () => {});
    }
    this.swept = true;
    const xsCt: (Tensor | null)[][] = this.xs.map(() => new Array<Tensor | null>(this.length).fill(null));
    // Closed-over variables receive the sum of every turn's cotangent.
    const closureCt: (Tensor | null)[] = this.closures.vars.map(() => null);
    this.run(this.actions.slice(this.firstTurn), (i) => {
      const { carry, xs, closures } = this.turn(i, carryCt, ysCt, rows);
      for (const old of carryCt) {
        if (old && owned.has(old) && !carry.includes(old) && !xs.includes(old)) free(old);
      }
      for (const c of [...carry, ...xs]) if (c) owned.add(c);
      carryCt = carry;
      xs.forEach((c, j) => (xsCt[j][i] = c));
      sweep.accumulate(closureCt, closures);
      this.store.setCurrent(null);
    });
    this.store.clear();
    const xsGrads = this.xs.map((x, j) => {
      const perStep = xsCt[j];
      if (!this.differentiatedXs[j] || perStep.every((c) => c === null)) return null;
      const rowShape = [rows, ...x.shape.slice(1)];
      const g = stack(perStep.map((c) => c ?? zeros(rowShape, { dtype: x.dtype })), 1);
      for (const c of perStep) if (c && owned.has(c) && !carryCt.includes(c)) free(c);
      return g;
    });
    return [...carryCt, ...xsGrads, ...closureCt];
  }

  /** Carries out `actions`; turns go to `onTurn`. Untaped steps here keep no y. */
  private run(actions: readonly ScheduleAction[], onTurn: (step: number) => void): void {
    this.store.follow(actions, (from, to) => this.closures.untaped(false, () => {
      for (let i = from; i < to; i++) {
        const r = this.step.scopedCall(i, this.store.current!, this.xs, false, null);
        this.store.own(r.fresh);
        this.store.setCurrent(r.carry);
      }
    }), onTurn);
  }

  /**
   * Step i on a fresh tape from the current state, pulled back from the carry's and y_i's
   * cotangents to the carry, x_i and the closed-over variables.
   */
  private turn(i: number, carryCt: (Tensor | null)[], ysCt: (Tensor | null)[], rows: number): { carry: (Tensor | null)[]; xs: (Tensor | null)[]; closures: (Tensor | null)[] } {
    if (carryCt.every((c) => c === null) && ysCt.every((c) => c === null)) {
      return { carry: carryCt.map(() => null), xs: this.xs.map(() => null), closures: this.closures.vars.map(() => null) };
    }
    const state = this.store.current!;
    const cts = scoped((scope) => {
      const trace = pushTrace((level) => new LiftingTape(level, scope, this.trace));
      try {
        const carryVars = state.map((s) => trace.variable(s));
        const x = this.step.xAt(i, this.xs).map((v, j) => (this.differentiatedXs[j] ? trace.variable(v) : v));
        // The sweep runs with the closures lifted too: a budgeted scan inside the step replays
        // its own steps during it, and they must see the lifted variables.
        return this.closures.lifted(trace, () => {
          const out = this.step.call(i, carryVars, x, null);
          const seeds = new Map<number, Tensor>();
          const seed = (o: Tensor, ct: Tensor | null) => {
            if (ct === null || !(o instanceof TapeVar && o.trace === trace)) return;
            const prev = seeds.get(o.id);
            seeds.set(o.id, prev ? add(prev, ct) : ct);
          };
          out.carry.forEach((o, j) => seed(o, carryCt[j]));
          out.ys.forEach((o, j) => {
            const ct = ysCt[j];
            seed(o, ct && reshape(slice(ct, [0, i, ...o.shape.map(() => 0)], [rows, 1, ...o.shape]), [rows, ...o.shape]));
          });
          const wanted = [...carryVars, ...x].map((v) => (v instanceof TapeVar && v.trace === trace ? v.id : -1));
          return backward(trace, seeds, [...wanted, ...this.closures.wanted(trace)], { consume: true, keep: new Set() });
        });
      } finally {
        popTrace(trace);
      }
    });
    const nx = this.xs.length;
    return { carry: cts.slice(0, state.length), xs: cts.slice(state.length, state.length + nx), closures: cts.slice(state.length + nx) };
  }
}

/** The loop without checkpointing: taped if `trace` is given, freeing dropped states if not. */
function directLoop(step: StepFunction, init: Tensor[], seq: Sequence, trace: TapeTrace | null, closureLevel: number | null): { carry: Tensor[]; ys: Tree } {
  if (trace) {
    // Row i of a taped xs leaf is one output of an unstack group, whose backward stacks the
    // rows' cotangents once (slicing each row separately would pad a full-size cotangent per step).
    const rowOf = seq.leaves.map((leaf) => {
      if (!(leaf instanceof TapeVar && leaf.trace === trace)) return (i: number) => step.xAt(i, [leaf])[0];
      const primal = leaf.primal;
      const group = new NodeGroup(trace, 'scan_unstack', [leaf], [primal], (cts, k) => [
        stack(cts.map((c) => c ?? zeros([k, ...primal.shape.slice(1)], { dtype: primal.dtype })), 1),
      ]);
      return (i: number) => group.output(step.xAt(i, [primal])[0]);
    });
    let carry = init;
    const ys: Tensor[][] = [];
    for (let i = 0; i < seq.length; i++) {
      const out = step.call(i, carry, rowOf.map((row) => row(i)), closureLevel);
      carry = out.carry;
      ys.push(out.ys);
    }
    return { carry, ys: step.stackYs(ys) };
  }
  // States live in the loop's own scope, below every active tape's: a tape that records one
  // (the step closed over a value grad is differentiating) moves it out, and it is kept.
  return scoped(() => {
    const store = new StateStore();
    store.setCurrent(init);
    const ys: Tensor[][] = [];
    for (let i = 0; i < seq.length; i++) {
      const r = step.scopedCall(i, store.current!, seq.leaves, true, closureLevel);
      store.own(r.fresh);
      store.hold(r.ys);
      ys.push(r.ys);
      store.setCurrent(r.carry);
    }
    const carry = store.current!;
    store.disown(carry);
    const stacked = step.stackYs(ys);
    for (const y of ys) store.drop(y);
    store.setCurrent(null);
    return { carry, ys: stacked };
  });
}

/**
 * The tape a budgeted scan checkpoints on: the innermost tape among its inputs or, when the
 * inputs are constants, the innermost transform if it is a tape (the step may close over
 * that tape's variables: grad with respect to W, and W used inside the step).
 */
function loopTape(top: ReturnType<typeof topTrace>, budgeted: boolean): TapeTrace | null {
  if (top instanceof TapeTrace) return top;
  if (top !== null || !budgeted) return null;
  const inner = innermostTrace();
  return inner instanceof TapeTrace && inner.redirect === null ? inner : null;
}

/**
 * Loops `step(carry, x) => [carry, y]` over the leading axis of `xs` (or `{length: n}` times
 * with x = null), as jax.lax.scan. Returns [final carry, ys], the y's stacked along a new
 * leading axis (null when step returns y = null). Carry, x and y may be trees; the carry must
 * keep its structure, shapes and dtypes.
 *
 * Under grad without a budget every step is taped. With `{checkpoints: s}` or
 * `{memory: '64MB'}` the backward pass keeps at most s carry snapshots (the initial state
 * counts as one) placed by the binomial Revolve schedule, which needs the fewest step
 * evaluations for that memory: l taped steps plus t = r*l - C(s+r, s+1) untaped ones, r the
 * least integer with C(s+r, s) >= l (see `optimalAdvances`), plus one for the value pass. A
 * byte budget is converted to s after measuring step 0: s = floor((bytes - one step's tape) /
 * one carry state). `{schedule: 'uniform'}` uses sqrt(l) evenly spaced snapshots instead.
 * A step may close over values being differentiated (grad with respect to W, and W used
 * inside the step); with a budget each turn of the backward sweep adds its share to their
 * gradient. Carry leaves the step returns unchanged (a weight matrix carried along) are shared
 * by every snapshot and do not count against a byte budget.
 * @example
 * const [h, hs] = scan((h, x) => { const n = tanh(add(h, x)); return [n, n]; }, zeros([4]), xs);
 * grad((h0) => sum(scan((h, x) => [sin(h).add(x), null], h0, xs, { checkpoints: 10 })[0]))(h0);
 */
export function scan<C extends Tree, X extends Tree = Tree, Y extends Tree = Tree>(step: (carry: C, x: X) => readonly [C, Y], init: C,
  xs: Tree | ScanLength, options: ScanOptions = {}): [C, Y] {
  const op = 'scan';
  checkFunction(op, step);
  const { budget, schedule } = parseOptions(op, options);
  const seq = parseXs(op, xs);
  const { leaves, def } = flatten(init, `${op}: init`);
  const initLeaves = leaves.map((l) => toTensor(op, l));
  const fn = step as (carry: unknown, x: unknown) => unknown;
  const stepFn = new StepFunction(op, fn, def, initLeaves, seq);
  if (seq.length === 0) return [rebuild<C>(def, initLeaves), null as Y];
  const batching = batchingLevel();
  if (batching) return scanBelow((...a) => batchedScan(batching, ...a), stepFn, initLeaves, seq, options) as [C, Y];
  const forward = forwardLevel();
  if (forward) return scanBelow((...a) => forwardScan(forward, ...a), stepFn, initLeaves, seq, options) as [C, Y];
  const trace = staging();
  if (trace) return stagedScan(trace, stepFn, initLeaves, seq, options) as [C, Y];
  const inputs = [...initLeaves, ...seq.leaves];
  const top = topTrace(op, inputs);
  // Inside a step that an enclosing checkpointed scan replays, that scan decides what the
  // tape's values mean: this loop runs plainly.
  if (top instanceof TapeTrace && top.redirect !== null) {
    const result = directLoop(stepFn, initLeaves, seq, null, null);
    return [rebuild<C>(def, result.carry), result.ys as Y];
  }
  const inner = innermostTrace();
  if (schedule === null && inner instanceof TapeTrace && inner.redirect === null) {
    const below = traceAt(inner.level - 1);
    const out = below instanceof StagingTrace ? tapedStagedScan(inner, below, stepFn, initLeaves, seq, options) : null;
    if (out) return out as [C, Y];
  }
  const tape = loopTape(top, schedule !== null);
  if (tape === null || schedule === null) {
    const closureLevel = schedule === null ? null : (top?.level ?? -1) + 1;
    const result = directLoop(stepFn, initLeaves, seq, top instanceof TapeTrace ? top : null, closureLevel);
    return [rebuild<C>(def, result.carry), result.ys as Y];
  }
  const primals = tape.unpack(inputs);
  const differentiatedXs = seq.leaves.map((x) => x instanceof TapeVar && x.trace === tape);
  const loop = new CheckpointedLoop(op, stepFn, tape, primals.slice(0, initLeaves.length), primals.slice(initLeaves.length),
    differentiatedXs, seq.length, budget, schedule);
  const { carry, ys } = loop.forward();
  const { leaves: yLeaves, def: yDef } = flatten(ys);
  const closed = loop.closures.vars;
  if (top !== tape && closed.length === 0) loop.discard();
  const outs = recordOutputs(tape, op, [...inputs, ...closed], [...primals, ...closed.map((v) => v.primal)],
    [...carry, ...(yLeaves as Tensor[])], (cts, rows) => loop.reverse(cts, rows));
  return [rebuild<C>(def, outs.slice(0, carry.length)), rebuild<Y>(yDef, outs.slice(carry.length))];
}

/**
 * scan inside jit: the step is traced once into a sub-program and the loop is one equation
 * whose outputs are the final carry and the stacked ys. Its `run` is scan itself with a step
 * that executes the sub-program, so the equation runs, differentiates (with the same
 * checkpointing options) and inlines like any other.
 */
function stagedScan(trace: StagingTrace, stepFn: StepFunction, init: Tensor[], seq: Sequence, options: ScanOptions): [unknown, unknown] {
  const s = scanCall(stepFn, init, seq, options);
  const outs = trace.emitCall(s.call, [...init, ...seq.leaves, ...s.captures], [...s.carry, ...s.ys.map((a) => ({ shape: [seq.length, ...a.shape], dtype: a.dtype }))]);
  return [rebuild(stepFn.carryDef, outs.slice(0, init.length)), rebuild(s.yDef, outs.slice(init.length))];
}

/** The step traced once into a program and the scan equation that runs it (stagedScan, tapedStagedScan). */
function scanCall(stepFn: StepFunction, init: Tensor[], seq: Sequence, options: ScanOptions) {
  const op = 'scan';
  const carryAvals = init.map((t) => ({ shape: t.shape, dtype: t.dtype }));
  const xAvals = seq.leaves.map((t) => ({ shape: t.shape.slice(1), dtype: t.dtype }));
  let yDef: TreeDef | null = null;
  let yAvals: { shape: readonly number[]; dtype: Tensor['dtype'] }[] = [];
  const { program, captures } = traceProgram(`${op} step`, [...carryAvals, ...xAvals], (ins) => {
    const { carry, ys } = stepFn.call(0, ins.slice(0, init.length), ins.slice(init.length), null);
    const y = flatten(rebuild(stepFn.yTreeDef(), ys), `${op}: step's y`);
    yDef = y.def;
    yAvals = (y.leaves as Tensor[]).map((t) => ({ shape: t.shape, dtype: t.dtype }));
    return [...carry, ...(y.leaves as Tensor[])];
  });
  const nc = init.length, nx = seq.leaves.length;
  const call = {
    name: op,
    params: { length: seq.length, step: program },
    run: (ins: readonly Tensor[]) => {
      const run = executor(program, ins.slice(nc + nx));
      const step = (carry: unknown, x: unknown) => {
        const outs = run(...flatten(carry).leaves as Tensor[], ...(x === null ? [] : flatten(x).leaves as Tensor[]));
        return [rebuild(stepFn.carryDef, outs.slice(0, nc)), rebuild(yDef!, outs.slice(nc))] as const;
      };
      const xsTree = seq.def === null ? { length: seq.length } : rebuild(seq.def, ins.slice(nc, nc + nx));
      const [carry, ys] = scan(step, rebuild(stepFn.carryDef, ins.slice(0, nc)), xsTree, options);
      return freshOutputs([...flatten(carry).leaves as Tensor[], ...flatten(ys).leaves as Tensor[]], ins);
    },
  };
  return { call: call as StagedCall, program, captures, carry: carryAvals as Aval[], xs: xAvals as Aval[], ys: yAvals as Aval[], yDef: yDef! as TreeDef };
}

/**
 * scan without a budget under a tape whose values are a jit trace's (jit(grad(f))): two
 * equations, scan_stacked and scan_backward (fori-taped.ts), instead of every step unrolled on
 * the tape. Null when some input belongs to yet another transform.
 */
function tapedStagedScan(tape: TapeTrace, below: StagingTrace, stepFn: StepFunction, init: Tensor[], seq: Sequence, options: ScanOptions): [unknown, unknown] | null {
  const s = scanCall(stepFn, init, seq, options);
  const loop = { op: 'scan', n: seq.length, lower: null, program: s.program, carry: s.carry, xs: s.xs, ys: s.ys };
  const outs = tapedStagedLoop(loop, s.call, init, seq.leaves, s.captures, tape, below);
  if (outs === null) return null;
  return [rebuild(stepFn.carryDef, outs.slice(0, init.length)), rebuild(s.yDef, outs.slice(init.length))];
}

/** The rule of a transform that runs a scan as one scan at the level below it (batchedScan, forwardScan) without the trace argument. */
type BelowRule = (carry: Tensor[], xs: Tensor[], avals: readonly Aval[], step: (ins: Tensor[]) => Tensor[],
  run: (step: (carry: Tensor[], x: Tensor[]) => [Tensor[], Tensor[]], init: Tensor[], xs: Tensor[]) => [Tensor[], Tensor[]]) => Tensor[];

/**
 * scan under jit(vmap(f)) (one scan on the batched values, batched-loops.ts) or under jvp inside
 * jit (one scan carrying the tangents too, forward-loops.ts): the step traced on the carry and
 * one slice of xs, and `rule` running it as one scan below the transform.
 */
function scanBelow(rule: BelowRule, stepFn: StepFunction, init: Tensor[], seq: Sequence, options: ScanOptions): [unknown, unknown] {
  const nc = init.length;
  let yDef: TreeDef | null = null;
  const avals = [...init, ...seq.leaves.map((t) => ({ shape: t.shape.slice(1), dtype: t.dtype }))].map((t) => ({ shape: t.shape, dtype: t.dtype }));
  const outs = rule(init, seq.leaves, avals, (ins) => {
    const { carry, ys } = stepFn.call(0, ins.slice(0, nc), ins.slice(nc), null);
    const y = flatten(rebuild(stepFn.yTreeDef(), ys), 'scan: step\'s y');
    yDef = y.def;
    return [...carry, ...(y.leaves as Tensor[])];
  }, (step, c0, xs) => {
    const [carry, ys] = scan((c: Tensor[], x: Tensor[] | null) => step(c, x ?? []), c0, seq.def === null ? { length: seq.length } : xs, options);
    return [carry, ys ?? []];
  });
  return [rebuild(stepFn.carryDef, outs.slice(0, nc)), rebuild(yDef!, outs.slice(nc))];
}
