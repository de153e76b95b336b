// Layout kernels: fills, casts and the one strided gather that serves transpose, broadcastTo
// and slice (the output is always contiguous).

export function fill_f64(out: usize, value: f64, n: i32): void {
  const v = f64x2.splat(value);
  let i = 0;
  for (; i + 2 <= n; i += 2) v128.store(out + (<usize>i << 3), v);
  for (; i < n; i++) store<f64>(out + (<usize>i << 3), value);
}

export function fill_f32(out: usize, value: f32, n: i32): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + (<usize>i << 2), v);
  for (; i < n; i++) store<f32>(out + (<usize>i << 2), value);
}
