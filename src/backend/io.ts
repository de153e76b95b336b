// Copies between JS arrays and tensor buffers.
// int32 writes take values the caller has already made integers (see toInt32 in tensor/create.ts).
import type { DataBuffer, TypedData } from './buffer.js';
import { viewF32, viewF64, viewI32 } from './memory.js';

export function readData(b: DataBuffer): TypedData {
  if (b.dtype === 'float64') return viewF64().slice(b.ptr >>> 3, (b.ptr >>> 3) + b.size);
  if (b.dtype === 'int32') return viewI32().slice(b.ptr >>> 2, (b.ptr >>> 2) + b.size);
  return viewF32().slice(b.ptr >>> 2, (b.ptr >>> 2) + b.size);
}

/** Element i of a buffer, read in place (no copy of the rest). */
export function readAt(b: DataBuffer, i: number): number {
  return b.dtype === 'float64' ? viewF64()[(b.ptr >>> 3) + i] : b.dtype === 'int32' ? viewI32()[(b.ptr >>> 2) + i] : viewF32()[(b.ptr >>> 2) + i];
}

export function writeData(b: DataBuffer, values: ArrayLike<number>): void {
  if (b.dtype === 'float64') viewF64().set(values, b.ptr >>> 3);
  else if (b.dtype === 'int32') viewI32().set(values, b.ptr >>> 2);
  else viewF32().set(values, b.ptr >>> 2);
}

export function writeAt(b: DataBuffer, i: number, v: number): void {
  if (b.dtype === 'float64') viewF64()[(b.ptr >>> 3) + i] = v;
  else if (b.dtype === 'int32') viewI32()[(b.ptr >>> 2) + i] = v;
  else viewF32()[(b.ptr >>> 2) + i] = v;
}
