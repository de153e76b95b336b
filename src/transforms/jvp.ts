// jvp and jacfwd: forward mode over argument trees.
import { denseParts, popTrace, pushTrace } from '../core/trace.js';
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { array, zeros } from '../tensor/create.js';
import { shapesEqual } from '../tensor/shape.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { toTensor } from '../ops/convert.js';
import { concat, reshape, slice, transpose } from '../ops/shape.js';
import { flatten, rebuild } from '../tree.js';
import { closeScope, openScope } from '../tensor/scope.js';
import { Dual, JvpTrace } from './forward.js';
import { checkDifferentiated, checkNotInteger, checkFunction, checkOptions, normalizeArgnums, refuseThenable, scoped, unaliased } from './util.js';
import type { AnyFunction, Argnums, GradientOf, Jacobian, TensorLikes, Tensors, TreeArgs } from './types.js';

type Fn = (...args: any[]) => unknown;

/** Result leaves of f's output, split into primal values and chunked tangents. */
function splitOutput(trace: JvpTrace, out: unknown, op: string) {
  const { leaves, def } = flatten(out, `${op}: the function's output`);
  const primals = leaves.map((l) => (l instanceof Dual && l.trace === trace ? l.primal : toTensor(op, l)));
  const tangents = leaves.map((l) => (l instanceof Dual && l.trace === trace ? l.tangent : null));
  return { def, primals, tangents };
}

/**
 * Runs `f` on duals whose tangents are the chunked `tangents` ([k, ...shape] per leaf) and
 * returns the output primals and chunked output tangents (null: zero).
 */
export function pushForward(f: Fn, argLeaves: Tensor[], tangents: Tensor[], k: number,
  build: (leaves: Tensor[]) => unknown[], op: string) {
  const trace = pushTrace((level) => new JvpTrace(level, k));
  try {
    const duals = argLeaves.map((x, i) => new Dual(trace, x, tangents[i]));
    const result = f(...build(duals));
    refuseThenable(op, result);
    return splitOutput(trace, result, op);
  } finally {
    popTrace(trace);
  }
}

/**
 * Forward-mode Jacobian-vector product: returns [f(...primals), J v] for tangents v with the
 * same tree structure, shapes and dtypes as the primals.
 * @example
 * const [y, dy] = jvp((x) => sin(x), [2], [1]); // dy = cos(2)
 */
export function jvp<F extends AnyFunction>(f: F, primals: Readonly<TreeArgs<Parameters<F>>>, tangents: TensorLikes<Parameters<F>>):
  [Tensors<ReturnType<F>>, Tensors<ReturnType<F>>];
export function jvp(f: Fn, primals: readonly unknown[], tangents: readonly unknown[]): unknown {
  checkFunction('jvp', f);
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new ArgumentError('jvp: primals and tangents must be arrays with one entry per argument of f, as jvp(f, [x, y], [dx, dy]).');
  }
  const p = flatten(primals, 'jvp: primals');
  const t = flatten(tangents, 'jvp: tangents');
  if (p.leaves.length !== t.leaves.length || JSON.stringify(p.def) !== JSON.stringify(t.def)) {
    throw new ArgumentError(`jvp: tangents must have the same structure as primals (${p.leaves.length} leaves), got ${t.leaves.length} leaves in a different structure.`);
  }
  return scoped((scope) => {
    const xs = p.leaves.map((l) => toTensor('jvp', l));
    primals.forEach((primal, i) => checkNotInteger('jvp', `primal ${i}`, primal));
    const ts = t.leaves.map((l, i) => {
      const tangent = toTensor('jvp', l, xs[i].dtype);
      if (!shapesEqual(tangent.shape, xs[i].shape)) {
        throw new ShapeError(`jvp: tangent ${i} has shape ${fmtShape(tangent.shape)} but its primal has shape ${fmtShape(xs[i].shape)}; they must match.`);
      }
      if (tangent.dtype !== xs[i].dtype) {
        throw new DTypeError(`jvp: tangent ${i} is ${tangent.dtype} but its primal is ${xs[i].dtype}; give tangents the primal's dtype.`);
      }
      return reshape(tangent, [1, ...tangent.shape]);
    });
    const out = pushForward(f, xs, ts, 1, (duals) => rebuild<unknown[]>(p.def, duals), 'jvp');
    const tangentOut = out.primals.map((y, i) => {
      const tan = out.tangents[i];
      return tan ? reshape(tan, y.shape) : zeros(y.shape, { dtype: y.dtype });
    });
    // Outputs never alias an input or a closed-over tensor (jvp(v => v)): those get a fresh
    // Tensor object over the same data, so disposing the result leaves them intact.
    const own = (d: DenseTensor) => d.scope === scope;
    return [rebuild(out.def, out.primals.map((y) => unaliased(y, own))), rebuild(out.def, tangentOut.map((y) => unaliased(y, own)))];
  });
}

export interface JacOptions<N extends Argnums = Argnums> {
  /** Which positional arguments to differentiate (default 0); an array gives an array of Jacobians. */
  argnums?: N;
  /** Directions per pass (jacfwd) or output rows per sweep (jacrev). */
  chunkSize?: number;
}

/**
 * ForwardDiff.jl's default chunk: the whole input up to 12 directions, otherwise the even
 * split into chunks of at most 12.
 */
export function defaultChunk(n: number): number {
  const limit = 12;
  if (n <= limit) return Math.max(1, n);
  return Math.ceil(n / Math.ceil(n / limit));
}

/** One-hot rows [start, start + rows) of the n x n identity, restricted to columns [offset, offset + size). */
export function identityBlock(start: number, rows: number, offset: number, size: number, shape: readonly number[], dtype: Tensor['dtype']): Tensor {
  const data = new Float64Array(rows * size);
  for (let r = 0; r < rows; r++) {
    const col = start + r - offset;
    if (col >= 0 && col < size) data[r * size + col] = 1;
  }
  return array(data, { dtype, shape: [rows, ...shape] });
}

/** Arranges per-chunk blocks [kc, ...outShape] into Jacobians [...outShape, ...leafShape]. */
export function assembleColumns(blocks: Tensor[], outShape: readonly number[], leaves: readonly Tensor[]): Tensor[] {
  const stacked = blocks.length === 1 ? blocks[0] : concat(blocks, 0); // [n, ...outShape]
  const n = stacked.shape[0];
  const cols = transpose(reshape(stacked, [n, stacked.size / Math.max(n, 1)]), [1, 0]); // [m, n]
  const m = cols.shape[0];
  let offset = 0;
  return leaves.map((leaf) => {
    const part = slice(cols, [0, offset], [m, leaf.size]);
    offset += leaf.size;
    return reshape(part, [...outShape, ...leaf.shape]);
  });
}

/**
 * The Jacobian by forward mode, ceil(n / chunk) passes for n inputs. The result has shape
 * out.shape + x.shape (a tree mirroring the differentiated argument).
 * @example jacfwd((x) => mul(x, x))(array([1, 2])) // [[2, 0], [0, 4]]
 */
export function jacfwd<F extends AnyFunction, const N extends Argnums = 0>(f: F, options?: JacOptions<N>):
  (...args: TreeArgs<Parameters<F>, N>) => Jacobian<ReturnType<F>, GradientOf<Parameters<F>, N>>;
export function jacfwd(f: Fn, options: JacOptions = {}) {
  checkFunction('jacfwd', f);
  checkOptions('jacfwd', options);
  return (...args: unknown[]): unknown => {
    const { list, single } = normalizeArgnums('jacfwd', options.argnums, args.length);
    checkDifferentiated('jacfwd', args, list);
    const selected = flatten(list.map((i) => args[i]), 'jacfwd: argument');
    return scoped(() => {
      const xs = selected.leaves.map((l) => toTensor('jacfwd', l));
      const n = xs.reduce((acc, x) => acc + x.size, 0);
      const k = options.chunkSize ?? defaultChunk(n);
      if (!Number.isInteger(k) || k < 1) throw new ArgumentError(`jacfwd: chunkSize must be a positive integer, got ${k}.`);
      const build = (duals: Tensor[]) => {
        const trees = rebuild<unknown[]>(selected.def, duals);
        const call = [...args];
        list.forEach((a, i) => (call[a] = trees[i]));
        return call;
      };
      let outDef = null as ReturnType<typeof flatten>['def'] | null;
      let outPrimals: Tensor[] = [];
      const blocks: Tensor[][] = [];
      for (let start = 0; start < Math.max(n, 1); start += k) {
        const rows = Math.min(k, n - start);
        const scope = openScope();
        let res;
        try {
          let offset = 0;
          const seeds = xs.map((x) => {
            const block = identityBlock(start, rows, offset, x.size, x.shape, x.dtype);
            offset += x.size;
            return block;
          });
          res = pushForward(f, xs, seeds, rows, build, 'jacfwd');
        } finally {
          closeScope(scope, res ? [...res.primals, ...res.tangents].flatMap((t) => (t ? denseParts(t) : [])) : []);
        }
        outDef = res.def;
        outPrimals = res.primals;
        res.tangents.forEach((t, i) => {
          (blocks[i] ??= []).push(t ?? zeros([rows, ...res.primals[i].shape], { dtype: res.primals[i].dtype }));
        });
        if (n === 0) break;
      }
      const jac = outPrimals.map((y, i) => {
        const perLeaf = n === 0 ? xs.map((x) => zeros([...y.shape, ...x.shape], { dtype: y.dtype })) : assembleColumns(blocks[i], y.shape, xs);
        const trees = rebuild<unknown[]>(selected.def, perLeaf);
        return single ? trees[0] : trees;
      });
      return rebuild(outDef!, jac);
    });
  };
}
