// Conversions every op family needs: JS numbers to tensors, dtype casts, and stopGradient.
import * as kernels from '../backend/kernels.js';
import { bind } from '../core/trace.js';
import { mapEmit } from '../core/emit.js';
import { NO_PARAMS, defineLinear, definePrimitive, implFromKernel } from '../core/primitive.js';
import type { BoundKernel } from '../backend/kernels.js';
import { checkDType, empty } from '../tensor/create.js';
import { ArgumentError } from '../errors.js';
import { DenseTensor, Tensor, foreignTensorMessage, isForeignTensor, type DType } from '../tensor/tensor.js';
import { writeAt } from '../backend/io.js';
import { allocBlock } from '../backend/buffer.js';
import { batchSame } from '../core/batch-axes.js';

/** A tensor or a plain JS number (a number takes the dtype of the tensors it meets). */
export type TensorLike = Tensor | number;

// Plain numbers in ops become 0-d constants. Scalar-heavy code (a Rosenbrock gradient, a
// loop of x * 0.5) repeats the same few numbers, so they are cached: pinned, never freed,
// shared by every op that meets the number.
const constants: Record<DType, Map<number, DenseTensor>> = { float64: new Map(), float32: new Map(), int32: new Map() };
const MAX_CONSTANTS = 512;
const SCALAR_SHAPE: readonly number[] = Object.freeze([]) as readonly number[];

export function scalarOf(value: number, dtype: DType): DenseTensor {
  const cache = constants[dtype];
  let out = cache.get(value);
  if (out !== undefined && !Object.is(value, -0)) return out;
  if (cache.size >= MAX_CONSTANTS || Object.is(value, -0)) {
    out = empty([], dtype);
    writeAt(out.liveBuffer('scalar'), 0, value);
    return out;
  }
  out = new DenseTensor(allocBlock(dtype, 1, true), dtype, SCALAR_SHAPE, true);
  writeAt(out.liveBuffer('scalar'), 0, value);
  cache.set(value, out);
  return out;
}

/** Turns an op argument into a tensor; `dtype` is used for plain numbers. */
export function toTensor(op: string, x: TensorLike, dtype: DType = 'float64'): Tensor {
  if (x instanceof Tensor) {
    // Name the op the user called, also for ops that would return x unchanged (transpose of
    // a vector, reshape to the same shape) and so never touch its data.
    if (x instanceof DenseTensor && x.isDisposed) x.liveBuffer(op);
    return x;
  }
  if (typeof x === 'number') return scalarOf(x, dtype);
  if (isForeignTensor(x)) throw new ArgumentError(foreignTensorMessage(op));
  const what = x === null ? 'null' : Array.isArray(x) ? 'a JS array' : typeof x;
  throw new ArgumentError(`${op}: expected a Tensor or a number, got ${what}. Wrap arrays with array(...) first.`);
}

/**
 * The dtype operands promote to, never narrowing: float64 if any tensor is float64, else float32
 * if any is float32, else int32 if any is int32. Numbers, and the weak values jit passes for
 * number arguments, take the tensors' dtype (JAX's weak typing), except that a number that is
 * not an int32 value (a fraction, beyond +-2^31, NaN) turns int32 into float64: add(i, 0.5)
 * is float64, add(i, 2) stays int32. A jit number argument could be any number, so it too
 * makes int32 float64.
 */
export function resultDType(xs: TensorLike[]): DType {
  let dtype: DType | null = null;
  let fraction = false;
  for (const x of xs) {
    if (x instanceof Tensor && !(x as { weak?: boolean }).weak) dtype = dtype === null ? x.dtype : widerDType(dtype, x.dtype);
    else if (!(typeof x === 'number' && isInt32Value(x))) fraction = true;
  }
  if (dtype === 'int32' && fraction) return 'float64';
  return dtype ?? 'float64';
}

/** Whether `x` is exactly an int32 value. */
export function isInt32Value(x: number): boolean {
  return Number.isInteger(x) && x >= -0x80000000 && x <= 0x7fffffff;
}

const RANK: Record<DType, number> = { int32: 0, float32: 1, float64: 2 };

/** The dtype two dtypes promote to: int32 < float32 < float64. */
export function widerDType(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * x, or x as float64 when x is int32 and `prim` does not take int32: ops that leave the
 * integers (exp, sqrt, div, pow, mean, ...) promote int32 operands, as JAX does.
 */
export function floatUnlessInteger(prim: { integer?: boolean }, x: Tensor): Tensor {
  return x.dtype === 'int32' && !prim.integer ? astype(x, 'float64') : x;
}

/** Converts every operand to a tensor of the common dtype. */
export function coerce(op: string, xs: TensorLike[]): Tensor[] {
  const dtype = resultDType(xs);
  return xs.map((x) => {
    const t = toTensor(op, x, dtype);
    return t.dtype === dtype ? t : astype(t, dtype);
  });
}

const castInto: BoundKernel = (out, [a]) => kernels.cast(out, a);
const copyInto: BoundKernel = (out, [a]) => kernels.copy(out, a);

// d astype(x) = astype(dx); the cotangent is cast back to the input's dtype.
const astypeP = defineLinear<{ dtype: DType }>({
  name: 'astype',
  batch: batchSame(),
  integer: true,
  impl: implFromKernel('astype', ([x], { dtype }) => ({ shape: x.shape, dtype }), () => castInto),
  into: () => castInto,
  emit: mapEmit(([x]) => x, true),
  shape: ([x], { dtype }) => ({ shape: x.shape, dtype }),
  sparsity: 'elementwise',
  apply: ([t], { params: { dtype } }) => t && astype(t, dtype),
  transpose: (ct, { avals: [x] }) => [astype(ct, x.dtype)],
});

/**
 * Casts to `dtype`. Float to int32 truncates toward zero, as NumPy's astype; NaN gives 0 and
 * values beyond the int32 range saturate to -2^31 or 2^31 - 1. int32 to float64 is exact.
 * @example astype(x, 'float32')
 * @example astype(array([2.7, -2.7]), 'int32') // int32 [2, -2]
 */
export function astype(x: TensorLike, dtype: DType): Tensor {
  const t = toTensor('astype', x, x instanceof Tensor ? undefined : checkDType('astype', dtype));
  if (t.dtype === dtype) return t;
  return bind(astypeP, [t], { dtype: checkDType('astype', dtype) });
}

// The identity whose derivative is zero: both rules return symbolic zeros.
const stopGradientP = definePrimitive({
  name: 'stop_gradient',
  batch: batchSame(),
  integer: true,
  impl: implFromKernel('stopGradient', ([x]) => x, () => copyInto),
  into: () => copyInto,
  emit: mapEmit(([x]) => x, true),
  shape: ([x]) => x,
  saves: [],
  sparsity: 'none',
  jvp: () => null,
  vjp: () => [null],
});

/**
 * The value of `x`, treated as a constant by every transform.
 * @example grad((x) => mul(x, stopGradient(x)))(3) // 3, not 6
 */
export function stopGradient(x: TensorLike): Tensor {
  return bind(stopGradientP, [toTensor('stopGradient', x)], NO_PARAMS);
}
