// Reverse mode: the tape. A TapeTrace records every primitive applied to its variables with
// the values its vjp rule needs; `backward` walks the records once, newest first, accumulating
// cotangents (in place, with a wasm kernel, when it owns the accumulator). Cotangents carry a
// leading axis of k rows, so jacrev pulls k output rows back in one sweep.
import * as k from '../backend/kernels.js';
import type { Primitive } from '../core/primitive.js';
import { Trace, Tracer, bind, denseParts } from '../core/trace.js';
import { closeScope, openScope, adopt, type Scope } from '../tensor/scope.js';
import { shapesEqual } from '../tensor/shape.js';
import { DenseTensor, type Tensor } from '../tensor/tensor.js';
import { astype } from '../ops/convert.js';
import { add } from '../ops/elementwise.js';
import { sumToShape } from '../ops/shape.js';

export class TapeVar extends Tracer {
  constructor(readonly trace: TapeTrace, readonly primal: Tensor, readonly id: number) {
    super();
  }

  parts(): Tensor[] {
    return [this.primal];
  }
}

/** The part of a primitive a tape record needs: its name and its vjp rule. */
export type VjpOnly<P> = Pick<Primitive<P>, 'name' | 'vjp'>;

interface TapeNode {
  prim: VjpOnly<unknown>;
  params: unknown;
  primals: Tensor[] | null;
  out: Tensor | null;
  inputIds: number[];
  outId: number;
}

/** Is `t` inside `scope` or one of its descendants (so it dies no later than `scope`)? */
function within(t: DenseTensor, scope: Scope): boolean {
  for (let s = t.scope; s; s = s.parent) if (s === scope) return true;
  return false;
}

export class TapeTrace extends Trace {
  readonly nodes: TapeNode[] = [];
  private nextId = 0;

  constructor(level: number, readonly scope: Scope) {
    super(level, 'grad');
  }

  variable(primal: Tensor): TapeVar {
    return new TapeVar(this, primal, this.nextId++);
  }

  /**
   * Claims the data a record refers to for this tape's scope, so that an inner transform's
   * scope closing does not free what the backward sweep will read.
   */
  private claim(values: readonly Tensor[]): void {
    for (const v of values) {
      for (const d of denseParts(v)) if (d.scope && d.scope !== this.scope && within(d, this.scope)) adopt(d, this.scope);
    }
  }

  /** Records `out = prim(inputs)` where `primals` are the inputs' values at this level. */
  record<P>(prim: VjpOnly<P>, params: P, inputs: readonly Tensor[], primals: Tensor[], out: Tensor): Tensor {
    const inputIds = inputs.map((x) => (x instanceof TapeVar && x.trace === this ? x.id : -1));
    if (inputIds.every((id) => id < 0)) return out;
    this.claim(primals);
    this.claim([out]);
    const v = this.variable(out);
    this.nodes.push({ prim: prim as VjpOnly<unknown>, params, primals, out, inputIds, outId: v.id });
    return v;
  }

  unpack(inputs: readonly Tensor[]): Tensor[] {
    return inputs.map((x) => (x instanceof TapeVar && x.trace === this ? x.primal : x));
  }

  process<P>(prim: Primitive<P>, inputs: Tensor[], params: P): Tensor {
    const primals = this.unpack(inputs);
    return this.record(prim, params, inputs, primals, bind(prim, primals, params));
  }
}

export interface BackwardOptions {
  /** Free each record's saved values once it is processed (the tape cannot be swept again). */
  consume: boolean;
  /** Tensors that must survive (the function's outputs and aux). */
  keep: Set<DenseTensor>;
}

/**
 * Pulls `seeds` (cotangents of variables, shape [k, ...value.shape]) back through the tape
 * and returns the cotangents of `wanted` variables (null where nothing flowed).
 */
export function backward(trace: TapeTrace, seeds: Map<number, Tensor>, wanted: readonly number[], { consume, keep }: BackwardOptions): (Tensor | null)[] {
  const cotangents = new Map<number, Tensor>(seeds);
  const seedSet = new Set<Tensor>(seeds.values());
  // Accumulators this sweep created and nobody else references: safe to add into in place.
  const owned = new Set<Tensor>();
  const nodes = trace.nodes;
  // Only values still owned by this sweep may be freed early: one that an enclosing tape has
  // recorded (and so moved to its own scope) must live until that tape is swept.
  const disposable = (t: Tensor) => t instanceof DenseTensor && !seedSet.has(t) && !keep.has(t) && t.scope !== null && within(t, trace.scope);

  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    const ct = cotangents.get(node.outId);
    if (ct !== undefined && node.primals && node.out) {
      cotangents.delete(node.outId);
      owned.delete(ct);
      const stored: Tensor[] = [];
      const scope = openScope();
      try {
        const rows = ct.shape[0];
        const inputCts = node.prim.vjp(ct, node.primals, node.out, node.params);
        node.inputIds.forEach((id, j) => {
          let c = inputCts[j];
          if (id < 0 || !c) return;
          const x = node.primals![j];
          const target = [rows, ...x.shape];
          if (!shapesEqual(c.shape, target)) {
            // Undo broadcasting once for every primitive: sum the axes the input was
            // stretched along; a rule may also return a smaller, broadcastable value.
            c = sumToShape(c, target, 1);
          }
          if (c.dtype !== x.dtype) c = astype(c, x.dtype);
          // A rule may hand the same tensor to two inputs (add: [ct, ct]); give each its own
          // handle on the shared buffer so that freeing one leaves the other intact.
          if (c === ct || stored.includes(c)) c = alias(c);
          const prev = cotangents.get(id);
          if (prev === undefined) {
            cotangents.set(id, c);
            stored.push(c);
          } else if (owned.has(prev) && prev instanceof DenseTensor && c instanceof DenseTensor && shapesEqual(prev.shape, c.shape)) {
            k.addInPlace(prev.data_('backward'), c.data_('backward'));
          } else {
            const sum = add(prev, c);
            if (disposable(prev)) prev.dispose();
            cotangents.set(id, sum);
            owned.add(sum);
            stored.push(sum);
          }
        });
      } finally {
        closeScope(scope, stored.flatMap((s) => denseParts(s)));
      }
      if (disposable(ct)) ct.dispose();
    }
    if (consume) {
      if (node.out instanceof DenseTensor && !keep.has(node.out) && node.out.scope === trace.scope) node.out.dispose();
      node.primals = null;
      node.out = null;
    }
  }
  return wanted.map((id) => cotangents.get(id) ?? null);
}

function alias(t: Tensor): Tensor {
  if (t instanceof DenseTensor) return new DenseTensor(t.data_('backward').retain(), t.shape);
  return t;
}
