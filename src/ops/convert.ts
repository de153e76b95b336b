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

/** A tensor or a plain JS number (a number takes the dtype of the tensors it meets). */
export type TensorLike = Tensor | number;

// Plain numbers in ops become 0-d constants. Scalar-heavy code (a Rosenbrock gradient, a
// loop of x * 0.5) repeats the same few numbers, so they are cached: pinned, never freed,
// shared by every op that meets the number.
const constants: Record<DType, Map<number, DenseTensor>> = { float64: new Map(), float32: new Map() };
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
 * The dtype operands promote to: float64 if any tensor is float64 (never narrowing). Numbers,
 * and the weak values jit passes for number arguments, take the tensors' dtype.
 */
export function resultDType(xs: TensorLike[]): DType {
  let dtype: DType | null = null;
  for (const x of xs) {
    if (x instanceof Tensor && !(x as { weak?: boolean }).weak) dtype = dtype === 'float64' || x.dtype === 'float64' ? 'float64' : 'float32';
  }
  return dtype ?? 'float64';
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
  impl: implFromKernel('astype', ([x], { dtype }) => ({ shape: x.shape, dtype }), () => castInto),
  into: () => castInto,
  emit: mapEmit(([x]) => x, true),
  shape: ([x], { dtype }) => ({ shape: x.shape, dtype }),
  sparsity: 'elementwise',
  apply: ([t], { params: { dtype } }) => t && astype(t, dtype),
  transpose: (ct, { avals: [x] }) => [astype(ct, x.dtype)],
});

/** Casts to `dtype`. @example astype(x, 'float32') */
export function astype(x: TensorLike, dtype: DType): Tensor {
  const t = toTensor('astype', x, x instanceof Tensor ? undefined : checkDType('astype', dtype));
  if (t.dtype === dtype) return t;
  return bind(astypeP, [t], { dtype: checkDType('astype', dtype) });
}

// The identity whose derivative is zero: both rules return symbolic zeros.
const stopGradientP = definePrimitive({
  name: 'stop_gradient',
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
