// Cotangent accumulation and scaling for reverse mode: y += x in place, out = alpha * x.

import { axpy } from './vector';

/** y[i] += x[i] */
export function add_inplace_f64(y: usize, x: usize, n: i32): void {
  axpy<f64>(y, 1, x, n, false);
}

export function add_inplace_f32(y: usize, x: usize, n: i32): void {
  axpy<f32>(y, 1, x, n, false);
}

/** out[i] = alpha * x[i] */
export function scale_f64(out: usize, alpha: f64, x: usize, n: i32): void {
  scale<f64>(out, alpha, x, n);
}

export function scale_f32(out: usize, alpha: f32, x: usize, n: i32): void {
  scale<f32>(out, alpha, x, n);
}

// ---------------------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline
function scale<T>(out: usize, alpha: T, x: usize, n: i32): void {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  const va = v128.splat<T>(alpha);
  let i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    const off = <usize>i * size;
    v128.store(out + off, v128.mul<T>(v128.load(x + off), va));
    v128.store(out + off, v128.mul<T>(v128.load(x + off, 16), va), 16);
  }
  for (; i + L <= n; i += L) {
    const off = <usize>i * size;
    v128.store(out + off, v128.mul<T>(v128.load(x + off), va));
  }
  for (; i < n; i++) {
    const off = <usize>i * size;
    store<T>(out + off, alpha * load<T>(x + off));
  }
}
