// Running a program. `runProgram` executes it on concrete tensors with each equation's kernel,
// freeing every intermediate right after its last use. `evalProgram` replays it through
// `bind`, so every enclosing transform sees the program's primitives one by one: that is how
// a jitted function is differentiated (a tape of the program, or duals through it), batched or
// inlined into an enclosing jit, without calling the traced function again.
import { BYTES, allocBlock, releaseBlock } from '../backend/buffer.js';
import type { BoundKernel } from '../backend/kernels.js';
import { bind, topTrace } from '../core/trace.js';
import { empty, scalar } from '../tensor/create.js';
import { sizeOf } from '../tensor/shape.js';
import { DenseTensor, type Tensor } from '../tensor/tensor.js';
import { fuseProgram } from './fuse.js';
import { definedBy, type Program } from './program.js';
import { compiledOf, type Compiled } from './codegen.js';
import { isSegment, segmentProgram } from './segment.js';

/**
 * What a program's concrete run needs, computed once: the variables that die after each
 * equation, each equation's bound kernel (null: call impl), and the planned buffer of each
 * variable that gets one.
 *
 * Buffers: an intermediate gets a buffer of the arena when its equation has a bound kernel and
 * every equation that reads it has one too (impl may return a view of its input, as reshape
 * does, which would outlive the planned buffer). Buffers of the same dtype and size are reused
 * once the variable in them is dead, found by walking the equations in order (liveness). The
 * arena is allocated once and kept with the plan; a run allocates only its outputs and the
 * results of equations without a bound kernel.
 */
interface Plan {
  /**
   * The program as it runs: the planned one with its elementwise chains fused (fuse.ts) and its
   * runs of small equations outlined into compiled segments (segment.ts).
   */
  program: Program;
  dying: Int32Array[];
  /** Each equation's argument array, reused from run to run (unless a run is re-entered). */
  args: DenseTensor[][];
  running: boolean;
  bound: (BoundKernel | null)[];
  /** The arena tensor standing for each variable (shape as the variable's), or null. */
  slots: (DenseTensor | null)[];
  arenaBytes: number;
  peakBytes: number;
}

function makePlan(source: Program): Plan {
  const program = segmentProgram(fuseProgram(source), execute);
  const { equations, avals, outputs } = program;
  const last = new Int32Array(avals.length).fill(-1);
  equations.forEach((eq, i) => {
    for (const v of eq.inputs) last[v] = i;
  });
  const first = program.inputCount + program.consts.length;
  const isOutput = new Uint8Array(avals.length);
  for (const v of outputs) {
    last[v] = -1;
    isOutput[v] = 1;
  }
  const dying: number[][] = equations.map(() => []);
  for (let v = first; v < last.length; v++) if (last[v] >= 0) dying[last[v]].push(v);
  equations.forEach((eq, i) => {
    for (const v of definedBy(eq)) if (last[v] < 0 && !isOutput[v]) dying[i].push(v);
  });
  const bound = equations.map((eq) => (eq.call || !eq.prim.into ? null : eq.prim.into(eq.inputs.map((v) => avals[v]), eq.params)));
  // A variable read by an equation without a bound kernel cannot live in the arena (a segment
  // is pure generated code: it reads its inputs while it runs and returns tensors of its own).
  const plannable = new Uint8Array(avals.length);
  equations.forEach((eq, i) => {
    if (!eq.call && bound[i] && !isOutput[eq.out]) plannable[eq.out] = 1;
  });
  equations.forEach((eq, i) => {
    if (!bound[i] && !(eq.call && isSegment(eq.call))) for (const v of eq.inputs) plannable[v] = 0;
  });
  // Walk the equations: give each plannable output a free buffer of its dtype and size, or a
  // new one; return buffers to the free pool when their variable dies.
  const free = new Map<string, { ptr: number; size: number }[]>();
  const blockOf = new Map<number, { ptr: number; size: number; key: string }>();
  const blocks: { ptr: number; bytes: number }[] = [];
  const slots: (DenseTensor | null)[] = new Array(avals.length).fill(null);
  let live = 0, peak = 0;
  equations.forEach((eq, i) => {
    if (!eq.call && plannable[eq.out]) {
      const a = avals[eq.out];
      const size = sizeOf(a.shape);
      const key = `${a.dtype}:${size}`;
      const pool = free.get(key);
      let block = pool && pool.pop();
      if (!block) {
        block = { ptr: allocBlock(a.dtype, size), size };
        blocks.push({ ptr: block.ptr, bytes: size * BYTES[a.dtype] });
      }
      blockOf.set(eq.out, { ...block, key });
      slots[eq.out] = new DenseTensor(block.ptr, a.dtype, a.shape, true, size);
      live += size * BYTES[a.dtype];
      peak = Math.max(peak, live);
    }
    for (const v of dying[i]) {
      const b = blockOf.get(v);
      if (!b) continue;
      let pool = free.get(b.key);
      if (!pool) free.set(b.key, (pool = []));
      pool.push({ ptr: b.ptr, size: b.size });
      live -= b.size * BYTES[avals[v].dtype];
    }
  });
  const plan = { program, dying: dying.map((d) => Int32Array.from(d)), args: equations.map((eq) => new Array<DenseTensor>(eq.inputs.length)), running: false, bound, slots, arenaBytes: blocks.reduce((n, b) => n + b.bytes, 0), peakBytes: peak };
  if (blocks.length > 0) arenas.register(plan, blocks);
  return plan;
}

// A plan's arena is freed when the plan (and so its program) is collected.
const arenas = new FinalizationRegistry<{ ptr: number; bytes: number }[]>((blocks) => {
  for (const b of blocks) releaseBlock(b.ptr, b.bytes);
});

const plans = new WeakMap<Program, Plan>();

function planOf(program: Program): Plan {
  let plan = plans.get(program);
  if (!plan) plans.set(program, (plan = makePlan(program)));
  return plan;
}

/** The arena of a program's plan, and the peak of its intermediates that live there at once. */
export function arenaOf(program: Program): { bytes: number; peakBytes: number } {
  const plan = planOf(program);
  return { bytes: plan.arenaBytes, peakBytes: plan.peakBytes };
}

/** Executes `program` on concrete `inputs` (its inputs, then its captures). */
export function runProgram(program: Program, inputs: readonly DenseTensor[]): DenseTensor[] {
  const compiled = compiledOf(program);
  if (compiled) return runCompiled(compiled, program, inputs);
  const plan = planOf(program);
  if (plan.running) return runPlanned(plan.program, plan, inputs, plan.program.equations.map((eq) => new Array<DenseTensor>(eq.inputs.length)));
  plan.running = true;
  try {
    return runPlanned(plan.program, plan, inputs, plan.args);
  } finally {
    plan.running = false;
  }
}

/** A compiled run; a program that calls back into JS (impl, control flow) and re-enters itself runs interpreted. */
function runCompiled(compiled: Compiled, program: Program, inputs: readonly DenseTensor[]): DenseTensor[] {
  if (compiled.pure) return compiled.run(inputs);
  if (reentered.has(compiled)) {
    const plan = planOf(program);
    return runPlanned(plan.program, plan, inputs, plan.program.equations.map((eq) => new Array<DenseTensor>(eq.inputs.length)));
  }
  reentered.add(compiled);
  try {
    return compiled.run(inputs);
  } finally {
    reentered.delete(compiled);
  }
}

const reentered = new Set<Compiled>();

function runPlanned(program: Program, plan: Plan, inputs: readonly DenseTensor[], argArrays: DenseTensor[][]): DenseTensor[] {
  const { dying, bound, slots } = plan;
  const env: (DenseTensor | undefined)[] = new Array(program.avals.length);
  for (let i = 0; i < inputs.length; i++) env[i] = inputs[i];
  const consts = program.consts;
  for (let c = 0; c < consts.length; c++) env[program.inputCount + c] = consts[c];
  const equations = program.equations;
  try {
    for (let i = 0; i < equations.length; i++) {
      const eq = equations[i];
      const ins = eq.inputs;
      const args = argArrays[i];
      for (let j = 0; j < ins.length; j++) args[j] = env[ins[j]]!;
      if (eq.call) {
        const outs = eq.call.run(args.slice());
        eq.outs.forEach((v, j) => (env[v] = outs[j] as DenseTensor));
      } else {
        const kernel = bound[i];
        if (kernel) {
          const a = program.avals[eq.out];
          const out = slots[eq.out] ?? empty(a.shape, a.dtype, eq.prim.name);
          kernel(out, args);
          env[eq.out] = out;
        } else {
          env[eq.out] = eq.prim.impl(args, eq.params);
        }
      }
      const d = dying[i];
      for (let j = 0; j < d.length; j++) {
        const v = d[j];
        if (slots[v] === null) env[v]!.dispose();
        env[v] = undefined;
      }
    }
  } catch (e) {
    const firstOwn = program.inputCount + consts.length;
    for (let v = firstOwn; v < env.length; v++) if (slots[v] === null) env[v]?.dispose();
    throw e;
  }
  // Outputs never alias the caller's inputs or the program's constants.
  const firstOwn = program.inputCount + consts.length;
  const seen = new Set<number>();
  return program.outputs.map((v) => {
    const t = env[v]!;
    if (v < firstOwn || seen.has(v)) return t.share(t.shape, 'jit');
    seen.add(v);
    return t;
  });
}

/** Runs `program` concretely when every input is concrete, else replays it through bind. */
export function execute(program: Program, inputs: readonly Tensor[]): Tensor[] {
  return topTrace('jit', inputs) === null ? runProgram(program, inputs as DenseTensor[]) : evalProgram(program, inputs);
}

/** Replays `program` on `inputs` (its inputs, then its captures) through bind. */
export function evalProgram(program: Program, inputs: readonly Tensor[]): Tensor[] {
  const env: Tensor[] = new Array(program.avals.length);
  for (let i = 0; i < inputs.length; i++) env[i] = inputs[i];
  for (let c = 0; c < program.consts.length; c++) env[program.inputCount + c] = program.consts[c];
  for (const eq of program.equations) {
    const ins = eq.inputs.map((v) => env[v]);
    if (eq.call) {
      const outs = eq.call.run(ins);
      eq.outs.forEach((v, j) => (env[v] = outs[j]));
    } else {
      env[eq.out] = bind(eq.prim, ins, eq.params);
    }
  }
  return program.outputs.map((v) => {
    const t = env[v];
    return v < program.inputCount + program.consts.length && t instanceof DenseTensor ? t.share(t.shape, 'jit') : t;
  });
}

/**
 * A staged whileLoop on concrete values outside every transform: its condition and body
 * programs run back to back on the carry (`ins` are the carry, then the condition's captures,
 * then the body's). The public whileLoop would rebuild and check the carry's tree at every
 * step, which costs more than a compiled body of scalar arithmetic. A carry the loop made is
 * freed once replaced; the result never aliases `ins`.
 */
export function runWhile(cond: Program, body: Program, ins: readonly DenseTensor[], carries: number): DenseTensor[] {
  const condCaptures = ins.slice(carries, carries + cond.inputCount - carries);
  const bodyCaptures = ins.slice(carries + condCaptures.length);
  const going = (carry: DenseTensor[]) => {
    const [pred] = runProgram(cond, [...carry, ...condCaptures]);
    const on = pred.item() !== 0;
    pred.dispose();
    return on;
  };
  return iterate(ins.slice(0, carries), 'whileLoop', going, (carry) => runProgram(body, [...carry, ...bodyCaptures]));
}

/**
 * A staged fori with number bounds on concrete values outside every transform, as runWhile:
 * its body program runs on (i, carry, captures) for i = lower .. upper - 1 (`ins` are the
 * carry, then the body's captures).
 */
export function runFori(body: Program, lower: number, upper: number, ins: readonly DenseTensor[], carries: number): DenseTensor[] {
  const captures = ins.slice(carries);
  return iterate(ins.slice(0, carries), 'fori', (_, i) => lower + i < upper, (carry, i) => {
    const index = scalar(lower + i) as DenseTensor;
    try {
      return runProgram(body, [index, ...carry, ...captures]);
    } finally {
      index.dispose();
    }
  });
}

/** `carry = step(carry, i)` while `more(carry, i)`: a carry the loop made is freed once replaced (or on an error), and the result never aliases `init`. */
function iterate(init: DenseTensor[], op: string, more: (carry: DenseTensor[], i: number) => boolean, step: (carry: DenseTensor[], i: number) => DenseTensor[]): DenseTensor[] {
  let carry = init;
  let made = false;
  try {
    for (let i = 0; more(carry, i); i++) {
      const next = step(carry, i);
      if (made) for (const c of carry) c.dispose();
      carry = next;
      made = true;
    }
  } catch (e) {
    if (made) for (const c of carry) c.dispose();
    throw e;
  }
  return made ? carry : carry.map((c) => c.share(c.shape, op));
}

/** @internal The program as the interpreter runs it (fused and segmented), for tests to inspect. */
export function plannedProgram(program: Program): Program {
  return planOf(program).program;
}
