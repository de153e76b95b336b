// Closures in checkpointed scans: a step may use values the loop's tape is differentiating
// without receiving them through the carry or xs (the JAX habit: grad with respect to W,
// and W used inside the step). The checkpointed loop replays steps, so it must control what
// such a value means in each replay:
// - untaped steps (the value pass and the advances between snapshots) apply the ops to the
//   value itself, recording nothing, and note which variables the step used;
// - a turn (one step taped on a fresh inner tape) treats each such variable as a variable of
//   the inner tape, so the turn's backward sweep gives its cotangent too.
// The variables found in the value pass become extra inputs of the scan's tape node, and the
// turns' cotangents for them are summed over the steps.
import type { Primitive } from '../core/primitive.js';
import { bind } from '../core/trace.js';
import { DifferentiationError, fmtShape } from '../errors.js';
import type { Scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { TapeTrace, TapeVar } from '../transforms/reverse.js';

/** A turn's tape: the loop tape's variables stand for variables of this one, made on first use. */
export class LiftingTape extends TapeTrace {
  readonly lifted = new Map<number, TapeVar>();

  constructor(level: number, scope: Scope, private readonly outer: TapeTrace) {
    super(level, scope);
  }

  lift(x: Tensor): Tensor {
    // A turn of a scan nested in another's turn: the outer loop's variables reach this tape
    // through the enclosing turn's tape.
    if (this.outer instanceof LiftingTape) x = this.outer.lift(x);
    if (!(x instanceof TapeVar) || x.trace !== this.outer) return x;
    let v = this.lifted.get(x.id);
    if (v === undefined) {
      v = this.variable(x.primal);
      this.lifted.set(x.id, v);
    }
    return v;
  }

  override process<P>(prim: Primitive<P>, inputs: Tensor[], params: P): Tensor {
    return super.process(prim, inputs.map((x) => this.lift(x)), params);
  }
}

/** The loop tape's variables a scan's step closes over. */
export class Closures {
  /** Found in the value pass, in the order first met. */
  readonly vars: TapeVar[] = [];
  private readonly ids = new Set<number>();

  constructor(private readonly op: string, private readonly trace: TapeTrace) {}

  /**
   * Runs `fn` with ops on the tape's variables applied to their values. The value pass
   * (`collect`) notes every variable met; a later replay must meet only those.
   */
  untaped<T>(collect: boolean, fn: () => T): T {
    return this.routed(<P>(prim: Primitive<P>, inputs: Tensor[], params: P) => {
      const values = inputs.map((x) => {
        if (!(x instanceof TapeVar) || x.trace !== this.trace) return x;
        if (!this.ids.has(x.id)) {
          if (!collect) throw this.unseen(x);
          this.ids.add(x.id);
          this.vars.push(x);
        }
        return x.primal;
      });
      return bind(prim, values, params);
    }, fn);
  }

  /** Runs a turn's `fn`, with the tape's variables lifted onto `inner`. */
  lifted<T>(inner: LiftingTape, fn: () => T): T {
    const result = this.routed(<P>(prim: Primitive<P>, inputs: Tensor[], params: P) => inner.process(prim, inputs, params), fn);
    for (const [id, v] of inner.lifted) if (!this.ids.has(id)) throw this.unseen(v);
    return result;
  }

  /** The lifted variable of each closure in `inner` (its id), or -1 where the turn did not use it. */
  wanted(inner: LiftingTape): number[] {
    return this.vars.map((v) => inner.lifted.get(v.id)?.id ?? -1);
  }

  private routed<T>(redirect: TapeTrace['redirect'], fn: () => T): T {
    const previous = this.trace.redirect;
    const wasActive = this.trace.active;
    // A pullback called after vjp returned replays steps when the loop's tape has ended; its
    // variables are still the step's closures, and every op on them goes through `redirect`.
    this.trace.active = true;
    this.trace.redirect = redirect;
    try {
      return fn();
    } finally {
      this.trace.redirect = previous;
      this.trace.active = wasActive;
    }
  }

  private unseen(x: Tensor): DifferentiationError {
    return new DifferentiationError(`${this.op}: when replayed, step used a differentiated value of shape ${fmtShape(x.shape)} through a closure that it did not use in the forward pass; a checkpointed step must use the same values each time it runs.`);
  }
}
