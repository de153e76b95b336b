// Copies between JS arrays and tensor buffers.
import type { DataBuffer } from './buffer.js';
import { viewF32, viewF64 } from './memory.js';

export function readData(b: DataBuffer): Float64Array | Float32Array {
  if (b.dtype === 'float64') return viewF64().slice(b.ptr >>> 3, (b.ptr >>> 3) + b.size);
  return viewF32().slice(b.ptr >>> 2, (b.ptr >>> 2) + b.size);
}

/** Element i of a buffer, read in place (no copy of the rest). */
export function readAt(b: DataBuffer, i: number): number {
  return b.dtype === 'float64' ? viewF64()[(b.ptr >>> 3) + i] : viewF32()[(b.ptr >>> 2) + i];
}

export function writeData(b: DataBuffer, values: ArrayLike<number>): void {
  if (b.dtype === 'float64') viewF64().set(values, b.ptr >>> 3);
  else viewF32().set(values, b.ptr >>> 2);
}

export function writeAt(b: DataBuffer, i: number, v: number): void {
  if (b.dtype === 'float64') viewF64()[(b.ptr >>> 3) + i] = v;
  else viewF32()[(b.ptr >>> 2) + i] = v;
}
