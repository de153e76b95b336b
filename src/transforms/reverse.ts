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
  wanted: boolean[];
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

  /** Number of variables handed out so far (ids are 0 .. size-1). */
  get size(): number {
    return this.nextId;
  }

  variable(primal: Tensor): TapeVar {
    return new TapeVar(this, primal, this.nextId++);
  }

  /**
   * Claims the data a record refers to for this tape's scope, so that an inner transform's
   * scope closing does not free what the backward sweep will read.
   */
  private claim(values: readonly Tensor[]): void {
    for (let i = 0; i < values.length; i++) this.claimOne(values[i]);
  }

  private claimOne(v: Tensor): void {
    if (v instanceof DenseTensor) {
      if (v.scope && v.scope !== this.scope && within(v, this.scope)) adopt(v, this.scope);
    } else {
      for (const d of denseParts(v)) this.claimOne(d);
    }
  }

  /** Records `out = prim(inputs)` where `primals` are the inputs' values at this level. */
  record<P>(prim: VjpOnly<P>, params: P, inputs: readonly Tensor[], primals: Tensor[], out: Tensor): Tensor {
    const inputIds = inputs.map((x) => (x instanceof TapeVar && x.trace === this ? x.id : -1));
    if (inputIds.every((id) => id < 0)) return out;
    this.claim(primals);
    this.claimOne(out);
    const v = this.variable(out);
    const wanted = inputIds.map((id) => id >= 0);
    this.nodes.push({ prim: prim as VjpOnly<unknown>, params, primals, out, inputIds, wanted, outId: v.id });
    return v;
  }

  unpack(inputs: readonly Tensor[]): Tensor[] {
    return inputs.map((x) => (x instanceof TapeVar && x.trace === this ? x.primal : x));
  }

  /**
   * While set, ops routed to this tape go here instead of being recorded: a checkpointed scan
   * replays a step that closes over this tape's variables this way (see scan-closures.ts).
   */
  redirect: (<P>(prim: Primitive<P>, inputs: Tensor[], params: P) => Tensor) | null = null;

  process<P>(prim: Primitive<P>, inputs: Tensor[], params: P): Tensor {
    if (this.redirect) return this.redirect(prim, inputs, params);
    const primals = this.unpack(inputs);
    return this.record(prim, params, inputs, primals, bind(prim, primals, params));
  }
}

const SCOPED_NODE_SIZE = 256;

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
  // Cotangents by variable id; `owned[id]` marks an accumulator this sweep created and nobody
  // else references, which is safe to add into in place.
  const cotangents: (Tensor | undefined)[] = new Array(trace.size);
  const owned = new Uint8Array(trace.size);
  for (const [id, seed] of seeds) cotangents[id] = seed;
  const nodes = trace.nodes;
  // Only values still owned by this sweep may be freed early: one that an enclosing tape has
  // recorded (and so moved to its own scope) must live until that tape is swept.
  const disposable = (t: Tensor) => t instanceof DenseTensor && t.scope !== null && !keep.has(t) && !isSeed(seeds, t) && within(t, trace.scope);
  const stored: Tensor[] = [];
  const kept: DenseTensor[] = [];

  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    const ct = cotangents[node.outId];
    const primals = node.primals;
    if (ct !== undefined && primals && node.out) {
      cotangents[node.outId] = undefined;
      owned[node.outId] = 0;
      stored.length = 0;
      // Intermediates of a rule are freed right after it for large cotangents; for small ones
      // the bookkeeping would cost more than the memory, so they wait for the sweep's scope.
      const scope = ct.size >= SCOPED_NODE_SIZE ? openScope() : null;
      try {
        const rows = ct.shape[0];
        const inputCts = node.prim.vjp(ct, primals, node.out, node.params, node.wanted);
        const ids = node.inputIds;
        for (let j = 0; j < ids.length; j++) {
          const id = ids[j];
          let c = inputCts[j];
          if (id < 0 || !c) continue;
          const x = primals[j];
          if (!isChunkOf(c.shape, rows, x.shape)) {
            // Undo broadcasting once for every primitive: sum the axes the input was
            // stretched along; a rule may also return a smaller, broadcastable value.
            c = sumToShape(c, [rows, ...x.shape], 1);
          }
          if (c.dtype !== x.dtype) c = astype(c, x.dtype);
          // A rule may hand the same tensor to two inputs (add: [ct, ct]); give each its own
          // handle on the shared buffer so that freeing one leaves the other intact.
          if (c === ct || stored.includes(c)) c = alias(c);
          const prev = cotangents[id];
          if (prev === undefined) {
            cotangents[id] = c;
            stored.push(c);
          } else if (owned[id] && prev instanceof DenseTensor && c instanceof DenseTensor && shapesEqual(prev.shape, c.shape)) {
            k.addInPlace(prev.data_('backward'), c.data_('backward'));
          } else {
            const total = add(prev, c);
            if (disposable(prev)) prev.dispose();
            cotangents[id] = total;
            owned[id] = 1;
            stored.push(total);
          }
        }
      } finally {
        if (scope) {
          kept.length = 0;
          for (const t of stored) denseParts(t, kept);
          closeScope(scope, kept);
        }
      }
      if (disposable(ct)) ct.dispose();
    }
    if (consume) {
      const out = node.out;
      if (out instanceof DenseTensor && out.scope === trace.scope && !keep.has(out)) out.dispose();
      node.primals = null;
      node.out = null;
    }
  }
  return wanted.map((id) => cotangents[id] ?? null);
}

function isSeed(seeds: Map<number, Tensor>, t: Tensor): boolean {
  for (const s of seeds.values()) if (s === t) return true;
  return false;
}

/** Is `shape` equal to [rows, ...inner]? */
function isChunkOf(shape: readonly number[], rows: number, inner: readonly number[]): boolean {
  if (shape.length !== inner.length + 1 || shape[0] !== rows) return false;
  for (let i = 0; i < inner.length; i++) if (shape[i + 1] !== inner[i]) return false;
  return true;
}

function alias(t: Tensor): Tensor {
  if (t instanceof DenseTensor) return new DenseTensor(t.data_('backward').retain(), t.shape);
  return t;
}
