// Sparse Jacobians. Three steps (Curtis, Powell and Reid; Griewank and Walther ch. 8):
// 1. The sparsity pattern, found by running f once under a dependency trace whose values
//    carry, per element, the sorted set of input elements it depends on, propagated by
//    primitive kind (elementwise ops union broadcast-aligned elements, reductions union over
//    the reduced axes, shape ops follow their index maps, matmul unions along the inner axis).
// 2. A greedy distance-2 coloring: columns that share no row (forward mode) or rows that
//    share no column (reverse mode) get one color, so that one directional derivative per
//    color recovers every entry. A band of width w needs w colors whatever n is.
// 3. One chunked jvp (or one backward sweep) with k = the number of colors, each direction
//    the sum of the columns (rows) of one color, then decompression into CSR.
import { bind, popTrace, pushTrace, Trace, Tracer } from '../core/trace.js';
import type { Primitive } from '../core/primitive.js';
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { array } from '../tensor/create.js';
import { shapesEqual, sizeOf } from '../tensor/shape.js';
import { Tensor, type DType } from '../tensor/tensor.js';
import { toTensor } from '../ops/convert.js';
import { flatten } from '../tree.js';
import { pushForward } from './jvp.js';
import { TapeTrace, TapeVar, backward } from './reverse.js';
import { checkFunction, scoped } from './util.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Fn = (x: any, ...rest: any[]) => unknown;

/** Dependency sets per element: element e depends on inputs idx[ptr[e]], ..., idx[ptr[e+1] - 1] (sorted). */
class DepSets {
  constructor(readonly ptr: Int32Array, readonly idx: Int32Array) {}

  static empty(size: number): DepSets {
    return new DepSets(new Int32Array(size + 1), new Int32Array(0));
  }
}

/** Beyond this many (element, input) pairs the pattern is effectively dense: use jacobian. */
const MAX_ENTRIES = 2 ** 26;

function tooDense(entries: number): never {
  throw new ArgumentError(`sparsityPattern: the dependency sets reach ${entries} entries (more than ${MAX_ENTRIES}), so the Jacobian is effectively dense; use jacobian instead, or pass a pattern to sparseJacobian.`);
}

/** Stamps for set union: input d is already in the current element's set iff stamp[d] === tick. */
class Marks {
  private tick = 1;
  readonly stamp: Int32Array;
  constructor(n: number) {
    this.stamp = new Int32Array(n);
  }

  next(): number {
    if (++this.tick === 0x3fffffff) {
      this.stamp.fill(0);
      this.tick = 1;
    }
    return this.tick;
  }

  get current(): number {
    return this.tick;
  }
}

/** Builds DepSets element by element: add() sets of earlier values, then end() the element. */
class SetBuilder {
  private ptr: Int32Array;
  private idx: Int32Array;
  private len = 0;
  private element = 0;
  private sources = 0;

  constructor(private readonly marks: Marks, size: number, capacity = size) {
    this.ptr = new Int32Array(size + 1);
    this.idx = new Int32Array(Math.max(16, capacity));
    marks.next();
  }

  add(src: DepSets, e: number): void {
    const stamp = this.marks.stamp, tick = this.marks.current;
    const end = src.ptr[e + 1];
    if (end > src.ptr[e]) this.sources++;
    for (let k = src.ptr[e]; k < end; k++) {
      const d = src.idx[k];
      if (stamp[d] === tick) continue;
      stamp[d] = tick;
      if (this.len === this.idx.length) this.grow();
      this.idx[this.len++] = d;
    }
  }

  end(): void {
    // A set copied from one source is already sorted.
    if (this.sources > 1) sortRange(this.idx, this.ptr[this.element], this.len);
    this.ptr[++this.element] = this.len;
    this.sources = 0;
    this.marks.next();
  }

  done(): DepSets {
    return new DepSets(this.ptr, this.idx.slice(0, this.len));
  }

  private grow(): void {
    if (this.idx.length >= MAX_ENTRIES) tooDense(this.idx.length + 1);
    const next = new Int32Array(Math.min(MAX_ENTRIES, this.idx.length * 2));
    next.set(this.idx);
    this.idx = next;
  }
}

/** Sorts a[start, end) ascending: insertion sort for the short sets of sparse patterns. */
function sortRange(a: Int32Array, start: number, end: number): void {
  if (end - start > 32) {
    a.subarray(start, end).sort();
    return;
  }
  for (let i = start + 1; i < end; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= start && a[j] > v) a[j + 1] = a[j--];
    a[j + 1] = v;
  }
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** For each element of `shape` (row-major), offset + sum of index_d * strides_d. */
function stridedMap(shape: readonly number[], strides: readonly number[], offset = 0): Int32Array {
  const n = sizeOf(shape), nd = shape.length;
  const out = new Int32Array(n);
  if (n === 0) return out;
  if (nd === 0) {
    out[0] = offset;
    return out;
  }
  const inner = shape[nd - 1], step = strides[nd - 1];
  const index = new Array<number>(nd - 1).fill(0);
  let base = offset;
  for (let e = 0; e < n;) {
    for (let t = 0; t < inner; t++) out[e++] = base + t * step;
    for (let d = nd - 2; d >= 0; d--) {
      base += strides[d];
      if (++index[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

/** Maps each element of `outShape` to the element of `inShape` that broadcasts onto it (null: same shape). */
function broadcastMap(inShape: readonly number[], outShape: readonly number[]): Int32Array | null {
  if (shapesEqual(inShape, outShape)) return null;
  const s = stridesOf(inShape), lead = outShape.length - inShape.length;
  return stridedMap(outShape, outShape.map((_, d) => (d < lead || inShape[d - lead] === 1 ? 0 : s[d - lead])));
}

/** A source of dependencies for union(): element e takes src's element map[e] (map null: e; -1: none) when `when(e)` holds. */
interface Part {
  deps: DepSets;
  map: Int32Array | null;
  when?: (e: number) => boolean;
}

function union(marks: Marks, size: number, parts: Part[]): DepSets {
  if (parts.length === 1 && !parts[0].when) return gather(parts[0].deps, parts[0].map, size);
  // An upper bound on the entries, so the builder never grows.
  let bound = 0;
  for (const { deps, map } of parts) {
    if (!map) bound += deps.idx.length;
    else for (let e = 0; e < size; e++) if (map[e] >= 0) bound += deps.ptr[map[e] + 1] - deps.ptr[map[e]];
  }
  if (parts.length === 2 && !parts[0].when && !parts[1].when) return merge(parts[0], parts[1], size, Math.min(bound, MAX_ENTRIES));
  const b = new SetBuilder(marks, size, Math.min(bound, MAX_ENTRIES));
  for (let e = 0; e < size; e++) {
    for (let q = 0; q < parts.length; q++) {
      const p = parts[q];
      const i = p.map ? p.map[e] : e;
      if (i >= 0 && (!p.when || p.when(e))) b.add(p.deps, i);
    }
    b.end();
  }
  return b.done();
}

/** The union of two parts by merging their sorted sets: the binary elementwise ops' case. */
function merge(a: Part, b: Part, size: number, bound: number): DepSets {
  const ptr = new Int32Array(size + 1), idx = new Int32Array(bound);
  const ap = a.deps.ptr, ai = a.deps.idx, bp = b.deps.ptr, bi = b.deps.idx;
  let len = 0;
  for (let e = 0; e < size; e++) {
    const ia = a.map ? a.map[e] : e, ib = b.map ? b.map[e] : e;
    let p = ia >= 0 ? ap[ia] : 0, q = ib >= 0 ? bp[ib] : 0;
    const pEnd = ia >= 0 ? ap[ia + 1] : 0, qEnd = ib >= 0 ? bp[ib + 1] : 0;
    while (p < pEnd && q < qEnd) {
      const x = ai[p], y = bi[q];
      if (x <= y) {
        idx[len++] = x;
        p++;
        if (x === y) q++;
      } else {
        idx[len++] = y;
        q++;
      }
    }
    while (p < pEnd) idx[len++] = ai[p++];
    while (q < qEnd) idx[len++] = bi[q++];
    ptr[e + 1] = len;
  }
  return new DepSets(ptr, idx.slice(0, len));
}

/** Element e takes src's element map[e] (-1: nothing): the index-map ops, with no union to form. */
function gather(src: DepSets, map: Int32Array | null, size: number): DepSets {
  if (map === null) return src;
  const ptr = new Int32Array(size + 1);
  for (let e = 0; e < size; e++) {
    const i = map[e];
    ptr[e + 1] = ptr[e] + (i >= 0 ? src.ptr[i + 1] - src.ptr[i] : 0);
  }
  if (ptr[size] > MAX_ENTRIES) tooDense(ptr[size]);
  const idx = new Int32Array(ptr[size]);
  for (let e = 0; e < size; e++) {
    const i = map[e];
    if (i < 0) continue;
    for (let k = src.ptr[i], to = ptr[e]; k < src.ptr[i + 1]; k++) idx[to++] = src.idx[k];
  }
  return new DepSets(ptr, idx);
}

/** An input of a primitive under the dependency trace: its sets, or null for a constant (values known). */
interface Operand {
  deps: DepSets | null;
  shape: readonly number[];
  value: Tensor;
}

const SAME = new Set(['neg', 'exp', 'log', 'sin', 'cos', 'tan', 'tanh', 'sigmoid', 'sqrt', 'square', 'reciprocal', 'abs', 'astype', 'reshape']);
const NONE = new Set(['sign', 'stop_gradient', 'greater', 'less', 'equal', 'greater_equal', 'less_equal']);
const UNION = new Set(['add', 'sub', 'div', 'pow', 'maximum', 'minimum']);

type Params = Record<string, unknown>;

/** The dependency sets of a primitive's output from those of its inputs. */
function propagate(marks: Marks, name: string, ops: Operand[], outShape: readonly number[], params: Params): DepSets {
  const size = sizeOf(outShape);
  const traced = ops.filter((o) => o.deps !== null);
  if (SAME.has(name)) return ops[0].deps!;
  if (NONE.has(name)) return DepSets.empty(size);
  if (UNION.has(name)) return union(marks, size, traced.map((o) => ({ deps: o.deps!, map: broadcastMap(o.shape, outShape) })));
  switch (name) {
    case 'mul': {
      // d(c x) = c dx: a constant factor that is exactly zero cuts the dependence.
      const [a, b] = ops;
      const zeroAt = (o: Operand) => {
        if (o.deps) return null;
        const v = o.value.data();
        if (!v.includes(0)) return null;
        const m = broadcastMap(o.shape, outShape);
        return (e: number) => v[m ? m[e] : e] !== 0;
      };
      const parts: Part[] = [];
      if (a.deps) parts.push({ deps: a.deps, map: broadcastMap(a.shape, outShape), when: zeroAt(b) ?? undefined });
      if (b.deps) parts.push({ deps: b.deps, map: broadcastMap(b.shape, outShape), when: zeroAt(a) ?? undefined });
      return union(marks, size, parts);
    }
    case 'where': {
      // A constant condition selects per element; a traced one may select either branch.
      const [c, a, b] = ops;
      let pick: ((e: number) => boolean) | null = null;
      if (!c.deps) {
        const v = c.value.data(), m = broadcastMap(c.shape, outShape);
        pick = (e) => v[m ? m[e] : e] !== 0;
      }
      const parts: Part[] = [];
      if (a.deps) parts.push({ deps: a.deps, map: broadcastMap(a.shape, outShape), when: pick ?? undefined });
      if (b.deps) parts.push({ deps: b.deps, map: broadcastMap(b.shape, outShape), when: pick ? (e) => !pick!(e) : undefined });
      return union(marks, size, parts);
    }
    case 'sum': case 'max': case 'min':
      return reduceDeps(marks, ops[0], params.axes as number[]);
    case 'transpose': {
      const s = stridesOf(ops[0].shape);
      return union(marks, size, [{ deps: ops[0].deps!, map: stridedMap(outShape, (params.perm as number[]).map((p) => s[p])) }]);
    }
    case 'broadcast_to':
      return union(marks, size, [{ deps: ops[0].deps!, map: broadcastMap(ops[0].shape, outShape) }]);
    case 'slice': {
      const s = stridesOf(ops[0].shape);
      const offset = (params.begin as number[]).reduce((acc, b, i) => acc + b * s[i], 0);
      return union(marks, size, [{ deps: ops[0].deps!, map: stridedMap(outShape, s, offset) }]);
    }
    case 'pad': {
      const s = stridesOf(outShape);
      const offset = (params.widths as [number, number][]).reduce((acc, [lo], i) => acc + lo * s[i], 0);
      return union(marks, size, [{ deps: ops[0].deps!, map: scatterMap(size, ops[0].shape, s, offset) }]);
    }
    case 'concat': {
      const axis = params.axis as number, s = stridesOf(outShape);
      let start = 0;
      const parts: Part[] = [];
      for (const o of ops) {
        if (o.deps) parts.push({ deps: o.deps, map: scatterMap(size, o.shape, s, start * s[axis]) });
        start += o.shape[axis];
      }
      return union(marks, size, parts);
    }
    case 'matmul':
      return matmulDeps(marks, ops, outShape, params as unknown as { transA: boolean; transB: boolean });
    default:
      return denseDeps(marks, traced, size);
  }
}

/** The inverse of placing `inShape` into an output with `strides` at `offset`: -1 where nothing lands. */
function scatterMap(size: number, inShape: readonly number[], strides: readonly number[], offset: number): Int32Array {
  const map = new Int32Array(size).fill(-1);
  stridedMap(inShape, strides, offset).forEach((pos, e) => (map[pos] = e));
  return map;
}

function reduceDeps(marks: Marks, x: Operand, axes: number[]): DepSets {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outSize = sizeOf(kept);
  const target = stridedMap(x.shape, stridesOf(kept).map((s, i) => (axes.includes(i) ? 0 : s)));
  // Group the input elements by the output element they reduce into (a counting sort).
  const start = new Int32Array(outSize + 1);
  for (let e = 0; e < target.length; e++) start[target[e] + 1]++;
  for (let o = 0; o < outSize; o++) start[o + 1] += start[o];
  const fill = start.slice(0, outSize);
  const order = new Int32Array(target.length);
  for (let e = 0; e < target.length; e++) order[fill[target[e]]++] = e;
  const b = new SetBuilder(marks, outSize);
  for (let o = 0; o < outSize; o++) {
    for (let k = start[o]; k < start[o + 1]; k++) b.add(x.deps!, order[k]);
    b.end();
  }
  return b.done();
}

// out[t, i, j] = sum_l A[t, i, l] B[t, l, j]: the union over l, skipping terms whose constant
// factor is exactly zero (so a constant sparse matrix keeps its structure).
function matmulDeps(marks: Marks, [a, b]: Operand[], outShape: readonly number[], { transA, transB }: { transA: boolean; transB: boolean }): DepSets {
  const ra = a.shape.length, rb = b.shape.length, ro = outShape.length;
  const m = outShape[ro - 2], n = outShape[ro - 1], kk = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const batch = outShape.slice(0, -2);
  const mapA = broadcastMap(a.shape.slice(0, -2), batch), mapB = broadcastMap(b.shape.slice(0, -2), batch);
  const va = a.deps ? null : a.value.data(), vb = b.deps ? null : b.value.data();
  const count = sizeOf(batch);
  const builder = new SetBuilder(marks, sizeOf(outShape));
  for (let t = 0; t < count; t++) {
    const offA = (mapA ? mapA[t] : t) * m * kk, offB = (mapB ? mapB[t] : t) * kk * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        for (let l = 0; l < kk; l++) {
          const ia = offA + (transA ? l * m + i : i * kk + l);
          const ib = offB + (transB ? j * kk + l : l * n + j);
          if ((va && va[ia] === 0) || (vb && vb[ib] === 0)) continue;
          if (a.deps) builder.add(a.deps, ia);
          if (b.deps) builder.add(b.deps, ib);
        }
        builder.end();
      }
    }
  }
  return builder.done();
}

/** A primitive this file does not know: every output element may depend on every input element (safe, maybe wasteful). */
function denseDeps(marks: Marks, traced: Operand[], size: number): DepSets {
  const all = new SetBuilder(marks, 1);
  for (const o of traced) for (let e = 0; e < o.deps!.ptr.length - 1; e++) all.add(o.deps!, e);
  all.end();
  const set = all.done().idx;
  if (set.length * size > MAX_ENTRIES) tooDense(set.length * size);
  const ptr = new Int32Array(size + 1);
  for (let e = 0; e <= size; e++) ptr[e] = e * set.length;
  const idx = new Int32Array(size * set.length);
  for (let e = 0; e < size; e++) idx.set(set, e * set.length);
  return new DepSets(ptr, idx);
}

class DepTracer extends Tracer {
  constructor(readonly trace: DepTrace, readonly primal: Tensor, readonly deps: DepSets) {
    super();
  }

  parts(): Tensor[] {
    return [this.primal];
  }
}

/** Runs ops on primals and propagates dependency sets alongside. */
class DepTrace extends Trace {
  readonly marks: Marks;
  constructor(level: number, inputs: number) {
    super(level, 'sparsity');
    this.marks = new Marks(inputs);
  }

  process<P>(prim: Primitive<P>, inputs: Tensor[], params: P): Tensor {
    const ops: Operand[] = inputs.map((x) => {
      const own = x instanceof DepTracer && x.trace === this;
      const value = own ? x.primal : x;
      return { deps: own ? x.deps : null, shape: value.shape, value };
    });
    const out = bind(prim, ops.map((o) => o.value), params);
    return new DepTracer(this, out, propagate(this.marks, prim.name, ops, out.shape, params as Params));
  }
}

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
      const ptr = new Int32Array(n + 1);
      for (let i = 0; i <= n; i++) ptr[i] = i;
      y = singleOutput(op, f(new DepTracer(trace, x, new DepSets(ptr, ptr.subarray(0, n))), ...rest));
    } finally {
      popTrace(trace);
    }
    const deps = y instanceof DepTracer && y.trace === trace ? y.deps : DepSets.empty(y.size);
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
