// Scopes give deterministic lifetimes: every DenseTensor created while a scope is open joins
// it, and when the scope closes it frees what was not kept. tidy() and every transform open
// one. Kept tensors move to the enclosing scope (or to top level, where the
// FinalizationRegistry frees them once dropped).
//
// A scope lists its tensors in an array and a tensor names its scope; a tensor that left a
// scope (disposed, or adopted elsewhere) stays in the old array but no longer points back, so
// leaving is O(1) and closing skips it.

/** What a scope holds: a tensor with data (a DenseTensor), seen only through what scopes use. */
export interface Scoped {
  scope: Scope | null;
  dispose(): void;
  toTopLevel(): void;
}

export class Scope {
  readonly tensors: Scoped[] = [];
  constructor(readonly parent: Scope | null) {}

  add(t: Scoped): void {
    this.tensors.push(t);
    t.scope = this;
  }

  /** The tensors that still belong to this scope. */
  live(): Scoped[] {
    return this.tensors.filter((t) => t.scope === this);
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
export function adopt(t: Scoped, target: Scope | null): void {
  if (t.scope === target) return;
  if (target) target.add(t);
  else t.toTopLevel();
}

/** Closes `scope` (the innermost one): keeps `keep`, disposes the rest. */
export function closeScope(scope: Scope, keep: Iterable<Scoped>): void {
  if (current !== scope) throw new Error('dualtape internal error: scopes closed out of order');
  current = scope.parent;
  for (const t of keep) if (t.scope === scope) adopt(t, scope.parent);
  const list = scope.tensors;
  for (let i = 0; i < list.length; i++) {
    const t = list[i];
    if (t.scope === scope) t.dispose();
  }
  list.length = 0;
}
