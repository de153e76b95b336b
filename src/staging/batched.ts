// vmap of a jitted function, as a program. Under vmap, a call runs a second program, traced
// once per (program, batch size, batch axis of each input): the program replayed under vmap,
// staged. The batched call then runs at program speed (vmap(jit(f)) as fast as jit(vmap(f)))
// instead of replaying the program op by op through the batch rules on every call. Programs
// with loops are replayed (see hasLoop).
import { ConcretizationError } from '../errors.js';
import type { BatchTrace } from '../transforms/batch.js';
import { vmap } from '../transforms/vmap.js';
import type { Tensor } from '../tensor/tensor.js';
import { evalProgram, execute } from './execute.js';
import { Program } from './program.js';
import { traceProgram } from './trace.js';

/**
 * Whether the program (or a branch of it) holds a loop: under vmap a loop runs step by step in
 * JS (a per-example whileLoop must see when every example is done), so a batched program would
 * unroll it, one copy of the body per step. Such programs are replayed instead.
 */
function hasLoop(program: Program): boolean {
  return program.equations.some((eq) => eq.call && (eq.call.name !== 'cond' || Object.values(eq.call.params).some((p) => p instanceof Program && hasLoop(p))));
}

// null: the program cannot be staged batched (a whileLoop whose condition differs per example
// needs a concrete "any example still running"); its calls replay it through the batch rules.
const batchedPrograms = new WeakMap<Program, Map<string, Program | null>>();

/**
 * `program` on the batched inputs of `trace`, outputs batched along axis 0; null when the
 * program does not stage batched (the caller then replays it op by op).
 */
export function batchedCall(program: Program, trace: BatchTrace, inputs: readonly Tensor[]): Tensor[] | null {
  const parts = inputs.map((x) => trace.unwrap(x));
  const axes = parts.map((p) => p.axis);
  const values = parts.map((p) => p.value);
  const key = `${trace.size}:${axes.map((a) => (a === null ? 'n' : a)).join(',')}`;
  let table = batchedPrograms.get(program);
  if (!table) batchedPrograms.set(program, (table = new Map()));
  let batched = table.get(key);
  if (batched === undefined && hasLoop(program)) batched = null;
  if (batched === undefined) {
    const avals = values.map((v) => ({ shape: v.shape, dtype: v.dtype }));
    try {
      batched = traceProgram('vmap(jit)', avals, (ins) => vmap((...xs: Tensor[]) => evalProgram(program, xs), { inAxes: axes })(...ins)).program;
    } catch (e) {
      if (!(e instanceof ConcretizationError)) throw e;
      batched = null;
    }
    table.set(key, batched);
  }
  return batched && execute(batched, values).map((out) => trace.wrap(out, 0));
}
