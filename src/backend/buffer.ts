// Blocks of tensor data in linear memory. A tensor records where its block starts (ptr), its
// element count and dtype: that triple, DataBuffer, is all a kernel reads. Blocks shared by
// several tensors (a reshape, an alias) count their owners in a SharedBlock, so the last owner
// to let go frees the block; an unshared block, the common case, costs no bookkeeping at all.
import { alloc, allocPinned, countTensor, free } from './memory.js';

/** float64 (the default) and float32 for values; int32 for indices and labels (never differentiated). */
export type DType = 'float64' | 'float32' | 'int32';

export const BYTES: Record<DType, number> = { float64: 8, float32: 4, int32: 4 };

/** A tensor's data as a JS typed array of its dtype. */
export type TypedData = Float64Array | Float32Array | Int32Array;

/** What a kernel reads of a tensor: where its data starts, how many elements, of which dtype. */
export interface DataBuffer {
  /** @internal byte offset into linear memory; read only inside src/backend/. */
  readonly ptr: number;
  readonly size: number;
  readonly dtype: DType;
}

/** A new block for `size` elements of `dtype`; a pinned block is never freed. */
export function allocBlock(dtype: DType, size: number, pinned = false): number {
  const bytes = size * BYTES[dtype];
  return pinned ? allocPinned(bytes) : alloc(bytes);
}

/** The owner count of a block that two or more tensors share (a reshape, an alias). */
export interface SharedBlock {
  owners: number;
}

/** One owner lets go of the block at `ptr`; the last one frees it. An unshared block has one owner. */
export function releaseBlock(ptr: number, bytes: number, shared?: SharedBlock): void {
  if (shared !== undefined && --shared.owners > 0) return;
  free(ptr, bytes);
}

// Dropped top-level tensors (never disposed, no scope) give their block back when collected.
// Tensors inside a scope are not registered: the scope frees them, and registering costs
// more than a small op.
/** What the registry holds for a dropped tensor: its block, not the tensor. */
export interface Dropped {
  ptr: number;
  bytes: number;
  /** Set when the tensor's block is (or becomes) shared. */
  shared?: SharedBlock;
}

const registry = new FinalizationRegistry<Dropped>(({ ptr, bytes, shared }) => {
  countTensor(-1);
  releaseBlock(ptr, bytes, shared);
});

export function registerDropped(owner: object, held: Dropped): void {
  registry.register(owner, held, owner);
}

export function unregisterDropped(owner: object): void {
  registry.unregister(owner);
}
