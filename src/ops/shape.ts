// Shape primitives: reshape, transpose, broadcastTo, slice, pad, concat (and stack on top).
// All are linear, so each rule applies the op (jvp) or its transpose (vjp) to the chunked
// tangent/cotangent, whose leading axis is the chunk of k directions.
import * as k from '../backend/kernels.js';
import { contiguousStrides, broadcastStrides } from '../backend/kernels.js';
import { definePrimitive } from '../core/primitive.js';
import { bind } from '../core/trace.js';
import { empty } from '../tensor/create.js';
import { broadcastShapes, checkRank, checkShape, normalizeAxis, shapesEqual, sizeOf } from '../tensor/shape.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { coerce, toTensor, type TensorLike } from './convert.js';
import { sum } from './reduce.js';

// reshape shares the input's buffer: no copy.
const reshapeP = definePrimitive<{ shape: number[] }>({
  name: 'reshape',
  impl: ([x], { shape }) => new DenseTensor(x.data_('reshape').retain(), shape),
  jvp: ([], [t], __, { shape }) => (t ? reshape(t, [t.shape[0], ...shape]) : null),
  vjp: (ct, [x]) => [reshape(ct, [ct.shape[0], ...x.shape])],
});

/**
 * The same data in a new shape; one dimension may be -1 (inferred).
 * @example reshape(arange(6), [2, 3])
 */
export function reshape(x: TensorLike, shape: readonly number[]): Tensor {
  const t = toTensor('reshape', x);
  if (!Array.isArray(shape)) throw new ShapeError(`reshape: shape must be an array of sizes, got ${JSON.stringify(shape)}.`);
  checkRank('reshape', shape.length);
  const target = [...shape];
  const unknown = target.indexOf(-1);
  if (unknown >= 0) {
    const known = sizeOf(target.filter((_, i) => i !== unknown));
    if (known === 0 || t.size % known !== 0 || target.lastIndexOf(-1) !== unknown) {
      throw new ShapeError(`reshape: cannot infer the -1 in ${fmtShape(shape)} for a tensor of shape ${fmtShape(t.shape)} (${t.size} elements).`);
    }
    target[unknown] = t.size / known;
  }
  if (target.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`reshape: target shape ${fmtShape(shape)} must be non-negative integers, with at most one -1 to infer.`);
  }
  if (sizeOf(target) !== t.size) {
    throw new ShapeError(`reshape: cannot reshape a tensor of shape ${fmtShape(t.shape)} (${t.size} elements) to ${fmtShape(shape)} (${sizeOf(target)} elements); the element counts must match.`);
  }
  if (shapesEqual(target, t.shape)) return t;
  return bind(reshapeP, [t], { shape: target });
}

function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

const transposeP = definePrimitive<{ perm: number[] }>({
  name: 'transpose',
  impl([x], { perm }) {
    const shape = perm.map((p) => x.shape[p]);
    const out = empty(shape, x.dtype, 'transpose');
    if (x.ndim === 2 && perm[0] === 1) k.transpose2d(out.data_('transpose'), x.data_('transpose'), x.shape[0], x.shape[1]);
    else {
      const strides = contiguousStrides(x.shape);
      k.copyStrided(out.data_('transpose'), x.data_('transpose'), shape, perm.map((p) => strides[p]));
    }
    return out;
  },
  jvp: (_, [t], __, { perm }) => (t ? transpose(t, [0, ...perm.map((p) => p + 1)]) : null),
  vjp: (ct, _, __, { perm }) => [transpose(ct, [0, ...invertPerm(perm).map((p) => p + 1)])],
});

/**
 * Permutes axes (default: reverses them).
 * @example transpose(zeros([2, 3, 4]), [1, 0, 2]).shape // [3, 2, 4]
 */
export function transpose(x: TensorLike, perm?: readonly number[]): Tensor {
  const t = toTensor('transpose', x);
  const p = perm ? [...perm] : t.shape.map((_, i) => t.ndim - 1 - i);
  const sorted = [...p].sort((a, b) => a - b);
  if (p.length !== t.ndim || sorted.some((v, i) => v !== i)) {
    throw new ShapeError(`transpose: perm [${p.join(', ')}] is not a permutation of the ${t.ndim} axes of a tensor of shape ${fmtShape(t.shape)}; give each of 0..${t.ndim - 1} once.`);
  }
  if (p.every((v, i) => v === i)) return t;
  return bind(transposeP, [t], { perm: p });
}

/**
 * Sums `x` down to `shape` over the axes that broadcasting added or stretched. The first
 * `fixed` axes (a chunk axis) are left alone and must already match.
 */
export function sumToShape(x: Tensor, shape: readonly number[], fixed = 0): Tensor {
  if (shapesEqual(x.shape, shape)) return x;
  if (x.ndim < shape.length) {
    // Smaller than the target: line it up behind the fixed axes, then broadcast.
    const ones = new Array<number>(shape.length - x.ndim).fill(1);
    return broadcastTo(reshape(x, [...x.shape.slice(0, fixed), ...ones, ...x.shape.slice(fixed)]), shape);
  }
  const lead = x.ndim - shape.length;
  const axes: number[] = [];
  for (let i = fixed; i < x.ndim; i++) {
    if (i < fixed + lead || (shape[i - lead] === 1 && x.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length ? sum(x, axes, { keepdims: true }) : x;
  const kept = [...summed.shape.slice(0, fixed), ...summed.shape.slice(fixed + lead)];
  const fitted = reshape(summed, kept);
  return shapesEqual(kept, shape) ? fitted : broadcastTo(fitted, shape);
}

const broadcastToP = definePrimitive<{ shape: number[] }>({
  name: 'broadcast_to',
  impl([x], { shape }) {
    const out = empty(shape, x.dtype, 'broadcastTo');
    k.copyStrided(out.data_('broadcastTo'), x.data_('broadcastTo'), shape, broadcastStrides(x.shape, shape));
    return out;
  },
  jvp: (_, [t], __, { shape }) => (t ? broadcastTo(reshape(t, [t.shape[0], ...new Array(shape.length + 1 - t.ndim).fill(1), ...t.shape.slice(1)]), [t.shape[0], ...shape]) : null),
  vjp: (ct, [x]) => [sumToShape(ct, [ct.shape[0], ...x.shape], 1)],
});

/** Repeats `x` along broadcast axes to `shape`. @example broadcastTo(array([1, 2]), [3, 2]) */
export function broadcastTo(x: TensorLike, shape: readonly number[]): Tensor {
  const t = toTensor('broadcastTo', x);
  checkShape('broadcastTo', shape);
  const target = broadcastShapes('broadcastTo', t.shape, shape);
  if (!shapesEqual(target, shape)) {
    throw new ShapeError(`broadcastTo: a tensor of shape ${fmtShape(t.shape)} cannot be broadcast to ${fmtShape(shape)}; the target must keep every axis of size > 1.`);
  }
  if (shapesEqual(t.shape, shape)) return t;
  return bind(broadcastToP, [t], { shape: [...shape] });
}

// slice and pad are each other's transpose.
const sliceP = definePrimitive<{ begin: number[]; size: number[] }>({
  name: 'slice',
  impl([x], { begin, size }) {
    const out = empty(size, x.dtype, 'slice');
    const strides = contiguousStrides(x.shape);
    const offset = begin.reduce((acc, b, i) => acc + b * strides[i], 0);
    if (out.size > 0) k.copyStrided(out.data_('slice'), x.data_('slice'), size, strides, offset);
    return out;
  },
  jvp: (_, [t], __, { begin, size }) => (t ? slice(t, [0, ...begin], [t.shape[0], ...size]) : null),
  vjp: (ct, [x], __, { begin, size }) => [pad(ct, [[0, 0], ...begin.map((b, i) => [b, x.shape[i] - b - size[i]] as [number, number])])],
});

/**
 * The block of `size` starting at `begin` (dimensions kept); -1 in size means "to the end".
 * @example slice(arange(10), [2], [3]).toArray() // [2, 3, 4]
 */
export function slice(x: TensorLike, begin: readonly number[], size?: readonly number[]): Tensor {
  const t = toTensor('slice', x);
  if (!Array.isArray(begin)) throw new ShapeError(`slice: begin must be an array with one start index per axis of the tensor of shape ${fmtShape(t.shape)}, got ${JSON.stringify(begin)}.`);
  if (size !== undefined && !Array.isArray(size)) throw new ShapeError(`slice: size must be an array with one length per axis (or -1 for "to the end"), got ${JSON.stringify(size)}.`);
  if (begin.length !== t.ndim || (size && size.length !== t.ndim)) {
    throw new ShapeError(`slice: begin [${begin.join(', ')}]${size ? ` and size [${size.join(', ')}]` : ''} must have one entry per axis of the tensor of shape ${fmtShape(t.shape)}.`);
  }
  const sz = t.shape.map((d, i) => (size === undefined || size[i] === -1 ? d - begin[i] : size[i]));
  t.shape.forEach((d, i) => {
    if (!Number.isInteger(begin[i]) || !Number.isInteger(sz[i]) || begin[i] < 0 || sz[i] < 0 || begin[i] + sz[i] > d) {
      throw new ShapeError(`slice: begin ${begin[i]} with size ${sz[i]} on axis ${i} leaves the tensor of shape ${fmtShape(t.shape)}; need 0 <= begin and begin + size <= ${d}.`);
    }
  });
  if (begin.every((b) => b === 0) && shapesEqual(sz, t.shape)) return t;
  return bind(sliceP, [t], { begin: [...begin], size: sz });
}

const padP = definePrimitive<{ widths: [number, number][] }>({
  name: 'pad',
  impl([x], { widths }) {
    const shape = x.shape.map((d, i) => d + widths[i][0] + widths[i][1]);
    const out = empty(shape, x.dtype, 'pad');
    k.fill(out.data_('pad'), 0);
    // Write x into the interior by viewing out through x's shape with out's strides.
    const outStrides = contiguousStrides(shape);
    const offset = widths.reduce((acc, [lo], i) => acc + lo * outStrides[i], 0);
    if (x.size > 0) k.scatterStrided(out.data_('pad'), x.data_('pad'), x.shape, outStrides, offset);
    return out;
  },
  jvp: (_, [t], __, { widths }) => (t ? pad(t, [[0, 0], ...widths]) : null),
  vjp: (ct, [x], __, { widths }) => [slice(ct, [0, ...widths.map(([lo]) => lo)], [ct.shape[0], ...x.shape])],
});

/** Pads with zeros: widths[i] = [before, after] on axis i. @example pad(ones([2]), [[1, 1]]) // [0, 1, 1, 0] */
export function pad(x: TensorLike, widths: readonly (readonly [number, number])[]): Tensor {
  const t = toTensor('pad', x);
  if (widths.length !== t.ndim || widths.some(([a, b]) => !Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0)) {
    throw new ShapeError(`pad: widths ${JSON.stringify(widths)} must give [before, after] non-negative integers for each of the ${t.ndim} axes of shape ${fmtShape(t.shape)}.`);
  }
  if (widths.every(([a, b]) => a === 0 && b === 0)) return t;
  return bind(padP, [t], { widths: widths.map(([a, b]) => [a, b] as [number, number]) });
}

const concatP = definePrimitive<{ axis: number }>({
  name: 'concat',
  impl(xs, { axis }) {
    const shape = [...xs[0].shape];
    shape[axis] = xs.reduce((acc, x) => acc + x.shape[axis], 0);
    const out = empty(shape, xs[0].dtype, 'concat');
    const outStrides = contiguousStrides(shape);
    let offset = 0;
    for (const x of xs) {
      if (x.size > 0) k.scatterStrided(out.data_('concat'), x.data_('concat'), x.shape, outStrides, offset * outStrides[axis]);
      offset += x.shape[axis];
    }
    return out;
  },
  jvp(xs, ts, __, { axis }) {
    if (ts.every((t) => t === null)) return null;
    const kk = ts.find((t) => t !== null)!.shape[0];
    return concat(ts.map((t, i) => t ?? zerosLikeBatched(xs[i], kk)), axis + 1);
  },
  vjp(ct, xs, __, { axis }) {
    let offset = 0;
    return xs.map((x) => {
      const begin = new Array<number>(ct.ndim).fill(0);
      begin[axis + 1] = offset;
      offset += x.shape[axis];
      return slice(ct, begin, [ct.shape[0], ...x.shape]);
    });
  },
});

function zerosLikeBatched(x: Tensor, k: number): Tensor {
  return broadcastTo(toTensor('zeros', 0, x.dtype), [k, ...x.shape]);
}

/** Joins tensors along an existing axis. @example concat([ones([2]), zeros([3])]) */
export function concat(xs: readonly TensorLike[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new ArgumentError('concat: expected a non-empty array of tensors.');
  const ts = coerce('concat', [...xs]);
  const ref = ts[0];
  if (ref.ndim === 0) throw new ShapeError('concat: cannot concatenate 0-d tensors; use stack instead.');
  const ax = normalizeAxis('concat', axis, ref.ndim);
  for (const t of ts) {
    if (t.ndim !== ref.ndim || t.shape.some((d, i) => i !== ax && d !== ref.shape[i])) {
      throw new ShapeError(`concat: shapes ${ts.map((s) => fmtShape(s.shape)).join(', ')} differ off axis ${ax}; all axes but the joined one must match.`);
    }
  }
  if (ts.length === 1) return ref;
  return bind(concatP, ts, { axis: ax });
}

/** Joins tensors along a new axis. @example stack([ones([2]), zeros([2])]).shape // [2, 2] */
export function stack(xs: readonly TensorLike[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0) throw new ArgumentError('stack: expected a non-empty array of tensors.');
  const ts = coerce('stack', [...xs]);
  const ref = ts[0];
  for (const t of ts) {
    if (!shapesEqual(t.shape, ref.shape)) {
      throw new ShapeError(`stack: shapes ${ts.map((s) => fmtShape(s.shape)).join(', ')} must all be equal.`);
    }
  }
  const ax = normalizeAxis('stack', axis, ref.ndim + 1);
  const expanded = [...ref.shape.slice(0, ax), 1, ...ref.shape.slice(ax)];
  return concat(ts.map((t) => reshape(t, expanded)), ax);
}

/** Inserts a size-1 axis. @example expandDims(ones([3]), 0).shape // [1, 3] */
export function expandDims(x: TensorLike, axis: number): Tensor {
  const t = toTensor('expandDims', x);
  const ax = normalizeAxis('expandDims', axis, t.ndim + 1);
  return reshape(t, [...t.shape.slice(0, ax), 1, ...t.shape.slice(ax)]);
}

/** Removes size-1 axes (all of them, or the given ones). */
export function squeeze(x: TensorLike, axes?: readonly number[]): Tensor {
  const t = toTensor('squeeze', x);
  const drop = axes ? axes.map((a) => normalizeAxis('squeeze', a, t.ndim)) : t.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of drop) {
    if (t.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} of shape ${fmtShape(t.shape)} has size ${t.shape[a]}, not 1.`);
  }
  return reshape(t, t.shape.filter((_, i) => !drop.includes(i)));
}
