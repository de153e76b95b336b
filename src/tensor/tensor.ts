// The Tensor type every op and transform speaks. `Tensor` is abstract: a `DenseTensor` owns
// data in wasm memory; tracers (src/core/) stand for a value inside a transform and reach
// their data through their primal. Chainable methods (x.mul(y)) are attached by src/ops/.
import { BYTES, releaseBlock, registerDropped, unregisterDropped, type DataBuffer, type DType, type Dropped, type SharedBlock } from '../backend/buffer.js';
import { countTensor, sizeClass } from '../backend/memory.js';
import { forgetTopLevel, noteTopLevel } from '../backend/leak-watch.js';
import { readAt, readData } from '../backend/io.js';
import { ConversionError, DisposedError, ShapeError } from '../errors.js';
import { currentScope, type Scope } from './scope.js';
import { sizeOf } from './shape.js';

export type { DType };

// Explicit resource management (`using y = f(x)` disposes y when its block ends) looks up
// Symbol.dispose. Runtimes without it (Node < 18.18, older browsers) get the registered symbol
// that TypeScript's and esbuild's downlevel helpers and the common polyfills agree on.
if (typeof (Symbol as { dispose?: symbol }).dispose !== 'symbol') {
  Object.defineProperty(Symbol, 'dispose', { value: Symbol.for('Symbol.dispose'), configurable: true });
}
export type NestedArray = number | NestedArray[];

/**
 * Marks tensors across copies of the package: the ESM and the CommonJS builds loaded in one
 * process are two copies, each with its own Tensor class and its own wasm memory, so
 * `instanceof` fails across them. The brand lets a copy recognise the other's tensors and
 * say so, instead of "expected a Tensor, got object".
 */
export const TENSOR_BRAND: unique symbol = Symbol.for('dualtape.tensor') as never;

/** A tensor made by another copy of dualtape (see TENSOR_BRAND). */
export function isForeignTensor(x: unknown): x is { shape: readonly number[]; dtype: DType; data(): Float64Array | Float32Array | Int32Array } {
  return typeof x === 'object' && x !== null && !(x instanceof Tensor) && (x as Record<symbol, unknown>)[TENSOR_BRAND] === true;
}

/** The message for a foreign tensor given to `op`. */
export function foreignTensorMessage(op: string): string {
  return `${op}: this tensor was made by another copy of dualtape loaded in the same process (typically the ESM build by \`import\` and the CommonJS build by \`require\`, or two installed versions). Each copy owns its own WebAssembly memory, so tensors cannot pass between them. Load dualtape one way only, or copy the values over with array(tensor), which reads them.`;
}

export abstract class Tensor {
  abstract readonly shape: readonly number[];
  abstract readonly dtype: DType;

  /** @internal The concrete value behind this tensor (itself for a DenseTensor, the primal for a tracer). */
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
  data(): Float64Array | Float32Array | Int32Array {
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
    return readAt(this.dense().liveBuffer('item'), 0);
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

Object.defineProperty(Tensor.prototype, TENSOR_BRAND, { value: true });

const PERSISTENT = 1;
const REGISTERED = 2;
const NURSERY = 4;
/** The leak watch's epoch sits in the flag bits above these. */
const EPOCH_SHIFT = 3;

// Registering a tensor with the FinalizationRegistry and unregistering it on dispose costs about
// 0.6 us in V8, more than a small op or a whole compiled scalar program. Its callbacks only run
// once synchronous code yields to the event loop, so registering a top-level tensor can wait
// until then: new top-level tensors go to a nursery, and a microtask queued at the first one
// (or a full nursery) registers those still alive. A result disposed before that, the common
// case of a hot loop, never touches the registry. A dropped tensor is freed no later than
// before: nothing is freed before the event loop runs, and after it runs every survivor is
// registered.
const nursery: DenseTensor[] = [];
const NURSERY_LIMIT = 1024;
let settleQueued = false;

/** Registers the nursery's live tensors with the FinalizationRegistry and empties it. */
function settleNursery(): void {
  settleQueued = false;
  for (let i = 0; i < nursery.length; i++) nursery[i].settle();
  nursery.length = 0;
}

/**
 * A tensor with its own data in wasm linear memory. It is its own DataBuffer (ptr, size, dtype):
 * kernels read those three fields, and no second object stands between a tensor and its block.
 */
export class DenseTensor extends Tensor implements DataBuffer {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** @internal byte offset of the data in linear memory, -1 once disposed */
  ptr: number;
  private readonly elements: number;
  /** @internal the scope that frees this tensor when it ends, or null at top level */
  scope: Scope | null = null;
  /**
   * PERSISTENT (a cached constant: never freed, belongs to no scope), or REGISTERED (with the
   * FinalizationRegistry: only tensors at top level are) or NURSERY (at top level, registered
   * when the event loop next runs), with the leak watch's epoch when it reached top level in
   * the bits above EPOCH_SHIFT. One field, not three: a tape of a scalar program
   * keeps millions of tensors, and each field costs 8 bytes on all of them.
   */
  private flags = 0;
  /** The owner count of this tensor's block when other tensors share it (null: sole owner). */
  private block: SharedBlock | null;

  /** @internal a tensor over the block at `ptr`, which it now owns (see share for a second owner). */
  constructor(ptr: number, dtype: DType, shape: readonly number[], constant = false, size = sizeOf(shape), block: SharedBlock | null = null) {
    super();
    this.ptr = ptr;
    this.dtype = dtype;
    this.shape = shape;
    this.elements = size;
    this.block = block;
    if (constant) {
      this.flags = PERSISTENT;
      return;
    }
    countTensor(1);
    const scope = currentScope();
    if (scope) scope.add(this);
    else this.toTopLevel();
  }

  /** @internal a second tensor over this one's data, viewed with `shape` (same element count). */
  share(shape: readonly number[], op = 'share'): DenseTensor {
    this.liveBuffer(op);
    if (this.flags & PERSISTENT) return new DenseTensor(this.ptr, this.dtype, shape, true, this.elements);
    if (this.block === null) {
      this.block = { owners: 1 };
      // A registered tensor's dropped-record must learn that its block is now shared.
      if (this.flags & REGISTERED) {
        unregisterDropped(this);
        registerDropped(this, this.dropped());
      }
    }
    this.block.owners++;
    return new DenseTensor(this.ptr, this.dtype, shape, false, this.elements, this.block);
  }

  private dropped(): Dropped {
    return { ptr: this.ptr, bytes: this.elements * BYTES[this.dtype], shared: this.block ?? undefined };
  }

  override get size(): number {
    return this.elements;
  }

  /** @internal leaves every scope; the FinalizationRegistry frees it once dropped. */
  toTopLevel(): void {
    this.scope = null;
    if (this.flags & (PERSISTENT | REGISTERED | NURSERY)) return;
    if (this.ptr >= 0) {
      this.flags = NURSERY | (noteTopLevel(sizeClass(this.elements * BYTES[this.dtype])) << EPOCH_SHIFT);
      nursery.push(this);
      if (nursery.length >= NURSERY_LIMIT) settleNursery();
      else if (!settleQueued) {
        settleQueued = true;
        void Promise.resolve().then(settleNursery);
      }
    }
  }

  /** @internal a nursery tensor still alive joins the FinalizationRegistry (see settleNursery). */
  settle(): void {
    if (!(this.flags & NURSERY)) return;
    this.flags ^= NURSERY;
    if (this.ptr < 0) return;
    registerDropped(this, this.dropped());
    this.flags |= REGISTERED;
  }

  /** @internal */
  dense(): DenseTensor {
    return this;
  }

  /** @internal this tensor as a kernel operand, or a DisposedError naming the op that wanted it. */
  liveBuffer(op = 'read'): DataBuffer {
    if (this.ptr < 0) {
      throw new DisposedError(`${op}: the tensor of shape [${this.shape.join(', ')}] (${this.dtype}) was disposed, by dispose() or by the end of the tidy/transform scope that created it. Keep it by returning it from tidy, or create it outside the scope.`);
    }
    return this;
  }

  get isDisposed(): boolean {
    return this.ptr < 0;
  }

  /** @internal */
  readData(op = 'data'): Float64Array | Float32Array | Int32Array {
    return readData(this.liveBuffer(op));
  }

  dispose(): void {
    const ptr = this.ptr;
    if (ptr < 0 || this.flags & PERSISTENT) return;
    this.ptr = -1;
    this.scope = null;
    countTensor(-1);
    if (this.flags & (REGISTERED | NURSERY)) {
      if (this.flags & REGISTERED) unregisterDropped(this);
      forgetTopLevel(this.flags >>> EPOCH_SHIFT, sizeClass(this.size * BYTES[this.dtype]));
      this.flags &= ~NURSERY;
    }
    releaseBlock(ptr, this.size * BYTES[this.dtype], this.block ?? undefined);
  }
}
