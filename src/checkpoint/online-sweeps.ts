// The two halves of a budgeted whileLoop as separate runs, for jit(grad(f)): inside a program
// the forward equation hands its snapshots to the backward equation as ordinary values (at most
// s carry states, padded to s so the program's shapes are fixed), so the backward sweep does
// not replay the loop from its start. The body's captured values are explicit arguments here
// (a program's body takes them as inputs), so no closure handling is needed.
import { denseParts, popTrace, pushTrace } from '../core/trace.js';
import { add } from '../ops/elementwise.js';
import { zeros } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { TapeTrace, TapeVar, backward, seedsFor } from '../transforms/reverse.js';
import { scoped } from '../transforms/util.js';
import { OnlineSchedule, backwardPlan } from './online.js';
import { warnIfCostly } from './online-loop.js';
import { StateStore, stateBytes } from './scan-state.js';

/** A body with its captured values as explicit arguments. */
export type ExplicitBody = (carry: Tensor[], captures: readonly Tensor[]) => Tensor[];

/** One untaped step from the store's current state. */
function advance(store: StateStore, body: ExplicitBody, captures: readonly Tensor[]): void {
  store.advance((carry) => body(carry, captures));
}

/**
 * The forward sweep: runs the loop, keeping states as the online schedule says. Returns the
 * final carry, the kept positions (0 first) and their states; the caller owns all of them.
 */
export function forwardSweep(goOn: (carry: Tensor[]) => boolean, body: ExplicitBody, captures: readonly Tensor[], init: Tensor[], snapshots: number): { carry: Tensor[]; kept: number[]; states: Tensor[][]; steps: number } {
  const store = new StateStore();
  const schedule = new OnlineSchedule(snapshots);
  const states = new Map<number, Tensor[]>([[0, init]]);
  store.setCurrent(init);
  store.takeshot(0);
  let i = 0;
  try {
    while (goOn(store.current!)) {
      if (i > 0) {
        const { keep, evict } = schedule.arrive(i);
        if (evict !== null) {
          store.release(evict);
          states.delete(evict);
        }
        if (keep) {
          store.takeshot(i);
          states.set(i, store.current!);
        }
      }
      advance(store, body, captures);
      i++;
    }
  } catch (e) {
    store.clear();
    throw e;
  }
  warnIfCostly('whileLoop', i, snapshots, 2 * i + schedule.advancesIfEnded(i), stateBytes(init));
  const carry = store.current!;
  const kept = [...schedule.kept];
  const held = kept.map((p) => states.get(p)!);
  // What leaves the sweep is the caller's: the store lets go without freeing it.
  for (const s of [carry, ...held]) store.disown(s);
  store.clear();
  return { carry, kept, states: held, steps: i };
}

/**
 * The backward sweep from the forward sweep's snapshots: pulls the final carry's cotangents
 * `cts` (null where none, each [rows, ...leaf]) back to the initial carry and to the captures
 * marked in `wantCaptures`. The snapshots are handles of their own (no other value shares the
 * handle): each is freed as soon as the sweep is done with it, as the eager loop frees its
 * snapshots, so that the sweep never holds more than s states.
 */
export function reverseSweep(body: ExplicitBody, captures: readonly Tensor[], wantCaptures: readonly boolean[], kept: readonly number[],
  states: readonly Tensor[][], steps: number, snapshots: number, cts: (Tensor | null)[], rows: number): { carry: (Tensor | null)[]; captures: (Tensor | null)[] } {
  const store = new StateStore();
  const shapes = states[0].map((t) => ({ shape: t.shape, dtype: t.dtype }));
  kept.forEach((p, j) => {
    store.own(states[j].flatMap((t) => denseParts(t)));
    store.setCurrent(states[j]);
    store.takeshot(p);
  });
  store.setCurrent(null);
  let carryCt = cts;
  let captureCt: (Tensor | null)[] = captures.map(() => null);
  const disposable = new Set<Tensor>();
  const release = (t: Tensor | null) => {
    if (t && disposable.delete(t)) t.dispose();
  };
  try {
    for (const a of backwardPlan(kept, steps, snapshots)) {
      switch (a.kind) {
        case 'advance':
          for (let i = a.from; i < a.to; i++) advance(store, body, captures);
          break;
        case 'takeshot': store.takeshot(a.slot); break;
        case 'restore': store.restore(a.slot); break;
        case 'release': store.release(a.slot); break;
        default: {
          const got = turn(body, store.current!, captures, wantCaptures, carryCt);
          // A result that is one of the seeds (a leaf passed through) is not the turn's own.
          for (const c of got.captures) if (c && !carryCt.includes(c) && !cts.includes(c)) disposable.add(c);
          for (const c of carryCt) if (!got.carry.includes(c) && !got.captures.includes(c)) release(c);
          carryCt = got.carry;
          for (const c of carryCt) if (c && !cts.includes(c)) disposable.add(c);
          captureCt = captureCt.map((prev, j) => {
            const c = got.captures[j];
            if (c === null) return prev;
            if (prev === null) return c;
            const sum = add(prev, c);
            if (!carryCt.includes(prev)) release(prev);
            if (!carryCt.includes(c)) release(c);
            disposable.add(sum);
            return sum;
          });
          store.setCurrent(null);
        }
      }
    }
  } finally {
    store.clear();
  }
  return {
    carry: carryCt.map((c, j) => c ?? zeros([rows, ...shapes[j].shape], { dtype: shapes[j].dtype })),
    captures: captureCt,
  };
}

/** One step taped from `state`, pulled back from the carry's cotangents. */
function turn(body: ExplicitBody, state: Tensor[], captures: readonly Tensor[], wantCaptures: readonly boolean[], carryCt: (Tensor | null)[]): { carry: (Tensor | null)[]; captures: (Tensor | null)[] } {
  if (carryCt.every((c) => c === null)) return { carry: carryCt, captures: captures.map(() => null) };
  const got = scoped((scope) => {
    const trace = pushTrace((level) => new TapeTrace(level, scope));
    let vars: TapeVar[], capVars: Tensor[], out: Tensor[];
    try {
      vars = state.map((s) => trace.variable(s));
      capVars = captures.map((c, j) => (wantCaptures[j] ? trace.variable(c) : c));
      out = body(vars, capVars);
    } finally {
      popTrace(trace);
    }
    const seeds = seedsFor(trace, out, carryCt);
    const wanted = [...vars.map((v) => v.id), ...capVars.map((v) => (v instanceof TapeVar && v.trace === trace ? v.id : -1))];
    return backward(trace, seeds, wanted, { consume: true, keep: new Set() });
  });
  return { carry: got.slice(0, state.length), captures: got.slice(state.length) };
}
