// A block of tensor data in linear memory. Tensors hold a DataBuffer and never its pointer;
// buffers are reference-counted so that reshape and identity ops share data without copying.
import { alloc, allocPinned, countTensor, free } from './memory.js';

export type DType = 'float64' | 'float32';

export const BYTES: Record<DType, number> = { float64: 8, float32: 4 };

export class DataBuffer {
  /** @internal byte offset into linear memory; read only inside src/backend/. */
  readonly ptr: number;
  readonly bytes: number;
  refs = 1;

  constructor(readonly dtype: DType, readonly size: number, pinned = false) {
    this.bytes = size * BYTES[dtype];
    this.ptr = pinned ? allocPinned(this.bytes) : alloc(this.bytes);
    if (pinned) this.refs = Infinity;
  }

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs === 0) free(this.ptr, this.bytes);
  }
}

// Dropped top-level tensors (never disposed, no scope) give their buffer back when collected.
// Tensors inside a scope are not registered: the scope frees them, and registering costs
// more than a small op.
const registry = new FinalizationRegistry<DataBuffer>((buffer) => {
  countTensor(-1);
  buffer.release();
});

export function registerDropped(owner: object, buffer: DataBuffer): void {
  registry.register(owner, buffer, owner);
}

export function unregisterDropped(owner: object): void {
  registry.unregister(owner);
}
