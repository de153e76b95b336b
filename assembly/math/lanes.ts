// Lane helpers for the f64x2 math (see ../mathf64.ts): constants read from static memory,
// arithmetic shorthands, polynomial evaluation, select and exponent-field scaling.

// Vector constants live in static memory, two equal lanes each, and are read with K():
// V8 rebuilds a v128.const inside a loop with 3-4 instructions at every use, a load is one
// (1.5x on exp). Zero vectors stay literal: V8 makes those with a single xor.
@inline export function K(at: usize): v128 { return v128.load(at); }
export const ONE: usize = memory.data<f64>([1.0, 1.0], 16);
export const HALF: usize = memory.data<f64>([0.5, 0.5], 16);
export const TWO: usize = memory.data<f64>([2.0, 2.0], 16);
export const THREE: usize = memory.data<f64>([3.0, 3.0], 16);
export const MINUS_ONE: usize = memory.data<f64>([-1.0, -1.0], 16);
export const INF: usize = memory.data<f64>([Infinity, Infinity], 16);
export const MINUS_INF: usize = memory.data<f64>([-Infinity, -Infinity], 16);
export const NAN: usize = memory.data<f64>([NaN, NaN], 16);
// 1.5 * 2^52: adding it to an integer-valued double |k| < 2^51 leaves k in the low mantissa bits.
export const MAGIC: usize = memory.data<f64>([6755399441055744.0, 6755399441055744.0], 16);
export const MAGIC_PLUS_ONE: usize = memory.data<f64>([6755399441055745.0, 6755399441055745.0], 16);
export const MIN_NORMAL: usize = memory.data<f64>([2.2250738585072014e-308, 2.2250738585072014e-308], 16);
const SIGN: usize = memory.data<u64>([0x8000000000000000, 0x8000000000000000], 16);
const HIGH_WORD: usize = memory.data<u64>([0xFFFFFFFF00000000, 0xFFFFFFFF00000000], 16);
const EXP_BIAS: usize = memory.data<u64>([1023, 1023], 16);
export const TINY_28: usize = memory.data<u64>([0x3E30000000000000, 0x3E30000000000000], 16);

@inline export function F(x: f64): v128 { return f64x2.splat(x); }
@inline export function I(x: i64): v128 { return i64x2.splat(x); }
@inline export function add(a: v128, b: v128): v128 { return f64x2.add(a, b); }
@inline export function sub(a: v128, b: v128): v128 { return f64x2.sub(a, b); }
@inline export function mul(a: v128, b: v128): v128 { return f64x2.mul(a, b); }
@inline export function div(a: v128, b: v128): v128 { return f64x2.div(a, b); }
/** c0 + t (c1 + t (c2 + ...)): Horner, the evaluation order fdlibm uses. */
@inline function poly2(t: v128, c0: usize, c1: usize): v128 { return add(K(c0), mul(t, K(c1))); }
@inline function poly3(t: v128, c0: usize, c1: usize, c2: usize): v128 { return add(K(c0), mul(t, poly2(t, c1, c2))); }
@inline function poly4(t: v128, c0: usize, c1: usize, c2: usize, c3: usize): v128 { return add(K(c0), mul(t, poly3(t, c1, c2, c3))); }
@inline export function poly5(t: v128, c0: usize, c1: usize, c2: usize, c3: usize, c4: usize): v128 {
  return add(K(c0), mul(t, poly4(t, c1, c2, c3, c4)));
}
@inline export function poly6(t: v128, c0: usize, c1: usize, c2: usize, c3: usize, c4: usize, c5: usize): v128 {
  return add(K(c0), mul(t, poly5(t, c1, c2, c3, c4, c5)));
}
@inline export function sel(ifTrue: v128, ifFalse: v128, mask: v128): v128 { return v128.bitselect(ifTrue, ifFalse, mask); }
@inline export function signOf(x: v128): v128 { return v128.and(x, K(SIGN)); }
/** fdlibm's SET_LOW_WORD(x, 0): keeps 21 significant bits so products of two are exact. */
@inline export function clearLow(x: v128): v128 { return v128.and(x, K(HIGH_WORD)); }


/** 2^k for integer-valued k in [-1022, 1023], built from the exponent bits. */
@inline export function pow2(k: v128): v128 {
  return i64x2.shl(i64x2.add(add(k, K(MAGIC)), K(EXP_BIAS)), 52);
}

/** y * 2^k for integer k in [-1100, 1100] with a single rounding: two exact half steps,
 *  so a subnormal or overflowing result is rounded once, like fdlibm's scalbn. */
@inline export function scale(y: v128, k: v128): v128 {
  const k1 = f64x2.floor(mul(k, K(HALF)));
  return mul(mul(y, pow2(k1)), pow2(sub(k, k1)));
}

export const LN2_HI: usize = memory.data<u64>([0x3FE62E42FEE00000, 0x3FE62E42FEE00000], 16); // 32 bits: k * LN2_HI is exact
export const LN2_LO: usize = memory.data<u64>([0x3DEA39EF35793C76, 0x3DEA39EF35793C76], 16);
