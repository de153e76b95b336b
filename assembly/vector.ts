// Loops over one contiguous row, shared by the accumulation kernels (accumulate.ts) and the
// factorisations (linalg.ts). Not exported from the module.

/**
 * y[0..n) += alpha * x[0..n), or y += x when `scaled` is false (alpha is then ignored, and the
 * multiply is skipped). Pointers need not be 16-byte aligned.
 */
@inline export function axpy<T>(y: usize, alpha: T, x: usize, n: i32, scaled: bool): void {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  const va = v128.splat<T>(alpha);
  let i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    const off = <usize>i * size;
    v128.store(y + off, v128.add<T>(v128.load(y + off), times<T>(v128.load(x + off), va, scaled)));
    v128.store(y + off, v128.add<T>(v128.load(y + off, 16), times<T>(v128.load(x + off, 16), va, scaled)), 16);
  }
  for (; i + L <= n; i += L) {
    const off = <usize>i * size;
    v128.store(y + off, v128.add<T>(v128.load(y + off), times<T>(v128.load(x + off), va, scaled)));
  }
  for (; i < n; i++) {
    const off = <usize>i * size;
    const xi = load<T>(x + off);
    store<T>(y + off, load<T>(y + off) + (scaled ? alpha * xi : xi));
  }
}

@inline function times<T>(v: v128, va: v128, scaled: bool): v128 {
  return scaled ? v128.mul<T>(v, va) : v;
}
