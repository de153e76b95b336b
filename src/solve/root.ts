// Root finding with implicit differentiation. The iterations run on concrete values only; the
// root x*(p) of F(x*, p) = 0 is differentiated by the implicit function theorem,
//   dx* = -(dF/dx)^{-1} (dF/dp dp),   p_bar = -(dF/dp)^T (dF/dx)^{-T} x_bar,
// routed on the innermost transform as customJvp/customVjp are: under a JvpTrace the tangent
// costs one forward pass through F in p and one linear solve; under a TapeTrace one node is
// recorded whose vjp solves the transposed system and pulls back through F in p. Both are
// built from differentiable ops at the lower levels, so derivatives of any order nest.
import { Tracer, topTrace } from '../core/trace.js';
import { ArgumentError, ConcretizationError, ConvergenceError, DifferentiationError, ShapeError, fmtShape } from '../errors.js';
import { scalar } from '../tensor/create.js';
import { shapesEqual } from '../tensor/shape.js';
import { Tensor, type DType } from '../tensor/tensor.js';
import { resultDType, toTensor, type TensorLike } from '../ops/convert.js';
import { div, neg, sub } from '../ops/elementwise.js';
import { solveMatrix } from '../ops/linalg.js';
import { reshape, slice, stack, transpose } from '../ops/shape.js';
import { flatten, rebuild, type Tree } from '../tree.js';
import { JvpTrace } from '../transforms/forward.js';
import { TapeTrace } from '../transforms/reverse.js';
import { jacfwd, pushForward } from '../transforms/jvp.js';
import { vjp } from '../transforms/grad.js';
import { checkFunction, scoped } from '../transforms/util.js';
import { BatchTrace } from '../transforms/batch.js';

// Defined with the other error classes; re-exported here, where src/index.ts takes it from.

/** A params tree as the solved function receives it: number leaves arrive as tensors. */
export type TensorTree<P> = P extends Tensor | number ? Tensor
  : P extends null | undefined ? P
    : { [K in keyof P]: TensorTree<P[K]> };

/** F (or T) as a function of x and the flat param leaves, checked to return x's shape. */
export type Residual = (x: Tensor, leaves: Tensor[]) => Tensor;

// int32 parameters are refused before these are read; the entry keeps the table total.
export const MACHINE_EPS: Record<DType, number> = { float64: 2 ** -52, float32: 2 ** -23, int32: 2 ** -52 };

/** The params as tensor leaves of one dtype, and the user function over them. */
export function prepare(op: string, f: (x: Tensor, params: never) => TensorLike, params: Tree) {
  checkFunction(op, f);
  const { leaves, def } = flatten(params, `${op}: params`);
  const dtype = resultDType(leaves);
  const tensors = leaves.map((l) => toTensor(op, l, dtype));
  const call: Residual = (x, ls) => {
    const y = f(x, rebuild<never>(def, ls));
    const out = y instanceof Tensor ? y : typeof y === 'number' ? toTensor(op, y, x.dtype) : null;
    if (out === null) throw new ArgumentError(`${op}: the function must return a tensor (or number) shaped like x, got ${y === null ? 'null' : Array.isArray(y) ? 'an array' : typeof y}.`);
    if (!shapesEqual(out.shape, x.shape)) {
      throw new ShapeError(`${op}: the function must return the shape of x, ${fmtShape(x.shape)}, got ${fmtShape(out.shape)}; the system must be square.`);
    }
    return out;
  };
  return { tensors, dtype, call };
}

/** Evaluates `g` on concrete values, refusing a traced result (F closed over a tracer). */
export function concreteValue(op: string, g: Residual, x: Tensor, leaves: Tensor[]): Tensor {
  const y = g(x, leaves);
  if (y instanceof Tracer) {
    throw new DifferentiationError(`${op}: the function returned a traced value for concrete x and params, so it closes over a value a transform is differentiating. Pass that value in params: only params are differentiated, through the implicit function theorem.`);
  }
  return y;
}

/** The largest |entry| of a concrete tensor. */
export function maxAbs(x: Tensor): number {
  let m = 0;
  for (const v of x.data()) m = Math.max(m, Math.abs(v));
  return m;
}

/** Whether a one-element value is 0; false for a traced one (its value is not known here). */
function isZero(x: Tensor): boolean {
  try {
    return x.item() === 0;
  } catch (e) {
    if (e instanceof ConcretizationError) return false;
    throw e;
  }
}

/** Example `i` of a batched value whose batch axis is `axis`. */
function example(t: Tensor, axis: number, i: number): Tensor {
  return reshape(slice(t, t.shape.map((_, d) => (d === axis ? i : 0)), t.shape.map((n, d) => (d === axis ? 1 : n))), t.shape.filter((_, d) => d !== axis));
}

function row(t: Tensor, j: number): Tensor {
  return reshape(slice(t, [j, ...t.shape.slice(1).map(() => 0)], [1, ...t.shape.slice(1)]), t.shape.slice(1));
}

/** Rows [k, ...x.shape] of (dF/dx)^{-1} rhs (or of (dF/dx)^{-T} rhs when `transposed`). */
function solveInX(op: string, residual: Residual, x: Tensor, leaves: Tensor[], rhs: Tensor, transposed: boolean): Tensor {
  const n = x.size;
  const k = rhs.shape[0];
  const jac = jacfwd((y: Tensor) => residual(y, leaves))(x) as Tensor;
  if (n === 1) {
    const slope = reshape(jac, []);
    if (isZero(slope)) {
      throw new DifferentiationError(`${op}: dF/dx = 0 at the root x = ${x.item()}, so the root is not a differentiable function of the params there (implicit function theorem).`);
    }
    return div(rhs, slope);
  }
  const matrix = reshape(jac, [n, n]);
  const cols = transpose(reshape(rhs, [k, n]));
  const solved = solveMatrix(transposed ? transpose(matrix) : matrix, cols, `${op} (implicit derivative: dF/dx at the root)`);
  return reshape(transpose(solved), [k, ...x.shape]);
}

/** dF/dp along the chunked tangents of the leaves ([k, ...x.shape]), null when F ignores them. */
function tangentInParams(op: string, residual: Residual, x: Tensor, leaves: Tensor[], tangents: (Tensor | null)[], k: number): Tensor | null {
  const moving = tangents.flatMap((t, i) => (t ? [i] : []));
  const out = pushForward((...duals: Tensor[]) => {
    const full = [...leaves];
    moving.forEach((i, j) => (full[i] = duals[j]));
    return residual(x, full);
  }, moving.map((i) => leaves[i]), moving.map((i) => tangents[i] as Tensor), k, (duals) => duals, op);
  return out.tangents[0];
}

/**
 * @internal The solution x* of residual(x*, p) = 0 as a function of the param leaves,
 * differentiable by the implicit function theorem. `find` computes it from concrete leaves
 * and never sees a tracer.
 */
export function implicitSolution(op: string, residual: Residual, leaves: Tensor[], find: (leaves: Tensor[]) => Tensor): Tensor {
  const at = (ps: Tensor[]): Tensor => {
    const top = topTrace(op, ps);
    if (top === null) return find(ps);
    if (top instanceof JvpTrace) {
      const { primals, tangents, any } = top.unpack(ps);
      const x = at(primals);
      if (!any) return x;
      const moved = tangentInParams(op, residual, x, primals, tangents, top.chunk);
      return top.wrap(x, moved && neg(solveInX(op, residual, x, primals, moved, false)));
    }
    if (top instanceof TapeTrace) {
      const primals = top.unpack(ps);
      const x = at(primals);
      const rule = {
        name: op,
        saves: 'all' as const,
        vjp: ({ ct, inputs: qs, out: root, wanted }: { ct: Tensor; inputs: readonly Tensor[]; out: Tensor; wanted: readonly boolean[] }) => {
          const w = solveInX(op, residual, root, [...qs], ct, true);
          const [, pullback] = vjp((...ls: Tensor[]) => residual(root, ls), ...(qs as Tensor[]));
          const rows = Array.from({ length: ct.shape[0] }, (_, j) => pullback(row(w, j)) as Tensor[]);
          return qs.map((_, i) => (wanted[i] ? neg(stack(rows.map((r) => r[i]), 0)) : null));
        },
      };
      return top.record(rule, {}, ps, primals, x);
    }
    if (top instanceof BatchTrace) {
      // Each example's solution is found on its own (the solvers iterate on concrete values);
      // the derivatives still come from the lower levels' rules.
      const parts = ps.map((p) => top.unwrap(p));
      const solutions = Array.from({ length: top.size }, (_, i) => at(parts.map(({ value, axis }) => (axis === null ? value : example(value, axis, i)))));
      return top.wrap(stack(solutions, 0), 0);
    }
    throw new DifferentiationError(`${op}: the implicit derivative is defined under jvp and grad (and their compositions), not under a ${top.kind} transform.`);
  };
  return at(leaves);
}

export interface RootFindOptions {
  /** Starting point for Newton's method (its shape is the root's shape). */
  x0?: TensorLike;
  /** [a, b] with F(a) and F(b) of opposite signs, for a scalar root; Newton starts at its midpoint when x0 is absent. */
  bracket?: readonly [number, number];
  /** Default: 'bisection' when a bracket is given, otherwise 'newton'. */
  method?: 'newton' | 'bisection';
  /**
   * Newton stops after a step with max |dx| <= tol max(1, max |x|) (quadratic convergence then
   * leaves an error of order tol^2; default sqrt(eps)); bisection when the bracket is narrower
   * than tol max(1, |x|) (default 4 eps), eps being the dtype's machine epsilon.
   */
  tol?: number;
  /** Default 50 (Newton), 200 (bisection). */
  maxIter?: number;
}

export function checkTolerances(op: string, tol: number, maxIter: number): void {
  if (!(tol >= 0) || !Number.isFinite(tol)) throw new ArgumentError(`${op}: tol must be a finite non-negative number, got ${tol}.`);
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new ArgumentError(`${op}: maxIter must be a positive integer, got ${maxIter}.`);
}

function newton(op: string, residual: Residual, x0: Tensor, leaves: Tensor[], tol: number, maxIter: number): Tensor {
  let x = x0;
  let step = Infinity;
  for (let it = 0; it < maxIter; it++) {
    const next = scoped(() => {
      const fx = concreteValue(op, residual, x, leaves);
      const jac = jacfwd((y: Tensor) => residual(y, leaves))(x) as Tensor;
      if (x.size === 1) {
        const slope = jac.item();
        if (slope === 0 || !Number.isFinite(slope)) {
          throw new ConvergenceError(`${op}: Newton's method met dF/dx = ${slope} at x = ${x.item()} (iteration ${it}). Start elsewhere (x0), or give a bracket and use method 'bisection'.`);
        }
        return sub(x, div(fx, slope));
      }
      const dx = solveMatrix(reshape(jac, [x.size, x.size]), reshape(fx, [x.size, 1]), `${op} (Newton step: dF/dx at iteration ${it})`);
      return sub(x, reshape(dx, x.shape));
    });
    step = scoped(() => maxAbs(sub(next, x)));
    if (x !== x0) x.dispose();
    x = next;
    if (!Number.isFinite(step)) {
      throw new ConvergenceError(`${op}: Newton's method produced a non-finite iterate at iteration ${it}. Start closer to the root (x0), or use a bracket with method 'bisection'.`);
    }
    if (step <= tol * Math.max(1, maxAbs(x))) return x;
  }
  throw new ConvergenceError(`${op}: Newton's method did not converge in ${maxIter} iterations (last step ${step}, tol ${tol}). Start closer to the root (x0), raise maxIter or loosen tol.`);
}

function bisection(op: string, residual: Residual, [a, b]: readonly [number, number], leaves: Tensor[], dtype: DType, tol: number, maxIter: number): Tensor {
  const round = dtype === 'float32' ? Math.fround : (v: number) => v;
  const value = (t: number) => scoped(() => concreteValue(op, residual, scalar(t, { dtype }), leaves).item());
  let lo = round(a), hi = round(b);
  let flo = value(lo);
  const fhi = value(hi);
  if (flo === 0) return scalar(lo, { dtype });
  if (fhi === 0) return scalar(hi, { dtype });
  if (!(Math.sign(flo) * Math.sign(fhi) < 0)) {
    throw new ArgumentError(`${op}: the bracket [${a}, ${b}] must hold a sign change of F, but F(${a}) = ${flo} and F(${b}) = ${fhi}. Widen or move the bracket.`);
  }
  for (let it = 0; it < maxIter; it++) {
    const mid = round(lo + (hi - lo) / 2);
    // No representable number strictly inside: the bracket is as narrow as the dtype allows.
    if (mid === lo || mid === hi) return scalar(mid, { dtype });
    const fmid = value(mid);
    if (fmid === 0) return scalar(mid, { dtype });
    if (Number.isNaN(fmid)) throw new ConvergenceError(`${op}: F(${mid}) is NaN inside the bracket [${a}, ${b}] (iteration ${it}).`);
    if (Math.sign(fmid) === Math.sign(flo)) {
      lo = mid;
      flo = fmid;
    } else {
      hi = mid;
    }
    if (Math.abs(hi - lo) <= tol * Math.max(1, Math.abs(lo), Math.abs(hi))) return scalar(round(lo + (hi - lo) / 2), { dtype });
  }
  throw new ConvergenceError(`${op}: bisection did not narrow the bracket to tol ${tol} in ${maxIter} iterations (it is [${Math.min(lo, hi)}, ${Math.max(lo, hi)}]). Raise maxIter or loosen tol.`);
}

/**
 * A root x* of F(x*, params) = 0, differentiable with respect to params (a tree of tensors and
 * numbers) by the implicit function theorem in forward and reverse mode, to any order. The
 * iterations (Newton's method, or bisection for a scalar root in a bracket) run on concrete
 * values and are never differentiated; F must take its differentiated inputs through params.
 * @example
 * // d root / d factor of factor x^3 - x - 2 at factor = 2: -0.2213991...
 * grad((factor) => rootFind((x, f) => f.mul(x.pow(3)).sub(x).sub(2), factor,
 *   {bracket: [1, 2], method: 'bisection'}))(2)
 */
export function rootFind<P extends Tree>(F: (x: Tensor, params: TensorTree<P>) => TensorLike, params: P, options: RootFindOptions): Tensor {
  const op = 'rootFind';
  const { tensors, dtype, call } = prepare(op, F as unknown as (x: Tensor, params: never) => TensorLike, params);
  const { x0, bracket } = options ?? {};
  const method = options?.method ?? (bracket ? 'bisection' : 'newton');
  if (method !== 'newton' && method !== 'bisection') throw new ArgumentError(`${op}: method must be 'newton' or 'bisection', got ${JSON.stringify(method)}.`);
  if (bracket !== undefined && (!Array.isArray(bracket) || bracket.length !== 2 || !bracket.every(Number.isFinite) || bracket[0] === bracket[1])) {
    throw new ArgumentError(`${op}: bracket must be two different finite numbers [a, b], got ${JSON.stringify(bracket)}.`);
  }
  const tol = options?.tol ?? (method === 'newton' ? Math.sqrt(MACHINE_EPS[dtype]) : 4 * MACHINE_EPS[dtype]);
  const maxIter = options?.maxIter ?? (method === 'newton' ? 50 : 200);
  checkTolerances(op, tol, maxIter);
  let find: (leaves: Tensor[]) => Tensor;
  if (method === 'bisection') {
    if (!bracket) throw new ArgumentError(`${op}: method 'bisection' needs a bracket [a, b] with F(a) and F(b) of opposite signs.`);
    find = (leaves) => bisection(op, call, bracket, leaves, dtype, tol, maxIter);
  } else {
    if (x0 === undefined && !bracket) throw new ArgumentError(`${op}: method 'newton' needs a starting point x0 (or a bracket, whose midpoint it starts from).`);
    // The root does not depend on the starting point: take x0's value, never its derivative.
    const start = x0 !== undefined ? toTensor(op, x0, dtype).dense() : scalar((bracket![0] + bracket![1]) / 2, { dtype });
    const owned = start !== x0 && !(x0 instanceof Tensor);
    find = (leaves) => {
      try {
        return newton(op, call, start, leaves, tol, maxIter);
      } finally {
        if (owned) start.dispose();
      }
    };
  }
  return implicitSolution(op, call, tensors, find);
}
