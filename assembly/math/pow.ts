// pow on f64x2 lanes: fdlibm's algorithm as straight-line SIMD (see ../mathf64.ts).

import {
  F, HALF, I, INF, K, MAGIC, MINUS_ONE, MIN_NORMAL, NAN, ONE, THREE, TWO, add, clearLow, div,
  mul, poly5, poly6, scale, sel, signOf, sub,
} from './lanes';

const P1: usize = memory.data<u64>([0x3FC555555555553E, 0x3FC555555555553E], 16);
const P2: usize = memory.data<u64>([0xBF66C16C16BEBD93, 0xBF66C16C16BEBD93], 16);
const P3: usize = memory.data<u64>([0x3F11566AAF25DE2C, 0x3F11566AAF25DE2C], 16);
const P4: usize = memory.data<u64>([0xBEBBBD41C5D26BF1, 0xBEBBBD41C5D26BF1], 16);
const P5: usize = memory.data<u64>([0x3E66376972BEA4D0, 0x3E66376972BEA4D0], 16);

/** r - r^2 R(r^2), R minimax for the Remez form of e^r on |r| <= ln2/2. */
@inline function expRemez(r: v128): v128 {
  const t = mul(r, r);
  return sub(r, mul(t, poly5(t, P1, P2, P3, P4, P5)));
}


const TWO_53: usize = memory.data<f64>([9007199254740992.0, 9007199254740992.0], 16);
const LOW_WORD: usize = memory.data<u64>([0xFFFFFFFF, 0xFFFFFFFF], 16);
const EXP_BIAS_INT: usize = memory.data<u64>([0x3FF, 0x3FF], 16);
const INT_53: usize = memory.data<u64>([53, 53], 16);
const SQRT3_HALF_MANT: usize = memory.data<u64>([0x3988E, 0x3988E], 16);
const SQRT3_MANT: usize = memory.data<u64>([0xBB67A, 0xBB67A], 16);
const MINUS_HIDDEN: usize = memory.data<u64>([-0x00100000, -0x00100000], 16);
const TH_BIAS: usize = memory.data<u64>([0x20000000, 0x20000000], 16);
const TH_ROUND: usize = memory.data<u64>([0x00080000, 0x00080000], 16);
const TH_HALF: usize = memory.data<u64>([1 << 18, 1 << 18], 16);
const ONE_AND_HALF: usize = memory.data<f64>([1.5, 1.5], 16);
const QUARTER: usize = memory.data<f64>([0.25, 0.25], 16);
const THIRD_LONG: usize = memory.data<f64>([0.3333333333333333333333, 0.3333333333333333333333], 16);
const NEAR_ONE_LO: usize = memory.data<u64>([0x3FEFFFFF00000000, 0x3FEFFFFF00000000], 16);
const NEAR_ONE_HI: usize = memory.data<u64>([0x3FF0000100000000, 0x3FF0000100000000], 16);
const TWO_31: usize = memory.data<u64>([0x41E0000000000000, 0x41E0000000000000], 16);
const Z_MAX: usize = memory.data<f64>([1024.0, 1024.0], 16);
const Z_MIN: usize = memory.data<f64>([-1075.0, -1075.0], 16);
const ROUND_Z: usize = memory.data<u64>([0x3FE0000100000000, 0x3FE0000100000000], 16);
const N_MAX: usize = memory.data<f64>([1100.0, 1100.0], 16);
const N_MIN: usize = memory.data<f64>([-1100.0, -1100.0], 16);

const MANT_HIGH: usize = memory.data<u64>([0x000FFFFF, 0x000FFFFF], 16);
const ONE_HIGH: usize = memory.data<u64>([0x3FF00000, 0x3FF00000], 16);
const L1: usize = memory.data<u64>([0x3FE3333333333303, 0x3FE3333333333303], 16);
const L2: usize = memory.data<u64>([0x3FDB6DB6DB6FABFF, 0x3FDB6DB6DB6FABFF], 16);
const L3: usize = memory.data<u64>([0x3FD55555518F264D, 0x3FD55555518F264D], 16);
const L4: usize = memory.data<u64>([0x3FD17460A91D4101, 0x3FD17460A91D4101], 16);
const L5: usize = memory.data<u64>([0x3FCD864A93C9DB65, 0x3FCD864A93C9DB65], 16);
const L6: usize = memory.data<u64>([0x3FCA7E284A454EEF, 0x3FCA7E284A454EEF], 16);
const DP_H1: usize = memory.data<u64>([0x3FE2B80340000000, 0x3FE2B80340000000], 16); // log2(1.5), high part
const DP_L1: usize = memory.data<u64>([0x3E4CFDEB43CFD006, 0x3E4CFDEB43CFD006], 16);
const LN2: usize = memory.data<u64>([0x3FE62E42FEFA39EF, 0x3FE62E42FEFA39EF], 16);
const LG2_H: usize = memory.data<u64>([0x3FE62E4300000000, 0x3FE62E4300000000], 16);
const LG2_L: usize = memory.data<u64>([0xBE205C610CA86C39, 0xBE205C610CA86C39], 16);
const OVT: usize = memory.data<u64>([0x3C971547652B82FE, 0x3C971547652B82FE], 16); // -(1024 - log2(ovfl + .5ulp))
const CP: usize = memory.data<u64>([0x3FEEC709DC3A03FD, 0x3FEEC709DC3A03FD], 16); // 2 / (3 ln2)
const CP_H: usize = memory.data<u64>([0x3FEEC709E0000000, 0x3FEEC709E0000000], 16);
const CP_L: usize = memory.data<u64>([0xBE3E2FE0145B01F5, 0xBE3E2FE0145B01F5], 16);
const IVLN2: usize = memory.data<u64>([0x3FF71547652B82FE, 0x3FF71547652B82FE], 16);
const IVLN2_H: usize = memory.data<u64>([0x3FF7154760000000, 0x3FF7154760000000], 16);
const IVLN2_L: usize = memory.data<u64>([0x3E54AE0BF85DDF44, 0x3E54AE0BF85DDF44], 16);

/**
 * log2 |x| as t1 + t2 with ~ 2^-64 relative error, for finite nonzero x (fdlibm e_pow.c):
 * |x| = 2^n m, m reduced around 1 or 1.5 so s = (m - b) / (m + b) has |s| < 0.1, s carried
 * as s_h + s_l (s_h with 21 bits so products with it are exact); 3 atanh(s) / s = 3 + s^2 +
 * s^4 L(s^2) summed in double-double and scaled by 2 / (3 ln2). Where |y| > 2^31 (then only
 * |x - 1| < 2^-20 can stay finite) a series in x - 1 is used instead.
 */
@inline function log2Split(ax: v128, hugeY: v128, out: usize): void {
  const sub53 = f64x2.lt(ax, K(MIN_NORMAL));
  const bits = sel(mul(ax, K(TWO_53)), ax, sub53);
  const high = i64x2.shr_u(bits, 32);
  const j = v128.and(high, K(MANT_HIGH));
  let nI = i64x2.sub(i64x2.shr_u(high, 20), K(EXP_BIAS_INT));
  nI = i64x2.sub(nI, v128.and(sub53, K(INT_53)));
  const oneHalf = v128.and(i64x2.gt_s(j, K(SQRT3_HALF_MANT)), i64x2.lt_s(j, K(SQRT3_MANT))); // b = 1.5
  const wrap = i64x2.ge_s(j, K(SQRT3_MANT)); // m >= sqrt 3: halve m, so b = 1
  nI = i64x2.sub(nI, wrap); // a true mask is -1
  const ix = i64x2.add(v128.or(j, K(ONE_HIGH)), v128.and(wrap, K(MINUS_HIDDEN)));
  const axn = v128.or(i64x2.shl(ix, 32), v128.and(bits, K(LOW_WORD)));
  const bp = sel(K(ONE_AND_HALF), K(ONE), oneHalf);

  const u = sub(axn, bp);
  const v = div(K(ONE), add(axn, bp));
  const ss = mul(u, v);
  const sh = clearLow(ss);
  const thHigh = i64x2.add(i64x2.add(v128.or(i64x2.shr_u(ix, 1), K(TH_BIAS)), K(TH_ROUND)), v128.and(oneHalf, K(TH_HALF)));
  let th = i64x2.shl(thHigh, 32); // m + b rounded to 21 bits
  let tl = sub(axn, sub(th, bp));
  const sl = mul(v, sub(sub(u, mul(sh, th)), mul(sh, tl)));
  let s2 = mul(ss, ss);
  let r = mul(mul(s2, s2), poly6(s2, L1, L2, L3, L4, L5, L6));
  r = add(r, mul(sl, add(sh, ss)));
  s2 = mul(sh, sh);
  th = clearLow(add(add(K(THREE), s2), r));
  tl = sub(r, sub(sub(th, K(THREE)), s2));
  const uu = mul(sh, th);
  const vv = add(mul(sl, th), mul(tl, ss));
  const ph = clearLow(add(uu, vv));
  const pl = sub(vv, sub(ph, uu));
  const zh = mul(K(CP_H), ph);
  const dpH = v128.and(oneHalf, K(DP_H1));
  const zl = add(add(mul(K(CP_L), ph), mul(pl, K(CP))), v128.and(oneHalf, K(DP_L1)));
  const tn = sub(i64x2.add(nI, K(MAGIC)), K(MAGIC));
  let t1 = clearLow(add(add(add(zh, zl), dpH), tn));
  let t2 = sub(zl, sub(sub(sub(t1, tn), dpH), zh));

  // |y| > 2^31 and x within 2^-20 of 1: log2 x from x - 1 - (x-1)^2/2 + (x-1)^3/3 - ...
  const t = sub(ax, K(ONE));
  const w = mul(mul(t, t), sub(K(HALF), mul(t, sub(K(THIRD_LONG), mul(t, K(QUARTER))))));
  const us = mul(K(IVLN2_H), t);
  const vs = sub(mul(t, K(IVLN2_L)), mul(w, K(IVLN2)));
  const t1s = clearLow(add(us, vs));
  const t2s = sub(vs, sub(t1s, us));
  const nearOne = v128.and(f64x2.ge(ax, K(NEAR_ONE_LO)), f64x2.lt(ax, K(NEAR_ONE_HI)));
  const series = v128.and(hugeY, nearOne);
  t1 = sel(t1s, t1, series);
  t2 = sel(t2s, t2, series);
  v128.store(out, t1);
  v128.store(out, t2, 16);
}

// Scratch for log2Split's two results (a static pair, so kernels stay allocation-free).
const LOG2_PAIR: usize = memory.data(32, 16);

/**
 * x^y with Math.pow semantics (ES2024 Number::exponentiate): y = 0 gives 1 even for NaN x;
 * (+-1)^(+-Infinity) and 1^NaN are NaN; a negative base needs an integer exponent (odd ones
 * keep the sign); signed zeros and infinities as the spec tabulates. Otherwise
 * 2^(y log2 |x|): y split into 21 + 32 bits, the product with t1 + t2 kept as p_h + p_l,
 * overflow/underflow decided on it exactly, and 2^(p_h + p_l) = 2^n e^(z ln2) with a
 * Remez form as in exp (fdlibm e_pow.c). Error < 1 ulp (fdlibm: about 0.5 ulp + 2^-64
 * relative in the exponent); <= 1 ulp from Math.pow (V8 uses a correctly rounded pow).
 */
@inline export function powLanes(x: v128, y: v128): v128 {
  const ax = f64x2.abs(x);
  const ay = f64x2.abs(y);
  log2Split(ax, f64x2.gt(ay, K(TWO_31)), LOG2_PAIR);
  const t1 = v128.load(LOG2_PAIR);
  const t2 = v128.load(LOG2_PAIR, 16);

  const y1 = clearLow(y);
  const pl = add(mul(sub(y, y1), t1), mul(y, t2));
  let ph = mul(y1, t1);
  const z = add(pl, ph);
  const over = v128.or(f64x2.gt(z, K(Z_MAX)), v128.and(f64x2.eq(z, K(Z_MAX)), f64x2.gt(add(pl, K(OVT)), sub(z, ph))));
  const under = v128.or(f64x2.lt(z, K(Z_MIN)), v128.and(f64x2.eq(z, K(Z_MIN)), f64x2.le(pl, sub(z, ph))));

  // n = nearest integer to z (from z's high word, as fdlibm), then 2^(z - n) by exp's method.
  const roundZ = f64x2.ge(f64x2.abs(z), K(ROUND_Z));
  const n = v128.and(roundZ, v128.or(f64x2.floor(add(f64x2.abs(clearLow(z)), K(HALF))), signOf(z)));
  ph = sub(ph, n);
  const tt = clearLow(add(pl, ph));
  const u = mul(tt, K(LG2_H));
  const v = add(mul(sub(pl, sub(tt, ph)), K(LN2)), mul(tt, K(LG2_L)));
  const zz = add(u, v);
  const w = sub(v, sub(zz, u));
  const c = expRemez(zz);
  const rr = sub(div(mul(zz, c), sub(c, K(TWO))), add(w, mul(zz, w)));
  let res = scale(sub(K(ONE), sub(rr, zz)), f64x2.max(f64x2.min(n, K(N_MAX)), K(N_MIN)));
  res = sel(K(INF), res, over);
  res = v128.andnot(res, under);

  // Sign and domain of a negative base.
  const yInt = f64x2.eq(f64x2.trunc(y), y);
  const halfY = mul(y, K(HALF));
  const yOdd = v128.and(yInt, f64x2.ne(f64x2.trunc(halfY), halfY));
  const xNeg = f64x2.lt(x, F(0.0));
  res = v128.xor(res, signOf(v128.and(xNeg, yOdd)));
  res = sel(K(NAN), res, v128.andnot(xNeg, yInt));

  // Exponents fdlibm answers directly.
  res = sel(mul(x, x), res, f64x2.eq(y, K(TWO)));
  res = sel(x, res, f64x2.eq(y, K(ONE)));
  res = sel(div(K(ONE), x), res, f64x2.eq(y, K(MINUS_ONE)));
  res = sel(f64x2.sqrt(x), res, v128.and(f64x2.eq(y, K(HALF)), i64x2.ge_s(x, I(0))));
  // x = +-0 or +-Infinity: |x| or 1/|x|, negated for an odd exponent of a negative base.
  const zx = sel(div(K(ONE), ax), ax, f64x2.lt(y, F(0.0)));
  const zxSigned = v128.xor(zx, v128.and(signOf(x), yOdd));
  res = sel(zxSigned, res, v128.or(f64x2.eq(ax, F(0.0)), f64x2.eq(ax, K(INF))));
  // y = +-Infinity: 0 or Infinity by whether |x| > 1 matches y > 0; NaN for |x| = 1.
  const grows = v128.not(v128.xor(f64x2.gt(ax, K(ONE)), f64x2.gt(y, F(0.0))));
  let yInfRes = v128.and(grows, K(INF));
  yInfRes = sel(K(NAN), yInfRes, f64x2.eq(ax, K(ONE)));
  res = sel(yInfRes, res, f64x2.eq(ay, K(INF)));
  res = sel(K(NAN), res, v128.or(f64x2.ne(x, x), f64x2.ne(y, y)));
  return sel(K(ONE), res, f64x2.eq(y, F(0.0)));
}
