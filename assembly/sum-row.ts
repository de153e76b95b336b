// The whole-array sum's row loop, shared by reduce.ts and the fused interpreter (fused.ts), so a
// fused sum adds in exactly the kernel's order. Not exported from index.ts (it is generic).
//
// Sums accumulate in f64 for both dtypes (float32 is widened as it is read); eight independent
// partial sums (four v128 accumulators) hide the add latency.

// @ts-ignore: decorator
@inline
export function sumRow<T>(a: usize, n: i32): f64 {
  if (n < 8) {
    let s = 0.0;
    for (let i = 0; i < n; i++) s += <f64>load<T>(a + <usize>i * sizeof<T>());
    return s;
  }
  let s0 = f64x2.splat(0);
  let s1 = s0, s2 = s0, s3 = s0;
  let i = 0;
  if (sizeof<T>() == 8) {
    for (; i + 8 <= n; i += 8) {
      const p = a + (<usize>i << 3);
      s0 = f64x2.add(s0, v128.load(p));
      s1 = f64x2.add(s1, v128.load(p, 16));
      s2 = f64x2.add(s2, v128.load(p, 32));
      s3 = f64x2.add(s3, v128.load(p, 48));
    }
    for (; i + 2 <= n; i += 2) s0 = f64x2.add(s0, v128.load(a + (<usize>i << 3)));
  } else {
    for (; i + 8 <= n; i += 8) {
      const p = a + (<usize>i << 2);
      const v0 = v128.load(p);
      const v1 = v128.load(p, 16);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v0));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i32x4.shuffle(v0, v0, 2, 3, 2, 3)));
      s2 = f64x2.add(s2, f64x2.promote_low_f32x4(v1));
      s3 = f64x2.add(s3, f64x2.promote_low_f32x4(i32x4.shuffle(v1, v1, 2, 3, 2, 3)));
    }
  }
  const s = f64x2.add(f64x2.add(s0, s1), f64x2.add(s2, s3));
  let total = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) total += <f64>load<T>(a + (<usize>i * sizeof<T>()));
  return total;
}
