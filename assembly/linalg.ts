// Dense factorisations and triangular solves for solve/inv/det/cholesky. Matrices are n x n
// row-major, right-hand sides n x nrhs row-major; everything works in place.
//
// Every algorithm is arranged so its inner loop runs along a contiguous row (a dot product or
// an axpy over a row of the matrix or of b), which is what the v128 helpers of vector.ts vectorise.
import { axpy, divideRow, dot, swapRows } from './vector';

/**
 * In-place LU with partial pivoting, P*A = L*U (Golub & Van Loan, Alg. 3.4.1, right-looking).
 * On return the strict lower part of a holds L (unit diagonal implied) and the upper part U.
 * piv -> i32[n] follows LAPACK getrf, 0-based: at step k rows k and piv[k] were swapped.
 * Returns 0, or the 1-based index of the first exactly zero pivot (the factorisation is still
 * completed, as in getrf, so det = 0 can be read off U). det(A) = lu_sign(piv, n) * prod U[i][i].
 */
export function lu_f64(a: usize, piv: usize, n: i32): i32 {
  return lu<f64>(a, piv, n);
}

export function lu_f32(a: usize, piv: usize, n: i32): i32 {
  return lu<f32>(a, piv, n);
}

/** The sign of the permutation recorded by lu_<dt>: (-1)^(number of k with piv[k] != k). */
export function lu_sign(piv: usize, n: i32): f64 {
  let sign = 1.0;
  for (let k = 0; k < n; k++) if (load<i32>(piv + (<usize>k << 2)) != k) sign = -sign;
  return sign;
}

/** Solves A X = B in place in b (n x nrhs), given lu_<dt>'s factors of A and its piv. */
export function lu_solve_f64(lu: usize, piv: usize, b: usize, n: i32, nrhs: i32): void {
  luSolve<f64>(lu, piv, b, n, nrhs);
}

export function lu_solve_f32(lu: usize, piv: usize, b: usize, n: i32, nrhs: i32): void {
  luSolve<f32>(lu, piv, b, n, nrhs);
}

/**
 * In-place Cholesky A = L L^T (Cholesky-Banachiewicz, row by row). Reads only the lower
 * triangle of a, leaves L there and zeroes the strict upper triangle. Returns 0, or k (1-based,
 * as LAPACK potrf) when the leading k x k minor is not positive definite; a is then partly
 * overwritten.
 */
export function cholesky_f64(a: usize, n: i32): i32 {
  return cholesky<f64>(a, n);
}

export function cholesky_f32(a: usize, n: i32): i32 {
  return cholesky<f32>(a, n);
}

/**
 * Solves op(T) X = B in place in b (n x nrhs), T n x n triangular: lower != 0 reads the lower
 * triangle, else the upper; op(T) = T^T when transpose != 0; unitDiag != 0 takes the diagonal
 * as ones without reading it. The other triangle is never read.
 */
export function tri_solve_f64(t: usize, b: usize, n: i32, nrhs: i32, lower: i32, transpose: i32, unitDiag: i32): void {
  triSolve<f64>(t, b, n, nrhs, lower != 0, transpose != 0, unitDiag != 0);
}

export function tri_solve_f32(t: usize, b: usize, n: i32, nrhs: i32, lower: i32, transpose: i32, unitDiag: i32): void {
  triSolve<f32>(t, b, n, nrhs, lower != 0, transpose != 0, unitDiag != 0);
}

// ---------------------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline
function lu<T>(a: usize, piv: usize, n: i32): i32 {
  const size = sizeof<T>();
  const rowBytes = <usize>n * size;
  let info = 0;
  for (let k = 0; k < n; k++) {
    // Pivot: the largest |a[i][k]| for i >= k (the first on ties, as LAPACK's idamax).
    let p = k;
    let best = abs<T>(load<T>(a + <usize>k * rowBytes + <usize>k * size));
    for (let i = k + 1; i < n; i++) {
      const v = abs<T>(load<T>(a + <usize>i * rowBytes + <usize>k * size));
      if (v > best) {
        best = v;
        p = i;
      }
    }
    store<i32>(piv + (<usize>k << 2), p);
    const rowK = a + <usize>k * rowBytes;
    if (p != k) swapRows<T>(rowK, a + <usize>p * rowBytes, n);
    const pivot = load<T>(rowK + <usize>k * size);
    if (pivot == 0) {
      if (info == 0) info = k + 1;
      continue;
    }
    const inv = <T>1 / pivot;
    const tail = n - k - 1;
    const kTail = rowK + <usize>(k + 1) * size;
    for (let i = k + 1; i < n; i++) {
      const rowI = a + <usize>i * rowBytes;
      const l = load<T>(rowI + <usize>k * size) * inv;
      store<T>(rowI + <usize>k * size, l);
      if (l != 0) axpy<T>(rowI + <usize>(k + 1) * size, -l, kTail, tail);
    }
  }
  return info;
}

// @ts-ignore: decorator
@inline
function luSolve<T>(lu: usize, piv: usize, b: usize, n: i32, nrhs: i32): void {
  const bRow = <usize>nrhs * sizeof<T>();
  for (let k = 0; k < n; k++) {
    const p = load<i32>(piv + (<usize>k << 2));
    if (p != k) swapRows<T>(b + <usize>k * bRow, b + <usize>p * bRow, nrhs);
  }
  triSolve<T>(lu, b, n, nrhs, true, false, true);
  triSolve<T>(lu, b, n, nrhs, false, false, false);
}

// @ts-ignore: decorator
@inline
function cholesky<T>(a: usize, n: i32): i32 {
  const size = sizeof<T>();
  const rowBytes = <usize>n * size;
  for (let i = 0; i < n; i++) {
    const rowI = a + <usize>i * rowBytes;
    for (let j = 0; j < i; j++) {
      const rowJ = a + <usize>j * rowBytes;
      const s = load<T>(rowI + <usize>j * size) - dot<T>(rowI, rowJ, j);
      store<T>(rowI + <usize>j * size, s / load<T>(rowJ + <usize>j * size));
    }
    const d = load<T>(rowI + <usize>i * size) - dot<T>(rowI, rowI, i);
    // !(d > 0) also catches NaN.
    if (!(d > 0)) return i + 1;
    store<T>(rowI + <usize>i * size, sqrt<T>(d));
    memory.fill(rowI + <usize>(i + 1) * size, 0, <usize>(n - i - 1) * size);
  }
  return 0;
}

// Four cases, each with T read along rows (see the file comment):
//   op(T) lower (T lower, or T upper transposed) runs forward, upper runs backward;
//   without transpose, x_i = (b_i - sum_k T[i][k] x_k) / T[i][i]   (row i of T, k on one side);
//   with transpose, x_i = b_i / T[i][i], then b_k -= T[i][k] x_i     (row i of T, other side).
// One right-hand side uses dot/axpy along the row of T; several use axpy along rows of b.
// @ts-ignore: decorator
@inline
function triSolve<T>(t: usize, b: usize, n: i32, nrhs: i32, lower: bool, transpose: bool, unitDiag: bool): void {
  if (n <= 0 || nrhs <= 0) return;
  const size = sizeof<T>();
  const tRow = <usize>n * size;
  const bRow = <usize>nrhs * size;
  const forward = lower != transpose;
  for (let s = 0; s < n; s++) {
    const i = forward ? s : n - 1 - s;
    const rowT = t + <usize>i * tRow;
    const bi = b + <usize>i * bRow;
    // Columns k of row i on the solved side: [0, i) when lower, (i, n) when upper.
    const k0 = lower ? 0 : i + 1;
    const k1 = lower ? i : n;
    if (!transpose) {
      if (nrhs == 1) {
        store<T>(bi, load<T>(bi) - dot<T>(rowT + <usize>k0 * size, b + <usize>k0 * size, k1 - k0));
      } else {
        for (let k = k0; k < k1; k++) {
          const c = load<T>(rowT + <usize>k * size);
          if (c != 0) axpy<T>(bi, -c, b + <usize>k * bRow, nrhs);
        }
      }
      if (!unitDiag) divideRow<T>(bi, load<T>(rowT + <usize>i * size), nrhs);
    } else {
      if (!unitDiag) divideRow<T>(bi, load<T>(rowT + <usize>i * size), nrhs);
      if (nrhs == 1) {
        axpy<T>(b + <usize>k0 * size, -load<T>(bi), rowT + <usize>k0 * size, k1 - k0);
      } else {
        for (let k = k0; k < k1; k++) {
          const c = load<T>(rowT + <usize>k * size);
          if (c != 0) axpy<T>(b + <usize>k * bRow, -c, bi, nrhs);
        }
      }
    }
  }
}
