// Forward-mode kernels: an elementwise op and its tangent update in one pass; and for reverse
// mode, a unary op's cotangent update in one pass.
//
// A Dual's tangent is k directions stacked on a leading axis, t[j * n + i]. The kernels read
// each primal element once, compute the op and its derivative there, and apply the derivative
// to all k directions before moving on, so the derivative is never written to memory and the
// k directions cost one pass, not k ops.
//
// Every derivative is the same sequence of roundings as the op's rule in src/ops (which the
// non-fused path and higher-order transforms run), so the two paths agree to the bit; the
// forward-mode tests check this. sin and cos share one range reduction (sincos_f64x2).
//
//   unary   <op>_dual_<dt>(out, tout, x, t, n, k)           out = op(x), tout_j = op'(x) t_j
//           <op>_vjp_<dt>(out, x, y, ct, n, k)             out_j = ct_j op'(x), y = op(x)
//   binary  <op>_dual_<dt>(out, tout, a, b, ta, tb, n, k, scalar)   sub, mul, div, maximum,
//           minimum, pow on same-shape a, b, or with one of them a single element without a
//           tangent (scalar = 1 for a, 2 for b); ta or tb may be 0 (a zero tangent)

import {
  ABS, COS, DIV, EXP, LOG, MAXIMUM, MINIMUM, MUL, POW, RECIPROCAL, SIGMOID, SIGN, SIN, SQRT, SQUARE, SUB,
  TAN, TANH, binaryOp, is, loadOne, narrow, ones, storeOne, unaryOp, whereOp, widenHigh, widenLow,
} from './ops';
import { sincos_f64x2, cos_of_last_f64x2 } from './mathf64';

@inline function splat<T>(v: f64): v128 { return v128.splat<T>(<T>v); }

/** op'(x) given y = op(x), for the ops other than sin and cos; each mirrors the op's rule. */
@inline function slopeOf<T, OP>(x: v128, y: v128): v128 {
  const one = splat<T>(1);
  if (is<OP, EXP>()) return y; // d e^x = e^x dx
  if (is<OP, LOG>()) return v128.div<T>(one, x); // d log x = dx / x
  if (is<OP, TAN>()) return v128.add<T>(one, v128.mul<T>(y, y)); // d tan x = (1 + tan^2 x) dx
  if (is<OP, TANH>()) return v128.sub<T>(one, v128.mul<T>(y, y)); // d tanh x = (1 - tanh^2 x) dx
  if (is<OP, SIGMOID>()) return v128.mul<T>(y, v128.sub<T>(one, y)); // d s = s (1 - s) dx
  if (is<OP, SQRT>()) return v128.div<T>(splat<T>(0.5), y); // d sqrt x = dx / (2 sqrt x)
  if (is<OP, SQUARE>()) return v128.mul<T>(splat<T>(2), x); // d x^2 = 2 x dx
  if (is<OP, RECIPROCAL>()) return v128.neg<T>(v128.mul<T>(y, y)); // d (1/x) = -(1/x)^2 dx
  if (is<OP, ABS>()) return unaryOp<T, SIGN>(x); // d |x| = sign(x) dx (0 at 0)
  return unreachable();
}

/**
 * One vector (or, with `single`, one lane) at byte offset o: out = op(x), and
 * tout_j = op'(x) t_j for the k directions, `plane` bytes apart.
 */
@inline function dualAt<T, OP>(single: bool, out: usize, tout: usize, x: usize, t: usize, o: usize, plane: usize, k: i32): void {
  const xv = single ? loadOne<T>(x + o) : v128.load(x + o);
  let y: v128, d: v128;
  if (is<OP, SIN>() || is<OP, COS>()) {
    let s: v128, c: v128;
    if (sizeof<T>() == 8) {
      s = sincos_f64x2(xv);
      c = cos_of_last_f64x2();
    } else {
      const sLo = sincos_f64x2(widenLow(xv));
      const cLo = cos_of_last_f64x2();
      const sHi = sincos_f64x2(widenHigh(xv));
      s = narrow(sLo, sHi);
      c = narrow(cLo, cos_of_last_f64x2());
    }
    // d sin x = cos x dx; d cos x = -sin x dx
    y = is<OP, SIN>() ? s : c;
    d = is<OP, SIN>() ? c : v128.neg<T>(s);
  } else {
    y = unaryOp<T, OP>(xv);
    d = slopeOf<T, OP>(xv, y);
  }
  if (single) storeOne<T>(out + o, y);
  else v128.store(out + o, y);
  let at = o;
  for (let j = 0; j < k; j++, at += plane) {
    if (single) storeOne<T>(tout + at, v128.mul<T>(d, loadOne<T>(t + at)));
    else v128.store(tout + at, v128.mul<T>(d, v128.load(t + at)));
  }
}

@inline function unaryDual<T, OP>(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void {
  if (n <= 0) return;
  const plane = <usize>n << alignof<T>();
  let o: usize = 0;
  for (; o + 16 <= plane; o += 16) dualAt<T, OP>(false, out, tout, x, t, o, plane, k);
  for (; o < plane; o += sizeof<T>()) dualAt<T, OP>(true, out, tout, x, t, o, plane, k);
}

/**
 * Reverse mode's counterpart: the cotangent of x from y = op(x) and the k rows of the output
 * cotangent, ctx_j = ct_j op'(x), with op'(x) computed once per element (the rule's
 * mul(ct, op'(x)), same roundings). sin and cos evaluate their derivative; the others read y.
 */
@inline function cotangentAt<T, OP>(single: bool, out: usize, x: usize, y: usize, ct: usize, o: usize, plane: usize, k: i32): void {
  const xv = single ? loadOne<T>(x + o) : v128.load(x + o);
  let d: v128;
  if (is<OP, SIN>()) d = unaryOp<T, COS>(xv);
  else if (is<OP, COS>()) d = v128.neg<T>(unaryOp<T, SIN>(xv));
  else d = slopeOf<T, OP>(xv, single ? loadOne<T>(y + o) : v128.load(y + o));
  let at = o;
  for (let j = 0; j < k; j++, at += plane) {
    if (single) storeOne<T>(out + at, v128.mul<T>(loadOne<T>(ct + at), d));
    else v128.store(out + at, v128.mul<T>(v128.load(ct + at), d));
  }
}

@inline function unaryCotangent<T, OP>(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void {
  if (n <= 0) return;
  const plane = <usize>n << alignof<T>();
  let o: usize = 0;
  for (; o + 16 <= plane; o += 16) cotangentAt<T, OP>(false, out, x, y, ct, o, plane, k);
  for (; o < plane; o += sizeof<T>()) cotangentAt<T, OP>(true, out, x, y, ct, o, plane, k);
}

/**
 * One vector (or lane) of a binary op at byte offset o: out = a op b and the tangent of each
 * of the k directions from ta, tb (either may be absent), in the rule's order of roundings
 * (src/ops/elementwise.ts). The weights of maximum, minimum and pow are computed once per
 * element, not per direction.
 */
@inline function binaryAt<T, OP>(single: bool, out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize,
  o: usize, plane: usize, k: i32, splatA: bool, splatB: bool, sa: v128, sb: v128): void {
  const hasA = ta != 0;
  const hasB = tb != 0;
  const va = splatA ? sa : single ? loadOne<T>(a + o) : v128.load(a + o);
  const vb = splatB ? sb : single ? loadOne<T>(b + o) : v128.load(b + o);
  const y = binaryOp<T, OP>(va, vb);
  if (single) storeOne<T>(out + o, y);
  else v128.store(out + o, y);
  const zero = splat<T>(0);
  const one = splat<T>(1);
  // The slopes of a weighted op: tangent = da wa + db wb.
  let wa = zero, wb = zero;
  if (is<OP, MAXIMUM>() || is<OP, MINIMUM>()) {
    // d max(a, b) = da where a > b, db where b > a, (da + db) / 2 at ties (JAX's convention)
    const wins = ones<T>(is<OP, MAXIMUM>() ? v128.gt<T>(va, vb) : v128.lt<T>(va, vb));
    wa = v128.add<T>(wins, v128.mul<T>(ones<T>(v128.eq<T>(va, vb)), splat<T>(0.5)));
    wb = v128.sub<T>(one, wa);
  } else if (is<OP, POW>()) {
    // d a^b = b a^(b-1) da + log(a) a^b db; 0 where b = 0 (first) and where a = 0 (second)
    if (hasA) {
      const slope = v128.mul<T>(vb, binaryOp<T, POW>(va, v128.sub<T>(vb, one)));
      wa = whereOp<T>(ones<T>(v128.eq<T>(vb, zero)), zero, slope);
    }
    if (hasB) {
      const atZero = ones<T>(v128.eq<T>(va, zero));
      const logA = unaryOp<T, LOG>(whereOp<T>(atZero, one, va));
      wb = whereOp<T>(atZero, zero, v128.mul<T>(logA, y));
    }
  }
  let at = o;
  for (let j = 0; j < k; j++, at += plane) {
    const da = !hasA ? zero : single ? loadOne<T>(ta + at) : v128.load(ta + at);
    const db = !hasB ? zero : single ? loadOne<T>(tb + at) : v128.load(tb + at);
    let t: v128;
    if (is<OP, MUL>()) {
      // d(a b) = da b + a db
      t = !hasB ? v128.mul<T>(da, vb) : !hasA ? v128.mul<T>(va, db) : v128.add<T>(v128.mul<T>(da, vb), v128.mul<T>(va, db));
    } else if (is<OP, DIV>()) {
      // d(a / b) = da / b - (a / b) db / b
      const right = v128.neg<T>(v128.div<T>(v128.mul<T>(y, db), vb));
      t = !hasB ? v128.div<T>(da, vb) : hasA ? v128.add<T>(v128.div<T>(da, vb), right) : right;
    } else if (is<OP, SUB>()) {
      // d(a - b) = da - db, the rule's da + (-db)
      t = !hasB ? da : hasA ? v128.add<T>(da, v128.neg<T>(db)) : v128.neg<T>(db);
    } else if (is<OP, MAXIMUM>() || is<OP, MINIMUM>() || is<OP, POW>()) {
      t = !hasB ? v128.mul<T>(da, wa) : !hasA ? v128.mul<T>(db, wb) : v128.add<T>(v128.mul<T>(da, wa), v128.mul<T>(db, wb));
    } else {
      t = unreachable();
    }
    if (single) storeOne<T>(tout + at, t);
    else v128.store(tout + at, t);
  }
}

/** `scalar`: 0 when a and b have n elements, 1 when a is one element, 2 when b is (no tangent). */
@inline function binaryDual<T, OP>(out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize, n: i32, k: i32, scalar: i32): void {
  if (n <= 0) return;
  const plane = <usize>n << alignof<T>();
  const splatA = scalar == 1;
  const splatB = scalar == 2;
  // The one code a caller passes at run time: anything but 0, 1, 2 traps rather than reading
  // a one-element operand as n elements.
  if (scalar != 0 && !splatA && !splatB) unreachable();
  const sa = v128.splat<T>(load<T>(a));
  const sb = v128.splat<T>(load<T>(b));
  let o: usize = 0;
  for (; o + 16 <= plane; o += 16) binaryAt<T, OP>(false, out, tout, a, b, ta, tb, o, plane, k, splatA, splatB, sa, sb);
  for (; o < plane; o += sizeof<T>()) binaryAt<T, OP>(true, out, tout, a, b, ta, tb, o, plane, k, splatA, splatB, sa, sb);
}

// ---- exported kernels --------------------------------------------------------------------

export function exp_dual_f64(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f64, EXP>(out, tout, x, t, n, k); }
export function log_dual_f64(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f64, LOG>(out, tout, x, t, n, k); }
export function sin_dual_f64(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f64, SIN>(out, tout, x, t, n, k); }
export function cos_dual_f64(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f64, COS>(out, tout, x, t, n, k); }
export function tan_dual_f64(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f64, TAN>(out, tout, x, t, n, k); }
export function tanh_dual_f64(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f64, TANH>(out, tout, x, t, n, k); }
export function sigmoid_dual_f64(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f64, SIGMOID>(out, tout, x, t, n, k); }
export function sqrt_dual_f64(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f64, SQRT>(out, tout, x, t, n, k); }
export function square_dual_f64(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f64, SQUARE>(out, tout, x, t, n, k); }
export function reciprocal_dual_f64(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f64, RECIPROCAL>(out, tout, x, t, n, k); }
export function abs_dual_f64(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f64, ABS>(out, tout, x, t, n, k); }

export function exp_dual_f32(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f32, EXP>(out, tout, x, t, n, k); }
export function log_dual_f32(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f32, LOG>(out, tout, x, t, n, k); }
export function sin_dual_f32(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f32, SIN>(out, tout, x, t, n, k); }
export function cos_dual_f32(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f32, COS>(out, tout, x, t, n, k); }
export function tan_dual_f32(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f32, TAN>(out, tout, x, t, n, k); }
export function tanh_dual_f32(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f32, TANH>(out, tout, x, t, n, k); }
export function sigmoid_dual_f32(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f32, SIGMOID>(out, tout, x, t, n, k); }
export function sqrt_dual_f32(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f32, SQRT>(out, tout, x, t, n, k); }
export function square_dual_f32(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f32, SQUARE>(out, tout, x, t, n, k); }
export function reciprocal_dual_f32(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f32, RECIPROCAL>(out, tout, x, t, n, k); }
export function abs_dual_f32(out: usize, tout: usize, x: usize, t: usize, n: i32, k: i32): void { unaryDual<f32, ABS>(out, tout, x, t, n, k); }

export function sub_dual_f64(out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize, n: i32, k: i32, scalar: i32): void { binaryDual<f64, SUB>(out, tout, a, b, ta, tb, n, k, scalar); }
export function mul_dual_f64(out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize, n: i32, k: i32, scalar: i32): void { binaryDual<f64, MUL>(out, tout, a, b, ta, tb, n, k, scalar); }
export function div_dual_f64(out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize, n: i32, k: i32, scalar: i32): void { binaryDual<f64, DIV>(out, tout, a, b, ta, tb, n, k, scalar); }
export function sub_dual_f32(out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize, n: i32, k: i32, scalar: i32): void { binaryDual<f32, SUB>(out, tout, a, b, ta, tb, n, k, scalar); }
export function mul_dual_f32(out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize, n: i32, k: i32, scalar: i32): void { binaryDual<f32, MUL>(out, tout, a, b, ta, tb, n, k, scalar); }
export function div_dual_f32(out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize, n: i32, k: i32, scalar: i32): void { binaryDual<f32, DIV>(out, tout, a, b, ta, tb, n, k, scalar); }
export function maximum_dual_f64(out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize, n: i32, k: i32, scalar: i32): void { binaryDual<f64, MAXIMUM>(out, tout, a, b, ta, tb, n, k, scalar); }
export function minimum_dual_f64(out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize, n: i32, k: i32, scalar: i32): void { binaryDual<f64, MINIMUM>(out, tout, a, b, ta, tb, n, k, scalar); }
export function pow_dual_f64(out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize, n: i32, k: i32, scalar: i32): void { binaryDual<f64, POW>(out, tout, a, b, ta, tb, n, k, scalar); }
export function maximum_dual_f32(out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize, n: i32, k: i32, scalar: i32): void { binaryDual<f32, MAXIMUM>(out, tout, a, b, ta, tb, n, k, scalar); }
export function minimum_dual_f32(out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize, n: i32, k: i32, scalar: i32): void { binaryDual<f32, MINIMUM>(out, tout, a, b, ta, tb, n, k, scalar); }
export function pow_dual_f32(out: usize, tout: usize, a: usize, b: usize, ta: usize, tb: usize, n: i32, k: i32, scalar: i32): void { binaryDual<f32, POW>(out, tout, a, b, ta, tb, n, k, scalar); }

export function log_vjp_f64(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f64, LOG>(out, x, y, ct, n, k); }
export function sin_vjp_f64(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f64, SIN>(out, x, y, ct, n, k); }
export function cos_vjp_f64(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f64, COS>(out, x, y, ct, n, k); }
export function tan_vjp_f64(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f64, TAN>(out, x, y, ct, n, k); }
export function tanh_vjp_f64(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f64, TANH>(out, x, y, ct, n, k); }
export function sigmoid_vjp_f64(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f64, SIGMOID>(out, x, y, ct, n, k); }
export function sqrt_vjp_f64(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f64, SQRT>(out, x, y, ct, n, k); }
export function square_vjp_f64(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f64, SQUARE>(out, x, y, ct, n, k); }
export function reciprocal_vjp_f64(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f64, RECIPROCAL>(out, x, y, ct, n, k); }
export function abs_vjp_f64(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f64, ABS>(out, x, y, ct, n, k); }

export function log_vjp_f32(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f32, LOG>(out, x, y, ct, n, k); }
export function sin_vjp_f32(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f32, SIN>(out, x, y, ct, n, k); }
export function cos_vjp_f32(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f32, COS>(out, x, y, ct, n, k); }
export function tan_vjp_f32(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f32, TAN>(out, x, y, ct, n, k); }
export function tanh_vjp_f32(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f32, TANH>(out, x, y, ct, n, k); }
export function sigmoid_vjp_f32(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f32, SIGMOID>(out, x, y, ct, n, k); }
export function sqrt_vjp_f32(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f32, SQRT>(out, x, y, ct, n, k); }
export function square_vjp_f32(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f32, SQUARE>(out, x, y, ct, n, k); }
export function reciprocal_vjp_f32(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f32, RECIPROCAL>(out, x, y, ct, n, k); }
export function abs_vjp_f32(out: usize, x: usize, y: usize, ct: usize, n: i32, k: i32): void { unaryCotangent<f32, ABS>(out, x, y, ct, n, k); }

// ---- max / min reductions -----------------------------------------------------------------
//
// x is [outer, len, inner] around the reduced axes and y [outer, inner] its max or min.
// mask = (x == y) marks the positions that attain it (several at ties, none for a NaN y).
//
//   extremum_jvp_<dt>(out, x, y, t, outer, len, inner, k)   out [k, outer, inner] =
//       sum(t * mask) / sum(mask) over len, for t [k, outer, len, inner]: the mean of the
//       tangent over the attaining positions (JAX's even split), within rounding of the rule
//       (the sums run in another order than the sum kernel's)
//   extremum_vjp_<dt>(out, x, y, ct, outer, len, inner, k)  out [k, outer, len, inner] =
//       (ct / sum(mask)) * mask, for ct [k, outer, inner]: the rule's roundings (the count is
//       an exact integer), so the same bits
//
// One pass each instead of the rule's four full-size kernels. inner = 1 vectorises along the
// contiguous row; inner > 1 vectorises across inner and walks len with stride inner.

@inline function lanesSum<T>(v: v128): T {
  if (sizeof<T>() == 8) return <T>(f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1));
  return <T>((f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3)));
}

/** mask at p: 1 where x equals y, else 0, for a vector or (single) lane 0. */
@inline function attains<T>(single: bool, p: usize, yv: v128): v128 {
  return ones<T>(v128.eq<T>(single ? loadOne<T>(p) : v128.load(p), yv));
}

/** How many elements of the contiguous row x[0..len) equal yo. */
@inline function rowCount<T>(x: usize, yo: T, len: i32): T {
  const row = <usize>len * sizeof<T>();
  const yv = v128.splat<T>(yo);
  let count: v128 = v128.splat<T>(<T>0);
  let p: usize = 0;
  for (; p + 16 <= row; p += 16) count = v128.add<T>(count, attains<T>(false, x + p, yv));
  let tail: T = 0;
  for (; p < row; p += sizeof<T>()) tail += load<T>(x + p) == yo ? <T>1 : <T>0;
  return lanesSum<T>(count) + tail;
}

@inline function extremumRows<T>(transpose: bool, out: usize, x: usize, y: usize, src: usize, outer: i32, len: i32, k: i32): void {
  const S = sizeof<T>();
  const row = <usize>len * S;
  for (let o = 0; o < outer; o++) {
    const yo = load<T>(y + <usize>o * S);
    const yv = v128.splat<T>(yo);
    const xr = x + <usize>o * row;
    const count = rowCount<T>(xr, yo, len);
    for (let j = 0; j < k; j++) {
      const reduced = (<usize>j * <usize>outer + <usize>o) * S; // [j, o] in [k, outer]
      const full = <usize>j * <usize>outer * row + <usize>o * row; // row [j, o] in [k, outer, len]
      let p: usize = 0;
      if (transpose) {
        const q = load<T>(src + reduced) / count;
        const qv = v128.splat<T>(q);
        for (; p + 16 <= row; p += 16) v128.store(out + full + p, v128.mul<T>(qv, attains<T>(false, xr + p, yv)));
        for (; p < row; p += S) store<T>(out + full + p, q * (load<T>(xr + p) == yo ? <T>1 : <T>0));
      } else {
        let acc: v128 = v128.splat<T>(<T>0);
        for (; p + 16 <= row; p += 16) acc = v128.add<T>(acc, v128.mul<T>(v128.load(src + full + p), attains<T>(false, xr + p, yv)));
        let tail: T = 0;
        for (; p < row; p += S) tail += load<T>(src + full + p) * (load<T>(xr + p) == yo ? <T>1 : <T>0);
        store<T>(out + reduced, (lanesSum<T>(acc) + tail) / count);
      }
    }
  }
}

/** Columns [i, i + lanes) (or, single, column i in lane 0) of block o. */
@inline function extremumColumns<T>(transpose: bool, single: bool, out: usize, x: usize, y: usize, src: usize,
  outer: i32, len: i32, inner: i32, k: i32, o: i32, i: i32): void {
  const S = sizeof<T>();
  const stride = <usize>inner * S;
  const block = <usize>len * stride;
  const at = <usize>o * stride + <usize>i * S; // [o, i] in [outer, inner]
  const yv = single ? loadOne<T>(y + at) : v128.load(y + at);
  const xc = x + <usize>o * block + <usize>i * S;
  let count: v128 = v128.splat<T>(<T>0);
  for (let l = 0; l < len; l++) count = v128.add<T>(count, attains<T>(single, xc + <usize>l * stride, yv));
  for (let j = 0; j < k; j++) {
    const reduced = <usize>j * <usize>outer * stride + at;
    const full = <usize>j * <usize>outer * block + <usize>o * block + <usize>i * S;
    if (transpose) {
      const q = v128.div<T>(single ? loadOne<T>(src + reduced) : v128.load(src + reduced), count);
      for (let l = 0; l < len; l++) {
        const off = <usize>l * stride;
        const v = v128.mul<T>(q, attains<T>(single, xc + off, yv));
        if (single) storeOne<T>(out + full + off, v);
        else v128.store(out + full + off, v);
      }
    } else {
      let acc: v128 = v128.splat<T>(<T>0);
      for (let l = 0; l < len; l++) {
        const off = <usize>l * stride;
        const tv = single ? loadOne<T>(src + full + off) : v128.load(src + full + off);
        acc = v128.add<T>(acc, v128.mul<T>(tv, attains<T>(single, xc + off, yv)));
      }
      if (single) storeOne<T>(out + reduced, v128.div<T>(acc, count));
      else v128.store(out + reduced, v128.div<T>(acc, count));
    }
  }
}

@inline function extremumKernel<T>(transpose: bool, out: usize, x: usize, y: usize, src: usize, outer: i32, len: i32, inner: i32, k: i32): void {
  if (outer <= 0 || inner <= 0) return;
  if (inner == 1) {
    extremumRows<T>(transpose, out, x, y, src, outer, len, k);
    return;
  }
  const L = 16 / <i32>sizeof<T>();
  for (let o = 0; o < outer; o++) {
    let i = 0;
    for (; i + L <= inner; i += L) extremumColumns<T>(transpose, false, out, x, y, src, outer, len, inner, k, o, i);
    for (; i < inner; i++) extremumColumns<T>(transpose, true, out, x, y, src, outer, len, inner, k, o, i);
  }
}

export function extremum_jvp_f64(out: usize, x: usize, y: usize, t: usize, outer: i32, len: i32, inner: i32, k: i32): void { extremumKernel<f64>(false, out, x, y, t, outer, len, inner, k); }
export function extremum_jvp_f32(out: usize, x: usize, y: usize, t: usize, outer: i32, len: i32, inner: i32, k: i32): void { extremumKernel<f32>(false, out, x, y, t, outer, len, inner, k); }
export function extremum_vjp_f64(out: usize, x: usize, y: usize, ct: usize, outer: i32, len: i32, inner: i32, k: i32): void { extremumKernel<f64>(true, out, x, y, ct, outer, len, inner, k); }
export function extremum_vjp_f32(out: usize, x: usize, y: usize, ct: usize, outer: i32, len: i32, inner: i32, k: i32): void { extremumKernel<f32>(true, out, x, y, ct, outer, len, inner, k); }
