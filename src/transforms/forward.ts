// Forward mode: dual numbers. A Dual carries its primal and a tangent with a leading chunk
// axis of k directions, so one pass pushes k directions through every op (jacfwd uses this to
// take ceil(n/k) passes). Nested jvp stays correct because every jvp call owns its own level.
import type { Primitive } from '../core/primitive.js';
import { fusedKernels } from '../core/fusion.js';
import { Trace, Tracer, bind } from '../core/trace.js';
import { shapesEqual } from '../tensor/shape.js';
import { DenseTensor, type Tensor } from '../tensor/tensor.js';
import { astype } from '../ops/convert.js';
import { reshape } from '../ops/shape.js';
import { broadcastTo } from '../ops/sum.js';

export class Dual extends Tracer {
  constructor(readonly trace: JvpTrace, readonly primal: Tensor, readonly tangent: Tensor | null) {
    super();
  }

  parts(): Tensor[] {
    return this.tangent ? [this.primal, this.tangent] : [this.primal];
  }
}

/** Reshapes a chunked tangent [k, ...s] to [k, 1, ..., 1, ...s] of rank `rank` + 1. */
export function alignRank(t: Tensor, rank: number): Tensor {
  const missing = rank + 1 - t.ndim;
  if (missing <= 0) return t;
  return reshape(t, [t.shape[0], ...new Array<number>(missing).fill(1), ...t.shape.slice(1)]);
}

export class JvpTrace extends Trace {
  constructor(level: number, readonly chunk: number) {
    super(level, 'jvp');
  }

  unpack(inputs: readonly Tensor[]): { primals: Tensor[]; tangents: (Tensor | null)[]; any: boolean } {
    const primals: Tensor[] = [];
    const tangents: (Tensor | null)[] = [];
    let any = false;
    for (const x of inputs) {
      if (x instanceof Dual && x.trace === this) {
        primals.push(x.primal);
        tangents.push(x.tangent);
        any ||= x.tangent !== null;
      } else {
        primals.push(x);
        tangents.push(null);
      }
    }
    return { primals, tangents, any };
  }

  /** Wraps `out` with tangent `t`, brought to shape [k, ...out.shape] and out's dtype. */
  wrap(out: Tensor, t: Tensor | null): Tensor {
    // int32 values (indices, argmax, comparisons of ints) are constants: no tangent.
    if (t === null || out.dtype === 'int32') return out;
    const shape = [this.chunk, ...out.shape];
    if (!shapesEqual(t.shape, shape)) t = broadcastTo(alignRank(t, out.ndim), shape);
    if (t.dtype !== out.dtype) t = astype(t, out.dtype);
    return new Dual(this, out, t);
  }

  process<P>(prim: Primitive<P>, inputs: Tensor[], params: P): Tensor {
    const { primals, tangents, any } = this.unpack(inputs);
    if (any && prim.dual && fusedKernels.enabled) {
      const fused = this.fused(prim, primals, tangents, params);
      if (fused) {
        fusedKernels.calls++;
        return new Dual(this, fused[0], fused[1]);
      }
    }
    const out = bind(prim, primals, params);
    if (!any) return out;
    const aligned = prim.broadcasts ? tangents.map((t) => t && alignRank(t, out.ndim)) : tangents;
    return this.wrap(out, prim.jvp({ inputs: primals, tangents: aligned, out, params }));
  }

  /** The primitive's fused kernel, when every primal and tangent is concrete and dtypes agree. */
  private fused<P>(prim: Primitive<P>, primals: Tensor[], tangents: (Tensor | null)[], params: P) {
    for (let i = 0; i < primals.length; i++) {
      const x = primals[i], t = tangents[i];
      if (!(x instanceof DenseTensor)) return null;
      if (t !== null && (!(t instanceof DenseTensor) || t.dtype !== x.dtype)) return null;
    }
    return prim.dual!(primals as DenseTensor[], tangents as (DenseTensor | null)[], this.chunk, params);
  }
}
