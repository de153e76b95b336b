// Elementwise kernels (ABI in index.ts): unary maps, same-shape and broadcasting binary maps,
// and where, for f64 and f32.
//
// Each op is written once, on a v128 of lanes (unaryOp, binaryOp in ops.ts). The loops are
// generic in the dtype and take the op as a compile-time constant, so every exported kernel
// inlines its own loop and binaryen folds the op dispatch away. Tails run the same vector op
// on one loaded lane, so an element's result never depends on where it sits in the buffer.

import {
  NEG, ABS, SIGN, SQRT, SQUARE, RECIPROCAL, EXP, EXPM1, LOG, LOG1P, SIN, COS, TAN, TANH, SIGMOID,
  ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, GREATER, LESS, EQUAL, GREATER_EQUAL, LESS_EQUAL, POW, ERF, SOFTPLUS,
  binaryOp, cheap, is, lanes, loadOne, storeOne, unaryOp, whereOp,
} from './ops';

// ---- loads -------------------------------------------------------------------------------

// How a row reads an operand: contiguous vectors, one broadcast element, or a strided gather.
const CONTIG: i32 = 0;
const SPLAT: i32 = 1;
const STRIDED: i32 = 2;

@inline function gather<T>(p: usize, stride: usize): v128 {
  if (sizeof<T>() == 8) return v128.load64_lane(p + stride, v128.load64_zero(p), 1);
  let v = v128.load32_zero(p);
  v = v128.load32_lane(p + stride, v, 1);
  v = v128.load32_lane(p + 2 * stride, v, 2);
  return v128.load32_lane(p + 3 * stride, v, 3);
}

@inline function operand<T>(mode: i32, p: usize, stride: usize, splat: v128): v128 {
  if (mode == CONTIG) return v128.load(p);
  if (mode == SPLAT) return splat;
  if (mode == STRIDED) return gather<T>(p, stride);
  return unreachable();
}

/** One element for a loop tail; the caller steps p by the stride. */
@inline function operandOne<T>(mode: i32, p: usize, splat: v128): v128 {
  if (mode == SPLAT) return splat;
  if (mode == CONTIG || mode == STRIDED) return loadOne<T>(p);
  return unreachable();
}

// ---- rows --------------------------------------------------------------------------------

@inline function unaryRow<T, OP>(out: usize, a: usize, n: i32): void {
  if (n <= 0) return;
  const end = <usize>n << alignof<T>();
  let o: usize = 0;
  if (cheap<OP>()) {
    for (; o + 64 <= end; o += 64) {
      v128.store(out + o, unaryOp<T, OP>(v128.load(a + o)));
      v128.store(out + o + 16, unaryOp<T, OP>(v128.load(a + o + 16)));
      v128.store(out + o + 32, unaryOp<T, OP>(v128.load(a + o + 32)));
      v128.store(out + o + 48, unaryOp<T, OP>(v128.load(a + o + 48)));
    }
  }
  for (; o + 16 <= end; o += 16) v128.store(out + o, unaryOp<T, OP>(v128.load(a + o)));
  for (; o < end; o += sizeof<T>()) storeOne<T>(out + o, unaryOp<T, OP>(loadOne<T>(a + o)));
}

/** out[j] = op(a[j * sa], b[j * sb]) for j < len; strides in elements, out contiguous. */
@inline function binaryRow<T, OP>(
  modeA: i32, modeB: i32, out: usize, a: usize, b: usize, sa: i32, sb: i32, len: i32,
): void {
  const strideA = <usize>(sa * <i32>sizeof<T>()); // wraps for negative strides, as intended
  const strideB = <usize>(sb * <i32>sizeof<T>());
  const stepA = strideA * lanes<T>();
  const stepB = strideB * lanes<T>();
  const va = modeA == SPLAT ? v128.splat<T>(load<T>(a)) : v128.splat<T>(<T>0);
  const vb = modeB == SPLAT ? v128.splat<T>(load<T>(b)) : v128.splat<T>(<T>0);
  const n = <usize>len;
  let j: usize = 0;
  if (cheap<OP>() && modeA != STRIDED && modeB != STRIDED) {
    for (; j + 4 * lanes<T>() <= n; j += 4 * lanes<T>()) {
      v128.store(out, binaryOp<T, OP>(operand<T>(modeA, a, 0, va), operand<T>(modeB, b, 0, vb)));
      v128.store(out + 16, binaryOp<T, OP>(operand<T>(modeA, a + stepA, 0, va), operand<T>(modeB, b + stepB, 0, vb)));
      v128.store(out + 32, binaryOp<T, OP>(operand<T>(modeA, a + 2 * stepA, 0, va), operand<T>(modeB, b + 2 * stepB, 0, vb)));
      v128.store(out + 48, binaryOp<T, OP>(operand<T>(modeA, a + 3 * stepA, 0, va), operand<T>(modeB, b + 3 * stepB, 0, vb)));
      out += 64;
      a += 4 * stepA;
      b += 4 * stepB;
    }
  }
  for (; j + lanes<T>() <= n; j += lanes<T>()) {
    v128.store(out, binaryOp<T, OP>(operand<T>(modeA, a, strideA, va), operand<T>(modeB, b, strideB, vb)));
    out += 16;
    a += stepA;
    b += stepB;
  }
  for (; j < n; j++) {
    storeOne<T>(out, binaryOp<T, OP>(operandOne<T>(modeA, a, va), operandOne<T>(modeB, b, vb)));
    out += sizeof<T>();
    a += strideA;
    b += strideB;
  }
}

/** where over a row; `strided` gathers every operand (a stride of 0 included). */
@inline function whereRow<T>(
  strided: bool, out: usize, c: usize, a: usize, b: usize, sc: i32, sa: i32, sb: i32, len: i32,
): void {
  const strideC = <usize>(sc * <i32>sizeof<T>());
  const strideA = <usize>(sa * <i32>sizeof<T>());
  const strideB = <usize>(sb * <i32>sizeof<T>());
  const n = <usize>len;
  let j: usize = 0;
  for (; j + lanes<T>() <= n; j += lanes<T>()) {
    const r = strided
      ? whereOp<T>(gather<T>(c, strideC), gather<T>(a, strideA), gather<T>(b, strideB))
      : whereOp<T>(v128.load(c), v128.load(a), v128.load(b));
    v128.store(out, r);
    out += 16;
    c += strideC * lanes<T>();
    a += strideA * lanes<T>();
    b += strideB * lanes<T>();
  }
  for (; j < n; j++) {
    storeOne<T>(out, whereOp<T>(loadOne<T>(c), loadOne<T>(a), loadOne<T>(b)));
    out += sizeof<T>();
    c += strideC;
    a += strideA;
    b += strideB;
  }
}

// ---- broadcasting ------------------------------------------------------------------------
//
// meta = [shape..., strides of operand 0..., strides of operand 1..., ...], i32 elements.
// The innermost dim is a row handed to a row loop picked once from its strides; the outer
// dims advance an odometer whose digits and per-operand row offsets live in static scratch
// (kernels never allocate; wasm runs one kernel at a time). The scratch holds MAX_NDIM outer
// digits, so ndim <= MAX_NDIM + 1; callers collapse adjacent dims and pass far fewer.

const MAX_NDIM: i32 = 64;
const DIGITS: usize = memory.data(MAX_NDIM * 4, 16);
const OFFSETS: usize = memory.data(16, 16); // element offset of the current row, per operand

@inline function metaAt(meta: usize, i: i32): i32 { return load<i32>(meta + (<usize>i << 2)); }

/** Resets the odometer; returns the number of rows, 0 when the shape is empty. */
@inline function startRows(meta: usize, ndim: i32): i32 {
  let rows = metaAt(meta, ndim - 1) > 0 ? 1 : 0;
  for (let d = 0; d < ndim - 1; d++) {
    rows *= metaAt(meta, d);
    store<i32>(DIGITS + (<usize>d << 2), 0);
  }
  v128.store(OFFSETS, i32x4.splat(0));
  return rows;
}

/** Moves to the next row: bumps the last outer digit, carrying leftwards. */
@inline function nextRow(meta: usize, ndim: i32, operands: i32): void {
  for (let d = ndim - 2; d >= 0; d--) {
    const digitAt = DIGITS + (<usize>d << 2);
    const extent = metaAt(meta, d);
    const digit = load<i32>(digitAt) + 1;
    const rolled = digit == extent;
    store<i32>(digitAt, rolled ? 0 : digit);
    for (let k = 0; k < operands; k++) {
      const stride = metaAt(meta, (k + 1) * ndim + d);
      const at = OFFSETS + (<usize>k << 2);
      store<i32>(at, load<i32>(at) + (rolled ? stride * (1 - extent) : stride));
    }
    if (!rolled) return;
  }
}

@inline function rowPointer<T>(base: usize, operand: i32): usize {
  return base + (<usize>load<i32>(OFFSETS + (<usize>operand << 2)) << alignof<T>());
}

@inline function binaryRows<T, OP>(
  modeA: i32, modeB: i32, out: usize, a: usize, b: usize, meta: usize, ndim: i32,
): void {
  const len = metaAt(meta, ndim - 1);
  const sa = metaAt(meta, 2 * ndim - 1);
  const sb = metaAt(meta, 3 * ndim - 1);
  const rowBytes = <usize>len << alignof<T>();
  const rows = startRows(meta, ndim);
  for (let row = 0; row < rows; row++) {
    binaryRow<T, OP>(modeA, modeB, out, rowPointer<T>(a, 0), rowPointer<T>(b, 1), sa, sb, len);
    out += rowBytes;
    nextRow(meta, ndim, 2);
  }
}

@inline function binaryNd<T, OP>(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void {
  if (ndim <= 0) {
    storeOne<T>(out, binaryOp<T, OP>(loadOne<T>(a), loadOne<T>(b)));
    return;
  }
  const sa = metaAt(meta, 2 * ndim - 1);
  const sb = metaAt(meta, 3 * ndim - 1);
  if (sa == 1 && sb == 1) binaryRows<T, OP>(CONTIG, CONTIG, out, a, b, meta, ndim);
  else if (sa == 1 && sb == 0) binaryRows<T, OP>(CONTIG, SPLAT, out, a, b, meta, ndim);
  else if (sa == 0 && sb == 1) binaryRows<T, OP>(SPLAT, CONTIG, out, a, b, meta, ndim);
  else binaryRows<T, OP>(STRIDED, STRIDED, out, a, b, meta, ndim);
}

@inline function whereNd<T>(out: usize, c: usize, a: usize, b: usize, meta: usize, ndim: i32): void {
  if (ndim <= 0) {
    storeOne<T>(out, whereOp<T>(loadOne<T>(c), loadOne<T>(a), loadOne<T>(b)));
    return;
  }
  const len = metaAt(meta, ndim - 1);
  const sc = metaAt(meta, 2 * ndim - 1);
  const sa = metaAt(meta, 3 * ndim - 1);
  const sb = metaAt(meta, 4 * ndim - 1);
  const contiguous = sc == 1 && sa == 1 && sb == 1;
  const rowBytes = <usize>len << alignof<T>();
  const rows = startRows(meta, ndim);
  for (let row = 0; row < rows; row++) {
    const pc = rowPointer<T>(c, 0);
    const pa = rowPointer<T>(a, 1);
    const pb = rowPointer<T>(b, 2);
    if (contiguous) whereRow<T>(false, out, pc, pa, pb, 1, 1, 1, len);
    else whereRow<T>(true, out, pc, pa, pb, sc, sa, sb, len);
    out += rowBytes;
    nextRow(meta, ndim, 3);
  }
}

// ---- exported kernels --------------------------------------------------------------------

// unary <op>_<dt>(out, a, n); out may be a.
export function neg_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, NEG>(out, a, n); }
export function abs_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, ABS>(out, a, n); }
export function sign_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, SIGN>(out, a, n); }
export function sqrt_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, SQRT>(out, a, n); }
export function square_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, SQUARE>(out, a, n); }
export function reciprocal_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, RECIPROCAL>(out, a, n); }
export function exp_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, EXP>(out, a, n); }
export function expm1_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, EXPM1>(out, a, n); }
export function log_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, LOG>(out, a, n); }
export function log1p_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, LOG1P>(out, a, n); }
export function sin_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, SIN>(out, a, n); }
export function cos_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, COS>(out, a, n); }
export function tan_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, TAN>(out, a, n); }
export function tanh_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, TANH>(out, a, n); }
export function sigmoid_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, SIGMOID>(out, a, n); }
export function erf_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, ERF>(out, a, n); }
export function softplus_f64(out: usize, a: usize, n: i32): void { unaryRow<f64, SOFTPLUS>(out, a, n); }

export function neg_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, NEG>(out, a, n); }
export function abs_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, ABS>(out, a, n); }
export function sign_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, SIGN>(out, a, n); }
export function sqrt_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, SQRT>(out, a, n); }
export function square_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, SQUARE>(out, a, n); }
export function reciprocal_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, RECIPROCAL>(out, a, n); }
export function exp_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, EXP>(out, a, n); }
export function expm1_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, EXPM1>(out, a, n); }
export function log_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, LOG>(out, a, n); }
export function log1p_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, LOG1P>(out, a, n); }
export function sin_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, SIN>(out, a, n); }
export function cos_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, COS>(out, a, n); }
export function tan_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, TAN>(out, a, n); }
export function tanh_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, TANH>(out, a, n); }
export function sigmoid_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, SIGMOID>(out, a, n); }
export function erf_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, ERF>(out, a, n); }
export function softplus_f32(out: usize, a: usize, n: i32): void { unaryRow<f32, SOFTPLUS>(out, a, n); }

// binary <op>_<dt>(out, a, b, n) and <op>_nd_<dt>(out, a, b, meta, ndim); see index.ts.
export function add_f64(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f64, ADD>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function sub_f64(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f64, SUB>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function mul_f64(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f64, MUL>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function div_f64(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f64, DIV>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function pow_f64(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f64, POW>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function maximum_f64(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f64, MAXIMUM>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function minimum_f64(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f64, MINIMUM>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function greater_f64(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f64, GREATER>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function less_f64(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f64, LESS>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function equal_f64(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f64, EQUAL>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function greater_equal_f64(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f64, GREATER_EQUAL>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function less_equal_f64(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f64, LESS_EQUAL>(CONTIG, CONTIG, out, a, b, 1, 1, n); }

export function add_f32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f32, ADD>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function sub_f32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f32, SUB>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function mul_f32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f32, MUL>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function div_f32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f32, DIV>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function pow_f32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f32, POW>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function maximum_f32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f32, MAXIMUM>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function minimum_f32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f32, MINIMUM>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function greater_f32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f32, GREATER>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function less_f32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f32, LESS>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function equal_f32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f32, EQUAL>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function greater_equal_f32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f32, GREATER_EQUAL>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function less_equal_f32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<f32, LESS_EQUAL>(CONTIG, CONTIG, out, a, b, 1, 1, n); }

export function add_nd_f64(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f64, ADD>(out, a, b, meta, ndim); }
export function sub_nd_f64(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f64, SUB>(out, a, b, meta, ndim); }
export function mul_nd_f64(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f64, MUL>(out, a, b, meta, ndim); }
export function div_nd_f64(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f64, DIV>(out, a, b, meta, ndim); }
export function pow_nd_f64(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f64, POW>(out, a, b, meta, ndim); }
export function maximum_nd_f64(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f64, MAXIMUM>(out, a, b, meta, ndim); }
export function minimum_nd_f64(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f64, MINIMUM>(out, a, b, meta, ndim); }
export function greater_nd_f64(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f64, GREATER>(out, a, b, meta, ndim); }
export function less_nd_f64(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f64, LESS>(out, a, b, meta, ndim); }
export function equal_nd_f64(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f64, EQUAL>(out, a, b, meta, ndim); }
export function greater_equal_nd_f64(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f64, GREATER_EQUAL>(out, a, b, meta, ndim); }
export function less_equal_nd_f64(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f64, LESS_EQUAL>(out, a, b, meta, ndim); }

export function add_nd_f32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f32, ADD>(out, a, b, meta, ndim); }
export function sub_nd_f32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f32, SUB>(out, a, b, meta, ndim); }
export function mul_nd_f32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f32, MUL>(out, a, b, meta, ndim); }
export function div_nd_f32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f32, DIV>(out, a, b, meta, ndim); }
export function pow_nd_f32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f32, POW>(out, a, b, meta, ndim); }
export function maximum_nd_f32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f32, MAXIMUM>(out, a, b, meta, ndim); }
export function minimum_nd_f32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f32, MINIMUM>(out, a, b, meta, ndim); }
export function greater_nd_f32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f32, GREATER>(out, a, b, meta, ndim); }
export function less_nd_f32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f32, LESS>(out, a, b, meta, ndim); }
export function equal_nd_f32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f32, EQUAL>(out, a, b, meta, ndim); }
export function greater_equal_nd_f32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f32, GREATER_EQUAL>(out, a, b, meta, ndim); }
export function less_equal_nd_f32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<f32, LESS_EQUAL>(out, a, b, meta, ndim); }

// where_<dt>(out, cond, a, b, n); where_nd_<dt>(out, cond, a, b, meta, ndim) with
// meta = [shape..., condStrides..., aStrides..., bStrides...].
export function where_f64(out: usize, cond: usize, a: usize, b: usize, n: i32): void { whereRow<f64>(false, out, cond, a, b, 1, 1, 1, n); }
export function where_nd_f64(out: usize, cond: usize, a: usize, b: usize, meta: usize, ndim: i32): void { whereNd<f64>(out, cond, a, b, meta, ndim); }
export function where_f32(out: usize, cond: usize, a: usize, b: usize, n: i32): void { whereRow<f32>(false, out, cond, a, b, 1, 1, 1, n); }
export function where_nd_f32(out: usize, cond: usize, a: usize, b: usize, meta: usize, ndim: i32): void { whereNd<f32>(out, cond, a, b, meta, ndim); }

// int32: the maps that stay in the integers (see assembly/int32.ts). Arithmetic wraps modulo
// 2^32, as NumPy's and JAX's int32 does.
export function neg_i32(out: usize, a: usize, n: i32): void { unaryRow<i32, NEG>(out, a, n); }
export function abs_i32(out: usize, a: usize, n: i32): void { unaryRow<i32, ABS>(out, a, n); }
export function sign_i32(out: usize, a: usize, n: i32): void { unaryRow<i32, SIGN>(out, a, n); }
export function square_i32(out: usize, a: usize, n: i32): void { unaryRow<i32, SQUARE>(out, a, n); }
export function add_i32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<i32, ADD>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function sub_i32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<i32, SUB>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function mul_i32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<i32, MUL>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function maximum_i32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<i32, MAXIMUM>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function minimum_i32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<i32, MINIMUM>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function greater_i32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<i32, GREATER>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function less_i32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<i32, LESS>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function equal_i32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<i32, EQUAL>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function greater_equal_i32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<i32, GREATER_EQUAL>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function less_equal_i32(out: usize, a: usize, b: usize, n: i32): void { binaryRow<i32, LESS_EQUAL>(CONTIG, CONTIG, out, a, b, 1, 1, n); }
export function add_nd_i32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<i32, ADD>(out, a, b, meta, ndim); }
export function sub_nd_i32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<i32, SUB>(out, a, b, meta, ndim); }
export function mul_nd_i32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<i32, MUL>(out, a, b, meta, ndim); }
export function maximum_nd_i32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<i32, MAXIMUM>(out, a, b, meta, ndim); }
export function minimum_nd_i32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<i32, MINIMUM>(out, a, b, meta, ndim); }
export function greater_nd_i32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<i32, GREATER>(out, a, b, meta, ndim); }
export function less_nd_i32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<i32, LESS>(out, a, b, meta, ndim); }
export function equal_nd_i32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<i32, EQUAL>(out, a, b, meta, ndim); }
export function greater_equal_nd_i32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<i32, GREATER_EQUAL>(out, a, b, meta, ndim); }
export function less_equal_nd_i32(out: usize, a: usize, b: usize, meta: usize, ndim: i32): void { binaryNd<i32, LESS_EQUAL>(out, a, b, meta, ndim); }
export function where_i32(out: usize, cond: usize, a: usize, b: usize, n: i32): void { whereRow<i32>(false, out, cond, a, b, 1, 1, 1, n); }
export function where_nd_i32(out: usize, cond: usize, a: usize, b: usize, meta: usize, ndim: i32): void { whereNd<i32>(out, cond, a, b, meta, ndim); }
