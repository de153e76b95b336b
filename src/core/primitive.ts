// The Primitive: the unit every transform understands. Each primitive is declared once, in its
// family's file in src/ops/, with its impl and both derivative rules side by side. The rule
// slots are required fields, so a primitive without a jvp or vjp rule does not compile.
import type { DenseTensor, Tensor } from '../tensor/tensor.js';

/**
 * Forward rule. `tangents[i]` is null (a symbolic zero) or has shape [k, ...ones, ...shape_i]:
 * a leading chunk of k directions, then, for broadcasting primitives, size-1 axes up to the
 * output's rank so that NumPy broadcasting against primal operands lines up. Returns the
 * output tangent, broadcastable to [k, ...out.shape], or null when it is zero.
 */
export type JvpRule<P> = (primals: Tensor[], tangents: (Tensor | null)[], out: Tensor, params: P) => Tensor | null;

/**
 * Reverse rule. `cotangent` has shape [k, ...out.shape] (k rows of output cotangents). Returns
 * per input a cotangent broadcastable to [k, ...out.shape] (the tape sums it down to the
 * input's shape: broadcasting is undone once, for all primitives) or null for no dependence.
 * `wanted[i]` is false for inputs that are constants of the tape: a rule may return null for
 * them instead of computing a cotangent nobody reads (matmul skips a whole GEMM this way).
 */
export type VjpRule<P> = (cotangent: Tensor, primals: Tensor[], out: Tensor, params: P, wanted: readonly boolean[]) => (Tensor | null)[];

/**
 * Optional fused forward pass on concrete values: the output and its tangent [k, ...out.shape]
 * from one kernel call, equal to impl followed by the jvp rule (the forward-mode tests check
 * this to the bit). `tangents[i]` is null or has shape [k, ...shape_i] and input i's dtype.
 * Returns null to decline; the trace then runs impl and the rule.
 */
export type DualImpl<P> = (primals: DenseTensor[], tangents: (DenseTensor | null)[], k: number, params: P) => [DenseTensor, DenseTensor] | null;

export interface Primitive<P = Record<string, never>> {
  readonly name: string;
  /** True for elementwise ops whose operands broadcast against each other. */
  readonly broadcasts?: boolean;
  /** Computes the output from concrete inputs with a backend kernel. */
  readonly impl: (inputs: DenseTensor[], params: P) => DenseTensor;
  readonly jvp: JvpRule<P>;
  readonly vjp: VjpRule<P>;
  readonly dual?: DualImpl<P>;
}

export function definePrimitive<P = Record<string, never>>(p: Primitive<P>): Primitive<P> {
  return p;
}
