// The batching rule of the loops (as JAX's for while_loop): under vmap inside jit
// (jit(vmap(f))) a loop becomes ONE loop on the batched values at the level below the vmap.
// Its condition and body are traced per example into sub-programs (which turns the values
// they close over into explicit inputs), then run batched by a fresh vmap level inside the new
// loop's bodies. A carry the body makes batched is broadcast before the loop (iterated to a
// fixed point of which carries are batched). With a per-example condition the loop runs while
// any example's holds, and an example whose condition is false keeps its carry (where); with a
// condition shared by every example it is a plain loop of the batched body.
import type { Aval } from '../core/primitive.js';
import { Tracer, beneath, innermostTrace, popTrace, pushTrace, traceAt } from '../core/trace.js';
import { moveAxis } from '../ops/batching.js';
import { abs, where } from '../ops/elementwise.js';
import { max } from '../ops/reduce.js';
import { reshape } from '../ops/shape.js';
import { broadcastTo } from '../ops/sum.js';
import type { Tensor } from '../tensor/tensor.js';
import { BatchTrace, BatchTracer } from '../transforms/batch.js';
import { execute } from '../staging/execute.js';
import type { Program } from '../staging/program.js';
import { StagingTrace, traceProgram } from '../staging/trace.js';

interface Lifted {
  value: Tensor;
  batched: boolean;
}

/** The vmap level a loop must batch through: the innermost trace when it is a vmap with a jit below it, else null. */
export function batchingLevel(): BatchTrace | null {
  const top = innermostTrace();
  if (!(top instanceof BatchTrace)) return null;
  for (let l = top.level - 1; l >= 0; l--) if (traceAt(l) instanceof StagingTrace) return top;
  return null;
}

/** `x` as a value of the level below the vmap, its batch axis (if any) moved to 0. */
export function lift(trace: BatchTrace, x: Tensor): Lifted {
  const { value, axis } = trace.unwrap(x);
  return axis === null ? { value, batched: false } : { value: moveAxis(value, axis, 0), batched: true };
}

/** `program` run on a batch of `size` (inputs flagged batched have the batch on axis 0); outputs batched on axis 0 or not at all. */
function mapped(program: Program, flags: readonly boolean[], size: number, ins: readonly Tensor[]): Lifted[] {
  const t = pushTrace((level) => new BatchTrace(level, size));
  try {
    const outs = execute(program, ins.map((x, i) => (flags[i] ? new BatchTracer(t, x, 0) : x)));
    return outs.map((o) => lift(t, o));
  } finally {
    popTrace(t);
  }
}

/** Which outputs of `program` are batched when the inputs flagged are (found by tracing, nothing runs). */
function batchedOutputs(program: Program, flags: readonly boolean[], size: number): boolean[] {
  let got: boolean[] = [];
  const avals: Aval[] = program.inputAvals.map((a, i) => (flags[i] ? { shape: [size, ...a.shape], dtype: a.dtype } : a));
  traceProgram('vmap loop analysis', avals, (ins) => {
    const outs = mapped(program, flags, size, ins);
    got = outs.map((o) => o.batched);
    return outs.map((o) => o.value);
  }, false);
  return got;
}

function broadcastBatch(x: Tensor, size: number): Tensor {
  return broadcastTo(reshape(x, [1, ...x.shape]), [size, ...x.shape]);
}

/** Per-example body and condition traced into sub-programs, their captures lifted out of the vmap level. */
export interface BatchedParts {
  trace: BatchTrace;
  /** The carry, lifted. */
  carry: Lifted[];
  body: { program: Program; captures: Lifted[] };
  /** Inputs of the body before the carry (fori's counter): never batched. */
  leading: number;
  cond?: { program: Program; captures: Lifted[] };
}

export function traced(trace: BatchTrace, name: string, avals: readonly Aval[], fn: (ins: Tensor[]) => Tensor[]): { program: Program; captures: Lifted[] } {
  const { program, captures } = traceProgram(name, avals, fn);
  return { program, captures: captures.map((c: Tracer) => lift(trace, c)) };
}

/**
 * Runs the loop at the level below the vmap. `run(cond, body, init)` is the loop there: it
 * gets the batched condition (null for fori), the batched body (given `leading` extra inputs)
 * and the initial carry. Returns the final carry as values of the vmap level.
 */
export function batchedLoop(parts: BatchedParts, run: (cond: ((carry: Tensor[]) => Tensor) | null, body: (lead: Tensor[], carry: Tensor[]) => Tensor[], init: Tensor[]) => Tensor[]): Tensor[] {
  const { trace, body, cond, leading } = parts;
  const size = trace.size;
  const lead = new Array<boolean>(leading).fill(false);
  const bodyCaps = body.captures.map((c) => c.batched);
  let flags = parts.carry.map((c) => c.batched);
  for (;;) {
    const out = batchedOutputs(body.program, [...lead, ...flags, ...bodyCaps], size);
    const next = flags.map((f, i) => f || out[i]);
    if (next.every((f, i) => f === flags[i])) break;
    flags = next;
  }
  const condFlags = () => [...flags, ...cond!.captures.map((c) => c.batched)];
  const perExample = cond !== undefined && batchedOutputs(cond.program, condFlags(), size)[0];
  if (perExample) flags = flags.map(() => true);
  const init = parts.carry.map((c, i) => (flags[i] && !c.batched ? broadcastBatch(c.value, size) : c.value));
  const pred = (carry: Tensor[]): Lifted => mapped(cond!.program, condFlags(), size, [...carry, ...cond!.captures.map((c) => c.value)])[0];
  const batchedCond = cond === undefined ? null : (carry: Tensor[]): Tensor => {
    const p = pred(carry);
    return p.batched ? max(abs(p.value)) : p.value;
  };
  const batchedBody = (ls: Tensor[], carry: Tensor[]): Tensor[] => {
    const outs = mapped(body.program, [...lead, ...flags, ...bodyCaps], size, [...ls, ...carry, ...body.captures.map((c) => c.value)]);
    const next = outs.map((o, i) => (flags[i] && !o.batched ? broadcastBatch(o.value, size) : o.value));
    if (!perExample) return next;
    const running = pred(carry).value;
    return next.map((x, i) => where(reshape(running, [size, ...new Array<number>(x.ndim - 1).fill(1)]), x, carry[i]));
  };
  const out = beneath(trace, () => run(batchedCond, batchedBody, init));
  return out.map((x, i) => trace.wrap(x, flags[i] ? 0 : null));
}

/**
 * scan's batching rule: the step traced per example (`step` on the carry then one slice of
 * each xs leaf, returning the carry then the y leaves) and run batched by one scan at the level
 * below the vmap. `run(step, init, xs)` is that scan; its xs have the batch on axis 1 (after
 * the sequence axis). Returns the final carry and the stacked ys as values of the vmap level.
 */
export function batchedScan(trace: BatchTrace, carry: Tensor[], xs: Tensor[], avals: readonly Aval[], step: (ins: Tensor[]) => Tensor[],
  run: (step: (carry: Tensor[], x: Tensor[]) => [Tensor[], Tensor[]], init: Tensor[], xs: Tensor[]) => [Tensor[], Tensor[]]): Tensor[] {
  const size = trace.size, nc = carry.length;
  const body = traced(trace, 'scan step', avals, step);
  const lifted = carry.map((c) => lift(trace, c));
  const seq = xs.map((x) => lift(trace, x));
  const xFlags = seq.map((x) => x.batched);
  const capFlags = body.captures.map((c) => c.batched);
  let flags = lifted.map((c) => c.batched);
  let out: boolean[];
  for (;;) {
    out = batchedOutputs(body.program, [...flags, ...xFlags, ...capFlags], size);
    const next = flags.map((f, i) => f || out[i]);
    if (next.every((f, i) => f === flags[i])) break;
    flags = next;
  }
  const init = lifted.map((c, i) => (flags[i] && !c.batched ? broadcastBatch(c.value, size) : c.value));
  const caps = body.captures.map((c) => c.value);
  const batchedStep = (c: Tensor[], x: Tensor[]): [Tensor[], Tensor[]] => {
    const outs = mapped(body.program, [...flags, ...xFlags, ...capFlags], size, [...c, ...x, ...caps]);
    const next = outs.slice(0, nc).map((o, i) => (flags[i] && !o.batched ? broadcastBatch(o.value, size) : o.value));
    return [next, outs.slice(nc).map((o) => o.value)];
  };
  const [final, ys] = beneath(trace, () => run(batchedStep, init, seq.map((x) => (x.batched ? moveAxis(x.value, 0, 1) : x.value))));
  const yFlags = out.slice(nc);
  return [...final.map((x, i) => trace.wrap(x, flags[i] ? 0 : null)), ...ys.map((y, i) => trace.wrap(y, yFlags[i] ? 1 : null))];
}
