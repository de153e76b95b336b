// Sparsity detection for sparse Jacobians (sparse.ts): a trace whose values carry, per element,
// the sorted set of input elements it depends on. Running f once under it gives the Jacobian's
// structural pattern without computing a derivative. Sets propagate by the sparsity each
// primitive declares: elementwise ops union broadcast-aligned elements, and structured ops
// (reductions, shape ops, products, linear algebra) combine the building blocks of the
// dependency algebra below; a constant operand that is exactly zero in mul or matmul, or a
// constant where-condition, cuts a dependence.
import { bind, Trace, Tracer } from '../core/trace.js';
import type { Aval, DependencyAlgebra, DepSetsLike, Primitive, SparseOperand } from '../core/primitive.js';
import { ArgumentError } from '../errors.js';
import { shapesEqual, sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Dependency sets per element: element e depends on inputs idx[ptr[e]], ..., idx[ptr[e+1] - 1] (sorted). */
export class DepSets {
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

type Operand = SparseOperand & { deps: DepSets | null };

/** The dependency sets of a primitive's output, by the sparsity the primitive declares. */
function propagate<P>(marks: Marks, prim: Primitive<P>, ops: Operand[], out: Aval, params: P): DepSets {
  const size = sizeOf(out.shape);
  const rule = prim.sparsity;
  if (rule === 'none') return DepSets.empty(size);
  const traced = ops.filter((o) => o.deps !== null);
  if (rule === 'dense') return denseDeps(marks, traced, size);
  if (rule === 'elementwise') {
    if (ops.length === 1) return ops[0].deps!;
    return union(marks, size, traced.map((o) => ({ deps: o.deps!, map: broadcastMap(o.shape, out.shape) })));
  }
  return rule(algebraOf(marks), { inputs: ops, out, params }) as DepSets;
}

function algebraOf(marks: Marks): DependencyAlgebra {
  return {
    union: (parts, size) => union(marks, size, parts as Part[]),
    build(size, fill) {
      const b = new SetBuilder(marks, size);
      const add = (deps: DepSetsLike, element: number) => b.add(deps as DepSets, element);
      for (let e = 0; e < size; e++) {
        fill(e, add);
        b.end();
      }
      return b.done();
    },
    reduce: (x, axes) => reduceDeps(marks, x as Operand, [...axes]),
    stridedMap,
    scatterMap,
    broadcastMap,
    dense: (traced, size) => denseDeps(marks, traced as Operand[], size),
  };
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

/** Every output element may depend on every traced input element. */
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
export class DepTrace extends Trace {
  readonly marks: Marks;
  constructor(level: number, inputs: number) {
    super(level, 'sparsity');
    this.marks = new Marks(inputs);
  }

  /** x as the traced input: element i depends on input element i alone. */
  input(x: Tensor): Tensor {
    const n = x.size;
    const ptr = new Int32Array(n + 1);
    for (let i = 0; i <= n; i++) ptr[i] = i;
    return new DepTracer(this, x, new DepSets(ptr, ptr.subarray(0, n)));
  }

  /** The dependency sets of a value f returned: none for a value that does not come from this trace's input. */
  dependencies(y: Tensor): DepSets {
    return y instanceof DepTracer && y.trace === this ? y.deps : DepSets.empty(y.size);
  }

  process<P>(prim: Primitive<P>, inputs: Tensor[], params: P): Tensor {
    const ops: Operand[] = inputs.map((x) => {
      const own = x instanceof DepTracer && x.trace === this;
      const value = own ? x.primal : x;
      return { deps: own ? x.deps : null, shape: value.shape, value };
    });
    const out = bind(prim, ops.map((o) => o.value), params);
    return new DepTracer(this, out, propagate(this.marks, prim, ops, out, params));
  }
}
