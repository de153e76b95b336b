// Running a program. `runProgram` executes it on concrete tensors with each equation's kernel,
// freeing every intermediate right after its last use. `evalProgram` replays it through
// `bind`, so every enclosing transform sees the program's primitives one by one: that is how
// a jitted function is differentiated (a tape of the program, or duals through it), batched or
// inlined into an enclosing jit, without calling the traced function again.
import { bind } from '../core/trace.js';
import { DenseTensor, type Tensor } from '../tensor/tensor.js';
import type { Program } from './program.js';

/** Per equation, the variables that die after it: intermediates not returned by the program. */
function lastUses(program: Program): Int32Array[] {
  const last = new Int32Array(program.avals.length).fill(-1);
  program.equations.forEach((eq, i) => {
    for (const v of eq.inputs) last[v] = i;
  });
  const first = program.inputCount + program.consts.length;
  for (const v of program.outputs) last[v] = -1;
  const dying: number[][] = program.equations.map(() => []);
  for (let v = first; v < last.length; v++) if (last[v] >= 0) dying[last[v]].push(v);
  // An equation whose output nobody reads frees it at once.
  program.equations.forEach((eq, i) => {
    if (last[eq.out] < 0 && !program.outputs.includes(eq.out)) dying[i].push(eq.out);
  });
  return dying.map((d) => Int32Array.from(d));
}

const plans = new WeakMap<Program, Int32Array[]>();

/** Executes `program` on concrete `inputs` (its inputs, then its captures). */
export function runProgram(program: Program, inputs: readonly DenseTensor[]): DenseTensor[] {
  let dying = plans.get(program);
  if (!dying) plans.set(program, (dying = lastUses(program)));
  const env: (DenseTensor | undefined)[] = new Array(program.avals.length);
  for (let i = 0; i < inputs.length; i++) env[i] = inputs[i];
  const consts = program.consts;
  for (let c = 0; c < consts.length; c++) env[program.inputCount + c] = consts[c];
  const equations = program.equations;
  const args: DenseTensor[] = [];
  try {
    for (let i = 0; i < equations.length; i++) {
      const eq = equations[i];
      const ins = eq.inputs;
      args.length = ins.length;
      for (let j = 0; j < ins.length; j++) args[j] = env[ins[j]]!;
      env[eq.out] = eq.prim.impl(args, eq.params);
      const d = dying[i];
      for (let j = 0; j < d.length; j++) {
        env[d[j]]!.dispose();
        env[d[j]] = undefined;
      }
    }
  } catch (e) {
    const firstOwn = program.inputCount + consts.length;
    for (let v = firstOwn; v < env.length; v++) env[v]?.dispose();
    throw e;
  }
  // Outputs never alias the caller's inputs or the program's constants.
  const firstOwn = program.inputCount + consts.length;
  const seen = new Set<number>();
  return program.outputs.map((v) => {
    const t = env[v]!;
    if (v < firstOwn || seen.has(v)) return t.share(t.shape, 'jit');
    seen.add(v);
    return t;
  });
}

/** Replays `program` on `inputs` (its inputs, then its captures) through bind. */
export function evalProgram(program: Program, inputs: readonly Tensor[]): Tensor[] {
  const env: Tensor[] = new Array(program.avals.length);
  for (let i = 0; i < inputs.length; i++) env[i] = inputs[i];
  for (let c = 0; c < program.consts.length; c++) env[program.inputCount + c] = program.consts[c];
  for (const eq of program.equations) {
    env[eq.out] = bind(eq.prim, eq.inputs.map((v) => env[v]), eq.params);
  }
  return program.outputs.map((v) => {
    const t = env[v];
    return v < program.inputCount + program.consts.length && t instanceof DenseTensor ? t.share(t.shape, 'jit') : t;
  });
}
