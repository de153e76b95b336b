// Generated code for programs of small values. A program whose variables all have at most
// SMALL_SIZE elements (or nearly all: mostlySmall) compiles to one JS function (`new Function`):
// a scalar becomes a JS local (`const v7 = (v3 * v5);`), a small tensor a loop over a typed-array
// view of wasm memory, a run of elementwise equations over one small size one call of a shared
// loop function (codegen-fuse.ts), a control-flow equation with scalar bodies a JS loop or branch.
// Equations without a JS form (the primitive has no `emit`, or declines) call their bound kernel
// on planned buffers, or their impl.
// Arithmetic is bit-equal to the kernels; Math.* functions differ by the ulp test/codegen.test.ts
// measures. Where the page's Content-Security-Policy forbids `new Function`, programs run
// interpreted (the planned executor) and a console warning says so once.
import { allocBlock, releaseBlock, BYTES } from '../backend/buffer.js';
import { viewF32, viewF64 } from '../backend/memory.js';
import type { BoundKernel } from '../backend/kernels.js';
import type { Aval, Emit } from '../core/primitive.js';
import { empty } from '../tensor/create.js';
import { sizeOf } from '../tensor/shape.js';
import { DenseTensor } from '../tensor/tensor.js';
import { definedBy, type Program } from './program.js';
import { Closure, broadcastIndex, inlinable, inlineCall, isScalar, literal, rounded, stackVariables, sumRow } from './codegen-scalar.js';
import { planGroups, writeGroup, type FusedGroup } from './codegen-fuse.js';
import { isUnfused } from './fuse.js';
import { mostlySmall } from './codegen-mixed.js';
import { CHUNK, chunk } from './codegen-chunk.js';

/**
 * The largest variable (in elements) generated code handles with JS loops. Above it a kernel
 * call beats a JS loop: measured by bench/suites/jit.mjs's "codegen threshold" rows (a mul/add
 * pair, JS loop against the f64 kernels, crosses over between 32 and 64 elements).
 */
export const SMALL_SIZE = 64;

/**
 * The largest tensor an arithmetic map is written as a JS loop; larger ones (and every
 * transcendental map of more than one element) call the kernel. Measured by bench/suites/jit.mjs
 * ("codegen threshold": a mul and an add of n float64 elements as the two loops generated code
 * writes, against two bare kernel calls): the loops took 1.0, 1.7, 2.5 and 3.9 times the
 * kernels' time at n = 4, 8, 16, 32; exp of 4 elements as a loop of Math.exp took 74 ns against
 * 28 ns for the kernel.
 */
export const LOOP_SIZE = 4;

/**
 * @internal switches code generation off (tests compare against the interpreter) and counts its
 * use; `fusedLoops` writes runs of elementwise equations as one loop where it pays ('auto': at
 * most GROUP_SIZE elements, codegen-fuse.ts), for every run of two or more ('always', for tests
 * and measurement), or never.
 */
export const codegenControl = { enabled: true, compiled: 0, runs: 0, fusedLoops: 'auto' as 'auto' | 'always' | 'never' };

let allowed: boolean | null = null;

/** Whether this page lets us build functions from source (a CSP without 'unsafe-eval' does not). */
export function generatedCodeAllowed(): boolean {
  if (allowed === null) {
    try {
      allowed = new Function('return 1')() === 1;
    } catch {
      allowed = false;
      console.warn('dualtape: this page\'s Content-Security-Policy forbids generated code (new Function), so jit runs programs of small and scalar values interpreted, about 10-100x slower per op. To compile them, allow \'unsafe-eval\' in script-src. (This warning is shown once.)');
    }
  }
  return allowed;
}

/** A compiled program: runs it on concrete inputs (its inputs, then its captures). */
export interface Compiled {
  run(inputs: readonly DenseTensor[]): DenseTensor[];
  /** True when every equation is generated code or a kernel call: a run allocates only its outputs and cannot throw midway. */
  readonly pure: boolean;
  /** The generated source (for tests and debugging). */
  readonly source: string;
  /** The sources of the fused-loop functions `source` calls (codegen-fuse.ts), each once. */
  readonly loops: readonly string[];
}

const compiledPrograms = new WeakMap<Program, Compiled | null>();

/** The compiled form of `program`, or null where it has a large variable or generated code is off or forbidden. */
export function compiledOf(program: Program): Compiled | null {
  if (!codegenControl.enabled) return null;
  let c = compiledPrograms.get(program);
  if (c === undefined) {
    const whole = allSmall(program);
    c = (whole || mostlySmall(program, SMALL_SIZE)) && generatedCodeAllowed() ? compile(program, !whole) : null;
    compiledPrograms.set(program, c);
  }
  return c;
}

/**
 * Every variable small and a float (int32 arithmetic wraps modulo 2^32 in its kernels, which JS
 * number arithmetic does not: programs with int32 values run interpreted), in the loop and
 * branch bodies too. The one exception to small: the stacked carries of a fori under jit(grad)
 * whose loops are written as JS (stackVariables), one number per step in memory.
 */
function allSmall(program: Program): boolean {
  if (program.avals.some((a) => a.dtype === 'int32')) return false;
  // Past SMALL_SIZE only the stacks of inlined fori_stacked/fori_backward loops (codegen-scalar.ts).
  const large = program.avals.flatMap((a, v) => (sizeOf(a.shape) > SMALL_SIZE ? [v] : []));
  if (large.length > 0) {
    const stacks = stackVariables(program);
    if (!large.every((v) => stacks.has(v))) return false;
  }
  return program.equations.every((eq) => {
    const st = eq.call?.structure;
    if (!st) return true;
    switch (st.kind) {
      case 'fori': return allSmall(st.body);
      case 'while': return allSmall(st.cond) && allSmall(st.body);
      case 'cond': return allSmall(st.onTrue) && allSmall(st.onFalse);
      case 'fori_stacked': return allSmall(st.body);
      case 'fori_backward': return allSmall(st.vjp);
    }
  });
}

const viewOf = (a: Aval) => (a.dtype === 'float64' ? 'F64' : 'F32');
const shiftOf = (a: Aval) => (a.dtype === 'float64' ? 3 : 2);

/** Where a memory-resident variable lives: its element offset in a view, and its DataBuffer. */
interface Mem {
  view: 'F64' | 'F32';
  base: string;
  buf: string;
}

interface Slot {
  tensor: DenseTensor;
  key: string;
}

/**
 * Compiles `program`; with `kernelBits`, Math.* maps of scalars call their kernels too, so the
 * results are the interpreter's to the bit (a program with large values ran interpreted before
 * mostlySmall, and keeps its bits).
 */
function compile(program: Program, kernelBits = false): Compiled | null {
  const { avals, equations, outputs, inputCount, consts } = program;
  const n = avals.length;
  const firstOwn = inputCount + consts.length;
  const closure = new Closure();
  const lines: string[] = [];
  const emits: (Emit | null)[] = [];
  const bound: (BoundKernel | null)[] = [];
  const modes: ('emit' | 'kernel' | 'impl' | 'inline' | 'run' | 'group')[] = [];
  // Runs of elementwise equations over one small size become single loops (codegen-fuse.ts).
  const rawEmits = equations.map((eq) => (eq.call || !eq.prim.emit ? null : eq.prim.emit(eq.inputs.map((v) => avals[v]), eq.params)));
  const none = () => ({ groups: [] as FusedGroup[], groupOf: new Int32Array(equations.length).fill(-1), segmentOf: new Int32Array(equations.length).fill(-1) });
  const { groups, groupOf, segmentOf } = codegenControl.fusedLoops !== 'never' && !isUnfused(program) ? planGroups(program, rawEmits, codegenControl.fusedLoops === 'always') : none();
  // Where an equation's code is written: a group member's at the group's last member.
  const pos = equations.map((_, i) => (groupOf[i] >= 0 ? groups[groupOf[i]].end : i));
  for (const [i, eq] of equations.entries()) {
    if (eq.call) {
      modes.push(eq.call.structure && inlinable(eq.call.structure, eq) ? 'inline' : 'run');
      emits.push(null);
      bound.push(null);
      continue;
    }
    if (groupOf[i] >= 0) {
      modes.push('group');
      emits.push(rawEmits[i]);
      bound.push(null);
      continue;
    }
    const ins = eq.inputs.map((v) => avals[v]);
    let emit = rawEmits[i];
    const size = sizeOf(avals[eq.out].shape);
    // Past a few elements a kernel call beats a JS loop (see LOOP_SIZE); scalars stay JS locals.
    const work = emit?.kind === 'sum' ? sizeOf(ins[0].shape) : size;
    const inexact = emit?.kind === 'map' && !emit.exact;
    const loop = emit !== null && ((work > 1 && (inexact ? Infinity : work) > LOOP_SIZE) || (kernelBits && inexact));
    const kernel = emit && !loop ? null : eq.prim.into ? eq.prim.into(ins, eq.params) : null;
    if (kernel) emit = null;
    emits.push(emit);
    bound.push(kernel);
    modes.push(emit ? 'emit' : kernel ? 'kernel' : 'impl');
  }
  const jsReader = (m: string) => m === 'emit' || m === 'inline' || m === 'group';
  const producer = new Int32Array(n).fill(-1);
  equations.forEach((eq, i) => definedBy(eq).forEach((v) => (producer[v] = i)));
  // A member's value read by a member of its own loop (group and segment) stays a loop-local const.
  const inLoop = (v: number, i: number) => groupOf[i] >= 0 && producer[v] >= 0 && groupOf[producer[v]] === groupOf[i] && segmentOf[producer[v]] === segmentOf[i];
  // Which variables must live in memory (read by a kernel, an impl or a call, or returned) and
  // which scalars are wanted as JS locals (read by generated code).
  const needMem = new Uint8Array(n);
  const needLocal = new Uint8Array(n);
  const lastUse = new Int32Array(n).fill(-1);
  const readOutside = new Uint8Array(n); // read by an equation other than a member of its own group
  // An impl may return a view of its input (reshape shares the block), so what it reads must be
  // a tensor of its own, never an arena slot that is overwritten later.
  const readByRuntime = new Uint8Array(n);
  equations.forEach((eq, i) => {
    for (const v of eq.inputs) {
      lastUse[v] = Math.max(lastUse[v], pos[i]);
      if (inLoop(v, i)) continue;
      readOutside[v] = 1;
      if (jsReader(modes[i])) {
        if (isScalar(avals[v])) needLocal[v] = 1;
      } else {
        needMem[v] = 1;
        if (runtimeMode(modes[i])) readByRuntime[v] = 1;
      }
    }
  });
  const isOutput = new Uint8Array(n);
  for (const v of outputs) {
    isOutput[v] = 1;
    needMem[v] = 1;
  }
  const local: (string | null)[] = new Array(n).fill(null);
  const mem: (Mem | null)[] = new Array(n).fill(null);
  const runtime: (string | null)[] = new Array(n).fill(null); // tensors made by impl or call.run
  const head: string[] = [];
  for (let v = 0; v < inputCount; v++) {
    const a = avals[v];
    head.push(`const i${v} = ins[${v}].liveBuffer('jit').ptr >>> ${shiftOf(a)};`);
    mem[v] = { view: viewOf(a), base: `i${v}`, buf: `ins[${v}]` };
  }
  consts.forEach((c, k) => {
    const v = inputCount + k;
    if (c.size === 1) local[v] = literal(c.item());
    mem[v] = { view: viewOf(c), base: String(c.ptr >>> shiftOf(c)), buf: `C[${k}]` };
  });
  // Outputs written by generated code or kernels are allocated first, so no allocation can
  // detach the views while the body runs.
  const outTensor: (string | null)[] = new Array(n).fill(null);
  const outMakers: Aval[] = [];
  outputs.forEach((v, j) => {
    if (v < firstOwn || outTensor[v] !== null || runtimeMode(modes[producer[v]])) return;
    const a = avals[v];
    outTensor[v] = `o${j}`;
    head.push(`const o${j} = H.out(${outMakers.length});`);
    outMakers.push(a);
    mem[v] = { view: viewOf(a), base: `(o${j}.ptr >>> ${shiftOf(a)})`, buf: `o${j}` };
  });
  // Only the views the program reads: each costs a look at the memory's buffer per call.
  const views = `F64 = ${avals.some((a) => a.dtype === 'float64') ? 'H.f64()' : 'null'}, F32 = ${avals.some((a) => a.dtype === 'float32') ? 'H.f32()' : 'null'};`;
  head.push(`let ${views}`);
  for (let v = 0; v < inputCount; v++) {
    if (!needLocal[v]) continue;
    head.push(`const v${v} = ${mem[v]!.view}[i${v}];`);
    local[v] = `v${v}`;
  }
  // Arena slots for the other memory-resident variables, reused once their variable dies.
  const slots: Slot[] = [];
  const free = new Map<string, Slot[]>();
  const slotOf: (Slot | null)[] = new Array(n).fill(null);
  const takeSlot = (v: number): Mem => {
    const a = avals[v];
    if (readByRuntime[v]) {
      runtime[v] = `t${v}`;
      lines.push(`const t${v} = ${closure.add(() => empty(a.shape, a.dtype, 'jit'))}();`, views);
      return { view: viewOf(a), base: `(t${v}.ptr >>> ${shiftOf(a)})`, buf: `t${v}` };
    }
    const size = sizeOf(a.shape);
    const key = `${a.dtype}:${size}`;
    let slot = free.get(key)?.pop();
    if (!slot) {
      const tensor = new DenseTensor(allocBlock(a.dtype, size), a.dtype, a.shape, true, size);
      slot = { tensor, key };
      slots.push(slot);
    }
    slotOf[v] = slot;
    return { view: viewOf(a), base: String(slot.tensor.ptr >>> shiftOf(a)), buf: closure.add(slot.tensor) };
  };
  const read = (v: number, index: string | null): string => {
    if (local[v] !== null) return local[v]!;
    const m = mem[v]!;
    return `${m.view}[${m.base}${index === null || index === '0' ? '' : ` + ${index}`}]`;
  };
  const tensorOf = (v: number): string => mem[v]!.buf;
  const storeAt = (v: number, value: string, index: string) => `${mem[v]!.view}[${mem[v]!.base}${index === '0' ? '' : ` + ${index}`}] = ${value};`;
  /** A scalar result: a JS local where generated code reads it (or it has no memory), stored where memory wants it. */
  const scalarOut = (v: number, value: string) => {
    const a = avals[v];
    if (needLocal[v] || !mem[v]) {
      local[v] = `v${v}`;
      lines.push(`const v${v} = ${rounded(value, a)};`);
      if (mem[v]) lines.push(storeAt(v, `v${v}`, '0'));
    } else {
      lines.push(storeAt(v, value, '0'));
    }
  };
  // One scratch array for the sums of fused loops, sized once every group is written.
  let scratchSize = 0, scratchName = '';
  const groupContext = {
    avals, closure,
    scalar: (u: number) => read(u, null),
    memory: (u: number) => mem[u],
    scratch: (elements: number) => {
      scratchSize = Math.max(scratchSize, elements);
      if (!scratchName) scratchName = closure.add(null);
      return scratchName;
    },
    named: (emit: Emit & { kind: 'map' }, expr: string) => namedFns(emit, expr, closure),
    loops: new Set<string>(),
  };
  let pure = true;
  const eqStart: number[] = [];
  equations.forEach((eq, i) => {
    eqStart.push(lines.length);
    const mode = modes[i];
    const defined = definedBy(eq);
    let readers: readonly number[] = [i];
    if (mode === 'group') {
      const g = groups[groupOf[i]];
      if (i !== g.end) return;
      readers = g.members;
      g.members.forEach((m, j) => {
        const v = (equations[m] as { out: number }).out;
        if (!mem[v] && (needMem[v] || g.kernel[j] || (readOutside[v] && !isScalar(avals[v])))) mem[v] = takeSlot(v);
      });
      for (const [v, value] of writeGroup(program, emits, g, groupContext, (v) => mem[v] !== null, lines)) scalarOut(v, value);
    } else if (mode === 'emit' || mode === 'kernel') {
      const v = defined[0];
      const a = avals[v];
      if (!mem[v] && (needMem[v] || !isScalar(a) || mode === 'kernel')) mem[v] = takeSlot(v);
      if (mode === 'kernel') {
        lines.push(`${closure.add(bound[i])}(${tensorOf(v)}, [${eq.inputs.map(tensorOf).join(', ')}]);`);
        if (needLocal[v]) {
          lines.push(`const v${v} = ${read(v, null)};`);
          local[v] = `v${v}`;
        }
      } else {
        emitEquation(emits[i]!, eq.inputs, v);
      }
    } else if (mode === 'inline') {
      const st = eq.call!.structure!;
      // A fori_stacked's stacks (after its carries) and a fori_backward's (its first inputs) are memory rows.
      const stackOuts = st.kind === 'fori_stacked' ? defined.slice(st.body.outputs.length) : [];
      const stackIns = st.kind === 'fori_backward' ? eq.inputs.slice(0, st.carries) : [];
      for (const v of stackOuts) if (!mem[v]) mem[v] = takeSlot(v);
      const element = (v: number) => (index: string) => `${mem[v]!.view}[${mem[v]!.base} + ${index}]`;
      const ins = eq.inputs.map((u, j) => (j < stackIns.length ? '' : read(u, null)));
      const outs = inlineCall(st, ins, lines, closure, [...stackOuts, ...stackIns].map(element));
      defined.forEach((v, j) => {
        if (j >= outs.length) return;
        local[v] = `v${v}`;
        lines.push(`const v${v} = ${outs[j]};`);
        if (needMem[v]) {
          if (!mem[v]) mem[v] = takeSlot(v);
          lines.push(`${mem[v]!.view}[${mem[v]!.base}] = v${v};`);
        }
      });
    } else {
      pure = false;
      const args = `[${eq.inputs.map(tensorOf).join(', ')}]`;
      if (!eq.call) {
        const prim = eq.prim, params = eq.params;
        lines.push(`const t${defined[0]} = ${closure.add((xs: DenseTensor[]) => prim.impl(xs, params))}(${args});`);
      } else {
        lines.push(`const r${i} = ${closure.add(eq.call!)}.run(${args});`);
        defined.forEach((v, j) => lines.push(`const t${v} = r${i}[${j}];`));
      }
      lines.push(views);
      for (const v of defined) {
        const a = avals[v];
        runtime[v] = `t${v}`;
        mem[v] = { view: viewOf(a), base: `(t${v}.ptr >>> ${shiftOf(a)})`, buf: `t${v}` };
        if (needLocal[v]) {
          lines.push(`const v${v} = ${read(v, null)};`);
          local[v] = `v${v}`;
        }
      }
    }
    // Variables read for the last time here give their slot back (or their tensor, if made by impl).
    for (const u of readers.flatMap((r) => equations[r].inputs)) {
      if (lastUse[u] !== i || isOutput[u]) continue;
      if (slotOf[u]) {
        const s = slotOf[u]!;
        let list = free.get(s.key);
        if (!list) free.set(s.key, (list = []));
        list.push(s);
        slotOf[u] = null;
      } else if (runtime[u]) {
        lines.push(`${runtime[u]}.dispose();`);
        runtime[u] = null;
      }
    }
    for (const v of defined) {
      if (lastUse[v] < 0 && !isOutput[v] && runtime[v]) lines.push(`${runtime[v]}.dispose();`);
    }
  });

  function emitEquation(emit: Emit, ins: readonly number[], v: number): void {
    const a = avals[v];
    const size = sizeOf(a.shape);
    const store = (value: string, index: string) => storeAt(v, value, index);
    if (emit.kind === 'map') {
      const named = (expr: string) => namedFns(emit, expr, closure);
      if (size === 1) {
        scalarOut(v, named(emit.expr(ins.map((u) => read(u, null)))));
        return;
      }
      const args = ins.map((u) => {
        const s = sizeOf(avals[u].shape);
        if (s === 1) return read(u, null);
        if (s === size) return read(u, 'k');
        return read(u, `${closure.add(broadcastIndex(avals[u].shape, a.shape))}[k]`);
      });
      lines.push(`for (let k = 0; k < ${size}; k++) ${store(named(emit.expr(args)), 'k')}`);
      return;
    }
    const u = ins[0];
    if (emit.kind === 'gather') {
      const index = emit.index;
      if (size === 1) {
        scalarOut(v, index[0] < 0 ? '0' : read(u, String(index[0])));
        return;
      }
      const identity = index.every((x, k) => x === k);
      const at = identity ? 'k' : `${closure.add(index)}[k]`;
      const value = sizeOf(avals[u].shape) === 1 ? read(u, null) : identity ? read(u, 'k') : `(${at} < 0 ? 0 : ${read(u, at)})`;
      lines.push(`for (let k = 0; k < ${size}; k++) ${store(value, 'k')}`);
      return;
    }
    const { outer, len } = emit;
    const row = (o: string) => {
      if (len === 0) return '0';
      if (len < 8) {
        const terms = Array.from({ length: len }, (_, k) => read(u, o === '0' ? String(k) : `${o} * ${len} + ${k}`));
        return `(0 + ${terms.join(' + ')})`;
      }
      const mu = mem[u]!;
      return `${closure.add(sumRow)}(${mu.view}, ${mu.base}${o === '0' ? '' : ` + ${o} * ${len}`}, ${len}, ${avals[u].dtype === 'float64' ? 1 : 0})`;
    };
    if (outer === 1) scalarOut(v, row('0'));
    else lines.push(`for (let k = 0; k < ${outer}; k++) ${store(row('k'), 'k')}`);
  }

  const returns = outputs.map((v, j) => {
    if (outTensor[v] === `o${j}`) return `o${j}`;
    if (v < firstOwn || outputs.indexOf(v) !== j) return `${tensorOrOutput(v)}.share(${tensorOrOutput(v)}.shape, 'jit')`;
    return runtime[v]!;
  });
  function tensorOrOutput(v: number): string {
    return outTensor[v] ?? mem[v]!.buf;
  }
  if (scratchName) closure.values[Number(scratchName.slice(2, -1))] = new Float64Array(scratchSize);
  const chunked = pure && equations.length > CHUNK ? chunk(lines, eqStart, equations, pos, local, closure) : lines;
  const body = [...head, ...chunked, `return [${returns.join(', ')}];`].join('\n');
  let factory: (K: unknown[], C: readonly DenseTensor[], H: unknown) => (ins: readonly DenseTensor[]) => DenseTensor[];
  try {
    factory = new Function('K', 'C', 'H', `return function compiled(ins) {\n${body}\n};`) as typeof factory;
  } catch (e) {
    throw new Error(`dualtape internal error: generated code does not parse (${(e as Error).message}):\n${body}`);
  }
  const outSizes = outMakers.map((a) => sizeOf(a.shape));
  const helpers = {
    f64: viewF64,
    f32: viewF32,
    out: (k: number) => {
      const a = outMakers[k];
      return new DenseTensor(allocBlock(a.dtype, outSizes[k]), a.dtype, a.shape, false, outSizes[k]);
    },
  };
  const run = factory(closure.values, consts, helpers);
  const blocks = slots.map((s) => ({ ptr: s.tensor.ptr, bytes: s.tensor.size * BYTES[s.tensor.dtype] }));
  const compiled: Compiled = { run, pure, source: body, loops: [...groupContext.loops] };
  if (blocks.length > 0) arenas.register(compiled, blocks);
  codegenControl.compiled++;
  return compiled;
}

const runtimeMode = (mode: string | undefined) => mode === 'impl' || mode === 'run';

/** A map's expression with its helper functions (emit.fns) bound as closure values. */
function namedFns(emit: Emit & { kind: 'map' }, expr: string, closure: Closure): string {
  return Object.entries(emit.fns ?? {}).reduce((e, [name, f]) => e.split(`${name}(`).join(`${closure.add(f)}(`), expr);
}

// A compiled program's slots are freed when it is collected.
const arenas = new FinalizationRegistry<{ ptr: number; bytes: number }[]>((blocks) => {
  for (const b of blocks) releaseBlock(b.ptr, b.bytes);
});
