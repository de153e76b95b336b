// The elementwise ops on one v128 of lanes, shared by the plain kernels (elementwise.ts) and
// the forward-mode kernels (dual.ts). Op codes are compile-time constants: every kernel that
// takes one inlines its own loop and binaryen folds the dispatch away. Every dispatch names
// its last op and ends in unreachable(), so a new op code without a branch traps instead of
// running another op's code (the trap folds away with the dispatch: it costs no bytes).
// f32 transcendentals and pow run the f64 code on two f64x2 halves and round once: within
// 0.5 f32 ulp + 2^-50 relative of the true value, so Math.fround(Math.f(x)) except in
// near-ties (the tests find no difference on any sampled point).

import {
  exp_f64x2, expm1_f64x2, log_f64x2, log1p_f64x2, sin_f64x2, cos_f64x2, tan_f64x2, tanh_f64x2, sigmoid_f64x2, pow_f64x2,
  erf_f64x2, softplus_f64x2,
} from './mathf64';

// ---- ops ---------------------------------------------------------------------------------

// Op tags. A kernel takes its op as a type argument, so that AssemblyScript knows the op when
// it compiles the kernel and compiles only that op's branch of every dispatch below (is<OP, X>()
// is a constant there). With op codes passed as values, every kernel compiled every op's code
// and left the dead branches to binaryen: a 44 MB unoptimised module and minutes of build.
@final export class NEG {}
@final export class ABS {}
@final export class SIGN {}
@final export class SQRT {}
@final export class SQUARE {}
@final export class RECIPROCAL {}
@final export class EXP {}
@final export class EXPM1 {}
@final export class LOG1P {}
@final export class LOG {}
@final export class SIN {}
@final export class COS {}
@final export class TAN {}
@final export class TANH {}
@final export class SIGMOID {}
@final export class ADD {}
@final export class SUB {}
@final export class MUL {}
@final export class DIV {}
@final export class MAXIMUM {}
@final export class MINIMUM {}
@final export class GREATER {}
@final export class LESS {}
@final export class EQUAL {}
@final export class GREATER_EQUAL {}
@final export class LESS_EQUAL {}
@final export class POW {}
@final export class ERF {}
@final export class SOFTPLUS {}

/** Whether op tag A is B: a compile-time constant. */
@inline export function is<A, B>(): bool { return idof<A>() == idof<B>(); }

/** Ops that cost a few cycles per vector (not transcendental, not pow): their loops are unrolled four vectors deep. */
@inline export function cheap<OP>(): bool {
  return !(is<OP, EXP>() || is<OP, EXPM1>() || is<OP, LOG>() || is<OP, LOG1P>() || is<OP, SIN>() || is<OP, COS>() || is<OP, TAN>() || is<OP, TANH>()
    || is<OP, SIGMOID>() || is<OP, POW>() || is<OP, ERF>() || is<OP, SOFTPLUS>());
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

@inline function transcendental<OP>(x: v128): v128 {
  if (is<OP, EXP>()) return exp_f64x2(x);
  if (is<OP, EXPM1>()) return expm1_f64x2(x);
  if (is<OP, LOG1P>()) return log1p_f64x2(x);
  if (is<OP, LOG>()) return log_f64x2(x);
  if (is<OP, SIN>()) return sin_f64x2(x);
  if (is<OP, COS>()) return cos_f64x2(x);
  if (is<OP, TAN>()) return tan_f64x2(x);
  if (is<OP, TANH>()) return tanh_f64x2(x);
  if (is<OP, SIGMOID>()) return sigmoid_f64x2(x);
  if (is<OP, ERF>()) return erf_f64x2(x);
  if (is<OP, SOFTPLUS>()) return softplus_f64x2(x);
  return unreachable();
}

@inline export function unaryOp<T, OP>(x: v128): v128 {
  if (is<OP, NEG>()) return v128.neg<T>(x);
  if (is<OP, ABS>()) return v128.abs<T>(x);
  if (is<OP, SIGN>()) {
    // int32: the lanes' masks are -1 where true, so (x < 0) - (x > 0) is -1, 0 or 1.
    if (isInteger<T>()) return v128.sub<T>(v128.lt<T>(x, v128.splat<T>(<T>0)), v128.gt<T>(x, v128.splat<T>(<T>0)));
    // Math.sign: +-1 with x's sign; +-0 and NaN are returned as they are.
    const unit = v128.or(v128.splat<T>(<T>1), v128.and(x, signMask<T>()));
    return v128.bitselect(unit, x, v128.and(v128.ne<T>(x, v128.splat<T>(<T>0)), v128.eq<T>(x, x)));
  }
  if (is<OP, SQRT>()) return v128.sqrt<T>(x);
  if (is<OP, SQUARE>()) return v128.mul<T>(x, x);
  if (is<OP, RECIPROCAL>()) return v128.div<T>(v128.splat<T>(<T>1), x);
  if (sizeof<T>() == 8) return transcendental<OP>(x);
  return narrow(transcendental<OP>(widenLow(x)), transcendental<OP>(widenHigh(x)));
}

@inline export function binaryOp<T, OP>(x: v128, y: v128): v128 {
  if (is<OP, ADD>()) return v128.add<T>(x, y);
  if (is<OP, SUB>()) return v128.sub<T>(x, y);
  if (is<OP, MUL>()) return v128.mul<T>(x, y);
  if (is<OP, DIV>()) return v128.div<T>(x, y);
  // Wasm min/max propagate NaN and order -0 < +0, exactly as Math.min/Math.max.
  if (is<OP, MAXIMUM>()) return v128.max<T>(x, y);
  if (is<OP, MINIMUM>()) return v128.min<T>(x, y);
  if (is<OP, GREATER>()) return ones<T>(v128.gt<T>(x, y));
  if (is<OP, LESS>()) return ones<T>(v128.lt<T>(x, y));
  if (is<OP, EQUAL>()) return ones<T>(v128.eq<T>(x, y));
  if (is<OP, GREATER_EQUAL>()) return ones<T>(v128.ge<T>(x, y));
  if (is<OP, LESS_EQUAL>()) return ones<T>(v128.le<T>(x, y));
  if (is<OP, POW>()) {
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
