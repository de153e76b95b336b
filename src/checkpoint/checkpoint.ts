// checkpoint(f): rematerialization. Under reverse mode the tape keeps only f's inputs and
// outputs; f's forward pass is run again under a fresh inner tape when the backward sweep
// reaches it, and the cotangents are pulled back through that inner tape. The recomputation
// runs under whatever outer transforms are active, so its rules stay differentiable (grad of
// grad, jvp of grad). Also here: the `name` tag that checkpoint policies read.
import { defineLinear, type Primitive } from '../core/primitive.js';
import { Tracer, bind, popTrace, pushTrace, topTrace } from '../core/trace.js';
import { ArgumentError, DifferentiationError, fmtShape } from '../errors.js';
import type { Scope } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { toTensor, type TensorLike } from '../ops/convert.js';
import { flatten, rebuild, type Leaf } from '../tree.js';
import { TapeTrace, TapeVar, backward, seedsFor } from '../transforms/reverse.js';
import { checkFunction, scoped } from '../transforms/util.js';
import { claimFor, recordOutputs, type Pullback } from '../transforms/group.js';
import { batchSame } from '../core/batch-axes.js';

// name(x, label) = x, sharing x's data; d name(x) = dx.
const nameP = defineLinear<{ label: string }>({
  name: 'name',
  batch: batchSame(),
  integer: true,
  impl: ([x]) => x.share(x.shape, 'name'),
  shape: ([x]) => x,
  sparsity: 'elementwise',
  apply: ([t]) => t,
  transpose: (ct) => [ct],
});

/**
 * Tags a value with a label that checkpoint policies can select (`saveOnly`). Returns x
 * unchanged (no copy); every transform sees an identity.
 * @example const h = name(tanh(matmul(W, x)), 'hidden');
 */
export function name(x: TensorLike, label: string): Tensor {
  if (typeof label !== 'string') throw new ArgumentError(`name: the label must be a string, got ${typeof label}.`);
  return bind(nameP, [toTensor('name', x)], { label });
}

/** What a checkpoint policy is asked about each value a primitive computes inside f. */
export interface CheckpointValue {
  /** The primitive that computed the value ('matmul', 'sin', ...). */
  op: string;
  /** The label given to it with `name(value, label)`, or null. */
  name: string | null;
  shape: readonly number[];
}

/** Decides which of f's intermediate values the forward pass keeps for the backward sweep. */
export type CheckpointPolicy = (value: CheckpointValue) => boolean;

/** Keeps only f's inputs and outputs; the backward sweep recomputes all of f. The default. */
export const saveNothing: CheckpointPolicy = () => false;

/** Keeps every value, as if f were not checkpointed: f runs once and nothing is recomputed. */
export const saveAll: CheckpointPolicy = () => true;

/**
 * Keeps the values tagged with `name(value, label)` for one of `labels`. The recomputation
 * still runs f, but the primitives that produced those values return the kept results instead
 * of running their kernels again (selective checkpointing, as PyTorch's eager mode does it:
 * f is ordinary code, so the ops leading up to a kept value still run).
 * @example checkpoint(layer, { policy: saveOnly(['hidden']) })
 */
export function saveOnly(labels: readonly string[]): CheckpointPolicy {
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) {
    throw new ArgumentError('saveOnly: expected an array of label strings, as given to name(value, label).');
  }
  const wanted = new Set(labels);
  return (value) => value.name !== null && wanted.has(value.name);
}

interface KeptValue {
  call: number;
  op: string;
  value: Tensor;
}

/**
 * The tape for selective policies. Capturing (kept === null), it wraps values without
 * recording and logs every primitive's output with the label `name` gave it. Replaying, the
 * i-th primitive call returns the kept value of the capture's i-th call instead of running.
 */
class PolicyTrace extends TapeTrace {
  private calls = 0;
  readonly log: { op: string; value: Tensor; label: string | null }[] = [];
  private readonly callOf = new Map<number, number>();

  constructor(level: number, scope: Scope, private readonly kept: Map<number, KeptValue> | null) {
    super(level, scope);
  }

  override process<P>(prim: Primitive<P>, inputs: Tensor[], params: P): Tensor {
    const call = this.calls++;
    const primals = this.unpack(inputs);
    if (this.kept === null) {
      const v = this.variable(bind(prim, primals, params));
      this.callOf.set(v.id, call);
      this.log.push({ op: prim.name, value: v.primal, label: null });
      const src = inputs[0];
      if ((prim as Primitive<unknown>) === nameP && src instanceof TapeVar && src.trace === this) {
        const from = this.callOf.get(src.id);
        if (from !== undefined) this.log[from].label = (params as { label: string }).label;
      }
      return v;
    }
    const hit = this.kept.get(call);
    if (hit && hit.op !== prim.name) {
      throw new DifferentiationError(`checkpoint: when recomputed, f ran '${prim.name}' where its first run ran '${hit.op}' (primitive call ${call}). A policy other than saveNothing/saveAll needs f to run the same ops each time; make f deterministic or use saveNothing.`);
    }
    return this.record(prim, params, inputs, primals, hit ? hit.value : bind(prim, primals, params));
  }
}

/** f's leaves with the differentiated ones replaced by fresh variables of `trace`. */
function variables(trace: TapeTrace, leaves: Leaf[], differentiated: boolean[]): Leaf[] {
  return leaves.map((l, i) => (differentiated[i] ? trace.variable(l as Tensor) : l));
}

function outputLeaves(op: string, out: unknown): ReturnType<typeof flatten> {
  return flatten(out, `${op}: the function's output`);
}

/** Runs f under a fresh tape and pulls `cts` (one per output leaf) back to its tensor inputs. */
function recompute(f: (...args: unknown[]) => unknown, def: ReturnType<typeof flatten>['def'], leaves: Leaf[], differentiated: boolean[],
  cts: (Tensor | null)[], kept: Map<number, KeptValue> | null): (Tensor | null)[] {
  const op = 'checkpoint';
  return scoped((scope) => {
    const trace = pushTrace((level) => (kept ? new PolicyTrace(level, scope, kept) : new TapeTrace(level, scope)));
    try {
      const vars = variables(trace, leaves, differentiated);
      const out = outputLeaves(op, f(...rebuild<unknown[]>(def, vars))).leaves;
      if (out.length !== cts.length) {
        throw new DifferentiationError(`${op}: f returned ${out.length} leaves when recomputed but ${cts.length} the first time; f must be a deterministic function of its arguments.`);
      }
      const seeds = seedsFor(trace, out, cts);
      const wanted = vars.filter((v) => v instanceof Tensor).map((v) => (v instanceof TapeVar && v.trace === trace ? v.id : -1));
      return backward(trace, seeds, wanted, { consume: true, keep: new Set() });
    } finally {
      popTrace(trace);
    }
  });
}

/** Runs f once with a capturing tape and keeps the values `policy` selects. */
function capture(f: (...args: unknown[]) => unknown, def: ReturnType<typeof flatten>['def'], leaves: Leaf[], policy: CheckpointPolicy): [unknown, KeptValue[]] {
  return scoped((scope) => {
    const trace = pushTrace((level) => new PolicyTrace(level, scope, null));
    try {
      const vars = leaves.map((l) => (l instanceof Tensor ? trace.variable(l) : l));
      const { leaves: out, def: outDef } = outputLeaves('checkpoint', f(...rebuild<unknown[]>(def, vars)));
      const values = out.map((o) => (o instanceof TapeVar && o.trace === trace ? o.primal : o));
      const kept: KeptValue[] = [];
      trace.log.forEach((entry, call) => {
        if (policy({ op: entry.op, name: entry.label, shape: entry.value.shape })) kept.push({ call, op: entry.op, value: entry.value });
      });
      return [rebuild(outDef, values), kept] as [unknown, KeptValue[]];
    } finally {
      popTrace(trace);
    }
  });
}

/**
 * Returns f with rematerialization: under grad (or vjp, jacrev) the tape keeps f's inputs
 * and outputs, not its intermediate values, and the backward sweep runs f again under a fresh
 * tape to pull cotangents through it. Costs one more forward pass of f; saves the memory of
 * f's intermediates between the forward and the backward sweeps. Under jvp or outside any
 * transform f is simply called. Checkpoints nest, and work under jvp and inside grad of grad.
 *
 * f takes and returns trees of tensors (numbers in its arguments are passed through as
 * constants). Its tensor arguments are its only differentiable inputs: a value it closes over
 * that grad is differentiating cannot be replayed and is an error (pass it as an argument).
 * A tree output is recorded as one tape node per output leaf, all sharing one recomputation.
 *
 * `policy` chooses what the forward pass keeps: `saveNothing` (default), `saveAll`, or
 * `saveOnly(labels)` for values tagged with `name(value, label)`; any predicate on
 * {op, name, shape} works too.
 * @example
 * const block = checkpoint((x: Tensor) => tanh(matmul(W, tanh(matmul(W, x)))));
 * grad((x: Tensor) => sum(block(x)))(x0); // keeps x, recomputes the two layers
 */
export function checkpoint<A extends unknown[], R>(f: (...args: A) => R, options: { policy?: CheckpointPolicy } = {}): (...args: A) => R {
  checkFunction('checkpoint', f);
  const policy = options.policy ?? saveNothing;
  if (typeof policy !== 'function') throw new ArgumentError(`checkpoint: policy must be a function such as saveNothing, saveAll or saveOnly([...]), got ${typeof policy}.`);
  const op = 'checkpoint';
  const fn = f as (...args: unknown[]) => unknown;
  const g = (...args: A): R => {
    const { leaves, def } = flatten(args, `${op}: argument`);
    const tensors = leaves.filter((l): l is Tensor => l instanceof Tensor);
    const top = topTrace(op, tensors);
    if (!(top instanceof TapeTrace) || policy === saveAll) return f(...args);
    const primalLeaves = leaves.map((l) => (l instanceof Tensor ? top.unpack([l])[0] : l));
    const differentiated = leaves.map((l) => l instanceof TapeVar && l.trace === top);
    let out: unknown;
    let kept: Map<number, KeptValue> | null = null;
    if (policy === saveNothing) {
      // Through g again, so that enclosing reverse levels checkpoint f as well; in a scope of
      // its own, so that f's intermediates are freed now rather than with grad's scope.
      out = scoped(() => g(...(rebuild<unknown[]>(def, primalLeaves) as A)));
    } else {
      const [value, keptList] = capture(fn, def, primalLeaves, policy);
      out = value;
      claimFor(top, keptList.map((k) => k.value));
      kept = new Map(keptList.map((k) => [k.call, k]));
    }
    const { leaves: outLeaves, def: outDef } = outputLeaves(op, out);
    for (const o of outLeaves) {
      if (o instanceof Tracer && o.trace.level >= top.level) {
        throw new DifferentiationError(`${op}: f uses a value that grad is differentiating without taking it as an argument (a closure); its output of shape ${fmtShape(o.shape)} depends on it. The recomputation cannot replay closed-over values: pass it to the checkpointed function as an argument.`);
      }
    }
    const outTensors = outLeaves.filter((o): o is Tensor => o instanceof Tensor);
    const pull: Pullback = (cts) => {
      let i = 0;
      const perLeaf = outLeaves.map((o) => (o instanceof Tensor ? cts[i++] : null));
      return recompute(fn, def, primalLeaves, differentiated, perLeaf, kept);
    };
    const recorded = recordOutputs(top, op, tensors, top.unpack(tensors), outTensors, pull);
    let i = 0;
    return rebuild<R>(outDef, outLeaves.map((o) => (o instanceof Tensor ? recorded[i++] : o)));
  };
  return g;
}
