// Elementwise fusion: a program-to-program pass that the executor applies to every program it
// runs (a jitted function's, its derivative programs, control-flow bodies). A group of
// elementwise equations over the same number of elements (with broadcast operands), optionally
// ending in a sum over all or trailing axes, becomes ONE equation evaluated in one pass by the wasm
// interpreter in assembly/fused.ts, block by block with the intermediates in registers: one
// read of each input and one write of the result instead of a kernel call, a read and a write
// per op. Its intermediates get no buffer at all.
//
// Groups. An elementwise equation is a root (its value is materialised) when a program output
// or an equation outside fusion reads it, or one over a different number of elements; every
// other elementwise equation is folded into the groups of the roots that read it. A value
// read by two groups is computed in both when that is cheap (a few arithmetic ops), and is a
// root otherwise (a transcendental in its cone, or a long cone), so fusion never repeats a
// sin or an exp. Groups are capped to the interpreter's registers and bytecode size.
//
// Several outputs. Groups over the same elements then merge where that saves work
// (fuse-merge.ts): a jitted jvp's primal and tangent chains become one group that writes both.
// A group with one output is the `fused` primitive; one with several is a `fused` call
// (StagedCall) whose run writes every output in the one pass, or replays the group through
// bind under a transform.
import { FUSED, FUSED_HEADER, blockElements, FUSED_LIMITS, fusedInto, fusedKernel, fusedOpCode, isCostly, type FusedKernel } from '../backend/fused.js';
import { broadcastStrides, collapse } from '../backend/kernels.js';
import { implFromKernel, type Aval, type Primitive } from '../core/primitive.js';
import { bind, popTrace, pushTrace, topTrace } from '../core/trace.js';
import { empty } from '../tensor/create.js';
import { sizeOf } from '../tensor/shape.js';
import type { DenseTensor, Tensor } from '../tensor/tensor.js';
import { pushForward } from '../transforms/jvp.js';
import { TapeTrace, TapeVar, backward } from '../transforms/reverse.js';
import { scoped } from '../transforms/util.js';
import { vmap } from '../transforms/vmap.js';
import { mergeGroups, type Group, type Unit } from './fuse-merge.js';
import { Program, type Equation, type StagedCall } from './program.js';

type PrimEquation = Extract<Equation, { readonly prim: Primitive<unknown> }>;

/** @internal The pass's switch and thresholds; tests turn it off to compare, and count groups. */
export const fusion = {
  enabled: true,
  /** Elementwise ops over fewer elements stay single kernels (dispatch dominates there). */
  minSize: 64,
  /** A value read by two groups is recomputed in each only if its cone has at most this many ops. */
  duplicateLimit: 12,
  /** Ops per group; a longer chain is cut into several groups. */
  groupLimit: 96,
  /** Groups over the same elements merge into one pass writing several values (fuse-merge.ts). */
  multiOutput: true,
  /** Whether a group ending in a sum merges too (its pass then runs on the interpreter). */
  mergeSums: false,
  /** Fused equations made so far. */
  groups: 0,
};

/** The params of a fused equation. */
export interface FusedParams {
  /** The ops it evaluates, in order (printed with the program). */
  readonly ops: string;
  /** The group as a program of its own: (external inputs) -> value, replayed by the rules. */
  readonly program: Program;
  readonly dtype: Aval['dtype'];
  readonly n: number;
  readonly words: Int32Array;
}

/** Replays a group's program through bind, so every transform sees its primitives. */
function replayAll(program: Program, inputs: readonly Tensor[]): Tensor[] {
  const env: Tensor[] = new Array(program.avals.length);
  inputs.forEach((x, i) => (env[i] = x));
  for (const eq of program.equations) {
    if (eq.prim) env[eq.out] = bind(eq.prim, eq.inputs.map((v) => env[v]), eq.params);
  }
  return program.outputs.map((v) => env[v]);
}

const replay = (program: Program, inputs: readonly Tensor[]): Tensor => replayAll(program, inputs)[0];

const fusedInto_ = (_: readonly Aval[], p: FusedParams) => fusedInto(p.words, p.dtype, p.n);
const fusedShape = (_: readonly Aval[], p: FusedParams): Aval => p.program.outputAvals[0];

/**
 * The fused equation's primitive. It exists only in the programs the executor runs (the pass
 * runs on those); its rules replay the group op by op, so a fused program replayed through
 * bind still differentiates and batches.
 */
export const fusedPrimitive: Primitive<FusedParams> = {
  name: 'fused',
  impl: implFromKernel('fused', fusedShape, fusedInto_),
  into: fusedInto_,
  shape: fusedShape,
  saves: 'all',
  sparsity: 'dense',
  jvp: ({ inputs, tangents, params }) => {
    const k = tangents.find((t) => t !== null)!.shape[0];
    return pushForward((...xs: Tensor[]) => [replay(params.program, xs)], inputs, tangents as Tensor[], k, (l) => l, 'fused').tangents[0];
  },
  vjp: ({ ct, inputs, params }) => scoped((scope) => {
    const trace = pushTrace((level) => new TapeTrace(level, scope));
    let vars: TapeVar[];
    let out: Tensor;
    try {
      vars = inputs.map((x) => trace.variable(x));
      out = replay(params.program, vars);
    } finally {
      popTrace(trace);
    }
    if (!(out instanceof TapeVar && out.trace === trace)) return inputs.map(() => null);
    return backward(trace, new Map([[out.id, ct]]), vars.map((v) => v.id), { consume: true, keep: new Set() });
  }),
  batch: ({ inputs, axes, params }) => ({ out: vmap((...xs: Tensor[]) => replay(params.program, xs), { inAxes: [...axes] })(...inputs), axis: 0 }),
};

/**
 * A group with several outputs: one pass writes them all. On concrete inputs it runs the
 * fused kernel into new tensors; under a transform (a fused program replayed through bind) it
 * replays the group op by op, so every transform sees its primitives.
 */
function fusedCall(params: FusedParams): StagedCall {
  let kernel: FusedKernel | null = null;
  const outAvals = params.program.outputAvals;
  return {
    name: 'fused',
    params: { ops: params.ops, n: params.n, dtype: params.dtype },
    run: (inputs) => {
      if (topTrace('fused', inputs) !== null) return replayAll(params.program, inputs);
      kernel ??= fusedKernel(params.words, params.dtype, params.n);
      const outs = outAvals.map((a) => empty(a.shape, a.dtype, 'fused'));
      kernel(outs.map((o) => o.liveBuffer('fused')), inputs.map((x) => (x as DenseTensor).liveBuffer('fused')));
      return outs;
    },
  };
}

/** What the pass knows of one equation. */
interface Node {
  /** 'map': elementwise with an interpreter op code; 'sum': a sum (all or trailing axes) of a map's value. */
  kind: 'map' | 'sum' | null;
  code: number;
  /** Elements of its output (map) or of its input (sum). */
  n: number;
  /** A sum over trailing axes: the elements summed into each output element (0: over all axes). */
  rows: number;
}

function classify(program: Program, eq: Equation): Node {
  const none: Node = { kind: null, code: 0, n: 0, rows: 0 };
  if (eq.call || !eq.prim.fusion) return none;
  const out = program.avals[eq.out];
  // The fused kernels compute in floats; int32 chains (exact, wrapping) stay on their kernels.
  if (out.dtype === 'int32') return none;
  const fact = eq.prim.fusion;
  if ('reduce' in fact) {
    const x = program.avals[eq.inputs[0]];
    const axes = (eq.params as { axes: readonly number[] }).axes;
    const n = sizeOf(x.shape);
    if (n < fusion.minSize || x.dtype !== out.dtype) return none;
    if (axes.length === x.shape.length) return { kind: 'sum', code: FUSED.SUM, n, rows: 0 };
    // Trailing axes: rows that fit in a block, or that sumRow's 8-element chunks tile.
    const trailing = axes.every((a, i) => a === x.shape.length - axes.length + i);
    const rows = sizeOf(x.shape.slice(x.shape.length - axes.length));
    if (!trailing || rows < 2 || (rows > blockElements(x.dtype) && rows % 8 !== 0)) return none;
    return { kind: 'sum', code: FUSED.SUM, n, rows };
  }
  const code = fusedOpCode(fact.map);
  const n = sizeOf(out.shape);
  if (code === undefined || n < fusion.minSize) return none;
  if (eq.inputs.some((v) => program.avals[v].dtype !== out.dtype)) return none;
  return { kind: 'map', code, n, rows: 0 };
}

const unfused = new WeakSet<Program>();

/**
 * Keeps `program` from being fused (jit's `fuse: false`), with the sub-programs of its
 * control-flow equations and (see differentiate.ts) its derivative programs.
 */
export function keepUnfused(program: Program): void {
  unfused.add(program);
}

export function isUnfused(program: Program): boolean {
  return unfused.has(program);
}

/** Rewrites `program` with its elementwise groups fused; the program itself when none fuses. */
export function fuseProgram(program: Program): Program {
  if (unfused.has(program)) {
    for (const eq of program.equations) if (eq.call) for (const p of Object.values(eq.call.params)) if (p instanceof Program) unfused.add(p);
    return program;
  }
  if (!fusion.enabled) return program;
  const { equations, avals } = program;
  const nodes = equations.map((eq) => classify(program, eq));
  if (!nodes.some((n) => n.kind === 'sum') && nodes.filter((n) => n.kind === 'map').length < 2) return program;
  const producer = new Int32Array(avals.length).fill(-1);
  equations.forEach((eq, i) => {
    if (!eq.call) producer[eq.out] = i;
  });
  // Who reads each variable: program outputs and equations outside fusion pin it.
  const pinned = new Uint8Array(avals.length);
  const readers: number[][] = avals.map(() => []);
  for (const v of program.outputs) pinned[v] = 1;
  equations.forEach((eq, i) => {
    for (const v of new Set(eq.inputs)) readers[v].push(i);
  });
  const roots = new Uint8Array(equations.length);
  equations.forEach((eq, i) => {
    if (nodes[i].kind !== 'map') return;
    const v = (eq as PrimEquation).out;
    if (pinned[v]) roots[i] = 1;
    for (const j of readers[v]) {
      const r = nodes[j];
      if (!(r.kind === 'map' && r.n === nodes[i].n) && !(r.kind === 'sum' && r.n === nodes[i].n)) roots[i] = 1;
    }
  });
  for (let attempt = 0; attempt < 8; attempt++) {
    markShared(program, nodes, producer, readers, roots);
    const { groups, compiled, failed } = buildGroups(program, nodes, producer, roots);
    if (failed.length > 0) {
      for (const i of failed) roots[i] = 1;
      continue;
    }
    // With multiOutput off no merge fits (maxOps 0): the groups are only put in order.
    const units = mergeGroups(program, groups, compiled, {
      compile: (members, outputs) => compile(program, members, outputs, nodes[members[0]].n, nodes),
      maxOps: fusion.multiOutput ? fusion.groupLimit : 0,
      sums: fusion.mergeSums,
      readers,
      pinned,
    });
    return rewrite(program, units);
  }
  return program;
}

/** Internal: an input variable computed by a non-root map of the same size, folded into the reader. */
function internal(nodes: Node[], producer: Int32Array, roots: Uint8Array, v: number, n: number): number {
  const p = producer[v];
  return p >= 0 && nodes[p].kind === 'map' && !roots[p] && nodes[p].n === n ? p : -1;
}

/** Marks as roots the shared values that would be costly to recompute, and cuts long chains. */
function markShared(program: Program, nodes: Node[], producer: Int32Array, readers: number[][], roots: Uint8Array): void {
  const cone = new Float64Array(program.equations.length);
  const costly = new Uint8Array(program.equations.length);
  program.equations.forEach((eq, i) => {
    if (nodes[i].kind !== 'map') return;
    let size = 1;
    let dear = isCostly(nodes[i].code);
    for (const v of eq.inputs) {
      const p = internal(nodes, producer, roots, v, nodes[i].n);
      if (p < 0) continue;
      size += cone[p];
      dear ||= costly[p] === 1;
    }
    cone[i] = size;
    costly[i] = dear ? 1 : 0;
    const shared = readers[(eq as PrimEquation).out].length > 1;
    if ((shared && (dear || size > fusion.duplicateLimit)) || size > fusion.groupLimit) {
      roots[i] = 1;
      cone[i] = 1;
    }
  });
}

interface Compiled {
  params: FusedParams;
  /** The variables it reads, and those it writes (its outputs' variables in the program). */
  inputs: number[];
  outputs: number[];
}

/**
 * The group of every root (and of every fusable sum), compiled, and the roots of groups that do
 * not fit. Roots whose group is the root alone (and sums of a root) are groups of one
 * equation: they stay single kernels unless a merge takes them in.
 */
function buildGroups(program: Program, nodes: Node[], producer: Int32Array, roots: Uint8Array): { groups: Group[]; compiled: (Compiled | null)[]; failed: number[] } {
  const groups: Group[] = [];
  const compiled: (Compiled | null)[] = [];
  const failed: number[] = [];
  program.equations.forEach((eq, i) => {
    const node = nodes[i];
    if (!(node.kind === 'map' && roots[i]) && node.kind !== 'sum') return;
    const members = new Set<number>();
    const visit = (j: number) => {
      if (members.has(j)) return;
      members.add(j);
      for (const v of program.equations[j].inputs) {
        const p = internal(nodes, producer, roots, v, node.n);
        if (p >= 0) visit(p);
      }
    };
    visit(i);
    const order = [...members].sort((a, b) => a - b);
    const group: Group = { members: order, roots: [i], n: node.n, dtype: program.avals[(eq as PrimEquation).out].dtype, sum: node.kind === 'sum' ? i : -1 };
    if (members.size < 2) {
      groups.push(group);
      compiled.push(null);
      return;
    }
    const form = compile(program, order, [i], node.n, nodes);
    if (form) {
      groups.push(group);
      compiled.push(form);
    } else {
      for (const j of order) if (nodes[j].kind === 'map') failed.push(j);
    }
  });
  return { groups, compiled, failed };
}

/**
 * The bytecode of one group (equations `order`, in program order) whose equations `outputs`
 * are read outside it: registers for the splat scalars, the staged and gathered inputs, then
 * the intermediates, reused once dead (an output's register lives to the end of the block).
 */
function compile(program: Program, order: number[], outputs: readonly number[], n: number, nodes: Node[]): Compiled | null {
  const { avals, equations } = program;
  const dtype = avals[equations[order[0]].inputs[0]].dtype;
  const inside = new Set(order.map((j) => (equations[j] as PrimEquation).out));
  const outVars = outputs.map((j) => (equations[j] as PrimEquation).out);
  const outIndex = new Map(outVars.map((v, k) => [v, k]));
  const inputs: number[] = [];
  const inputIndex = new Map<number, number>();
  const staging: number[] = [];
  const prologue: number[][] = [];
  const gathers: { input: number; meta: number[]; register: number }[] = [];
  const gatherKey = new Map<string, number>();
  const splat = new Map<number, number>();
  let registers = 0;
  const free: number[] = [];
  const take = () => (free.length > 0 ? free.pop()! : registers++);
  const inputOf = (v: number) => {
    let i = inputIndex.get(v);
    if (i === undefined) {
      inputIndex.set(v, (i = inputs.length));
      inputs.push(v);
      staging.push(-1);
    }
    return i;
  };
  // Where each external operand is read from: a source for the instructions.
  const sourceOf = (v: number, eqOut: readonly number[]): number => {
    const a = avals[v];
    const size = sizeOf(a.shape);
    const i = inputOf(v);
    if (size === n) {
      if (staging[i] < 0) staging[i] = registers++;
      return -1 - i;
    }
    if (size === 1) {
      let r = splat.get(v);
      if (r === undefined) {
        splat.set(v, (r = registers++));
        prologue.push([FUSED.SPLAT, r, i, 0, 0]);
      }
      return r;
    }
    const key = `${v}:${eqOut.join(',')}`;
    let r = gatherKey.get(key);
    if (r === undefined) {
      const c = collapse(eqOut, [broadcastStrides(a.shape, eqOut)]);
      gatherKey.set(key, (r = registers++));
      gathers.push({ input: i, meta: [c.shape.length, ...c.shape, ...c.strides[0]], register: r });
    }
    return r;
  };
  // Last reader (position in order) of each intermediate.
  const lastUse = new Map<number, number>();
  order.forEach((j, k) => {
    for (const v of equations[j].inputs) if (inside.has(v)) lastUse.set(v, k);
  });
  // External operands first, so their registers are never reused for intermediates.
  const operands = order.map((j) => {
    const eq = equations[j] as PrimEquation;
    return eq.inputs.map((v) => (inside.has(v) ? null : sourceOf(v, avals[eq.out].shape)));
  });
  if (gathers.some((g) => g.meta[0] > FUSED_LIMITS.gatherNdim || g.meta[0] === 0)) return null;
  const regOf = new Map<number, number>();
  const body: number[][] = [];
  const names: string[] = [];
  order.forEach((j, k) => {
    const eq = equations[j] as PrimEquation;
    const srcs = eq.inputs.map((v, m) => operands[k][m] ?? regOf.get(v)!);
    for (const v of new Set(eq.inputs)) if (inside.has(v) && lastUse.get(v) === k && !outIndex.has(v)) free.push(regOf.get(v)!);
    names.push(eq.prim!.name);
    if (nodes[j].kind === 'sum') {
      body.push([FUSED.SUM, 0, srcs[0], nodes[j].rows, outIndex.get(eq.out)!]);
      return;
    }
    const d = take();
    regOf.set(eq.out, d);
    body.push([nodes[j].code, d, srcs[0] ?? 0, srcs[1] ?? 0, srcs[2] ?? 0]);
  });
  if (registers > FUSED_LIMITS.registers || inputs.length > FUSED_LIMITS.inputs) return null;
  // Gathers run first in every block; their metas follow the code.
  const head = FUSED_HEADER + 2 * (inputs.length + outVars.length);
  const code = [...gathers.map((g) => [FUSED.GATHER, g.register, g.input, 0, 0]), ...body];
  let metaAt = head + 5 * (prologue.length + code.length);
  gathers.forEach((g, k) => {
    code[k][3] = metaAt;
    metaAt += g.meta.length;
  });
  const rows = Math.max(0, ...order.map((j) => nodes[j].rows));
  const block = rows > 0 && rows <= blockElements(dtype) ? Math.floor(blockElements(dtype) / rows) * rows : 0;
  const words = [inputs.length, outVars.length, prologue.length, code.length, block];
  inputs.forEach((_, i) => words.push(0, staging[i]));
  for (const v of outVars) words.push(0, regOf.get(v) ?? -1);
  for (const ins of [...prologue, ...code]) words.push(...ins);
  for (const g of gathers) words.push(...g.meta);
  if (words.length > FUSED_LIMITS.words) return null;
  // The group as a program of its own: its external inputs, then its equations.
  const renumber = new Map<number, number>();
  inputs.forEach((v, i) => renumber.set(v, i));
  const subAvals: Aval[] = inputs.map((v) => avals[v]);
  const subEqs: Equation[] = order.map((j) => {
    const eq = equations[j] as PrimEquation;
    const out = subAvals.length;
    subAvals.push(avals[eq.out]);
    const ins = eq.inputs.map((v) => renumber.get(v)!);
    renumber.set(eq.out, out);
    return { prim: eq.prim!, params: eq.params, inputs: ins, out };
  });
  const sub = new Program(subAvals, inputs.length, [], subEqs, outVars.map((v) => renumber.get(v)!));
  // The bytecode is not enumerable, so the printed program shows the ops, not the words.
  const params = Object.defineProperty({ ops: names.join(' '), n, dtype, program: sub }, 'words', { value: Int32Array.from(words), enumerable: false }) as FusedParams;
  return { params, inputs, outputs: outVars };
}

/** The program as its units: each group with two or more equations as one fused equation. */
function rewrite(program: Program, units: Unit<Compiled>[]): Program {
  if (!units.some((u) => u.group && u.compiled)) return program;
  const equations: Equation[] = [];
  for (const unit of units) {
    if (!unit.group) {
      equations.push(program.equations[unit.index]);
    } else if (!unit.compiled) {
      equations.push(program.equations[unit.group.members[0]]);
    } else {
      const { params, inputs, outputs } = unit.compiled;
      fusion.groups++;
      if (outputs.length === 1) equations.push({ prim: fusedPrimitive as Primitive<unknown>, inputs, params, out: outputs[0] });
      else equations.push({ call: fusedCall(params), inputs, outs: outputs });
    }
  }
  return new Program(program.avals, program.inputCount, program.consts, equations, program.outputs);
}
