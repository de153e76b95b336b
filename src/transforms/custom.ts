// Custom derivative rules. customJvp supplies the forward rule; under reverse mode its
// transpose is obtained by pulling back through the (linear) tangent map the rule defines.
// customVjp supplies fwd/bwd for reverse mode; under forward mode f itself is differentiated.
import { topTrace } from '../core/trace.js';
import { ArgumentError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { zeros } from '../tensor/create.js';
import { toTensor } from '../ops/convert.js';
import { reshape, slice, stack } from '../ops/shape.js';
import { JvpTrace } from './forward.js';
import { TapeTrace } from './reverse.js';
import { vjp } from './grad.js';
import { checkFunction } from './util.js';

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

/**
 * f with a user-supplied forward rule: rule(primals, tangents) returns [out, tangentOut].
 * Works under jvp, grad (the rule is transposed automatically) and any nesting.
 * @example
 * const f = customJvp((x, y) => sin(x).mul(y),
 *   ([x, y], [dx, dy]) => [sin(x).mul(y), cos(x).mul(dx).mul(y).add(sin(x).mul(dy))]);
 * jvp(f, [2, 3], [1, 0]) // [2.7278922, -1.2484405]
 */
export function customJvp(f: TensorFn, rule: (primals: Tensor[], tangents: Tensor[]) => [Tensor, Tensor]): (...args: (Tensor | number)[]) => Tensor {
  checkFunction('customJvp', f);
  checkFunction('customJvp', rule);
  const op = 'customJvp';
  const g = (...args: (Tensor | number)[]): Tensor => {
    const xs = args.map((a) => toTensor(op, a));
    const top = topTrace(op, xs);
    if (top instanceof JvpTrace) {
      const { primals, tangents } = top.unpack(xs);
      const out = asTensorOutput(op, g(...primals));
      const t = byRows(top.chunk, (j) => {
        const dirs = tangents.map((tan, i) => (tan ? row(tan, j) : zeros(primals[i].shape, { dtype: primals[i].dtype })));
        return asTensorOutput(op, rule(primals, dirs)[1]);
      });
      return top.wrap(out, t);
    }
    if (top instanceof TapeTrace) {
      const primals = top.unpack(xs);
      const out = asTensorOutput(op, g(...primals));
      // The rule's tangent map is linear in the tangents, so its transpose at a cotangent is
      // the pullback of that map (taken at zero tangents).
      const transpose = {
        name: 'custom_jvp',
        saves: [],
        vjp: ({ ct }: { ct: Tensor }) => {
          const zerosIn = primals.map((p) => zeros(p.shape, { dtype: p.dtype }));
          const [, pullback] = vjp((...ts: Tensor[]) => asTensorOutput(op, rule(primals, ts)[1]), ...zerosIn);
          const perInput = primals.map((_, i) => byRows(ct.shape[0], (j) => pullback(row(ct, j))[i] as Tensor));
          return perInput;
        },
      };
      return top.record(transpose, {}, xs, primals, out);
    }
    return asTensorOutput(op, f(...xs));
  };
  return g;
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
      const rule = {
        name: 'custom_vjp',
        saves: [],
        vjp: ({ ct }: { ct: Tensor }) => {
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
        },
      };
      return top.record(rule, {}, xs, primals, out);
    }
    // No reverse-mode trace on top: evaluate f (forward mode differentiates f itself).
    return asTensorOutput(op, f(...xs));
  };
  return g;
}
