// The parts of generated code that stand alone: numbers as JS source, rounding to float32, the
// values a generated function closes over, broadcast indices, the sum kernel's order, and
// control flow (fori, whileLoop, cond, and fori's forward and backward loops under jit(grad),
// fori-taped.ts) with scalar bodies written as JS loops and branches.
import type { Aval } from '../core/primitive.js';
import { sizeOf } from '../tensor/shape.js';
import { definedBy, type Equation, type Program, type Structure } from './program.js';

export const isScalar = (a: Aval) => sizeOf(a.shape) === 1;

/** A number as JS source, exactly (String round-trips; -0, NaN and the infinities need names). */
export function literal(x: number): string {
  if (Object.is(x, -0)) return '(-0)';
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '(-Infinity)';
  return x < 0 ? `(${x})` : String(x);
}

/** Rounds an expression's value to the dtype of `a` (float32 results are rounded once, as the kernels do). */
export function rounded(expr: string, a: Aval): string {
  return a.dtype === 'float32' ? `Math.fround(${expr})` : expr;
}

/** Values the generated function closes over: kernels, index maps, tensors, helpers. */
export class Closure {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `K[${this.values.length - 1}]`;
  }
}

/** For each output element, the element of an operand of `shape` broadcast to `outShape`. */
export function broadcastIndex(shape: readonly number[], outShape: readonly number[]): Int32Array {
  const size = sizeOf(outShape);
  const index = new Int32Array(size);
  const lead = outShape.length - shape.length;
  const strides = new Array<number>(outShape.length).fill(0);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1) strides[d + lead] = s;
    s *= shape[d];
  }
  for (let e = 0; e < size; e++) {
    let rest = e, at = 0;
    for (let d = outShape.length - 1; d >= 0; d--) {
      at += (rest % outShape[d]) * strides[d];
      rest = Math.floor(rest / outShape[d]);
    }
    index[e] = at;
  }
  return index;
}

// ---------- control flow with scalar bodies, as JS loops and branches ----------

/** A sub-program every variable of which is a scalar and every equation generated code (or such a loop). */
export function scalarBlock(program: Program): boolean {
  if (!program.avals.every(isScalar)) return false;
  return program.equations.every((eq) => {
    // fori_stacked/fori_backward only at a program's top level, where their stacks get memory.
    const s = eq.call?.structure;
    if (eq.call) return !!s && s.kind !== 'fori_stacked' && s.kind !== 'fori_backward' && inlinable(s, eq);
    return !!eq.prim.emit && eq.prim.emit(eq.inputs.map((v) => program.avals[v]), eq.params) !== null;
  });
}

export function inlinable(s: Structure, eq: Equation): boolean {
  if (definedBy(eq).length === 0) return false;
  if (s.kind === 'fori') return scalarBlock(s.body);
  if (s.kind === 'while') return scalarBlock(s.cond) && scalarBlock(s.body);
  if (s.kind === 'fori_stacked') return scalarBlock(s.body);
  if (s.kind === 'fori_backward') return scalarBlock(s.vjp);
  return scalarBlock(s.onTrue) && scalarBlock(s.onFalse);
}

/**
 * The variables above SMALL_SIZE that generated code handles anyway: the stacks of inlinable
 * fori_stacked equations, and the inputs read as an inlinable fori_backward's stacks, provided
 * nothing else reads them (they may be returned). They live in memory, one number per step.
 */
export function stackVariables(program: Program): Set<number> {
  const stacks = new Set<number>();
  const readAsStack = (eq: Equation) => {
    const s = eq.call?.structure;
    return s?.kind === 'fori_backward' && inlinable(s, eq) ? s.carries : 0;
  };
  for (const eq of program.equations) {
    const s = eq.call?.structure;
    if (s?.kind === 'fori_stacked' && inlinable(s, eq)) definedBy(eq).slice(s.body.outputs.length).forEach((v) => stacks.add(v));
    eq.inputs.slice(0, readAsStack(eq)).forEach((v) => v < program.inputCount && stacks.add(v));
  }
  for (const eq of program.equations) eq.inputs.slice(readAsStack(eq)).forEach((v) => stacks.delete(v));
  return stacks;
}

let blockNames = 0;

/**
 * Writes a scalar sub-program's code into `lines` with its inputs given as JS expressions;
 * returns its outputs as expressions (valid after those lines).
 */
function scalarCode(program: Program, inputs: readonly string[], lines: string[], closure: Closure): string[] {
  const p = `b${blockNames++}_`;
  const names: string[] = new Array(program.avals.length);
  inputs.forEach((x, v) => (names[v] = x));
  program.consts.forEach((c, k) => (names[program.inputCount + k] = literal(c.item())));
  for (const eq of program.equations) {
    const ins = eq.inputs.map((v) => names[v]);
    if (eq.call) {
      const outs = inlineCall(eq.call.structure!, ins, lines, closure);
      eq.outs.forEach((v, j) => {
        names[v] = `${p}${v}`;
        lines.push(`const ${p}${v} = ${outs[j]};`);
      });
      continue;
    }
    const a = program.avals[eq.out];
    const emit = eq.prim.emit!(eq.inputs.map((v) => program.avals[v]), eq.params)!;
    let value: string;
    if (emit.kind === 'map') {
      value = emit.expr(ins);
      for (const [name, f] of Object.entries(emit.fns ?? {})) value = value.split(`${name}(`).join(`${closure.add(f)}(`);
      value = rounded(value, a);
    } else if (emit.kind === 'gather') {
      value = emit.index[0] < 0 ? '0' : ins[0];
    } else {
      value = rounded(`(0 + ${ins[0]})`, a);
    }
    names[eq.out] = `${p}${eq.out}`;
    lines.push(`const ${p}${eq.out} = ${value};`);
  }
  return program.outputs.map((v) => names[v]);
}

/**
 * A fori, whileLoop, cond, fori_stacked or fori_backward with scalar bodies as JS; returns its
 * (scalar) outputs as expressions. `stacks` give a stack's element at a JS index expression (an
 * assignable view element): fori_stacked's stacked outputs, fori_backward's stacked inputs (whose
 * entries in `inputs` are not read).
 */
export function inlineCall(s: Structure, inputs: readonly string[], lines: string[], closure: Closure, stacks: readonly ((index: string) => string)[] = []): string[] {
  const p = `c${blockNames++}_`;
  if (s.kind === 'cond') {
    const n = s.operands;
    const ops = inputs.slice(1, 1 + n);
    const nt = s.onTrue.inputCount - n;
    const outs = s.onTrue.outputs.map((_, j) => `${p}${j}`);
    lines.push(`let ${outs.join(', ')};`);
    lines.push(`if (${inputs[0]} !== 0) {`);
    const yes = scalarCode(s.onTrue, [...ops, ...inputs.slice(1 + n, 1 + n + nt)], lines, closure);
    lines.push(`${outs.map((o, j) => `${o} = ${yes[j]};`).join(' ')}`, '} else {');
    const no = scalarCode(s.onFalse, [...ops, ...inputs.slice(1 + n + nt)], lines, closure);
    lines.push(`${outs.map((o, j) => `${o} = ${no[j]};`).join(' ')}`, '}');
    return outs;
  }
  // fori_backward's carry is its cotangents (of the carry, then of the captures), after the stacks and captures.
  const first = s.kind === 'fori_backward' ? s.carries + s.captures : 0;
  const carries = s.kind === 'fori' || s.kind === 'fori_stacked' ? s.body.outputs.length : s.kind === 'fori_backward' ? s.carries + s.captureCotangents : s.carries;
  const carry = Array.from({ length: carries }, (_, j) => `${p}${j}`);
  lines.push(`let ${carry.map((c, j) => `${c} = ${inputs[first + j]}`).join(', ')};`);
  const update = (outs: string[]) => {
    // All new values first: an output may be another carry's old value.
    const next = outs.map((o, j) => `${p}n${j}`);
    lines.push(`const ${outs.map((o, j) => `${next[j]} = ${o}`).join(', ')};`);
    lines.push(carry.map((c, j) => `${c} = ${next[j]};`).join(' '));
  };
  const i = `${p}i`;
  const row = s.kind === 'fori_stacked' || s.kind === 'fori_backward' ? (s.lower === 0 ? i : `${i} - ${literal(s.lower)}`) : '';
  if (s.kind === 'fori' || s.kind === 'fori_stacked') {
    lines.push(`for (let ${i} = ${literal(s.lower)}; ${i} < ${literal(s.upper)}; ${i}++) {`);
    // The carry before the step, into its stack's row.
    if (s.kind === 'fori_stacked') lines.push(stacks.map((at, j) => `${at(row)} = ${carry[j]};`).join(' '));
    update(scalarCode(s.body, [i, ...carry, ...inputs.slice(carries)], lines, closure));
    lines.push('}');
    return carry;
  }
  if (s.kind === 'fori_backward') {
    const k = s.carries;
    lines.push(`for (let ${i} = ${literal(s.upper - 1)}; ${i} >= ${literal(s.lower)}; ${i}--) {`);
    const before = stacks.map((at, j) => `${p}r${j}`);
    lines.push(`const ${stacks.map((at, j) => `${before[j]} = ${at(row)}`).join(', ')};`);
    const caps = inputs.slice(k, first), own = inputs.slice(first + carries);
    update(scalarCode(s.vjp, [i, ...before, ...caps, ...carry, ...own], lines, closure));
    lines.push('}');
    return carry;
  }
  const nc = s.cond.inputCount - carries;
  lines.push('for (;;) {');
  const [pred] = scalarCode(s.cond, [...carry, ...inputs.slice(carries, carries + nc)], lines, closure);
  lines.push(`if (${pred} === 0) break;`);
  update(scalarCode(s.body, [...carry, ...inputs.slice(carries + nc)], lines, closure));
  lines.push('}');
  return carry;
}

/**
 * The sum of `n` elements from `base` in `view`, in the order of the sum kernel (assembly/reduce.ts
 * sumRow): under 8 elements one running sum; else eight lane sums over blocks of 8 (and, for
 * float64, pairs into lanes 0 and 1), combined as the SIMD lanes are, then the tail.
 */
export function sumRow(view: Float64Array | Float32Array, base: number, n: number, f64: number): number {
  let i = 0;
  if (n < 8) {
    let s = 0;
    for (; i < n; i++) s += view[base + i];
    return s;
  }
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  for (; i + 8 <= n; i += 8) {
    const p = base + i;
    s0 += view[p]; s1 += view[p + 1]; s2 += view[p + 2]; s3 += view[p + 3];
    s4 += view[p + 4]; s5 += view[p + 5]; s6 += view[p + 6]; s7 += view[p + 7];
  }
  if (f64) {
    for (; i + 2 <= n; i += 2) {
      s0 += view[base + i];
      s1 += view[base + i + 1];
    }
  }
  let total = ((s0 + s2) + (s4 + s6)) + ((s1 + s3) + (s5 + s7));
  for (; i < n; i++) total += view[base + i];
  return total;
}
