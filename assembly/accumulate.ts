// Tangent and cotangent accumulation for forward and reverse mode (see index.ts for the ABI).
//
// A chunk of k tangent directions is stored as k rows of n elements (row j is direction j),
// so one call updates every direction: the *_rows kernels walk n in tiles of TILE elements
// and apply each tile of d to all k rows before moving on, so d is read from memory once
// rather than k times.
const TILE: i32 = 1024;

/** y[i] += x[i] */
export function add_inplace_f64(y: usize, x: usize, n: i32): void {
  axpy<f64>(y, 1, x, n, false);
}

export function add_inplace_f32(y: usize, x: usize, n: i32): void {
  axpy<f32>(y, 1, x, n, false);
}

/** y[i] += alpha * x[i] */
export function axpy_f64(y: usize, alpha: f64, x: usize, n: i32): void {
  axpy<f64>(y, alpha, x, n, true);
}

export function axpy_f32(y: usize, alpha: f32, x: usize, n: i32): void {
  axpy<f32>(y, alpha, x, n, true);
}

/** out[i] = alpha * x[i] */
export function scale_f64(out: usize, alpha: f64, x: usize, n: i32): void {
  scale<f64>(out, alpha, x, n);
}

export function scale_f32(out: usize, alpha: f32, x: usize, n: i32): void {
  scale<f32>(out, alpha, x, n);
}

/** out[j*n + i] = d[i] * t[j*n + i] for j < k (out may be t) */
export function mul_rows_f64(out: usize, d: usize, t: usize, k: i32, n: i32): void {
  mulRows<f64>(out, d, t, k, n, false);
}

export function mul_rows_f32(out: usize, d: usize, t: usize, k: i32, n: i32): void {
  mulRows<f32>(out, d, t, k, n, false);
}

/** out[j*n + i] += d[i] * t[j*n + i] for j < k */
export function mul_add_rows_f64(out: usize, d: usize, t: usize, k: i32, n: i32): void {
  mulRows<f64>(out, d, t, k, n, true);
}

export function mul_add_rows_f32(out: usize, d: usize, t: usize, k: i32, n: i32): void {
  mulRows<f32>(out, d, t, k, n, true);
}

/** out[i] = sum over j < k of t[j*n + i] (zeros when k = 0) */
export function sum_rows_f64(out: usize, t: usize, k: i32, n: i32): void {
  sumRows<f64>(out, t, k, n);
}

export function sum_rows_f32(out: usize, t: usize, k: i32, n: i32): void {
  sumRows<f32>(out, t, k, n);
}

// ---------------------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline
function axpy<T>(y: usize, alpha: T, x: usize, n: i32, scaled: bool): void {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  const va = v128.splat<T>(alpha);
  let i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    const off = <usize>i * size;
    let x0 = v128.load(x + off);
    let x1 = v128.load(x + off, 16);
    if (scaled) {
      x0 = v128.mul<T>(x0, va);
      x1 = v128.mul<T>(x1, va);
    }
    v128.store(y + off, v128.add<T>(v128.load(y + off), x0));
    v128.store(y + off, v128.add<T>(v128.load(y + off, 16), x1), 16);
  }
  for (; i + L <= n; i += L) {
    const off = <usize>i * size;
    const x0 = scaled ? v128.mul<T>(v128.load(x + off), va) : v128.load(x + off);
    v128.store(y + off, v128.add<T>(v128.load(y + off), x0));
  }
  for (; i < n; i++) {
    const off = <usize>i * size;
    const xi = scaled ? alpha * load<T>(x + off) : load<T>(x + off);
    store<T>(y + off, load<T>(y + off) + xi);
  }
}

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

// @ts-ignore: decorator
@inline
function mulRows<T>(out: usize, d: usize, t: usize, k: i32, n: i32, accumulate: bool): void {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  const rowBytes = <usize>n * size;
  for (let i0 = 0; i0 < n; i0 += TILE) {
    const w = min(TILE, n - i0);
    const dt = d + <usize>i0 * size;
    for (let j = 0; j < k; j++) {
      const base = <usize>j * rowBytes + <usize>i0 * size;
      const o = out + base;
      const s = t + base;
      let i = 0;
      for (; i + L <= w; i += L) {
        const off = <usize>i * size;
        let v = v128.mul<T>(v128.load(dt + off), v128.load(s + off));
        if (accumulate) v = v128.add<T>(v128.load(o + off), v);
        v128.store(o + off, v);
      }
      for (; i < w; i++) {
        const off = <usize>i * size;
        let v = load<T>(dt + off) * load<T>(s + off);
        if (accumulate) v += load<T>(o + off);
        store<T>(o + off, v);
      }
    }
  }
}

// @ts-ignore: decorator
@inline
function sumRows<T>(out: usize, t: usize, k: i32, n: i32): void {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  const rowBytes = <usize>n * size;
  if (k == 0) {
    memory.fill(out, 0, rowBytes);
    return;
  }
  for (let i0 = 0; i0 < n; i0 += TILE) {
    const w = min(TILE, n - i0);
    const o = out + <usize>i0 * size;
    const col = t + <usize>i0 * size;
    memory.copy(o, col, <usize>w * size);
    for (let j = 1; j < k; j++) {
      const s = col + <usize>j * rowBytes;
      let i = 0;
      for (; i + L <= w; i += L) {
        const off = <usize>i * size;
        v128.store(o + off, v128.add<T>(v128.load(o + off), v128.load(s + off)));
      }
      for (; i < w; i++) {
        const off = <usize>i * size;
        store<T>(o + off, load<T>(o + off) + load<T>(s + off));
      }
    }
  }
}
