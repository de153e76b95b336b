// Batching: the trace under vmap. A BatchTracer stands for one example of a batch: it carries
// the whole batch (`value`) and the position of its batch axis, and looks like one example
// (its shape is the value's without the batch axis). Every primitive applied to one goes to
// the primitive's `batch` rule, which computes all examples at once with ops on the batched
// values (so at the levels below: nested vmaps, an enclosing grad or jit); values that do not
// depend on the batch are never wrapped, so ops on them run once, unbatched.
import type { Primitive } from '../core/primitive.js';
import { Trace, Tracer, bind } from '../core/trace.js';
import { ConcretizationError, ShapeError, fmtShape } from '../errors.js';
import type { DType, DenseTensor, Tensor } from '../tensor/tensor.js';

export class BatchTracer extends Tracer {
  private readonly exampleShape: readonly number[];

  constructor(readonly trace: BatchTrace, readonly value: Tensor, readonly axis: number) {
    super();
    this.exampleShape = value.shape.filter((_, i) => i !== axis);
  }

  override get shape(): readonly number[] {
    return this.exampleShape;
  }

  override get dtype(): DType {
    return this.value.dtype;
  }

  /** A batched value has no single concrete value to give. */
  get primal(): Tensor {
    throw this.concretization('its value');
  }

  override dense(): DenseTensor {
    throw this.concretization('its value');
  }

  parts(): Tensor[] {
    return [this.value];
  }

  override [Symbol.toPrimitive](hint: string): string {
    if (hint === 'string') return this.toString();
    throw this.concretization('its value as a JS number or boolean (x > 0, +x, Number(x), Math.*)');
  }

  override toString(): string {
    return `BatchTracer(${this.dtype}[${this.shape.join(',')}], batch of ${this.trace.size})`;
  }

  concretization(what: string): ConcretizationError {
    return new ConcretizationError(`vmap: ${what} was read, but inside vmap a value of shape ${fmtShape(this.shape)} that depends on the mapped arguments differs from example to example (a batch of ${this.trace.size}): item(), data(), toArray() and JS branching need one value. Ways out: select with where(cond, a, b) instead of if/else; branch with cond(pred, onTrue, onFalse, ...operands) (both branches run and the result is selected per example); loop with whileLoop (it runs until every example is done); or read the value outside vmap.`);
  }
}

export class BatchTrace extends Trace {
  constructor(level: number, readonly size: number) {
    super(level, 'vmap');
  }

  /** Wraps a batched `value` whose batch axis is `axis` (null: not batched, returned as it is). */
  wrap(value: Tensor, axis: number | null): Tensor {
    return axis === null ? value : new BatchTracer(this, value, axis);
  }

  /** The batched value and batch axis of `x` at this level (axis null: x is the same for every example). */
  unwrap(x: Tensor): { value: Tensor; axis: number | null } {
    return x instanceof BatchTracer && x.trace === this ? { value: x.value, axis: x.axis } : { value: x, axis: null };
  }

  process<P>(prim: Primitive<P>, inputs: Tensor[], params: P): Tensor {
    const values: Tensor[] = new Array(inputs.length);
    const axes: (number | null)[] = new Array(inputs.length);
    let any = false;
    for (let i = 0; i < inputs.length; i++) {
      const { value, axis } = this.unwrap(inputs[i]);
      values[i] = value;
      axes[i] = axis;
      any ||= axis !== null;
    }
    if (!any) return bind(prim, values, params);
    const { out, axis } = prim.batch({ inputs: values, axes, size: this.size, params, prim });
    if (axis !== null && (axis < 0 || axis >= out.ndim || out.shape[axis] !== this.size)) {
      throw new ShapeError(`vmap: the batch rule of primitive '${prim.name}' returned shape ${fmtShape(out.shape)} with batch axis ${axis}, which does not hold the batch of ${this.size} (dualtape internal error; please report it).`);
    }
    return this.wrap(out, axis);
  }
}

