// Reductions: whole-array sum/max/min, and the same over the middle axis of a contiguous
// [outer, len, inner] view (see index.ts for the ABI).
//
// Sums accumulate in f64 for both dtypes: float32 input is widened as it is read, so a sum of
// 1e7 float32 terms has the error bound of an f64 sum (n * 2^-53 * sum|x|, ~1e-9 relative)
// instead of float32's (~0.6 relative in the worst case). Eight independent partial sums
// (four v128 accumulators) hide the add latency.
//
// max/min follow Math.max/Math.min: NaN propagates and -0 orders below +0; the empty reduction
// is -Infinity for max and +Infinity for min.

import { sumRow } from './sum-row';

// Axis reductions with inner > 1 sweep the inner axis in tiles of TILE elements: the tile of
// partial results stays in L1 while `len` rows stream through it.
const TILE: i32 = 512;
const tileAcc: usize = memory.data(TILE * 8, 16); // f64 partial sums

export function sum_f64(a: usize, n: i32): f64 {
  return sumRow<f64>(a, n);
}

export function sum_f32(a: usize, n: i32): f64 {
  return sumRow<f32>(a, n);
}

export function max_f64(a: usize, n: i32): f64 {
  return extremeRow<f64>(a, n, true);
}

export function max_f32(a: usize, n: i32): f32 {
  return extremeRow<f32>(a, n, true);
}

export function min_f64(a: usize, n: i32): f64 {
  return extremeRow<f64>(a, n, false);
}

export function min_f32(a: usize, n: i32): f32 {
  return extremeRow<f32>(a, n, false);
}

export function sum_axis_f64(out: usize, a: usize, outer: i32, len: i32, inner: i32): void {
  sumAxis<f64>(out, a, outer, len, inner);
}

export function sum_axis_f32(out: usize, a: usize, outer: i32, len: i32, inner: i32): void {
  sumAxis<f32>(out, a, outer, len, inner);
}

export function max_axis_f64(out: usize, a: usize, outer: i32, len: i32, inner: i32): void {
  extremeAxis<f64>(out, a, outer, len, inner, true);
}

export function max_axis_f32(out: usize, a: usize, outer: i32, len: i32, inner: i32): void {
  extremeAxis<f32>(out, a, outer, len, inner, true);
}

export function min_axis_f64(out: usize, a: usize, outer: i32, len: i32, inner: i32): void {
  extremeAxis<f64>(out, a, outer, len, inner, false);
}

export function min_axis_f32(out: usize, a: usize, outer: i32, len: i32, inner: i32): void {
  extremeAxis<f32>(out, a, outer, len, inner, false);
}

// ---------------------------------------------------------------------------------------------
// Contiguous rows


// V8 lowers f64x2.max/f32x4.max to a long NaN- and zero-sign-fixing sequence, so the main pass
// uses pmax/pmin (one maxpd/minpd) and keeps a NaN flag on the side. pmax can pick either zero
// when -0 meets +0, so a zero result is settled by an exact second pass; that costs a rescan
// only for arrays whose extreme is a zero.
// @ts-ignore: decorator
@inline
function extremeRow<T>(a: usize, n: i32, isMax: bool): T {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  const init = <T>(isMax ? -Infinity : Infinity);
  if (n < 4 * L) {
    let r = init;
    for (let i = 0; i < n; i++) r = pickScalar<T>(r, load<T>(a + <usize>i * size), isMax);
    return r;
  }
  let m0 = v128.splat<T>(init);
  let m1 = m0, m2 = m0, m3 = m0;
  let nan = v128.splat<i32>(0);
  let i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    const p = a + <usize>i * size;
    const x0 = v128.load(p);
    const x1 = v128.load(p, 16);
    const x2 = v128.load(p, 32);
    const x3 = v128.load(p, 48);
    m0 = pickFast<T>(m0, x0, isMax);
    m1 = pickFast<T>(m1, x1, isMax);
    m2 = pickFast<T>(m2, x2, isMax);
    m3 = pickFast<T>(m3, x3, isMax);
    nan = v128.or(nan, v128.or(v128.or(v128.ne<T>(x0, x0), v128.ne<T>(x1, x1)), v128.or(v128.ne<T>(x2, x2), v128.ne<T>(x3, x3))));
  }
  for (; i + L <= n; i += L) {
    const x = v128.load(a + <usize>i * size);
    m0 = pickFast<T>(m0, x, isMax);
    nan = v128.or(nan, v128.ne<T>(x, x));
  }
  if (v128.any_true(nan)) return <T>NaN;
  const m = pickFast<T>(pickFast<T>(m0, m1, isMax), pickFast<T>(m2, m3, isMax), isMax);
  let r = pickScalar<T>(v128.extract_lane<T>(m, 0), v128.extract_lane<T>(m, 1), isMax);
  if (size == 4) {
    r = pickScalar<T>(r, v128.extract_lane<T>(m, 2), isMax);
    r = pickScalar<T>(r, v128.extract_lane<T>(m, 3), isMax);
  }
  for (; i < n; i++) r = pickScalar<T>(r, load<T>(a + <usize>i * size), isMax);
  if (r == 0) {
    r = init;
    for (let j = 0; j < n; j++) r = pickScalar<T>(r, load<T>(a + <usize>j * size), isMax);
  }
  return r;
}

// @ts-ignore: decorator
@inline
function pickFast<T>(a: v128, b: v128, isMax: bool): v128 {
  return isMax ? v128.pmax<T>(a, b) : v128.pmin<T>(a, b);
}

// @ts-ignore: decorator
@inline
function pick<T>(a: v128, b: v128, isMax: bool): v128 {
  return isMax ? v128.max<T>(a, b) : v128.min<T>(a, b);
}

// @ts-ignore: decorator
@inline
function pickScalar<T>(a: T, b: T, isMax: bool): T {
  return isMax ? max<T>(a, b) : min<T>(a, b);
}

// ---------------------------------------------------------------------------------------------
// Middle-axis reductions

// @ts-ignore: decorator
@inline
function sumAxis<T>(out: usize, a: usize, outer: i32, len: i32, inner: i32): void {
  const size = sizeof<T>();
  const rowBytes = <usize>inner * size;
  if (len == 1) {
    memory.copy(out, a, <usize>outer * rowBytes);
    return;
  }
  if (inner == 1) {
    for (let o = 0; o < outer; o++) store<T>(out + <usize>o * size, <T>sumRow<T>(a + <usize>o * <usize>len * size, len));
    return;
  }
  for (let o = 0; o < outer; o++) {
    const src = a + <usize>o * <usize>len * rowBytes;
    const dst = out + <usize>o * rowBytes;
    for (let t0 = 0; t0 < inner; t0 += TILE) {
      const w = min(TILE, inner - t0);
      memory.fill(tileAcc, 0, <usize>w << 3);
      const col = src + <usize>t0 * size;
      let l = 0;
      for (; l + 4 <= len; l += 4) addRowsToTile<T>(col + <usize>l * rowBytes, rowBytes, w, 4);
      for (; l < len; l++) addRowsToTile<T>(col + <usize>l * rowBytes, rowBytes, w, 1);
      storeTile<T>(dst + <usize>t0 * size, w);
    }
  }
}

// tileAcc[0..w) += the sum of `rows` (1 or 4) rows of w elements starting at p, `stride` bytes apart.
// @ts-ignore: decorator
@inline
function addRowsToTile<T>(p: usize, stride: usize, w: i32, rows: i32): void {
  let i = 0;
  if (sizeof<T>() == 8) {
    for (; i + 2 <= w; i += 2) {
      const q = p + (<usize>i << 3);
      let v = v128.load(q);
      if (rows == 4) {
        v = f64x2.add(v, v128.load(q + stride));
        v = f64x2.add(v, f64x2.add(v128.load(q + 2 * stride), v128.load(q + 3 * stride)));
      }
      const acc = tileAcc + (<usize>i << 3);
      v128.store(acc, f64x2.add(v128.load(acc), v));
    }
  } else {
    for (; i + 4 <= w; i += 4) {
      const q = p + (<usize>i << 2);
      let x = v128.load(q);
      let lo = f64x2.promote_low_f32x4(x);
      let hi = f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 2, 3));
      if (rows == 4) {
        for (let r: usize = 1; r < 4; r++) {
          x = v128.load(q + r * stride);
          lo = f64x2.add(lo, f64x2.promote_low_f32x4(x));
          hi = f64x2.add(hi, f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 2, 3)));
        }
      }
      const acc = tileAcc + (<usize>i << 3);
      v128.store(acc, f64x2.add(v128.load(acc), lo));
      v128.store(acc, f64x2.add(v128.load(acc, 16), hi), 16);
    }
  }
  for (; i < w; i++) {
    const q = p + <usize>i * sizeof<T>();
    let s = <f64>load<T>(q);
    for (let r = 1; r < rows; r++) s += <f64>load<T>(q + <usize>r * stride);
    const acc = tileAcc + (<usize>i << 3);
    store<f64>(acc, load<f64>(acc) + s);
  }
}

// @ts-ignore: decorator
@inline
function storeTile<T>(dst: usize, w: i32): void {
  if (sizeof<T>() == 8) {
    memory.copy(dst, tileAcc, <usize>w << 3);
    return;
  }
  let i = 0;
  for (; i + 4 <= w; i += 4) {
    const acc = tileAcc + (<usize>i << 3);
    const lo = f32x4.demote_f64x2_zero(v128.load(acc));
    const hi = f32x4.demote_f64x2_zero(v128.load(acc, 16));
    v128.store(dst + (<usize>i << 2), i64x2.shuffle(lo, hi, 0, 2));
  }
  for (; i < w; i++) store<f32>(dst + (<usize>i << 2), <f32>load<f64>(tileAcc + (<usize>i << 3)));
}

// @ts-ignore: decorator
@inline
function extremeAxis<T>(out: usize, a: usize, outer: i32, len: i32, inner: i32, isMax: bool): void {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  const rowBytes = <usize>inner * size;
  if (len == 1) {
    memory.copy(out, a, <usize>outer * rowBytes);
    return;
  }
  if (inner == 1) {
    for (let o = 0; o < outer; o++) store<T>(out + <usize>o * size, extremeRow<T>(a + <usize>o * <usize>len * size, len, isMax));
    return;
  }
  const init = <T>(isMax ? -Infinity : Infinity);
  const vinit = v128.splat<T>(init);
  for (let o = 0; o < outer; o++) {
    const src = a + <usize>o * <usize>len * rowBytes;
    const dst = out + <usize>o * rowBytes;
    // The output row itself is the running tile: max/min are exact in T.
    for (let t0 = 0; t0 < inner; t0 += TILE) {
      const w = min(TILE, inner - t0);
      const acc = dst + <usize>t0 * size;
      const col = src + <usize>t0 * size;
      let i = 0;
      for (; i + L <= w; i += L) v128.store(acc + <usize>i * size, vinit);
      for (; i < w; i++) store<T>(acc + <usize>i * size, init);
      let l = 0;
      for (; l + 4 <= len; l += 4) {
        const p = col + <usize>l * rowBytes;
        i = 0;
        for (; i + L <= w; i += L) {
          const q = p + <usize>i * size;
          const v = pick<T>(
            pick<T>(v128.load(q), v128.load(q + rowBytes), isMax),
            pick<T>(v128.load(q + 2 * rowBytes), v128.load(q + 3 * rowBytes), isMax), isMax);
          const r = acc + <usize>i * size;
          v128.store(r, pick<T>(v128.load(r), v, isMax));
        }
        for (; i < w; i++) {
          const q = p + <usize>i * size;
          const v = pickScalar<T>(
            pickScalar<T>(load<T>(q), load<T>(q + rowBytes), isMax),
            pickScalar<T>(load<T>(q + 2 * rowBytes), load<T>(q + 3 * rowBytes), isMax), isMax);
          const r = acc + <usize>i * size;
          store<T>(r, pickScalar<T>(load<T>(r), v, isMax));
        }
      }
      for (; l < len; l++) {
        const p = col + <usize>l * rowBytes;
        i = 0;
        for (; i + L <= w; i += L) {
          const r = acc + <usize>i * size;
          v128.store(r, pick<T>(v128.load(r), v128.load(p + <usize>i * size), isMax));
        }
        for (; i < w; i++) {
          const r = acc + <usize>i * size;
          store<T>(r, pickScalar<T>(load<T>(r), load<T>(p + <usize>i * size), isMax));
        }
      }
    }
  }
}
