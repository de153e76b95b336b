// int32 kernels: fills, identity and arange, casts to and from the float dtypes, and whole-array
// and axis reductions (sum wraps modulo 2^32 as NumPy's and JAX's int32 sums do; max and min
// are exact). The elementwise int32 maps are the generic loops of elementwise.ts instantiated
// for i32; moves (copy, strided copy, transpose) reuse the f32 kernels, which move 4-byte
// lanes without reading them as numbers.

// Scalar saturating truncation through lane 0 of the SIMD instruction (the scalar
// trunc_sat is not exposed as a builtin).
// @ts-ignore: decorator
@inline function truncF64(x: f64): i32 { return i32x4.extract_lane(i32x4.trunc_sat_f64x2_s_zero(f64x2.splat(x)), 0); }
// @ts-ignore: decorator
@inline function truncF32(x: f32): i32 { return i32x4.extract_lane(i32x4.trunc_sat_f32x4_s(f32x4.splat(x)), 0); }

export function fill_i32(out: usize, value: i32, n: i32): void {
  const v = i32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), v);
  for (; i < n; i++) store<i32>(out + (<usize>i << 2), value);
}

/** out[n x n] = identity */
export function eye_i32(out: usize, n: i32): void {
  memory.fill(out, 0, <usize>n * <usize>n * 4);
  for (let i = 0; i < n; i++) store<i32>(out + <usize>i * <usize>(n + 1) * 4, 1);
}

/** out[i] = start + i * step evaluated in f64, then truncated toward zero (saturating). */
export function arange_i32(out: usize, start: f64, step: f64, n: i32): void {
  for (let i = 0; i < n; i++) store<i32>(out + (<usize>i << 2), truncF64(start + <f64>i * step));
}

/** i32 -> f64, exact */
export function cast_i32_f64(out: usize, a: usize, n: i32): void {
  let i = 0;
  for (; i + 2 <= n; i += 2) v128.store(out + (<usize>i << 3), f64x2.convert_low_i32x4_s(v128.load64_zero(a + (<usize>i << 2))));
  for (; i < n; i++) store<f64>(out + (<usize>i << 3), <f64>load<i32>(a + (<usize>i << 2)));
}

/** i32 -> f32, round to nearest even (exact below 2^24 in magnitude) */
export function cast_i32_f32(out: usize, a: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), f32x4.convert_i32x4_s(v128.load(a + (<usize>i << 2))));
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>load<i32>(a + (<usize>i << 2)));
}

/**
 * f64 -> i32: truncation toward zero, as NumPy's astype; NaN gives 0 and values beyond the
 * int32 range saturate to -2^31 or 2^31 - 1 (wasm's trunc_sat, also JAX's convert on CPU).
 */
export function cast_f64_i32(out: usize, a: usize, n: i32): void {
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    v128.store64_lane(out + (<usize>i << 2), i32x4.trunc_sat_f64x2_s_zero(v128.load(a + (<usize>i << 3))), 0);
  }
  for (; i < n; i++) store<i32>(out + (<usize>i << 2), truncF64(load<f64>(a + (<usize>i << 3))));
}

/** f32 -> i32, as cast_f64_i32. */
export function cast_f32_i32(out: usize, a: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), i32x4.trunc_sat_f32x4_s(v128.load(a + (<usize>i << 2))));
  for (; i < n; i++) store<i32>(out + (<usize>i << 2), truncF32(load<f32>(a + (<usize>i << 2))));
}

// ---- reductions ----------------------------------------------------------------------------

const SUM: i32 = 0;
const MAX: i32 = 1;
const MIN: i32 = 2;

// @ts-ignore: decorator
@inline function combine(op: i32, x: i32, y: i32): i32 {
  if (op == SUM) return x + y;
  if (op == MAX) return x > y ? x : y;
  if (op == MIN) return x < y ? x : y;
  return unreachable();
}

// @ts-ignore: decorator
@inline function combineV(op: i32, x: v128, y: v128): v128 {
  if (op == SUM) return i32x4.add(x, y);
  if (op == MAX) return i32x4.max_s(x, y);
  if (op == MIN) return i32x4.min_s(x, y);
  return unreachable();
}

// @ts-ignore: decorator
@inline function identity(op: i32): i32 {
  if (op == SUM) return 0;
  if (op == MAX) return i32.MIN_VALUE;
  if (op == MIN) return i32.MAX_VALUE;
  return unreachable();
}

// @ts-ignore: decorator
@inline function reduceRow(op: i32, a: usize, n: i32): i32 {
  let acc = i32x4.splat(identity(op));
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = combineV(op, acc, v128.load(a + (<usize>i << 2)));
  let r = combine(op, combine(op, i32x4.extract_lane(acc, 0), i32x4.extract_lane(acc, 1)),
    combine(op, i32x4.extract_lane(acc, 2), i32x4.extract_lane(acc, 3)));
  for (; i < n; i++) r = combine(op, r, load<i32>(a + (<usize>i << 2)));
  return r;
}

/** Reduces the middle axis of a contiguous [outer, len, inner] view into out [outer, inner]. */
// @ts-ignore: decorator
@inline function reduceAxis(op: i32, out: usize, a: usize, outer: i32, len: i32, inner: i32): void {
  if (inner == 1) {
    for (let o = 0; o < outer; o++) store<i32>(out + (<usize>o << 2), reduceRow(op, a + <usize>o * <usize>len * 4, len));
    return;
  }
  const rowBytes = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const dst = out + <usize>o * rowBytes;
    fill_i32(dst, identity(op), inner);
    const block = a + <usize>o * <usize>len * rowBytes;
    for (let l = 0; l < len; l++) {
      const src = block + <usize>l * rowBytes;
      let j = 0;
      for (; j + 4 <= inner; j += 4) {
        const p = dst + (<usize>j << 2);
        v128.store(p, combineV(op, v128.load(p), v128.load(src + (<usize>j << 2))));
      }
      for (; j < inner; j++) {
        const p = dst + (<usize>j << 2);
        store<i32>(p, combine(op, load<i32>(p), load<i32>(src + (<usize>j << 2))));
      }
    }
  }
}

export function sum_i32(a: usize, n: i32): i32 { return reduceRow(SUM, a, n); }
export function max_i32(a: usize, n: i32): i32 { return reduceRow(MAX, a, n); }
export function min_i32(a: usize, n: i32): i32 { return reduceRow(MIN, a, n); }
export function sum_axis_i32(out: usize, a: usize, outer: i32, len: i32, inner: i32): void { reduceAxis(SUM, out, a, outer, len, inner); }
export function max_axis_i32(out: usize, a: usize, outer: i32, len: i32, inner: i32): void { reduceAxis(MAX, out, a, outer, len, inner); }
export function min_axis_i32(out: usize, a: usize, outer: i32, len: i32, inner: i32): void { reduceAxis(MIN, out, a, outer, len, inner); }
