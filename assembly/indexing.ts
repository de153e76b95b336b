// Indexing kernels: gathers along an axis (take, takeAlongAxis), their transpose scatter-add,
// argmax/argmin and a stable argsort. Every view is a contiguous [outer, n, inner] block and
// indices are i32. An index k addresses element k of the axis, and -n <= k < 0 addresses
// n + k (NumPy's convention); anything else is out of range: the kernels check every index
// before they write anything and return the position of the first bad one (its flat offset
// in the index array), or -1 when all are in range, so JS can name it in an error.
//
// `along` selects the index layout: 0 (take) reads one index list idx[m] for every outer and
// inner position; 1 (takeAlongAxis) reads idx[outer, m, inner], one index per output element.

// The common case, every index in range, costs one SIMD min/max pass; only a failing check
// scans again for the first bad position.
// @ts-ignore: decorator
@inline function checkIndices(idx: usize, count: i32, n: i32): i32 {
  let lo = i32x4.splat(i32.MAX_VALUE), hi = i32x4.splat(i32.MIN_VALUE);
  let p = 0;
  for (; p + 4 <= count; p += 4) {
    const v = v128.load(idx + (<usize>p << 2));
    lo = i32x4.min_s(lo, v);
    hi = i32x4.max_s(hi, v);
  }
  let least = min(min(i32x4.extract_lane(lo, 0), i32x4.extract_lane(lo, 1)), min(i32x4.extract_lane(lo, 2), i32x4.extract_lane(lo, 3)));
  let most = max(max(i32x4.extract_lane(hi, 0), i32x4.extract_lane(hi, 1)), max(i32x4.extract_lane(hi, 2), i32x4.extract_lane(hi, 3)));
  for (; p < count; p++) {
    const k = load<i32>(idx + (<usize>p << 2));
    least = min(least, k);
    most = max(most, k);
  }
  if (count == 0 || (least >= -n && most < n)) return -1;
  for (p = 0; p < count; p++) {
    const k = load<i32>(idx + (<usize>p << 2));
    if (k >= n || k < -n) return p;
  }
  return unreachable();
}

// @ts-ignore: decorator
@inline function wrapIndex(k: i32, n: i32): i32 { return k < 0 ? k + n : k; }

// @ts-ignore: decorator
@inline function indexCount(outer: i32, m: i32, inner: i32, along: i32): i32 {
  return along != 0 ? outer * m * inner : m;
}

/** Copies `bytes` (a multiple of 4) from src to dst. */
// @ts-ignore: decorator
@inline function copyBytes(dst: usize, src: usize, bytes: usize): void {
  if (bytes >= 256) {
    memory.copy(dst, src, bytes);
    return;
  }
  let off: usize = 0;
  for (; off + 16 <= bytes; off += 16) v128.store(dst + off, v128.load(src + off));
  for (; off < bytes; off += 4) store<u32>(dst + off, load<u32>(src + off));
}

/**
 * out[o, j, i] = x[o, k, i] with k = idx[j] (take) or idx[o, j, i] (along); elements of
 * `bytes` bytes (4 or 8: the data only moves). Returns -1, or the first bad index's position.
 */
export function gather(out: usize, x: usize, idx: usize, outer: i32, n: i32, m: i32, inner: i32, bytes: i32, along: i32): i32 {
  const bad = checkIndices(idx, indexCount(outer, m, inner, along), n);
  if (bad >= 0) return bad;
  const eb = <usize>bytes;
  const rowBytes = <usize>inner * eb;
  if (along == 0 && inner == 1) {
    // One element per index (a gather of scalars): a load and a store each, no row copy.
    for (let o = 0; o < outer; o++) {
      const src = x + <usize>o * <usize>n * eb;
      const dst = out + <usize>o * <usize>m * eb;
      if (eb == 8) {
        for (let j = 0; j < m; j++) store<u64>(dst + (<usize>j << 3), load<u64>(src + (<usize>wrapIndex(load<i32>(idx + (<usize>j << 2)), n) << 3)));
      } else {
        for (let j = 0; j < m; j++) store<u32>(dst + (<usize>j << 2), load<u32>(src + (<usize>wrapIndex(load<i32>(idx + (<usize>j << 2)), n) << 2)));
      }
    }
    return -1;
  }
  if (along == 0) {
    for (let o = 0; o < outer; o++) {
      const src = x + <usize>o * <usize>n * rowBytes;
      const dst = out + <usize>o * <usize>m * rowBytes;
      for (let j = 0; j < m; j++) {
        const k = wrapIndex(load<i32>(idx + (<usize>j << 2)), n);
        copyBytes(dst + <usize>j * rowBytes, src + <usize>k * rowBytes, rowBytes);
      }
    }
    return -1;
  }
  let p: usize = 0;
  for (let o = 0; o < outer; o++) {
    const src = x + <usize>o * <usize>n * rowBytes;
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < inner; i++) {
        const k = wrapIndex(load<i32>(idx + (p << 2)), n);
        const from = src + <usize>k * rowBytes + <usize>i * eb;
        if (eb == 8) store<u64>(out + (p << 3), load<u64>(from));
        else store<u32>(out + (p << 2), load<u32>(from));
        p++;
      }
    }
  }
  return -1;
}

/** out[o, k, i] += u[o, j, i], the transpose of gather (out holds x on entry); repeated k accumulate. */
// @ts-ignore: decorator
@inline function scatterAdd<T>(out: usize, u: usize, idx: usize, outer: i32, n: i32, m: i32, inner: i32, along: i32): i32 {
  const bad = checkIndices(idx, indexCount(outer, m, inner, along), n);
  if (bad >= 0) return bad;
  const size = sizeof<T>();
  let p: usize = 0;
  for (let o = 0; o < outer; o++) {
    const dstBlock = out + <usize>o * <usize>n * <usize>inner * size;
    for (let j = 0; j < m; j++) {
      if (along == 0) {
        const k = wrapIndex(load<i32>(idx + (<usize>j << 2)), n);
        const dst = dstBlock + <usize>k * <usize>inner * size;
        for (let i = 0; i < inner; i++) {
          const d = dst + <usize>i * size;
          store<T>(d, load<T>(d) + load<T>(u + p * size));
          p++;
        }
      } else {
        for (let i = 0; i < inner; i++) {
          const k = wrapIndex(load<i32>(idx + (p << 2)), n);
          const d = dstBlock + (<usize>k * <usize>inner + <usize>i) * size;
          store<T>(d, load<T>(d) + load<T>(u + p * size));
          p++;
        }
      }
    }
  }
  return -1;
}

export function scatter_add_f64(out: usize, u: usize, idx: usize, outer: i32, n: i32, m: i32, inner: i32, along: i32): i32 {
  return scatterAdd<f64>(out, u, idx, outer, n, m, inner, along);
}
export function scatter_add_f32(out: usize, u: usize, idx: usize, outer: i32, n: i32, m: i32, inner: i32, along: i32): i32 {
  return scatterAdd<f32>(out, u, idx, outer, n, m, inner, along);
}
export function scatter_add_i32(out: usize, u: usize, idx: usize, outer: i32, n: i32, m: i32, inner: i32, along: i32): i32 {
  return scatterAdd<i32>(out, u, idx, outer, n, m, inner, along);
}

/**
 * out[o, i] = the first position along the middle axis of x [outer, len, inner] (len >= 1)
 * holding its largest (`lowest` 0) or smallest (1) value; a NaN counts as both, as NumPy's
 * argmax and argmin, so the first NaN wins.
 */
// @ts-ignore: decorator
@inline function argExtreme<T>(out: usize, x: usize, outer: i32, len: i32, inner: i32, lowest: i32): void {
  const size = sizeof<T>();
  const stride = <usize>inner * size;
  for (let o = 0; o < outer; o++) {
    const block = x + <usize>o * <usize>len * stride;
    for (let i = 0; i < inner; i++) {
      const col = block + <usize>i * size;
      let best = 0;
      let bv = load<T>(col);
      for (let l = 1; l < len && bv == bv; l++) {
        const v = load<T>(col + <usize>l * stride);
        if (v != v || (lowest != 0 ? v < bv : v > bv)) {
          best = l;
          bv = v;
        }
      }
      store<i32>(out + ((<usize>o * <usize>inner + <usize>i) << 2), best);
    }
  }
}

export function arg_extreme_f64(out: usize, x: usize, outer: i32, len: i32, inner: i32, lowest: i32): void { argExtreme<f64>(out, x, outer, len, inner, lowest); }
export function arg_extreme_f32(out: usize, x: usize, outer: i32, len: i32, inner: i32, lowest: i32): void { argExtreme<f32>(out, x, outer, len, inner, lowest); }
export function arg_extreme_i32(out: usize, x: usize, outer: i32, len: i32, inner: i32, lowest: i32): void { argExtreme<i32>(out, x, outer, len, inner, lowest); }

/** a sorts before b: ascending, NaNs last (NumPy's order). */
// @ts-ignore: decorator
@inline function before<T>(a: T, b: T): bool {
  return a < b || (b != b && a == a);
}

/**
 * out[o, :, i] = the stable ascending order of x[o, :, i] (indices into the middle axis of
 * x [outer, len, inner]): a bottom-up merge sort of index runs. work holds 2 * len i32.
 */
// @ts-ignore: decorator
@inline function argsort<T>(out: usize, x: usize, outer: i32, len: i32, inner: i32, work: usize): void {
  const size = sizeof<T>();
  const stride = <usize>inner * size;
  const lenBytes = <usize>len << 2;
  for (let o = 0; o < outer; o++) {
    const block = x + <usize>o * <usize>len * stride;
    for (let i = 0; i < inner; i++) {
      const col = block + <usize>i * size;
      let src = work;
      let dst = work + lenBytes;
      for (let l = 0; l < len; l++) store<i32>(src + (<usize>l << 2), l);
      for (let width = 1; width < len; width <<= 1) {
        for (let lo = 0; lo < len; lo += 2 * width) {
          const mid = min(lo + width, len);
          const hi = min(lo + 2 * width, len);
          let a = lo, b = mid, w = lo;
          while (a < mid && b < hi) {
            const ia = load<i32>(src + (<usize>a << 2));
            const ib = load<i32>(src + (<usize>b << 2));
            // Take from the right run only when strictly before: equal values keep their order.
            if (before<T>(load<T>(col + <usize>ib * stride), load<T>(col + <usize>ia * stride))) {
              store<i32>(dst + (<usize>w << 2), ib);
              b++;
            } else {
              store<i32>(dst + (<usize>w << 2), ia);
              a++;
            }
            w++;
          }
          while (a < mid) store<i32>(dst + (<usize>(w++) << 2), load<i32>(src + (<usize>(a++) << 2)));
          while (b < hi) store<i32>(dst + (<usize>(w++) << 2), load<i32>(src + (<usize>(b++) << 2)));
        }
        const t = src;
        src = dst;
        dst = t;
      }
      const target = out + ((<usize>o * <usize>len * <usize>inner + <usize>i) << 2);
      for (let l = 0; l < len; l++) store<i32>(target + ((<usize>l * <usize>inner) << 2), load<i32>(src + (<usize>l << 2)));
    }
  }
}

export function argsort_f64(out: usize, x: usize, outer: i32, len: i32, inner: i32, work: usize): void { argsort<f64>(out, x, outer, len, inner, work); }
export function argsort_f32(out: usize, x: usize, outer: i32, len: i32, inner: i32, work: usize): void { argsort<f32>(out, x, outer, len, inner, work); }
export function argsort_i32(out: usize, x: usize, outer: i32, len: i32, inner: i32, work: usize): void { argsort<i32>(out, x, outer, len, inner, work); }
