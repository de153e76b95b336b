// fori with JS-number bounds under a tape whose values are a jit trace's (jit(grad(f)), and the
// backward programs grad(jit(f)) traces). The loop stays two loop equations instead of being
// unrolled into the gradient program: a forward equation that outputs the final carry and the
// carry before every step stacked ([n, ...shape] per leaf), and, when cotangents flow, a
// backward `fori` over the steps in reverse whose body is the traced VJP of one step (it reads
// the step's carry from the stacks and accumulates the cotangents of the captured values).
import type { Aval } from '../core/primitive.js';
import { Tracer, innermostTrace, popTrace, pushTrace } from '../core/trace.js';
import { astype, scalarOf } from '../ops/convert.js';
import { add, sub } from '../ops/elementwise.js';
import { take } from '../ops/indexing.js';
import { stack } from '../ops/shape.js';
import { zeros } from '../tensor/create.js';
import { closeScope, openScope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { recordOutputs } from '../transforms/group.js';
import { TapeTrace, TapeVar, backward } from '../transforms/reverse.js';
import { denseInResult, scoped } from '../transforms/util.js';
import { execute } from '../staging/execute.js';
import type { Program, StagedCall } from '../staging/program.js';
import type { StagingTrace } from '../staging/trace.js';
import { distinct, fori } from './loops.js';

/**
 * The loop recorded on `tape` over `staging`: `program` is the traced body (inputs i, the
 * carry, then `captures`). Returns the final carry, or null when some input belongs to yet
 * another transform.
 */
export function tapedStagedFori(op: string, lower: number, upper: number, program: Program, plain: StagedCall, avals: readonly Aval[],
  leaves: Tensor[], captures: readonly Tensor[], tape: TapeTrace, staging: StagingTrace): Tensor[] | null {
  const inputs = [...leaves, ...captures];
  const primals = tape.unpack(inputs);
  if (primals.some((p) => p instanceof Tracer && p.trace !== staging)) return null;
  const differentiated = inputs.map((x) => x instanceof TapeVar && x.trace === tape);
  if (!differentiated.includes(true)) return staging.emitCall(plain, primals, avals);
  const n = upper - lower, k = leaves.length;
  const forward: StagedCall = { name: `${op}_stacked`, params: { lower, upper, body: program }, run: (ins) => stackedRun(program, lower, n, k, ins) };
  const outs = staging.emitCall(forward, primals, [...avals, ...avals.map((a) => ({ shape: [n, ...a.shape], dtype: a.dtype }))]);
  const stacked = outs.slice(k);
  const caps = primals.slice(k);
  const diffCaps = differentiated.slice(k);
  return recordOutputs(tape, op, inputs, primals, outs.slice(0, k), (cts, rows) => {
    if (cts.every((c) => c === null)) return inputs.map(() => null);
    const ctCarry = avals.map((a, j) => cts[j] ?? zeros([rows, ...a.shape], { dtype: a.dtype }));
    const ctCaps = caps.flatMap((c, m) => (diffCaps[m] ? [zeros([rows, ...c.shape], { dtype: c.dtype })] : []));
    const got = fori(0, n, (j, acc: Tensor[]) => {
      const index = astype(sub(n - 1, j), 'int32');
      const carry = stacked.map((s) => take(s, index, 0));
      const step = stepVjp(program, sub(upper - 1, j), carry, caps, diffCaps, acc.slice(0, k), rows);
      return [...step.carry, ...acc.slice(k).map((a, m) => add(a, step.captures[m]))];
    }, [...ctCarry, ...ctCaps]);
    let m = k;
    return inputs.map((_, i) => (!differentiated[i] ? null : i < k ? got[i] : got[m++]));
  });
}

/** The forward equation's run: the final carry, then every leaf's carries before each step, stacked. */
function stackedRun(program: Program, lower: number, n: number, k: number, ins: readonly Tensor[]): Tensor[] {
  const caps = ins.slice(k);
  // Outside every transform the temporaries are freed here; under one they are the transform's.
  const scope = innermostTrace() === null ? openScope() : null;
  let result: Tensor[] = [];
  try {
    let carry = ins.slice(0, k);
    const states: Tensor[][] = [];
    for (let s = 0; s < n; s++) {
      states.push(carry);
      carry = execute(program, [scalarOf(lower + s, 'float64'), ...carry, ...caps]);
    }
    result = [...carry, ...carry.map((_, j) => stack(states.map((st) => st[j])))];
  } finally {
    if (scope) closeScope(scope, denseInResult(result));
  }
  return distinct(result, ins);
}

/**
 * One step's VJP, traced into the enclosing jit: the cotangents of the carry before step i and
 * of the differentiated captures, given the carry's cotangents after it (rows leading).
 */
function stepVjp(program: Program, i: Tensor, carry: Tensor[], caps: readonly Tensor[], diffCaps: readonly boolean[], cts: Tensor[], rows: number): { carry: Tensor[]; captures: Tensor[] } {
  return scoped((scope) => {
    const t = pushTrace((level) => new TapeTrace(level, scope));
    let carryVars: Tensor[], capVars: Tensor[], result: Tensor[];
    try {
      carryVars = carry.map((x) => t.variable(x));
      capVars = caps.map((x, m) => (diffCaps[m] ? t.variable(x) : x));
      result = execute(program, [i, ...carryVars, ...capVars]);
    } finally {
      popTrace(t);
    }
    const seeds = new Map<number, Tensor>();
    result.forEach((o, j) => {
      if (!(o instanceof TapeVar && o.trace === t)) return;
      const prev = seeds.get(o.id);
      seeds.set(o.id, prev ? add(prev, cts[j]) : cts[j]);
    });
    const wantedVars = [...carryVars, ...capVars.filter((_, m) => diffCaps[m])];
    const got = backward(t, seeds, wantedVars.map((v) => (v as TapeVar).id), { consume: false, keep: new Set() });
    const filled = got.map((g, w) => g ?? zeros([rows, ...wantedVars[w].shape], { dtype: wantedVars[w].dtype }));
    return { carry: filled.slice(0, carry.length), captures: filled.slice(carry.length) };
  }, (r) => denseInResult([...r.carry, ...r.captures]));
}
