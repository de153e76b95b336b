// Layout kernels: fills, copies, casts, eye/arange, and the one strided gather that serves
// transpose, broadcastTo and slice (the output is always contiguous).

export function fill_f64(out: usize, value: f64, n: i32): void {
  const v = f64x2.splat(value);
  let i = 0;
  for (; i + 2 <= n; i += 2) v128.store(out + (<usize>i << 3), v);
  for (; i < n; i++) store<f64>(out + (<usize>i << 3), value);
}

export function fill_f32(out: usize, value: f32, n: i32): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), v);
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), value);
}

export function copy_f64(out: usize, a: usize, n: i32): void {
  memory.copy(out, a, <usize>n << 3);
}

export function copy_f32(out: usize, a: usize, n: i32): void {
  memory.copy(out, a, <usize>n << 2);
}

/**
 * out (contiguous in shape) = a read through strides; meta -> i32[2*ndim] = [shape..., aStrides...]
 * in elements, any sign (0 broadcasts). At most 64 axes after size-1 axes are dropped.
 */
export function copy_strided_f64(out: usize, a: usize, meta: usize, ndim: i32): void {
  copyStrided<f64>(out, a, meta, ndim);
}

export function copy_strided_f32(out: usize, a: usize, meta: usize, ndim: i32): void {
  copyStrided<f32>(out, a, meta, ndim);
}

/** out[cols x rows] = transpose of a[rows x cols] */
export function transpose2d_f64(out: usize, a: usize, rows: i32, cols: i32): void {
  transposeTiles<f64>(out, a, rows, cols, cols);
}

export function transpose2d_f32(out: usize, a: usize, rows: i32, cols: i32): void {
  transposeTiles<f32>(out, a, rows, cols, cols);
}

/** f64 -> f32, round to nearest even (overflow gives +-Infinity) */
export function cast_f64_f32(out: usize, a: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = a + (<usize>i << 3);
    const lo = f32x4.demote_f64x2_zero(v128.load(p));
    const hi = f32x4.demote_f64x2_zero(v128.load(p, 16));
    v128.store(out + (<usize>i << 2), i64x2.shuffle(lo, hi, 0, 2));
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>load<f64>(a + (<usize>i << 3)));
}

/** f32 -> f64, exact */
export function cast_f32_f64(out: usize, a: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const x = v128.load(a + (<usize>i << 2));
    const p = out + (<usize>i << 3);
    v128.store(p, f64x2.promote_low_f32x4(x));
    v128.store(p, f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 2, 3)), 16);
  }
  for (; i < n; i++) store<f64>(out + (<usize>i << 3), <f64>load<f32>(a + (<usize>i << 2)));
}

/** out[n x n] = identity */
export function eye_f64(out: usize, n: i32): void {
  eye<f64>(out, n);
}

export function eye_f32(out: usize, n: i32): void {
  eye<f32>(out, n);
}

/** out[i] = start + i * step, evaluated in f64 (then rounded once for f32) */
export function arange_f64(out: usize, start: f64, step: f64, n: i32): void {
  const vs = f64x2.splat(start);
  const vd = f64x2.splat(step);
  const two = f64x2.splat(2);
  let iv = f64x2(0, 1);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    v128.store(out + (<usize>i << 3), f64x2.add(vs, f64x2.mul(iv, vd)));
    iv = f64x2.add(iv, two);
  }
  for (; i < n; i++) store<f64>(out + (<usize>i << 3), start + <f64>i * step);
}

export function arange_f32(out: usize, start: f64, step: f64, n: i32): void {
  const vs = f64x2.splat(start);
  const vd = f64x2.splat(step);
  const four = f64x2.splat(4);
  let iv0 = f64x2(0, 1);
  let iv1 = f64x2(2, 3);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const lo = f32x4.demote_f64x2_zero(f64x2.add(vs, f64x2.mul(iv0, vd)));
    const hi = f32x4.demote_f64x2_zero(f64x2.add(vs, f64x2.mul(iv1, vd)));
    v128.store(out + (<usize>i << 2), i64x2.shuffle(lo, hi, 0, 2));
    iv0 = f64x2.add(iv0, four);
    iv1 = f64x2.add(iv1, four);
  }
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>(start + <f64>i * step));
}

// ---------------------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline
function eye<T>(out: usize, n: i32): void {
  memory.fill(out, 0, <usize>n * <usize>n * sizeof<T>());
  for (let i = 0; i < n; i++) store<T>(out + <usize>i * <usize>(n + 1) * sizeof<T>(), <T>1);
}

// Collapsed view of a strided copy: size-1 axes dropped and neighbours that are contiguous in
// `a` merged, so a slice of whole rows becomes one long run and a broadcast one long splat.
const MAX_DIMS: i32 = 64;
const dimShape: usize = memory.data(MAX_DIMS * 4, 16);
const dimStride: usize = memory.data(MAX_DIMS * 4, 16);
const dimIndex: usize = memory.data(MAX_DIMS * 4, 16);

// @ts-ignore: decorator
@inline
function copyStrided<T>(out: usize, a: usize, meta: usize, ndim: i32): void {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  let nd = 0;
  for (let d = 0; d < ndim; d++) {
    const s = load<i32>(meta + (<usize>d << 2));
    const st = load<i32>(meta + (<usize>(ndim + d) << 2));
    if (s == 0) return;
    if (s == 1) continue;
    if (nd > 0 && load<i32>(dimStride + (<usize>(nd - 1) << 2)) == st * s) {
      const p = dimShape + (<usize>(nd - 1) << 2);
      store<i32>(p, load<i32>(p) * s);
      store<i32>(dimStride + (<usize>(nd - 1) << 2), st);
    } else {
      store<i32>(dimShape + (<usize>nd << 2), s);
      store<i32>(dimStride + (<usize>nd << 2), st);
      nd++;
    }
  }
  if (nd == 0) {
    store<T>(out, load<T>(a));
    return;
  }
  const inner = load<i32>(dimShape + (<usize>(nd - 1) << 2));
  const innerStride = load<i32>(dimStride + (<usize>(nd - 1) << 2));
  // The last two output axes read a's unit-stride axis first: a batch of 2-D transposes.
  if (nd >= 2 && innerStride != 0 && load<i32>(dimStride + (<usize>(nd - 2) << 2)) == 1) {
    const r = load<i32>(dimShape + (<usize>(nd - 2) << 2));
    if (r >= L && inner >= L) {
      const block = <usize>r * <usize>inner * size;
      let base: i32 = 0;
      const outerDims = nd - 2;
      const count = outerCount(outerDims);
      for (let o = 0; o < count; o++) {
        transposeTiles<T>(out, a + <usize>(<isize>base * <isize>size), inner, r, innerStride);
        out += block;
        base = advance(base, outerDims);
      }
      return;
    }
  }
  const outerDims = nd - 1;
  const count = outerCount(outerDims);
  const runBytes = <usize>inner * size;
  let base: i32 = 0;
  for (let o = 0; o < count; o++) {
    const src = a + <usize>(<isize>base * <isize>size);
    if (innerStride == 1) copyRun<T>(out, src, inner);
    else if (innerStride == 0) splatRun<T>(out, load<T>(src), inner);
    else gatherRun<T>(out, src, inner, innerStride);
    out += runBytes;
    base = advance(base, outerDims);
  }
}

// Product of the first `dims` collapsed extents; zeroes their index counters.
function outerCount(dims: i32): i32 {
  let count = 1;
  for (let d = 0; d < dims; d++) {
    count *= load<i32>(dimShape + (<usize>d << 2));
    store<i32>(dimIndex + (<usize>d << 2), 0);
  }
  return count;
}

// Steps the counter over the first `dims` collapsed axes (last fastest); returns the new
// element offset into a.
// @ts-ignore: decorator
@inline
function advance(base: i32, dims: i32): i32 {
  for (let d = dims - 1; d >= 0; d--) {
    const p = dimIndex + (<usize>d << 2);
    const stride = load<i32>(dimStride + (<usize>d << 2));
    const idx = load<i32>(p) + 1;
    if (idx < load<i32>(dimShape + (<usize>d << 2))) {
      store<i32>(p, idx);
      return base + stride;
    }
    store<i32>(p, 0);
    base -= stride * (idx - 1);
  }
  return base;
}

// @ts-ignore: decorator
@inline
function copyRun<T>(out: usize, src: usize, n: i32): void {
  const bytes = <usize>n * sizeof<T>();
  // memory.copy is a call out of wasm in V8; below a few cache lines a v128 loop is cheaper.
  if (bytes >= 256) {
    memory.copy(out, src, bytes);
    return;
  }
  let off: usize = 0;
  for (; off + 16 <= bytes; off += 16) v128.store(out + off, v128.load(src + off));
  for (; off < bytes; off += sizeof<T>()) store<T>(out + off, load<T>(src + off));
}

// @ts-ignore: decorator
@inline
function splatRun<T>(out: usize, value: T, n: i32): void {
  const L = 16 / <i32>sizeof<T>();
  const v = v128.splat<T>(value);
  let i = 0;
  for (; i + L <= n; i += L) v128.store(out + <usize>i * sizeof<T>(), v);
  for (; i < n; i++) store<T>(out + <usize>i * sizeof<T>(), value);
}

// @ts-ignore: decorator
@inline
function gatherRun<T>(out: usize, src: usize, n: i32, stride: i32): void {
  const step = <usize>(<isize>stride * <isize>sizeof<T>());
  let p = src;
  for (let i = 0; i < n; i++) {
    store<T>(out + <usize>i * sizeof<T>(), load<T>(p));
    p += step;
  }
}

// out[j*rows + i] = a[i*lda + j] for i < rows, j < cols. Square tiles of one cache line per
// row keep both the reads and the writes to whole lines; inside a tile, 2x2 (f64) or 4x4
// (f32) register transposes move a v128 per load and per store.
// @ts-ignore: decorator
@inline
function transposeTiles<T>(out: usize, a: usize, rows: i32, cols: i32, lda: i32): void {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  const TB = 64 / <i32>size;
  const rMain = rows - rows % L;
  const cMain = cols - cols % L;
  const ldaBytes = <usize>lda * size;
  const ldoBytes = <usize>rows * size;
  for (let i0 = 0; i0 < rMain; i0 += TB) {
    const iEnd = min(i0 + TB, rMain);
    for (let j0 = 0; j0 < cMain; j0 += TB) {
      const jEnd = min(j0 + TB, cMain);
      for (let i = i0; i < iEnd; i += L) {
        for (let j = j0; j < jEnd; j += L) {
          const src = a + <usize>i * ldaBytes + <usize>j * size;
          const dst = out + <usize>j * ldoBytes + <usize>i * size;
          if (size == 8) {
            const r0 = v128.load(src);
            const r1 = v128.load(src + ldaBytes);
            v128.store(dst, i64x2.shuffle(r0, r1, 0, 2));
            v128.store(dst + ldoBytes, i64x2.shuffle(r0, r1, 1, 3));
          } else {
            const r0 = v128.load(src);
            const r1 = v128.load(src + ldaBytes);
            const r2 = v128.load(src + 2 * ldaBytes);
            const r3 = v128.load(src + 3 * ldaBytes);
            const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
            const t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
            const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
            const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
            v128.store(dst, i64x2.shuffle(t0, t1, 0, 2));
            v128.store(dst + ldoBytes, i64x2.shuffle(t0, t1, 1, 3));
            v128.store(dst + 2 * ldoBytes, i64x2.shuffle(t2, t3, 0, 2));
            v128.store(dst + 3 * ldoBytes, i64x2.shuffle(t2, t3, 1, 3));
          }
        }
      }
    }
  }
  // Ragged edges: the columns past cMain for the main rows, then the rows past rMain.
  for (let i = 0; i < rMain; i++) {
    for (let j = cMain; j < cols; j++) {
      store<T>(out + <usize>j * ldoBytes + <usize>i * size, load<T>(a + <usize>i * ldaBytes + <usize>j * size));
    }
  }
  for (let i = rMain; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      store<T>(out + <usize>j * ldoBytes + <usize>i * size, load<T>(a + <usize>i * ldaBytes + <usize>j * size));
    }
  }
}
