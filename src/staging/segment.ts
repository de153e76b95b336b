// Partial compilation: a program-to-program pass that the executor applies to every program it
// runs interpreted (one with a large value, so codegen.ts does not compile it whole). Runs of
// equations on small values (scalars and tensors of at most SMALL_SIZE elements) are outlined
// into one `segment` equation each, whose sub-program codegen.ts compiles to straight-line JS:
// the interpreter then dispatches once per segment instead of once per equation (65 ns for a
// scalar kernel call, up to a microsecond for an impl), and the values a segment uses only
// inside it are JS locals, never tensors.
//
// Why a pass over the planned program and not mixed programs compiled whole (large values as
// kernel calls on arena slots, which codegen.ts could write): the planned interpreter keeps what
// it does well for large values (elementwise fusion, a liveness-planned arena, impl calls that
// may return views or grow memory), codegen keeps the invariant its code relies on (no call in
// it grows memory, so its typed-array views stay valid), and a segment costs only its call and
// one tensor per value it hands back (see `segmentation.minLength`). Measured against a
// prototype that compiled the fused mixed program whole: the jitted Lotka-Volterra odeint ran in
// 9.9 ms with segments, 7.5 ms compiled whole, 13 ms interpreted (best of 4 on a loaded
// machine), an MLP gradient with a scalar tail the same in all three; but whole compilation
// changed the solution's last bits (Math.pow for scalar pow) and needs codegen.ts to handle
// large values, so segments it is.
//
// Grouping. One scan in program order keeps an open segment: every equation that fits (see
// `fit`) joins it, sinking past the large equations that do not read it; the first equation
// that does not fit and reads one of its values closes it (the segment goes in front of that
// equation). So large equations keep their order, a segment breaks only where an op outside
// needs a small result, and each segment reads only values defined before it: the order is
// valid. Closing all of it there (not only the part that equation needs) bounds how far small
// equations sink, and so how long their inputs stay alive in the arena.
import type { Aval } from '../core/primitive.js';
import { sizeOf } from '../tensor/shape.js';
import type { DenseTensor, Tensor } from '../tensor/tensor.js';
import { LOOP_SIZE, SMALL_SIZE, compiledOf } from './codegen.js';
import { inlinable } from './codegen-scalar.js';
import { Program, definedBy, type Equation, type StagedCall, type Structure } from './program.js';

/** @internal The pass's switch and threshold; tests turn it off to compare, and count segments. */
export const segmentation = {
  enabled: true,
  /**
   * The fewest equations written as JS in a segment with one output (one more per further
   * output; and at least as many as its kernel calls). Measured (a sum of 200 elements, then a chain
   * of n scalar mul/add, then a large mul reading the chain; jit calls, pass on against off):
   * the interpreter runs a scalar equation in about 65 ns (a kernel call on an arena slot); a
   * segment call costs about 0.25 us, a little more per value it returns. The pass was slower
   * by 0.1 us at n = 1 and 2, even at n = 3 and 4, and faster from n = 6 (0.4 us at n = 16).
   */
  minLength: 4,
  /** Segments outlined so far. */
  segments: 0,
};

/** Runs a program on tensors of any kind (the executor's `execute`). */
export type Runner = (program: Program, inputs: readonly Tensor[]) => Tensor[];

const small = (a: Aval) => a.dtype !== 'int32' && sizeOf(a.shape) <= SMALL_SIZE;

/** How generated code would run an equation in a segment. */
const enum Fit { No, Kernel, Js }

/**
 * How generated code runs `eq` in a segment, with the same bits as the interpreter: as JS (a
 * scalar, a map over at most LOOP_SIZE elements, a loop or branch with scalar bodies), as a
 * kernel call (a larger small op), or not at all (a large or int32 value, an impl, or a scalar
 * map whose JS is not exact: Math.exp or Math.pow against the SIMD kernels, a few ulp apart;
 * so the pass never changes a result's bits, and jit computes as eager).
 */
function fit(program: Program, eq: Equation): Fit {
  const { avals } = program;
  for (const v of eq.inputs) if (!small(avals[v])) return Fit.No;
  for (const v of definedBy(eq)) if (!small(avals[v])) return Fit.No;
  if (eq.call) return eq.call.structure !== undefined && inlinable(eq.call.structure, eq) && exactBodies(eq.call.structure) ? Fit.Js : Fit.No;
  // Past LOOP_SIZE output elements no emit is written as JS (a sum's work is at least that).
  if (sizeOf(avals[eq.out].shape) > LOOP_SIZE) return eq.prim.into !== undefined ? Fit.Kernel : Fit.No;
  const ins = eq.inputs.map((v) => avals[v]);
  const emit = eq.prim.emit ? eq.prim.emit(ins, eq.params) : null;
  const work = emit?.kind === 'sum' ? sizeOf(ins[0].shape) : sizeOf(avals[eq.out].shape);
  if (emit !== null && work <= LOOP_SIZE && (emit.kind !== 'map' || emit.exact)) return Fit.Js;
  if (emit !== null && emit.kind === 'map' && !emit.exact && work === 1) return Fit.No;
  // Whether `into` binds a kernel for these avals is known only by binding it, which costs more
  // than this pass; a segment whose kernel then falls back to impl is not pure, and is not outlined.
  return eq.prim.into !== undefined ? Fit.Kernel : Fit.No;
}

function bodiesOf(s: Structure): Program[] {
  switch (s.kind) {
    case 'fori': case 'fori_stacked': return [s.body];
    case 'fori_backward': return [s.vjp];
    case 'while': return [s.cond, s.body];
    case 'cond': return [s.onTrue, s.onFalse];
  }
}

/** Whether the bodies of an inlinable loop or branch emit only exact JS. */
function exactBodies(s: Structure): boolean {
  const bodies = bodiesOf(s);
  return bodies.every((p) => p.equations.every((eq) => {
    if (eq.call) return eq.call.structure !== undefined && exactBodies(eq.call.structure);
    const emit = eq.prim.emit ? eq.prim.emit(eq.inputs.map((v) => p.avals[v]), eq.params) : null;
    return emit === null || emit.kind !== 'map' || emit.exact;
  }));
}

/**
 * `program` with its runs of small equations outlined into compiled `segment` equations; the
 * program itself when none is outlined. `run` executes a segment's sub-program (concretely
 * when its inputs are, else through bind).
 */
export function segmentProgram(program: Program, run: Runner): Program {
  const { equations, avals } = program;
  const minLength = Math.max(1, segmentation.minLength);
  if (!segmentation.enabled || equations.length <= minLength) return program;
  const fits = equations.map((eq) => fit(program, eq));
  const ok = fits.map((f) => f !== Fit.No);
  if (ok.every((e) => !e) || ok.every((e) => e)) return program;

  // The open segment: its members in order, and `open[v]` set for the variables they define.
  const open = new Uint8Array(avals.length);
  let members: number[] = [];
  const items: (number | number[])[] = [];
  const close = () => {
    for (const j of members) for (const v of definedBy(equations[j])) open[v] = 0;
    if (members.length >= minLength) items.push(members);
    else for (const j of members) items.push(j);
    members = [];
  };
  equations.forEach((eq, i) => {
    if (ok[i]) {
      members.push(i);
      for (const v of definedBy(eq)) open[v] = 1;
      return;
    }
    if (eq.inputs.some((v) => open[v] === 1)) close();
    items.push(i);
  });
  close();
  if (!items.some((it) => Array.isArray(it))) return program;

  // Which variables each segment hands back: those read outside it, and the program's outputs.
  const segmentOf = new Int32Array(equations.length).fill(-1);
  items.forEach((it, s) => {
    if (Array.isArray(it)) for (const j of it) segmentOf[j] = s;
  });
  const producer = new Int32Array(avals.length).fill(-1);
  equations.forEach((eq, i) => definedBy(eq).forEach((v) => (producer[v] = i)));
  const exported = new Uint8Array(avals.length);
  equations.forEach((eq, i) => {
    for (const v of eq.inputs) if (producer[v] >= 0 && segmentOf[producer[v]] !== segmentOf[i]) exported[v] = 1;
  });
  for (const v of program.outputs) exported[v] = 1;

  const out: Equation[] = [];
  let changed = false;
  for (const it of items) {
    if (!Array.isArray(it)) {
      out.push(equations[it]);
      continue;
    }
    const eq = outline(program, it, fits, exported, run);
    if (eq) {
      out.push(eq);
      changed = true;
    } else {
      for (const j of it) out.push(equations[j]);
    }
  }
  return changed ? new Program(avals, program.inputCount, program.consts, out, program.outputs) : program;
}

/**
 * One `segment` equation for `members` (in order), or null when codegen would not compile the
 * segment to pure code (then its equations stay as they are).
 */
function outline(program: Program, indices: readonly number[], fits: readonly Fit[], exported: Uint8Array, run: Runner): Equation | null {
  const { avals, inputCount } = program;
  // Worth a call: its JS equations pay for the call and for each tensor it returns past the
  // first. Kernel calls gain nothing there (generated code makes an argument array per call,
  // where the interpreter reuses one): a segment of mostly kernel calls is slower (a
  // 150,000-equation LSTM gradient of [14] vectors, outlined into one segment, ran 2x slower).
  const members = indices.map((i) => program.equations[i]);
  const js = indices.filter((i) => fits[i] === Fit.Js).length;
  let returned = 0;
  for (const eq of members) for (const v of definedBy(eq)) returned += exported[v];
  if (js < segmentation.minLength + returned - 1 || js < indices.length - js) return null;
  const firstOwn = inputCount + program.consts.length;
  const inside = new Set<number>();
  for (const eq of members) for (const v of definedBy(eq)) inside.add(v);
  // The sub-program's variables: outer inputs (by first use), the constants it reads, its own.
  const inputs: number[] = [];
  const consts: number[] = [];
  const index = new Map<number, number>();
  for (const eq of members) {
    for (const v of eq.inputs) {
      if (inside.has(v) || index.has(v)) continue;
      index.set(v, -1);
      if (v >= inputCount && v < firstOwn) consts.push(v);
      else inputs.push(v);
    }
  }
  const vars = [...inputs, ...consts];
  for (const eq of members) vars.push(...definedBy(eq));
  vars.forEach((v, k) => index.set(v, k));
  const at = (v: number) => index.get(v)!;
  const body = members.map((eq): Equation => (eq.call
    ? { call: eq.call, inputs: eq.inputs.map(at), outs: eq.outs.map(at) }
    : { prim: eq.prim, inputs: eq.inputs.map(at), params: eq.params, out: at(eq.out) }));
  const outs = vars.filter((v) => inside.has(v) && exported[v]);
  const sub = new Program(vars.map((v) => avals[v]), inputs.length, consts.map((v) => program.consts[v - inputCount] as DenseTensor), body, outs.map(at));
  const compiled = compiledOf(sub);
  if (!compiled?.pure) return null;
  segmentation.segments++;
  const call: StagedCall = { name: 'segment', params: { program: sub }, run: (ins) => run(sub, ins) };
  segments.add(call);
  return { call, inputs, outs };
}

const segments = new WeakSet<StagedCall>();

/** Whether `call` is an outlined segment (pure generated code: it keeps no reference to its inputs). */
export function isSegment(call: StagedCall): boolean {
  return segments.has(call);
}
