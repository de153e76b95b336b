// Batch rules that only rewrite axis parameters: the op runs once on the batched value, told
// to skip its batch axis, so nothing is moved or copied. They need nothing but bind, so every
// op family can use them (ops/batching.ts has the rules that move axes with shape ops).
import type { BatchRule } from './primitive.js';
import { bind } from './trace.js';

/** Per-example axis `a` as an axis of a batched value whose batch axis is `b`. */
export function valueAxis(a: number, b: number): number {
  return a < b ? a : a + 1;
}

/**
 * The rule of a one-input op that works along some axes and carries the others through
 * (reductions, transpose, slice, pad, flip, cumsum): it runs once on the batched value with
 * its params rewritten to skip the batch axis `b`, so nothing is moved or copied. `axis` gives
 * the output's batch axis (default: where it was).
 */
export function batchInPlace<P>(rewrite: (params: P, b: number, size: number) => P,
  axis: (params: P, b: number) => number = (_, b) => b): BatchRule<P> {
  return ({ inputs: [x], axes: [b], size, params, prim }) => ({ out: bind(prim, [x], rewrite(params, b as number, size)), axis: axis(params, b as number) });
}

/** The rule of a reduction over `axes` (keepdims or not): the batch axis is skipped and kept. */
export function batchReduce<P extends { axes: number[]; keepdims: boolean }>(): BatchRule<P> {
  return batchInPlace((p, b) => ({ ...p, axes: p.axes.map((a) => valueAxis(a, b)) }),
    (p, b) => (p.keepdims ? b : b - p.axes.filter((a) => a < b).length));
}


/** The rule of an op applied to each element (one input, same shape): it runs on the batched value as it is. */
export function batchSame<P = Record<string, never>>(): BatchRule<P> {
  return ({ inputs, axes, params, prim }) => ({ out: bind(prim, inputs, params), axis: axes[0] });
}
