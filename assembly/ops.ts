// The elementwise ops on one v128 of lanes, shared by the plain kernels (elementwise.ts) and
// the forward-mode kernels (dual.ts). Op codes are compile-time constants: every kernel that
// takes one inlines its own loop and binaryen folds the dispatch away. Every dispatch names
// its last op and ends in unreachable(), so a new op code without a branch traps instead of
// running another op's code (the trap folds away with the dispatch: it costs no bytes).
// f32 transcendentals and pow run the f64 code on two f64x2 halves and round once: within
// 0.5 f32 ulp + 2^-50 relative of the true value, so Math.fround(Math.f(x)) except in
// near-ties (the tests find no difference on any sampled point).

import {
  exp_f64x2, log_f64x2, sin_f64x2, cos_f64x2, tan_f64x2, tanh_f64x2, sigmoid_f64x2, pow_f64x2,
} from './mathf64';

// ---- ops ---------------------------------------------------------------------------------

export const NEG: i32 = 0;
export const ABS: i32 = 1;
export const SIGN: i32 = 2;
export const SQRT: i32 = 3;
export const SQUARE: i32 = 4;
export const RECIPROCAL: i32 = 5;
export const EXP: i32 = 10; // from here on unary ops are transcendental
export const LOG: i32 = 11;
export const SIN: i32 = 12;
export const COS: i32 = 13;
export const TAN: i32 = 14;
export const TANH: i32 = 15;
export const SIGMOID: i32 = 16;
export const ADD: i32 = 20;
export const SUB: i32 = 21;
export const MUL: i32 = 22;
export const DIV: i32 = 23;
export const MAXIMUM: i32 = 24;
export const MINIMUM: i32 = 25;
export const GREATER: i32 = 26;
export const LESS: i32 = 27;
export const EQUAL: i32 = 28;
export const GREATER_EQUAL: i32 = 29;
export const LESS_EQUAL: i32 = 30;
export const POW: i32 = 31;

/** Ops that cost a few cycles per vector: their loops are unrolled four vectors deep. */
@inline export function cheap(op: i32): bool {
  return op < EXP || (op >= ADD && op < POW);
}

@inline export function lanes<T>(): usize { return 16 / sizeof<T>(); }

@inline function signMask<T>(): v128 {
  return sizeof<T>() == 8 ? i64x2.splat(<i64>0x8000000000000000) : i32x4.splat(0x80000000);
}

/** Comparison mask to 1.0 / 0.0 in the lane type. */
@inline export function ones<T>(mask: v128): v128 { return v128.and(mask, v128.splat<T>(<T>1)); }

@inline export function widenLow(x: v128): v128 { return f64x2.promote_low_f32x4(x); }
@inline export function widenHigh(x: v128): v128 { return f64x2.promote_low_f32x4(i64x2.shuffle(x, x, 1, 1)); }
@inline export function narrow(lo: v128, hi: v128): v128 {
  return i64x2.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 2);
}

@inline function transcendental(op: i32, x: v128): v128 {
  if (op == EXP) return exp_f64x2(x);
  if (op == LOG) return log_f64x2(x);
  if (op == SIN) return sin_f64x2(x);
  if (op == COS) return cos_f64x2(x);
  if (op == TAN) return tan_f64x2(x);
  if (op == TANH) return tanh_f64x2(x);
  if (op == SIGMOID) return sigmoid_f64x2(x);
  return unreachable();
}

@inline export function unaryOp<T>(op: i32, x: v128): v128 {
  if (op == NEG) return v128.neg<T>(x);
  if (op == ABS) return v128.abs<T>(x);
  if (op == SIGN) {
    // Math.sign: +-1 with x's sign; +-0 and NaN are returned as they are.
    const unit = v128.or(v128.splat<T>(<T>1), v128.and(x, signMask<T>()));
    return v128.bitselect(unit, x, v128.and(v128.ne<T>(x, v128.splat<T>(<T>0)), v128.eq<T>(x, x)));
  }
  if (op == SQRT) return v128.sqrt<T>(x);
  if (op == SQUARE) return v128.mul<T>(x, x);
  if (op == RECIPROCAL) return v128.div<T>(v128.splat<T>(<T>1), x);
  if (sizeof<T>() == 8) return transcendental(op, x);
  return narrow(transcendental(op, widenLow(x)), transcendental(op, widenHigh(x)));
}

@inline export function binaryOp<T>(op: i32, x: v128, y: v128): v128 {
  if (op == ADD) return v128.add<T>(x, y);
  if (op == SUB) return v128.sub<T>(x, y);
  if (op == MUL) return v128.mul<T>(x, y);
  if (op == DIV) return v128.div<T>(x, y);
  // Wasm min/max propagate NaN and order -0 < +0, exactly as Math.min/Math.max.
  if (op == MAXIMUM) return v128.max<T>(x, y);
  if (op == MINIMUM) return v128.min<T>(x, y);
  if (op == GREATER) return ones<T>(v128.gt<T>(x, y));
  if (op == LESS) return ones<T>(v128.lt<T>(x, y));
  if (op == EQUAL) return ones<T>(v128.eq<T>(x, y));
  if (op == GREATER_EQUAL) return ones<T>(v128.ge<T>(x, y));
  if (op == LESS_EQUAL) return ones<T>(v128.le<T>(x, y));
  if (op == POW) {
    if (sizeof<T>() == 8) return pow_f64x2(x, y);
    return narrow(pow_f64x2(widenLow(x), widenLow(y)), pow_f64x2(widenHigh(x), widenHigh(y)));
  }
  return unreachable();
}

/** where: a where cond is nonzero (NaN counts as nonzero), else b. */
@inline export function whereOp<T>(cond: v128, x: v128, y: v128): v128 {
  return v128.bitselect(x, y, v128.ne<T>(cond, v128.splat<T>(<T>0)));
}

/** One element into lane 0 (the other lanes are zero), for loop tails. */
@inline export function loadOne<T>(p: usize): v128 {
  return sizeof<T>() == 8 ? v128.load64_zero(p) : v128.load32_zero(p);
}

/** Lane 0 to memory. */
@inline export function storeOne<T>(p: usize, v: v128): void {
  if (sizeof<T>() == 8) v128.store64_lane(p, v, 0);
  else v128.store32_lane(p, v, 0);
}
