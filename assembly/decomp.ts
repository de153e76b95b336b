// Decompositions for qr, eigh, svd and lstsq: Householder QR, the symmetric eigenproblem
// (Householder tridiagonalisation, then implicit QR steps with Wilkinson shifts) and the SVD
// (one-sided Jacobi, in svd.ts). Matrices are row-major and contiguous; every inner loop runs along a
// contiguous row (the helpers of vector.ts), so each algorithm is arranged to rotate and
// reflect rows, never columns.
//
// Every kernel first scales its input by a power of two that brings max|a| into [0.5, 1)
// (exact: only exponents change) and scales the results back, so squares of entries neither
// overflow nor underflow whatever the input's magnitude. An input holding NaN or +-Infinity
// gives all-NaN outputs.
//
// Sign conventions, so results are deterministic:
//   qr:   R's diagonal is non-negative (unique for A of full column rank).
//   eigh: each eigenvector's largest component is positive; components equal up to rounding
//         (within a relative 2^-26 in f64, 2^-12 in f32) count as tied and the first wins.
//   svd:  each row of Vt follows the eigh rule; U's column follows its row of Vt.
import { svd } from './svd';
import {
  axpy, dot, epsilon, fillNaN, hypot, maxAbsFinite, needsFlip, pow2Scale, rotateRows, scaleRow, smallestNormal, swapRows, transposeInto,
} from './vector';

/**
 * Reduced QR, A = Q R, of the m x n matrix a (overwritten with Householder vectors): q gets
 * Q (m x k, orthonormal columns) and r gets R (k x n, upper triangular), k = min(m, n).
 * work -> n + k elements of scratch. Householder reflections (Golub & Van Loan, Alg. 5.2.1);
 * backward stable: ||A - QR|| and ||Q^T Q - I|| are O(eps) relative.
 */
export function qr_f64(a: usize, q: usize, r: usize, work: usize, m: i32, n: i32): void {
  qr<f64>(a, q, r, work, m, n);
}

export function qr_f32(a: usize, q: usize, r: usize, work: usize, m: i32, n: i32): void {
  qr<f32>(a, q, r, work, m, n);
}

/**
 * Eigenvalues w (n, ascending) and eigenvectors v (n x n, as columns) of the symmetric n x n
 * matrix whose lower triangle is in a (a is overwritten; its upper triangle is never read).
 * work -> 3n elements of scratch. Returns 0, or 1 when the QR iteration did not converge in
 * 30 n steps (never seen; the outputs are then not meaningful).
 */
export function eigh_f64(a: usize, w: usize, v: usize, work: usize, n: i32): i32 {
  return eigh<f64>(a, w, v, work, n);
}

export function eigh_f32(a: usize, w: usize, v: usize, work: usize, n: i32): i32 {
  return eigh<f32>(a, w, v, work, n);
}

/**
 * Reduced SVD, A = U diag(s) Vt, of the m x n matrix a (read only): u gets U (m x k), s the
 * singular values (k, descending, >= 0), vt gets Vt (k x n), k = min(m, n). work -> k*max(m, n)
 * + k*k elements of scratch. Returns 0, or 1 when Jacobi sweeps did not converge in 64 sweeps.
 */
export function svd_f64(a: usize, u: usize, s: usize, vt: usize, work: usize, m: i32, n: i32): i32 {
  return svd<f64>(a, u, s, vt, work, m, n);
}

export function svd_f32(a: usize, u: usize, s: usize, vt: usize, work: usize, m: i32, n: i32): i32 {
  return svd<f32>(a, u, s, vt, work, m, n);
}

// ---------------------------------------------------------------------------------------------
// Householder QR.

// @ts-ignore: decorator
@inline
function qr<T>(a: usize, q: usize, r: usize, work: usize, m: i32, n: i32): void {
  const size = sizeof<T>();
  const k = min(m, n);
  if (k == 0) return;
  const aRow = <usize>n * size;
  const qRow = <usize>k * size;
  const amax = maxAbsFinite<T>(a, m * n);
  if (isNaN(amax)) {
    fillNaN<T>(q, m * k);
    fillNaN<T>(r, k * n);
    return;
  }
  const scale = pow2Scale(amax, size == 4);
  scaleRow<T>(a, <T>scale, m * n);
  const wv = work;
  const tau = work + aRow;
  // Step j reflects x = A[j:, j] to beta e_1 with H_j = I - tau v v^T, v = [1, x_1.. / (alpha - beta)]
  // stored below the diagonal, and beta = -sign(alpha) ||x|| so that alpha - beta does not cancel.
  for (let j = 0; j < k; j++) {
    const rowJ = a + <usize>j * aRow;
    const col = <usize>j * size;
    const alpha = load<T>(rowJ + col);
    let sigma: T = 0;
    for (let i = j + 1; i < m; i++) {
      const x = load<T>(a + <usize>i * aRow + col);
      sigma += x * x;
    }
    if (sigma == 0) {
      store<T>(tau + col, 0);
      continue;
    }
    const norm = sqrt<T>(alpha * alpha + sigma);
    const beta = alpha >= 0 ? -norm : norm;
    const toV = <T>1 / (alpha - beta);
    for (let i = j + 1; i < m; i++) {
      const p = a + <usize>i * aRow + col;
      store<T>(p, load<T>(p) * toV);
    }
    const t = (beta - alpha) / beta;
    store<T>(tau + col, t);
    store<T>(rowJ + col, beta);
    // A[j:, j+1:] -= tau v (v^T A[j:, j+1:]), as axpys along rows.
    const len = n - j - 1;
    if (len == 0) continue;
    const tail = col + size;
    memory.copy(wv, rowJ + tail, <usize>len * size);
    for (let i = j + 1; i < m; i++) {
      const rowI = a + <usize>i * aRow;
      const vi = load<T>(rowI + col);
      if (vi != 0) axpy<T>(wv, vi, rowI + tail, len);
    }
    axpy<T>(rowJ + tail, -t, wv, len);
    for (let i = j + 1; i < m; i++) {
      const rowI = a + <usize>i * aRow;
      const vi = load<T>(rowI + col);
      if (vi != 0) axpy<T>(rowI + tail, -t * vi, wv, len);
    }
  }
  // Q = H_0 ... H_{k-1} I[:, :k], accumulated from the last reflection: step j changes only Q[j:, j:].
  memory.fill(q, 0, <usize>m * qRow);
  for (let j = 0; j < k; j++) store<T>(q + <usize>j * qRow + <usize>j * size, 1);
  for (let j = k - 1; j >= 0; j--) {
    const col = <usize>j * size;
    const t = load<T>(tau + col);
    if (t == 0) continue;
    const len = k - j;
    const qj = q + <usize>j * qRow + col;
    memory.copy(wv, qj, <usize>len * size);
    for (let i = j + 1; i < m; i++) {
      const vi = load<T>(a + <usize>i * aRow + col);
      if (vi != 0) axpy<T>(wv, vi, q + <usize>i * qRow + col, len);
    }
    axpy<T>(qj, -t, wv, len);
    for (let i = j + 1; i < m; i++) {
      const vi = load<T>(a + <usize>i * aRow + col);
      if (vi != 0) axpy<T>(q + <usize>i * qRow + col, -t * vi, wv, len);
    }
  }
  // R is the upper triangle of A's first k rows, scaled back; a negative diagonal entry flips
  // its row of R and its column of Q.
  const unscale = <T>(1 / scale);
  for (let j = 0; j < k; j++) {
    const col = <usize>j * size;
    const rj = r + <usize>j * aRow;
    memory.fill(rj, 0, col);
    memory.copy(rj + col, a + <usize>j * aRow + col, <usize>(n - j) * size);
    let f = unscale;
    if (load<T>(rj + col) < 0) {
      f = -unscale;
      for (let i = 0; i < m; i++) {
        const p = q + <usize>i * qRow + col;
        store<T>(p, -load<T>(p));
      }
    }
    scaleRow<T>(rj + col, f, n - j);
  }
}

// ---------------------------------------------------------------------------------------------
// Symmetric eigenproblem.
//
// Why tridiagonalisation + implicit QR rather than cyclic Jacobi: both are backward stable
// (eigenvalues within O(eps ||A||), eigenvectors orthogonal to O(n eps), errors in eigenvectors
// O(eps ||A|| / gap)), which is the accuracy JAX's LAPACK-based eigh promises too. Jacobi's
// extra, relative accuracy for tiny eigenvalues of graded positive definite matrices is not
// something eigh's users can rely on elsewhere, while the QR route costs about 9 n^3 flops
// against 30-60 n^3 for 6-10 Jacobi sweeps.

// @ts-ignore: decorator
@inline
function eigh<T>(a: usize, w: usize, v: usize, work: usize, n: i32): i32 {
  const size = sizeof<T>();
  if (n == 0) return 0;
  const rowB = <usize>n * size;
  // Mirror the lower triangle into the upper one.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) store<T>(a + <usize>i * rowB + <usize>j * size, load<T>(a + <usize>j * rowB + <usize>i * size));
  }
  const amax = maxAbsFinite<T>(a, n * n);
  if (isNaN(amax)) {
    fillNaN<T>(w, n);
    fillNaN<T>(v, n * n);
    return 0;
  }
  const scale = pow2Scale(amax, size == 4);
  scaleRow<T>(a, <T>scale, n * n);
  const e = work;
  const betas = work + rowB;
  const p = work + 2 * rowB;

  // 1. A = Q T Q^T, T tridiagonal (diagonal in w, off-diagonal in e), Golub & Van Loan Alg. 8.3.1.
  // Step k reflects x = A[k, k+1:] (row k: A is kept symmetric, so it equals the column) with
  // H = I - beta v v^T, v = x - mu e_1 stored back in row k, then B = A[k+1:, k+1:] <- H B H as
  // B - v w^T - w v^T with w = p - (beta p^T v / 2) v, p = beta B v.
  for (let k = 0; k < n - 2; k++) {
    const rowK = a + <usize>k * rowB;
    const x = rowK + <usize>(k + 1) * size;
    const len = n - k - 1;
    store<T>(w + <usize>k * size, load<T>(rowK + <usize>k * size));
    const alpha = load<T>(x);
    const sigma = dot<T>(x + size, x + size, len - 1);
    if (sigma == 0) {
      store<T>(betas + <usize>k * size, 0);
      store<T>(e + <usize>k * size, alpha);
      continue;
    }
    const norm = sqrt<T>(alpha * alpha + sigma);
    const mu = alpha >= 0 ? -norm : norm;
    const v0 = alpha - mu;
    store<T>(x, v0);
    const beta = <T>2 / (v0 * v0 + sigma);
    store<T>(betas + <usize>k * size, beta);
    store<T>(e + <usize>k * size, mu);
    const b0 = x + rowB; // B[0][0]
    for (let i = 0; i < len; i++) store<T>(p + <usize>i * size, beta * dot<T>(b0 + <usize>i * rowB, x, len));
    axpy<T>(p, -beta * <T>0.5 * dot<T>(p, x, len), x, len);
    for (let i = 0; i < len; i++) {
      const bi = b0 + <usize>i * rowB;
      axpy<T>(bi, -load<T>(x + <usize>i * size), p, len);
      axpy<T>(bi, -load<T>(p + <usize>i * size), x, len);
    }
  }
  if (n >= 2) {
    const last = a + <usize>(n - 2) * rowB + <usize>(n - 2) * size;
    store<T>(w + <usize>(n - 2) * size, load<T>(last));
    store<T>(e + <usize>(n - 2) * size, load<T>(last, size));
  }
  store<T>(w + <usize>(n - 1) * size, load<T>(a + <usize>(n - 1) * rowB + <usize>(n - 1) * size));

  // 2. Q = H_0 ... H_{n-3} into v, from the last reflection (step k changes only Q[k+1:, k+1:]).
  memory.fill(v, 0, <usize>n * rowB);
  for (let i = 0; i < n; i++) store<T>(v + <usize>i * rowB + <usize>i * size, 1);
  for (let k = n - 3; k >= 0; k--) {
    const beta = load<T>(betas + <usize>k * size);
    if (beta == 0) continue;
    const x = a + <usize>k * rowB + <usize>(k + 1) * size;
    const len = n - k - 1;
    const q0 = v + <usize>(k + 1) * rowB + <usize>(k + 1) * size;
    memory.fill(p, 0, <usize>len * size);
    for (let i = 0; i < len; i++) axpy<T>(p, load<T>(x + <usize>i * size), q0 + <usize>i * rowB, len);
    for (let i = 0; i < len; i++) axpy<T>(q0 + <usize>i * rowB, -beta * load<T>(x + <usize>i * size), p, len);
  }
  // Z^T = Q^T into a: the eigenvectors as rows, so each rotation below works on two rows.
  transposeInto<T>(a, v, n, n);

  // 3. Implicit symmetric QR steps with the Wilkinson shift (Golub & Van Loan, Alg. 8.3.2 and
  // 8.3.3) on the unreduced block [lo, hi] at the bottom, deflating negligible e[i]; a 2 x 2
  // block is diagonalised directly.
  const eps = epsilon<T>();
  const safe = smallestNormal<T>();
  let hi = n - 1;
  let steps = 0;
  while (hi > 0) {
    if (negligible<T>(e, w, hi - 1, eps, safe)) {
      store<T>(e + <usize>(hi - 1) * size, 0);
      hi--;
      continue;
    }
    let lo = hi - 1;
    while (lo > 0 && !negligible<T>(e, w, lo - 1, eps, safe)) lo--;
    if (lo > 0) store<T>(e + <usize>(lo - 1) * size, 0);
    if (++steps > 30 * n) return 1;
    if (hi - lo == 1) solve2x2<T>(w, e, a, lo, n);
    else qrStep<T>(w, e, a, lo, hi, n);
  }

  // 4. Ascending order (selection sort, moving eigenvector rows along), signs, and back to columns.
  for (let i = 0; i < n - 1; i++) {
    let best = i;
    for (let j = i + 1; j < n; j++) if (load<T>(w + <usize>j * size) < load<T>(w + <usize>best * size)) best = j;
    if (best != i) {
      const di = load<T>(w + <usize>i * size);
      store<T>(w + <usize>i * size, load<T>(w + <usize>best * size));
      store<T>(w + <usize>best * size, di);
      swapRows<T>(a + <usize>i * rowB, a + <usize>best * rowB, n);
    }
  }
  for (let i = 0; i < n; i++) {
    const zi = a + <usize>i * rowB;
    if (needsFlip<T>(zi, n)) scaleRow<T>(zi, -1, n);
  }
  transposeInto<T>(v, a, n, n);
  scaleRow<T>(w, <T>(1 / scale), n);
  return 0;
}

/** Is e[i] negligible against its diagonal neighbours d[i], d[i+1]? */
// @ts-ignore: decorator
@inline
function negligible<T>(e: usize, d: usize, i: i32, eps: T, safe: T): bool {
  const size = sizeof<T>();
  const ei = abs<T>(load<T>(e + <usize>i * size));
  return ei <= eps * (abs<T>(load<T>(d + <usize>i * size)) + abs<T>(load<T>(d + <usize>(i + 1) * size))) || ei < safe;
}

/**
 * Diagonalises the 2 x 2 block [[a, b], [b, c]] at (lo, lo + 1) in closed form, rotating rows
 * lo, lo + 1 of zt to match. The eigenvalue of larger magnitude is (a + c)/2 +- r with the sign
 * of a + c (no cancellation), the other det / that one = (a c - b^2) / rt1 (accurate whatever
 * their ratio); the eigenvector of rt1 is whichever of (rt1 - c, b) and (b, rt1 - a) is longer.
 */
// @ts-ignore: decorator
@inline
function solve2x2<T>(d: usize, e: usize, zt: usize, lo: i32, n: i32): void {
  const size = sizeof<T>();
  const pd = d + <usize>lo * size;
  const a = load<T>(pd);
  const c = load<T>(pd, size);
  const b = load<T>(e + <usize>lo * size);
  const sum = a + c;
  const r = hypot<T>(a - c, <T>2 * b);
  const rt1 = sum < 0 ? (sum - r) * <T>0.5 : (sum + r) * <T>0.5;
  const big = abs<T>(a) > abs<T>(c) ? a : c;
  const small = abs<T>(a) > abs<T>(c) ? c : a;
  const rt2 = (big / rt1) * small - (b / rt1) * b;
  let x = rt1 - c;
  let y = b;
  if (abs<T>(b) + abs<T>(rt1 - a) > abs<T>(x) + abs<T>(y)) {
    x = b;
    y = rt1 - a;
  }
  const len = hypot<T>(x, y);
  store<T>(pd, rt1);
  store<T>(pd, rt2, size);
  store<T>(e + <usize>lo * size, 0);
  rotateRows<T>(zt + <usize>lo * <usize>n * size, zt + <usize>(lo + 1) * <usize>n * size, x / len, y / len, n);
}

/**
 * One implicit QR step on the block [lo, hi] of the tridiagonal (d, e): T <- G T G^T with a
 * chain of plane rotations G_k in rows (k, k+1), the first set by the shifted column
 * (d[lo] - mu, e[lo]), the others chasing the bulge T[k-1][k+1] down. Each G_k also rotates
 * rows k, k+1 of zt, the eigenvectors as rows.
 */
// @ts-ignore: decorator
@inline
function qrStep<T>(d: usize, e: usize, zt: usize, lo: i32, hi: i32, n: i32): void {
  const size = sizeof<T>();
  const rowB = <usize>n * size;
  // Wilkinson shift: the eigenvalue of the trailing 2 x 2 block nearer to its last entry.
  const dHi = load<T>(d + <usize>hi * size);
  const eHi = load<T>(e + <usize>(hi - 1) * size);
  const delta = (load<T>(d + <usize>(hi - 1) * size) - dHi) * <T>0.5;
  const h = hypot<T>(delta, eHi);
  const mu = dHi - eHi * (eHi / (delta >= 0 ? delta + h : delta - h));
  let x = load<T>(d + <usize>lo * size) - mu;
  let z = load<T>(e + <usize>lo * size);
  for (let k = lo; k < hi; k++) {
    const r = hypot<T>(x, z);
    let c: T = 1;
    let s: T = 0;
    if (r != 0) {
      c = x / r;
      s = z / r;
    }
    if (k > lo) store<T>(e + <usize>(k - 1) * size, r);
    const pk = d + <usize>k * size;
    const pe = e + <usize>k * size;
    const dk = load<T>(pk);
    const dk1 = load<T>(pk, size);
    const ek = load<T>(pe);
    // [[dk, ek], [ek, dk1]] <- G [[dk, ek], [ek, dk1]] G^T with G = [[c, s], [-s, c]].
    const cs2ek = <T>2 * c * s * ek;
    store<T>(pk, c * c * dk + cs2ek + s * s * dk1);
    store<T>(pk, s * s * dk - cs2ek + c * c * dk1, size);
    store<T>(pe, c * s * (dk1 - dk) + (c * c - s * s) * ek);
    if (k + 1 < hi) {
      const next = load<T>(pe, size);
      z = s * next;
      store<T>(pe, c * next, size);
      x = load<T>(pe);
    }
    rotateRows<T>(zt + <usize>k * rowB, zt + <usize>(k + 1) * rowB, c, s, n);
  }
}
