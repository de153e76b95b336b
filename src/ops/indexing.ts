// Indexing with gradients. Two primitives carry the data movement, each the other's transpose:
// gather (take, takeAlongAxis) reads x at int32 indices along an axis, and scatter_add
// (scatterAdd) adds updates into x at them, repeated indices accumulating. Their kernels are in
// assembly/indexing.ts. argmax, argmin and argsort are primitives with int32 outputs (never
// differentiated); sort is takeAlongAxis at argsort, so its gradient permutes back; oneHot
// compares labels with arange.
//
// Indices follow NumPy: -n <= k < 0 counts from the end of an axis of size n (JAX clamps
// instead); anything else is an IndexError naming the op, the shape, the index and the axis
// size, checked by the kernel before it writes anything, also inside jit.
import * as kernels from '../backend/kernels.js';
import { readData } from '../backend/io.js';
import type { BoundKernel, DataBuffer } from '../backend/kernels.js';
import { definePrimitive, implFromKernel, type Aval, type Primitive, type SparsityRule } from '../core/primitive.js';
import { bind } from '../core/trace.js';
import { ArgumentError, DTypeError, IndexError, ShapeError, fmtShape } from '../errors.js';
import { arange, array, zeros } from '../tensor/create.js';
import { broadcastShapes, normalizeAxis, shapesEqual, sizeOf } from '../tensor/shape.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { moveAxis } from './batching.js';
import { astype, coerce, toTensor, type TensorLike } from './convert.js';
import { equal } from './elementwise.js';
import { reshape } from './shape.js';
import { broadcastTo } from './sum.js';

/** Int32 indices: a tensor, or JS numbers (a number or nested arrays of them). */
export type Indices = Tensor | number | readonly number[] | readonly (readonly number[])[] | Int32Array;

interface IndexParams {
  axis: number;
  /** false: one index list for every position (take); true: one index per element (takeAlongAxis). */
  along: boolean;
}

/** x as the [outer, n, inner] view around `axis`, and m, the length of the gathered axis. */
function viewOf(xShape: readonly number[], idxShape: readonly number[], { axis, along }: IndexParams) {
  return {
    outer: sizeOf(xShape.slice(0, axis)),
    n: xShape[axis],
    inner: sizeOf(xShape.slice(axis + 1)),
    m: along ? idxShape[axis] : sizeOf(idxShape),
  };
}

function gatheredShape(xShape: readonly number[], idxShape: readonly number[], { axis, along }: IndexParams): number[] {
  return along ? [...idxShape] : [...xShape.slice(0, axis), ...idxShape, ...xShape.slice(axis + 1)];
}

function unravel(position: number, shape: readonly number[]): number[] {
  const at = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    at[d] = position % shape[d];
    position = Math.floor(position / shape[d]);
  }
  return at;
}

function outOfRange(op: string, xShape: readonly number[], idxShape: readonly number[], idx: DataBuffer, position: number, axis: number): IndexError {
  const value = readData(idx)[position];
  const n = xShape[axis];
  const where = idxShape.length > 0 ? ` at [${unravel(position, idxShape).join(', ')}] of the indices` : '';
  return new IndexError(`${op}: index ${value}${where} is out of range for axis ${axis} (size ${n}) of the input of shape ${fmtShape(xShape)}; indices must lie in [${-n}, ${n}) (negative ones count from the end, as in NumPy). Nothing wraps around.`);
}

const opName = (along: boolean, scatter: boolean) => (scatter ? (along ? 'scatterAdd (along an axis)' : 'scatterAdd') : along ? 'takeAlongAxis' : 'take');

/** Indices with a leading chunk axis of k, for a rule applied to k tangent or cotangent rows. */
function chunked(idx: Tensor, k: number, along: boolean): Tensor {
  return along ? broadcastTo(reshape(idx, [1, ...idx.shape]), [k, ...idx.shape]) : idx;
}

const shifted = (p: IndexParams): IndexParams => ({ axis: p.axis + 1, along: p.along });

/** Per gathered element, the element of x it reads (the sparsity map of gather). */
function gatherMap(xShape: readonly number[], idxShape: readonly number[], idx: ArrayLike<number>, p: IndexParams): Int32Array {
  const { outer, n, inner, m } = viewOf(xShape, idxShape, p);
  const map = new Int32Array(outer * m * inner);
  let e = 0;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < inner; i++, e++) {
        const raw = p.along ? idx[e] : idx[j];
        map[e] = (o * n + (raw < 0 ? raw + n : raw)) * inner + i;
      }
    }
  }
  return map;
}

/** Both primitives' views in the along layout: batch axis first, [B, P, n or m, Q] with matching index shapes. */
function alongForm(x: Tensor, idx: Tensor, axis: number, along: boolean, size: number): { x: Tensor; idx: Tensor } {
  // x has its batch axis first; idx too (broadcast over the batch when it was unbatched).
  const pre = sizeOf(x.shape.slice(1, axis + 1)), post = sizeOf(x.shape.slice(axis + 2));
  const m = along ? idx.shape[axis + 1] : sizeOf(idx.shape.slice(1));
  const lined = along ? reshape(idx, [size, pre, m, post]) : broadcastTo(reshape(idx, [size, 1, m, 1]), [size, pre, m, post]);
  return { x: reshape(x, [size, pre, x.shape[axis + 1], post]), idx: lined };
}

const batchedFirst = (t: Tensor, axis: number | null, size: number) => (axis === null ? broadcastTo(t, [size, ...t.shape]) : moveAxis(t, axis, 0));

function gatherInto([x, idx]: readonly Aval[], p: IndexParams): BoundKernel {
  const { outer, n, inner, m } = viewOf(x.shape, idx.shape, p);
  const xShape = [...x.shape], idxShape = [...idx.shape];
  return (out, [xb, ib]) => {
    const bad = kernels.gather(out, xb, ib, outer, n, m, inner, p.along);
    if (bad >= 0) throw outOfRange(opName(p.along, false), xShape, idxShape, ib, bad, p.axis);
  };
}

const gatherAval = ([x, idx]: readonly Aval[], p: IndexParams): Aval => ({ shape: gatheredShape(x.shape, idx.shape, p), dtype: x.dtype });

// d gather(x, i) = gather(dx, i); its transpose scatters the cotangent back: scatter_add(0, i, ct).
const gatherP: Primitive<IndexParams> = definePrimitive<IndexParams>({
  name: 'gather',
  integer: true,
  impl: implFromKernel('gather', gatherAval, gatherInto),
  into: gatherInto,
  shape: gatherAval,
  saves: [1],
  sparsity: (algebra, { inputs: [x, idx], out, params }) => {
    const size = sizeOf(out.shape);
    if (!x.deps) return algebra.union([], size);
    return algebra.union([{ deps: x.deps, map: gatherMap(x.shape, idx.shape, idx.value.data(), params) }], size);
  },
  jvp: ({ tangents: [t], inputs: [, idx], params }) => (t ? bind(gatherP, [t, chunked(idx, t.shape[0], params.along)], shifted(params)) : null),
  vjp: ({ ct, inputs: [, idx], avals: [x], params, wanted }) => {
    if (!wanted[0]) return [null, null];
    const k = ct.shape[0];
    return [bind(scatterAddP, [zeros([k, ...x.shape], { dtype: x.dtype }), chunked(idx, k, params.along), ct], shifted(params)), null];
  },
  batch: ({ inputs: [x, idx], axes: [bx, bi], size, params }) => {
    if (bi === null && !params.along) return { out: bind(gatherP, [moveAxis(x, bx!, 0), idx], shifted(params)), axis: 0 };
    const xs = batchedFirst(x, bx, size), is = batchedFirst(idx, bi, size);
    const form = alongForm(xs, is, params.axis, params.along, size);
    const y = bind(gatherP, [form.x, form.idx], { axis: 2, along: true });
    return { out: reshape(y, [size, ...gatheredShape(xs.shape.slice(1), is.shape.slice(1), params)]), axis: 0 };
  },
});

function scatterInto([x, idx]: readonly Aval[], p: IndexParams): BoundKernel {
  const { outer, n, inner, m } = viewOf(x.shape, idx.shape, p);
  const xShape = [...x.shape], idxShape = [...idx.shape];
  return (out, [xb, ib, ub]) => {
    kernels.copy(out, xb);
    const bad = kernels.scatterAdd(out, ub, ib, outer, n, m, inner, p.along);
    if (bad >= 0) throw outOfRange(opName(p.along, true), xShape, idxShape, ib, bad, p.axis);
  };
}

/** Per output element, the updates added into it (the sparsity of scatter_add). */
const scatterSparsity: SparsityRule<IndexParams> = (algebra, { inputs: [x, idx, u], out, params }) => {
  const size = sizeOf(out.shape);
  const map = gatherMap(out.shape, idx.shape, idx.value.data(), params);
  const sources: number[][] = Array.from({ length: size }, () => []);
  map.forEach((target, p) => sources[target].push(p));
  return algebra.build(size, (e, add) => {
    if (x.deps) add(x.deps, e);
    if (u.deps) for (const p of sources[e]) add(u.deps, p);
  });
};

// scatter_add is linear in x and the updates: d scatter_add(x, i, u) = scatter_add(dx, i, du);
// its transpose passes ct to x and gathers it for u.
const scatterAddP: Primitive<IndexParams> = definePrimitive<IndexParams>({
  name: 'scatter_add',
  integer: true,
  linear: true,
  impl: implFromKernel('scatterAdd', ([x]) => x, scatterInto),
  into: scatterInto,
  shape: ([x]) => x,
  saves: [1],
  sparsity: scatterSparsity,
  jvp: ({ tangents: [tx, , tu], inputs: [x, idx], params }) => {
    if (!tx && !tu) return null;
    const k = (tx ?? tu)!.shape[0];
    const base = tx ?? zeros([k, ...x.shape], { dtype: x.dtype });
    return tu ? bind(scatterAddP, [base, chunked(idx, k, params.along), tu], shifted(params)) : base;
  },
  vjp: ({ ct, inputs: [, idx], params, wanted }) => [
    wanted[0] ? ct : null,
    null,
    wanted[2] ? bind(gatherP, [ct, chunked(idx, ct.shape[0], params.along)], shifted(params)) : null,
  ],
  batch: ({ inputs: [x, idx, u], axes: [bx, bi, bu], size, params }) => {
    const xs = batchedFirst(x, bx, size), us = batchedFirst(u, bu, size);
    if (bi === null && !params.along) return { out: bind(scatterAddP, [xs, idx, us], shifted(params)), axis: 0 };
    const is = batchedFirst(idx, bi, size);
    const form = alongForm(xs, is, params.axis, params.along, size);
    const lu = reshape(us, form.idx.shape);
    return { out: reshape(bind(scatterAddP, [form.x, form.idx, lu], { axis: 2, along: true }), xs.shape), axis: 0 };
  },
});

/** Indices as an int32 tensor: int32 tensors as they are, JS integers converted; floats are a DTypeError. */
function indexTensor(op: string, indices: Indices): Tensor {
  if (indices instanceof Tensor) {
    if (indices.dtype !== 'int32') {
      throw new DTypeError(`${op}: indices must be int32, got a ${indices.dtype} tensor of shape ${fmtShape(indices.shape)}; convert them with astype(indices, 'int32') (which truncates toward zero).`);
    }
    return toTensor(op, indices);
  }
  if (indices instanceof Int32Array) return array(indices);
  const flat = typeof indices === 'number' ? [indices] : (indices as readonly unknown[]).flat(Infinity);
  for (const v of flat) {
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw new ArgumentError(`${op}: indices must be integers, got ${typeof v === 'number' ? v : typeof v}; give int32 tensors or JS integers.`);
    }
  }
  return array(indices as number | number[], { dtype: 'int32' });
}

/**
 * The elements of `x` at `indices` along `axis` (NumPy's and JAX's take): the result has shape
 * x.shape[:axis] + indices.shape + x.shape[axis+1:]. Without an axis x is flattened first.
 * Negative indices count from the end; out-of-range ones are an IndexError. Differentiable in
 * x: the gradient adds the cotangent back at the indices (scatterAdd), so repeated indices
 * accumulate.
 * @example take(array([10, 20, 30]), [2, 0, 2]) // [30, 10, 30]
 */
export function take(x: TensorLike, indices: Indices, axis?: number): Tensor {
  let t = toTensor('take', x);
  const idx = indexTensor('take', indices);
  if (axis === undefined) t = reshape(t, [t.size]);
  const ax = normalizeAxis('take', axis ?? 0, t.ndim);
  if (t.shape[ax] === 0 && idx.size > 0) throw new IndexError(`take: axis ${ax} of the input of shape ${fmtShape(t.shape)} is empty, so no index can be in range.`);
  return bind(gatherP, [t, idx], { axis: ax, along: false });
}

/** x and the indices broadcast against each other on every axis but `axis`. */
function alongShapes(op: string, x: Tensor, idx: Tensor, axis: number): [Tensor, Tensor] {
  if (idx.ndim !== x.ndim) {
    throw new ShapeError(`${op}: indices of shape ${fmtShape(idx.shape)} must have as many axes as the input of shape ${fmtShape(x.shape)} (${x.ndim}); add size-1 axes with expandDims or reshape.`);
  }
  const others = broadcastShapes(op, x.shape.map((d, i) => (i === axis ? 1 : d)), idx.shape.map((d, i) => (i === axis ? 1 : d)));
  const xTo = others.map((d, i) => (i === axis ? x.shape[i] : d)), iTo = others.map((d, i) => (i === axis ? idx.shape[i] : d));
  return [shapesEqual(xTo, x.shape) ? x : broadcastTo(x, xTo), shapesEqual(iTo, idx.shape) ? idx : broadcastTo(idx, iTo)];
}

/**
 * Picks along `axis` one element per index (NumPy's take_along_axis): out[..., j, ...] =
 * x[..., indices[..., j, ...], ...]. indices has x's number of axes; the other axes broadcast.
 * With argsort's output it sorts, with argmax's (keepdims) it picks the maxima.
 * @example takeAlongAxis(array([[1, 9], [8, 2]]), [[1], [0]], 1) // [[9], [8]]
 */
export function takeAlongAxis(x: TensorLike, indices: Indices, axis: number): Tensor {
  const t = toTensor('takeAlongAxis', x);
  const ax = normalizeAxis('takeAlongAxis', axis, t.ndim);
  const [xb, ib] = alongShapes('takeAlongAxis', t, indexTensor('takeAlongAxis', indices), ax);
  if (xb.shape[ax] === 0 && ib.size > 0) throw new IndexError(`takeAlongAxis: axis ${ax} of the input of shape ${fmtShape(t.shape)} is empty, so no index can be in range.`);
  return bind(gatherP, [xb, ib], { axis: ax, along: true });
}

/**
 * x with `updates` added at `indices` along `axis` (JAX's x.at[..., indices, ...].add(updates));
 * repeated indices accumulate. updates broadcasts to x.shape[:axis] + indices.shape +
 * x.shape[axis+1:]. The transpose of take: differentiable in x and updates.
 * @example scatterAdd(zeros([3]), [0, 2, 0], array([1, 2, 3]), 0) // [4, 0, 2]
 */
export function scatterAdd(x: TensorLike, indices: Indices, updates: TensorLike, axis = 0): Tensor {
  const [t, u] = coerce('scatterAdd', [x, updates]);
  const idx = indexTensor('scatterAdd', indices);
  const ax = normalizeAxis('scatterAdd', axis, t.ndim);
  const target = gatheredShape(t.shape, idx.shape, { axis: ax, along: false });
  broadcastShapes('scatterAdd', u.shape, target);
  if (!shapesEqual(broadcastShapes('scatterAdd', u.shape, target), target)) {
    throw new ShapeError(`scatterAdd: updates of shape ${fmtShape(u.shape)} do not broadcast to ${fmtShape(target)} (x.shape[:axis] + indices.shape + x.shape[axis+1:]).`);
  }
  if (t.shape[ax] === 0 && idx.size > 0) throw new IndexError(`scatterAdd: axis ${ax} of the input of shape ${fmtShape(t.shape)} is empty, so no index can be in range.`);
  return bind(scatterAddP, [t, idx, shapesEqual(u.shape, target) ? u : broadcastTo(u, target)], { axis: ax, along: false });
}

/**
 * One-hot rows: out[..., c] = 1 where labels[...] == c, for c < n. Labels are int32 (or JS
 * integers) in [0, n); a concrete label outside is an IndexError (traced ones, inside jit,
 * give a row of zeros, as JAX). The result is float64 unless `dtype` says otherwise.
 * @example oneHot([0, 2], 3) // [[1, 0, 0], [0, 0, 1]]
 */
export function oneHot(labels: Indices, n: number, options: { dtype?: Tensor['dtype'] } = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`oneHot: n must be a non-negative integer, got ${n}.`);
  const l = indexTensor('oneHot', labels);
  if (l instanceof DenseTensor) {
    const values = l.data();
    for (let p = 0; p < values.length; p++) {
      if (values[p] < 0 || values[p] >= n) {
        const where = l.ndim > 0 ? ` at [${unravel(p, l.shape).join(', ')}]` : '';
        throw new IndexError(`oneHot: label ${values[p]}${where} is out of range for ${n} classes; labels must lie in [0, ${n}).`);
      }
    }
  }
  const mask = equal(reshape(l, [...l.shape, 1]), arange(n, undefined, 1, { dtype: 'int32' }));
  return astype(mask, options.dtype ?? 'float64');
}

interface ArgParams {
  axis: number;
  keepdims: boolean;
}

const argAval = ([x]: readonly Aval[], { axis, keepdims }: ArgParams): Aval => ({
  shape: keepdims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis),
  dtype: 'int32',
});

// The position of the extremum is piecewise constant: no derivative, and no dependence in the
// sparsity sense (it is an int32 constant of every transform).
function argExtremePrim(name: 'argmax' | 'argmin'): Primitive<ArgParams> {
  const into = ([x]: readonly Aval[], { axis }: ArgParams): BoundKernel => {
    const outer = sizeOf(x.shape.slice(0, axis)), len = x.shape[axis], inner = sizeOf(x.shape.slice(axis + 1));
    return (out, [xb]) => kernels.argExtreme(out, xb, outer, len, inner, name === 'argmin');
  };
  const prim: Primitive<ArgParams> = definePrimitive<ArgParams>({
    name,
    integer: true,
    impl: implFromKernel(name, argAval, into),
    into,
    shape: argAval,
    saves: [],
    sparsity: 'none',
    jvp: () => null,
    vjp: () => [null],
    batch: ({ inputs: [x], axes: [b], params }) => ({ out: bind(prim, [moveAxis(x, b!, 0)], { axis: params.axis + 1, keepdims: params.keepdims }), axis: 0 }),
  });
  return prim;
}
const argmaxP = argExtremePrim('argmax');
const argminP = argExtremePrim('argmin');

function argExtreme(prim: Primitive<ArgParams>, x: TensorLike, axis: number | undefined, keepdims: boolean): Tensor {
  const t = toTensor(prim.name, x);
  if (axis === undefined) {
    const r = argExtreme(prim, reshape(t, [t.size]), 0, false);
    return keepdims ? reshape(r, t.shape.map(() => 1)) : r;
  }
  const ax = normalizeAxis(prim.name, axis, t.ndim);
  if (t.shape[ax] === 0) throw new ArgumentError(`${prim.name}: axis ${ax} of the input of shape ${fmtShape(t.shape)} is empty; an empty axis has no ${prim.name === 'argmax' ? 'largest' : 'smallest'} element.`);
  return bind(prim, [t], { axis: ax, keepdims });
}

/**
 * The int32 position of the largest element along `axis` (of the flattened x without one); the
 * first one at ties, and the first NaN if any (as NumPy). Never differentiated.
 * @example argmax(array([[1, 5, 2], [7, 0, 7]]), 1) // int32 [1, 0]
 */
export function argmax(x: TensorLike, axis?: number, options: { keepdims?: boolean } = {}): Tensor {
  return argExtreme(argmaxP, x, axis, options.keepdims ?? false);
}

/**
 * The int32 position of the smallest element along `axis` (of the flattened x without one); the
 * first one at ties, and the first NaN if any (as NumPy). Never differentiated.
 * @example argmin(array([3, 1, 1])) // int32 1
 */
export function argmin(x: TensorLike, axis?: number, options: { keepdims?: boolean } = {}): Tensor {
  return argExtreme(argminP, x, axis, options.keepdims ?? false);
}

function argsortInto([x]: readonly Aval[], { axis }: { axis: number }): BoundKernel {
  const outer = sizeOf(x.shape.slice(0, axis)), len = x.shape[axis], inner = sizeOf(x.shape.slice(axis + 1));
  return (out, [xb]) => kernels.argsort(out, xb, outer, len, inner);
}
const argsortAval = ([x]: readonly Aval[]): Aval => ({ shape: x.shape, dtype: 'int32' });

// A permutation of positions: int32, no derivative (sort's gradient comes from takeAlongAxis).
const argsortP: Primitive<{ axis: number }> = definePrimitive<{ axis: number }>({
  name: 'argsort',
  integer: true,
  impl: implFromKernel('argsort', argsortAval, argsortInto),
  into: argsortInto,
  shape: argsortAval,
  saves: [],
  sparsity: 'none',
  jvp: () => null,
  vjp: () => [null],
  batch: ({ inputs: [x], axes: [b], params }) => ({ out: bind(argsortP, [moveAxis(x, b!, 0)], { axis: params.axis + 1 }), axis: 0 }),
});

/**
 * The int32 positions that sort x ascending along `axis` (default the last): a stable sort, so
 * equal elements keep their order; NaNs go last, as in NumPy. Never differentiated.
 * @example argsort(array([3, 1, 2])) // int32 [1, 2, 0]
 */
export function argsort(x: TensorLike, axis = -1): Tensor {
  const t = toTensor('argsort', x);
  if (t.ndim === 0) return reshape(array([0], { dtype: 'int32' }), []);
  return bind(argsortP, [t], { axis: normalizeAxis('argsort', axis, t.ndim) });
}

/**
 * x sorted ascending along `axis` (default the last), NaNs last. Differentiable: it is
 * takeAlongAxis(x, argsort(x, axis), axis), so the gradient flows back to where each element
 * came from (at ties, to the element the stable order put there).
 * @example sort(array([3, 1, 2])) // [1, 2, 3]
 */
export function sort(x: TensorLike, axis = -1): Tensor {
  const t = toTensor('sort', x);
  if (t.ndim === 0) return t;
  const ax = normalizeAxis('sort', axis, t.ndim);
  return takeAlongAxis(t, argsort(t, ax), ax);
}
