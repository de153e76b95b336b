// Reverse mode: the tape. A TapeTrace records every primitive applied to its variables with
// only the values its vjp rule declares in `saves`; `backward` walks the records once, newest
// first, accumulating cotangents (in place, with a wasm kernel, when it owns the accumulator).
// Cotangents carry a leading axis of k rows, so jacrev pulls k output rows back in one sweep.
//
// The records are columns (typed arrays and flat lists), not an object per node: a scalar
// program tapes millions of ops, and the garbage collector's cost grows with the number of
// small objects it must chase.
import * as kernels from '../backend/kernels.js';
import { fusedKernels } from '../core/fusion.js';
import { NO_PARAMS, type Aval, type Primitive, type VjpArgs } from '../core/primitive.js';
import { Trace, Tracer, bind, denseParts } from '../core/trace.js';
import { closeScope, openScope, adopt, type Scope } from '../tensor/scope.js';
import { shapesEqual } from '../tensor/shape.js';
import { DenseTensor, type DType, type Tensor } from '../tensor/tensor.js';
import { astype } from '../ops/convert.js';
import { add } from '../ops/elementwise.js';
import { sumToShape } from '../ops/sum.js';

export class TapeVar extends Tracer {
  constructor(readonly trace: TapeTrace, readonly primal: Tensor, readonly id: number) {
    super();
  }

  parts(): Tensor[] {
    return [this.primal];
  }
}

/**
 * What a tape record needs of an operation: its name, its vjp rule and what the rule reads.
 * Primitives are TapeRules; so are the one-off rules of custom derivatives and checkpoints
 * (which keep what they need in their closures and save nothing here).
 */
export type TapeRule<P> = Pick<Primitive<P>, 'name' | 'vjp' | 'cotangent' | 'saves'>;

/** Is `t` inside `scope` or one of its descendants (so it dies no later than `scope`)? */
function within(t: DenseTensor, scope: Scope): boolean {
  for (let s = t.scope; s; s = s.parent) if (s === scope) return true;
  return false;
}

const DTYPES: DType[] = ['float64', 'float32', 'int32'];

// Column buffers of finished small tapes, reused: a scalar gradient makes a tape per call, and
// allocating a typed array costs more than the rest of a small tape's bookkeeping.
const spareColumns: Int32Array[] = [];
const SPARE_LENGTH = 64;
const MAX_SPARES = 256;
const NO_DATA = new Int32Array(0);

/** An Int32Array that grows by doubling. */
class IntColumn {
  data = spareColumns.pop() ?? new Int32Array(SPARE_LENGTH);
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(Math.max(SPARE_LENGTH, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }

  /** Hands a small buffer back for the next tape; the column is empty afterwards. */
  release(): void {
    if (this.data.length === SPARE_LENGTH && spareColumns.length < MAX_SPARES) spareColumns.push(this.data);
    this.data = NO_DATA;
    this.length = 0;
  }
}

/**
 * Numbers values that repeat from record to record (rules, shapes), so a record stores a small
 * integer. Lookups try the last few values first: a program's records cycle through a handful.
 */
class Interned<T> {
  readonly values: T[] = [];
  private readonly ids = new Map<T, number>();
  private recent: T | undefined;
  private recentId = -1;

  id(value: T): number {
    if (value === this.recent) return this.recentId;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(value, id);
    }
    this.recent = value;
    this.recentId = id;
    return id;
  }
}

/** Outputs at least this large are freed by a consuming sweep as soon as their record is done. */
const EARLY_FREE_SIZE = 256;

export class TapeTrace extends Trace {
  // Per record: its rule and params, its output variable, and where its inputs and saved
  // values start. Rules and shapes are interned and params that are NO_PARAMS stored as -1,
  // so a scalar op's record costs a few bytes of typed arrays plus its saved values.
  private readonly rules = new Interned<TapeRule<unknown>>();
  private readonly ruleIds = new IntColumn();
  private readonly paramIds = new IntColumn();
  private readonly params: unknown[] = [];
  private readonly outIds = new IntColumn();
  private readonly inputStart = new IntColumn();
  private readonly savedStart = new IntColumn();
  // Per input of a record: its variable id (-1 for a constant), shape and dtype.
  private readonly inputIds = new IntColumn();
  private readonly shapes = new Interned<readonly number[]>();
  private readonly shapeIds = new IntColumn();
  private readonly dtypes = new IntColumn();
  // The values the rules read, in the order of each rule's `saves`.
  private readonly saved: (Tensor | null)[] = [];
  // Large outputs, held so that a consuming sweep frees them early (the scope frees the rest).
  private readonly largeOutputs = new Map<number, Tensor>();
  private nextId = 0;
  private count = 0;

  constructor(level: number, readonly scope: Scope) {
    super(level, 'grad');
    this.inputStart.push(0);
    this.savedStart.push(0);
  }

  /** Number of variables handed out so far (ids are 0 .. size-1). */
  get size(): number {
    return this.nextId;
  }

  /** Number of records. */
  get length(): number {
    return this.count;
  }

  variable(primal: Tensor): TapeVar {
    return new TapeVar(this, primal, this.nextId++);
  }

  /**
   * Claims `v`'s data for this tape's scope, so that an inner transform's scope closing does
   * not free what the backward sweep will read.
   */
  private claim(v: Tensor): void {
    if (v instanceof DenseTensor) {
      if (v.scope && v.scope !== this.scope && within(v, this.scope)) adopt(v, this.scope);
    } else {
      for (const d of denseParts(v)) this.claim(d);
    }
  }

  /** Records `out = rule(inputs)` where `primals` are the inputs' values at this level. */
  record<P>(rule: TapeRule<P>, params: P, inputs: readonly Tensor[], primals: readonly Tensor[], out: Tensor): Tensor {
    // An int32 output (indices, argmax) is a constant of the tape: nothing flows back through it.
    if (out.dtype === 'int32') return out;
    // An int32 variable (a scan's counter carry) is a constant too: no cotangent reaches it.
    let any = false;
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i];
      if (x instanceof TapeVar && x.trace === this && primals[i].dtype !== 'int32') {
        any = true;
        break;
      }
    }
    if (!any) return out;
    const v = this.variable(out);
    const index = this.count++;
    this.ruleIds.push(this.rules.id(rule as TapeRule<unknown>));
    if ((params as unknown) === NO_PARAMS) this.paramIds.push(-1);
    else {
      this.paramIds.push(this.params.length);
      this.params.push(params);
    }
    if (out.size >= EARLY_FREE_SIZE) this.largeOutputs.set(index, out);
    this.outIds.push(v.id);
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i];
      const p = primals[i];
      this.inputIds.push(x instanceof TapeVar && x.trace === this && p.dtype !== 'int32' ? x.id : -1);
      this.shapeIds.push(this.shapes.id(p.shape));
      this.dtypes.push(DTYPES.indexOf(p.dtype));
    }
    this.inputStart.push(this.inputIds.length);
    const saves = rule.saves;
    if (saves === 'all') {
      for (let i = 0; i < primals.length; i++) this.keep(primals[i]);
      this.keep(out);
    } else {
      for (let i = 0; i < saves.length; i++) {
        const s = saves[i];
        this.keep(s === 'out' ? out : primals[s]);
      }
    }
    this.savedStart.push(this.saved.length);
    return v;
  }

  private keep(value: Tensor): void {
    this.claim(value);
    this.saved.push(value);
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

  /** One Aval object per interned shape and dtype, made on first use in a sweep. */
  private readonly avals: Aval[] = [];

  private avalOf(shapeId: number, dtypeCode: number): Aval {
    const key = shapeId * DTYPES.length + dtypeCode;
    return (this.avals[key] ??= { shape: this.shapes.values[shapeId], dtype: DTYPES[dtypeCode] });
  }

  /** The arguments of record i's vjp rule, rebuilt from the columns. */
  ruleArgs(i: number, ct: Tensor): VjpArgs<unknown> {
    const rule = this.rules.values[this.ruleIds.data[i]];
    const from = this.inputStart.data[i], to = this.inputStart.data[i + 1];
    const count = to - from;
    const inputs: Tensor[] = new Array(count);
    const avals: Aval[] = new Array(count);
    const wanted: boolean[] = new Array(count);
    for (let j = 0; j < count; j++) {
      avals[j] = this.avalOf(this.shapeIds.data[from + j], this.dtypes.data[from + j]);
      wanted[j] = this.inputIds.data[from + j] >= 0;
    }
    let out: Tensor = undefined as unknown as Tensor;
    const saves = rule.saves;
    let at = this.savedStart.data[i];
    if (saves === 'all') {
      for (let j = 0; j < count; j++) inputs[j] = this.saved[at++]!;
      out = this.saved[at]!;
    } else {
      for (let s = 0; s < saves.length; s++, at++) {
        const which = saves[s];
        if (which === 'out') out = this.saved[at]!;
        else inputs[which] = this.saved[at]!;
      }
    }
    const paramId = this.paramIds.data[i];
    return { ct, inputs, avals, out, params: paramId < 0 ? NO_PARAMS : this.params[paramId], wanted };
  }

  /** Record i's output if it is large enough to free early, until the record is forgotten. */
  largeOutput(i: number): Tensor | undefined {
    return this.largeOutputs.get(i);
  }

  /** Drops record i's output and saved values (the tape cannot be swept again). */
  forget(i: number): void {
    this.largeOutputs.delete(i);
    for (let at = this.savedStart.data[i]; at < this.savedStart.data[i + 1]; at++) this.saved[at] = null;
  }

  /** Ends the tape after its last sweep: its small column buffers go back for reuse. */
  release(): void {
    for (const c of [this.ruleIds, this.paramIds, this.outIds, this.inputStart, this.savedStart, this.inputIds, this.shapeIds, this.dtypes]) c.release();
    this.count = 0;
  }

  /** Record i's rule. */
  ruleOf(i: number): TapeRule<unknown> {
    return this.rules.values[this.ruleIds.data[i]];
  }

  /** Record i's output variable. */
  outputOf(i: number): number {
    return this.outIds.data[i];
  }

  /** The variable of record i's input j (-1: a constant). */
  inputOf(i: number, j: number): number {
    return this.inputIds.data[this.inputStart.data[i] + j];
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
 * The seeds of a backward sweep over `trace`: each output that is one of the trace's variables
 * gets its cotangent (null: none), summed where one variable is several outputs.
 */
export function seedsFor(trace: TapeTrace, outs: readonly unknown[], cts: readonly (Tensor | null)[]): Map<number, Tensor> {
  const seeds = new Map<number, Tensor>();
  outs.forEach((o, j) => {
    const ct = cts[j];
    if (ct === null || !(o instanceof TapeVar && o.trace === trace)) return;
    const prev = seeds.get(o.id);
    seeds.set(o.id, prev ? add(prev, ct) : ct);
  });
  return seeds;
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
  // Only values still owned by this sweep may be freed early: one that an enclosing tape has
  // recorded (and so moved to its own scope) must live until that tape is swept.
  const disposable = (t: Tensor) => t instanceof DenseTensor && t.scope !== null && !keep.has(t) && !isSeed(seeds, t) && within(t, trace.scope);
  const stored: Tensor[] = [];
  const kept: DenseTensor[] = [];

  for (let i = trace.length - 1; i >= 0; i--) {
    const outId = trace.outputOf(i);
    const ct = cotangents[outId];
    if (ct !== undefined) {
      cotangents[outId] = undefined;
      owned[outId] = 0;
      stored.length = 0;
      // Intermediates of a rule are freed right after it for large cotangents; for small ones
      // the bookkeeping would cost more than the memory, so they wait for the sweep's scope.
      const scope = ct.size >= SCOPED_NODE_SIZE ? openScope() : null;
      try {
        const rows = ct.shape[0];
        const args = trace.ruleArgs(i, ct);
        const rule = trace.ruleOf(i);
        let inputCts: (Tensor | null)[] | null = null;
        if (rule.cotangent && fusedKernels.enabled) {
          inputCts = rule.cotangent(args);
          if (inputCts) fusedKernels.calls++;
        }
        if (!inputCts) inputCts = rule.vjp(args);
        for (let j = 0; j < args.avals.length; j++) {
          const id = trace.inputOf(i, j);
          let c = inputCts[j];
          if (id < 0 || !c) continue;
          const x = args.avals[j];
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
            kernels.addInPlace(prev.liveBuffer('backward'), c.liveBuffer('backward'));
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
      // Only the record's own output can go now: a saved input may be read by an older record.
      const out = trace.largeOutput(i);
      if (out instanceof DenseTensor && out.scope === trace.scope && !keep.has(out)) out.dispose();
      trace.forget(i);
    }
  }
  const result = wanted.map((id) => cotangents[id] ?? null);
  if (consume) trace.release();
  return result;
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
  if (t instanceof DenseTensor) return t.share(t.shape, 'backward');
  return t;
}
