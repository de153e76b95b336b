// fori with JS-number bounds, and scan without a budget, under a tape whose values are a jit
// trace's (jit(grad(f)), and the backward programs grad(jit(f)) traces). The loop stays two loop
// equations instead of being unrolled into the gradient program: a forward equation that
// outputs the final carry, scan's ys stacked, and the carry before every step stacked
// ([n, ...shape] per leaf), and, when cotangents flow, a backward loop over the steps in
// reverse that runs the VJP of one step, traced once into a program (it reads the step's carry from the stacks and accumulates the cotangents of the
// captured values; scan's also reads x_i and y_i's cotangents and outputs the xs' cotangents).
// fori's carry a `structure` (scan's do not yet): when the body and the step's VJP are scalar,
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
  return tapedStagedLoop({ op, n: upper - lower, lower, program, carry: avals, xs: [], ys: [] }, plain, leaves, [], captures, tape, staging);
}

/**
 * A loop of `n` steps as the staged equations see it. fori: `lower` is the first counter value
 * (the step program's leading input), no xs and no ys. scan: `lower` is null, the step program
 * takes (carry, x_i, captures) and returns (carry, y_i); `xs` and `ys` are one row's avals.
 */
export interface TapedLoop {
  readonly op: string;
  readonly n: number;
  readonly lower: number | null;
  readonly program: Program;
  readonly carry: readonly Aval[];
  readonly xs: readonly Aval[];
  readonly ys: readonly Aval[];
}

/**
 * The loop recorded on `tape` over `staging`: a forward equation `<op>_stacked` (outputs the
 * final carry, the ys stacked, then the carry before every step stacked) and, when cotangents
 * flow, `<op>_backward` (runs one step's VJP from the last step to the first; outputs the init
 * carry's cotangents, the differentiated xs' stacked, the differentiated captures'). Returns the
 * final carry then the stacked ys, or null when some input belongs to yet another transform;
 * when nothing is differentiated the loop is `plain`, staged as is.
 */
export function tapedStagedLoop(loop: TapedLoop, plain: StagedCall, carry: Tensor[], xs: Tensor[], captures: readonly Tensor[],
  tape: TapeTrace, staging: StagingTrace): Tensor[] | null {
  const { op, n, lower, program, carry: avals } = loop;
  const k = carry.length, nx = xs.length, ny = loop.ys.length;
  const inputs = [...carry, ...xs, ...captures];
  const primals = tape.unpack(inputs);
  if (primals.some((p) => p instanceof Tracer && p.trace !== staging)) return null;
  const differentiated = inputs.map((x) => x instanceof TapeVar && x.trace === tape);
  const stackOf = (a: Aval): Aval => ({ shape: [n, ...a.shape], dtype: a.dtype });
  const plainAvals = [...avals, ...loop.ys.map(stackOf)];
  if (!differentiated.includes(true)) return staging.emitCall(plain, primals, plainAvals);
  const outAvals = [...plainAvals, ...avals.map(stackOf)];
  const upper = lower === null ? null : lower + n;
  const forward: StagedCall = {
    name: `${op}_stacked`,
    params: lower === null ? { length: n, step: program } : { lower, upper, body: program },
    ...(lower === null ? {} : { structure: { kind: 'fori_stacked', lower, upper: upper!, body: program } as const }),
    // Staged again by an enclosing jit it stays one equation there.
    run: (ins) => stagingTrace()?.emitCall(forward, ins, outAvals) ?? stackedRun(loop, ins),
  };
  const outs = staging.emitCall(forward, primals, outAvals);
  const stacked = outs.slice(k + ny);
  const xsP = primals.slice(k, k + nx), caps = primals.slice(k + nx);
  const diffXs = differentiated.slice(k, k + nx), diffCaps = differentiated.slice(k + nx);
  return recordOutputs(tape, op, inputs, primals, outs.slice(0, k + ny), (cts, rows) => {
    if (cts.every((c) => c === null)) return inputs.map(() => null);
    const batched = (a: Aval): Aval => ({ shape: [rows, ...a.shape], dtype: a.dtype });
    const ctCarry = avals.map((a, j) => cts[j] ?? zeros([rows, ...a.shape], { dtype: a.dtype }));
    const ctYs = loop.ys.map((a, j) => cts[k + j] ?? zeros([rows, n, ...a.shape], { dtype: a.dtype }));
    const ctCaps = caps.flatMap((c, m) => (diffCaps[m] ? [zeros([rows, ...c.shape], { dtype: c.dtype })] : []));
    const dx = loop.xs.filter((_, j) => diffXs[j]);
    // One step's VJP as a program: ([i,] carry, x_i, captures, carry cotangents, y_i's cotangents, capture cotangents so far)
    // -> (carry cotangents before the step, x_i's cotangents, capture cotangents so far).
    const nc = caps.length, na = ctCaps.length;
    const ins = [...(lower === null ? [] : [{ shape: [], dtype: 'float64' } as Aval]), ...avals, ...loop.xs, ...caps.map(avalOf),
      ...avals.map(batched), ...loop.ys.map(batched), ...ctCaps.map((c) => avalOf(c))];
    const vjp = traceProgram(`${op} step vjp`, ins, (all) => {
      const lead = lower === null ? [] : all.slice(0, 1), xsIn = all.slice(lead.length);
      let at = 0;
      const next = (count: number) => xsIn.slice(at, (at += count));
      const c = next(k), x = next(nx), cp = next(nc), ctc = next(k), cty = next(ny), acc = next(na);
      const step = stepVjp(program, lead, c, x, diffXs, cp, diffCaps, ctc, cty, rows);
      return [...step.carry, ...step.xs, ...acc.map((a, m) => add(a, step.captures[m]))];
    });
    const backAvals = [...avals.map(batched), ...dx.map((a) => ({ shape: [rows, n, ...a.shape], dtype: a.dtype })), ...ctCaps.map((c) => avalOf(c))];
    const shape: BackwardShape = { n, lower, avals, xs: nx, ys: ny, diffXs: dx.length, captures: nc, captureCotangents: na };
    const back: StagedCall = {
      name: `${op}_backward`,
      params: lower === null ? { length: n, vjp: vjp.program } : { lower, upper, vjp: vjp.program },
      ...(lower === null ? {} : { structure: { kind: 'fori_backward', lower, upper: upper!, vjp: vjp.program, carries: k, captures: nc, captureCotangents: na } as const }),
      // Staged again by an enclosing jit it stays one equation there.
      run: (ins) => stagingTrace()?.emitCall(back, ins, backAvals) ?? backwardRun(vjp.program, shape, ins),
    };
    const got = staging.emitCall(back, [...stacked, ...xsP, ...caps, ...ctCarry, ...ctYs, ...ctCaps, ...vjp.captures], backAvals);
    let mx = k, mc = k + dx.length;
    return inputs.map((_, i) => (!differentiated[i] ? null : i < k ? got[i] : i < k + nx ? got[mx++] : got[mc++]));
  });
}

/** What the backward equation's run needs to read its inputs. */
interface BackwardShape {
  readonly n: number;
  readonly lower: number | null;
  readonly avals: readonly Aval[];
  readonly xs: number;
  readonly ys: number;
  readonly diffXs: number;
  readonly captures: number;
  readonly captureCotangents: number;
}

/**
 * The backward equation's run: inputs the stacked carries, the xs, the captures, the carry's
 * cotangents, the ys' ([rows, n, ...]), the captures' (zeros) and the VJP program's captures;
 * steps from the last to the first with JS-number indices (a stack of one-element rows is read
 * as numbers). The xs' cotangents are stacked along axis 1 at the end.
 */
function backwardRun(vjp: Program, shape: BackwardShape, ins: readonly Tensor[]): Tensor[] {
  const { n, lower, avals, xs: nx, ys: ny, diffXs, captures: nc, captureCotangents: na } = shape;
  const k = avals.length;
  let at = 0;
  const part = (count: number) => ins.slice(at, (at += count));
  const stacks = part(k), xs = part(nx), caps = part(nc), ctCarry = part(k), ctYs = part(ny), ctCaps = part(na), vjpCaps = ins.slice(at);
  const rowsOf = stacks.map((s) => (s instanceof DenseTensor && s.size === n ? s.data() : null));
  const row = (j: number, index: number) => {
    const r = rowsOf[j];
    if (!r) return take(stacks[j], index, 0);
    const x = scalar(r[index], { dtype: avals[j].dtype });
    return avals[j].shape.length === 0 ? x : reshape(x, avals[j].shape);
  };
  if (nx === 0 && ny === 0) {
    const got = stepLoop([...ctCarry, ...ctCaps], (_, j) => j < n, (acc, j) =>
      execute(vjp, [...(lower === null ? [] : [scalarOf(lower + n - 1 - j, 'float64')]), ...stacks.map((_, l) => row(l, n - 1 - j)), ...caps, ...acc, ...vjpCaps]));
    return distinct(got, ins);
  }
  // With xs or ys each step also yields x_i's cotangents, kept until they are stacked.
  const scope = innermostTrace() === null ? openScope() : null;
  let result: Tensor[] = [];
  try {
    let acc = [...ctCarry, ...ctCaps];
    const perStep: Tensor[][] = [];
    for (let s = n - 1; s >= 0; s--) {
      const out = execute(vjp, [...(lower === null ? [] : [scalarOf(lower + s, 'float64')]), ...stacks.map((_, l) => row(l, s)),
        ...xs.map((x) => take(x, s, 0)), ...caps, ...acc.slice(0, k), ...ctYs.map((c) => take(c, s, 1)), ...acc.slice(k), ...vjpCaps]);
      acc = [...out.slice(0, k), ...out.slice(k + diffXs)];
      perStep.unshift(out.slice(k, k + diffXs));
    }
    result = [...acc.slice(0, k), ...perStep[0].map((_, j) => stack(perStep.map((p) => p[j]), 1)), ...acc.slice(k)];
  } finally {
    if (scope) closeScope(scope, denseInResult(result));
  }
  return distinct(result, ins);
}

/** The forward equation's run: the final carry, the ys stacked, then every leaf's carries before each step, stacked. */
function stackedRun(loop: TapedLoop, ins: readonly Tensor[]): Tensor[] {
  const { n, lower } = loop;
  const k = loop.carry.length, nx = loop.xs.length, ny = loop.ys.length;
  const xs = ins.slice(k, k + nx), caps = ins.slice(k + nx);
  // Outside every transform the temporaries are freed here; under one they are the transform's.
  const scope = innermostTrace() === null ? openScope() : null;
  let result: Tensor[] = [];
  try {
    let carry = ins.slice(0, k);
    const states: Tensor[][] = [], ys: Tensor[][] = [];
    for (let s = 0; s < n; s++) {
      states.push(carry);
      const out = execute(loop.program, [...(lower === null ? [] : [scalarOf(lower + s, 'float64')]), ...carry, ...xs.map((x) => take(x, s, 0)), ...caps]);
      carry = out.slice(0, k);
      ys.push(out.slice(k));
    }
    result = [...carry, ...Array.from({ length: ny }, (_, j) => stack(ys.map((y) => y[j]))), ...carry.map((_, j) => stack(states.map((st) => st[j])))];
  } finally {
    if (scope) closeScope(scope, denseInResult(result));
  }
  return distinct(result, ins);
}

/**
 * One step's VJP, traced into the enclosing jit: the cotangents of the carry before the step,
 * of the differentiated x_i and of the differentiated captures, given the carry's cotangents
 * after it and y_i's (rows leading). `lead` is the counter (fori) or nothing (scan).
 */
function stepVjp(program: Program, lead: Tensor[], carry: Tensor[], xs: Tensor[], diffXs: readonly boolean[], caps: readonly Tensor[],
  diffCaps: readonly boolean[], cts: Tensor[], ctYs: Tensor[], rows: number): { carry: Tensor[]; xs: Tensor[]; captures: Tensor[] } {
  return scoped((scope) => {
    const t = pushTrace((level) => new TapeTrace(level, scope));
    let carryVars: Tensor[], xVars: Tensor[], capVars: Tensor[], result: Tensor[];
    try {
      carryVars = carry.map((x) => t.variable(x));
      xVars = xs.map((x, j) => (diffXs[j] ? t.variable(x) : x));
      capVars = caps.map((x, m) => (diffCaps[m] ? t.variable(x) : x));
      result = execute(program, [...lead, ...carryVars, ...xVars, ...capVars]);
    } finally {
      popTrace(t);
    }
    const seeds = seedsFor(t, result, [...cts, ...ctYs]);
    const wantedVars = [...carryVars, ...xVars.filter((_, j) => diffXs[j]), ...capVars.filter((_, m) => diffCaps[m])];
    const got = backward(t, seeds, wantedVars.map((v) => (v as TapeVar).id), { consume: false, keep: new Set() });
    const filled = got.map((g, w) => g ?? zeros([rows, ...wantedVars[w].shape], { dtype: wantedVars[w].dtype }));
    const k = carry.length, nx = diffXs.filter(Boolean).length;
    return { carry: filled.slice(0, k), xs: filled.slice(k, k + nx), captures: filled.slice(k + nx) };
  }, (r) => denseInResult([...r.carry, ...r.xs, ...r.captures]));
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
