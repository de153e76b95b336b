// Typed entry points to the wasm kernels. Ops call these with DataBuffers and shapes; this
// file turns them into pointers, collapses broadcast dimensions and picks the kernel variant.
import type { DataBuffer, DType } from './buffer.js';
import { SCRATCH_BYTES, alloc, free, scratchPtr, viewI32 } from './memory.js';
import { kernels } from './wasm.js';

type Fn = (...args: number[]) => number;
const cache = new Map<string, Fn>();

function fn(name: string): Fn {
  let f = cache.get(name);
  if (!f) {
    f = kernels()[name];
    if (typeof f !== 'function') throw new Error(`dualtape internal error: kernel ${name} is missing from the wasm module`);
    cache.set(name, f);
  }
  return f;
}

// Per-op lookups without building a name string on every call: op -> {f64, f32, i32}, each
// resolved on first use (an op without an int32 kernel never asks for one).
const byOp = new Map<string, Partial<Record<DType, Fn>>>();
function opFn(op: string, dtype: DType): Fn {
  let fns = byOp.get(op);
  if (!fns) byOp.set(op, (fns = {}));
  return fns[dtype] ?? (fns[dtype] = fn(`${op}_${suffix(dtype)}`));
}

const SUFFIX: Record<DType, string> = { float64: 'f64', float32: 'f32', int32: 'i32' };
const suffix = (dtype: DType) => SUFFIX[dtype];
// Kernels that only move elements (copies, strided gathers and scatters, transposes) never read
// them as numbers: int32 data moves through the f32 kernels, 4 bytes a lane, bit for bit.
const moveSuffix = (dtype: DType) => (dtype === 'float64' ? 'f64' : 'f32');

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Strides of `shape` read as broadcast to `outShape` (0 on broadcast axes). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((_, i) => {
    const j = i - offset;
    return j < 0 || shape[j] === 1 ? 0 : own[j];
  });
}

/**
 * Merges adjacent axes that every operand walks contiguously, and drops size-1 axes, so the
 * kernel's innermost loop is as long as possible.
 */
export function collapse(shape: readonly number[], strides: number[][]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[i] * shape[i])) {
      outShape[last] *= shape[i];
      strides.forEach((s, k) => (outStrides[k][last] = s[i]));
    } else {
      outShape.push(shape[i]);
      strides.forEach((s, k) => outStrides[k].push(s[i]));
    }
  }
  return { shape: outShape, strides: outStrides };
}

// The strided kernels keep an odometer of at most KERNEL_MAX_NDIM digits in static memory
// (assembly/elementwise.ts, layout.ts, scatter.ts). Callers skip empty tensors and collapse
// size-1 axes first, so a non-empty operand reaching a kernel has at most 32 axes of size >= 2
// (2^32 elements would not fit in memory); the checks below keep that a checked invariant
// rather than a silent write past the scratch block.
const KERNEL_MAX_NDIM = 64;

function writeMeta(op: string, parts: number[][]): number {
  const ndim = parts[0].length;
  let count = 0;
  for (const part of parts) count += part.length;
  if (ndim > KERNEL_MAX_NDIM || count * 4 > SCRATCH_BYTES) {
    throw new Error(`dualtape internal error: ${op} reached a kernel with ${ndim} axes after collapsing (limit ${KERNEL_MAX_NDIM}); empty tensors must be skipped before.`);
  }
  const ptr = scratchPtr();
  const view = viewI32();
  let at = ptr >>> 2;
  for (const part of parts) for (const v of part) view[at++] = v;
  return ptr;
}

/** A kernel bound for one call site: writes into `out` from `ins`, nothing looked up per call. */
export type BoundKernel = (out: DataBuffer, ins: readonly DataBuffer[]) => void;

/** The unary kernel of `op` for `dtype`, resolved once. */
export function unaryInto(op: string, dtype: DType): BoundKernel {
  const f = opFn(op, dtype);
  return (out, ins) => void f(out.ptr, ins[0].ptr, out.size);
}

/**
 * The binary kernel of `op` for these shapes, resolved once: the contiguous kernel when both
 * operands line up with the output, else the strided one with its metadata computed here.
 */
export function binaryInto(op: string, dtype: DType, outShape: readonly number[], aShape: readonly number[], bShape: readonly number[]): BoundKernel {
  const n = outShape.reduce((x, y) => x * y, 1);
  const sizeA = aShape.reduce((x, y) => x * y, 1), sizeB = bShape.reduce((x, y) => x * y, 1);
  const flat = opFn(op, dtype);
  if (n === 0) return () => {};
  if (sizeA === n && sizeB === n) return (out, [a, b]) => void flat(out.ptr, a.ptr, b.ptr, out.size);
  const c = collapse(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  if (c.shape.length <= 1 && c.strides[0][0] !== 0 && c.strides[1][0] !== 0) return (out, [a, b]) => void flat(out.ptr, a.ptr, b.ptr, out.size);
  const strided = fn(`${op}_nd_${suffix(dtype)}`);
  const meta = [c.shape, ...c.strides];
  const ndim = c.shape.length;
  return (out, [a, b]) => {
    if (out.size > 0) strided(out.ptr, a.ptr, b.ptr, writeMeta(op, meta), ndim);
  };
}

export function unary(op: string, out: DataBuffer, a: DataBuffer): void {
  opFn(op, out.dtype)(out.ptr, a.ptr, out.size);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function binary(op: string, out: DataBuffer, a: DataBuffer, b: DataBuffer,
  outShape: readonly number[], aShape: readonly number[], bShape: readonly number[]): void {
  const dt = suffix(out.dtype);
  // Operands with as many elements as the output differ from it only by size-1 axes, so
  // their data lines up element for element.
  if (a.size === out.size && b.size === out.size) {
    opFn(op, out.dtype)(out.ptr, a.ptr, b.ptr, out.size);
    return;
  }
  if (out.size === 0) return;
  const c = collapse(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
  if (c.shape.length <= 1 && c.strides[0][0] !== 0 && c.strides[1][0] !== 0) {
    opFn(op, out.dtype)(out.ptr, a.ptr, b.ptr, out.size);
    return;
  }
  fn(`${op}_nd_${dt}`)(out.ptr, a.ptr, b.ptr, writeMeta(op, [c.shape, ...c.strides]), c.shape.length);
}

export function where(out: DataBuffer, cond: DataBuffer, a: DataBuffer, b: DataBuffer,
  outShape: readonly number[], shapes: readonly (readonly number[])[]): void {
  const dt = suffix(out.dtype);
  if (shapes.every((s) => sameShape(s, outShape))) {
    fn(`where_${dt}`)(out.ptr, cond.ptr, a.ptr, b.ptr, out.size);
    return;
  }
  if (out.size === 0) return;
  const c = collapse(outShape, shapes.map((s) => broadcastStrides(s, outShape)));
  fn(`where_nd_${dt}`)(out.ptr, cond.ptr, a.ptr, b.ptr, writeMeta('where', [c.shape, ...c.strides]), c.shape.length);
}

/** out (contiguous, `shape`) = a read with `strides` (elements) starting at element `offset`. */
export function copyStrided(out: DataBuffer, a: DataBuffer, shape: readonly number[], strides: number[], offset = 0): void {
  const dt = moveSuffix(out.dtype);
  const bytes = out.dtype === 'float64' ? 8 : 4;
  if (out.size === 0) return;
  const c = collapse(shape, [strides]);
  if (c.shape.length === 0) {
    fn(`copy_${dt}`)(out.ptr, a.ptr + offset * bytes, out.size);
    return;
  }
  if (c.shape.length === 1 && c.strides[0][0] === 1) {
    fn(`copy_${dt}`)(out.ptr, a.ptr + offset * bytes, out.size);
    return;
  }
  fn(`copy_strided_${dt}`)(out.ptr, a.ptr + offset * bytes, writeMeta('copy_strided', [c.shape, c.strides[0]]), c.shape.length);
}

/** Writes contiguous `a` (of `shape`) into `out` through `outStrides`, from element `offset`. */
export function scatterStrided(out: DataBuffer, a: DataBuffer, shape: readonly number[], outStrides: number[], offset = 0): void {
  const bytes = out.dtype === 'float64' ? 8 : 4;
  if (a.size === 0) return;
  const c = collapse(shape, [outStrides]);
  if (c.shape.length === 0) {
    fn(`copy_${moveSuffix(out.dtype)}`)(out.ptr + offset * bytes, a.ptr, a.size);
    return;
  }
  fn(`scatter_strided_${moveSuffix(out.dtype)}`)(out.ptr + offset * bytes, a.ptr, writeMeta('scatter_strided', [c.shape, c.strides[0]]), c.shape.length);
}

/**
 * scatterStrided bound for one operand shape (a concat's part): the collapse, the kernel and its
 * metadata resolved once, so a call of a small concat costs the copy, not the set-up.
 */
export function scatterStridedInto(dtype: DType, shape: readonly number[], outStrides: number[], offset: number): (out: DataBuffer, a: DataBuffer) => void {
  const at = offset * (dtype === 'float64' ? 8 : 4);
  const c = collapse(shape, [outStrides]);
  if (c.shape.length === 0) {
    let copy: ((out: number, a: number, n: number) => void) | null = null;
    return (out, a) => (copy ??= fn(`copy_${moveSuffix(dtype)}`))(out.ptr + at, a.ptr, a.size);
  }
  const meta = [c.shape, c.strides[0]];
  let scatter: ((out: number, a: number, meta: number, ndim: number) => void) | null = null;
  return (out, a) => (scatter ??= fn(`scatter_strided_${moveSuffix(dtype)}`))(out.ptr + at, a.ptr, writeMeta('scatter_strided', meta), meta[0].length);
}

export function transpose2d(out: DataBuffer, a: DataBuffer, rows: number, cols: number): void {
  fn(`transpose2d_${moveSuffix(out.dtype)}`)(out.ptr, a.ptr, rows, cols);
}

/** out = a converted to out's dtype; float to int32 truncates toward zero and saturates (NaN: 0). */
export function cast(out: DataBuffer, a: DataBuffer): void {
  if (out.dtype === a.dtype) fn(`copy_${moveSuffix(out.dtype)}`)(out.ptr, a.ptr, out.size);
  else fn(`cast_${suffix(a.dtype)}_${suffix(out.dtype)}`)(out.ptr, a.ptr, out.size);
}

export function fill(out: DataBuffer, value: number): void {
  // int32: the reductions' empty identities (+-Infinity) become the int32 extremes.
  if (out.dtype === 'int32') value = value !== value ? 0 : Math.max(-0x80000000, Math.min(0x7fffffff, Math.trunc(value)));
  opFn('fill', out.dtype)(out.ptr, value, out.size);
}

export function arange(out: DataBuffer, start: number, step: number): void {
  fn(`arange_${suffix(out.dtype)}`)(out.ptr, start, step, out.size);
}

export function eye(out: DataBuffer, n: number): void {
  fn(`eye_${suffix(out.dtype)}`)(out.ptr, n);
}

export function reduceAll(op: 'sum' | 'max' | 'min', a: DataBuffer): number {
  return fn(`${op}_${suffix(a.dtype)}`)(a.ptr, a.size);
}

/** Reduces the middle axis of a contiguous [outer, len, inner] view. */
export function reduceAxis(op: 'sum' | 'max' | 'min', out: DataBuffer, a: DataBuffer, outer: number, len: number, inner: number): void {
  fn(`${op}_axis_${suffix(a.dtype)}`)(out.ptr, a.ptr, outer, len, inner);
}

/** out[m x n] = op(a)[m x k] op(b)[k x n]; offsets in elements select a batch member. */
export function matmul(out: DataBuffer, outOffset: number, a: DataBuffer, aOffset: number, b: DataBuffer, bOffset: number,
  m: number, k: number, n: number, transA: boolean, transB: boolean): void {
  const bytes = out.dtype === 'float64' ? 8 : 4;
  fn(`matmul_${suffix(out.dtype)}`)(out.ptr + outOffset * bytes, a.ptr + aOffset * bytes, b.ptr + bOffset * bytes,
    m, k, n, transA ? 1 : 0, transB ? 1 : 0);
}

/** out = a op(b) and out2 = a2 op(b) (a, a2 row-major: m and m2 rows), packing b once. */
export function matmulPair(out: DataBuffer, a: DataBuffer, out2: DataBuffer, a2: DataBuffer, b: DataBuffer,
  m: number, m2: number, k: number, n: number, transB: boolean): void {
  fn(`matmul_pair_${suffix(out.dtype)}`)(out.ptr, a.ptr, out2.ptr, a2.ptr, b.ptr, m, m2, k, n, transB ? 1 : 0);
}

/** out = op(x) and, for each of the tangent's k directions, tout_j = op'(x) t_j (assembly/dual.ts). */
export function unaryDual(op: string, out: DataBuffer, tout: DataBuffer, x: DataBuffer, t: DataBuffer): void {
  opFn(`${op}_dual`, out.dtype)(out.ptr, tout.ptr, x.ptr, t.ptr, out.size, tout.size / out.size);
}

/**
 * A max or min reduction's rule over the middle axis of x [outer, len, inner], y the result
 * [outer, inner], for k rows (assembly/dual.ts): 'jvp' maps t [k, outer, len, inner] to the
 * tangent [k, outer, inner], 'vjp' maps ct [k, outer, inner] to the cotangent [k, outer, len, inner].
 */
export function extremumRule(rule: 'jvp' | 'vjp', out: DataBuffer, x: DataBuffer, y: DataBuffer, rows: DataBuffer,
  outer: number, len: number, inner: number, k: number): void {
  fn(`extremum_${rule}_${suffix(x.dtype)}`)(out.ptr, x.ptr, y.ptr, rows.ptr, outer, len, inner, k);
}

/** out_j = ct_j op'(x) for the k rows of ct, from x and y = op(x) (assembly/dual.ts). */
export function unaryCotangent(op: string, out: DataBuffer, x: DataBuffer, y: DataBuffer, ct: DataBuffer): void {
  opFn(`${op}_vjp`, out.dtype)(out.ptr, x.ptr, y.ptr, ct.ptr, x.size, out.size / Math.max(x.size, 1));
}

/**
 * out = a op b with the tangent of the k directions of ta, tb (null: zero). a and b have out's
 * size, except that with `scalar` 1 (2) a (b) is one element and has no tangent.
 */
export function binaryDual(op: string, out: DataBuffer, tout: DataBuffer, a: DataBuffer, b: DataBuffer,
  ta: DataBuffer | null, tb: DataBuffer | null, scalar: 0 | 1 | 2): void {
  opFn(`${op}_dual`, out.dtype)(out.ptr, tout.ptr, a.ptr, b.ptr, ta ? ta.ptr : 0, tb ? tb.ptr : 0, out.size, tout.size / out.size, scalar);
}

/** y += x, in place (cotangent accumulation). */
export function addInPlace(y: DataBuffer, x: DataBuffer): void {
  opFn('add_inplace', y.dtype)(y.ptr, x.ptr, y.size);
}

export function copy(out: DataBuffer, a: DataBuffer): void {
  fn(`copy_${moveSuffix(out.dtype)}`)(out.ptr, a.ptr, out.size);
}

// Dense linear algebra (assembly/linalg.ts). Matrices are n x n and right-hand sides n x nrhs,
// row-major and contiguous; every kernel works in place, so callers pass copies. Offsets are in
// elements and select a batch member, as in matmul.

/** Row pivots of `count` LU factorisations (LAPACK getrf order, 0-based), n per member, as i32 in linear memory. */
export class Pivots {
  private ptr: number;
  private readonly bytes: number;

  constructor(readonly count: number, readonly n: number) {
    this.bytes = count * n * 4;
    this.ptr = alloc(this.bytes);
  }

  /** @internal the pointer to member m's pivots. */
  at(m: number): number {
    if (this.ptr < 0) throw new Error('dualtape internal error: LU pivots used after free()');
    return this.ptr + m * this.n * 4;
  }

  /** A copy of member m's pivots. */
  read(m: number): Int32Array {
    const at = this.at(m) >>> 2;
    return viewI32().slice(at, at + this.n);
  }

  /** The sign of member m's row permutation: (-1)^(number of row swaps). */
  sign(m: number): number {
    return fn('lu_sign')(this.at(m), this.n);
  }

  free(): void {
    if (this.ptr < 0) return;
    free(this.ptr, this.bytes);
    this.ptr = -1;
  }
}

function bytesOf(b: DataBuffer): number {
  return b.dtype === 'float64' ? 8 : 4;
}

/**
 * P A = L U with partial pivoting, in place on the n x n matrix at `offset` of `a`, its pivots
 * into member m of `piv`. Returns 0, or 1 + the column of the first exactly zero pivot (the
 * factorisation is completed anyway, so the determinant, 0, can be read off U).
 */
export function luFactor(a: DataBuffer, offset: number, piv: Pivots, m: number): number {
  return fn(`lu_${suffix(a.dtype)}`)(a.ptr + offset * bytesOf(a), piv.at(m), piv.n);
}

/** Solves A X = B in place in the n x nrhs block of `b` at `bOffset`, from luFactor's factors and member m's pivots. */
export function luSolve(lu: DataBuffer, luOffset: number, piv: Pivots, m: number, b: DataBuffer, bOffset: number, nrhs: number): void {
  const bytes = bytesOf(lu);
  fn(`lu_solve_${suffix(lu.dtype)}`)(lu.ptr + luOffset * bytes, piv.at(m), b.ptr + bOffset * bytes, piv.n, nrhs);
}

/**
 * L L^T = A in place on the n x n matrix at `offset`, reading its lower triangle and zeroing the
 * strict upper one. Returns 0, or k when the leading k x k minor is not positive definite.
 */
export function choleskyFactor(a: DataBuffer, offset: number, n: number): number {
  return fn(`cholesky_${suffix(a.dtype)}`)(a.ptr + offset * bytesOf(a), n);
}

/**
 * Solves op(T) X = B in place in the n x nrhs block of `b` at `bOffset`, op(T) = T or T^T,
 * reading only T's lower (or upper) triangle, and its diagonal unless `unitDiag`.
 */
export function triSolve(t: DataBuffer, tOffset: number, b: DataBuffer, bOffset: number, n: number, nrhs: number,
  lower: boolean, transpose: boolean, unitDiag: boolean): void {
  const bytes = bytesOf(t);
  fn(`tri_solve_${suffix(t.dtype)}`)(t.ptr + tOffset * bytes, b.ptr + bOffset * bytes, n, nrhs, lower ? 1 : 0, transpose ? 1 : 0, unitDiag ? 1 : 0);
}

// Decompositions (assembly/decomp.ts): `count` row-major m x n matrices back to back in a; each
// output of member i goes to element `offset + i * stride` of its Slot's buffer, so several
// outputs can share one buffer. Each call allocates its kernel's scratch once for the batch.

/** Where a decomposition writes one of its outputs, member by member. */
export interface Slot {
  buffer: DataBuffer;
  offset: number;
  stride: number;
}

function slotPtr(slot: Slot, i: number): number {
  return slot.buffer.ptr + (slot.offset + i * slot.stride) * bytesOf(slot.buffer);
}

/** Scratch of `elements` elements of `dtype` for the duration of `body`. */
function withWork<T>(dtype: DType, elements: number, body: (ptr: number) => T): T {
  const bytes = Math.max(elements, 1) * (dtype === 'float64' ? 8 : 4);
  const ptr = alloc(bytes);
  try {
    return body(ptr);
  } finally {
    free(ptr, bytes);
  }
}

/** Reduced QR of each member of a (overwritten): Q (m x k) and R (k x n, diagonal >= 0), k = min(m, n). */
export function qrEach(a: DataBuffer, q: Slot, r: Slot, count: number, m: number, n: number): void {
  const k = Math.min(m, n);
  if (count * k === 0) return;
  const f = fn(`qr_${suffix(a.dtype)}`);
  withWork(a.dtype, n + k, (work) => {
    for (let i = 0; i < count; i++) f(a.ptr + i * m * n * bytesOf(a), slotPtr(q, i), slotPtr(r, i), work, m, n);
  });
}

/**
 * Eigenvalues (n, ascending) and eigenvectors (n x n, as columns) of each symmetric n x n
 * member of a, from its lower triangle (a is overwritten). Returns the first member whose
 * iteration did not converge, or -1.
 */
export function eighEach(a: DataBuffer, w: Slot, v: Slot, count: number, n: number): number {
  if (count * n === 0) return -1;
  const f = fn(`eigh_${suffix(a.dtype)}`);
  return withWork(a.dtype, 3 * n, (work) => {
    for (let i = 0; i < count; i++) {
      if (f(a.ptr + i * n * n * bytesOf(a), slotPtr(w, i), slotPtr(v, i), work, n) !== 0) return i;
    }
    return -1;
  });
}

/**
 * Reduced SVD of each member of a (read only): U (m x k), the singular values (k, descending)
 * and Vt (k x n), k = min(m, n). Returns the first member whose Jacobi sweeps did not
 * converge, or -1.
 */
export function svdEach(a: DataBuffer, u: Slot, s: Slot, vt: Slot, count: number, m: number, n: number): number {
  const k = Math.min(m, n);
  if (count * k === 0) return -1;
  const f = fn(`svd_${suffix(a.dtype)}`);
  return withWork(a.dtype, k * Math.max(m, n) + k * k, (work) => {
    for (let i = 0; i < count; i++) {
      if (f(a.ptr + i * m * n * bytesOf(a), slotPtr(u, i), slotPtr(s, i), slotPtr(vt, i), work, m, n) !== 0) return i;
    }
    return -1;
  });
}

/** out = alpha * a, elementwise (out may be a). */
export function scale(out: DataBuffer, alpha: number, a: DataBuffer): void {
  opFn('scale', out.dtype)(out.ptr, alpha, a.ptr, out.size);
}

export type { DataBuffer };

// Indexing (assembly/indexing.ts): views [outer, n, inner] of x and [outer, m, inner] of the
// gathered side; `along` false reads one index list idx[m] for all positions (take), true one
// index per element idx[outer, m, inner] (takeAlongAxis). The gathers and scatters return -1,
// or the position in idx of the first index outside [-n, n), having written nothing.

/** out = x gathered along the middle axis at idx (int32). */
export function gather(out: DataBuffer, x: DataBuffer, idx: DataBuffer, outer: number, n: number, m: number, inner: number, along: boolean): number {
  if (out.size === 0 && idx.size === 0) return -1;
  return fn('gather')(out.ptr, x.ptr, idx.ptr, outer, n, m, inner, x.dtype === 'float64' ? 8 : 4, along ? 1 : 0);
}

/** out (holding x) += u scattered along the middle axis at idx; repeated indices accumulate. */
export function scatterAdd(out: DataBuffer, u: DataBuffer, idx: DataBuffer, outer: number, n: number, m: number, inner: number, along: boolean): number {
  if (u.size === 0 && idx.size === 0) return -1;
  return fn(`scatter_add_${suffix(out.dtype)}`)(out.ptr, u.ptr, idx.ptr, outer, n, m, inner, along ? 1 : 0);
}

/** out (int32 [outer, inner]) = the first position of the max (min with `lowest`) along the middle axis (len >= 1). */
export function argExtreme(out: DataBuffer, x: DataBuffer, outer: number, len: number, inner: number, lowest: boolean): void {
  if (out.size === 0) return;
  fn(`arg_extreme_${suffix(x.dtype)}`)(out.ptr, x.ptr, outer, len, inner, lowest ? 1 : 0);
}

/** out (int32, x's shape) = the stable ascending order along the middle axis, NaNs last. */
export function argsort(out: DataBuffer, x: DataBuffer, outer: number, len: number, inner: number): void {
  if (out.size === 0) return;
  withWork('int32', 2 * len, (work) => fn(`argsort_${suffix(x.dtype)}`)(out.ptr, x.ptr, outer, len, inner, work));
}
