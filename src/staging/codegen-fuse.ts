// Fused loops in generated code: a run of elementwise equations over tensors of the same small
// size (with scalar and broadcast operands, gathers such as reshape, slice and broadcastTo, and
// whole-tensor sums at its end) becomes ONE JS loop, its intermediates loop-local `const`s,
// storing only the values read outside the run. codegen.ts groups the equations here (planGroups)
// and writes each group where its last member stands (writeGroup).
//
// A group's members need not be adjacent: equations between them that read none of the group's
// values (scalar arithmetic, kernel calls on other sizes) run before the loop, which is written
// at the group's last member, so every operand a member reads is computed by then.
import type { BoundKernel } from '../backend/kernels.js';
import type { Aval, Emit } from '../core/primitive.js';
import { sizeOf } from '../tensor/shape.js';
import { broadcastIndex, rounded, type Closure } from './codegen-scalar.js';
import type { Program } from './program.js';

/**
 * Equations written as one function of loops over `size` elements, at equation `end` (the last
 * member). A member with a kernel (a Math.* map: the SIMD kernel is faster) is called from the
 * function between two loops; kernel[j] is member j's bound kernel, or null for loop code.
 */
export interface FusedGroup {
  readonly size: number;
  readonly members: readonly number[];
  readonly kernel: readonly (BoundKernel | null)[];
  readonly end: number;
}

/**
 * The largest size (in elements) a fused loop is written for: a run of two or more arithmetic
 * equations over at most this many elements runs faster as one loop than as one kernel call
 * each. Measured by bench/suites/jit.mjs ("codegen threshold, fused chain" rows: a chain of g
 * mul/add over n elements as one loop function against g bound-kernel calls, loop time / kernel
 * time; one quick run): float64 g = 2: 0.41x at n = 8, 0.70x at 16, 0.96x at 32, 1.31x at 48,
 * 1.67x at 64; g = 6: 0.19x, 0.29x, 0.47x, 1.29x, 0.79x; float32 (Math.fround per op) g = 2:
 * 0.24x, 0.45x, 0.68x, 1.09x, 1.37x; g = 6: 0.24x, 0.42x, 0.52x, 0.84x, 1.15x. The same chains
 * as whole jitted programs (loops on against off) cross between 32 and 48 elements as well.
 * In long programs the gain is larger than these hot-loop ratios: there each kernel call is a
 * statement of straight-line code V8 has not optimized (see loopFunctions), a loop call one for
 * the whole run. A group of one equation follows the single-equation rule (LOOP_SIZE in codegen.ts).
 */
export const GROUP_SIZE = 32;

/** The fewest equations (aliases such as reshape not counted) worth a loop. */
export const GROUP_MIN = 2;

/**
 * The most equations in one loop: past this the loop body's live values spill from registers
 * and V8 compiles the (long) body slowly; a longer run becomes several loops.
 */
export const GROUP_MAX = 48;

/**
 * The size of the group an equation can join, or 0. Math.* maps (exact: false) join as kernel
 * calls: in a loop, Math.tanh, Math.exp and the sigmoid helper cost 14 to 20 ns per element
 * against a few ns for the SIMD kernels (a chain of 5 tanh and 5 mul over 14 float64 elements:
 * 1568 ns as one loop, 511 ns as kernel calls), so a transcendental is a call between two loops
 * of the group's function (kernelOf).
 */
function memberSize(program: Program, emit: Emit | null, eqIndex: number): number {
  const eq = program.equations[eqIndex];
  if (!emit || eq.call) return 0;
  const out = program.avals[eq.out];
  if (emit.kind === 'map' && !emit.exact) return kernelOf(program, eqIndex) ? sizeOf(out.shape) : 0;
  if (emit.kind === 'sum') {
    const n = sizeOf(program.avals[eq.inputs[0]].shape);
    return emit.outer === 1 && emit.len === n && n > 1 ? n : 0;
  }
  const n = sizeOf(out.shape);
  return n > 1 ? n : 0;
}

const identity = (index: Int32Array) => index.every((x, k) => x === k);

/** The kernel of a unary Math.* map of more than one element (its input as large as its output), or null. */
function kernelOf(program: Program, i: number): BoundKernel | null {
  const eq = program.equations[i];
  if (eq.call || eq.inputs.length !== 1 || !eq.prim.into) return null;
  const x = program.avals[eq.inputs[0]], n = sizeOf(program.avals[eq.out].shape);
  return n > 1 && sizeOf(x.shape) === n ? eq.prim.into([x], eq.params) : null;
}

/**
 * Groups the equations of a compiled program into fused loops: walks them in order with one
 * open group; an equation joins when it fits the group's size and reads no sum of the group
 * (a sum is known only after the loop) and no member through a non-identity gather; an
 * equation that reads a member's value but cannot join closes the group. Groups that do not pay
 * (GROUP_MIN, GROUP_SIZE; `always` ignores the size) are dropped. groupOf[i] is equation i's
 * group, or -1. segmentOf[i] numbers the loops and kernel calls of a group's function: a value
 * read in another segment than its own is stored (and read back from memory).
 */
export function planGroups(program: Program, emits: readonly (Emit | null)[], always = false): { groups: FusedGroup[]; groupOf: Int32Array; segmentOf: Int32Array } {
  const { equations, avals } = program;
  const groupOf = new Int32Array(equations.length).fill(-1);
  const segmentOf = new Int32Array(equations.length).fill(-1);
  const groups: FusedGroup[] = [];
  const owner = new Int32Array(avals.length).fill(-1); // the open group's member defining each variable
  let open: number[] = [];
  let kernels: (BoundKernel | null)[] = [];
  let size = 0, segment = 0;
  const sums = new Set<number>();
  const close = () => {
    if (open.length > 0) {
      // Aliases (reshape: an identity gather) cost nothing in a loop.
      const ops = open.filter((i) => { const e = emits[i]!; return e.kind !== 'gather' || !identity(e.index); }).length;
      if (ops >= GROUP_MIN && (always || size <= GROUP_SIZE) && kernels.some((k) => k === null)) {
        for (const i of open) groupOf[i] = groups.length;
        groups.push({ size, members: open, kernel: kernels, end: open[open.length - 1] });
      }
    }
    for (const i of open) owner[(equations[i] as { out: number }).out] = -1;
    open = [];
    kernels = [];
    sums.clear();
  };
  equations.forEach((eq, i) => {
    const readsMember = eq.inputs.some((u) => owner[u] >= 0);
    const n = memberSize(program, emits[i], i);
    if (n === 0 || !eq.prim) {
      if (readsMember) close();
      return;
    }
    const e = emits[i]!;
    const fits = n === size && open.length < GROUP_MAX
      && !eq.inputs.some((u) => sums.has(u))
      && !(e.kind === 'gather' && owner[eq.inputs[0]] >= 0 && !identity(e.index));
    if (!fits) {
      close();
      size = n;
    }
    const kernel = e.kind === 'map' && !e.exact ? kernelOf(program, i) : null;
    if (kernel) segment++;
    open.push(i);
    kernels.push(kernel);
    segmentOf[i] = segment;
    if (kernel) segment++;
    owner[eq.out] = i;
    if (e.kind === 'sum') sums.add(eq.out);
  });
  close();
  for (let i = 0; i < equations.length; i++) if (groupOf[i] < 0) segmentOf[i] = -1;
  return { groups, groupOf, segmentOf };
}

/** How writeGroup reads operands and stores results in the compiled program's memory. */
export interface GroupContext {
  readonly avals: readonly Aval[];
  readonly closure: Closure;
  /** A scalar operand as a JS expression of the compiled function (its local, or its element). */
  scalar(u: number): string;
  /** Where a tensor operand lives: its typed-array view, base element and buffer (JS expressions). */
  memory(u: number): { view: 'F64' | 'F32'; base: string; buf: string } | null;
  /** A Float64Array of at least `elements` elements the loop functions may use as scratch. */
  scratch(elements: number): string;
  /** A map's expression with its helper functions (emit.fns) as closure values. */
  named(emit: Emit & { kind: 'map' }, expr: string): string;
  /** The sources of the loop functions written so far (Compiled.loops), each once. */
  readonly loops: Set<string>;
}

/**
 * Loop functions by source. A group's loop is not written inline: it is a function of the
 * views, scratch and the group's operands (base offsets, scalars, index arrays), shared by every
 * group of the same shape in any program. The compiled program's body is long straight-line
 * code that runs once per call, which V8 optimizes only after hundreds of calls (its tier-up
 * budget grows with a function's size); a shared loop function is called once per group per
 * call (the LSTM gradient calls each of its few shapes about a thousand times), so it is
 * optimized within the first call or two.
 */
const loopFunctions = new Map<string, unknown>();
const LOOP_FUNCTIONS_MAX = 4096;

function loopFunction(key: string, params: readonly string[], body: string): unknown {
  let f = loopFunctions.get(key);
  if (f === undefined) {
    if (loopFunctions.size >= LOOP_FUNCTIONS_MAX) loopFunctions.clear();
    f = new Function('F64', 'F32', 'S', ...params, body);
    loopFunctions.set(key, f);
  }
  return f;
}

/**
 * Writes group `g` of `program` as a call of its loop function into `lines`; returns each of its
 * sums as [variable, expression] (valid after the call; the caller rounds and stores them).
 * `stored(v)` says which members' values are written to memory (read outside the group).
 */
export function writeGroup(program: Program, emits: readonly (Emit | null)[], g: FusedGroup, ctx: GroupContext, stored: (v: number) => boolean, lines: string[]): [number, string][] {
  const { avals, closure } = ctx;
  const { size } = g;
  const params: string[] = [];
  const args: string[] = [];
  const param = new Map<string, string>(); // the same argument passed once
  const arg = (value: string, prefix: string): string => {
    let p = param.get(value);
    if (p === undefined) {
      p = `${prefix}${params.length}`;
      param.set(value, p);
      params.push(p);
      args.push(value);
    }
    return p;
  };
  const element = (u: number, index: string): string => {
    const m = ctx.memory(u)!;
    return `${m.view}[${arg(m.base, 'b')} + ${index}]`;
  };
  const name = new Map<number, string>(); // member outputs as loop-local names
  // u's element at output element k of a member of shape `shape` (NumPy broadcasting).
  const operand = (u: number, shape: readonly number[]): string => {
    const local = name.get(u);
    if (local !== undefined) return local;
    const s = sizeOf(avals[u].shape);
    if (s === 1) return arg(ctx.scalar(u), 's');
    if (s === size) return element(u, 'k');
    return element(u, `${arg(closure.add(broadcastIndex(avals[u].shape, shape)), 'I')}[k]`);
  };
  const pieces: string[] = [];
  let body: string[] = [];
  const flush = () => {
    if (body.length > 0) pieces.push(`for (let k = 0; k < ${size}; k++) {`, ...body, '}');
    body = [];
    name.clear(); // values of earlier loops are read back from memory
  };
  const after: string[] = [];
  const sums: number[] = [];
  let scratchUsed = 0;
  g.members.forEach((i, j) => {
    const eq = program.equations[i] as { inputs: readonly number[]; out: number };
    const e = emits[i]!;
    const v = eq.out;
    const a = avals[v];
    const kernel = g.kernel[j];
    if (kernel) {
      flush();
      pieces.push(`${arg(closure.add(kernel), 'f')}(${arg(ctx.memory(v)!.buf, 't')}, [${arg(ctx.memory(eq.inputs[0])!.buf, 't')}]);`);
      return;
    }
    if (e.kind === 'sum') {
      const u = eq.inputs[0];
      let at: (j: number) => string;
      if (!name.has(u) || stored(u)) {
        at = (j) => element(u, String(j));
      } else {
        const off = scratchUsed;
        scratchUsed += size;
        body.push(`S[${off} + k] = ${name.get(u)};`);
        at = (j) => `S[${off + j}]`;
      }
      // Results go after the summands in the scratch; the caller reads them from there.
      sums.push(v);
      after.push(`${kernelSum(size, avals[u].dtype === 'float64', at)}`);
      return;
    }
    let value: string;
    if (e.kind === 'map') {
      value = rounded(e.expr(eq.inputs.map((u) => operand(u, a.shape))), a);
      if (e.fns) value = ctx.named(e, value).replace(/K\[\d+\]/g, (f) => arg(f, 'f'));
    } else {
      const u = eq.inputs[0];
      if (identity(e.index)) {
        value = operand(u, a.shape);
      } else if (sizeOf(avals[u].shape) === 1) {
        value = arg(ctx.scalar(u), 's');
      } else {
        const at = `${arg(closure.add(e.index), 'I')}[k]`;
        value = e.index.some((x) => x < 0) ? `(${at} < 0 ? 0 : ${element(u, at)})` : element(u, at);
      }
    }
    name.set(v, `x${v}`);
    body.push(`const x${v} = ${value};`);
    if (stored(v)) {
      const m = ctx.memory(v)!;
      body.push(`${m.view}[${arg(m.base, 'b')} + k] = x${v};`);
    }
  });
  flush();
  // Names inside the function are positional, so groups of the same shape share its source.
  const local = new Map<string, string>();
  const rename = (line: string) => line.replace(/\bx\d+\b/g, (x) => {
    let y = local.get(x);
    if (y === undefined) local.set(x, (y = `x${local.size}`));
    return y;
  });
  const results = after.map((sum, j) => `S[${scratchUsed + j}] = ${sum};`);
  const source = [...pieces, ...results].map(rename).join('\n');
  const S = ctx.scratch(scratchUsed + sums.length);
  const key = `(F64, F32, S, ${params.join(', ')}) => {\n${source}\n}`;
  ctx.loops.add(key);
  lines.push(`${closure.add(loopFunction(key, params, source))}(F64, F32, ${S}, ${args.join(', ')});`);
  return sums.map((v, j) => [v, `${S}[${scratchUsed + j}]`]);
}

/**
 * The sum of elements at(0) .. at(n - 1) as one JS expression, in the sum kernel's order
 * (assembly/sum-row.ts, replicated by sumRow in codegen-scalar.ts): under 8 elements one running
 * sum; else eight lane sums over blocks of 8 (float64 then adds pairs into lanes 0 and 1),
 * combined as the SIMD lanes are, then the tail one by one.
 */
export function kernelSum(n: number, f64: boolean, at: (j: number) => string): string {
  if (n < 8) return `(0${Array.from({ length: n }, (_, j) => ` + ${at(j)}`).join('')})`;
  const lanes: string[][] = Array.from({ length: 8 }, () => []);
  const blocks = n - (n % 8);
  let j = 0;
  for (; j < blocks; j++) lanes[j % 8].push(at(j));
  if (f64) for (; j + 2 <= n; j += 2) lanes[0].push(at(j)), lanes[1].push(at(j + 1));
  const L = lanes.map((terms) => `(0 + ${terms.join(' + ')})`);
  let total = `(((${L[0]} + ${L[2]}) + (${L[4]} + ${L[6]})) + ((${L[1]} + ${L[3]}) + (${L[5]} + ${L[7]})))`;
  for (; j < n; j++) total = `(${total} + ${at(j)})`;
  return total;
}
