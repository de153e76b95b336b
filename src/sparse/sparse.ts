// Sparse Jacobians. Three steps (Curtis, Powell and Reid; Griewank and Walther ch. 8):
// 1. The sparsity pattern, found by running f once under a dependency trace whose values
//    carry, per element, the sorted set of input elements it depends on (sparse-trace.ts).
// 2. A greedy distance-2 coloring: columns that share no row (forward mode) or rows that
//    share no column (reverse mode) get one color, so that one directional derivative per
//    color recovers every entry. A band of width w needs w colors whatever n is.
// 3. One chunked jvp (or one backward sweep) with k = the number of colors, each direction
//    the sum of the columns (rows) of one color, then decompression into CSR.
import { popTrace, pushTrace } from '../core/trace.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { array } from '../tensor/create.js';
import { sizeOf } from '../tensor/shape.js';
import { Tensor, type DType } from '../tensor/tensor.js';
import { toTensor } from '../ops/convert.js';
import { flatten } from '../tree.js';
import { pushForward } from '../transforms/jvp.js';
import { DepTrace } from './sparse-trace.js';
import { TapeTrace, TapeVar, backward } from '../transforms/reverse.js';
import { checkFunction, scoped } from '../transforms/util.js';

type Fn = (x: any, ...rest: any[]) => unknown;

/** A Jacobian's sparsity pattern in CSR form: row i (output element) has nonzeros in columns indices[indptr[i]..indptr[i+1]). */
export interface SparsityPattern {
  /** [m, n]: m = output size, n = input size (both flattened row-major). */
  shape: [number, number];
  indptr: Int32Array;
  indices: Int32Array;
  nnz: number;
  outShape: readonly number[];
  inShape: readonly number[];
}

/** A pattern given by hand: CSR arrays and the [m, n] shape. */
export interface PatternLike {
  shape: readonly [number, number] | readonly number[];
  indptr: ArrayLike<number>;
  indices: ArrayLike<number>;
}

function singleOutput(op: string, result: unknown): Tensor {
  const { leaves, def } = flatten(result, `${op}: the function's output`);
  if (def.kind !== 'leaf') throw new ArgumentError(`${op}: the function must return one tensor (or number), got a tree of ${leaves.length} leaves; concatenate the outputs first.`);
  return toTensor(op, leaves[0]);
}

function inputTensor(op: string, x: unknown): Tensor {
  if (x instanceof Tensor || typeof x === 'number') return toTensor(op, x);
  throw new ArgumentError(`${op}: x must be a tensor or a number, got ${x === null ? 'null' : Array.isArray(x) ? 'a JS array (wrap it with array(...))' : typeof x}.`);
}

/** Patterns made by detect(): well formed, so sparseJacobian need not check them again. */
const detected = new WeakSet<object>();

function detect(f: Fn, x: Tensor, rest: unknown[]): SparsityPattern {
  const op = 'sparsityPattern';
  return scoped(() => {
    const n = x.size;
    const trace = pushTrace((level) => new DepTrace(level, n));
    let y: Tensor;
    try {
      y = singleOutput(op, f(trace.input(x), ...rest));
    } finally {
      popTrace(trace);
    }
    const deps = trace.dependencies(y);
    const pattern: SparsityPattern = { shape: [y.size, n], indptr: deps.ptr, indices: deps.idx, nnz: deps.idx.length, outShape: [...y.shape], inShape: [...x.shape] };
    detected.add(pattern);
    return pattern;
  });
}

/**
 * Which inputs each output element depends on, found by tracing f once (no derivatives are
 * computed). The pattern holds for every x as long as f's Python-style control flow does not
 * depend on x's values; a constant operand that is exactly zero in mul, matmul or a constant
 * where-condition removes dependencies. Ops without a sparsity rule are treated as dense.
 * @example
 * const f = (x) => concat([x.slice([0], [1]), x.slice([1], [2]).add(x.slice([0], [2]))]);
 * sparsityPattern(f, zeros([3])) // rows {0}, {0, 1}, {1, 2}
 */
export function sparsityPattern(f: Fn, x: Tensor | number): SparsityPattern {
  checkFunction('sparsityPattern', f);
  return detect(f, inputTensor('sparsityPattern', x), []);
}

export interface Coloring {
  /** colors[j] for each column (colorColumns) or row (colorRows), in [0, count); -1 for one without nonzeros. */
  colors: Int32Array;
  count: number;
}

function checkPattern(op: string, p: PatternLike): void {
  const [m, n] = p.shape ?? [];
  const ok = Number.isInteger(m) && Number.isInteger(n) && m >= 0 && n >= 0 && p.indptr?.length === m + 1 && p.indptr[0] === 0 && p.indptr[m] === p.indices?.length;
  if (!ok) throw new ArgumentError(`${op}: a pattern needs shape [m, n], indptr of length m + 1 from 0 to indices.length, and indices (CSR); got shape ${JSON.stringify(p.shape)}, indptr of length ${p.indptr?.length}.`);
  for (let i = 0; i < m; i++) if (p.indptr[i + 1] < p.indptr[i]) throw new ArgumentError(`${op}: pattern indptr decreases at row ${i}.`);
  for (let k = 0; k < p.indices.length; k++) {
    const j = p.indices[k];
    if (!Number.isInteger(j) || j < 0 || j >= n) throw new ArgumentError(`${op}: pattern column index ${j} at position ${k} is outside [0, ${n}).`);
  }
}

function transposeCsr(p: PatternLike): PatternLike {
  const [m, n] = p.shape;
  const indptr = new Int32Array(n + 1);
  for (let k = 0; k < p.indices.length; k++) indptr[p.indices[k] + 1]++;
  for (let j = 0; j < n; j++) indptr[j + 1] += indptr[j];
  const fill = indptr.slice(0, n);
  const indices = new Int32Array(p.indices.length);
  for (let i = 0; i < m; i++) for (let k = p.indptr[i]; k < p.indptr[i + 1]; k++) indices[fill[p.indices[k]]++] = i;
  return { shape: [n, m], indptr, indices };
}

/**
 * Greedy distance-2 coloring of the columns of `p` in natural order: a column takes the
 * smallest color that no column sharing a row with it has. Natural order is optimal for bands.
 */
function greedy(p: PatternLike): Coloring {
  const [, n] = p.shape;
  const byColumn = transposeCsr(p);
  const colors = new Int32Array(n).fill(-1);
  const forbidden = new Int32Array(n + 1).fill(-1);
  let count = 0;
  for (let j = 0; j < n; j++) {
    if (byColumn.indptr[j + 1] === byColumn.indptr[j]) continue; // an empty column needs no direction
    for (let k = byColumn.indptr[j]; k < byColumn.indptr[j + 1]; k++) {
      const i = byColumn.indices[k];
      for (let q = p.indptr[i]; q < p.indptr[i + 1]; q++) {
        const c = colors[p.indices[q]];
        if (c >= 0) forbidden[c] = j;
      }
    }
    let c = 0;
    while (forbidden[c] === j) c++;
    colors[j] = c;
    count = Math.max(count, c + 1);
  }
  return { colors, count };
}

/**
 * Column coloring for forward mode: no two columns of one color have a nonzero in the same row.
 * @example colorColumns(sparsityPattern(f, x)).count // 3 for a tridiagonal Jacobian
 */
export function colorColumns(pattern: PatternLike): Coloring {
  checkPattern('colorColumns', pattern);
  return greedy(pattern);
}

/**
 * Row coloring for reverse mode: no two rows of one color have a nonzero in the same column.
 * @example colorRows({shape: [2, 2], indptr: [0, 2, 3], indices: [0, 1, 1]}).count // 2
 */
export function colorRows(pattern: PatternLike): Coloring {
  checkPattern('colorRows', pattern);
  return greedy(transposeCsr(pattern));
}

export interface SparseJacobianOptions {
  /** The pattern to use (from sparsityPattern or by hand); default: detected by tracing f on each call. */
  pattern?: PatternLike;
  /** 'fwd': column coloring and jvp; 'rev': row coloring and one backward sweep; 'auto': fewer colors (default 'fwd'). */
  mode?: 'fwd' | 'rev' | 'auto';
  /** Colors per pass (default: all of them, one pass). */
  chunkSize?: number;
}

export interface SparseJacobian {
  /** [m, n] = [out.size, x.size]; the dense view has shape out.shape + x.shape. */
  shape: [number, number];
  indptr: Int32Array;
  indices: Int32Array;
  values: Float64Array | Float32Array;
  outShape: readonly number[];
  inShape: readonly number[];
  dtype: DType;
  mode: 'fwd' | 'rev';
  /** Directional derivatives needed: colors of columns (fwd) or rows (rev). */
  colors: number;
  /** jvp passes (fwd) or backward sweeps (rev) taken, each carrying up to chunkSize colors. */
  passes: number;
  /** The dense Jacobian as a tensor of shape out.shape + x.shape. */
  toDense(): Tensor;
}

const colorings = new WeakMap<PatternLike, { fwd?: Coloring; rev?: Coloring }>();

/** Colors of a pattern, cached per pattern object (patterns are treated as immutable). */
function coloringOf(p: PatternLike, mode: 'fwd' | 'rev'): Coloring {
  let entry = colorings.get(p);
  if (!entry) colorings.set(p, (entry = {}));
  return (entry[mode] ??= mode === 'fwd' ? greedy(p) : greedy(transposeCsr(p)));
}

/** Rows [start, start + k) of the seed: row c is the indicator of the items of color start + c. */
function seedBlock(colors: Int32Array, start: number, k: number): Float64Array {
  const len = colors.length, seed = new Float64Array(k * len);
  for (let j = 0; j < len; j++) {
    const c = colors[j] - start;
    if (c >= 0 && c < k) seed[c * len + j] = 1;
  }
  return seed;
}

interface Compressed {
  data: Float64Array; // [colors, m] (fwd: J S) or [colors, n] (rev: S^T J)
  outShape: readonly number[];
  dtype: DType;
  passes: number;
}

function forwardCompressed(op: string, f: Fn, x: Tensor, rest: unknown[], { colors, count }: Coloring, chunk: number): Compressed {
  if (count === 0) {
    // Nothing to differentiate: one plain call for the output's shape.
    const y = scoped(() => {
      const out = singleOutput(op, f(x, ...rest));
      return { shape: out.shape, dtype: out.dtype };
    });
    return { data: new Float64Array(0), outShape: y.shape, dtype: y.dtype, passes: 0 };
  }
  let data = new Float64Array(0);
  let out = { shape: [] as readonly number[], dtype: x.dtype };
  let passes = 0;
  for (let start = 0; start < count; start += chunk) {
    const k = Math.min(chunk, count - start);
    scoped(() => {
      const seed = array(seedBlock(colors, start, k), { dtype: x.dtype, shape: [k, ...x.shape] });
      const res = pushForward(f, [x], [seed], k, (duals) => [duals[0], ...rest], op);
      if (res.def.kind !== 'leaf') singleOutput(op, res.primals); // throws: a tree of outputs
      const y = res.primals[0];
      if (passes === 0) {
        out = { shape: y.shape, dtype: y.dtype };
        data = new Float64Array(count * y.size);
      }
      if (res.tangents[0]) data.set(res.tangents[0].data(), start * y.size);
      passes++;
    });
  }
  return { data, outShape: out.shape, dtype: out.dtype, passes };
}

function reverseCompressed(op: string, f: Fn, x: Tensor, rest: unknown[], pattern: PatternLike, coloring: Coloring, chunk: number): Compressed {
  return scoped((scope) => {
    const trace = pushTrace((level) => new TapeTrace(level, scope));
    try {
      const v = trace.variable(x);
      const y = singleOutput(op, f(v, ...rest));
      if (pattern.shape[0] !== y.size) throw new ShapeError(`${op}: the pattern has ${pattern.shape[0]} rows but f's output has ${y.size} elements (shape ${fmtShape(y.shape)}).`);
      const { colors, count } = coloring;
      const data = new Float64Array(count * x.size);
      let passes = 0;
      if (y instanceof TapeVar && y.trace === trace) {
        for (let start = 0; start < count; start += chunk) {
          const k = Math.min(chunk, count - start);
          const seed = array(seedBlock(colors, start, k), { dtype: y.dtype, shape: [k, ...y.shape] });
          const [ct] = backward(trace, new Map([[y.id, seed]]), [v.id], { consume: start + k >= count, keep: new Set() });
          if (ct) data.set(ct.data(), start * x.size);
          passes++;
        }
      }
      return { data, outShape: [...y.shape], dtype: y.dtype, passes };
    } finally {
      popTrace(trace);
    }
  });
}

/**
 * The Jacobian of f at x as CSR arrays, from the sparsity pattern (detected by tracing, or
 * given) and a coloring: a tridiagonal Jacobian costs 3 directional derivatives whatever n is.
 * Extra arguments are passed to f unchanged and not differentiated. To evaluate repeatedly,
 * detect the pattern once with sparsityPattern and pass it: its coloring is then reused too.
 * @example
 * const J = sparseJacobian(f, {mode: 'fwd'})(x);
 * J.colors // 3 for a tridiagonal Jacobian
 * J.toDense() // tensor of shape out.shape + x.shape
 */
export function sparseJacobian(f: Fn, options: SparseJacobianOptions = {}) {
  const op = 'sparseJacobian';
  checkFunction(op, f);
  const requested = options.mode ?? 'fwd';
  if (requested !== 'fwd' && requested !== 'rev' && requested !== 'auto') throw new ArgumentError(`${op}: mode must be 'fwd', 'rev' or 'auto', got ${JSON.stringify(options.mode)}.`);
  if (options.chunkSize !== undefined && !(Number.isInteger(options.chunkSize) && options.chunkSize >= 1)) {
    throw new ArgumentError(`${op}: chunkSize must be a positive integer, got ${options.chunkSize}.`);
  }
  if (options.pattern && !detected.has(options.pattern)) checkPattern(op, options.pattern);
  return (x: Tensor | number, ...rest: unknown[]): SparseJacobian => {
    const xt = inputTensor(op, x);
    const pattern: PatternLike = options.pattern ?? detect(f, xt, rest);
    const [m, n] = pattern.shape;
    if (n !== xt.size) throw new ShapeError(`${op}: the pattern has ${n} columns but x has ${xt.size} elements (shape ${fmtShape(xt.shape)}).`);
    const mode = requested !== 'auto' ? requested : coloringOf(pattern, 'rev').count < coloringOf(pattern, 'fwd').count ? 'rev' : 'fwd';
    const coloring = coloringOf(pattern, mode);
    const chunk = options.chunkSize ?? Math.max(1, coloring.count);
    const compressed = mode === 'fwd'
      ? forwardCompressed(op, f, xt, rest, coloring, chunk)
      : reverseCompressed(op, f, xt, rest, pattern, coloring, chunk);
    const outSize = sizeOf(compressed.outShape);
    if (outSize !== m) throw new ShapeError(`${op}: the pattern has ${m} rows but f's output has ${outSize} elements (shape ${fmtShape(compressed.outShape)}).`);
    return decompress(pattern, mode, coloring, compressed, xt);
  };
}

function toInt32(a: ArrayLike<number>): Int32Array {
  return a instanceof Int32Array ? a.slice() : Int32Array.from(a);
}

/** Reads each entry of the pattern from the compressed products. */
function decompress(pattern: PatternLike, mode: 'fwd' | 'rev', coloring: Coloring, c: Compressed, x: Tensor): SparseJacobian {
  const [m, n] = pattern.shape;
  const indptr = toInt32(pattern.indptr), indices = toInt32(pattern.indices);
  const values = c.dtype === 'float32' ? new Float32Array(indices.length) : new Float64Array(indices.length);
  const { colors } = coloring, data = c.data;
  for (let i = 0; i < m; i++) {
    // Forward: entry (i, j) is row i of the product with the seed of column j's color.
    // Reverse: it is column j of the pullback of the seed of row i's color.
    if (mode === 'fwd') for (let k = indptr[i]; k < indptr[i + 1]; k++) values[k] = data[colors[indices[k]] * m + i];
    else for (let k = indptr[i], row = colors[i] * n; k < indptr[i + 1]; k++) values[k] = data[row + indices[k]];
  }
  const outShape = c.outShape, inShape = [...x.shape], dtype = c.dtype;
  return {
    shape: [m, n], indptr, indices, values, outShape, inShape, dtype, mode, colors: coloring.count, passes: c.passes,
    toDense() {
      const dense = new Float64Array(m * n);
      for (let i = 0; i < m; i++) for (let k = indptr[i]; k < indptr[i + 1]; k++) dense[i * n + indices[k]] = values[k];
      return array(dense, { shape: [...outShape, ...inShape], dtype });
    },
  };
}
