// Decompositions for qr, eigh, svd and lstsq: Householder QR, the symmetric eigenproblem
// (Householder tridiagonalisation, then implicit QR steps with Wilkinson shifts) and the SVD
// (one-sided Jacobi). Matrices are row-major and contiguous; every inner loop runs along a
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
import { axpy, divideRow, dot, gramPair, gramXX, gramYY, maxAbsFinite, rotateRows, scaleRow, swapRows } from './vector';

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

// ---------------------------------------------------------------------------------------------
// SVD by one-sided Jacobi (Hestenes).
//
// Why one-sided Jacobi rather than Golub-Kahan bidiagonalisation + implicit QR: it is backward
// stable with singular values of high relative accuracy (Demmel & Veselic 1992: small singular
// values of A = B D, B well conditioned, D diagonal, come out to full relative precision, where
// Golub-Kahan only bounds errors by eps ||A||); V is a product of rotations, so orthogonal to
// rounding; and U is orthonormal by the stopping test itself (every pair of columns of A V is
// orthogonal to within tol), whatever the singular values. Each pair costs one pass over two
// rows for their Gram matrix and, when they are not yet orthogonal, two row rotations. It costs more flops (about 6-10 sweeps of 2 k^2 q
// + k^3) than Golub-Kahan, which the bench measures.
//
// The k vectors orthogonalised are the rows of W: A's columns (W = A^T) when m >= n, A's rows
// when m < n. Rotations accumulate in G (k x k): G W has orthogonal rows, with norms s_i.
//   m >= n: A^T = G^T diag(s) Z  =>  U = Z^T, Vt = G;
//   m <  n: A   = G^T diag(s) Z  =>  U = G^T, Vt = Z;
// Z's rows are G W's rows normalised (completed to an orthonormal set where s_i = 0).

// @ts-ignore: decorator
@inline
function svd<T>(a: usize, u: usize, s: usize, vt: usize, work: usize, m: i32, n: i32): i32 {
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

// ---------------------------------------------------------------------------------------------
// Small helpers.

/** Should row x (n elements) be negated so that its largest component is positive (see the file comment)? */
// @ts-ignore: decorator
@inline
function needsFlip<T>(x: usize, n: i32): bool {
  const size = sizeof<T>();
  let big: T = 0;
  for (let i = 0; i < n; i++) big = max<T>(big, abs<T>(load<T>(x + <usize>i * size)));
  const cut = big * (size == 8 ? <T>(1 - 1.4901161193847656e-8) : <T>(1 - 2.44140625e-4));
  for (let i = 0; i < n; i++) {
    const v = load<T>(x + <usize>i * size);
    if (abs<T>(v) >= cut) return v < 0;
  }
  return false;
}

/** out (cols x rows) = a^T for a (rows x cols). */
// @ts-ignore: decorator
@inline
function transposeInto<T>(out: usize, a: usize, rows: i32, cols: i32): void {
  const size = sizeof<T>();
  for (let i = 0; i < rows; i++) {
    const ai = a + <usize>i * <usize>cols * size;
    for (let j = 0; j < cols; j++) store<T>(out + (<usize>j * <usize>rows + <usize>i) * size, load<T>(ai + <usize>j * size));
  }
}

// @ts-ignore: decorator
@inline
function fillNaN<T>(x: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<T>(x + <usize>i * sizeof<T>(), <T>NaN);
}

/** sqrt(x^2 + y^2) without overflow or underflow in the squares. */
// @ts-ignore: decorator
@inline
function hypot<T>(x: T, y: T): T {
  const ax = abs<T>(x);
  const ay = abs<T>(y);
  const big = max<T>(ax, ay);
  if (big == 0) return 0;
  const ratio = min<T>(ax, ay) / big;
  return big * sqrt<T>(<T>1 + ratio * ratio);
}

/** The spacing of T's numbers at 1: 2^-52 or 2^-23. */
// @ts-ignore: decorator
@inline
function epsilon<T>(): T {
  return sizeof<T>() == 8 ? <T>2.220446049250313e-16 : <T>1.1920928955078125e-7;
}

// @ts-ignore: decorator
@inline
function smallestNormal<T>(): T {
  return sizeof<T>() == 8 ? <T>2.2250738585072014e-308 : <T>1.1754943508222875e-38;
}

/**
 * 2^-e for m = f 2^e, f in [0.5, 1): multiplying by it is exact and brings m into [0.5, 1).
 * The exponent is clamped to +-120 (f32) or +-1000 (f64) so the factor and its inverse stay
 * representable; 1 for m = 0.
 */
function pow2Scale(m: f64, single: bool): f64 {
  if (!(m > 0)) return 1;
  const limit = single ? 120 : 1000;
  const e = min(max(<i32>((reinterpret<u64>(m) >> 52) & 0x7ff) - 1022, -limit), limit);
  return reinterpret<f64>(<u64>(1023 - e) << 52);
}
