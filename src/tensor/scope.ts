// Scopes give deterministic lifetimes: every DenseTensor created while a scope is open joins
// it, and when the scope closes it frees what was not kept. tidy() and every transform open
// one. Kept tensors move to the enclosing scope (or to top level, where the
// FinalizationRegistry frees them once dropped).
import type { DenseTensor } from './tensor.js';

export class Scope {
  readonly tensors = new Set<DenseTensor>();
  constructor(readonly parent: Scope | null) {}

  add(t: DenseTensor): void {
    this.tensors.add(t);
    t.scope = this;
  }

  delete(t: DenseTensor): void {
    this.tensors.delete(t);
  }
}

let current: Scope | null = null;

export function currentScope(): Scope | null {
  return current;
}

export function openScope(): Scope {
  current = new Scope(current);
  return current;
}

/** Moves `t` out of whatever scope holds it into `target` (null: top level). */
export function adopt(t: DenseTensor, target: Scope | null): void {
  if (t.scope === target) return;
  if (t.scope) t.scope.delete(t);
  t.scope = null;
  if (target) target.add(t);
}

/** Closes `scope` (the innermost one): keeps `keep`, disposes the rest. */
export function closeScope(scope: Scope, keep: Iterable<DenseTensor>): void {
  if (current !== scope) throw new Error('dualtape internal error: scopes closed out of order');
  current = scope.parent;
  for (const t of keep) if (t.scope === scope) adopt(t, scope.parent);
  for (const t of scope.tensors) {
    t.scope = null;
    t.dispose();
  }
  scope.tensors.clear();
}
