// Blocks of tensor data in linear memory. A tensor records where its block starts (ptr), its
// element count and dtype: that triple, DataBuffer, is all a kernel reads. Blocks shared by
// several tensors (a reshape, an alias) count their extra owners here, so the last owner to
// let go frees the block; an unshared block, the common case, costs no bookkeeping object.
import { alloc, allocPinned, countTensor, free } from './memory.js';

export type DType = 'float64' | 'float32';

export const BYTES: Record<DType, number> = { float64: 8, float32: 4 };

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

const extraOwners = new Map<number, number>();

/** One more tensor owns the block at `ptr`. */
export function shareBlock(ptr: number): void {
  extraOwners.set(ptr, (extraOwners.get(ptr) ?? 0) + 1);
}

/** One owner lets go of the block at `ptr`; the last one frees it. */
export function releaseBlock(ptr: number, bytes: number): void {
  const extra = extraOwners.get(ptr);
  if (extra === undefined) free(ptr, bytes);
  else if (extra === 1) extraOwners.delete(ptr);
  else extraOwners.set(ptr, extra - 1);
}

// Dropped top-level tensors (never disposed, no scope) give their block back when collected.
// Tensors inside a scope are not registered: the scope frees them, and registering costs
// more than a small op.
interface Dropped {
  ptr: number;
  bytes: number;
}

const registry = new FinalizationRegistry<Dropped>(({ ptr, bytes }) => {
  countTensor(-1);
  releaseBlock(ptr, bytes);
});

export function registerDropped(owner: object, block: DataBuffer): void {
  registry.register(owner, { ptr: block.ptr, bytes: block.size * BYTES[block.dtype] }, owner);
}

export function unregisterDropped(owner: object): void {
  registry.unregister(owner);
}
