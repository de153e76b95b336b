// sin, cos and tan on f64x2 lanes: fdlibm's reductions and kernels, with an exact
// Payne-Hanek reduction for huge arguments (see ../mathf64.ts for bounds).

import {
  HALF, I, K, MAGIC, MAGIC_PLUS_ONE, MINUS_ONE, ONE, TINY_28, TWO, add, clearLow, div, mul,
  poly5, poly6, sel, signOf, sub,
} from './lanes';

const EXPONENT_FIELD: usize = memory.data<u64>([0x7FF, 0x7FF], 16);

const INT_TWO: usize = memory.data<u64>([2, 2], 16);
const INV_PIO2: usize = memory.data<u64>([0x3FE45F306DC9C883, 0x3FE45F306DC9C883], 16);
const PIO2_1: usize = memory.data<u64>([0x3FF921FB54400000, 0x3FF921FB54400000], 16); // 33 bits of pi/2
const PIO2_1T: usize = memory.data<u64>([0x3DD0B4611A626331, 0x3DD0B4611A626331], 16); // pi/2 - PIO2_1
const PIO2_2: usize = memory.data<u64>([0x3DD0B4611A600000, 0x3DD0B4611A600000], 16); // next 33 bits
const PIO2_2T: usize = memory.data<u64>([0x3BA3198A2E037073, 0x3BA3198A2E037073], 16);
const PIO2_3: usize = memory.data<u64>([0x3BA3198A2E000000, 0x3BA3198A2E000000], 16); // next 33 bits
const PIO2_3T: usize = memory.data<u64>([0x397B839A252049C1, 0x397B839A252049C1], 16);
/** From here on (|x| >= 2^20 pi/2) the three-part pi/2 runs out of bits: see reduceHuge. */
const TRIG_LIMIT: f64 = reinterpret<f64>(0x413921FC00000000);

const S1: usize = memory.data<u64>([0xBFC5555555555549, 0xBFC5555555555549], 16);
const S2: usize = memory.data<u64>([0x3F8111111110F8A6, 0x3F8111111110F8A6], 16);
const S3: usize = memory.data<u64>([0xBF2A01A019C161D5, 0xBF2A01A019C161D5], 16);
const S4: usize = memory.data<u64>([0x3EC71DE357B1FE7D, 0x3EC71DE357B1FE7D], 16);
const S5: usize = memory.data<u64>([0xBE5AE5E68A2B9CEB, 0xBE5AE5E68A2B9CEB], 16);
const S6: usize = memory.data<u64>([0x3DE5D93A5ACFD57C, 0x3DE5D93A5ACFD57C], 16);
const C1: usize = memory.data<u64>([0x3FA555555555554C, 0x3FA555555555554C], 16);
const C2: usize = memory.data<u64>([0xBF56C16C16C15177, 0xBF56C16C16C15177], 16);
const C3: usize = memory.data<u64>([0x3EFA01A019CB1590, 0x3EFA01A019CB1590], 16);
const C4: usize = memory.data<u64>([0xBE927E4F809C52AD, 0xBE927E4F809C52AD], 16);
const C5: usize = memory.data<u64>([0x3E21EE9EBDB4B1C4, 0x3E21EE9EBDB4B1C4], 16);
const C6: usize = memory.data<u64>([0xBDA8FAE9BE8838D4, 0xBDA8FAE9BE8838D4], 16);

const SIN: i32 = 0;
const COS: i32 = 1;
const TAN: i32 = 2;
const SINCOS: i32 = 3; // sin, with cos left in `cosOfLast`

/** Biased exponent of each lane as an i64. */
@inline function exponent(x: v128): v128 {
  return v128.and(i64x2.shr_u(x, 52), K(EXPONENT_FIELD));
}

// ---- Payne-Hanek reduction for huge arguments --------------------------------------------

const PIO4_HIGH: usize = memory.data<u64>([0x3FE921FC00000000, 0x3FE921FC00000000], 16);
const HUGE_ARG: usize = memory.data<f64>([TRIG_LIMIT, TRIG_LIMIT], 16);
const INT_ONE: usize = memory.data<u64>([1, 1], 16);
const INT_16: usize = memory.data<u64>([16, 16], 16);
const INT_49: usize = memory.data<u64>([49, 49], 16);
const TINY_27: usize = memory.data<u64>([0x3E40000000000000, 0x3E40000000000000], 16);
const QUARTER_EXP: usize = memory.data<u64>([0x0020000000000000, 0x0020000000000000], 16);
const COS_QX_FIXED: usize = memory.data<u64>([0x3FE9000100000000, 0x3FE9000100000000], 16);
const COS_QX: usize = memory.data<f64>([0.28125, 0.28125], 16);
const COS_SHORT: usize = memory.data<u64>([0x3FD3333300000000, 0x3FD3333300000000], 16);
const TAN_REFLECT: usize = memory.data<u64>([0x3FE5942800000000, 0x3FE5942800000000], 16);

// 2/pi in binary, 64 bits a word, after one zero word so that windows starting before the
// binary point read zeros: bit i after the point (weight 2^-i) is at bit offset i + 63.
const TWO_OVER_PI: usize = memory.data<u64>([
  0x0000000000000000,
  0xA2F9836E4E441529, 0xFC2757D1F534DDC0, 0xDB6295993C439041, 0xFE5163ABDEBBC561,
  0xB7246E3A424DD2E0, 0x06492EEA09D1921C, 0xFE1DEB1CB129A73E, 0xE88235F52EBB4484,
  0xE99C7026B45F7E41, 0x3991D639835339F4, 0x9C845F8BBDF9283B, 0x1FF897FFDE05980F,
  0xEF2F118B5A0A6D1F, 0x6D367ECF27CB09B7, 0x4F463F669E5FEA2D, 0x7527BAC7EBE5F17B,
  0x3D0739F78A5292EA, 0x6BFB5FB11F8D5D08, 0x56033046FC7B6BAB, 0xF0CFBC209AF4361D,
], 16);

/** 64 bits of the table starting at bit offset `at` (most significant first). */
@inline function twoOverPiBits(at: i32): u64 {
  const word = TWO_OVER_PI + (<usize>(at >> 6) << 3);
  const shift = <u64>(at & 63);
  const hi = load<u64>(word) << shift;
  return shift == 0 ? hi : hi | (load<u64>(word, 8) >> (64 - shift));
}

/** High 64 bits of the 128-bit product a * b. */
@inline function mulHigh(a: u64, b: u64): u64 {
  const aLo = a & 0xFFFFFFFF;
  const aHi = a >> 32;
  const bLo = b & 0xFFFFFFFF;
  const bHi = b >> 32;
  const lh = aLo * bHi;
  const hl = aHi * bLo;
  const mid = ((aLo * bLo) >> 32) + (lh & 0xFFFFFFFF) + (hl & 0xFFFFFFFF);
  return aHi * bHi + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

/** a * b as p + e exactly (Dekker: no fused multiply-add in wasm). Sets dekkerError. */
let dekkerError: f64 = 0;
@inline function twoProduct(a: f64, b: f64): f64 {
  const ca = 134217729.0 * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = 134217729.0 * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  const p = a * b;
  dekkerError = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
  return p;
}

let hugeQuadrant: i32 = 0;
let hugeY0: f64 = 0;
let hugeY1: f64 = 0;

/**
 * x = n pi/2 + (y0 + y1) for finite x >= 2^20 pi/2: x = m 2^e, and only the 192 bits of 2/pi
 * from weight 2^(1-e) on matter (earlier bits give multiples of 4, later ones < 2^-137), so
 * m times that window mod 2^192 is x 2/pi mod 4 with 190 fraction bits, exact. The fraction
 * (>= 2^-62 for every double, so >= 128 significant bits remain) times pi/2 in double-double
 * gives y0 + y1 to about 2^-105. Sets hugeQuadrant (n mod 4), hugeY0, hugeY1.
 */
function reduceHuge(x: f64): void {
  if (x == Infinity) {
    hugeQuadrant = 0;
    hugeY0 = NaN;
    hugeY1 = NaN;
    return;
  }
  const bits = reinterpret<u64>(x);
  const e = <i32>(bits >> 52) - 1075;
  const m = (bits & 0x000FFFFFFFFFFFFF) | 0x0010000000000000;
  const a = twoOverPiBits(e + 62);
  const b = twoOverPiBits(e + 126);
  const c = twoOverPiBits(e + 190);
  const w0 = m * c;
  const bLow = m * b;
  const w1 = mulHigh(m, c) + bLow;
  const w2 = mulHigh(m, b) + m * a + <u64>(w1 < bLow);
  let n = <i32>(w2 >> 62);
  // The fraction, left-aligned: f2 f1 f0 * 2^-192.
  let f2 = (w2 << 2) | (w1 >> 62);
  let f1 = (w1 << 2) | (w0 >> 62);
  let f0 = w0 << 2;
  const upper = f2 >> 63 != 0; // fraction >= 1/2: round n up, reduce to 1 - fraction
  if (upper) {
    n++;
    f0 = ~f0 + 1;
    f1 = ~f1 + <u64>(f0 == 0);
    f2 = ~f2 + <u64>(f0 == 0 && f1 == 0);
  }
  let exp = -64;
  while (f2 == 0) {
    f2 = f1;
    f1 = f0;
    f0 = 0;
    exp -= 64;
  }
  const lz = clz(f2);
  if (lz != 0) {
    f2 = (f2 << lz) | (f1 >> (64 - lz));
    f1 = (f1 << lz) | (f0 >> (64 - lz));
  }
  const unit = reinterpret<f64>(<u64>(1023 + exp - <i32>lz) << 52);
  const gHi = <f64>(f2 & ~<u64>0x7FF) * unit;
  const gLo = (<f64>(f2 & 0x7FF) + <f64>f1 * 5.421010862427522e-20) * unit; // f1 * 2^-64
  const p = twoProduct(gHi, PIO2_H);
  const tail = dekkerError + (gHi * PIO2_L + gLo * PIO2_H);
  let y0 = p + tail;
  let y1 = tail - (y0 - p);
  if (upper) {
    y0 = -y0;
    y1 = -y1;
  }
  hugeQuadrant = n & 3;
  hugeY0 = y0;
  hugeY1 = y1;
}

const PIO2_H: f64 = reinterpret<f64>(0x3FF921FB54442D18);
const PIO2_L: f64 = reinterpret<f64>(0x3C91A62633145C07);

/**
 * Shared by sin, cos, tan. |x| = n pi/2 + (y0 + y1) by fdlibm's medium-range reduction:
 * pi/2 in 33-bit pieces so n * piece is exact for n < 2^20, with a second and third round
 * wherever the first cancels more than 16 (then 49) bits; |x| <= pi/4 skips it. Then the
 * fdlibm kernels on [-pi/4, pi/4] (degree-13 sin, degree-14 cos, tan as below), chosen and
 * signed by n mod 4, and x's sign for the odd functions. Lanes with |x| >= 2^20 pi/2 (rare)
 * are reduced one at a time by reduceHuge (Payne-Hanek) and go through the same kernels.
 */
@inline function trig(x: v128, fn: i32): v128 {
  const ax = f64x2.abs(x);
  const small = f64x2.lt(ax, K(PIO4_HIGH));
  const n = f64x2.trunc(add(mul(ax, K(INV_PIO2)), K(HALF)));
  const ex = exponent(ax);

  let r = sub(ax, mul(n, K(PIO2_1)));
  let w = mul(n, K(PIO2_1T));
  let y0 = sub(r, w);
  const again2 = i64x2.gt_s(i64x2.sub(ex, exponent(y0)), K(INT_16));
  const w2a = mul(n, K(PIO2_2));
  const r2 = sub(r, w2a);
  const w2 = sub(mul(n, K(PIO2_2T)), sub(sub(r, r2), w2a));
  const y02 = sub(r2, w2);
  const again3 = v128.and(again2, i64x2.gt_s(i64x2.sub(ex, exponent(y02)), K(INT_49)));
  const w3a = mul(n, K(PIO2_3));
  const r3 = sub(r2, w3a);
  const w3 = sub(mul(n, K(PIO2_3T)), sub(sub(r2, r3), w3a));
  r = sel(sel(r3, r2, again3), r, again2);
  w = sel(sel(w3, w2, again3), w, again2);
  y0 = sel(sel(sub(r3, w3), y02, again3), y0, again2);
  let y1 = sub(sub(r, y0), w);
  y0 = sel(ax, y0, small);
  y1 = v128.andnot(y1, small);
  let q = v128.andnot(n, small);
  if (v128.any_true(f64x2.ge(ax, K(HUGE_ARG)))) {
    const x0 = f64x2.extract_lane(ax, 0);
    if (x0 >= TRIG_LIMIT) {
      reduceHuge(x0);
      y0 = f64x2.replace_lane(y0, 0, hugeY0);
      y1 = f64x2.replace_lane(y1, 0, hugeY1);
      q = f64x2.replace_lane(q, 0, <f64>hugeQuadrant);
    }
    const x1 = f64x2.extract_lane(ax, 1);
    if (x1 >= TRIG_LIMIT) {
      reduceHuge(x1);
      y0 = f64x2.replace_lane(y0, 1, hugeY0);
      y1 = f64x2.replace_lane(y1, 1, hugeY1);
      q = f64x2.replace_lane(q, 1, <f64>hugeQuadrant);
    }
  }

  let res: v128;
  if (fn == TAN) {
    const odd = i64x2.ne(v128.and(add(q, K(MAGIC)), K(INT_ONE)), I(0));
    res = tanKernel(y0, y1, odd);
  } else if (fn == SIN || fn == COS || fn == SINCOS) {
    // cos x = sin(x + pi/2): the cos quadrant is one ahead of the sin quadrant.
    const qb = add(q, K(fn == COS ? MAGIC_PLUS_ONE : MAGIC));
    const z = mul(y0, y0);
    const v = mul(z, y0);
    const rs = poly5(z, S2, S3, S4, S5, S6);
    let sinK = sub(y0, sub(sub(mul(z, sub(mul(K(HALF), y1), mul(v, rs))), y1), mul(v, K(S1))));
    sinK = sel(add(y0, mul(v, add(K(S1), mul(z, rs)))), sinK, small);
    sinK = sel(y0, sinK, f64x2.lt(f64x2.abs(y0), K(TINY_27))); // |y0| < 2^-27
    const rc = mul(z, poly6(z, C1, C2, C3, C4, C5, C6));
    const ay = f64x2.abs(y0);
    const tail = sub(mul(z, rc), mul(y0, y1));
    const hz = mul(K(HALF), z);
    const qx = sel(K(COS_QX), clearLow(i64x2.sub(ay, K(QUARTER_EXP))), f64x2.ge(ay, K(COS_QX_FIXED)));
    const cosK = sel(sub(K(ONE), sub(hz, tail)), sub(sub(K(ONE), qx), sub(sub(hz, qx), tail)), f64x2.lt(ay, K(COS_SHORT)));
    res = sel(cosK, sinK, i64x2.ne(v128.and(qb, K(INT_ONE)), I(0)));
    res = v128.xor(res, i64x2.shl(v128.and(qb, K(INT_TWO)), 62));
    if (fn == SINCOS) {
      const qc = add(q, K(MAGIC_PLUS_ONE));
      const c = sel(cosK, sinK, i64x2.ne(v128.and(qc, K(INT_ONE)), I(0)));
      cosOfLast = v128.xor(c, i64x2.shl(v128.and(qc, K(INT_TWO)), 62));
    }
  } else {
    res = unreachable();
  }
  if (fn != COS) res = v128.xor(res, signOf(x));

  return res;
}

const T0: usize = memory.data<u64>([0x3FD5555555555563, 0x3FD5555555555563], 16);
const T1: usize = memory.data<u64>([0x3FC111111110FE7A, 0x3FC111111110FE7A], 16);
const T2: usize = memory.data<u64>([0x3FABA1BA1BB341FE, 0x3FABA1BA1BB341FE], 16);
const T3: usize = memory.data<u64>([0x3F9664F48406D637, 0x3F9664F48406D637], 16);
const T4: usize = memory.data<u64>([0x3F8226E3E96E8493, 0x3F8226E3E96E8493], 16);
const T5: usize = memory.data<u64>([0x3F6D6D22C9560328, 0x3F6D6D22C9560328], 16);
const T6: usize = memory.data<u64>([0x3F57DBC8FEE08315, 0x3F57DBC8FEE08315], 16);
const T7: usize = memory.data<u64>([0x3F4344D8F2F26501, 0x3F4344D8F2F26501], 16);
const T8: usize = memory.data<u64>([0x3F3026F71A8D1068, 0x3F3026F71A8D1068], 16);
const T9: usize = memory.data<u64>([0x3F147E88A03792A6, 0x3F147E88A03792A6], 16);
const T10: usize = memory.data<u64>([0x3F12B80F32F0A7E9, 0x3F12B80F32F0A7E9], 16);
const T11: usize = memory.data<u64>([0xBEF375CBDB605373, 0xBEF375CBDB605373], 16);
const T12: usize = memory.data<u64>([0x3EFB2A7074BF7AD4, 0x3EFB2A7074BF7AD4], 16);
const PIO4: usize = memory.data<u64>([0x3FE921FB54442D18, 0x3FE921FB54442D18], 16);
const PIO4_LO: usize = memory.data<u64>([0x3C81A62633145C07, 0x3C81A62633145C07], 16);

/**
 * tan(y0 + y1) on |y0| <= pi/4, or -1/tan where `odd` (fdlibm k_tan.c): odd degree-27
 * minimax polynomial; above 0.6744 reflected through pi/4 - y so the series stays short; the
 * reciprocal of the odd quadrants computed as a corrected -1/w.
 */
@inline function tanKernel(x: v128, y: v128, odd: v128): v128 {
  const ax = f64x2.abs(x);
  const sx = signOf(x);
  const big = f64x2.ge(ax, K(TAN_REFLECT));
  const xs = sel(add(sub(K(PIO4), ax), sub(K(PIO4_LO), v128.xor(y, sx))), x, big);
  const ys = v128.andnot(y, big);
  const z = mul(xs, xs);
  const w = mul(z, z);
  let r = poly6(w, T1, T3, T5, T7, T9, T11);
  const v = mul(z, poly6(w, T2, T4, T6, T8, T10, T12));
  const s = mul(z, xs);
  r = add(ys, mul(z, add(mul(s, add(r, v)), ys)));
  r = add(r, mul(K(T0), s));
  const wr = add(xs, r);
  const iy = sel(K(MINUS_ONE), K(ONE), odd);
  const yBig = v128.xor(sub(iy, mul(K(TWO), sub(xs, sub(div(mul(wr, wr), add(wr, iy)), r)))), sx);
  const tiny = f64x2.lt(ax, K(TINY_28)); // |x| < 2^-28: fdlibm uses x + y, not x + r
  const wo = sel(add(x, y), wr, tiny);
  const ro = sel(y, r, tiny);
  const zo = clearLow(wo);
  const vo = sub(ro, sub(zo, xs));
  const a = div(K(MINUS_ONE), wo);
  const ta = clearLow(a);
  const yOdd = add(ta, mul(a, add(add(K(ONE), mul(ta, zo)), mul(ta, vo))));
  return sel(yBig, sel(yOdd, sel(x, wr, tiny), odd), big);
}

/** sin x; see trig(). Error < 1 ulp. */
@inline export function sinLanes(x: v128): v128 { return trig(x, SIN); }
/** cos x; see trig(). Error < 1 ulp. */
@inline export function cosLanes(x: v128): v128 { return trig(x, COS); }
/** tan x; see trig() and tanKernel(). Error < 1 ulp. */
@inline export function tanLanes(x: v128): v128 { return trig(x, TAN); }

/** cos of the last sincosLanes argument: the dual kernels need both from one reduction. */
export let cosOfLast: v128 = f64x2(0, 0);
/** sin x, leaving cos x in cosOfLast: one range reduction for both, as sin and cos alone. */
@inline export function sincosLanes(x: v128): v128 { return trig(x, SINCOS); }
