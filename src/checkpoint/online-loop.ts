// whileLoop under a tape with a snapshot budget: the loop's length is unknown until its
// condition turns false, so the forward sweep keeps states as the online schedule
// (online.ts) says, and once the loop has ended the backward sweep carries out the backward
// plan: untaped steps to move from a snapshot to the step to turn, and one taped step at a time
// to pull the carry's cotangent back. The tape holds only the loop's inputs and outputs. A body
// may close over values being differentiated (grad with respect to W, and W used in the body);
// each turn adds its share to their gradient, as scan's checkpointed loop does.
import { Tracer, popTrace, pushTrace } from '../core/trace.js';
import { DifferentiationError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { claimFor } from '../transforms/group.js';
import { TapeTrace, backward, seedsFor } from '../transforms/reverse.js';
import { scoped } from '../transforms/util.js';
import { OnlineSchedule, backwardPlan, snapshotsFor } from './online.js';
import type { ScheduleAction } from './revolve.js';
import { Closures, LiftingTape } from './scan-closures.js';
import { StateStore, SweepCotangents } from './scan-state.js';

/** The loop as functions of the carry's leaves. */
export interface LoopFunctions {
  /** Does the loop go on from `carry`? */
  goOn(carry: Tensor[]): boolean;
  body(carry: Tensor[]): Tensor[];
}

/** Recomputation beyond this many body calls per step draws a warning (once per process). */
export const RECOMPUTATION_WARNING = 100;
let warned = false;

/** Warns (once) when a loop of `steps` steps makes `calls` body calls, more than 100 per step. */
export function warnIfCostly(op: string, steps: number, snapshots: number, calls: number, stateBytes: number): void {
  if (warned || calls <= RECOMPUTATION_WARNING * steps) return;
  warned = true;
  // The online schedule costs at most 1.25x offline Revolve: ask offline for 80x.
  const need = snapshotsFor(steps, RECOMPUTATION_WARNING / 1.25);
  console.warn(`${op}: the loop took ${steps} steps and a budget of ${snapshots} snapshots makes the backward sweep call its body ${calls} times in all (${Math.round(calls / steps)}x the steps). {checkpoints: ${need}} (${need * stateBytes} bytes of loop state) would keep it under ${RECOMPUTATION_WARNING}x. This warning is shown once.`);
}

export class OnlineLoop {
  private readonly store = new StateStore();
  private kept: readonly number[] = [];
  private steps = 0;
  private swept = false;
  readonly closures: Closures;

  constructor(private readonly op: string, private readonly fns: LoopFunctions, private readonly trace: TapeTrace,
    private readonly init: Tensor[], private readonly snapshots: number, private readonly stateBytes: number) {
    this.closures = new Closures(op, trace);
  }

  /** The value pass; returns the final carry. The variables the body closes over are in `closures` afterwards. */
  forward(): Tensor[] {
    return this.closures.untaped(true, () => this.valuePass());
  }

  /** Frees the snapshots when the loop is not recorded after all (nothing was differentiated). */
  discard(): void {
    this.store.clear();
  }

  private valuePass(): Tensor[] {
    const schedule = new OnlineSchedule(this.snapshots);
    this.store.setCurrent(this.init);
    this.store.takeshot(0);
    let i = 0;
    while (this.fns.goOn(this.store.current!)) {
      if (i > 0) {
        const { keep, evict } = schedule.arrive(i);
        if (evict !== null) this.store.release(evict);
        if (keep) this.store.takeshot(i);
      }
      this.advance(true);
      i++;
    }
    this.steps = i;
    this.kept = [...schedule.kept];
    warnIfCostly(this.op, i, this.snapshots, 2 * i + schedule.advancesIfEnded(i), this.stateBytes);
    const carry = this.store.current!;
    this.store.disown(carry);
    this.store.setCurrent(null);
    claimFor(this.trace, this.store.held());
    this.store.movedTo(this.trace.scope);
    return carry;
  }

  /** One untaped step from the current state, which it replaces. */
  private advance(checkClosures: boolean): void {
    this.store.advance((carry) => {
      const next = this.fns.body(carry);
      if (checkClosures) this.checkOutputs(next);
      return next;
    });
  }

  private checkOutputs(carry: readonly Tensor[]): void {
    for (const t of carry) {
      if (t instanceof Tracer && t.trace.level >= this.trace.level) {
        throw new DifferentiationError(`${this.op}: the body uses a value of a transform started inside the loop's differentiation (its carry is a ${t.trace.kind} tracer); with a checkpoint budget the steps are replayed, and such values cannot be. Pass the value in the carry or drop the budget.`);
      }
    }
  }

  /** Pulls the final carry's cotangents back to the initial carry and the closed-over variables. */
  reverse(cts: (Tensor | null)[]): (Tensor | null)[] {
    let carryCt = cts.slice(0, this.init.length);
    // As in scan: the cotangents handed in are this pullback's own, the turns' results live in
    // the sweep's scope, and each is freed once the sweep has moved past it.
    const sweep = new SweepCotangents(cts, this.trace.scope);
    const owned = sweep.owned;
    const free = (t: Tensor) => sweep.free(t);
    if (this.swept) this.closures.untaped(false, () => this.replayForward());
    this.swept = true;
    const closureCt: (Tensor | null)[] = this.closures.vars.map(() => null);
    this.run(backwardPlan(this.kept, this.steps, this.snapshots), () => {
      const { carry, closures } = this.turn(carryCt);
      for (const old of carryCt) if (old && owned.has(old) && !carry.includes(old)) free(old);
      for (const c of carry) if (c) owned.add(c);
      carryCt = carry;
      sweep.accumulate(closureCt, closures);
      this.store.setCurrent(null);
    });
    this.store.clear();
    return [...carryCt, ...closureCt];
  }

  /** A second backward sweep: the first released the snapshots; take them again. */
  private replayForward(): void {
    this.store.clear();
    this.store.setCurrent(this.init);
    this.store.takeshot(0);
    const last = this.kept[this.kept.length - 1];
    const kept = new Set(this.kept);
    for (let i = 1; i <= last; i++) {
      this.advance(false);
      if (kept.has(i)) this.store.takeshot(i);
    }
    this.store.setCurrent(null);
  }

  /** Carries out the backward plan; turns go to `onTurn`. */
  private run(actions: readonly ScheduleAction[], onTurn: (step: number) => void): void {
    this.store.follow(actions, (from, to) => this.closures.untaped(false, () => {
      for (let i = from; i < to; i++) this.advance(false);
    }), onTurn);
  }

  /** One step on a fresh tape from the current state, pulled back to the carry and the closures. */
  private turn(carryCt: (Tensor | null)[]): { carry: (Tensor | null)[]; closures: (Tensor | null)[] } {
    if (carryCt.every((c) => c === null)) return { carry: carryCt.map(() => null), closures: this.closures.vars.map(() => null) };
    const state = this.store.current!;
    const cts = scoped((scope) => {
      const trace = pushTrace((level) => new LiftingTape(level, scope, this.trace));
      try {
        const vars = state.map((s) => trace.variable(s));
        return this.closures.lifted(trace, () => {
          const out = this.fns.body(vars);
          return backward(trace, seedsFor(trace, out, carryCt), [...vars.map((v) => v.id), ...this.closures.wanted(trace)], { consume: true, keep: new Set() });
        });
      } finally {
        popTrace(trace);
      }
    });
    return { carry: cts.slice(0, state.length), closures: cts.slice(state.length) };
  }
}
