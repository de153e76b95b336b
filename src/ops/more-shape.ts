// More shape ops: flip (a primitive, its own transpose), and roll, tile, split, diagonal, trace,
// diag, triu and tril built from slice, pad, concat, reshape, broadcastTo and where, so they are
// linear with both rules for free and no gather of scalars.
import { readData, writeData } from '../backend/io.js';
import { defineLinear, type Primitive } from '../core/primitive.js';
import { bind } from '../core/trace.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { array, empty } from '../tensor/create.js';
import { normalizeAxes, normalizeAxis, sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { toTensor, type TensorLike } from './convert.js';
import { where } from './elementwise.js';
import { concat, pad, reshape, slice, transpose } from './shape.js';
import { broadcastTo, sum } from './sum.js';
import { batchInPlace, valueAxis } from '../core/batch-axes.js';

/** Per element of a row-major `shape`, the element it reads when `axis` is reversed. */
function flipMap(shape: readonly number[], axis: number): Int32Array {
  const length = shape[axis], inner = sizeOf(shape.slice(axis + 1)), outer = sizeOf(shape.slice(0, axis));
  const map = new Int32Array(sizeOf(shape));
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < length; j++) {
      const to = (o * length + j) * inner, from = (o * length + length - 1 - j) * inner;
      for (let i = 0; i < inner; i++) map[to + i] = from + i;
    }
  }
  return map;
}

// flip is a permutation of the elements: d flip(x) = flip(dx), and it is its own transpose.
const flipP: Primitive<{ axis: number }> = defineLinear<{ axis: number }>({
  name: 'flip',
  batch: batchInPlace((p, b) => ({ ...p, axis: valueAxis(p.axis, b) })),
  integer: true,
  shape: ([x]) => x,
  sparsity: (algebra, { inputs: [x], params: { axis } }) =>
    algebra.union(x.deps ? [{ deps: x.deps, map: flipMap(x.shape, axis) }] : [], sizeOf(x.shape)),
  apply: ([t], { params: { axis } }) => t && bind(flipP, [t], { axis: axis + 1 }),
  transpose: (ct, { params: { axis } }) => [bind(flipP, [ct], { axis: axis + 1 })],
  impl([x], { axis }) {
    const data = readData(x.liveBuffer('flip'));
    const map = flipMap(x.shape, axis);
    const out = empty(x.shape, x.dtype, 'flip');
    const values = new Float64Array(map.length);
    for (let i = 0; i < map.length; i++) values[i] = data[map[i]];
    writeData(out.liveBuffer('flip'), values);
    return out;
  },
});

/**
 * Reverses the order of elements along `axes` (default: all).
 * @example flip(array([1, 2, 3])) // [3, 2, 1]
 */
export function flip(x: TensorLike, axes?: number | readonly number[] | null): Tensor {
  let t = toTensor('flip', x);
  for (const axis of normalizeAxes('flip', axes, t.ndim)) if (t.shape[axis] > 1) t = bind(flipP, [t], { axis });
  return t;
}

/**
 * Shifts elements along `axis` by `shift` places, wrapping around (as numpy.roll with an axis).
 * @example roll(array([1, 2, 3, 4]), 1, 0) // [4, 1, 2, 3]
 */
export function roll(x: TensorLike, shift: number, axis: number): Tensor {
  const t = toTensor('roll', x);
  if (!Number.isInteger(shift)) throw new ArgumentError(`roll: shift must be an integer, got ${shift}.`);
  const a = normalizeAxis('roll', axis, t.ndim);
  const n = t.shape[a];
  const s = n === 0 ? 0 : ((shift % n) + n) % n;
  if (s === 0) return t;
  const [head, tail] = split(t, [n - s], a);
  return concat([tail, head], a);
}

/**
 * Repeats x `reps[i]` times along axis i (as numpy.tile; reps longer than x's rank add leading
 * axes, shorter ones apply to the last axes).
 * @example tile(array([1, 2]), [2]) // [1, 2, 1, 2]
 */
export function tile(x: TensorLike, reps: readonly number[]): Tensor {
  const t = toTensor('tile', x);
  if (!Array.isArray(reps) || reps.some((r) => !Number.isInteger(r) || r < 0)) {
    throw new ArgumentError(`tile: reps must be an array of non-negative integers, got ${JSON.stringify(reps)}.`);
  }
  const rank = Math.max(t.ndim, reps.length);
  const shape = [...new Array(rank - t.ndim).fill(1), ...t.shape];
  const r = [...new Array(rank - reps.length).fill(1), ...reps];
  // x viewed as [1, d0, 1, d1, ...] broadcast to [r0, d0, r1, d1, ...], then merged pairwise.
  const spread = reshape(t, shape.flatMap((d) => [1, d]));
  const wide = broadcastTo(spread, shape.flatMap((d, i) => [r[i], d]));
  return reshape(wide, shape.map((d, i) => d * r[i]));
}

/**
 * Splits x along `axis` into `sections` equal parts, or at the given indices (as numpy.split).
 * @example split(arange(6), 3).map((p) => p.toArray()) // [[0, 1], [2, 3], [4, 5]]
 * @example split(arange(5), [1, 3]).map((p) => p.toArray()) // [[0], [1, 2], [3, 4]]
 */
export function split(x: TensorLike, sections: number | readonly number[], axis = 0): Tensor[] {
  const t = toTensor('split', x);
  const a = normalizeAxis('split', axis, t.ndim);
  const n = t.shape[a];
  let cuts: number[];
  if (typeof sections === 'number') {
    if (!Number.isInteger(sections) || sections <= 0 || n % sections !== 0) {
      throw new ShapeError(`split: ${sections} equal sections of axis ${a} (length ${n}) of shape ${fmtShape(t.shape)}; the count must be a positive divisor of ${n}, or pass the split indices.`);
    }
    cuts = Array.from({ length: sections - 1 }, (_, i) => ((i + 1) * n) / sections);
  } else {
    cuts = [...sections];
    if (cuts.some((c, i) => !Number.isInteger(c) || c < 0 || c > n || (i > 0 && c < cuts[i - 1]))) {
      throw new ShapeError(`split: indices [${cuts.join(', ')}] for axis ${a} of length ${n}; they must be non-decreasing integers in [0, ${n}].`);
    }
  }
  const bounds = [0, ...cuts, n];
  return bounds.slice(1).map((end, i) => {
    const begin = t.shape.map((_, d) => (d === a ? bounds[i] : 0));
    const size = t.shape.map((d, k) => (k === a ? end - bounds[i] : d));
    return slice(t, begin, size);
  });
}

/** x with axes a1 and a2 moved to the end (in that order). */
function toLastTwo(t: Tensor, a1: number, a2: number): Tensor {
  const rest = t.shape.map((_, i) => i).filter((i) => i !== a1 && i !== a2);
  return transpose(t, [...rest, a1, a2]);
}

export interface DiagonalOptions {
  /** Which diagonal: 0 the main one, k > 0 above it, k < 0 below (default 0). */
  offset?: number;
  axis1?: number;
  axis2?: number;
}

/**
 * The diagonal of the matrices spanned by axis1 and axis2 (default 0 and 1, as numpy), moved to
 * the last axis; pass axis1 = -2, axis2 = -1 for a batch of matrices.
 * @example diagonal(array([[1, 2], [3, 4]])) // [1, 4]
 */
export function diagonal(x: TensorLike, options: DiagonalOptions = {}): Tensor {
  const t = toTensor('diagonal', x);
  if (t.ndim < 2) throw new ShapeError(`diagonal: needs at least 2 axes, got shape ${fmtShape(t.shape)}; use diag to build a matrix from a vector.`);
  const offset = options.offset ?? 0;
  if (!Number.isInteger(offset)) throw new ArgumentError(`diagonal: offset must be an integer, got ${offset}.`);
  const a1 = normalizeAxis('diagonal', options.axis1 ?? 0, t.ndim), a2 = normalizeAxis('diagonal', options.axis2 ?? 1, t.ndim);
  if (a1 === a2) throw new ArgumentError(`diagonal: axis1 and axis2 are both ${a1}; give two different axes.`);
  const m = toLastTwo(t, a1, a2);
  const batch = m.shape.slice(0, -2);
  const [rows, cols] = m.shape.slice(-2);
  const r0 = Math.max(0, -offset), c0 = Math.max(0, offset);
  const k = Math.max(0, Math.min(rows - r0, cols - c0));
  // The k x k block starting at the diagonal, flattened, padded by k and read with stride k + 1.
  const block = slice(m, [...batch.map(() => 0), Math.min(r0, rows), Math.min(c0, cols)], [...batch, k, k]);
  const flat = pad(reshape(block, [...batch, k * k]), [...batch.map(() => [0, 0] as [number, number]), [0, k]]);
  const strided = reshape(flat, [...batch, k, k + 1]);
  return reshape(slice(strided, [...batch.map(() => 0), 0, 0], [...batch, k, Math.min(1, k + 1)]), [...batch, k]);
}

/**
 * Sum of the diagonal (see diagonal for the options).
 * @example trace(array([[1, 2], [3, 4]])).item() // 5
 */
export function trace(x: TensorLike, options: DiagonalOptions = {}): Tensor {
  return sum(diagonal(toTensor('trace', x), options), -1);
}

/**
 * For a vector v: the square matrix with v on diagonal `offset`; for a matrix: its diagonal.
 * @example diag(array([1, 2])) // [[1, 0], [0, 2]]
 */
export function diag(v: TensorLike, offset = 0): Tensor {
  const t = toTensor('diag', v);
  if (t.ndim === 2) return diagonal(t, { offset });
  if (t.ndim !== 1) throw new ShapeError(`diag: expected a vector (to build a matrix) or a matrix (to read its diagonal), got shape ${fmtShape(t.shape)}; use diagonal for batches.`);
  if (!Number.isInteger(offset)) throw new ArgumentError(`diag: offset must be an integer, got ${offset}.`);
  const n = t.shape[0];
  // [n, 1] padded to [n, n + 1] and read as [n + 1, n] after dropping the last n: v on the diagonal.
  const wide = reshape(pad(reshape(t, [n, 1]), [[0, 0], [0, n]]), [n * (n + 1)]);
  const square = reshape(slice(wide, [0], [n * n]), [n, n]);
  const a = Math.abs(offset);
  return offset >= 0 ? pad(square, [[0, a], [a, 0]]) : pad(square, [[a, 0], [0, a]]);
}

/** The constant mask of the last two axes: col - row >= k (upper) or col - row <= k (lower). */
function triMask(rows: number, cols: number, k: number, upper: boolean): Tensor {
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = (upper ? c - r >= k : c - r <= k) ? 1 : 0;
  return array(data, { shape: [rows, cols] });
}

function triangle(op: string, x: TensorLike, k: number, upper: boolean): Tensor {
  const t = toTensor(op, x);
  if (t.ndim < 2) throw new ShapeError(`${op}: needs a matrix (at least 2 axes), got shape ${fmtShape(t.shape)}.`);
  if (!Number.isInteger(k)) throw new ArgumentError(`${op}: k must be an integer, got ${k}.`);
  const [rows, cols] = t.shape.slice(-2);
  return where(triMask(rows, cols, k, upper), t, 0);
}

/**
 * The upper triangle of the last two axes, from diagonal k up (others zero).
 * @example triu(array([[1, 2], [3, 4]])) // [[1, 2], [0, 4]]
 */
export function triu(x: TensorLike, k = 0): Tensor {
  return triangle('triu', x, k, true);
}

/**
 * The lower triangle of the last two axes, from diagonal k down (others zero).
 * @example tril(array([[1, 2], [3, 4]])) // [[1, 0], [3, 4]]
 */
export function tril(x: TensorLike, k = 0): Tensor {
  return triangle('tril', x, k, false);
}
