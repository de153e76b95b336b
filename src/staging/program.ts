// The staged program: what jit traces a function into. A list of equations `out = prim(inputs;
// params)` over numbered variables, each with an abstract value (shape and dtype). Variables
// 0..inputs-1 are the program's inputs, then its constants (closed-over tensors and literals,
// with their values), then one per equation, in order.
import type { Aval, Primitive } from '../core/primitive.js';
import type { DenseTensor, DType, Tensor } from '../tensor/tensor.js';

/**
 * A control-flow operation in a program (cond, fori, whileLoop, scan): several outputs, its
 * bodies as sub-programs. `run` performs it on values of any kind: concrete ones, tracers of
 * an enclosing transform, or values of an enclosing jit (which stages it again).
 */
export interface StagedCall {
  readonly name: string;
  /** Printed with the equation; sub-programs print nested. */
  readonly params: Readonly<Record<string, unknown>>;
  run(inputs: readonly Tensor[]): Tensor[];
  /** What the operation is, for generated code (src/staging/codegen.ts) to write it as a JS loop or branch. */
  readonly structure?: Structure;
}

/**
 * The shape of a control-flow call. Its inputs are the carries (or, for cond, the predicate then
 * the operands) followed by the captures of each sub-program in the order listed.
 */
export type Structure =
  | { readonly kind: 'fori'; readonly lower: number; readonly upper: number; readonly body: Program }
  | { readonly kind: 'while'; readonly cond: Program; readonly body: Program; readonly carries: number }
  | { readonly kind: 'cond'; readonly onTrue: Program; readonly onFalse: Program; readonly operands: number }
  /** fori under jit(grad): outputs the final carry, then each carry leaf before every step stacked ([n, ...shape]). */
  | { readonly kind: 'fori_stacked'; readonly lower: number; readonly upper: number; readonly body: Program }
  /**
   * Its reverse loop: inputs the `carries` stacks, the body's `captures`, then the `carries`
   * cotangents, the `captureCotangents`, then the vjp's own captures; each step (from upper - 1
   * down to lower) runs `vjp` on (i, the step's carry, the captures, the cotangents so far, the
   * vjp's captures), which returns the cotangents before the step.
   */
  | { readonly kind: 'fori_backward'; readonly lower: number; readonly upper: number; readonly vjp: Program; readonly carries: number; readonly captures: number; readonly captureCotangents: number };

/** `out = prim(inputs; params)`, or, with `call`, `outs = call(inputs)`. */
export type Equation =
  | { readonly prim: Primitive<unknown>; readonly call?: undefined; readonly inputs: readonly number[]; readonly params: unknown; readonly out: number }
  | { readonly prim?: undefined; readonly call: StagedCall; readonly inputs: readonly number[]; readonly outs: readonly number[] };

/** The variables an equation defines. */
export function definedBy(eq: Equation): readonly number[] {
  return eq.call ? eq.outs : [eq.out];
}

export class Program {
  constructor(
    /** The abstract value of every variable. */
    readonly avals: readonly Aval[],
    /** How many leading variables are inputs. */
    readonly inputCount: number,
    /** The values of the constants, variables inputCount .. inputCount + consts.length - 1. */
    readonly consts: readonly DenseTensor[],
    readonly equations: readonly Equation[],
    /** The variables the program returns (any kind: an input, a constant or an equation's). */
    readonly outputs: readonly number[],
  ) {}

  get inputAvals(): readonly Aval[] {
    return this.avals.slice(0, this.inputCount);
  }

  get outputAvals(): readonly Aval[] {
    return this.outputs.map((v) => this.avals[v]);
  }

  /**
   * The program as text: `{ lambda a:f64[3] b:f64[]. let c:f64[3] = mul a b; ... in (c) }`.
   * Constants print as their value when they have one element, else as `const:f64[n]`.
   */
  toString(): string {
    return this.format('');
  }

  private format(indent: string): string {
    const names = this.avals.map((_, v) => varName(v));
    const typed = (v: number) => `${names[v]}:${fmtAval(this.avals[v])}`;
    const atom = (v: number) => {
      const c = v - this.inputCount;
      if (c >= 0 && c < this.consts.length) {
        const value = this.consts[c];
        return value.size === 1 ? String(value.item()) : `${names[v]}`;
      }
      return names[v];
    };
    const lines: string[] = [];
    for (let c = 0; c < this.consts.length; c++) {
      const value = this.consts[c];
      if (value.size !== 1) lines.push(`    ${typed(this.inputCount + c)} = const`);
    }
    for (const eq of this.equations) {
      if (eq.call) {
        const params = Object.entries(eq.call.params).map(([k, v]) => `${k}=${v instanceof Program ? v.format(`${indent}      `) : JSON.stringify(v)}`);
        lines.push(`    ${eq.outs.map(typed).join(' ')} = ${eq.call.name}[${params.join(' ')}] ${eq.inputs.map(atom).join(' ')}`);
      } else {
        lines.push(`    ${typed(eq.out)} = ${eq.prim.name}${fmtParams(eq.params)} ${eq.inputs.map(atom).join(' ')}`);
      }
    }
    const inputs = Array.from({ length: this.inputCount }, (_, v) => typed(v)).join(' ');
    const body = lines.map((l) => indent + l).join('\n');
    return `{ lambda ${inputs}. let\n${body}\n${indent}  in (${this.outputs.map(atom).join(', ')}) }`;
  }
}

const SHORT: Record<DType, string> = { float64: 'f64', float32: 'f32', int32: 'i32' };

export function fmtAval(a: Aval): string {
  return `${SHORT[a.dtype]}[${a.shape.join(',')}]`;
}

/** a, b, ..., z, ba, bb, ...: JAX's variable names. */
function varName(v: number): string {
  let name = '';
  do {
    name = String.fromCharCode(97 + (v % 26)) + name;
    v = Math.floor(v / 26);
  } while (v > 0);
  return name;
}

function fmtParams(params: unknown): string {
  if (params === null || typeof params !== 'object') return '';
  const entries = Object.entries(params as Record<string, unknown>).filter(([, v]) => typeof v !== 'function' && !(v instanceof Program));
  if (entries.length === 0) return '';
  return `[${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}]`;
}
