// jit: trace a function once per input signature into a program, then run the program.
import { topTrace, type Tracer } from '../core/trace.js';
import { ArgumentError } from '../errors.js';
import { toTensor } from '../ops/convert.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { flatten, rebuild, type TreeDef } from '../tree.js';
import { checkFunction, scoped } from '../transforms/util.js';
import { JvpTrace } from '../transforms/forward.js';
import { TapeTrace } from '../transforms/reverse.js';
import { forwardCall, tapedCall } from './differentiate.js';
import { batchedCall } from './batched.js';
import { BatchTrace } from '../transforms/batch.js';
import { arenaOf, evalProgram, runProgram } from './execute.js';
import { compiledOf, type Compiled } from './codegen.js';
import type { Aval } from '../core/primitive.js';
import { keepUnfused } from './fuse.js';
import type { Program } from './program.js';
import { traceProgram } from './trace.js';

export interface JitOptions {
  /**
   * Positional arguments passed to f as they are and made part of the cache key (configuration
   * values: sizes, flags, functions). A new value traces f again.
   */
  staticArgnums?: number | readonly number[];
  /**
   * Fuse chains of elementwise ops into one pass over the data (default true). false runs the
   * program one kernel per op, for comparison and debugging; the results are the same bits.
   */
  fuse?: boolean;
}

export interface JitStats {
  /** Times f was traced (one per new signature, and every call whose trace captured a tracer). */
  traces: number;
  /** Calls that reused a cached program. */
  cacheHits: number;
  /** Programs in the cache. */
  programs: number;
  /** Bytes of the planned buffers (arenas) of the cached programs that have run. */
  arenaBytes: number;
  /** The most bytes their planned intermediates hold at once (the arena's lower bound). */
  arenaPeakBytes: number;
}

interface Staged {
  program: Program;
  outDef: TreeDef;
  /** Tracers of enclosing transforms the program reads (then it is not cached). */
  captures: Tracer[];
}

type Fn = (...args: any[]) => any;

export type Jitted<F extends Fn> = F & {
  /** The program f traces to for these arguments (printable with toString()). */
  program(...args: Parameters<F>): Program;
  stats(): JitStats;
};

const RETRACE_WARNING = 10;

/**
 * Compiles f: the first call for an input signature (tree structure, shapes, dtypes and the
 * values of static arguments) traces f with abstract values into a program; later calls with
 * the same signature run the program without calling f. Composes with every transform:
 * grad(jit(f)) differentiates the program, jit(grad(f)) stages the forward and backward
 * sweeps into one program.
 * @example
 * const f = jit((x, y) => sum(mul(sin(x), y)));
 * f(array([1, 2]), 3); // traces once
 * f(array([3, 4]), 5); // runs the cached program
 */
export function jit<F extends Fn>(f: F, options: JitOptions = {}): Jitted<F> {
  checkFunction('jit', f);
  const op = `jit(${f.name || 'anonymous'})`;
  const statics = new Set(typeof options.staticArgnums === 'number' ? [options.staticArgnums] : options.staticArgnums ?? []);
  for (const s of statics) {
    if (!Number.isInteger(s) || s < 0) throw new ArgumentError(`jit: staticArgnums must be non-negative integers, got ${JSON.stringify(options.staticArgnums)}.`);
  }
  if (options.fuse !== undefined && typeof options.fuse !== 'boolean') throw new ArgumentError(`jit: fuse must be true or false, got ${JSON.stringify(options.fuse)}.`);
  const cache = new Map<string, Staged>();
  const stats = { traces: 0, cacheHits: 0, programs: 0 };
  let lastKey: string[] | null = null;
  let warned = false;

  /** The signature of a call: a key per argument (a tensor's is its dtype and shape). */
  const signature = (args: unknown[]) => args.map((a, i) => (statics.has(i) ? `static:${staticKey(a)}` : a instanceof Tensor ? leafKey(a) : treeKey(a, op, i)));

  const stage = (args: unknown[], keys: string[]): Staged => {
    stats.traces++;
    if (stats.traces > RETRACE_WARNING && !warned && lastKey) {
      warned = true;
      const changed = keys.findIndex((k, i) => k !== lastKey![i]);
      console.warn(`${op} has been traced ${stats.traces} times: argument ${changed < 0 ? '(count)' : changed} keeps changing its ${changed >= 0 && statics.has(changed) ? 'static value' : 'shape, dtype or structure'} (now ${changed < 0 ? keys.length + ' arguments' : keys[changed]}, before ${changed < 0 ? lastKey.length + ' arguments' : lastKey[changed]}). Each new signature traces f again; keep shapes fixed, or pass changing configuration values as dynamic arguments.`);
    }
    lastKey = keys;
    const dynamic = args.map((a, i) => (statics.has(i) ? null : a));
    const { leaves, def } = flatten(dynamic, `${op}: argument`);
    const avals = leaves.map((l) => (typeof l === 'number' ? { shape: [], dtype: 'float64' as const, weak: true } : { shape: l.shape, dtype: l.dtype }));
    let outDef: TreeDef | null = null;
    const { program, captures } = traceProgram(op, avals, (inputs) => {
      const trees = rebuild<unknown[]>(def, inputs);
      const call = args.map((a, i) => (statics.has(i) ? a : trees[i]));
      const out = flatten(f(...call), `${op}: the function's output`);
      outDef = out.def;
      return out.leaves.map((l) => toTensor(op, l));
    });
    return { program, outDef: outDef!, captures };
  };

  const lookup = (args: unknown[]): Staged => {
    const keys = signature(args);
    const key = keys.join('|');
    const hit = cache.get(key);
    if (hit) {
      stats.cacheHits++;
      return hit;
    }
    const staged = stage(args, keys);
    if (options.fuse === false) keepUnfused(staged.program);
    if (staged.captures.length === 0) {
      cache.set(key, staged);
      stats.programs = cache.size;
    }
    return staged;
  };

  // The last signature whose program compiled to pure generated code, for calls whose arguments
  // are all concrete tensors: checking their types is cheaper than building the cache key, and
  // the run allocates only its outputs, so it needs no scope.
  let fast: { avals: readonly Aval[]; compiled: Compiled; outputs: (outs: DenseTensor[]) => unknown } | null = null;

  const call = (...args: unknown[]) => {
    if (fast !== null && matches(fast.avals, args)) {
      stats.cacheHits++;
      return fast.outputs(fast.compiled.run(args as DenseTensor[]));
    }
    const staged = lookup(args);
    const dynamic = args.map((a, i) => (statics.has(i) ? null : a));
    const leaves = flatten(dynamic, `${op}: argument`).leaves.map((l) => toTensor(op, l));
    const inputs = [...leaves, ...staged.captures];
    if (statics.size === 0 && staged.captures.length === 0 && matches(staged.program.inputAvals, args)) {
      const compiled = compiledOf(staged.program);
      if (compiled?.pure) fast = { avals: staged.program.inputAvals, compiled, outputs: outputBuilder(staged.outDef) };
    }
    return scoped(() => {
      const top = topTrace(op, inputs);
      let outs: Tensor[] | null = null;
      if (top === null) outs = runProgram(staged.program, inputs as DenseTensor[]);
      else if (staged.captures.length === 0 && top instanceof TapeTrace) outs = tapedCall(staged.program, top, inputs, op);
      else if (staged.captures.length === 0 && top instanceof JvpTrace) outs = forwardCall(staged.program, top, inputs);
      else if (staged.captures.length === 0 && top instanceof BatchTrace) outs = batchedCall(staged.program, top, inputs);
      // Deeper nests, other transforms and captured tracers: replay the program op by op.
      return rebuild(staged.outDef, outs ?? evalProgram(staged.program, inputs));
    });
  };

  return Object.assign(call as F, {
    program: (...args: unknown[]) => lookup(args).program,
    stats: (): JitStats => {
      let arenaBytes = 0, arenaPeakBytes = 0;
      for (const staged of cache.values()) {
        const a = arenaOf(staged.program);
        arenaBytes += a.bytes;
        arenaPeakBytes += a.peakBytes;
      }
      return { ...stats, arenaBytes, arenaPeakBytes };
    },
  }) as Jitted<F>;
}

/** Whether `args` are concrete tensors of exactly these types (then they are the program's inputs). */
function matches(avals: readonly Aval[], args: readonly unknown[]): boolean {
  if (args.length !== avals.length) return false;
  for (let i = 0; i < args.length; i++) {
    const x = args[i], a = avals[i];
    if (!(x instanceof DenseTensor) || x.dtype !== a.dtype) return false;
    const s = x.shape, t = a.shape;
    if (s.length !== t.length) return false;
    for (let d = 0; d < s.length; d++) if (s[d] !== t[d]) return false;
  }
  return true;
}

/** Builds the output tree from the program's outputs; a single leaf or a flat array costs nothing. */
function outputBuilder(def: TreeDef): (outs: DenseTensor[]) => unknown {
  if (def.kind === 'leaf') return (outs) => outs[0];
  if (def.kind === 'array' && def.children.every((c) => c.kind === 'leaf')) return (outs) => outs;
  return (outs) => rebuild(def, outs);
}

function leafKey(t: Tensor): string {
  return `${t.dtype}[${t.shape.join(',')}]`;
}

/** The part of the signature one dynamic argument gives: its tree with leaf shapes and dtypes. */
function treeKey(arg: unknown, op: string, index: number): string {
  const { leaves, def } = flatten(arg, `${op}: argument ${index}`);
  const parts = leaves.map((l) => (l instanceof Tensor ? `${l.dtype}[${l.shape.join(',')}]` : 'number'));
  return `${JSON.stringify(def)}:${parts.join(';')}`;
}

const identities = new WeakMap<object, number>();
let nextIdentity = 0;

/** Static values compare by value when they serialise, by identity otherwise (functions, classes). */
function staticKey(value: unknown): string {
  if (typeof value === 'function' || (typeof value === 'object' && value !== null && !isSerialisable(value))) {
    let id = identities.get(value as object);
    if (id === undefined) identities.set(value as object, (id = nextIdentity++));
    return `#${id}`;
  }
  return JSON.stringify(value) ?? String(value);
}

function isSerialisable(value: object): boolean {
  if (value instanceof Tensor) return false;
  try {
    JSON.stringify(value);
    return true;
  } catch {
    return false;
  }
}
