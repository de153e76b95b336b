// Shape primitives: reshape, transpose, slice, pad, concat (and stack, expandDims, squeeze on
// top). All are linear, declared once with the op on chunked tangents (leading axis: the k
// directions) and its transpose; broadcastTo lives beside sum, its transpose, in sum.ts.
import * as kernels from '../backend/kernels.js';
import { contiguousStrides } from '../backend/kernels.js';
import { identityIndex, stridedIndex } from '../core/emit.js';
import { defineLinear, implFromKernel, type Aval, type DependencyAlgebra, type Sparsity } from '../core/primitive.js';
import type { BoundKernel } from '../backend/kernels.js';
import type { DataBuffer } from '../backend/buffer.js';
import { bind } from '../core/trace.js';
import { zeros } from '../tensor/create.js';
import { checkRank, normalizeAxis, shapesEqual, sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { coerce, toTensor, type TensorLike } from './convert.js';
import { batchInPlace, valueAxis } from '../core/batch-axes.js';

// reshape shares the input's buffer: no copy.
const reshapeP = defineLinear<{ shape: number[] }>({
  name: 'reshape',
  batch: ({ inputs: [x], axes: [b], size, params: { shape }, prim }) => ({ out: bind(prim, [batchToFront(x, b as number)], { shape: [size, ...shape] }), axis: 0 }),
  integer: true,
  impl: ([x], { shape }) => x.share(shape, 'reshape'),
  emit: ([x]) => ({ kind: 'gather', index: identityIndex(sizeOf(x.shape)) }),
  shape: ([x], { shape }) => ({ shape, dtype: x.dtype }),
  sparsity: 'elementwise',
  apply: ([t], { params: { shape } }) => t && reshape(t, [t.shape[0], ...shape]),
  transpose: (ct, { avals: [x] }) => [reshape(ct, [ct.shape[0], ...x.shape])],
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

/** `x` with its batch axis `b` moved to the front (a transpose; none when it is there). */
function batchToFront(x: Tensor, b: number): Tensor {
  if (b === 0) return x;
  const perm = x.shape.map((_, i) => i).filter((i) => i !== b);
  return bind(transposeP, [x], { perm: [b, ...perm] });
}

/** `x` repeated `size` times along a new leading axis. */
function repeatOver(x: Tensor, size: number): Tensor {
  const one = bind(reshapeP, [x], { shape: [1, ...x.shape] });
  return size === 1 ? one : bind(concatP, new Array<Tensor>(size).fill(one), { axis: 0 });
}

function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

interface IndexMapArgs<P> {
  algebra: DependencyAlgebra;
  inShape: readonly number[];
  outShape: readonly number[];
  params: P;
}

/** Output element e depends on the one input element that `map` gives (-1: none), as shape ops move data. */
function indexMap<P>(map: (args: IndexMapArgs<P>) => Int32Array): Sparsity<P> {
  return (algebra, { inputs: [x], out, params }) =>
    algebra.union([{ deps: x.deps!, map: map({ algebra, inShape: x.shape, outShape: out.shape, params }) }], sizeOf(out.shape));
}

function transposeInto([x]: readonly Aval[], { perm }: { perm: number[] }): BoundKernel {
  if (x.shape.length === 2 && perm[0] === 1) {
    const [rows, cols] = x.shape;
    return (out, [a]) => kernels.transpose2d(out, a, rows, cols);
  }
  const shape = perm.map((p) => x.shape[p]);
  const strides = contiguousStrides(x.shape);
  const read = perm.map((p) => strides[p]);
  return (out, [a]) => kernels.copyStrided(out, a, shape, read);
}

const transposeP = defineLinear<{ perm: number[] }>({
  name: 'transpose',
  batch: batchInPlace(({ perm }, b) => {
    const full = new Array<number>(perm.length + 1);
    full[b] = b;
    perm.forEach((p, i) => (full[valueAxis(i, b)] = valueAxis(p, b)));
    return { perm: full };
  }),
  integer: true,
  shape: ([x], { perm }) => ({ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }),
  sparsity: indexMap(({ algebra, inShape, outShape, params: { perm } }) => {
    const s = contiguousStrides(inShape);
    return algebra.stridedMap(outShape, perm.map((p) => s[p]));
  }),
  apply: ([t], { params: { perm } }) => t && transpose(t, [0, ...perm.map((p) => p + 1)]),
  transpose: (ct, { params: { perm } }) => [transpose(ct, [0, ...invertPerm(perm).map((p) => p + 1)])],
  impl: implFromKernel('transpose', ([x], { perm }) => ({ shape: perm.map((p) => x.shape[p]), dtype: x.dtype }), transposeInto),
  into: transposeInto,
  emit: ([x], { perm }) => {
    const s = contiguousStrides(x.shape);
    return { kind: 'gather', index: stridedIndex(perm.map((p) => x.shape[p]), perm.map((p) => s[p])) };
  },
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

// slice and pad are each other's transpose.
function sliceInto([x]: readonly Aval[], { begin, size }: { begin: number[]; size: number[] }): BoundKernel {
  const strides = contiguousStrides(x.shape);
  const offset = begin.reduce((acc, b, i) => acc + b * strides[i], 0);
  if (sizeOf(size) === 0) return () => {};
  return (out, [a]) => kernels.copyStrided(out, a, size, strides, offset);
}

const sliceP = defineLinear<{ begin: number[]; size: number[] }>({
  name: 'slice',
  batch: batchInPlace(({ begin, size }, b, count) => ({ begin: [...begin.slice(0, b), 0, ...begin.slice(b)], size: [...size.slice(0, b), count, ...size.slice(b)] })),
  integer: true,
  shape: ([x], { size }) => ({ shape: size, dtype: x.dtype }),
  sparsity: indexMap(({ algebra, inShape, outShape, params: { begin } }) => {
    const s = contiguousStrides(inShape);
    return algebra.stridedMap(outShape, s, begin.reduce((acc, b, i) => acc + b * s[i], 0));
  }),
  apply: ([t], { params: { begin, size } }) => t && slice(t, [0, ...begin], [t.shape[0], ...size]),
  transpose: (ct, { avals: [x], params: { begin, size } }) => [pad(ct, [[0, 0], ...begin.map((b, i) => [b, x.shape[i] - b - size[i]] as [number, number])])],
  impl: implFromKernel('slice', ([x], { size }) => ({ shape: size, dtype: x.dtype }), sliceInto),
  into: sliceInto,
  emit: ([x], { begin, size }) => {
    const s = contiguousStrides(x.shape);
    return { kind: 'gather', index: stridedIndex(size, s, begin.reduce((acc, b, i) => acc + b * s[i], 0)) };
  },
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

const paddedShape = (shape: readonly number[], widths: [number, number][]) => shape.map((d, i) => d + widths[i][0] + widths[i][1]);

// Zeros, then x written into the interior by viewing out through x's shape with out's strides.
function padInto([x]: readonly Aval[], { widths }: { widths: [number, number][] }): BoundKernel {
  const outStrides = contiguousStrides(paddedShape(x.shape, widths));
  const offset = widths.reduce((acc, [lo], i) => acc + lo * outStrides[i], 0);
  const empty = sizeOf(x.shape) === 0;
  return (out, [a]) => {
    kernels.fill(out, 0);
    if (!empty) kernels.scatterStrided(out, a, x.shape, outStrides, offset);
  };
}

const padP = defineLinear<{ widths: [number, number][] }>({
  name: 'pad',
  batch: batchInPlace(({ widths }, b) => ({ widths: [...widths.slice(0, b), [0, 0] as [number, number], ...widths.slice(b)] })),
  integer: true,
  shape: ([x], { widths }) => ({ shape: x.shape.map((d, i) => d + widths[i][0] + widths[i][1]), dtype: x.dtype }),
  sparsity: indexMap(({ algebra, inShape, outShape, params: { widths } }) => {
    const s = contiguousStrides(outShape);
    return algebra.scatterMap(sizeOf(outShape), inShape, s, widths.reduce((acc, [lo], i) => acc + lo * s[i], 0));
  }),
  apply: ([t], { params: { widths } }) => t && pad(t, [[0, 0], ...widths]),
  transpose: (ct, { avals: [x], params: { widths } }) => [slice(ct, [0, ...widths.map(([lo]) => lo)], [ct.shape[0], ...x.shape])],
  impl: implFromKernel('pad', ([x], { widths }) => ({ shape: paddedShape(x.shape, widths), dtype: x.dtype }), padInto),
  into: padInto,
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

function joinedShape(xs: readonly Aval[], axis: number): number[] {
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((acc, x) => acc + x.shape[axis], 0);
  return shape;
}

function concatInto(xs: readonly Aval[], { axis }: { axis: number }): BoundKernel {
  const outStrides = contiguousStrides(joinedShape(xs, axis));
  const parts: { index: number; write: (out: DataBuffer, a: DataBuffer) => void }[] = [];
  let offset = 0;
  xs.forEach((x, index) => {
    if (sizeOf(x.shape) > 0) parts.push({ index, write: kernels.scatterStridedInto(xs[0].dtype, x.shape, outStrides, offset * outStrides[axis]) });
    offset += x.shape[axis];
  });
  return (out, ins) => {
    for (let k = 0; k < parts.length; k++) parts[k].write(out, ins[parts[k].index]);
  };
}

const concatP = defineLinear<{ axis: number }>({
  name: 'concat',
  // Batch axes first; an operand shared by the examples is repeated over the batch (a concat of
  // copies, so its cotangent sums over the examples).
  batch: ({ inputs, axes, size, params: { axis }, prim }) => ({
    out: bind(prim, inputs.map((x, i) => (axes[i] === null ? repeatOver(x, size) : batchToFront(x, axes[i] as number))), { axis: axis + 1 }),
    axis: 0,
  }),
  integer: true,
  impl: implFromKernel('concat', (xs, { axis }) => ({ shape: joinedShape(xs, axis), dtype: xs[0].dtype }), concatInto),
  into: concatInto,
  shape: (xs, { axis }) => ({ shape: joinedShape(xs, axis), dtype: xs[0].dtype }),
  sparsity(algebra, { inputs, out, params: { axis } }) {
    const size = sizeOf(out.shape), s = contiguousStrides(out.shape);
    let start = 0;
    const parts = [];
    for (const o of inputs) {
      if (o.deps) parts.push({ deps: o.deps, map: algebra.scatterMap(size, o.shape, s, start * s[axis]) });
      start += o.shape[axis];
    }
    return algebra.union(parts, size);
  },
  apply(ts, { avals, params: { axis } }) {
    const first = ts.find((t) => t !== null);
    if (!first) return null;
    const k = first.shape[0];
    return concat(ts.map((t, i) => t ?? zeros([k, ...avals[i].shape], { dtype: avals[i].dtype })), axis + 1);
  },
  transpose(ct, { avals, params: { axis } }) {
    let offset = 0;
    return avals.map((x) => {
      const begin = new Array<number>(ct.ndim).fill(0);
      begin[axis + 1] = offset;
      offset += x.shape[axis];
      return slice(ct, begin, [ct.shape[0], ...x.shape]);
    });
  },
});

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
