// The module's exports, nothing else. Every kernel works on raw byte offsets into linear
// memory handed out by the JS allocator in src/backend/; kernels never allocate.
//
// ABI (all sizes are element counts, all pointers byte offsets, 16-byte aligned by the caller):
//   unary   <op>_<dt>(out, a, n)
//   binary  <op>_<dt>(out, a, b, n)            same-shape operands
//           <op>_nd_<dt>(out, a, b, meta, ndim) broadcast: meta -> i32[3*ndim] =
//                                               [shape..., aStrides..., bStrides...] in elements
//   layout  copy_strided_<dt>(out, a, meta, ndim)   meta -> i32[2*ndim] = [shape..., aStrides...]
//   reduce  <op>_axis_<dt>(out, a, outer, len, inner) reduces the middle axis of [outer, len, inner]
//   gemm    matmul_<dt>(out, a, b, m, k, n, transA, transB)
//           matmul_pair_<dt>(out, a, out2, a2, b, m, m2, k, n, transB)   a, a2 row-major
//   dual    <op>_dual_<dt>(out, tout, x, t, n, k)          unary op and k tangent directions
//           <op>_vjp_<dt>(out, x, y, ct, n, k)             unary cotangent, k rows, y = op(x)
//           extremum_jvp_<dt>(tout, x, y, t, outer, len, inner, k)  max/min reduction tangent
//           extremum_vjp_<dt>(out, x, y, ct, outer, len, inner, k)  and its cotangent
//           <op>_dual_<dt>(out, tout, a, b, ta, tb, n, k, scalar)  sub, mul, div, maximum, minimum,
//                                                   pow; ta or tb may be 0; scalar: 1 or 2 when
//                                                   a or b is one element (see dual.ts)
//   decomp  qr_<dt>(a, q, r, work, m, n)  eigh_<dt>(a, w, v, work, n)  svd_<dt>(a, u, s, vt, work, m, n)
//                                                   one matrix per call, scratch in work (decomp.ts)
//   fused   fused_<dt>(prog, out, n, regs)   a chain of elementwise ops (and a final sum) in one pass;
//                                                   prog is its bytecode (see fused.ts)
// <dt> is f64 or f32; int32 has i32 kernels for the maps and reductions that stay integer (int32.ts).

export * from './elementwise';
export * from './dual';
export * from './reduce';
export * from './matmul';
export * from './accumulate';
export * from './layout';
export * from './linalg';
export * from './decomp';
export * from './scatter';
export * from './int32';
export * from './indexing';
export * from './fused';

/** First byte the JS allocator may use: everything below belongs to static data. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}
