// The forward-mode rule of the loops (as JAX's jvp of while_loop): under jvp inside jit
// (jit(jvp(f))) a loop becomes ONE loop at the level below the jvp, whose carry is the primal
// carry followed by the tangents of the carries that have one. Before this rule a whileLoop
// whose condition read a traced value could not be staged there (its trip count is unknown
// while tracing) and fori and scan were unrolled into the program.
//
// The condition and body are traced at the jvp level into sub-programs (the values they close
// over become inputs, split into primal and tangent). The new loop's body runs the body program
// under a fresh JvpTrace of the same chunk; its condition reads primals only. Which carries
// have tangents is found by tracing (a carry whose tangent the body makes nonzero gets one
// from the start, zeros), iterated to a fixed point; int32 carries never have one.
import type { Aval } from '../core/primitive.js';
import { Tracer, beneath, innermostTrace, popTrace, pushTrace, traceAt } from '../core/trace.js';
import { moveAxis } from '../ops/batching.js';
import { zeros } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { Dual, JvpTrace } from '../transforms/forward.js';
import { execute } from '../staging/execute.js';
import type { Program } from '../staging/program.js';
import { StagingTrace, traceProgram } from '../staging/trace.js';

/** The jvp level a loop must carry tangents through: the innermost trace when it is a jvp with a jit below it, else null. */
export function forwardLevel(): JvpTrace | null {
  const top = innermostTrace();
  if (!(top instanceof JvpTrace)) return null;
  for (let l = top.level - 1; l >= 0; l--) if (traceAt(l) instanceof StagingTrace) return top;
  return null;
}

/** A value of the jvp level as its primal and chunked tangent (null: zero), both of the level below. */
interface Split {
  primal: Tensor;
  tangent: Tensor | null;
}

function split(trace: JvpTrace, x: Tensor): Split {
  const { primals, tangents } = trace.unpack([x]);
  return { primal: primals[0], tangent: tangents[0] };
}

/** A sub-program traced at the jvp level, with its captures split. */
export interface ForwardPart {
  program: Program;
  captures: Split[];
}

export function tracedForward(trace: JvpTrace, name: string, avals: readonly Aval[], fn: (ins: Tensor[]) => Tensor[]): ForwardPart {
  const { program, captures } = traceProgram(name, avals, fn);
  return { program, captures: captures.map((c: Tracer) => split(trace, c)) };
}

/** `program` run on primals with chunked tangents (null: zero) under a fresh jvp of chunk `k`; its outputs split. */
function pushed(program: Program, k: number, primals: readonly Tensor[], tangents: readonly (Tensor | null)[]): Split[] {
  const t = pushTrace((level) => new JvpTrace(level, k));
  try {
    const outs = execute(program, primals.map((p, i) => (tangents[i] ? new Dual(t, p, tangents[i]) : p)));
    return outs.map((o) => split(t, o));
  } finally {
    popTrace(t);
  }
}

/** Which outputs of `program` have tangents when the inputs flagged do (found by tracing; nothing runs). */
function tangentOutputs(program: Program, flags: readonly boolean[], k: number): boolean[] {
  let got: boolean[] = [];
  const avals = program.inputAvals.map((a) => ({ shape: a.shape, dtype: a.dtype }));
  const tanAvals = program.inputAvals.flatMap((a, i) => (flags[i] ? [{ shape: [k, ...a.shape], dtype: a.dtype }] : []));
  traceProgram('jvp loop analysis', [...avals, ...tanAvals], (ins) => {
    let m = avals.length;
    const outs = pushed(program, k, ins.slice(0, avals.length), flags.map((f) => (f ? ins[m++] : null)));
    got = outs.map((o) => o.tangent !== null);
    return outs.map((o) => o.primal);
  }, false);
  return got;
}

const hasTangent = (s: Split) => s.tangent !== null;

/**
 * Runs a loop at the level below the jvp. `run(cond, body, init)` is that loop: it gets the
 * condition on the new carry (null for fori), the body (given `leading` inputs before the
 * carry, such as fori's counter) and the initial new carry. Returns the final carry as values
 * of the jvp level.
 */
export function forwardLoop(trace: JvpTrace, carry: readonly Tensor[], body: ForwardPart, leading: number, cond: ForwardPart | null,
  run: (cond: ((carry: Tensor[]) => Tensor) | null, body: (lead: Tensor[], carry: Tensor[]) => Tensor[], init: Tensor[]) => Tensor[]): Tensor[] {
  const k = trace.chunk, n = carry.length;
  const parts = carry.map((x) => split(trace, x));
  const capFlags = body.captures.map(hasTangent);
  const lead = new Array<boolean>(leading).fill(false);
  let flags = parts.map((p) => hasTangent(p) && p.primal.dtype !== 'int32');
  for (;;) {
    const out = tangentOutputs(body.program, [...lead, ...flags, ...capFlags], k);
    const next = flags.map((f, i) => (f || out[i]) && parts[i].primal.dtype !== 'int32');
    if (next.every((f, i) => f === flags[i])) break;
    flags = next;
  }
  const tangentsIn = (c: Tensor[]) => {
    let m = n;
    return flags.map((f) => (f ? c[m++] : null));
  };
  const loopCond = cond === null ? null : (c: Tensor[]) => execute(cond.program, [...c.slice(0, n), ...cond.captures.map((s) => s.primal)])[0];
  const loopBody = (ls: Tensor[], c: Tensor[]): Tensor[] => {
    const outs = pushed(body.program, k, [...ls, ...c.slice(0, n), ...body.captures.map((s) => s.primal)],
      [...lead.map(() => null), ...tangentsIn(c), ...body.captures.map((s) => s.tangent)]);
    const tangents = outs.flatMap((o, i) => (flags[i] ? [o.tangent ?? zeros([k, ...o.primal.shape], { dtype: o.primal.dtype })] : []));
    return [...outs.map((o) => o.primal), ...tangents];
  };
  const out = beneath(trace, () => {
    const init = [...parts.map((p) => p.primal), ...parts.flatMap((p, i) => (flags[i] ? [p.tangent ?? zeros([k, ...p.primal.shape], { dtype: p.primal.dtype })] : []))];
    return run(loopCond, loopBody, init);
  });
  const tangents = tangentsIn(out);
  return out.slice(0, n).map((p, i) => (tangents[i] ? new Dual(trace, p, tangents[i]) : p));
}

/**
 * scan's forward rule: the step traced at the jvp level (`step` on the carry then one slice of
 * each xs leaf, returning the carry then the y leaves) runs inside one scan at the level below,
 * whose carry holds the tangents too and whose xs and ys carry their tangents on axis 1 (after
 * the sequence axis). `run(step, init, xs)` is that scan. Returns the final carry and the stacked
 * ys as values of the jvp level.
 */
export function forwardScan(trace: JvpTrace, carry: readonly Tensor[], xs: readonly Tensor[], avals: readonly Aval[], step: (ins: Tensor[]) => Tensor[],
  run: (step: (carry: Tensor[], x: Tensor[]) => [Tensor[], Tensor[]], init: Tensor[], xs: Tensor[]) => [Tensor[], Tensor[]]): Tensor[] {
  const k = trace.chunk, nc = carry.length;
  const body = tracedForward(trace, 'scan step', avals, step);
  const parts = carry.map((x) => split(trace, x));
  const seq = xs.map((x) => split(trace, x));
  const xFlags = seq.map(hasTangent);
  const capFlags = body.captures.map(hasTangent);
  let flags = parts.map((p) => hasTangent(p) && p.primal.dtype !== 'int32');
  let out: boolean[];
  for (;;) {
    out = tangentOutputs(body.program, [...flags, ...xFlags, ...capFlags], k);
    const next = flags.map((f, i) => (f || out[i]) && parts[i].primal.dtype !== 'int32');
    if (next.every((f, i) => f === flags[i])) break;
    flags = next;
  }
  const yFlags = out.slice(nc).map((f, j) => f && body.program.outputAvals[nc + j].dtype !== 'int32');
  const nx = seq.length;
  const scanStep = (c: Tensor[], x: Tensor[]): [Tensor[], Tensor[]] => {
    let m = nc, q = nx;
    const outs = pushed(body.program, k, [...c.slice(0, nc), ...x.slice(0, nx), ...body.captures.map((s) => s.primal)],
      [...flags.map((f) => (f ? c[m++] : null)), ...xFlags.map((f) => (f ? x[q++] : null)), ...body.captures.map((s) => s.tangent)]);
    const zero = (o: Split) => o.tangent ?? zeros([k, ...o.primal.shape], { dtype: o.primal.dtype });
    const carryOut = outs.slice(0, nc), ys = outs.slice(nc);
    return [[...carryOut.map((o) => o.primal), ...carryOut.flatMap((o, i) => (flags[i] ? [zero(o)] : []))],
      [...ys.map((o) => o.primal), ...ys.flatMap((o, j) => (yFlags[j] ? [zero(o)] : []))]];
  };
  const [final, ys] = beneath(trace, () => {
    const init = [...parts.map((p) => p.primal), ...parts.flatMap((p, i) => (flags[i] ? [p.tangent ?? zeros([k, ...p.primal.shape], { dtype: p.primal.dtype })] : []))];
    // A sequence's tangent [k, length, ...] is sliced along the sequence: [length, k, ...].
    const seqIn = [...seq.map((s) => s.primal), ...seq.flatMap((s) => (s.tangent ? [moveAxis(s.tangent, 0, 1)] : []))];
    return run(scanStep, init, seqIn);
  });
  let m = nc, q = yFlags.length;
  const carryOut = final.slice(0, nc).map((p, i) => (flags[i] ? new Dual(trace, p, final[m++]) : p));
  const yOut = ys.slice(0, yFlags.length).map((y, j) => (yFlags[j] ? new Dual(trace, y, moveAxis(ys[q++], 1, 0)) : y));
  return [...carryOut, ...yOut];
}
