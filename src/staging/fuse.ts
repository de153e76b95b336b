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
import { FUSED, FUSED_HEADER, blockElements, FUSED_LIMITS, fusedInto, fusedOpCode, isCostly } from '../backend/fused.js';
import { broadcastStrides, collapse } from '../backend/kernels.js';
import { implFromKernel, type Aval, type Primitive } from '../core/primitive.js';
import { bind, popTrace, pushTrace } from '../core/trace.js';
import { sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { pushForward } from '../transforms/jvp.js';
import { TapeTrace, TapeVar, backward } from '../transforms/reverse.js';
import { scoped } from '../transforms/util.js';
import { vmap } from '../transforms/vmap.js';
import { Program, type Equation } from './program.js';

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
function replay(program: Program, inputs: readonly Tensor[]): Tensor {
  const env: Tensor[] = new Array(program.avals.length);
  inputs.forEach((x, i) => (env[i] = x));
  for (const eq of program.equations) {
    if (eq.prim) env[eq.out] = bind(eq.prim, eq.inputs.map((v) => env[v]), eq.params);
  }
  return env[program.outputs[0]];
}

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
    const groups = buildGroups(program, nodes, producer, roots);
    if (groups.failed.length === 0) return rewrite(program, groups.made);
    for (const i of groups.failed) roots[i] = 1;
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

interface Made {
  root: number;
  params: FusedParams;
  inputs: number[];
}

/** Compiles the group of every root (and of every fusable sum); lists the roots of groups that do not fit. */
function buildGroups(program: Program, nodes: Node[], producer: Int32Array, roots: Uint8Array): { made: Made[]; failed: number[] } {
  const made: Made[] = [];
  const failed: number[] = [];
  program.equations.forEach((eq, i) => {
    const node = nodes[i];
    const isRoot = (node.kind === 'map' && roots[i]) || (node.kind === 'sum' && internal(nodes, producer, roots, eq.inputs[0], node.n) >= 0);
    if (!isRoot) return;
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
    if (members.size < 2) return;
    const order = [...members].sort((a, b) => a - b);
    const compiled = compile(program, order, node.n, nodes);
    if (compiled) made.push({ root: i, ...compiled });
    else for (const j of order) if (nodes[j].kind === 'map') failed.push(j);
  });
  return { made, failed };
}

/**
 * The bytecode of one group (equations `order`, the root last): registers for the splat
 * scalars, the staged and gathered inputs, then the intermediates, reused once dead.
 */
function compile(program: Program, order: number[], n: number, nodes: Node[]): { params: FusedParams; inputs: number[] } | null {
  const { avals, equations } = program;
  const root = equations[order[order.length - 1]] as PrimEquation;
  const dtype = avals[root.inputs[0]].dtype;
  const inside = new Set(order.map((j) => (equations[j] as PrimEquation).out));
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
    for (const v of new Set(eq.inputs)) if (inside.has(v) && lastUse.get(v) === k) free.push(regOf.get(v)!);
    names.push(eq.prim!.name);
    if (nodes[j].kind === 'sum') {
      body.push([FUSED.SUM, 0, srcs[0], nodes[j].rows, 0]);
      return;
    }
    const d = take();
    regOf.set(eq.out, d);
    body.push([nodes[j].code, d, srcs[0] ?? 0, srcs[1] ?? 0, srcs[2] ?? 0]);
  });
  const result = nodes[order[order.length - 1]].kind === 'sum' ? -1 : regOf.get(root.out)!;
  if (registers > FUSED_LIMITS.registers || inputs.length > FUSED_LIMITS.inputs) return null;
  // Gathers run first in every block; their metas follow the code.
  const head = FUSED_HEADER + 2 * inputs.length;
  const code = [...gathers.map((g) => [FUSED.GATHER, g.register, g.input, 0, 0]), ...body];
  let metaAt = head + 5 * (prologue.length + code.length);
  gathers.forEach((g, k) => {
    code[k][3] = metaAt;
    metaAt += g.meta.length;
  });
  const rows = nodes[order[order.length - 1]].rows;
  const block = rows > 0 && rows <= blockElements(dtype) ? Math.floor(blockElements(dtype) / rows) * rows : 0;
  const words = [inputs.length, prologue.length, code.length, result, block];
  inputs.forEach((_, i) => words.push(0, staging[i]));
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
  const sub = new Program(subAvals, inputs.length, [], subEqs, [subAvals.length - 1]);
  // The bytecode is not enumerable, so the printed program shows the ops, not the words.
  const params = Object.defineProperty({ ops: names.join(' '), n, dtype, program: sub }, 'words', { value: Int32Array.from(words), enumerable: false }) as FusedParams;
  return { params, inputs };
}

/** The program with each group's root replaced by its fused equation and the folded equations dropped. */
function rewrite(program: Program, made: Made[]): Program {
  if (made.length === 0) return program;
  const byRoot = new Map(made.map((m) => [m.root, m]));
  const equations: Equation[] = [];
  program.equations.forEach((eq, i) => {
    const m = byRoot.get(i);
    if (m) {
      equations.push({ prim: fusedPrimitive as Primitive<unknown>, inputs: m.inputs, params: m.params, out: (eq as PrimEquation).out });
      fusion.groups++;
    } else {
      equations.push(eq);
    }
  });
  // Drop the folded equations (those no kept equation reads any more).
  const read = new Set<number>(program.outputs);
  const kept: Equation[] = [];
  for (let i = equations.length - 1; i >= 0; i--) {
    const eq = equations[i];
    const defines = eq.call ? eq.outs : [eq.out];
    if (!eq.call && !defines.some((v) => read.has(v))) continue;
    kept.push(eq);
    for (const v of eq.inputs) read.add(v);
  }
  kept.reverse();
  return new Program(program.avals, program.inputCount, program.consts, kept, program.outputs);
}
