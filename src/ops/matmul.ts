// Matrix products. One primitive, batched with NumPy broadcasting over leading axes and with
// transpose flags so that the rules never materialise a transpose: the GEMM packs operands
// in either layout.
import * as kernels from '../backend/kernels.js';
import { broadcastStrides } from '../backend/kernels.js';
import { definePrimitive, type Aval, type BatchArgs, type Sparsity } from '../core/primitive.js';
import type { BoundKernel } from '../backend/kernels.js';
import { bind } from '../core/trace.js';
import { empty } from '../tensor/create.js';
import { broadcastShapes, sizeOf } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { ShapeError, fmtShape } from '../errors.js';
import { coerce, type TensorLike } from './convert.js';
import { reshape } from './shape.js';
import { mul } from './elementwise.js';
import { sum } from './reduce.js';
import { batchBroadcasting, lineUp } from './batching.js';

interface MatmulParams {
  transA: boolean;
  transB: boolean;
}

function dims(a: readonly number[], b: readonly number[], { transA, transB }: MatmulParams) {
  const ra = a.length, rb = b.length;
  const m = transA ? a[ra - 1] : a[ra - 2];
  const ka = transA ? a[ra - 2] : a[ra - 1];
  const kb = transB ? b[rb - 1] : b[rb - 2];
  const n = transB ? b[rb - 2] : b[rb - 1];
  return { m, ka, kb, n };
}

/** The product's kernel calls for these operand shapes, planned once (the batch walk included). */
function matmulInto(a: Aval, b: Aval, p: MatmulParams): BoundKernel {
  const { m, ka: kk, n } = dims(a.shape, b.shape, p);
  const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
  const batch = broadcastShapes('matmul', batchA, batchB);
  const count = sizeOf(batch);
  if (count === 0 || m === 0 || n === 0) return () => {};
  if (batchB.length === 0 && !p.transA) {
    // Stacked rows of A against one B: a single GEMM over all rows.
    return (out, [A, B]) => kernels.matmul(out, 0, A, 0, B, 0, count * m, kk, n, false, p.transB);
  }
  const sa = broadcastStrides(batchA, batch), sb = broadcastStrides(batchB, batch);
  const offsets: [number, number][] = [];
  const index = new Array<number>(batch.length).fill(0);
  for (let i = 0; i < count; i++) {
    let offA = 0, offB = 0;
    for (let d = 0; d < batch.length; d++) {
      offA += index[d] * sa[d];
      offB += index[d] * sb[d];
    }
    offsets.push([offA * m * kk, offB * kk * n]);
    for (let d = batch.length - 1; d >= 0; d--) {
      if (++index[d] < batch[d]) break;
      index[d] = 0;
    }
  }
  return (out, [A, B]) => {
    for (let i = 0; i < count; i++) kernels.matmul(out, i * m * n, A, offsets[i][0], B, offsets[i][1], m, kk, n, p.transA, p.transB);
  };
}

// out[t, i, j] = sum_l A[t, i, l] B[t, l, j]: the union over l, skipping terms whose constant
// factor is exactly zero (so a constant sparse matrix keeps its structure).
const matmulSparsity: Sparsity<MatmulParams> = (algebra, { inputs: [a, b], out, params: { transA, transB } }) => {
  const ra = a.shape.length, ro = out.shape.length;
  const m = out.shape[ro - 2], n = out.shape[ro - 1], kk = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const batch = out.shape.slice(0, -2);
  const mapA = algebra.broadcastMap(a.shape.slice(0, -2), batch), mapB = algebra.broadcastMap(b.shape.slice(0, -2), batch);
  const va = a.deps ? null : a.value.data(), vb = b.deps ? null : b.value.data();
  return algebra.build(sizeOf(out.shape), (e, add) => {
    const t = Math.floor(e / (m * n)), i = Math.floor(e / n) % m, j = e % n;
    const offA = (mapA ? mapA[t] : t) * m * kk, offB = (mapB ? mapB[t] : t) * kk * n;
    for (let l = 0; l < kk; l++) {
      const ia = offA + (transA ? l * m + i : i * kk + l);
      const ib = offB + (transB ? j * kk + l : l * n + j);
      if ((va && va[ia] === 0) || (vb && vb[ib] === 0)) continue;
      if (a.deps) add(a.deps, ia);
      if (b.deps) add(b.deps, ib);
    }
  });
};

/**
 * vmap of a product. Examples x against a shared matrix W: the batch joins x's rows and the
 * product is one GEMM ([B*n, k] @ W), the batch axis staying where it was. A shared matrix
 * against a batch of columns: one GEMM too, as (x^T W^T)^T. Otherwise batch axes go first and
 * the leading axes broadcast (a batched product).
 */
function batchMatmul(args: BatchArgs<MatmulParams>): { out: Tensor; axis: number | null } {
  const { inputs: [a, b], axes: [ba, bb], params: p } = args;
  if (ba !== null && bb === null && b.ndim === 2 && !p.transA && ba < a.ndim - 2) {
    return { out: matmulT(a, b, false, p.transB), axis: ba };
  }
  if (ba === null && bb !== null && a.ndim === 2 && bb < b.ndim - 2 && b.shape[p.transB ? b.ndim - 2 : b.ndim - 1] === 1) {
    const lead = b.shape.slice(0, -2);
    const k = b.shape[p.transB ? b.ndim - 1 : b.ndim - 2];
    const row = p.transB ? b : reshape(b, [...lead, 1, k]);
    const out = matmulT(row, a, false, !p.transA);
    return { out: reshape(out, [...lead, out.shape[out.ndim - 1], 1]), axis: bb };
  }
  const leading = (x: Tensor, axis: number | null) => axis === null || axis < x.ndim - 2;
  if (leading(a, ba) && leading(b, bb) && a.shape[a.ndim - (p.transA ? 2 : 1)] === 1) {
    // A contraction of length 1 is an outer product: one broadcasting multiply, not a GEMM per example.
    const col = p.transA ? reshape(a, [...a.shape.slice(0, -2), a.shape[a.ndim - 1], 1]) : a;
    const row = p.transB ? reshape(b, [...b.shape.slice(0, -2), 1, b.shape[b.ndim - 2]]) : b;
    const [x, y] = lineUp([col, row], [ba, bb]);
    return { out: mul(x, y), axis: 0 };
  }
  return batchBroadcasting<MatmulParams>()(args);
}

// d(A B) = dA B + A dB;  its transpose: dA = C_bar B^T, dB = A^T C_bar (with the flags folded in).
const matmulP = definePrimitive<MatmulParams>({
  name: 'matmul',
  batch: batchMatmul,
  broadcasts: true,
  impl([a, b], p) {
    const { m, n } = dims(a.shape, b.shape, p);
    const out = empty([...broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n], a.dtype, 'matmul');
    matmulInto(a, b, p)(out.liveBuffer('matmul'), [a.liveBuffer('matmul'), b.liveBuffer('matmul')]);
    return out;
  },
  into: ([a, b], p) => matmulInto(a, b, p),
  // With a tangent on A only (a constant weight matrix), the primal and the k tangent
  // directions are rows of one product with B: B is packed once for all of them.
  dual([a, b], [ta, tb], chunk, p) {
    if (!ta || tb || p.transA || b.ndim !== 2 || ta.size !== chunk * a.size) return null;
    const { m, ka: kk, n } = dims(a.shape, b.shape, p);
    if (a.size === 0 || kk === 0 || n === 0) return null;
    const outShape = [...a.shape.slice(0, -2), m, n];
    const out = empty(outShape, a.dtype, 'matmul');
    const tangent = empty([chunk, ...outShape], a.dtype, 'matmul');
    const rows = a.size / kk;
    kernels.matmulPair(out.liveBuffer('matmul'), a.liveBuffer('matmul'), tangent.liveBuffer('matmul'), ta.liveBuffer('matmul'), b.liveBuffer('matmul'),
      rows, chunk * rows, kk, n, p.transB);
    return [out, tangent];
  },
  shape([a, b], p) {
    const { m, n } = dims(a.shape, b.shape, p);
    return { shape: [...broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n], dtype: a.dtype };
  },
  saves: [0, 1],
  sparsity: matmulSparsity,
  jvp({ inputs: [a, b], tangents: [ta, tb], params: p }) {
    const left = ta && matmulT(ta, b, p.transA, p.transB);
    const right = tb && matmulT(a, tb, p.transA, p.transB);
    return left && right ? left.add(right) : left ?? right;
  },
  vjp({ ct, inputs: [a, b], params: { transA, transB }, wanted }) {
    const ctA = !wanted[0] ? null : transA ? matmulT(b, ct, transB, true) : matmulT(ct, b, false, !transB);
    const ctB = !wanted[1] ? null : transB ? matmulT(ct, a, true, transA) : matmulT(a, ct, !transA, false);
    return [ctA, ctB];
  },
});

/** @internal matmul of >= 2-D operands with transpose flags (used by rules). */
export function matmulT(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return bind(matmulP, [a, b], { transA, transB });
}

/**
 * Matrix product with NumPy's matmul semantics: 1-D operands are promoted to a row (left) or
 * a column (right) vector and the added axis is removed; leading axes broadcast.
 * @example matmul(array([[1, 2], [3, 4]]), array([1, 1])).toArray() // [3, 7]
 */
export function matmul(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = coerce('matmul', [a, b]);
  return matmulAs('matmul', x, y);
}

/** matmul with `op` named in its errors. */
function matmulAs(op: string, x: Tensor, y: Tensor): Tensor {
  if (x.ndim === 0 || y.ndim === 0) {
    throw new ShapeError(`${op}: operands must have at least 1 dimension, got shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)}; use mul for scalars.`);
  }
  const xa = x.ndim === 1 ? reshape(x, [1, x.shape[0]]) : x;
  const yb = y.ndim === 1 ? reshape(y, [y.shape[0], 1]) : y;
  const { ka, kb } = dims(xa.shape, yb.shape, { transA: false, transB: false });
  if (ka !== kb) {
    throw new ShapeError(`${op}: inner dimensions must match: shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)} have inner sizes (${ka}) and (${kb}). Transpose an operand or fix its shape.`);
  }
  const batchA = xa.shape.slice(0, -2), batchB = yb.shape.slice(0, -2);
  try {
    broadcastShapes(op, batchA, batchB);
  } catch {
    throw new ShapeError(`${op}: the batch axes of shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)}, ${fmtShape(batchA)} and ${fmtShape(batchB)}, cannot be broadcast together; they must be equal or 1 on every trailing axis.`);
  }
  const out = matmulT(xa, yb, false, false);
  if (x.ndim > 1 && y.ndim > 1) return out;
  const shape = out.shape.slice(0, -2);
  if (x.ndim > 1) shape.push(out.shape[out.ndim - 2]);
  if (y.ndim > 1) shape.push(out.shape[out.ndim - 1]);
  return reshape(out, shape);
}

/**
 * Dot product: the inner product for two 1-D tensors, otherwise matmul.
 * @example dot(array([1, 2]), array([3, 4])).item() // 11
 */
export function dot(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = coerce('dot', [a, b]);
  if (x.ndim === 0 || y.ndim === 0) return mul(x, y);
  if (x.ndim === 1 && y.ndim === 1 && x.shape[0] !== y.shape[0]) {
    throw new ShapeError(`dot: vectors of shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)} must have the same length.`);
  }
  if (x.ndim === 1 && y.ndim === 1 && x.shape[0] <= 64) return sum(mul(x, y));
  return matmulAs('dot', x, y);
}
