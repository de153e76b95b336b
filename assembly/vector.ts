// Level-1 operations along contiguous rows, shared by the factorisations (linalg.ts) and the
// decompositions (decomp.ts). Everything is inlined into its caller; nothing here is exported
// from the module (index.ts does not re-export this file). Pointers need not be 16-byte
// aligned: rows of a matrix start wherever the row length puts them.
// Baseline wasm SIMD has no FMA, so each update is a mul then an add.

/** y[0..n) += alpha * x[0..n). */
// @ts-ignore: decorator
@inline
export function axpy<T>(y: usize, alpha: T, x: usize, n: i32): void {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  const va = v128.splat<T>(alpha);
  let i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    const off = <usize>i * size;
    v128.store(y + off, v128.add<T>(v128.load(y + off), v128.mul<T>(v128.load(x + off), va)));
    v128.store(y + off, v128.add<T>(v128.load(y + off, 16), v128.mul<T>(v128.load(x + off, 16), va)), 16);
  }
  for (; i + L <= n; i += L) {
    const off = <usize>i * size;
    v128.store(y + off, v128.add<T>(v128.load(y + off), v128.mul<T>(v128.load(x + off), va)));
  }
  for (; i < n; i++) {
    const off = <usize>i * size;
    store<T>(y + off, load<T>(y + off) + alpha * load<T>(x + off));
  }
}

/** sum x[i] * y[i] over i < n, with two v128 partial sums. */
// @ts-ignore: decorator
@inline
export function dot<T>(x: usize, y: usize, n: i32): T {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  let s0 = v128.splat<T>(0);
  let s1 = s0;
  let i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    const off = <usize>i * size;
    s0 = v128.add<T>(s0, v128.mul<T>(v128.load(x + off), v128.load(y + off)));
    s1 = v128.add<T>(s1, v128.mul<T>(v128.load(x + off, 16), v128.load(y + off, 16)));
  }
  for (; i + L <= n; i += L) {
    const off = <usize>i * size;
    s0 = v128.add<T>(s0, v128.mul<T>(v128.load(x + off), v128.load(y + off)));
  }
  const s = v128.add<T>(s0, s1);
  let r: T;
  if (size == 8) {
    r = v128.extract_lane<T>(s, 0) + v128.extract_lane<T>(s, 1);
  } else {
    r = (v128.extract_lane<T>(s, 0) + v128.extract_lane<T>(s, 1)) + (v128.extract_lane<T>(s, 2) + v128.extract_lane<T>(s, 3));
  }
  for (; i < n; i++) {
    const off = <usize>i * size;
    r += load<T>(x + off) * load<T>(y + off);
  }
  return r;
}

// The squared norms from the last call of gramPair (module globals: a wasm function returns one value).
export let gramXX: f64 = 0;
export let gramYY: f64 = 0;

/**
 * x . y, and x . x and y . y into gramXX and gramYY, in one pass over both rows (the 2 x 2 Gram
 * matrix of a pair of rows, as one-sided Jacobi needs it).
 */
// @ts-ignore: decorator
@inline
export function gramPair<T>(x: usize, y: usize, n: i32): T {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  let xx = v128.splat<T>(0);
  let yy = xx;
  let xy = xx;
  let i = 0;
  for (; i + L <= n; i += L) {
    const off = <usize>i * size;
    const a = v128.load(x + off);
    const b = v128.load(y + off);
    xx = v128.add<T>(xx, v128.mul<T>(a, a));
    yy = v128.add<T>(yy, v128.mul<T>(b, b));
    xy = v128.add<T>(xy, v128.mul<T>(a, b));
  }
  let sxx = sumLanes<T>(xx);
  let syy = sumLanes<T>(yy);
  let sxy = sumLanes<T>(xy);
  for (; i < n; i++) {
    const off = <usize>i * size;
    const a = load<T>(x + off);
    const b = load<T>(y + off);
    sxx += a * a;
    syy += b * b;
    sxy += a * b;
  }
  gramXX = <f64>sxx;
  gramYY = <f64>syy;
  return sxy;
}

// @ts-ignore: decorator
@inline
function sumLanes<T>(s: v128): T {
  if (sizeof<T>() == 8) return v128.extract_lane<T>(s, 0) + v128.extract_lane<T>(s, 1);
  return (v128.extract_lane<T>(s, 0) + v128.extract_lane<T>(s, 1)) + (v128.extract_lane<T>(s, 2) + v128.extract_lane<T>(s, 3));
}

/** x[0..n) /= d. */
// @ts-ignore: decorator
@inline
export function divideRow<T>(x: usize, d: T, n: i32): void {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  const vd = v128.splat<T>(d);
  let i = 0;
  for (; i + L <= n; i += L) {
    const off = <usize>i * size;
    v128.store(x + off, v128.div<T>(v128.load(x + off), vd));
  }
  for (; i < n; i++) {
    const off = <usize>i * size;
    store<T>(x + off, load<T>(x + off) / d);
  }
}

/** x[0..n) *= a. */
// @ts-ignore: decorator
@inline
export function scaleRow<T>(x: usize, a: T, n: i32): void {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  const va = v128.splat<T>(a);
  let i = 0;
  for (; i + L <= n; i += L) {
    const off = <usize>i * size;
    v128.store(x + off, v128.mul<T>(v128.load(x + off), va));
  }
  for (; i < n; i++) {
    const off = <usize>i * size;
    store<T>(x + off, load<T>(x + off) * a);
  }
}

// @ts-ignore: decorator
@inline
export function swapRows<T>(x: usize, y: usize, n: i32): void {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  let i = 0;
  for (; i + L <= n; i += L) {
    const off = <usize>i * size;
    const v = v128.load(x + off);
    v128.store(x + off, v128.load(y + off));
    v128.store(y + off, v);
  }
  for (; i < n; i++) {
    const off = <usize>i * size;
    const v = load<T>(x + off);
    store<T>(x + off, load<T>(y + off));
    store<T>(y + off, v);
  }
}

/** The plane rotation (x, y) <- (c x + s y, c y - s x) of two rows. */
// @ts-ignore: decorator
@inline
export function rotateRows<T>(x: usize, y: usize, c: T, s: T, n: i32): void {
  const size = sizeof<T>();
  const L = 16 / <i32>size;
  const vc = v128.splat<T>(c);
  const vs = v128.splat<T>(s);
  let i = 0;
  for (; i + L <= n; i += L) {
    const off = <usize>i * size;
    const a = v128.load(x + off);
    const b = v128.load(y + off);
    v128.store(x + off, v128.add<T>(v128.mul<T>(vc, a), v128.mul<T>(vs, b)));
    v128.store(y + off, v128.sub<T>(v128.mul<T>(vc, b), v128.mul<T>(vs, a)));
  }
  for (; i < n; i++) {
    const off = <usize>i * size;
    const a = load<T>(x + off);
    const b = load<T>(y + off);
    store<T>(x + off, c * a + s * b);
    store<T>(y + off, c * b - s * a);
  }
}

/** max |x[i]| over i < n, or NaN when some x[i] is NaN or infinite. */
// @ts-ignore: decorator
@inline
export function maxAbsFinite<T>(x: usize, n: i32): f64 {
  const size = sizeof<T>();
  let m: f64 = 0;
  let finite = true;
  for (let i = 0; i < n; i++) {
    const v = <f64>load<T>(x + <usize>i * size);
    // v - v is 0 for finite v and NaN for NaN and +-Infinity.
    finite = finite && v - v == 0;
    m = max(m, abs(v));
  }
  return finite ? m : NaN;
}
