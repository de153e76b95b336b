// The trace stack. Every active transform owns one level; a tracer belongs to exactly one
// level. `bind` routes an op to the highest level among its arguments, and values of lower
// levels are constants there. This is what keeps nested transforms (jvp of grad, grad of
// grad, jacfwd of jacrev) free of perturbation confusion.
import { DTypeError, DifferentiationError } from '../errors.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import type { Primitive } from './primitive.js';

export abstract class Trace {
  active = true;
  constructor(readonly level: number, readonly kind: string) {}
  abstract process<P>(prim: Primitive<P>, inputs: Tensor[], params: P): Tensor;
}

/** A value inside a transform: it stands for `primal` plus what its level tracks about it. */
export abstract class Tracer extends Tensor {
  abstract readonly trace: Trace;
  abstract readonly primal: Tensor;

  get shape(): readonly number[] {
    return this.primal.shape;
  }

  get dtype() {
    return this.primal.dtype;
  }

  /** @internal */
  dense(): DenseTensor {
    return this.primal.dense();
  }

  /** The tensors this tracer holds (primal, and tangent for a Dual). */
  abstract parts(): Tensor[];

  /** Tracers own nothing: the transform that made them frees their data when it ends. */
  dispose(): void {}
}

const stack: Trace[] = [];

/** The innermost active trace among `xs`, or null when all are concrete. */
export function topTrace(op: string, xs: readonly Tensor[]): Trace | null {
  let top: Trace | null = null;
  for (const x of xs) {
    if (x instanceof Tracer) {
      const t = x.trace;
      if (!t.active) {
        throw new DifferentiationError(`${op}: an input is a ${t.kind} tracer from a transform that has already returned (it escaped through a closure or a global). Return values from the transformed function instead of storing them outside it.`);
      }
      if (top === null || t.level > top.level) top = t;
    }
  }
  return top;
}

/** Every DenseTensor reachable from `x` through tracers. */
export function denseParts(x: unknown, out: DenseTensor[] = []): DenseTensor[] {
  if (x instanceof DenseTensor) out.push(x);
  else if (x instanceof Tracer) for (const p of x.parts()) denseParts(p, out);
  return out;
}

/** The innermost active trace, or null outside every transform. */
export function innermostTrace(): Trace | null {
  return stack.length > 0 ? stack[stack.length - 1] : null;
}

/** The active trace at `level` (0 is the outermost), or null. */
export function traceAt(level: number): Trace | null {
  return stack[level] ?? null;
}

export function pushTrace<T extends Trace>(make: (level: number) => T): T {
  const trace = make(stack.length);
  stack.push(trace);
  return trace;
}

export function popTrace(trace: Trace): void {
  if (stack[stack.length - 1] !== trace) throw new Error('dualtape internal error: traces popped out of order');
  stack.pop();
  trace.active = false;
}

/** Applies `prim` to `inputs`, letting the innermost transform among them handle it. */
export function bind<P>(prim: Primitive<P>, inputs: Tensor[], params: P): Tensor {
  if (prim.integer !== true) {
    for (let i = 0; i < inputs.length; i++) if (inputs[i].dtype === 'int32') throw integerOperand(prim.name, i);
  }
  const top = topTrace(prim.name, inputs);
  if (top === null) return prim.impl(inputs as DenseTensor[], params);
  return top.process(prim, inputs, params);
}

function integerOperand(op: string, i: number): DTypeError {
  return new DTypeError(`${op}: operand ${i} is int32, which ${op} does not take (int32 is for indices, labels and integer arithmetic: add, sub, mul, maximum, minimum, comparisons, sum, max, min and the shape ops). Convert it first with astype(x, 'float64').`);
}

/**
 * Runs `fn` with `trace` (the innermost) set aside, so that what fn does sees the levels below
 * it (a loop under vmap lowered to one loop on the batched values). fn must not use tracers of
 * `trace`; a level pushed inside fn reuses its level number.
 */
export function beneath<R>(trace: Trace, fn: () => R): R {
  if (stack[stack.length - 1] !== trace) throw new Error('dualtape internal error: beneath() needs the innermost trace');
  stack.pop();
  try {
    return fn();
  } finally {
    stack.push(trace);
  }
}
