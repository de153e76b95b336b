// The Tensor type every op and transform speaks. `Tensor` is abstract: a `DenseTensor` owns
// data in wasm memory; tracers (src/core/) stand for a value inside a transform and reach
// their data through their primal. Chainable methods (x.mul(y)) are attached by src/ops/.
import { DataBuffer, registerDropped, unregisterDropped, type DType } from '../backend/buffer.js';
import { countTensor, sizeClass } from '../backend/memory.js';
import { forgetTopLevel, noteTopLevel } from '../backend/leak-watch.js';
import { readData } from '../backend/io.js';
import { ConversionError, DisposedError, ShapeError } from '../errors.js';
import { currentScope, type Scope } from './scope.js';

export type { DType };

// Explicit resource management (`using y = f(x)` disposes y when its block ends) looks up
// Symbol.dispose. Runtimes without it (Node < 18.18, older browsers) get the registered symbol
// that TypeScript's and esbuild's downlevel helpers and the common polyfills agree on.
if (typeof (Symbol as { dispose?: symbol }).dispose !== 'symbol') {
  Object.defineProperty(Symbol, 'dispose', { value: Symbol.for('Symbol.dispose'), configurable: true });
}
export type NestedArray = number | NestedArray[];

export abstract class Tensor {
  abstract readonly shape: readonly number[];
  abstract readonly dtype: DType;

  /** @internal The concrete value behind this tensor (itself for a DenseTensor, the primal for a tracer). */
  abstract dense(): DenseTensor;

  /** Frees the data now. Later use throws a DisposedError. Safe to call twice. */
  abstract dispose(): void;

  get size(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
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

  /**
   * String conversion (`${x}`, String(x)) prints the tensor. Numeric conversion (`x * 2`,
   * `x > 0`, `+x`, `Math.tanh(x)`, `x + 1`) throws a ConversionError: JS would otherwise get NaN
   * or compare strings, a silent wrong answer. (`if (x)` cannot be caught: objects are truthy.)
   */
  [Symbol.toPrimitive](hint: string): string {
    if (hint === 'string') return this.toString();
    throw new ConversionError(`A Tensor of shape [${this.shape.join(', ')}] (${this.dtype}) was used as a JS number (arithmetic, a comparison, unary +, Math.* or + with a string). JavaScript operators and Math functions cannot see tensor values. Read one value with x.item() (a one-element tensor), or keep the computation on tensors: add, sub, mul, div, pow (x.mul(2), not x * 2), greater, less, equal (not x > 0), and tanh, exp, sin, ... (not Math.tanh(x)). String(x) and \`\${x}\` print the tensor.`);
  }

  /** Disposes the tensor at the end of a `using` block: `using y = exp(x);`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

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
  /** @internal the leak watch's epoch when this tensor reached top level */
  private noted = -1;
  private readonly count: number;

  constructor(buffer: DataBuffer, shape: readonly number[], constant = false) {
    super();
    this.buffer = buffer;
    this.shape = shape;
    this.dtype = buffer.dtype;
    let n = 1;
    for (let i = 0; i < shape.length; i++) n *= shape[i];
    this.count = n;
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
      this.noted = noteTopLevel(sizeClass(this.buffer.bytes));
    }
  }

  override get size(): number {
    return this.count;
  }

  /** @internal */
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
    if (this.registered) {
      unregisterDropped(this);
      forgetTopLevel(this.noted, sizeClass(buffer.bytes));
    }
    buffer.release();
  }
}
