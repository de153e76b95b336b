// Numerical derivatives by finite differences: the full Jacobian (one column per input
// element) and directional derivatives (what gradCheck compares jvp and vjp against).
//
// Stencils. 2-point (central): f'(x) ~ (f(x+h) - f(x-h)) / (2h), truncation error h^2 f'''/6.
// 4-point (the seed's 5-point stencil, whose centre weight is 0):
//   f'(x) ~ (-f(x+2h) + 8f(x+h) - 8f(x-h) + f(x-2h)) / (12h), truncation error h^4 f^(5)/30.
//   (Seed 004 prints it with every sign flipped, which is -f'(x).)
// Step. Rounding in f contributes about eps_m |f| / h, so the total error is smallest near
// h = eps_m^(1/3) for the 2-point stencil and h = eps_m^(1/5) for the 4-point one (times the
// scale of x): with float64 (eps_m = 2^-52) about 6.1e-6 and 7.4e-4, with float32
// (eps_m = 2^-23) about 4.9e-3 and 4.1e-2. The step is scaled by max(1, |x|) and rounded to a
// power of two, so that x +- h and x +- 2h are exact in either dtype and the stencil's
// spacing is the one we divide by.
import { ArgumentError } from '../errors.js';
import { array } from '../tensor/create.js';
import { Tensor, type DType } from '../tensor/tensor.js';
import { toTensor } from '../ops/convert.js';
import { flatten, rebuild, type Leaf, type TreeDef } from '../tree.js';
import { checkFunction, normalizeArgnums, scoped } from '../transforms/util.js';
import type { AnyFunction, Argnums, GradientOf, Gradients, Jacobian, TreeArgs } from '../transforms/types.js';

type Fn = (...args: any[]) => unknown;

export type Stencil = 2 | 4;

export interface FiniteDiffOptions<N extends Argnums | undefined = Argnums | undefined> {
  /** 2: central differences; 4: the 5-point stencil (default 4). */
  stencil?: Stencil;
  /** Relative step: h = eps * max(1, |x|), rounded to a power of two (default: per stencil and dtype, see above). */
  eps?: number;
  /** Which arguments to differentiate (default: all, giving one Jacobian tree per argument). */
  argnums?: N;
}

/** Stencil offsets, in steps; combine() takes f at those points (same order) to h f'(x). */
const STENCILS: Record<Stencil, { offsets: number[]; combine: (f: number[]) => number }> = {
  // Differences first, so that an output f does not move gives exactly 0.
  2: { offsets: [-1, 1], combine: ([m1, p1]) => (p1 - m1) / 2 },
  4: { offsets: [-2, -1, 1, 2], combine: ([m2, m1, p1, p2]) => (8 * (p1 - m1) - (p2 - m2)) / 12 },
};

/** Evaluates f at each stencil point (via `at`) and combines per output element into `target`. */
function applyStencil(stencil: Stencil, h: number, at: (offset: number) => OutputData, target: (out: OutputData, leaf: number, element: number, value: number) => void): OutputData {
  const { offsets, combine } = STENCILS[stencil];
  const results = offsets.map(at);
  const first = results[0];
  const point = new Array<number>(offsets.length);
  first.values.forEach((v, leaf) => {
    for (let e = 0; e < v.length; e++) {
      for (let k = 0; k < results.length; k++) point[k] = results[k].values[leaf][e];
      target(first, leaf, e, combine(point) / h);
    }
  });
  return first;
}

// int32 never reaches a difference (finiteDiff refuses it); its entry keeps the table total.
const MACHINE_EPS: Record<DType, number> = { float64: 2 ** -52, float32: 2 ** -23, int32: 2 ** -52 };

/** The relative step that balances truncation and rounding for `stencil` in `dtype`. */
export function defaultStep(stencil: Stencil, dtype: DType): number {
  return MACHINE_EPS[dtype] ** (1 / (stencil + 1));
}

/** h = eps * max(1, scale) rounded to the nearest power of two. */
function stepFor(eps: number, scale: number): number {
  return 2 ** Math.round(Math.log2(eps * Math.max(1, scale)));
}

export function checkStencil(op: string, stencil: unknown): Stencil {
  if (stencil === 2 || stencil === 4) return stencil;
  throw new ArgumentError(`${op}: stencil must be 2 (central differences) or 4 (the 5-point stencil), got ${JSON.stringify(stencil)}.`);
}

function checkEps(op: string, eps: unknown): number | undefined {
  if (eps === undefined) return undefined;
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) throw new ArgumentError(`${op}: eps must be a positive finite number, got ${JSON.stringify(eps)}.`);
  return eps;
}

/** One argument leaf as plain data, so perturbed copies can be made without touching wasm memory. */
export interface LeafData {
  data: Float64Array;
  shape: readonly number[];
  dtype: DType;
}

export function leafData(op: string, leaf: Leaf): LeafData {
  const t = toTensor(op, leaf);
  return { data: Float64Array.from(t.data()), shape: t.shape, dtype: t.dtype };
}

/** The leaf rebuilt from `data` as a tensor (a differentiated number becomes a 0-d float64 tensor, as in jvp). */
export function rebuildLeaf(leaf: LeafData, data: Float64Array): Tensor {
  return array(data, { shape: leaf.shape, dtype: leaf.dtype });
}

/** The output of one evaluation of f, read back as float64 data per output leaf. */
export interface OutputData {
  def: TreeDef;
  values: Float64Array[];
  shapes: (readonly number[])[];
  dtypes: DType[];
}

/** Evaluates f on the args tree `def` with the leaves `make` builds, freeing every tensor made. */
export function evaluate(op: string, f: Fn, def: TreeDef, make: () => readonly unknown[]): OutputData {
  return scoped(() => {
    const args = rebuild<unknown[]>(def, make());
    const out = flatten(f(...args), `${op}: the function's output`);
    const tensors = out.leaves.map((l) => toTensor(op, l));
    return {
      def: out.def,
      values: tensors.map((t) => Float64Array.from(t.data())),
      shapes: tensors.map((t) => t.shape),
      dtypes: tensors.map((t) => t.dtype),
    };
  });
}

/**
 * The directional derivative of f at `args` along `directions` (one Float64Array per leaf of
 * the args tree, in flatten order) by the stencil. Returns the output structure and one
 * float64 array per output leaf.
 */
export function directionalDiff(f: Fn, args: readonly unknown[], directions: readonly Float64Array[], options: { stencil?: Stencil; eps?: number } = {}): OutputData {
  const op = 'directionalDiff';
  const stencil = checkStencil(op, options.stencil ?? 4);
  const { leaves, def } = flatten(args, `${op}: argument`);
  const data = leaves.map((l) => leafData(op, l));
  const dtype: DType = data.some((d) => d.dtype === 'float32') ? 'float32' : 'float64';
  let scale = 0;
  data.forEach((d, i) => d.data.forEach((v, j) => {
    if (directions[i][j] !== 0) scale = Math.max(scale, Math.abs(v));
  }));
  const h = stepFor(checkEps(op, options.eps) ?? defaultStep(stencil, dtype), scale);
  const derivative: Float64Array[] = [];
  const at = (o: number) => evaluate(op, f, def, () => data.map((d, i) => rebuildLeaf(d, Float64Array.from(d.data, (v, j) => v + o * h * directions[i][j]))));
  const out = applyStencil(stencil, h, at, (res, leaf, e, value) => {
    (derivative[leaf] ??= new Float64Array(res.values[leaf].length))[e] = value;
  });
  return { ...out, values: out.values.map((v, leaf) => derivative[leaf] ?? new Float64Array(0)) };
}

/**
 * The Jacobian of f by finite differences, laid out as `jacobian`'s: for each output leaf, one
 * tree per differentiated argument whose leaves have shape out.shape + leaf.shape. Costs 2
 * (stencil 2) or 4 (stencil 4) evaluations of f per input element.
 * @example
 * // The seed's f(x) = [x1^2 + x2^2, x1 x2] has Jacobian [[2 x1, 2 x2], [x2, x1]].
 * const f = (x) => stack([x.square().sum(), x.slice([0], [1]).mul(x.slice([1], [1])).reshape([])]);
 * finiteDiff(f, [array([1, 2])], {stencil: 4})[0] // ~ [[2, 4], [2, 1]]
 */
export function finiteDiff<F extends AnyFunction, const N extends Argnums | undefined = undefined>(f: F,
  args: Readonly<TreeArgs<Parameters<F>, N extends Argnums ? N : number>>, options?: FiniteDiffOptions<N>):
  Jacobian<ReturnType<F>, N extends Argnums ? GradientOf<Parameters<F>, N> : Gradients<Parameters<F>>>;
export function finiteDiff(f: Fn, args: readonly unknown[], options: FiniteDiffOptions = {}): unknown {
  const op = 'finiteDiff';
  checkFunction(op, f);
  if (!Array.isArray(args)) throw new ArgumentError(`${op}: args must be an array with one entry per argument of f, as finiteDiff(f, [x, y]).`);
  const stencil = checkStencil(op, options.stencil ?? 4);
  const eps = checkEps(op, options.eps);
  const { list, single } = options.argnums === undefined
    ? { list: args.map((_, i) => i), single: false }
    : normalizeArgnums(op, options.argnums, args.length);
  const { leaves, def } = flatten(args, `${op}: argument`);
  const data = leaves.map((l) => leafData(op, l));
  // Which flattened leaves belong to which argument.
  const owner: number[] = [];
  args.forEach((a, i) => flatten(a).leaves.forEach(() => owner.push(i)));
  // Differentiated leaves are passed as tensors (numbers too, as jvp does); others unchanged.
  const base = (l: number): unknown => (list.includes(owner[l]) && typeof leaves[l] === 'number' ? rebuildLeaf(data[l], data[l].data) : leaves[l]);
  let out: OutputData | null = null;
  const columns: Float64Array[][] = []; // [leaf][outLeaf]: m_o x n_leaf, row-major
  data.forEach((d, l) => {
    if (!list.includes(owner[l])) return;
    const n = d.data.length;
    const perOut: Float64Array[] = [];
    for (let j = 0; j < n; j++) {
      const x = d.data[j];
      const h = stepFor(eps ?? defaultStep(stencil, d.dtype), Math.abs(x));
      const at = (o: number) => {
        const moved = Float64Array.from(d.data);
        moved[j] = x + o * h;
        return evaluate(op, f, def, () => leaves.map((_, i) => (i === l ? rebuildLeaf(d, moved) : base(i))));
      };
      out = applyStencil(stencil, h, at, (res, o, r, value) => {
        (perOut[o] ??= new Float64Array(res.values[o].length * n))[r * n + j] = value;
      });
    }
    columns[l] = perOut;
  });
  // An argument without elements still needs the output's structure.
  out ??= evaluate(op, f, def, () => leaves.map((_, i) => base(i)));
  const outData: OutputData = out;
  const jac = outData.values.map((v, o) => {
    const perArg = list.map((a) => {
      const argLeaves = data.flatMap((d, l) => (owner[l] === a ? [l] : []));
      const tensors = argLeaves.map((l) => {
        const d = data[l];
        const values = columns[l]?.[o] ?? new Float64Array(v.length * d.data.length);
        return array(values, { shape: [...outData.shapes[o], ...d.shape], dtype: outData.dtypes[o] });
      });
      return rebuild(flatten(args[a]).def, tensors);
    });
    return single ? perArg[0] : perArg;
  });
  return rebuild(outData.def, jac);
}

/** The path of every leaf of the args array, as `args[1].W` or `args[0][2]`, in flatten order. */
export function leafPaths(args: readonly unknown[]): string[] {
  const paths: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (node instanceof Tensor || typeof node === 'number') paths.push(path);
    else if (Array.isArray(node)) node.forEach((c, i) => walk(c, `${path}[${i}]`));
    else if (node !== null && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) walk(value, /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);
    }
  };
  walk(args, 'args');
  return paths;
}
