// The carry states a scan holds: the current one and the snapshot slots, reference-counted,
// and their size as the allocator charges it.
import { BYTES } from '../backend/buffer.js';
import { sizeClass } from '../backend/memory.js';
import { denseParts } from '../core/trace.js';
import { add } from '../ops/elementwise.js';
import { closeScope, currentScope, openScope, type Scope } from '../tensor/scope.js';
import { DenseTensor, type Tensor } from '../tensor/tensor.js';
import { inScope } from '../transforms/group.js';
import type { ScheduleAction } from './revolve.js';

/**
 * Runs `step` in a scope of its own and keeps only the tensors `kept` picks from its result
 * (everything else the step made is freed). Returns the result and the kept tensors the step
 * itself created, which the caller owns.
 */
export function keepFresh<R>(step: () => R, kept: (result: R) => readonly Tensor[]): { result: R; fresh: DenseTensor[] } {
  const scope = openScope();
  let result: R;
  try {
    result = step();
  } catch (e) {
    closeScope(scope, []);
    throw e;
  }
  const parts = kept(result).flatMap((t) => denseParts(t));
  const fresh = parts.filter((d) => d.scope === scope);
  closeScope(scope, parts);
  return { result, fresh };
}

/**
 * Carry states held by a scan: the current one and the snapshot slots, counted by reference
 * so that a tensor is freed when the last state holding it lets go. Only tensors a step of
 * this scan created are ever freed (never init, xs or values the step closed over), and only
 * while they stay where the scan put them: one that an enclosing tape recorded (grad of grad)
 * has moved to that tape's scope and is left to it.
 */
export class StateStore {
  private readonly refs = new Map<DenseTensor, number>();
  private readonly owned = new Map<DenseTensor, Scope | null>();
  private readonly slots = new Map<number, Tensor[]>();
  current: Tensor[] | null = null;

  own(ts: Iterable<DenseTensor>): void {
    for (const t of ts) this.owned.set(t, t.scope);
  }

  /** Notes the owned tensors the scan itself has moved to `scope` (claimFor). */
  movedTo(scope: Scope): void {
    for (const t of this.owned.keys()) if (t.scope === scope) this.owned.set(t, scope);
  }

  disown(leaves: readonly Tensor[]): void {
    for (const d of leaves.flatMap((l) => denseParts(l))) this.owned.delete(d);
  }

  hold(leaves: readonly Tensor[]): void {
    for (const d of leaves.flatMap((l) => denseParts(l))) this.refs.set(d, (this.refs.get(d) ?? 0) + 1);
  }

  drop(leaves: readonly Tensor[]): void {
    for (const d of leaves.flatMap((l) => denseParts(l))) {
      const n = (this.refs.get(d) ?? 1) - 1;
      if (n > 0) {
        this.refs.set(d, n);
        continue;
      }
      this.refs.delete(d);
      const scope = this.owned.get(d);
      if (scope !== undefined && this.owned.delete(d) && scope === d.scope) d.dispose();
    }
  }

  /** One untaped step from the current state, which its result replaces. */
  advance(step: (carry: Tensor[]) => Tensor[]): void {
    const { result, fresh } = keepFresh(() => step(this.current!), (next) => next);
    this.own(fresh);
    this.setCurrent(result);
  }

  setCurrent(state: Tensor[] | null): void {
    if (state) this.hold(state);
    if (this.current) this.drop(this.current);
    this.current = state;
  }

  takeshot(slot: number): void {
    const state = this.current!;
    this.hold(state);
    const old = this.slots.get(slot);
    if (old) this.drop(old);
    this.slots.set(slot, state);
  }

  restore(slot: number): void {
    this.setCurrent(this.slots.get(slot)!);
  }

  release(slot: number): void {
    const state = this.slots.get(slot);
    if (state) this.drop(state);
    this.slots.delete(slot);
  }

  /**
   * Carries out a backward plan's `actions` on these slots: an advance runs `advance(from, to)`,
   * a turn goes to `onTurn`.
   */
  follow(actions: readonly ScheduleAction[], advance: (from: number, to: number) => void, onTurn: (step: number) => void): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'advance': advance(a.from, a.to); break;
        case 'takeshot': this.takeshot(a.slot); break;
        case 'restore': this.restore(a.slot); break;
        case 'release': this.release(a.slot); break;
        case 'firsturn':
        case 'youturn': onTurn(a.step); break;
      }
    }
  }

  held(): Tensor[] {
    return [...(this.current ?? []), ...[...this.slots.values()].flat()];
  }

  clear(): void {
    for (const slot of [...this.slots.keys()]) this.release(slot);
    this.setCurrent(null);
  }
}

/** The bytes one snapshot of the carry takes, as the allocator rounds them. */
export function stateBytes(carry: readonly Tensor[]): number {
  return carry.flatMap((t) => denseParts(t)).reduce((acc, d) => acc + sizeClass(d.size * BYTES[d.dtype]), 0);
}

/**
 * The cotangents a backward sweep (scan's, or a budgeted loop's) holds. Those handed in are the
 * pullback's own (set aside in the tape's scope) and the turns' results live in the sweep's
 * scope: each is freed as soon as the sweep has moved past it, so that only one carry cotangent
 * is alive at a time. One that an enclosing tape has recorded (grad of grad) has moved to that
 * tape's scope; it is left.
 */
export class SweepCotangents {
  readonly owned: Set<Tensor>;
  private readonly sweepScope = currentScope();

  constructor(handedIn: readonly (Tensor | null)[], private readonly tapeScope: Scope | null) {
    this.owned = new Set<Tensor>(handedIn.filter((c): c is Tensor => c !== null));
  }

  free(t: Tensor): void {
    this.owned.delete(t);
    const sweep = this.sweepScope;
    if (t instanceof DenseTensor && (t.scope === this.tapeScope || (sweep !== null && inScope(t, sweep)))) t.dispose();
  }

  /** Adds one turn's cotangents of the closed-over values into the running sums, freeing the summands. */
  accumulate(sums: (Tensor | null)[], terms: readonly (Tensor | null)[]): void {
    terms.forEach((c, j) => {
      const prev = sums[j];
      if (c === null) return;
      if (prev === null) {
        sums[j] = c;
        return;
      }
      sums[j] = add(prev, c);
      this.owned.add(prev).add(c);
      this.free(prev);
      this.free(c);
    });
  }
}
