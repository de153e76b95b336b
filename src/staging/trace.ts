// Tracing to a program. A StagingTrace owns a level on the trace stack like every transform;
// its values are StagedTracers, which know their shape and dtype but have no data. Every
// primitive applied to one is recorded as an equation, with its output's abstract value from
// the primitive's `shape` rule; nothing runs. Values from outside the trace become program
// constants (tensors) or, for tracers of an enclosing transform, extra inputs ("captures").
import type { Aval, Primitive } from '../core/primitive.js';
import { Trace, Tracer, popTrace, pushTrace } from '../core/trace.js';
import { ConcretizationError, fmtShape } from '../errors.js';
import { adopt } from '../tensor/scope.js';
import { DenseTensor, type DType, type Tensor } from '../tensor/tensor.js';
import { toTensor } from '../ops/convert.js';
import { flatten, rebuild, type TreeDef } from '../tree.js';
import { Program, definedBy, fmtAval, type Equation, type StagedCall } from './program.js';

export class StagedTracer extends Tracer {
  /**
   * A weak value stands for a JS number argument: like a number, it takes the dtype of the
   * tensors it meets (a float32 operand casts it), so jit gives eager's dtypes.
   */
  readonly weak: boolean;

  constructor(readonly trace: StagingTrace, readonly aval: Aval, readonly variable: number, weak = false) {
    super();
    this.weak = weak;
  }

  override get shape(): readonly number[] {
    return this.aval.shape;
  }

  override get dtype(): DType {
    return this.aval.dtype;
  }

  get primal(): Tensor {
    throw this.concretization('its value');
  }

  override dense(): DenseTensor {
    throw this.concretization('its value');
  }

  parts(): Tensor[] {
    return [];
  }

  /** Inside jit a value has no number to give: `x > 0`, `+x` and Math.* name the ways out. */
  override [Symbol.toPrimitive](hint: string): string {
    if (hint === 'string') return `StagedTracer(${fmtAval(this.aval)})`;
    throw this.concretization('its value as a JS number or boolean (x > 0, +x, Number(x), Math.*)');
  }

  override toString(): string {
    return `StagedTracer(${fmtAval(this.aval)})`;
  }

  /** The error for reading this traced value as a concrete one. */
  concretization(what: string): ConcretizationError {
    return new ConcretizationError(`${this.trace.name}: ${what} was read, but inside jit the value ${fmtAval(this.aval)} (shape ${fmtShape(this.aval.shape)}) is abstract: it has a shape and a dtype, no data yet. item(), data(), toArray() and using a tensor as a JS number or boolean need a concrete value. Ways out: mark the argument static (jit(f, {staticArgnums: [i]})) if it is a configuration value; select with where(cond, a, b) instead of if/else; branch with cond(pred, onTrue, onFalse, ...operands); loop with whileLoop, fori or scan; or move the read outside the jitted function.`);
  }
}

export class StagingTrace extends Trace {
  private readonly avals: Aval[] = [];
  private readonly equations: Equation[] = [];
  private readonly constVars = new Map<DenseTensor, number>();
  private readonly captureVars = new Map<Tracer, number>();
  /** Tracers of enclosing transforms this program reads, in order of their input variables. */
  readonly captures: Tracer[] = [];
  /** The program's own handles on constant values, with their variables. */
  private readonly consts: { value: DenseTensor; variable: number }[] = [];

  /**
   * `holdConstants`: the program keeps its own handle on each constant's data (a jit program
   * outlives the call that traced it). Abstract evaluation drops its program at once and so
   * holds nothing.
   */
  constructor(level: number, readonly name: string, private readonly holdConstants: boolean) {
    super(level, 'jit');
  }

  input(aval: Aval & { weak?: boolean }): StagedTracer {
    const v = this.avals.length;
    this.avals.push({ shape: aval.shape, dtype: aval.dtype });
    return new StagedTracer(this, this.avals[v], v, aval.weak === true);
  }

  /** The variable standing for `x` in this program. */
  variableOf(x: Tensor): number {
    if (x instanceof StagedTracer && x.trace === this) return x.variable;
    if (x instanceof DenseTensor) {
      let v = this.constVars.get(x);
      if (v === undefined) {
        v = this.avals.length;
        this.avals.push({ shape: x.shape, dtype: x.dtype });
        // A kept program holds its own handle on the data: the caller may dispose x, or the
        // scope the trace ran in may end.
        let held = x;
        if (this.holdConstants) {
          held = x.share(x.shape, this.name);
          adopt(held, null);
        }
        this.consts.push({ value: held, variable: v });
        this.constVars.set(x, v);
      }
      return v;
    }
    const tracer = x as Tracer;
    let v = this.captureVars.get(tracer);
    if (v === undefined) {
      v = this.avals.length;
      this.avals.push({ shape: x.shape, dtype: x.dtype });
      this.captureVars.set(tracer, v);
      this.captures.push(tracer);
    }
    return v;
  }

  process<P>(prim: Primitive<P>, inputs: Tensor[], params: P): Tensor {
    const vars = inputs.map((x) => this.variableOf(x));
    const aval = prim.shape(vars.map((v) => this.avals[v]), params);
    const out = this.avals.length;
    this.avals.push(aval);
    this.equations.push({ prim: prim as Primitive<unknown>, inputs: vars, params, out });
    return new StagedTracer(this, aval, out);
  }

  /** Records `outs = call(inputs)`, a control-flow operation whose outputs have `avals`. */
  emitCall(call: StagedCall, inputs: readonly Tensor[], avals: readonly Aval[]): StagedTracer[] {
    const vars = inputs.map((x) => this.variableOf(x));
    const outs = avals.map((a) => {
      this.avals.push(a);
      return this.avals.length - 1;
    });
    this.equations.push({ call, inputs: vars, outs });
    return outs.map((v, i) => new StagedTracer(this, avals[i], v));
  }

  /**
   * The program with `inputs` as its inputs and `outputs` (values of this trace or from
   * outside it) as its outputs. Variables are renumbered: inputs, captures (as extra inputs),
   * constants, then equations.
   */
  build(inputCount: number, outputs: readonly Tensor[]): Program {
    const outVars = outputs.map((x) => this.variableOf(x));
    // Dead code elimination: primitives are pure, so an equation whose output no live equation
    // and no output reads is dropped (under jit(grad(f)), forward values no rule saved).
    const live = new Uint8Array(this.avals.length);
    for (const v of outVars) live[v] = 1;
    const kept: Equation[] = [];
    for (let i = this.equations.length - 1; i >= 0; i--) {
      const eq = this.equations[i];
      if (!definedBy(eq).some((v) => live[v])) continue;
      kept.push(eq);
      for (const v of eq.inputs) live[v] = 1;
    }
    kept.reverse();
    const order: number[] = [];
    for (let v = 0; v < inputCount; v++) order.push(v);
    for (const t of this.captures) order.push(this.captureVars.get(t)!);
    for (const c of this.consts) order.push(c.variable);
    for (const eq of kept) order.push(...definedBy(eq));
    const renumber = new Int32Array(this.avals.length).fill(-1);
    order.forEach((v, i) => (renumber[v] = i));
    const avals = order.map((v) => this.avals[v]);
    const equations: Equation[] = kept.map((eq) => {
      const inputs = eq.inputs.map((v) => renumber[v]);
      return eq.call ? { call: eq.call, inputs, outs: eq.outs.map((v) => renumber[v]) } : { prim: eq.prim, params: eq.params, inputs, out: renumber[eq.out] };
    });
    return new Program(avals, inputCount + this.captures.length, this.consts.map((c) => c.value), equations, outVars.map((v) => renumber[v]));
  }
}

/**
 * Traces `fn` on abstract inputs with `avals` into a program. `fn` receives one StagedTracer
 * per input and returns the output tensors.
 */
export function traceProgram(name: string, avals: readonly (Aval & { weak?: boolean })[], fn: (inputs: Tensor[]) => Tensor[], holdConstants = true): { program: Program; captures: Tracer[] } {
  const trace = pushTrace((level) => new StagingTrace(level, name, holdConstants));
  try {
    const inputs = avals.map((a) => trace.input(a));
    const outputs = fn(inputs);
    return { program: trace.build(inputs.length, outputs), captures: trace.captures };
  } finally {
    popTrace(trace);
  }
}

/** The abstract values of f's outputs when called on values with `avals` (one tensor each). */
export function abstractCall(op: string, f: (...args: Tensor[]) => unknown, avals: readonly Aval[]): readonly Aval[] {
  const { program } = traceProgram(op, avals, (inputs) => flatten(f(...inputs), `${op}: the function's output`).leaves.map((l) => toTensor(op, l)), false);
  return program.outputAvals;
}

/** f's output leaves' abstract values and output structure for arguments like `args`; nothing runs. */
export function abstractOutputs(f: (...args: never[]) => unknown, args: unknown[], op = 'evalShape'): { avals: readonly Aval[]; def: TreeDef } {
  const { leaves, def } = flatten(args, `${op}: argument`);
  const avals = leaves.map((l) => (typeof l === 'number' ? { shape: [], dtype: 'float64' as const, weak: true } : { shape: l.shape, dtype: l.dtype }));
  let outDef: TreeDef | null = null;
  const { program } = traceProgram(op, avals, (inputs) => {
    const out = flatten((f as (...a: unknown[]) => unknown)(...rebuild<unknown[]>(def, inputs)), `${op}: the function's output`);
    outDef = out.def;
    return out.leaves.map((l) => toTensor(op, l));
  }, false);
  return { avals: program.outputAvals, def: outDef! };
}

/**
 * The shapes and dtypes of f's outputs for arguments like `args`, found by tracing f with
 * abstract values: nothing runs (as jax.eval_shape). Returns the output tree with each leaf
 * replaced by `{shape, dtype}`. Throws a ConcretizationError if f reads a value.
 * @example evalShape((x) => matmul(x, x), zeros([3, 3])) // {shape: [3, 3], dtype: 'float64'}
 */
export function evalShape(f: (...args: never[]) => unknown, ...args: unknown[]): unknown {
  const { avals, def } = abstractOutputs(f, args);
  return rebuild(def, avals.map((a) => ({ shape: [...a.shape], dtype: a.dtype })));
}
