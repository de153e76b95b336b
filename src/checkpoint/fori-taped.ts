// fori with JS-number bounds under a tape whose values are a jit trace's (jit(grad(f)), and the
// backward programs grad(jit(f)) traces). The loop stays two loop equations instead of being
// unrolled into the gradient program: a forward equation that outputs the final carry and the
// carry before every step stacked ([n, ...shape] per leaf), and, when cotangents flow, a
// backward loop over the steps in reverse that runs the VJP of one step, traced once into a
// program (it reads the step's carry from the stacks and accumulates the cotangents of the
// captured values). Both carry a `structure`: when the body and the step's VJP are scalar,
// generated code (codegen.ts) writes each as one JS loop over numbers, the stacks as arrays in
// wasm memory; otherwise the interpreter runs stackedRun and backwardRun below. Staged again by
// an enclosing jit, both stay one equation each.
import type { Aval } from '../core/primitive.js';
import { Tracer, innermostTrace, popTrace, pushTrace } from '../core/trace.js';
import { scalarOf } from '../ops/convert.js';
import { add } from '../ops/elementwise.js';
import { take } from '../ops/indexing.js';
import { reshape, stack } from '../ops/shape.js';
import { scalar, zeros } from '../tensor/create.js';
import { closeScope, openScope } from '../tensor/scope.js';
import { DenseTensor, type Tensor } from '../tensor/tensor.js';
import { recordOutputs } from '../transforms/group.js';
import { TapeTrace, TapeVar, backward, seedsFor } from '../transforms/reverse.js';
import { denseInResult, scoped } from '../transforms/util.js';
import { execute } from '../staging/execute.js';
import type { Program, StagedCall } from '../staging/program.js';
import { traceProgram, type StagingTrace } from '../staging/trace.js';
import { avalOf, staging as stagingTrace, stepLoop } from '../staging/control.js';

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
  const outAvals = [...avals, ...avals.map((a) => ({ shape: [n, ...a.shape], dtype: a.dtype }))];
  const forward: StagedCall = {
    name: `${op}_stacked`,
    params: { lower, upper, body: program },
    structure: { kind: 'fori_stacked', lower, upper, body: program },
    // Staged again by an enclosing jit it stays one equation there.
    run: (ins) => stagingTrace()?.emitCall(forward, ins, outAvals) ?? stackedRun(program, lower, n, k, ins),
  };
  const outs = staging.emitCall(forward, primals, outAvals);
  const stacked = outs.slice(k);
  const caps = primals.slice(k);
  const diffCaps = differentiated.slice(k);
  return recordOutputs(tape, op, inputs, primals, outs.slice(0, k), (cts, rows) => {
    if (cts.every((c) => c === null)) return inputs.map(() => null);
    const batched = (a: Aval): Aval => ({ shape: [rows, ...a.shape], dtype: a.dtype });
    const ctCarry = avals.map((a, j) => cts[j] ?? zeros([rows, ...a.shape], { dtype: a.dtype }));
    const ctCaps = caps.flatMap((c, m) => (diffCaps[m] ? [zeros([rows, ...c.shape], { dtype: c.dtype })] : []));
    // One step's VJP as a program: (i, carry, captures, carry cotangents, capture cotangents so far) -> (carry cotangents before the step, capture cotangents so far).
    const nc = caps.length, na = ctCaps.length;
    const vjp = traceProgram(`${op} step vjp`, [{ shape: [], dtype: 'float64' }, ...avals, ...caps.map(avalOf), ...avals.map(batched), ...ctCaps.map((c) => avalOf(c))], ([i, ...xs]) => {
      const step = stepVjp(program, i, xs.slice(0, k), xs.slice(k, k + nc), diffCaps, xs.slice(k + nc, 2 * k + nc), rows);
      return [...step.carry, ...xs.slice(2 * k + nc).map((a, m) => add(a, step.captures[m]))];
    });
    const backAvals = [...avals.map(batched), ...ctCaps.map((c) => avalOf(c))];
    const back: StagedCall = {
      name: `${op}_backward`,
      params: { lower, upper, vjp: vjp.program },
      structure: { kind: 'fori_backward', lower, upper, vjp: vjp.program, carries: k, captures: nc, captureCotangents: na },
      // Staged again by an enclosing jit it stays one equation there.
      run: (ins) => stagingTrace()?.emitCall(back, ins, backAvals) ?? backwardRun(vjp.program, avals, n, upper, nc, na, ins),
    };
    const got = staging.emitCall(back, [...stacked, ...caps, ...ctCarry, ...ctCaps, ...vjp.captures], backAvals);
    let m = k;
    return inputs.map((_, i) => (!differentiated[i] ? null : i < k ? got[i] : got[m++]));
  });
}

/**
 * The backward equation's run: inputs the stacked carries, the captures, the carry's cotangents,
 * the captures' (zeros) and the VJP program's captures; steps from the last to the first with
 * JS-number indices (a stack of one-element rows is read as numbers).
 */
function backwardRun(vjp: Program, avals: readonly Aval[], n: number, upper: number, nc: number, na: number, ins: readonly Tensor[]): Tensor[] {
  const k = avals.length;
  const stacks = ins.slice(0, k), caps = ins.slice(k, k + nc), vjpCaps = ins.slice(2 * k + nc + na);
  const rowsOf = stacks.map((s) => (s instanceof DenseTensor && s.size === n ? s.data() : null));
  const row = (j: number, index: number) => {
    const r = rowsOf[j];
    if (!r) return take(stacks[j], index, 0);
    const x = scalar(r[index], { dtype: avals[j].dtype });
    return avals[j].shape.length === 0 ? x : reshape(x, avals[j].shape);
  };
  const got = stepLoop(ins.slice(k + nc, 2 * k + nc + na), (_, j) => j < n, (acc, j) =>
    execute(vjp, [scalarOf(upper - 1 - j, 'float64'), ...stacks.map((_, l) => row(l, n - 1 - j)), ...caps, ...acc, ...vjpCaps]));
  return distinct(got, ins);
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
    const seeds = seedsFor(t, result, cts);
    const wantedVars = [...carryVars, ...capVars.filter((_, m) => diffCaps[m])];
    const got = backward(t, seeds, wantedVars.map((v) => (v as TapeVar).id), { consume: false, keep: new Set() });
    const filled = got.map((g, w) => g ?? zeros([rows, ...wantedVars[w].shape], { dtype: wantedVars[w].dtype }));
    return { carry: filled.slice(0, carry.length), captures: filled.slice(carry.length) };
  }, (r) => denseInResult([...r.carry, ...r.captures]));
}

/** Distinct handles: a tensor met twice, or one of `ins`, becomes a new handle on its data. */
export function distinct(outs: Tensor[], ins: readonly Tensor[]): Tensor[] {
  const seen = new Set<Tensor>(ins);
  return outs.map((o) => {
    if (!seen.has(o)) {
      seen.add(o);
      return o;
    }
    return o instanceof DenseTensor ? o.share(o.shape, 'whileLoop') : o;
  });
}
