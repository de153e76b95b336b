// Shared vmap rules. A primitive's `batch` rule maps it over a batch axis of its inputs; most
// families share one of the shapes below. Rules are written with public ops and bind, so they
// compose with every transform (vmap of grad, grad of vmap, nested vmaps).
import type { BatchRule } from '../core/primitive.js';
import { bind } from '../core/trace.js';
import type { Tensor } from '../tensor/tensor.js';
import { reshape, transpose } from './shape.js';
import { broadcastTo } from './sum.js';

export { batchInPlace, batchReduce, batchSame, valueAxis } from '../core/batch-axes.js';

/** `x` with its axis `from` moved to position `to` (the other axes keep their order). */
export function moveAxis(x: Tensor, from: number, to: number): Tensor {
  if (from === to) return x;
  const perm = x.shape.map((_, i) => i).filter((i) => i !== from);
  perm.splice(to, 0, from);
  return transpose(x, perm);
}

/**
 * The rule of an elementwise primitive whose operands broadcast against each other: batched
 * operands get their batch axis first and size-1 axes after it up to the output's rank, so that
 * NumPy broadcasting lines the examples up; unbatched operands broadcast over the batch as
 * they are. The output's batch axis is 0.
 */
export function batchBroadcasting<P = Record<string, never>>(): BatchRule<P> {
  return ({ inputs, axes, params, prim }) => ({ out: bind(prim, lineUp(inputs, axes), params), axis: 0 });
}

/**
 * Operands lined up for NumPy broadcasting over the batch: batched ones get their batch axis
 * first and size-1 axes after it up to the largest per-example rank; shared ones are as they are.
 */
export function lineUp(inputs: readonly Tensor[], axes: readonly (number | null)[]): Tensor[] {
  const rank = Math.max(...inputs.map((x, i) => x.ndim - (axes[i] === null ? 0 : 1)));
  return inputs.map((x, i) => {
    if (axes[i] === null) return x;
    const first = moveAxis(x, axes[i] as number, 0);
    const rest = first.shape.slice(1);
    return rest.length === rank ? first : reshape(first, [first.shape[0], ...new Array<number>(rank - rest.length).fill(1), ...rest]);
  });
}

/** Every input with its batch axis first; unbatched inputs are broadcast over the batch. */
export function batchAllFirst(inputs: readonly Tensor[], axes: readonly (number | null)[], size: number): Tensor[] {
  return inputs.map((x, i) => (axes[i] === null ? broadcastTo(x, [size, ...x.shape]) : moveAxis(x, axes[i] as number, 0)));
}

/** The rule of a primitive whose batched form is itself with the batch axis first on every input (atan2, concat). */
export function batchFirstWith<P = Record<string, never>>(rewrite: (params: P) => P = (p) => p): BatchRule<P> {
  return ({ inputs, axes, size, params, prim }) => ({ out: bind(prim, batchAllFirst(inputs, axes, size), rewrite(params)), axis: 0 });
}

/**
 * The rule of a one-input op on matrices [..., m, n] that maps over leading axes (inv, det,
 * cholesky, the decompositions): a batch axis among the leading axes stays where it is and the
 * op runs once; one among the matrix axes is moved first.
 */
export function batchMatrix<P = Record<string, never>>(): BatchRule<P> {
  return ({ inputs: [x], axes: [b], params, prim }) => {
    const at = b as number;
    if (at < x.ndim - 2) return { out: bind(prim, [x], params), axis: at };
    return { out: bind(prim, [moveAxis(x, at, 0)], params), axis: 0 };
  };
}

/**
 * The rule of a solve with a matrix [n, n] and right-hand sides [n, m] (solve, triangular
 * solve): a shared matrix against batched right-hand sides is one solve with the examples as
 * extra columns ([n, B*m]: one factorisation, not one per example); otherwise the batch
 * broadcasts over the leading axes.
 */
export function batchSolve<P>(): BatchRule<P> {
  const broadcasting = batchBroadcasting<P>();
  return (args) => {
    const { inputs: [a, b], axes: [ba, bb], size, params, prim } = args;
    if (ba !== null || a.ndim !== 2 || bb === null || b.ndim !== 3) return broadcasting(args);
    const columns = moveAxis(b, bb, 1);
    const [n, , m] = columns.shape;
    const out = bind(prim, [a, reshape(columns, [n, size * m])], params);
    return { out: reshape(out, [n, size, m]), axis: 1 };
  };
}
