// Custom derivative rules. customJvp supplies the forward rule; under reverse mode its
// transpose is obtained by pulling back through the (linear) tangent map the rule defines.
// customVjp supplies fwd/bwd for reverse mode; under forward mode f itself is differentiated.
import { definePrimitive, type Aval } from '../core/primitive.js';
import { bind, topTrace } from '../core/trace.js';
import { abstractCall } from '../staging/trace.js';
import { ArgumentError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { zeros } from '../tensor/create.js';
import { toTensor } from '../ops/convert.js';
import { reshape, slice, stack } from '../ops/shape.js';
import { TapeTrace } from './reverse.js';
import { vjp } from './grad.js';
import { jvp } from './jvp.js';
import { checkFunction } from './util.js';
import { moveAxis } from '../ops/batching.js';
import { sum } from '../ops/sum.js';
import { vmap } from './vmap.js';

type TensorFn = (...args: Tensor[]) => Tensor;

/** Applies `perRow` to each of the k rows of a chunked value and stacks the results. */
function byRows(rows: number, perRow: (row: number) => Tensor): Tensor {
  if (rows === 1) {
    const r = perRow(0);
    return reshape(r, [1, ...r.shape]);
  }
  return stack(Array.from({ length: rows }, (_, j) => perRow(j)), 0);
}

function row(t: Tensor, j: number): Tensor {
  return reshape(slice(t, [j, ...t.shape.slice(1).map(() => 0)], [1, ...t.shape.slice(1)]), t.shape.slice(1));
}

function asTensorOutput(op: string, y: unknown): Tensor {
  if (y instanceof Tensor) return y;
  if (typeof y === 'number') return toTensor(op, y);
  throw new ArgumentError(`${op}: the function must return one tensor (or number), got ${Array.isArray(y) ? 'an array' : typeof y}.`);
}

type JvpRuleFn = (primals: Tensor[], tangents: Tensor[]) => [Tensor, Tensor];

interface CustomJvpParams {
  f: TensorFn;
  rule: JvpRuleFn;
}

/** The output's shape and dtype from f, traced abstractly (nothing runs). */
function customShape(op: string, f: TensorFn, inputs: readonly Aval[]): Aval {
  const avals = abstractCall(op, f, inputs);
  if (avals.length !== 1) throw new ArgumentError(`${op}: the function must return one tensor, got ${avals.length} values.`);
  return avals[0];
}

/**
 * A forward rule applied direction by direction: `tangentOf` gets one tangent per input for
 * each of the k directions (zeros where an input has none); the results are stacked.
 */
function perDirection(inputs: Tensor[], tangents: (Tensor | null)[], tangentOf: (dirs: Tensor[]) => Tensor): Tensor {
  const k = tangents.find((t) => t !== null)?.shape[0] ?? 1;
  return byRows(k, (j) => tangentOf(tangents.map((tan, i) => (tan ? reshape(row(tan, j), inputs[i].shape) : zeros(inputs[i].shape, { dtype: inputs[i].dtype })))));
}

// A call of a function with a custom forward rule, as one primitive: in a staged program it
// stays one equation that keeps its rule. Its transpose pulls back through the rule's tangent
// map, which is linear in the tangents (taken at zero tangents).
const customJvpP = definePrimitive<CustomJvpParams>({
  name: 'custom_jvp',
  // Batched: the same call with f and the rule mapped over the batch (so the rule is kept).
  batch: ({ inputs, axes, params: { f, rule }, prim }) => ({
    out: bind(prim, inputs, { f: vmap(f, { inAxes: [...axes] }), rule: (ps, ts) => vmap((p: Tensor[], t: Tensor[]) => rule(p, t), { inAxes: [[...axes], [...axes]] })(ps, ts) }),
    axis: 0,
  }),
  integer: true,
  impl: (xs, { f }) => asTensorOutput('customJvp', f(...xs)).dense(),
  shape: (inputs, { f }) => customShape('customJvp', f, inputs),
  saves: 'all',
  sparsity: 'dense',
  jvp: ({ inputs, tangents, params: { rule } }) => perDirection(inputs, tangents, (dirs) => asTensorOutput('customJvp', rule(inputs, dirs)[1])),
  vjp: ({ ct, inputs, params: { rule } }) => {
    const primals = [...inputs];
    const zerosIn = primals.map((p) => zeros(p.shape, { dtype: p.dtype }));
    const [, pullback] = vjp((...ts: Tensor[]) => asTensorOutput('customJvp', rule(primals, ts)[1]), ...zerosIn);
    return primals.map((_, i) => byRows(ct.shape[0], (j) => pullback(row(ct, j))[i] as Tensor));
  },
});

/**
 * f with a user-supplied forward rule: rule(primals, tangents) returns [out, tangentOut].
 * Works under jvp, grad (the rule is transposed automatically), jit (the rule is kept in the
 * program) and any nesting.
 * @example
 * const f = customJvp((x, y) => sin(x).mul(y),
 *   ([x, y], [dx, dy]) => [sin(x).mul(y), cos(x).mul(dx).mul(y).add(sin(x).mul(dy))]);
 * jvp(f, [2, 3], [1, 0]) // [2.7278922, -1.2484405]
 */
export function customJvp(f: TensorFn, rule: JvpRuleFn): (...args: (Tensor | number)[]) => Tensor {
  checkFunction('customJvp', f);
  checkFunction('customJvp', rule);
  return (...args: (Tensor | number)[]): Tensor => bind(customJvpP, args.map((a) => toTensor('customJvp', a)), { f, rule });
}

/**
 * f with a user-supplied reverse rule, like a torch.autograd.Function: fwd(...primals)
 * returns [out, residuals] and bwd(residuals, cotangent) returns one cotangent per input.
 * @example
 * const myExp = customVjp((x) => exp(x), (x) => { const y = exp(x); return [y, y]; },
 *   (y, g) => [g.mul(y)]);
 */
export function customVjp<R>(f: TensorFn, fwd: (...primals: Tensor[]) => [Tensor, R], bwd: (residuals: R, cotangent: Tensor) => (Tensor | null)[]): (...args: (Tensor | number)[]) => Tensor {
  checkFunction('customVjp', f);
  checkFunction('customVjp', fwd);
  checkFunction('customVjp', bwd);
  const op = 'customVjp';
  const g = (...args: (Tensor | number)[]): Tensor => {
    const xs = args.map((a) => toTensor(op, a));
    const top = topTrace(op, xs);
    if (top instanceof TapeTrace) {
      const primals = top.unpack(xs);
      const [outRaw, residuals] = fwd(...primals);
      const out = asTensorOutput(op, outRaw);
      const rule = { name: 'custom_vjp', saves: [], vjp: ({ ct }: { ct: Tensor }) => pullRows(op, bwd as CustomVjpParams['bwd'], residuals, ct, primals) };
      return top.record(rule, {}, xs, primals, out);
    }
    // No reverse-mode trace on top: one primitive (forward mode differentiates f itself; in a
    // staged program the equation keeps fwd and bwd).
    return bind(customVjpP, xs, { f, fwd, bwd } as CustomVjpParams);
  };
  return g;
}

interface CustomVjpParams {
  f: TensorFn;
  fwd: (...primals: Tensor[]) => [Tensor, unknown];
  bwd: (residuals: unknown, cotangent: Tensor) => (Tensor | null)[];
}

/** The k rows of bwd's cotangents, one per input (null where bwd gave none for every row). */
function pullRows(op: string, bwd: CustomVjpParams['bwd'], residuals: unknown, ct: Tensor, primals: readonly Tensor[]): (Tensor | null)[] {
  const rows = Array.from({ length: ct.shape[0] }, (_, j) => {
    const cts = bwd(residuals, row(ct, j));
    if (!Array.isArray(cts) || cts.length !== primals.length) {
      throw new ArgumentError(`${op}: bwd must return an array with one cotangent per input (${primals.length}), got ${Array.isArray(cts) ? cts.length : typeof cts}.`);
    }
    return cts;
  });
  return primals.map((p, i) => {
    if (rows.every((r) => r[i] === null)) return null;
    return byRows(rows.length, (j) => rows[j][i] ?? zeros(p.shape, { dtype: p.dtype }));
  });
}

// A call of a function with custom fwd/bwd, as one primitive (outside a tape: in a staged
// program, or under forward mode, which differentiates f itself). Replayed on a tape, its rule
// runs fwd again in the backward sweep to get the residuals.
const customVjpP = definePrimitive<CustomVjpParams>({
  name: 'custom_vjp',
  // Batched: f, fwd and bwd mapped over the batch; a shared input's cotangent sums over it.
  batch: ({ inputs, axes, params: { f, fwd, bwd }, prim }) => {
    const inAxes = [...axes];
    const batchedBwd = (residuals: unknown, ct: Tensor) => vmap((r: unknown, c: Tensor) => bwd(r, c), { inAxes: [0, 0] })(residuals, ct)
      .map((c, i) => (c === null ? null : axes[i] === null ? sum(c, 0) : moveAxis(c, 0, axes[i] as number)));
    return { out: bind(prim, inputs, { f: vmap(f, { inAxes }), fwd: vmap(fwd, { inAxes }), bwd: batchedBwd }), axis: 0 };
  },
  integer: true,
  impl: (xs, { f }) => asTensorOutput('customVjp', f(...xs)).dense(),
  shape: (inputs, { f }) => customShape('customVjp', f, inputs),
  saves: 'all',
  sparsity: 'dense',
  jvp: ({ inputs, tangents, params: { f } }) => perDirection(inputs, tangents, (dirs) => jvp((...xs: Tensor[]) => f(...xs), inputs, dirs)[1] as Tensor),
  vjp: ({ ct, inputs, params: { fwd, bwd } }) => pullRows('customVjp', bwd, fwd(...inputs)[1], ct, inputs),
});
