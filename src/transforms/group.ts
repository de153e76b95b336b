// Tape records for operations with many outputs (checkpoint, scan, jit): a group of records
// that pulls all the outputs' cotangents back in one call, and the scope bookkeeping it needs.
import { denseParts } from '../core/trace.js';
import { zeros } from '../tensor/create.js';
import { adopt, currentScope, type Scope } from '../tensor/scope.js';
import { DenseTensor, type Tensor } from '../tensor/tensor.js';
import { scalarOf } from '../ops/convert.js';
import { TapeTrace, TapeVar } from './reverse.js';

/** Moves the data of `values` into the tape's scope so that inner scopes ending do not free it. */
export function claimFor(trace: TapeTrace, values: Iterable<Tensor>): void {
  for (const v of values) {
    for (const d of denseParts(v)) {
      for (let s: Scope | null = d.scope; s; s = s.parent) {
        if (s === trace.scope) {
          adopt(d, trace.scope);
          break;
        }
      }
    }
  }
}

/**
 * Pulls the cotangents of a group's outputs (null where none flowed) back to one per input.
 * The cotangents belong to the pullback: it may free one once it has used it; those it does
 * not return are freed when it returns.
 */
export type Pullback = (cotangents: (Tensor | null)[], rows: number) => (Tensor | null)[];

/**
 * One tape operation with many outputs. The tape records single-output nodes, so the group
 * records an anchor node over the real inputs (with a 0-d token as its value) and one node per
 * output whose only input is the anchor. An output's rule sets its cotangent aside and passes
 * a zero to the anchor; the anchor comes last in the sweep (it was recorded first), when every
 * output's cotangent is complete, and calls `pull` once with all of them. Outputs may be added
 * after the group is opened, as long as nothing recorded before them uses them.
 */
export class NodeGroup {
  private readonly token: Tensor;
  private readonly anchor: Tensor;
  private readonly pending = new Map<number, Tensor>();
  private count = 0;

  constructor(private readonly trace: TapeTrace, private readonly op: string, inputs: Tensor[], primals: Tensor[], pull: Pullback) {
    this.token = scalarOf(0, 'float64');
    const rule = { name: op, saves: [], vjp: ({ ct }: { ct: Tensor }) => this.release(ct.shape[0], pull) };
    this.anchor = trace.record(rule, {}, inputs, primals, this.token);
  }

  /** False when no input is differentiated here: outputs are then plain values. */
  get live(): boolean {
    return this.anchor instanceof TapeVar;
  }

  output(value: Tensor): Tensor {
    const index = this.count++;
    if (!this.live) return value;
    const rule = {
      name: `${this.op}_output`,
      saves: [],
      vjp: ({ ct }: { ct: Tensor }) => {
        this.pending.set(index, setAside(this.trace, ct));
        return [zeros([ct.shape[0]])];
      },
    };
    return this.trace.record(rule, {}, [this.anchor], [this.token], value);
  }

  private release(rows: number, pull: Pullback): (Tensor | null)[] {
    const cts = Array.from({ length: this.count }, (_, i) => this.pending.get(i) ?? null);
    this.pending.clear();
    return settle(this.trace, cts, pull(cts, rows));
  }
}

/** Is `t` in `scope` or one of its descendants (so that the sweep of `scope`'s tape owns it)? */
export function inScope(t: DenseTensor, scope: Scope): boolean {
  for (let s = t.scope; s; s = s.parent) if (s === scope) return true;
  return false;
}

/**
 * Takes over a cotangent handed to a rule. The sweep frees a node's cotangent as soon as its
 * rule returns; a group keeps it until its anchor runs, and a long pullback (scan) frees it as
 * soon as it has used it, before the rule returns. So the data moves to a handle of our own in
 * the tape's scope (where an enclosing tape that records it can claim it), and the sweep's
 * handle is let go now if the sweep owns it (an enclosing tape may have claimed it instead).
 */
function setAside(trace: TapeTrace, ct: Tensor): Tensor {
  if (!(ct instanceof DenseTensor)) return ct;
  const own = ct.share(ct.shape, 'checkpoint');
  adopt(own, trace.scope);
  if (inScope(ct, trace.scope)) ct.dispose();
  return own;
}

/**
 * Frees the set-aside cotangents a pullback did not return, unless an enclosing tape has
 * claimed them; those it returned go to the sweep's current scope, like any rule's output.
 */
function settle(trace: TapeTrace, cts: readonly (Tensor | null)[], result: (Tensor | null)[]): (Tensor | null)[] {
  for (const c of cts) {
    if (!(c instanceof DenseTensor) || c.scope !== trace.scope) continue;
    if (result.includes(c)) adopt(c, currentScope());
    else c.dispose();
  }
  return result;
}

/**
 * Records `outs = op(inputs)` on `trace` with one combined pullback. An output that is one of
 * the inputs passed through is returned as that input (and gets no cotangent in `pull`).
 */
export function recordOutputs(trace: TapeTrace, op: string, inputs: Tensor[], primals: Tensor[], outs: Tensor[], pull: Pullback): Tensor[] {
  const passed = outs.map((o) => primals.findIndex((p, i) => p === o && inputs[i] instanceof TapeVar && (inputs[i] as TapeVar).trace === trace));
  const recorded = outs.filter((_, j) => passed[j] < 0);
  if (recorded.length === 0) return outs.map((_, j) => inputs[passed[j]]);
  if (recorded.length === 1) {
    const only = passed.indexOf(-1);
    const rule = {
      name: op,
      saves: [],
      vjp: ({ ct }: { ct: Tensor }) => {
        const own = setAside(trace, ct);
        return settle(trace, [own], pull(outs.map((_, j) => (j === only ? own : null)), ct.shape[0]));
      },
    };
    const v = trace.record(rule, {}, inputs, primals, recorded[0]);
    return outs.map((o, j) => (j === only ? v : inputs[passed[j]]));
  }
  const positions = outs.map((_, j) => j).filter((j) => passed[j] < 0);
  const group = new NodeGroup(trace, op, inputs, primals, (cts, rows) => {
    const all: (Tensor | null)[] = outs.map(() => null);
    positions.forEach((j, i) => (all[j] = cts[i]));
    return pull(all, rows);
  });
  return outs.map((o, j) => (passed[j] >= 0 ? inputs[passed[j]] : group.output(o)));
}
