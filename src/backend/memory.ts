// The allocator for tensor data in wasm linear memory. Only src/backend/ sees pointers.
//
// Blocks are rounded to size classes (powers of two up to 64 KiB, multiples of 64 KiB above)
// and freed blocks go to a per-class free list, so the steady state of a training loop or a
// backward sweep allocates from free lists without touching the bump pointer. When the bump
// pointer would have to grow memory (or pass the 4 GiB limit) while any bytes sit in free
// lists, the free blocks are coalesced: neighbours merge, a free run at the top lowers the bump
// pointer, and merged runs serve larger requests first-fit. Coalescing does not wait for the
// free bytes to cover the request: a free run at the top shrinks what the bump pointer needs. This bounds fragmentation for the alloc patterns of
// autodiff (many same-sized temporaries) without a general-purpose malloc.
import { OutOfMemoryError } from '../errors.js';
import { kernels } from './wasm.js';
import { LEAK_FIXES, sinceYield } from './leak-watch.js';

const PAGE = 65536;
const MAX_BYTES = 65536 * PAGE; // wasm32 limit, also asconfig's maximumMemory

let base = -1;
let top = 0;
const freeLists = new Map<number, number[]>();
let spare: { ptr: number; size: number }[] = [];
let freeBytes = 0;

let bytesInUse = 0;
let peakBytes = 0;
let liveTensors = 0;

let f64: Float64Array | null = null;
let f32: Float32Array | null = null;
let i32: Int32Array | null = null;

// A small permanent block below the first tensor for kernel metadata (shapes and strides).
export const SCRATCH_BYTES = 4096;
let scratch = 0;

function init(): void {
  base = kernels().heapBase();
  scratch = base;
  top = base + SCRATCH_BYTES;
  grow(top, SCRATCH_BYTES);
}

/** Pointer to SCRATCH_BYTES of metadata space, reused by every kernel call. */
export function scratchPtr(): number {
  if (base < 0) init();
  return scratch;
}

export function sizeClass(bytes: number): number {
  if (bytes <= 16) return 16;
  // The next power of two: 1 << (32 - clz32(bytes - 1)), exact for bytes up to 2^31.
  if (bytes <= PAGE) return 1 << (32 - Math.clz32(bytes - 1));
  return Math.ceil(bytes / PAGE) * PAGE;
}

function memoryObject(): WebAssembly.Memory {
  return kernels().memory;
}

function takeSpare(size: number): number {
  for (let i = 0; i < spare.length; i++) {
    const block = spare[i];
    if (block.size < size) continue;
    const ptr = block.ptr;
    if (block.size === size) spare.splice(i, 1);
    else { block.ptr += size; block.size -= size; }
    freeBytes -= size;
    return ptr;
  }
  return -1;
}

function coalesce(): void {
  const blocks: { ptr: number; size: number }[] = spare;
  for (const [size, list] of freeLists) for (const ptr of list) blocks.push({ ptr, size });
  freeLists.clear();
  blocks.sort((a, b) => a.ptr - b.ptr);
  const merged: { ptr: number; size: number }[] = [];
  for (const b of blocks) {
    const last = merged[merged.length - 1];
    if (last && last.ptr + last.size === b.ptr) last.size += b.size;
    else merged.push({ ...b });
  }
  const tail = merged[merged.length - 1];
  if (tail && tail.ptr + tail.size === top) {
    top = tail.ptr;
    freeBytes -= tail.size;
    merged.pop();
  }
  spare = merged;
}

function grow(end: number, bytes: number): void {
  const memory = memoryObject();
  const have = memory.buffer.byteLength;
  if (end <= have) return;
  const pages = Math.ceil((end - have) / PAGE);
  try {
    // Grow by at least a quarter of the current size so that a growing workload does not
    // pay for a grow (and a view rebuild) on every allocation.
    const extra = Math.min(Math.max(pages, Math.ceil(have / PAGE / 4)), (MAX_BYTES - have) / PAGE);
    memory.grow(Math.max(pages, extra));
  } catch {
    try {
      memory.grow(pages);
    } catch {
      throw new OutOfMemoryError(outOfMemory(bytes, `wasm memory is ${have} bytes and could not grow to ${end} (limit ${MAX_BYTES})`));
    }
  }
}

/**
 * The out-of-memory message: what is live first (most often a loop that drops tensors without
 * yielding to the event loop), the fixes for that, and only then shapes and dtypes.
 */
function outOfMemory(bytes: number, why: string): string {
  const recent = sinceYield();
  const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return `alloc: cannot allocate ${bytes} bytes: ${why}. ${liveTensors} tensors are live, holding ${bytesInUse} bytes (${mib(bytesInUse)}); ${recent.tensors} of them (${recent.bytes} bytes, ${mib(recent.bytes)}) were created outside tidy since the event loop last ran, and dropped ones are only freed once synchronous code yields to it. Live tensors are intact. To fix: ${LEAK_FIXES}. If every live tensor is needed, use smaller shapes or float32.`;
}

/** Returns a 16-byte-aligned pointer to at least `bytes` bytes. */
export function alloc(bytes: number): number {
  if (base < 0) init();
  const size = sizeClass(bytes);
  let ptr = -1;
  const list = freeLists.get(size);
  if (list && list.length > 0) {
    ptr = list.pop()!;
    freeBytes -= size;
  } else if (spare.length > 0) {
    ptr = takeSpare(size);
  }
  if (ptr < 0) {
    if (top + size > memoryObject().buffer.byteLength && freeBytes > 0) {
      coalesce();
      ptr = takeSpare(size);
    }
    if (ptr < 0) {
      if (top + size > MAX_BYTES) {
        throw new OutOfMemoryError(outOfMemory(bytes, `it would exceed the WebAssembly 32-bit memory limit of ${MAX_BYTES} bytes`));
      }
      grow(top + size, bytes);
      ptr = top;
      top += size;
    }
  }
  bytesInUse += size;
  if (bytesInUse > peakBytes) peakBytes = bytesInUse;
  return ptr;
}

/**
 * A block that is never freed and not counted in bytesInUse: backing for the small cache of
 * constant scalars that plain JS numbers in ops turn into.
 */
export function allocPinned(bytes: number): number {
  if (base < 0) init();
  const size = sizeClass(bytes);
  if (top + size > MAX_BYTES) throw new OutOfMemoryError(outOfMemory(bytes, 'no room is left for a constant'));
  grow(top + size, bytes);
  const ptr = top;
  top += size;
  return ptr;
}

/** Returns a block from `alloc(bytes)` to its free list. */
export function free(ptr: number, bytes: number): void {
  const size = sizeClass(bytes);
  let list = freeLists.get(size);
  if (!list) freeLists.set(size, (list = []));
  list.push(ptr);
  freeBytes += size;
  bytesInUse -= size;
}

export function countTensor(delta: number): void {
  liveTensors += delta;
}

export interface MemoryInfo {
  /** Bytes held by live tensors (rounded to the allocator's size classes). */
  bytesInUse: number;
  /** The most `bytesInUse` has been since start or the last `memory({resetPeak: true})`. */
  peakBytes: number;
  /** Live (not disposed) tensors. */
  tensors: number;
  /** Size of the wasm linear memory. */
  wasmBytes: number;
}

export function memoryInfo(resetPeak = false): MemoryInfo {
  const info = { bytesInUse, peakBytes, tensors: liveTensors, wasmBytes: memoryObject().buffer.byteLength };
  if (resetPeak) peakBytes = bytesInUse;
  return info;
}

// Typed views over linear memory. memory.grow detaches the old ArrayBuffer, and a view of a
// detached buffer has length 0: that is the check, cheaper than reading memory.buffer (a
// getter that costs more than a compiled scalar program) on every call.
export function viewF64(): Float64Array {
  if (!f64 || f64.length === 0) f64 = new Float64Array(memoryObject().buffer);
  return f64;
}
export function viewF32(): Float32Array {
  if (!f32 || f32.length === 0) f32 = new Float32Array(memoryObject().buffer);
  return f32;
}
export function viewI32(): Int32Array {
  if (!i32 || i32.length === 0) i32 = new Int32Array(memoryObject().buffer);
  return i32;
}
