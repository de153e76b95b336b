// The SVD by one-sided Jacobi (Hestenes), the algorithm behind svd_<dt> in decomp.ts, which
// states the ABI and the sign convention.
//
// Why one-sided Jacobi rather than Golub-Kahan bidiagonalisation + implicit QR: it is backward
// stable with singular values of high relative accuracy (Demmel & Veselic 1992: small singular
// values of A = B D, B well conditioned, D diagonal, come out to full relative precision, where
// Golub-Kahan only bounds errors by eps ||A||); V is a product of rotations, so orthogonal to
// rounding; and U is orthonormal by the stopping test itself (every pair of columns of A V is
// orthogonal to within tol), whatever the singular values. Each pair costs one pass over two
// rows for their Gram matrix and, when they are not yet orthogonal, two row rotations. It
// costs more flops than Golub-Kahan (6-13 sweeps of about 3 k^2 q + 3 k^3 flops, against
// about 4 m n^2 + 8 n^3 in all), which the bench measures.
//
// The k vectors orthogonalised are the rows of W: A's columns (W = A^T) when m >= n, A's rows
// when m < n. Rotations accumulate in G (k x k): G W has orthogonal rows, with norms s_i.
//   m >= n: A^T = G^T diag(s) Z  =>  U = Z^T, Vt = G;
//   m <  n: A   = G^T diag(s) Z  =>  U = G^T, Vt = Z;
// Z's rows are G W's rows normalised (completed to an orthonormal set where s_i = 0).
import {
  axpy, divideRow, dot, epsilon, fillNaN, gramPair, gramXX, gramYY, maxAbsFinite, needsFlip, pow2Scale, rotateRows, scaleRow,
  smallestNormal, swapRows, transposeInto,
} from './vector';

// @ts-ignore: decorator
@inline
export function svd<T>(a: usize, u: usize, s: usize, vt: usize, work: usize, m: i32, n: i32): i32 {
  const size = sizeof<T>();
  const k = min(m, n);
  const q = max(m, n);
  if (k == 0) return 0;
  const amax = maxAbsFinite<T>(a, m * n);
  if (isNaN(amax)) {
    fillNaN<T>(u, m * k);
    fillNaN<T>(s, k);
    fillNaN<T>(vt, k * n);
    return 0;
  }
  const scale = pow2Scale(amax, size == 4);
  const wRow = <usize>q * size;
  const gRow = <usize>k * size;
  const wm = work;
  const g = work + <usize>k * wRow;
  if (m >= n) transposeInto<T>(wm, a, m, n);
  else memory.copy(wm, a, <usize>m * <usize>n * size);
  scaleRow<T>(wm, <T>scale, m * n);
  memory.fill(g, 0, <usize>k * gRow);
  for (let i = 0; i < k; i++) store<T>(g + <usize>i * gRow + <usize>i * size, 1);

  // Sweeps over all pairs (i, j): rotate rows i, j of W (and G) in their plane so they become
  // orthogonal, unless |w_i . w_j| <= tol ||w_i|| ||w_j|| already. Rutishauser's formulas:
  // zeta = (||w_j||^2 - ||w_i||^2) / (2 w_i . w_j), t = tan(theta) the root of t^2 + 2 zeta t = 1
  // of smaller modulus; w_i <- c w_i - s w_j, w_j <- s w_i + c w_j.
  const tol = epsilon<T>() * sqrt<T>(<T>q);
  const big = <T>1 / sqrt<T>(epsilon<T>());
  let sweeps = 0;
  let rotated = true;
  while (rotated) {
    if (++sweeps > 64) return 1;
    rotated = false;
    for (let i = 0; i < k - 1; i++) {
      const wi = wm + <usize>i * wRow;
      for (let j = i + 1; j < k; j++) {
        const wj = wm + <usize>j * wRow;
        const gamma = gramPair<T>(wi, wj, q);
        if (gamma == 0) continue;
        const alpha = <T>gramXX;
        const beta = <T>gramYY;
        if (abs<T>(gamma) <= tol * sqrt<T>(alpha) * sqrt<T>(beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (<T>2 * gamma);
        const az = abs<T>(zeta);
        // For |zeta| > 1/sqrt(eps), sqrt(1 + zeta^2) rounds to |zeta| (and would overflow later).
        const t = (zeta >= 0 ? <T>1 : <T>-1) / (az + (az > big ? az : sqrt<T>(<T>1 + az * az)));
        const c = <T>1 / sqrt<T>(<T>1 + t * t);
        const sn = c * t;
        rotateRows<T>(wi, wj, c, -sn, q);
        rotateRows<T>(g + <usize>i * gRow, g + <usize>j * gRow, c, -sn, k);
      }
    }
  }

  // Singular values, descending (selection sort, moving rows of W and G along).
  for (let i = 0; i < k; i++) {
    const wi = wm + <usize>i * wRow;
    store<T>(s + <usize>i * size, sqrt<T>(dot<T>(wi, wi, q)));
  }
  for (let i = 0; i < k - 1; i++) {
    let best = i;
    for (let j = i + 1; j < k; j++) if (load<T>(s + <usize>j * size) > load<T>(s + <usize>best * size)) best = j;
    if (best != i) {
      const si = load<T>(s + <usize>i * size);
      store<T>(s + <usize>i * size, load<T>(s + <usize>best * size));
      store<T>(s + <usize>best * size, si);
      swapRows<T>(wm + <usize>i * wRow, wm + <usize>best * wRow, q);
      swapRows<T>(g + <usize>i * gRow, g + <usize>best * gRow, k);
    }
  }
  // Z: rows of W normalised; below the smallest normal number a row carries no direction, and
  // is replaced by a unit vector orthogonal to the rows before it.
  const safe = smallestNormal<T>();
  for (let i = 0; i < k; i++) {
    const wi = wm + <usize>i * wRow;
    const si = load<T>(s + <usize>i * size);
    if (si >= safe) divideRow<T>(wi, si, q);
    else completeRow<T>(wm, i, q);
  }
  // Signs: Vt's row i (G's row when m >= n, Z's when m < n) gets its largest component positive.
  for (let i = 0; i < k; i++) {
    const wi = wm + <usize>i * wRow;
    const gi = g + <usize>i * gRow;
    if (m >= n ? needsFlip<T>(gi, k) : needsFlip<T>(wi, q)) {
      scaleRow<T>(wi, -1, q);
      scaleRow<T>(gi, -1, k);
    }
  }
  if (m >= n) {
    transposeInto<T>(u, wm, k, m);
    memory.copy(vt, g, <usize>k * gRow);
  } else {
    transposeInto<T>(u, g, k, k);
    memory.copy(vt, wm, <usize>k * wRow);
  }
  scaleRow<T>(s, <T>(1 / scale), k);
  return 0;
}

/**
 * Row i of z (rows of length q, rows 0..i-1 orthonormal) <- the unit vector orthogonal to rows
 * 0..i-1 that comes from the coordinate vector e_c with the largest residual
 * 1 - sum_j z[j][c]^2 (the first c on ties), orthogonalised twice (Gram-Schmidt, twice is enough).
 */
// @ts-ignore: decorator
@inline
function completeRow<T>(z: usize, i: i32, q: i32): void {
  const size = sizeof<T>();
  const row = <usize>q * size;
  const zi = z + <usize>i * row;
  let best = 0;
  let bestResidual: T = -1;
  for (let c = 0; c < q; c++) {
    let r: T = 1;
    for (let j = 0; j < i; j++) {
      const v = load<T>(z + <usize>j * row + <usize>c * size);
      r -= v * v;
    }
    if (r > bestResidual) {
      bestResidual = r;
      best = c;
    }
  }
  memory.fill(zi, 0, row);
  store<T>(zi + <usize>best * size, 1);
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < i; j++) {
      const zj = z + <usize>j * row;
      axpy<T>(zi, -dot<T>(zi, zj, q), zj, q);
    }
  }
  divideRow<T>(zi, sqrt<T>(dot<T>(zi, zi, q)), q);
}
