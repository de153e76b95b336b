// Derivatives of a jitted function, as programs. Under grad, a call records one tape group: the
// forward pass runs the program, and the backward sweep runs a second program, traced once per
// (program, number of cotangent rows, which outputs have a cotangent), that replays the
// program on a tape and pulls the cotangents back: the transpose of the program, staged, so it
// runs at program speed rather than eager speed. It recomputes the forward values it needs
// instead of storing them (as checkpoint does). Under jvp, a call runs a cached program of the
// program's forward derivative for k directions. Both need concrete values at their level;
// deeper nests (grad of grad through jit) replay the program op by op instead.
import { popTrace, pushTrace } from '../core/trace.js';
import { ConcretizationError } from '../errors.js';
import { zeros } from '../tensor/create.js';
import { DenseTensor, type Tensor } from '../tensor/tensor.js';
import type { JvpTrace } from '../transforms/forward.js';
import { claimFor, recordOutputs } from '../transforms/group.js';
import { pushForward } from '../transforms/jvp.js';
import { TapeTrace, TapeVar, backward } from '../transforms/reverse.js';
import { scoped } from '../transforms/util.js';
import { evalProgram, execute, runProgram } from './execute.js';
import { isUnfused, keepUnfused } from './fuse.js';
import type { Program } from './program.js';
import { traceProgram } from './trace.js';

const derived = new WeakMap<Program, Map<string, Program>>();

/** The derived program under `key`, traced on first use. */
function cached(program: Program, key: string, make: () => Program): Program {
  let table = derived.get(program);
  if (!table) derived.set(program, (table = new Map()));
  let p = table.get(key);
  if (!p) {
    table.set(key, (p = make()));
    if (isUnfused(program)) keepUnfused(p);
  }
  return p;
}

const allConcrete = (xs: readonly Tensor[]) => xs.every((x) => x instanceof DenseTensor);

/**
 * The backward program: (inputs, cotangents of the outputs in `withCt`, each [rows, ...out])
 * -> one cotangent per input, [rows, ...input].
 */
function transposed(program: Program, rows: number, withCt: readonly boolean[]): Program {
  const key = `vjp:${rows}:${withCt.map((w) => (w ? 1 : 0)).join('')}`;
  return cached(program, key, () => {
    const inAvals = program.inputAvals;
    const ctAvals = program.outputAvals.flatMap((a, j) => (withCt[j] ? [{ shape: [rows, ...a.shape], dtype: a.dtype }] : []));
    return traceProgram('jit (backward)', [...inAvals, ...ctAvals], (ins) => {
      const xs = ins.slice(0, inAvals.length);
      const cts = ins.slice(inAvals.length);
      return scoped((scope) => {
        const trace = pushTrace((level) => new TapeTrace(level, scope));
        let vars: TapeVar[];
        let outs: Tensor[];
        try {
          vars = xs.map((x) => trace.variable(x));
          outs = evalProgram(program, vars);
        } finally {
          popTrace(trace);
        }
        const seeds = new Map<number, Tensor>();
        let c = 0;
        outs.forEach((o, j) => {
          if (!withCt[j]) return;
          const ct = cts[c++];
          if (!(o instanceof TapeVar && o.trace === trace)) return;
          const prev = seeds.get(o.id);
          seeds.set(o.id, prev ? prev.add(ct) : ct);
        });
        const got = backward(trace, seeds, vars.map((v) => v.id), { consume: true, keep: new Set() });
        return got.map((g, i) => g ?? zeros([rows, ...xs[i].shape], { dtype: xs[i].dtype }));
      });
    }, true).program;
  });
}

/** A jitted call under grad (inputs at `trace`'s level, concrete primals): one tape group. */
export function tapedCall(program: Program, trace: TapeTrace, inputs: Tensor[], op: string): Tensor[] | null {
  const primals = trace.unpack(inputs);
  if (!allConcrete(primals)) return null;
  const outs = runProgram(program, primals as DenseTensor[]);
  claimFor(trace, primals);
  return recordOutputs(trace, op, inputs, primals, outs, (cts, rows) => {
    const withCt = cts.map((c) => c !== null);
    const back = transposed(program, rows, withCt);
    return execute(back, [...primals, ...(cts.filter((c) => c !== null) as Tensor[])]);
  });
}

/** The forward-derivative program: (inputs, tangents [k, ...input] of those in `withT`) -> (outputs, output tangents). */
function linearized(program: Program, k: number, withT: readonly boolean[]): Program {
  const key = `jvp:${k}:${withT.map((w) => (w ? 1 : 0)).join('')}`;
  return cached(program, key, () => {
    const inAvals = program.inputAvals;
    const tAvals = inAvals.flatMap((a, i) => (withT[i] ? [{ shape: [k, ...a.shape], dtype: a.dtype }] : []));
    return traceProgram('jit (forward derivative)', [...inAvals, ...tAvals], (ins) => {
      const xs = ins.slice(0, inAvals.length);
      let t = inAvals.length;
      const ts = withT.map((w) => (w ? ins[t++] : null));
      const r = pushForward((...a: Tensor[]) => evalProgram(program, a), xs, ts as Tensor[], k, (l) => l, 'jit');
      const outT = r.tangents.map((tan, j) => tan ?? zeros([k, ...r.primals[j].shape], { dtype: r.primals[j].dtype }));
      return [...r.primals, ...outT];
    }, true).program;
  });
}

// Programs whose forward derivative cannot be staged: a whileLoop whose condition reads a value
// that carries a tangent has a step count known only when it runs (an adaptive ODE solver).
const unstageable = new WeakMap<Program, Set<string>>();

/** The forward-derivative program, or null when it cannot be traced (the call is then replayed op by op). */
function linearizedOrNull(program: Program, k: number, withT: readonly boolean[]): Program | null {
  const key = `${k}:${withT.join()}`;
  if (unstageable.get(program)?.has(key)) return null;
  try {
    return linearized(program, k, withT);
  } catch (e) {
    if (!(e instanceof ConcretizationError)) throw e;
    let keys = unstageable.get(program);
    if (!keys) unstageable.set(program, (keys = new Set()));
    keys.add(key);
    return null;
  }
}

/** A jitted call under jvp (concrete primals and tangents at `trace`'s level); null: replay it. */
export function forwardCall(program: Program, trace: JvpTrace, inputs: Tensor[]): Tensor[] | null {
  const { primals, tangents } = trace.unpack(inputs);
  const given = tangents.filter((t): t is Tensor => t !== null);
  if (!allConcrete(primals) || !allConcrete(given)) return null;
  const withT = tangents.map((t) => t !== null);
  const lin = linearizedOrNull(program, trace.chunk, withT);
  if (lin === null) return null;
  const outs = runProgram(lin, [...primals, ...given] as DenseTensor[]);
  const n = program.outputs.length;
  return outs.slice(0, n).map((o, j) => trace.wrap(o, outs[n + j]));
}
