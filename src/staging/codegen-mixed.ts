// Mixed programs compiled whole: a program of small values with a few large ones (inputs read
// through slices, a gradient assembled by pads and adds) is generated code too (codegen.ts), its
// large equations kernel calls on arena slots, where running it interpreted would pay the
// per-equation dispatch on every one of its many small equations.
import type { Program } from './program.js';
import { sizeOf } from '../tensor/shape.js';

/**
 * The most equations with a large value (over SMALL_SIZE elements) a program compiled whole may
 * have (counted by large results), as a fraction of its equations. GradBench's LSTM gradient
 * (148,410 equations on [14] rows and scalars) reads its [1024, 14] sequence and [2, 8, 14]
 * weights through 1,043 slices and builds its weight gradient with 32 pads, adds and reshapes
 * of 224 elements. Compiled whole (its scalar logs as kernel calls, so its bits stay the
 * interpreter's) it ran in 7.0 ms against 26.2 ms interpreted (bench field --quick, same
 * machine and load; hand-written JS 3.8 ms). Programs where large values are more than a sliver
 * (logsumexp, the RK4 ode, an MLP) stay with the interpreter, whose fusion makes one pass over
 * large elementwise chains.
 */
export const LARGE_FRACTION = 0.01;

/**
 * A program of small values (at most `smallSize` elements) but for a few large ones
 * (LARGE_FRACTION) that kernels compute:
 * every large value is an input or constant, or made and read by equations with a bound kernel
 * (generated code calls it on an arena slot) or by gathers (slices, reshapes). No int32 values
 * and no control flow: a staged loop or solver (odeint's whileLoop) with a large value keeps
 * running interpreted, with the kernels' bits.
 */
export function mostlySmall(program: Program, smallSize: number): boolean {
  const { avals, equations } = program;
  if (avals.some((a) => a.dtype === 'int32')) return false;
  const large = (v: number) => sizeOf(avals[v].shape) > smallSize;
  let count = 0;
  for (const eq of equations) {
    if (eq.call) return false;
    if (!eq.inputs.some(large) && !large(eq.out)) continue;
    if (large(eq.out)) count++;
    const ins = eq.inputs.map((v) => avals[v]);
    const emit = eq.prim.emit ? eq.prim.emit(ins, eq.params) : null;
    // Gathers (slices, reshapes) are generated code at any size; the rest must be a kernel.
    if (emit?.kind !== 'gather' && !(eq.prim.into && eq.prim.into(ins, eq.params))) return false;
  }
  return count > 0 && count <= LARGE_FRACTION * equations.length;
}
