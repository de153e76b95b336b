// The Primitive: the unit every transform understands. Each primitive is declared once, in its
// family's file in src/ops/, with every fact about itself side by side: how to compute it, its
// abstract evaluation, both derivative rules, what its reverse rule reads and how its outputs
// depend on its inputs. Every fact is a required field, so a primitive missing one does not
// compile, and no table elsewhere is keyed by a primitive's name.
import type { DenseTensor, DType, Tensor } from '../tensor/tensor.js';
import { empty } from '../tensor/create.js';
import type { BoundKernel } from '../backend/kernels.js';

/** An abstract value: what is known of a tensor without its data. */
export interface Aval {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export interface JvpArgs<P> {
  /** The inputs' values. */
  inputs: Tensor[];
  /**
   * Per input, null (a symbolic zero) or a tangent of shape [k, ...ones, ...shape_i]: a leading
   * chunk of k directions, then, for broadcasting primitives, size-1 axes up to the output's
   * rank so that NumPy broadcasting against primal operands lines up.
   */
  tangents: (Tensor | null)[];
  out: Tensor;
  params: P;
}

/** Forward rule: the output tangent, broadcastable to [k, ...out.shape], or null when it is zero. */
export type JvpRule<P> = (args: JvpArgs<P>) => Tensor | null;

export interface VjpArgs<P> {
  /** k rows of output cotangents: shape [k, ...out.shape]. */
  ct: Tensor;
  /**
   * The inputs the primitive's `saves` names; the others are absent (undefined) on a tape, which
   * keeps only what a rule reads. Their shapes and dtypes are always in `avals`.
   */
  inputs: readonly Tensor[];
  /** The inputs' shapes and dtypes. */
  avals: readonly Aval[];
  /** The output, when `saves` names it. */
  out: Tensor;
  params: P;
  /** False for inputs that are constants of the tape: their cotangent is never read. */
  wanted: readonly boolean[];
}

/**
 * Reverse rule. Returns per input a cotangent broadcastable to [k, ...out.shape] (the tape sums
 * it down to the input's shape: broadcasting is undone once, for all primitives) or null for no
 * dependence. A rule may return null for an input that is not wanted (matmul skips a GEMM).
 */
export type VjpRule<P> = (args: VjpArgs<P>) => (Tensor | null)[];

/**
 * The values a vjp rule reads: input indices and 'out', or 'all' (every input and the output,
 * for ops of any arity). The tape keeps these and nothing else.
 */
export type Saves = readonly (number | 'out')[] | 'all';

/**
 * How the output's elements depend on the inputs' elements, read by sparsityPattern:
 * - 'elementwise': output element e depends on the element of each input that broadcasting
 *   lines up with e;
 * - 'none': on nothing (comparisons, stop_gradient);
 * - 'dense': possibly on every element of every input;
 * - a function, for structured ops (shape ops, reductions, products), given the dependency
 *   algebra of the sparsity trace.
 */
export type Sparsity<P> = 'elementwise' | 'none' | 'dense' | SparsityRule<P>;

/** The dependency sets of a traced operand (opaque to ops; built by src/sparse/). */
export interface DepSetsLike {
  readonly ptr: Int32Array;
  readonly idx: Int32Array;
}

/** An input under the sparsity trace: its dependency sets, or null for a constant (value known). */
export interface SparseOperand {
  deps: DepSetsLike | null;
  shape: readonly number[];
  value: Tensor;
}

/**
 * The building blocks a structured sparsity rule combines. `map` arrays give, per output
 * element, the element of the operand it reads (-1: none); null means the identity.
 */
export interface DependencyAlgebra {
  /** Per output element e, the union over parts of the set of element map[e]; `when(e)` false cuts a part at e. */
  union(parts: { deps: DepSetsLike; map: Int32Array | null; when?: (e: number) => boolean }[], size: number): DepSetsLike;
  /** General form: `fill(e, add)` calls add(deps, element) for each source of output element e. */
  build(size: number, fill: (e: number, add: (deps: DepSetsLike, element: number) => void) => void): DepSetsLike;
  /** Per output element, the union of the input elements reduced into it (keepdims layout). */
  reduce(x: SparseOperand, axes: readonly number[]): DepSetsLike;
  /** Output element e reads element map[e] of a row-major `shape` read with `strides` from `offset`. */
  stridedMap(shape: readonly number[], strides: readonly number[], offset?: number): Int32Array;
  /** The inverse of placing `inShape` into an output with `strides` at `offset`: -1 where nothing lands. */
  scatterMap(size: number, inShape: readonly number[], strides: readonly number[], offset: number): Int32Array;
  /** The map of broadcasting `shape` to `outShape`, or null when they are equal. */
  broadcastMap(shape: readonly number[], outShape: readonly number[]): Int32Array | null;
  /** Every output element depends on every traced input element. */
  dense(traced: readonly SparseOperand[], size: number): DepSetsLike;
}

export type SparsityRule<P> = (algebra: DependencyAlgebra, args: { inputs: SparseOperand[]; out: Aval; params: P }) => DepSetsLike;

/**
 * Optional fused forward pass on concrete values: the output and its tangent [k, ...out.shape]
 * from one kernel call, equal to impl followed by the jvp rule (the forward-mode tests check
 * this to the bit). `tangents[i]` is null or has shape [k, ...shape_i] and input i's dtype.
 * Returns null to decline; the trace then runs impl and the rule.
 */
export type DualImpl<P> = (primals: DenseTensor[], tangents: (DenseTensor | null)[], k: number, params: P) => [DenseTensor, DenseTensor] | null;

/**
 * Optional fused reverse pass on concrete values: the same result as the vjp rule, to the bit,
 * from one kernel. Returns null to decline; the rule then runs.
 */
export type CotangentImpl<P> = (args: VjpArgs<P>) => (Tensor | null)[] | null;

export interface BatchArgs<P> {
  /** The inputs: each batched input carries the batch axis given in `axes`, the others do not. */
  inputs: Tensor[];
  /** Per input, the position of its batch axis, or null when the input is the same for every example. */
  axes: readonly (number | null)[];
  /** The batch size (the length of every batch axis). */
  size: number;
  params: P;
  /** The primitive being batched (shared rules bind it again on the batched values). */
  prim: Primitive<P>;
}

/**
 * vmap rule: the output for every example at once, computed with public ops (so that it
 * composes with every transform), and the position of its batch axis, or null when the output
 * does not depend on the batch. At least one input is batched when a rule is called.
 */
export type BatchRule<P> = (args: BatchArgs<P>) => { out: Tensor; axis: number | null };

export interface Primitive<P = Record<string, never>> {
  readonly name: string;
  /** Computes the output from concrete inputs with a backend kernel. */
  readonly impl: (inputs: DenseTensor[], params: P) => DenseTensor;
  /**
   * Abstract evaluation: the output's shape and dtype from the inputs' alone, without running
   * anything. The public op has already validated its arguments.
   */
  readonly shape: (inputs: readonly Aval[], params: P) => Aval;
  readonly jvp: JvpRule<P>;
  readonly vjp: VjpRule<P>;
  readonly saves: Saves;
  readonly sparsity: Sparsity<P>;
  /** The vmap rule (src/ops/batching.ts has the shared ones). */
  readonly batch: BatchRule<P>;
  /** True for elementwise ops whose operands broadcast against each other. */
  readonly broadcasts?: boolean;
  /**
   * Accepts int32 operands (indices, labels, integer arithmetic). `bind` refuses int32 for the
   * others with a DTypeError; their public ops promote int32 to float64 first where JAX does.
   */
  readonly integer?: boolean;
  /** Linear in its inputs (jit's transposition and constant folding may read this). */
  readonly linear?: boolean;
  readonly dual?: DualImpl<P>;
  readonly cotangent?: CotangentImpl<P>;
  /**
   * Optional: impl as a kernel bound once for these input types, writing into a given output
   * (of the type `shape` gives). A program's executor calls it with planned buffers, so the
   * equation allocates nothing and looks nothing up. Returns null where it does not apply.
   */
  readonly into?: (inputs: readonly Aval[], params: P) => BoundKernel | null;
  /**
   * Optional: how generated JS computes the op on small values (src/core/emit.ts), for programs
   * that jit compiles to JS. Without it (or where it returns null) the compiled code calls `into`.
   */
  readonly emit?: EmitRule<P>;
  /** Optional: how jit's fusion pass folds this op into a one-pass elementwise chain (Fusion). */
  readonly fusion?: Fusion;
}

/** How generated JS computes a primitive (see src/core/emit.ts for the three forms). */
export type Emit =
  | {
    readonly kind: 'map';
    /** The output element from the operands' elements (JS expressions of numbers). */
    readonly expr: (args: readonly string[]) => string;
    /** Bit-equal to the kernel for every input (else within the measured ulp). */
    readonly exact: boolean;
    /** Functions the expression calls, by the name it uses for them. */
    readonly fns?: Readonly<Record<string, (...xs: number[]) => number>>;
  }
  | { readonly kind: 'gather'; readonly index: Int32Array }
  | { readonly kind: 'sum'; readonly outer: number; readonly len: number };

/** The generated-code rule of a primitive for these input types (null: use the kernel). */
export type EmitRule<P> = (inputs: readonly Aval[], params: P) => Emit | null;

/**
 * What jit's fusion pass (src/staging/fuse.ts) may do with a primitive: `map`, an elementwise op
 * that applies the elementwise kernel of that name per element (broadcasting its operands);
 * `sum`, a reduction a chain may end in (over all axes or trailing ones).
 */
export type Fusion = { readonly map: string } | { readonly reduce: 'sum' };

/**
 * An impl made from a bound kernel: allocates the output the shape rule gives and runs the
 * kernel on the (live) inputs, so the eager path and a program's planned path share one body.
 */
export function implFromKernel<P>(name: string, shape: (inputs: readonly Aval[], params: P) => Aval,
  into: (inputs: readonly Aval[], params: P) => BoundKernel): (inputs: DenseTensor[], params: P) => DenseTensor {
  return (inputs, params) => {
    const aval = shape(inputs, params);
    const out = empty(aval.shape, aval.dtype, name);
    into(inputs, params)(out.liveBuffer(name), inputs.map((x) => x.liveBuffer(name)));
    return out;
  };
}

/** The params of a primitive that has none: one shared object, so a tape stores nothing for it. */
export const NO_PARAMS: Record<string, never> = Object.freeze({});

const registry: Primitive<unknown>[] = [];

export function definePrimitive<P = Record<string, never>>(p: Primitive<P>): Primitive<P> {
  registry.push(p as Primitive<unknown>);
  return p;
}

/** @internal every primitive defined so far (the tests walk them all). */
export function allPrimitives(): readonly Primitive<unknown>[] {
  return registry;
}

/**
 * A linear primitive declared once: `apply` is the op itself on a value with a leading chunk
 * axis of k directions (so it pushes tangents), and `transpose` maps a chunked output cotangent
 * to one per input. Both derivative rules come from these two, as JAX's `deflinear`.
 */
export interface LinearSpec<P> {
  readonly name: string;
  readonly impl: (inputs: DenseTensor[], params: P) => DenseTensor;
  readonly shape: (inputs: readonly Aval[], params: P) => Aval;
  readonly sparsity: Sparsity<P>;
  /** The op on chunked tangents (null: a symbolic zero); returns null when all are zero. */
  readonly apply: (tangents: (Tensor | null)[], args: { avals: readonly Aval[]; params: P }) => Tensor | null;
  /** The transpose on a chunked cotangent [k, ...out.shape]: one cotangent per input. */
  readonly transpose: (ct: Tensor, args: { avals: readonly Aval[]; params: P }) => (Tensor | null)[];
  readonly batch: BatchRule<P>;
  readonly broadcasts?: boolean;
  readonly integer?: boolean;
  readonly dual?: DualImpl<P>;
  readonly into?: Primitive<P>['into'];
  readonly emit?: Primitive<P>['emit'];
  readonly fusion?: Fusion;
}

export function defineLinear<P = Record<string, never>>(spec: LinearSpec<P>): Primitive<P> {
  const { apply, transpose } = spec;
  return definePrimitive<P>({
    name: spec.name,
    impl: spec.impl,
    shape: spec.shape,
    sparsity: spec.sparsity,
    batch: spec.batch,
    broadcasts: spec.broadcasts,
    integer: spec.integer,
    dual: spec.dual,
    into: spec.into,
    emit: spec.emit,
    fusion: spec.fusion,
    linear: true,
    saves: [],
    jvp: ({ inputs, tangents, params }) => apply(tangents, { avals: inputs, params }),
    vjp: ({ ct, avals, params }) => transpose(ct, { avals, params }),
  });
}
