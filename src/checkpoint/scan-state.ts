// The carry states a scan holds: the current one and the snapshot slots, reference-counted,
// and their size as the allocator charges it.
import { BYTES } from '../backend/buffer.js';
import { sizeClass } from '../backend/memory.js';
import { denseParts } from '../core/trace.js';
import type { Scope } from '../tensor/scope.js';
import type { DenseTensor, Tensor } from '../tensor/tensor.js';

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
