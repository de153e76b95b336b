// The inverse of copy_strided: writes a contiguous `a` into `out` through strides. Serves pad
// and concat, which place a block inside a larger zeroed or partly filled output.

export function scatter_strided_f64(out: usize, a: usize, meta: usize, ndim: i32): void {
  scatter<f64>(out, a, meta, ndim);
}

export function scatter_strided_f32(out: usize, a: usize, meta: usize, ndim: i32): void {
  scatter<f32>(out, a, meta, ndim);
}

// meta -> i32[2*ndim] = [shape..., outStrides...]; the innermost axis is copied as a run when
// its stride is 1.
// @ts-ignore: decorator
@inline
function scatter<T>(out: usize, a: usize, meta: usize, ndim: i32): void {
  if (ndim == 0) {
    store<T>(out, load<T>(a));
    return;
  }
  const size = sizeof<T>();
  const inner = load<i32>(meta + (<usize>(ndim - 1) << 2));
  const innerStride = load<i32>(meta + (<usize>(2 * ndim - 1) << 2));
  let outer = 1;
  for (let d = 0; d < ndim - 1; d++) outer *= load<i32>(meta + (<usize>d << 2));
  const index = memory.data(64 * 4, 16);
  for (let d = 0; d < ndim; d++) store<i32>(index + (<usize>d << 2), 0);
  let src = a;
  let base: isize = 0;
  for (let o = 0; o < outer; o++) {
    const dst = out + <usize>(base * size);
    if (innerStride == 1) {
      memory.copy(dst, src, <usize>inner * size);
    } else {
      for (let i = 0; i < inner; i++) store<T>(dst + <usize>(i * innerStride) * size, load<T>(src + <usize>i * size));
    }
    src += <usize>inner * size;
    // Advance the multi-index over the outer axes, last axis fastest.
    for (let d = ndim - 2; d >= 0; d--) {
      const p = index + (<usize>d << 2);
      const stride = load<i32>(meta + (<usize>(ndim + d) << 2));
      const v = load<i32>(p) + 1;
      if (v < load<i32>(meta + (<usize>d << 2))) {
        store<i32>(p, v);
        base += stride;
        break;
      }
      store<i32>(p, 0);
      base -= <isize>(v - 1) * stride;
    }
  }
}
