// Hand-written determinant by cofactor (Laplace) expansion along the first row, and its
// gradient, for GradBench's "det" eval (cmpad's det_by_minor; an l x l matrix, row-major).
//   det(A) = sum_j (-1)^j A[0][j] det(M_0j),   M_ij: A without row i and column j.
// The gradient is the cofactor matrix, d det / d A[i][j] = (-1)^(i+j) det(M_ij), each minor's
// determinant again by expansion (as GradBench's manual tool does): det is linear in row i
// with coefficients those cofactors.

/**
 * The determinant of the m x m minor of A (row-major, side `ell`) on rows rows[r0 .. r0+m)
 * and columns cols[0 .. m), expanded along its first row.
 */
function minorDet(A, ell, rows, cols, r0, m) {
  const row = rows[r0] * ell;
  if (m === 1) return A[row + cols[0]];
  let total = 0;
  let sign = 1;
  for (let j = 0; j < m; j++) {
    const c = cols[j];
    // Remove column j: shift the ones after it down, recurse, then restore.
    for (let k = j; k < m - 1; k++) cols[k] = cols[k + 1];
    const sub = minorDet(A, ell, rows, cols, r0 + 1, m - 1);
    for (let k = m - 1; k > j; k--) cols[k] = cols[k - 1];
    cols[j] = c;
    total += sign * A[row + c] * sub;
    sign = -sign;
  }
  return total;
}

/** det(A) by expansion along the first row (recursively, no memoisation). */
export function detPrimal(A, ell) {
  const rows = Int32Array.from({ length: ell }, (_, i) => i);
  const cols = Int32Array.from({ length: ell }, (_, i) => i);
  return minorDet(A, ell, rows, cols, 0, ell);
}

/** det(A), with its gradient (the cofactor matrix, row-major) written into `grad`. */
export function detValueAndGrad(A, ell, grad) {
  const rows = new Int32Array(ell - 1);
  const cols = new Int32Array(ell - 1);
  let value = 0;
  for (let i = 0; i < ell; i++) {
    for (let r = 0, k = 0; r < ell; r++) if (r !== i) rows[k++] = r;
    for (let j = 0; j < ell; j++) {
      for (let c = 0, k = 0; c < ell; c++) if (c !== j) cols[k++] = c;
      const cofactor = ((i + j) % 2 === 0 ? 1 : -1) * (ell === 1 ? 1 : minorDet(A, ell, rows, cols, 0, ell - 1));
      grad[i * ell + j] = cofactor;
      if (i === 0) value += A[j] * cofactor;
    }
  }
  return value;
}
