// GEMM: out[m x n] = op(A)[m x k] * op(B)[k x n], row-major, out overwritten.
//
// Paths, by shape: k = 0 fills zeros; m = 1 or n = 1 are matrix-vector products (memory-bound,
// no packing); m n k <= SMALL_MNK is a scalar loop; fewer than MR rows (or columns) run one
// matrix-vector product per row (column); an output thinner than THIN is computed transposed;
// everything else is the packed GEMM below.
//
// Large products follow the GotoBLAS/BLIS loop nest (Goto & van de Geijn, "Anatomy of
// High-Performance Matrix Multiplication", TOMS 2008; Van Zee & van de Geijn, BLIS, TOMS 2015):
//   jc over NC columns  -> pack a KC x NC slab of op(B) into NR-wide micro-panels
//   pc over KC depth    ->
//   ic over MC rows     -> pack an MC x KC block of op(A) into MR-tall micro-panels (stays in L2)
//   jr, ir              -> MR x NR micro-kernel, C tile held in v128 locals (B micro-panel in L1)
// Packing reads through (row stride, column stride) pairs, so the transposes cost nothing in the
// inner loop and one micro-kernel serves all four trans cases. Panels are zero-padded to MR / NR
// so the micro-kernel never branches on edges; edge tiles go through a scratch tile instead.
// Baseline wasm SIMD has no FMA, so every update is a mul then an add. Sums are split per KC
// block and per SIMD lane, so results differ from a sequential loop by rounding only, within
// the usual dot-product bound of about k eps sum_p |a_ip| |b_pj|.

// Micro-tile: MR = 4 rows by two v128 columns (NR = 8 f32 or 4 f64). V8 (TurboFan, x64) issues
// all of an iteration's loads before its arithmetic, so the live set is 8 accumulators + 2 B
// vectors + 4 broadcast A values + 1 product temp = 15, exactly the xmm registers it allocates
// (xmm15 is its scratch). Measured on Sapphire Rapids: 4x8 and 2x16 tie at ~43 GFLOP/s f32
// (the mul/add port limit); 6x8 (12 accumulators) spills 4 of them per iteration, ~34.
const MR: i32 = 4;

// Cache blocking in elements, per dtype. MC is a multiple of MR and NC of NR.
// A KC x NR micro-panel of B (8 KiB) stays in L1, an MC x KC block of A (64 KiB) in L2, and
// a KC x NC slab of B (512 KiB) in L2 too; KC 128..512 and MC 64..256 measured within 5%.
// The static budget is what keeps NC small: it must fit the module's initial memory.
const KC_F32: i32 = 256;
const MC_F32: i32 = 64;
const NC_F32: i32 = 512;
const KC_F64: i32 = 256;
const MC_F64: i32 = 32;
const NC_F64: i32 = 256;

// Below this many multiply-adds the packing overhead is not repaid (4 x 4 x 4: 2.9 GFLOP/s
// scalar against 2.3 packed; from 6 x 6 x 6 packing wins). Either way the JS call dominates.
const SMALL_MNK: i32 = 128;

// A side at most this short counts as thin: with m <= THIN the packed path reads a row-major B
// in place instead of packing it (each B micro-panel is used only m / MR times, so packing
// costs more than it saves; 4 x 512 x 512 f32 runs at ~40 GFLOP/s instead of ~20), and an
// output with n <= THIN < m is computed transposed.
const THIN: i32 = 16;

const PACK_A_BYTES: i32 = MC_F32 * KC_F32 * 4 > MC_F64 * KC_F64 * 8 ? MC_F32 * KC_F32 * 4 : MC_F64 * KC_F64 * 8;
const PACK_B_BYTES: i32 = NC_F32 * KC_F32 * 4 > NC_F64 * KC_F64 * 8 ? NC_F32 * KC_F32 * 4 : NC_F64 * KC_F64 * 8;

// Static scratch below __heap_base, so the JS allocator never hands it out.
const packA: usize = memory.data(PACK_A_BYTES, 64);
const packB: usize = memory.data(PACK_B_BYTES, 64);
const edgeTile: usize = memory.data(MR * 16 * 2, 16);

export function matmul_f64(out: usize, a: usize, b: usize, m: i32, k: i32, n: i32, transA: i32, transB: i32): void {
  matmul<f64>(out, a, b, m, k, n, transA, transB);
}

export function matmul_f32(out: usize, a: usize, b: usize, m: i32, k: i32, n: i32, transA: i32, transB: i32): void {
  matmul<f32>(out, a, b, m, k, n, transA, transB);
}

// Forward mode's product with a constant B: out = A op(B) and out2 = A2 op(B) (A, A2 row-major,
// m and m2 rows), the primal and its tangent directions, in one pass over B when the shape
// takes the packed path (packing B is then done once instead of twice).
export function matmul_pair_f64(out: usize, a: usize, out2: usize, a2: usize, b: usize, m: i32, m2: i32, k: i32, n: i32, transB: i32): void {
  matmulPair<f64>(out, a, out2, a2, b, m, m2, k, n, transB);
}

export function matmul_pair_f32(out: usize, a: usize, out2: usize, a2: usize, b: usize, m: i32, m2: i32, k: i32, n: i32, transB: i32): void {
  matmulPair<f32>(out, a, out2, a2, b, m, m2, k, n, transB);
}

// @ts-ignore: decorator
@inline
function matmulPair<T>(out: usize, a: usize, out2: usize, a2: usize, b: usize, m: i32, m2: i32, k: i32, n: i32, transB: i32): void {
  const rows = m + m2;
  // The conditions under which matmul() would take the packed path for all rows at once.
  const packed = m > 0 && m2 > 0 && k > 0 && rows >= MR && n >= MR && !(n < rows && n <= THIN) &&
    <i64>rows * <i64>n * <i64>k > SMALL_MNK;
  if (!packed) {
    matmul<T>(out, a, b, m, k, n, 0, transB);
    matmul<T>(out2, a2, b, m2, k, n, 0, transB);
    return;
  }
  const rsB: usize = transB ? 1 : <usize>n;
  const csB: usize = transB ? <usize>k : 1;
  packedGemm<T>(out, a, b, m, k, n, <usize>k, 1, rsB, csB, <usize>n, 1, out2, a2, m2);
}

// @ts-ignore: decorator
@inline
function matmul<T>(out: usize, a: usize, b: usize, m: i32, k: i32, n: i32, transA: i32, transB: i32): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    memory.fill(out, 0, <usize>m * <usize>n * sizeof<T>());
    return;
  }
  // op(A)[i][p] = a[i * rsA + p * csA], op(B)[p][j] = b[p * rsB + j * csB]
  const rsA: usize = transA ? 1 : <usize>k;
  const csA: usize = transA ? <usize>m : 1;
  const rsB: usize = transB ? 1 : <usize>n;
  const csB: usize = transB ? <usize>k : 1;
  const S = sizeof<T>();
  if (n == 1) {
    // b is a contiguous k-vector either way
    if (transA) axpyRows<T>(out, a, b, k, m);
    else dotRows<T>(out, S, a, b, m, k);
  } else if (m == 1) {
    if (transB) dotRows<T>(out, S, b, a, n, k);
    else axpyRows<T>(out, b, a, k, n);
  } else if (<i64>m * <i64>n * <i64>k <= SMALL_MNK) {
    smallGemm<T>(out, a, b, m, k, n, rsA, csA, rsB, csB);
  } else if (m < MR && (!transA || <usize>m * <usize>k * S <= <usize>PACK_B_BYTES)) {
    // Too few rows to fill a micro-tile: one matrix-vector product per row of op(A), made
    // contiguous first if A is stored transposed.
    let rows = a;
    if (transA) {
      transposeInto<T>(packB, a, k, m);
      rows = packB;
    }
    for (let i = 0; i < m; i++) {
      const x = rows + <usize>i * <usize>k * S;
      const y = out + <usize>i * <usize>n * S;
      if (transB) dotRows<T>(y, S, b, x, n, k);
      else axpyRows<T>(y, b, x, k, n);
    }
  } else if (n < MR && !transA && (transB || <usize>n * <usize>k * S <= <usize>PACK_B_BYTES)) {
    // Likewise for columns: column j of op(B) is row j of b, or of b's transpose.
    let cols = b;
    if (!transB) {
      transposeInto<T>(packB, b, k, n);
      cols = packB;
    }
    for (let j = 0; j < n; j++) {
      dotRows<T>(out + <usize>j * S, <usize>n * S, a, cols + <usize>j * <usize>k * S, m, k);
    }
  } else if (n < m && n <= THIN) {
    // A thin output would fill only n / NR of each micro-tile. Its transpose,
    // out^T = op(B)^T op(A)^T, has the long side along the tile's columns; it is written back
    // through (row, column) strides (1, n).
    packedGemm<T>(out, b, a, n, k, m, csB, rsB, csA, rsA, 1, <usize>n);
  } else {
    packedGemm<T>(out, a, b, m, k, n, rsA, csA, rsB, csB, <usize>n, 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Packed path

/**
 * C = op(A) op(B), with C[i][j] at out + (i * rsC + j * csC) * sizeof<T>; and, when m2 > 0,
 * C2 = op(A2) op(B) [m2 x n] at out2 with the same strides, reusing every packed slab of B.
 */
function packedGemm<T>(out: usize, a: usize, b: usize, m: i32, k: i32, n: i32,
                       rsA: usize, csA: usize, rsB: usize, csB: usize, rsC: usize, csC: usize,
                       out2: usize = 0, a2: usize = 0, m2: i32 = 0): void {
  const S = sizeof<T>();
  const KC = S == 4 ? KC_F32 : KC_F64;
  const MC = S == 4 ? MC_F32 : MC_F64;
  const NC = S == 4 ? NC_F32 : NC_F64;
  const NR: i32 = 32 / <i32>S;
  const ldc = rsC * S;
  // Full-width panels of a row-major B are read in place when m is thin (see THIN).
  const directB = csB == 1 && m + m2 <= THIN;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    const fullCols = nc - nc % NR;
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const accumulate = pc > 0;
      const bBlock = b + (<usize>pc * rsB + <usize>jc * csB) * S;
      if (!directB) packPanels<T>(packB, bBlock, kc, nc, rsB, csB, NR);
      else if (fullCols < nc) packPanels<T>(packB, bBlock + <usize>fullCols * S, kc, nc - fullCols, rsB, csB, NR);
      // Row blocks of A, then of A2, against the same packed slab of B.
      for (let seg = 0; seg < 2; seg++) {
        const segRows = seg == 0 ? m : m2;
        const src = seg == 0 ? a : a2;
        const dst = seg == 0 ? out : out2;
        for (let ic = 0; ic < segRows; ic += MC) {
          const mc = min(MC, segRows - ic);
          packPanels<T>(packA, src + (<usize>ic * rsA + <usize>pc * csA) * S, kc, mc, csA, rsA, MR);
          for (let jr = 0; jr < nc; jr += NR) {
            const cols = min(NR, nc - jr);
            let pb = packB + <usize>jr * <usize>kc * S;
            let ldb: usize = 32;
            if (directB) {
              if (cols == NR) {
                pb = bBlock + <usize>jr * S;
                ldb = rsB * S;
              } else {
                pb = packB;
              }
            }
            let c = dst + (<usize>ic * rsC + <usize>(jc + jr) * csC) * S;
            for (let ir = 0; ir < mc; ir += MR) {
              const rows = min(MR, mc - ir);
              const pa = packA + <usize>ir * <usize>kc * S;
              if (rows == MR && cols == NR && csC == 1) {
                microKernel<T>(pa, pb, ldb, kc, c, ldc, accumulate);
              } else {
                microKernel<T>(pa, pb, ldb, kc, edgeTile, 32, false);
                storeEdge<T>(c, rsC, csC, rows, cols, accumulate);
              }
              c += <usize>MR * ldc;
            }
          }
        }
      }
    }
  }
}

/**
 * Packs a kc x len block of a matrix, element [p][j] at src + (p * rs + j * cs) * sizeof<T>,
 * into micro-panels of `width` columns: panel q holds, for each p, the `width` values
 * [p][q*width ..]. Columns past `len` are zero. B packs with (rs, cs) = (rsB, csB); A packs
 * as its transpose, (rs, cs) = (csA, rsA), so both come out in the order the micro-kernel reads.
 */
// @ts-ignore: decorator
@inline
function packPanels<T>(dst: usize, src: usize, kc: i32, len: i32, rs: usize, cs: usize, width: i32): void {
  const rsBytes = rs * sizeof<T>();
  const csBytes = cs * sizeof<T>();
  for (let j0 = 0; j0 < len; j0 += width) {
    const cols = min(width, len - j0);
    let s = src + <usize>j0 * csBytes;
    if (cols == width && cs == 1) {
      // contiguous rows: straight vector copies
      const rowBytes = <usize>width * sizeof<T>();
      for (let p = 0; p < kc; p++) {
        let j: usize = 0;
        for (; j + 16 <= rowBytes; j += 16) v128.store(dst + j, v128.load(s + j));
        for (; j < rowBytes; j += sizeof<T>()) store<T>(dst + j, load<T>(s + j));
        s += rsBytes;
        dst += <usize>width * sizeof<T>();
      }
    } else if (cols == width) {
      for (let j = 0; j < width; j++) {
        let sj = s + <usize>j * csBytes;
        let d = dst + <usize>j * sizeof<T>();
        for (let p = 0; p < kc; p++) {
          store<T>(d, load<T>(sj));
          sj += rsBytes;
          d += <usize>width * sizeof<T>();
        }
      }
      dst += <usize>kc * <usize>width * sizeof<T>();
    } else {
      for (let p = 0; p < kc; p++) {
        let j = 0;
        for (; j < cols; j++) store<T>(dst + <usize>j * sizeof<T>(), load<T>(s + <usize>j * csBytes));
        for (; j < width; j++) store<T>(dst + <usize>j * sizeof<T>(), <T>0);
        s += rsBytes;
        dst += <usize>width * sizeof<T>();
      }
    }
  }
}

/** Copies (or adds) the valid rows x cols corner of the scratch tile into C (strides in elements). */
function storeEdge<T>(c: usize, rsC: usize, csC: usize, rows: i32, cols: i32, accumulate: bool): void {
  const S = sizeof<T>();
  const NR: i32 = 32 / <i32>S;
  for (let i = 0; i < rows; i++) {
    const t = edgeTile + <usize>(i * NR) * S;
    let ci = c + <usize>i * rsC * S;
    for (let j = 0; j < cols; j++) {
      const v = load<T>(t + <usize>j * S);
      store<T>(ci, accumulate ? load<T>(ci) + v : v);
      ci += csC * S;
    }
  }
}

/**
 * C[0..MR)[0..NR) (+)= sum over p < kc of pa[p][0..MR) (outer) pb[p][0..NR), where pa holds
 * MR values per p and pb two v128 per p, its rows `ldb` bytes apart (32 when packed). `ldc`
 * is C's row stride in bytes.
 */
// @ts-ignore: decorator
@noinline
function microKernel<T>(pa: usize, pb: usize, ldb: usize, kc: i32, c: usize, ldc: usize, accumulate: bool): void {
  const S: usize = sizeof<T>();
  let c00 = v128.splat<T>(0), c01 = c00, c10 = c00, c11 = c00;
  let c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const end = pb + <usize>kc * ldb;
  while (pb < end) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const x0 = v128.load_splat<T>(pa);
    c00 = v128.add<T>(c00, v128.mul<T>(x0, b0));
    c01 = v128.add<T>(c01, v128.mul<T>(x0, b1));
    const x1 = v128.load_splat<T>(pa, S);
    c10 = v128.add<T>(c10, v128.mul<T>(x1, b0));
    c11 = v128.add<T>(c11, v128.mul<T>(x1, b1));
    const x2 = v128.load_splat<T>(pa, 2 * S);
    c20 = v128.add<T>(c20, v128.mul<T>(x2, b0));
    c21 = v128.add<T>(c21, v128.mul<T>(x2, b1));
    const x3 = v128.load_splat<T>(pa, 3 * S);
    c30 = v128.add<T>(c30, v128.mul<T>(x3, b0));
    c31 = v128.add<T>(c31, v128.mul<T>(x3, b1));
    pa += 4 * S;
    pb += ldb;
  }
  const r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
  if (accumulate) {
    c00 = v128.add<T>(c00, v128.load(c)); c01 = v128.add<T>(c01, v128.load(c, 16));
    c10 = v128.add<T>(c10, v128.load(r1)); c11 = v128.add<T>(c11, v128.load(r1, 16));
    c20 = v128.add<T>(c20, v128.load(r2)); c21 = v128.add<T>(c21, v128.load(r2, 16));
    c30 = v128.add<T>(c30, v128.load(r3)); c31 = v128.add<T>(c31, v128.load(r3, 16));
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(r1, c10); v128.store(r1, c11, 16);
  v128.store(r2, c20); v128.store(r2, c21, 16);
  v128.store(r3, c30); v128.store(r3, c31, 16);
}

// ---------------------------------------------------------------------------------------------
// Unpacked paths

/** Tiny products: scalar dot products through the strides, no packing. */
function smallGemm<T>(out: usize, a: usize, b: usize, m: i32, k: i32, n: i32,
                      rsA: usize, csA: usize, rsB: usize, csB: usize): void {
  const S = sizeof<T>();
  for (let i = 0; i < m; i++) {
    const ai = a + <usize>i * rsA * S;
    for (let j = 0; j < n; j++) {
      let pa = ai;
      let pb = b + <usize>j * csB * S;
      let sum = <T>0;
      for (let p = 0; p < k; p++) {
        sum += load<T>(pa) * load<T>(pb);
        pa += csA * S;
        pb += rsB * S;
      }
      store<T>(out, sum);
      out += S;
    }
  }
}

/**
 * y[i * ys] = sum_p M[i][p] x[p] for row-major M (rows x cols), `ys` in bytes; four rows share
 * each load of x.
 */
function dotRows<T>(y: usize, ys: usize, mat: usize, x: usize, rows: i32, cols: i32): void {
  const S = sizeof<T>();
  const L = 16 / <i32>S;
  const ld = <usize>cols * S;
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    const r0 = mat + <usize>i * ld;
    const r1 = r0 + ld, r2 = r1 + ld, r3 = r2 + ld;
    let s0 = v128.splat<T>(0), s1 = s0, s2 = s0, s3 = s0;
    let p = 0;
    for (; p + L <= cols; p += L) {
      const o = <usize>p * S;
      const xv = v128.load(x + o);
      s0 = v128.add<T>(s0, v128.mul<T>(v128.load(r0 + o), xv));
      s1 = v128.add<T>(s1, v128.mul<T>(v128.load(r1 + o), xv));
      s2 = v128.add<T>(s2, v128.mul<T>(v128.load(r2 + o), xv));
      s3 = v128.add<T>(s3, v128.mul<T>(v128.load(r3 + o), xv));
    }
    let t0 = hsum<T>(s0), t1 = hsum<T>(s1), t2 = hsum<T>(s2), t3 = hsum<T>(s3);
    for (; p < cols; p++) {
      const o = <usize>p * S;
      const xs = load<T>(x + o);
      t0 += load<T>(r0 + o) * xs;
      t1 += load<T>(r1 + o) * xs;
      t2 += load<T>(r2 + o) * xs;
      t3 += load<T>(r3 + o) * xs;
    }
    store<T>(y, t0); store<T>(y + ys, t1); store<T>(y + 2 * ys, t2); store<T>(y + 3 * ys, t3);
    y += 4 * ys;
  }
  for (; i < rows; i++) {
    const r = mat + <usize>i * ld;
    let s = v128.splat<T>(0);
    let p = 0;
    for (; p + L <= cols; p += L) {
      const o = <usize>p * S;
      s = v128.add<T>(s, v128.mul<T>(v128.load(r + o), v128.load(x + o)));
    }
    let t = hsum<T>(s);
    for (; p < cols; p++) t += load<T>(r + <usize>p * S) * load<T>(x + <usize>p * S);
    store<T>(y, t);
    y += ys;
  }
}

/** y[j] = sum_p x[p] M[p][j] for row-major M (rows x cols); four rows per pass over y. */
function axpyRows<T>(y: usize, mat: usize, x: usize, rows: i32, cols: i32): void {
  const S = sizeof<T>();
  const L = 16 / <i32>S;
  const ld = <usize>cols * S;
  memory.fill(y, 0, <usize>cols * S);
  let p = 0;
  for (; p + 4 <= rows; p += 4) {
    const r0 = mat + <usize>p * ld;
    const r1 = r0 + ld, r2 = r1 + ld, r3 = r2 + ld;
    const xo = x + <usize>p * S;
    const x0 = load<T>(xo), x1 = load<T>(xo, S), x2 = load<T>(xo, 2 * S), x3 = load<T>(xo, 3 * S);
    const v0 = v128.splat<T>(x0), v1 = v128.splat<T>(x1), v2 = v128.splat<T>(x2), v3 = v128.splat<T>(x3);
    let j = 0;
    for (; j + L <= cols; j += L) {
      const o = <usize>j * S;
      let acc = v128.load(y + o);
      acc = v128.add<T>(acc, v128.mul<T>(v128.load(r0 + o), v0));
      acc = v128.add<T>(acc, v128.mul<T>(v128.load(r1 + o), v1));
      acc = v128.add<T>(acc, v128.mul<T>(v128.load(r2 + o), v2));
      acc = v128.add<T>(acc, v128.mul<T>(v128.load(r3 + o), v3));
      v128.store(y + o, acc);
    }
    for (; j < cols; j++) {
      const o = <usize>j * S;
      store<T>(y + o, load<T>(y + o) + load<T>(r0 + o) * x0 + load<T>(r1 + o) * x1 + load<T>(r2 + o) * x2 + load<T>(r3 + o) * x3);
    }
  }
  for (; p < rows; p++) {
    const r = mat + <usize>p * ld;
    const xs = load<T>(x + <usize>p * S);
    const v = v128.splat<T>(xs);
    let j = 0;
    for (; j + L <= cols; j += L) {
      const o = <usize>j * S;
      v128.store(y + o, v128.add<T>(v128.load(y + o), v128.mul<T>(v128.load(r + o), v)));
    }
    for (; j < cols; j++) {
      const o = <usize>j * S;
      store<T>(y + o, load<T>(y + o) + load<T>(r + o) * xs);
    }
  }
}

/** dst (cols x rows) = src (rows x cols) transposed, both row-major. */
function transposeInto<T>(dst: usize, src: usize, rows: i32, cols: i32): void {
  const S = sizeof<T>();
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>r * <usize>cols * S;
    let d = dst + <usize>r * S;
    for (let c = 0; c < cols; c++) {
      store<T>(d, load<T>(s + <usize>c * S));
      d += <usize>rows * S;
    }
  }
}

// @ts-ignore: decorator
@inline
function hsum<T>(v: v128): T {
  if (sizeof<T>() == 4) {
    return v128.extract_lane<T>(v, 0) + v128.extract_lane<T>(v, 1) + v128.extract_lane<T>(v, 2) + v128.extract_lane<T>(v, 3);
  }
  return v128.extract_lane<T>(v, 0) + v128.extract_lane<T>(v, 1);
}
