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
// one tensor per value it hands back (see `segmentation.minLength`).
//
// Grouping. One scan in program order keeps an open segment: every equation small values allow
// joins it (it is sunk past the large equations that do not need it); a large equation that
// reads values of the open segment first closes the part of it those values depend on (their
// cone), which goes in front of it, and the rest stays open. So large equations keep their
// order (the arena's liveness plan is unchanged), a segment breaks only where a large op needs
// a small result, and each segment reads only values defined before it: the order is valid.
import type { Aval } from '../core/primitive.js';
import { sizeOf } from '../tensor/shape.js';
import type { DenseTensor, Tensor } from '../tensor/tensor.js';
import { SMALL_SIZE, compiledOf } from './codegen.js';
import { inlinable } from './codegen-scalar.js';
import { Program, definedBy, type Equation, type StagedCall, type Structure } from './program.js';

/** @internal The pass's switch and threshold; tests turn it off to compare, and count segments. */
export const segmentation = {
  enabled: true,
  /**
   * The fewest equations outlined into a segment. Measured (a sum of 200 elements, then a chain
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

/**
 * Whether generated code handles `eq` in a segment: small float values, and exact JS or a
 * kernel for it. A map whose JS form is not exact (Math.exp, Math.pow... against the SIMD
 * kernels, a few ulp apart) stays in the interpreter, so the pass never changes a result's bits:
 * a program computes the same with and without it, and jit the same as eager.
 */
function eligible(program: Program, eq: Equation): boolean {
  const { avals } = program;
  for (const v of eq.inputs) if (!small(avals[v])) return false;
  for (const v of definedBy(eq)) if (!small(avals[v])) return false;
  if (eq.call) return eq.call.structure !== undefined && inlinable(eq.call.structure, eq) && exactBodies(eq.call.structure);
  const ins = eq.inputs.map((v) => avals[v]);
  const emit = eq.prim.emit ? eq.prim.emit(ins, eq.params) : null;
  if (emit !== null) return emit.kind !== 'map' || emit.exact;
  return (eq.prim.into ? eq.prim.into(ins, eq.params) : null) !== null;
}

/** Whether the bodies of an inlinable loop or branch emit only exact JS. */
function exactBodies(s: Structure): boolean {
  const bodies = s.kind === 'fori' ? [s.body] : s.kind === 'while' ? [s.cond, s.body] : [s.onTrue, s.onFalse];
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
  const ok = equations.map((eq) => eligible(program, eq));
  if (ok.every((e) => !e) || ok.every((e) => e)) return program;

  // The open segment: `pending[i]` marks its members, `owner[v]` the member defining v.
  const pending = new Uint8Array(equations.length);
  const owner = new Int32Array(avals.length).fill(-1);
  const order: number[] = [];
  const items: (number | number[])[] = [];
  const close = (members: number[]) => {
    for (const j of members) {
      pending[j] = 0;
      for (const v of definedBy(equations[j])) owner[v] = -1;
    }
    if (members.length >= minLength) items.push(members);
    else items.push(...members);
  };
  equations.forEach((eq, i) => {
    if (ok[i]) {
      pending[i] = 1;
      order.push(i);
      for (const v of definedBy(eq)) owner[v] = i;
      return;
    }
    // The members this large equation needs, found backwards from its inputs.
    const cone: number[] = [];
    const stack = eq.inputs.filter((v) => owner[v] >= 0);
    const seen = new Set<number>();
    while (stack.length > 0) {
      const j = owner[stack.pop()!];
      if (j < 0 || seen.has(j)) continue;
      seen.add(j);
      cone.push(j);
      for (const u of equations[j].inputs) if (owner[u] >= 0) stack.push(u);
    }
    if (cone.length > 0) close(cone.sort((a, b) => a - b));
    items.push(i);
  });
  close(order.filter((j) => pending[j]));
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
    const members = it.map((j) => equations[j]);
    const eq = outline(program, members, exported, run);
    if (eq) {
      out.push(eq);
      changed = true;
    } else {
      out.push(...members);
    }
  }
  return changed ? new Program(avals, program.inputCount, program.consts, out, program.outputs) : program;
}

/**
 * One `segment` equation for `members` (in order), or null when codegen would not compile the
 * segment to pure code (then its equations stay as they are).
 */
function outline(program: Program, members: readonly Equation[], exported: Uint8Array, run: Runner): Equation | null {
  const { avals, inputCount } = program;
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
