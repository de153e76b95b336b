// Helpers for a primitive's `emit` field: how it is written as generated JavaScript
// (src/staging/codegen.ts compiles programs of small and scalar values to straight-line JS). The
// field returns one of three forms (the Emit type in primitive.ts) for given input types, or null
// to decline (the compiler then calls the bound kernel):
// - 'map': an elementwise map with NumPy broadcasting, as a JS expression of its operands'
//   elements (numbers). The compiler rounds the result to float32 where the output is float32,
//   which makes +, -, *, / and sqrt bit-equal to the float32 kernels (float64 holds the exact
//   float32 result before rounding). `exact` says whether the expression equals the kernel to the
//   bit; Math.* functions differ from the SIMD kernels by a few ulp (measured in test/codegen.test.ts).
// - 'gather': output element i is input element index[i] (-1: zero): reshape, transpose, slice,
//   broadcastTo.
// - 'sum': `outer` rows of `len` contiguous elements, each summed in the kernel's order.
import type { Emit, EmitRule } from './primitive.js';

/** An elementwise map for any input types. */
export function mapEmit(expr: (args: readonly string[]) => string, exact: boolean, fns?: Record<string, (...xs: number[]) => number>): EmitRule<unknown> {
  const emit: Emit = { kind: 'map', expr, exact, fns };
  return () => emit;
}

/**
 * The gather index of reading a row-major `shape` with `strides` (in elements) from `offset`:
 * index[e] is the input element output element e reads.
 */
export function stridedIndex(shape: readonly number[], strides: readonly number[], offset = 0): Int32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const index = new Int32Array(size);
  const digit = new Array<number>(shape.length).fill(0);
  let at = offset;
  for (let e = 0; e < size; e++) {
    index[e] = at;
    for (let d = shape.length - 1; d >= 0; d--) {
      digit[d]++;
      at += strides[d];
      if (digit[d] < shape[d]) break;
      at -= strides[d] * shape[d];
      digit[d] = 0;
    }
  }
  return index;
}

/** The identity gather (reshape: the same elements in a new shape). */
export function identityIndex(size: number): Int32Array {
  const index = new Int32Array(size);
  for (let i = 0; i < size; i++) index[i] = i;
  return index;
}
