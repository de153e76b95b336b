// The Tensor type every op and transform speaks. `Tensor` is abstract: a `DenseTensor` owns
// data in wasm memory; tracers (src/core/) stand for a value inside a transform and reach
// their data through their primal. Chainable methods (x.mul(y)) are attached by src/ops/.
import { DataBuffer, registerDropped, unregisterDropped, type DType } from '../backend/buffer.js';
import { countTensor } from '../backend/memory.js';
import { readData } from '../backend/io.js';
import { DisposedError, ShapeError } from '../errors.js';
import { currentScope, type Scope } from './scope.js';
import { sizeOf } from './shape.js';

export type { DType };
export type NestedArray = number | NestedArray[];

/**
 * Marks tensors across copies of the package: the ESM and the CommonJS builds loaded in one
 * process are two copies, each with its own Tensor class and its own wasm memory, so
 * `instanceof` fails across them. The brand lets a copy recognise the other's tensors and
 * say so, instead of "expected a Tensor, got object".
 */
export const TENSOR_BRAND: unique symbol = Symbol.for('dualtape.tensor') as never;

/** A tensor made by another copy of dualtape (see TENSOR_BRAND). */
export function isForeignTensor(x: unknown): x is { shape: readonly number[]; dtype: DType; data(): Float64Array | Float32Array } {
  return typeof x === 'object' && x !== null && !(x instanceof Tensor) && (x as Record<symbol, unknown>)[TENSOR_BRAND] === true;
}

/** The message for a foreign tensor given to `op`. */
export function foreignTensorMessage(op: string): string {
  return `${op}: this tensor was made by another copy of dualtape loaded in the same process (typically the ESM build by \`import\` and the CommonJS build by \`require\`, or two installed versions). Each copy owns its own WebAssembly memory, so tensors cannot pass between them. Load dualtape one way only, or copy the values over with array(tensor), which reads them.`;
}

export abstract class Tensor {
  abstract readonly shape: readonly number[];
  abstract readonly dtype: DType;

  /** The concrete value behind this tensor (itself for a DenseTensor, the primal for a tracer). */
  abstract dense(): DenseTensor;

  /** Frees the data now. Later use throws a DisposedError. Safe to call twice. */
  abstract dispose(): void;

  get size(): number {
    return sizeOf(this.shape);
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** A copy of the data, row-major, as a typed array of the tensor's dtype. */
  data(): Float64Array | Float32Array {
    return this.dense().readData('data');
  }

  /** The data as nested JS arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const flat = this.dense().readData('toArray');
    const shape = this.shape;
    if (shape.length === 0) return flat[0];
    let offset = 0;
    const build = (axis: number): NestedArray[] => {
      const out: NestedArray[] = [];
      if (axis === shape.length - 1) {
        for (let i = 0; i < shape[axis]; i++) out.push(flat[offset++]);
      } else {
        for (let i = 0; i < shape[axis]; i++) out.push(build(axis + 1));
      }
      return out;
    };
    return build(0);
  }

  /** The single value of a tensor with one element. */
  item(): number {
    if (this.size !== 1) {
      throw new ShapeError(`item: the tensor has shape [${this.shape.join(', ')}] (${this.size} elements); item() needs exactly one element. Use toArray() or data() instead.`);
    }
    return this.dense().readData('item')[0];
  }

  toString(): string {
    return `Tensor(${JSON.stringify(this.toArray())}, shape=[${this.shape.join(', ')}], dtype=${this.dtype})`;
  }
}

Object.defineProperty(Tensor.prototype, TENSOR_BRAND, { value: true });

/** A tensor with its own data in wasm linear memory. */
export class DenseTensor extends Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** @internal */ buffer: DataBuffer | null;
  /** @internal the scope that frees this tensor when it ends, or null at top level */
  scope: Scope | null = null;
  /** @internal a cached constant: never freed, belongs to no scope */
  private persistent = false;
  /** @internal registered with the FinalizationRegistry (only tensors at top level are) */
  private registered = false;
  private readonly count: number;

  constructor(buffer: DataBuffer, shape: readonly number[], constant = false) {
    super();
    this.buffer = buffer;
    this.shape = shape;
    this.dtype = buffer.dtype;
    this.count = sizeOf(shape);
    if (constant) {
      this.persistent = true;
      return;
    }
    countTensor(1);
    const scope = currentScope();
    if (scope) scope.add(this);
    else this.toTopLevel();
  }

  /** @internal leaves every scope; the FinalizationRegistry frees it once dropped. */
  toTopLevel(): void {
    this.scope = null;
    if (this.persistent) return;
    if (!this.registered && this.buffer) {
      this.registered = true;
      registerDropped(this, this.buffer);
    }
  }

  override get size(): number {
    return this.count;
  }

  dense(): DenseTensor {
    return this;
  }

  /** @internal the live buffer, or a DisposedError naming the op that wanted it. */
  data_(op = 'read'): DataBuffer {
    if (this.buffer === null) {
      throw new DisposedError(`${op}: the tensor of shape [${this.shape.join(', ')}] (${this.dtype}) was disposed, by dispose() or by the end of the tidy/transform scope that created it. Keep it by returning it from tidy, or create it outside the scope.`);
    }
    return this.buffer;
  }

  get isDisposed(): boolean {
    return this.buffer === null;
  }

  /** @internal */
  readData(op = 'data'): Float64Array | Float32Array {
    return readData(this.data_(op));
  }

  dispose(): void {
    const buffer = this.buffer;
    if (buffer === null || this.persistent) return;
    this.buffer = null;
    this.scope = null;
    countTensor(-1);
    if (this.registered) unregisterDropped(this);
    buffer.release();
  }
}
