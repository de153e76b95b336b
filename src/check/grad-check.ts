// gradCheck: tests a function's derivative rules the way HIPS autograd's check_grads and
// jax.test_util.check_grads do. Forward mode: jvp along a random direction against the
// finite-difference directional derivative. Reverse mode: vjp by the inner-product identity
// <u, J v> = <J^T u, v>, with J v from finite differences, so the reverse check does not trust
// forward mode. Each input leaf gets its own direction, so a failure names the input. Order
// n > 1 applies the same checks to the derivative maps x -> jvp(f, x, v) and x -> vjp(f, x)(u)
// (for scalar f, u * grad f), with fixed random v and u.
import { ArgumentError } from '../errors.js';
import { array, seededUniform } from '../tensor/create.js';
import type { DType } from '../tensor/tensor.js';
import { flatten, rebuild, type Tree, type TreeDef } from '../tree.js';
import { jvp } from '../transforms/jvp.js';
import { vjp } from '../transforms/grad.js';
import { checkFunction, scoped } from '../transforms/util.js';
import { toTensor } from '../ops/convert.js';
import { checkStencil, directionalDiff, leafData, leafPaths, rebuildLeaf, type LeafData, type Stencil } from './finite-diff.js';

type Fn = (...args: any[]) => unknown;

export type CheckMode = 'fwd' | 'rev';

export interface GradCheckOptions {
  /** Check derivatives up to this order (default 2, as check_grads is usually called). */
  order?: number;
  /** Which modes to check (default both). */
  modes?: readonly CheckMode[];
  /** Absolute and relative tolerances; default JAX's: 1e-5 in float64, 2e-3 if any value is float32. */
  atol?: number;
  rtol?: number;
  /** Relative finite-difference step (default: per stencil and dtype, see finite-diff.ts). */
  eps?: number;
  /** Finite-difference stencil (default 4, the 5-point stencil). */
  stencil?: Stencil;
  /** Seed of the random directions (default 0). */
  seed?: number;
}

export interface GradCheckFailure {
  /** The input leaf whose direction exposed the error, as `args[0].W`. */
  input: string;
  /** 1 for f's own rules; 2 for the rules of a derivative map of f; and so on. */
  order: number;
  /** The check that failed: 'fwd' (jvp) or 'rev' (vjp). */
  mode: CheckMode;
  /** For order > 1, the derivative maps taken before this check, innermost first: ['rev'] is "the vjp map of f". */
  via: CheckMode[];
  /** The largest |computed - expected| found. */
  error: number;
  /** atol + rtol |expected| where that error was found. */
  tolerance: number;
  message: string;
}

export interface GradCheckResult {
  ok: boolean;
  failures: GradCheckFailure[];
  /** How many (input, order, mode) checks ran. */
  checks: number;
}

// int32 is never differentiated (the transforms refuse it); its entry keeps the table total.
const TOLERANCE: Record<DType, number> = { float64: 1e-5, float32: 2e-3, int32: 1e-5 };

interface Context {
  modes: readonly CheckMode[];
  atol?: number;
  rtol?: number;
  eps?: number;
  stencil: Stencil;
  rand: () => number;
  paths: string[];
  failures: GradCheckFailure[];
  checks: number;
}

function randomVector(rand: () => number, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => 2 * rand() - 1);
}

function dotData(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Random tangents for every leaf, as tensors (or numbers) shaped like the leaves. */
function randomTree(ctx: Context, def: TreeDef, leaves: readonly LeafData[]): Tree[] {
  return rebuild<Tree[]>(def, leaves.map((l) => rebuildLeaf(l, randomVector(ctx.rand, l.data.length))));
}

function describe(mode: CheckMode, via: CheckMode[]): string {
  const name = (m: CheckMode) => (m === 'fwd' ? 'the jvp' : 'the vjp');
  return [name(mode), ...[...via].reverse().map((m) => `of ${name(m)} map`), 'of f'].join(' ');
}

function report(ctx: Context, failure: Omit<GradCheckFailure, 'message'>, detail: string): void {
  const what = describe(failure.mode, failure.via);
  ctx.failures.push({
    ...failure,
    message: `gradCheck: ${what} (order ${failure.order}) is wrong for input ${failure.input}: ${detail} (error ${failure.error.toExponential(3)} > tolerance ${failure.tolerance.toExponential(3)}).`,
  });
}

function tolerances(ctx: Context, dtypes: DType[]): { atol: number; rtol: number } {
  const base = TOLERANCE[dtypes.includes('float32') ? 'float32' : 'float64'];
  return { atol: ctx.atol ?? base, rtol: ctx.rtol ?? base };
}

/** Checks f's jvp (fwd) or vjp (rev) at args, one input leaf at a time. */
function checkAt(ctx: Context, f: Fn, args: Tree[], mode: CheckMode, order: number, via: CheckMode[]): void {
  const { leaves, def } = flatten(args, 'gradCheck: argument');
  const data = leaves.map((l) => leafData('gradCheck', l));
  const zerosLike = data.map((d) => new Float64Array(d.data.length));
  scoped(() => {
    let cotangents: Float64Array[] | null = null;
    let outCts: Float64Array[] = [];
    let outDtypes: DType[] = [];
    if (mode === 'rev') {
      const [y, pullback] = vjp(f, ...args);
      const out = flatten(y, 'gradCheck: the function\'s output');
      const ys = out.leaves.map((l) => toTensor('gradCheck', l));
      outDtypes = ys.map((t) => t.dtype);
      outCts = ys.map((t) => randomVector(ctx.rand, t.size));
      const u = rebuild<Tree>(out.def, ys.map((t, i) => array(outCts[i], { shape: t.shape, dtype: t.dtype })));
      cotangents = flatten(pullback(u)).leaves.map((l) => Float64Array.from(toTensor('gradCheck', l).data()));
    }
    data.forEach((d, l) => {
      if (d.data.length === 0) return;
      ctx.checks++;
      const v = randomVector(ctx.rand, d.data.length);
      const directions = zerosLike.map((z, i) => (i === l ? v : z));
      const fd = directionalDiff(f, args, directions, { stencil: ctx.stencil, eps: ctx.eps });
      const input = ctx.paths[l];
      if (mode === 'fwd') {
        const tangents = rebuild<Tree[]>(def, data.map((dd, i) => rebuildLeaf(dd, directions[i])));
        const [, dy] = jvp(f, args, tangents);
        const got = flatten(dy).leaves.map((t) => Float64Array.from(toTensor('gradCheck', t).data()));
        const { atol, rtol } = tolerances(ctx, [d.dtype, ...fd.dtypes]);
        let worst = { excess: 0, error: 0, tolerance: 0, at: '' };
        fd.values.forEach((expected, o) => expected.forEach((e, j) => {
          const error = Math.abs(got[o][j] - e);
          const tolerance = atol + rtol * Math.abs(e);
          const excess = Number.isNaN(error) ? Infinity : error - tolerance;
          if (excess > worst.excess) worst = { excess, error, tolerance, at: `output ${o}, element ${j}: jvp gives ${got[o][j]}, finite differences ${e}` };
        }));
        if (worst.excess > 0) report(ctx, { input, order, mode, via, error: worst.error, tolerance: worst.tolerance }, worst.at);
      } else {
        const lhs = fd.values.reduce((acc, jv, o) => acc + dotData(outCts[o], jv), 0); // <u, J v>
        const rhs = dotData(cotangents![l], v); // <J^T u, v>
        const { atol, rtol } = tolerances(ctx, [d.dtype, ...outDtypes]);
        const error = Math.abs(lhs - rhs);
        const tolerance = atol + rtol * Math.abs(lhs);
        if (!(error <= tolerance)) {
          report(ctx, { input, order, mode, via, error, tolerance }, `<u, J v> = ${lhs} by finite differences but <J^T u, v> = ${rhs} by vjp`);
        }
      }
    });
  });
}

function checkRecursive(ctx: Context, f: Fn, args: Tree[], order: number, maxOrder: number, via: CheckMode[]): void {
  for (const mode of ctx.modes) {
    checkAt(ctx, f, args, mode, order, via);
    if (order >= maxOrder) continue;
    const { leaves, def } = flatten(args, 'gradCheck: argument');
    const data = leaves.map((l) => leafData('gradCheck', l));
    // The derivative map's fixed direction (fwd) or cotangent (rev) must outlive the deeper
    // checks, so it is made here and freed when they end.
    scoped(() => {
      let derivative: Fn;
      if (mode === 'fwd') {
        const v = randomTree(ctx, def, data);
        derivative = (...xs: Tree[]) => jvp(f, xs, v)[1];
      } else {
        const [y] = vjp(f, ...args);
        const out = flatten(y);
        const u = rebuild<Tree>(out.def, out.leaves.map((t) => {
          const yt = toTensor('gradCheck', t);
          return array(randomVector(ctx.rand, yt.size), { shape: yt.shape, dtype: yt.dtype });
        }));
        derivative = (...xs: Tree[]) => vjp(f, ...xs)[1](u);
      }
      checkRecursive(ctx, derivative, args, order + 1, maxOrder, [...via, mode]);
    });
  }
}

/**
 * Checks f's derivatives in forward and reverse mode against finite differences, up to
 * `order`, at `args` (an array of argument trees). Returns every failure, naming the input
 * leaf, the order and the mode; `ok` is true when there is none.
 * @example
 * const { ok, failures } = gradCheck((x) => sum(sin(x).mul(x)), [array([0.5, 1.5])], {order: 2});
 * // ok === true; a wrong custom rule gives failures like
 * // {input: 'args[0]', order: 1, mode: 'rev', error: 0.43, ...}
 */
export function gradCheck(f: Fn, args: readonly Tree[], options: GradCheckOptions = {}): GradCheckResult {
  const op = 'gradCheck';
  checkFunction(op, f);
  if (!Array.isArray(args)) throw new ArgumentError(`${op}: args must be an array with one entry per argument of f, as gradCheck(f, [x, y]).`);
  const order = options.order ?? 2;
  if (!Number.isInteger(order) || order < 1) throw new ArgumentError(`${op}: order must be a positive integer, got ${JSON.stringify(options.order)}.`);
  const modes = options.modes ?? ['fwd', 'rev'];
  if (!Array.isArray(modes) || modes.length === 0 || modes.some((m) => m !== 'fwd' && m !== 'rev')) {
    throw new ArgumentError(`${op}: modes must be a non-empty array of 'fwd' and 'rev', got ${JSON.stringify(options.modes)}.`);
  }
  for (const key of ['atol', 'rtol'] as const) {
    const t = options[key];
    if (t !== undefined && !(typeof t === 'number' && t >= 0)) throw new ArgumentError(`${op}: ${key} must be a non-negative number, got ${JSON.stringify(t)}.`);
  }
  const ctx: Context = {
    modes: [...new Set(modes)],
    atol: options.atol,
    rtol: options.rtol,
    eps: options.eps,
    stencil: checkStencil(op, options.stencil ?? 4),
    rand: seededUniform(options.seed ?? 0),
    paths: leafPaths(args),
    failures: [],
    checks: 0,
  };
  checkRecursive(ctx, f, [...args], 1, order, []);
  return { ok: ctx.failures.length === 0, failures: ctx.failures, checks: ctx.checks };
}
