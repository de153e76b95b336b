// The objective minimize works on: a parameter tree seen as one float64 vector. Each
// evaluation rebuilds the tree's tensors from the vector, runs valueAndGrad in a scope of its
// own and reads the value and gradient back, so nothing it allocates outlives the call.
import { ArgumentError, DTypeError } from '../errors.js';
import { array } from '../tensor/create.js';
import { Tensor, type DType } from '../tensor/tensor.js';
import { toTensor } from '../ops/convert.js';
import { flatten, rebuild, type TreeDef } from '../tree.js';
import { valueAndGrad } from '../transforms/grad.js';
import { scoped } from '../transforms/util.js';

interface LeafLayout {
  shape: readonly number[];
  dtype: DType;
  offset: number;
  size: number;
}

export interface Evaluation {
  f: number;
  g: Float64Array;
}

export class Objective {
  evaluations = 0;
  readonly n: number;
  readonly x0: Float64Array;
  private readonly def: TreeDef;
  private readonly leaves: LeafLayout[];

  constructor(private readonly op: string, private readonly f: (x: any) => unknown, x0: unknown) {
    const { leaves, def } = flatten(x0, `${op}: x0`);
    this.def = def;
    let offset = 0;
    const tensors = leaves.map((l) => toTensor(op, l));
    this.leaves = tensors.map((t) => {
      const layout = { shape: t.shape, dtype: t.dtype, offset, size: t.size };
      offset += t.size;
      return layout;
    });
    this.n = offset;
    this.x0 = new Float64Array(offset);
    tensors.forEach((t, i) => this.x0.set(t.data(), this.leaves[i].offset));
    if (this.n === 0) throw new ArgumentError(`${op}: x0 holds no values to optimize.`);
  }

  /** The parameter tree for the vector x, as new tensors in the current scope. */
  tree(x: Float64Array): unknown {
    return rebuild(this.def, this.leaves.map((l) => array(x.subarray(l.offset, l.offset + l.size), { shape: l.shape, dtype: l.dtype })));
  }

  /** f and its gradient at x. */
  at(x: Float64Array): Evaluation {
    this.evaluations++;
    return scoped(() => {
      const [value, grads] = valueAndGrad(this.f as (x: Tensor) => Tensor)(this.tree(x) as Tensor);
      const g = new Float64Array(this.n);
      flatten(grads).leaves.forEach((leaf, i) => {
        const t = toTensor(this.op, leaf);
        if (t.dtype !== this.leaves[i].dtype) throw new DTypeError(`${this.op}: the gradient of leaf ${i} is ${t.dtype}, the parameter ${this.leaves[i].dtype}.`);
        g.set(t.data(), this.leaves[i].offset);
      });
      return { f: value.item(), g };
    });
  }
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** out = x + alpha * d (out may be a fresh array). */
export function axpy(x: Float64Array, alpha: number, d: Float64Array, out = new Float64Array(x.length)): Float64Array {
  for (let i = 0; i < x.length; i++) out[i] = x[i] + alpha * d[i];
  return out;
}

export function maxAbs(g: Float64Array): number {
  let m = 0;
  for (let i = 0; i < g.length; i++) {
    const a = Math.abs(g[i]);
    if (a > m || Number.isNaN(a)) m = a;
  }
  return m;
}

export function norm2(v: Float64Array): number {
  return Math.sqrt(dot(v, v));
}
