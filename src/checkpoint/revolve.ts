// Checkpointing schedules for reversing a loop of l steps, as pure logic: a list of actions
// that an executor (scan.ts) carries out. The binomial schedule is Griewank and Walther's
// Revolve (ACM TOMS Algorithm 799, 2000): with s snapshots (the initial state counts as one)
// and r the least integer with C(s+r, s) >= l, it reverses the loop with the fewest untaped
// step evaluations, t = r*l - C(s+r, s+1), plus one taped evaluation per step.
import { ArgumentError } from '../errors.js';

/**
 * One instruction of a schedule. The executor holds a current state (initially the state
 * before step 0) and numbered snapshot slots.
 * - advance: run steps from..to-1 without a tape; the current state becomes state `to`.
 * - takeshot: store the current state (state `step`) in `slot`.
 * - restore: the current state becomes the one in `slot` (state `step`).
 * - firsturn / youturn: run step `step` on a tape from the current state and pull the
 *   cotangent back through it (firsturn is the first of them, where the forward sweep ends).
 * - release: `slot` is not restored again; its state may be freed. (Classic Revolve
 *   overwrites slots instead; releasing as soon as possible keeps peak memory low.)
 */
export type ScheduleAction =
  | { kind: 'advance'; from: number; to: number }
  | { kind: 'takeshot'; slot: number; step: number }
  | { kind: 'restore'; slot: number; step: number }
  | { kind: 'firsturn'; step: number }
  | { kind: 'youturn'; step: number }
  | { kind: 'release'; slot: number };

/** C(n, k), exact while the result stays below 2^53. */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  const kk = Math.min(k, n - k);
  let c = 1;
  // c * (n - kk + i) is divisible by i at every step: it is i * C(n - kk + i, i).
  for (let i = 1; i <= kk; i++) c = (c * (n - kk + i)) / i;
  return Math.round(c);
}

/** beta(s, r) = C(s + r, s): the most steps s snapshots reverse with r repetitions. */
function beta(snapshots: number, reps: number): number {
  return reps < 0 ? 0 : binomial(snapshots + reps, snapshots);
}

/** r: the least integer with C(s + r, s) >= l (the most times any step is advanced). */
export function repetitions(steps: number, snapshots: number): number {
  let r = 0;
  while (beta(snapshots, r) < steps) r++;
  return r;
}

/**
 * t = r*l - C(s+r, s+1): the fewest untaped step evaluations (the first forward sweep
 * included) that reverse `steps` steps with `snapshots` snapshots; the l taped ones come on top.
 * @example optimalAdvances(10000, 10) // 57624
 */
export function optimalAdvances(steps: number, snapshots: number): number {
  checkSizes('optimalAdvances', steps, snapshots);
  if (steps === 0) return 0;
  const s = Math.min(snapshots, steps);
  const r = repetitions(steps, s);
  return r * steps - binomial(s + r, s + 1);
}

function checkSizes(op: string, steps: number, snapshots: number): void {
  if (!Number.isInteger(steps) || steps < 0) throw new ArgumentError(`${op}: the number of steps must be a non-negative integer, got ${steps}.`);
  if (!Number.isInteger(snapshots) || snapshots < 1) {
    throw new ArgumentError(`${op}: the number of snapshots must be an integer >= 1 (the initial state counts as one), got ${snapshots}.`);
  }
}

/**
 * The first snapshot position j (steps after the current one) for m steps and c >= 2 slots.
 * Every j in [max(beta(c, r-2), m - beta(c-1, r)), min(beta(c, r-1), m - beta(c-1, r-1))]
 * is optimal (checked against dynamic programming in the tests); taking the lower end puts
 * the most steps into the right part, which is reversed first with c - 1 slots.
 */
function split(m: number, c: number): number {
  const r = repetitions(m, c);
  return Math.max(1, beta(c, r - 2), m - beta(c - 1, r));
}

interface Reverse { kind: 'reverse'; from: number; to: number; slots: number; slot: number }
interface Left { kind: 'left'; from: number; to: number; slots: number; slot: number }

/**
 * The binomial (Revolve) schedule reversing `steps` steps with `snapshots` slots, the initial
 * state in slot 0. Its advances add up to `optimalAdvances(steps, snapshots)`; it has one turn
 * per step, in decreasing order, and never holds more than `snapshots` slots.
 * @example revolveSchedule(3, 2) // takeshot 0, advance 0..1, takeshot 1, advance 1..2, firsturn 2, ...
 */
export function revolveSchedule(steps: number, snapshots: number): ScheduleAction[] {
  checkSizes('revolveSchedule', steps, snapshots);
  const actions: ScheduleAction[] = [];
  if (steps === 0) return actions;
  let turned = false;
  const turn = (step: number) => {
    actions.push(turned ? { kind: 'youturn', step } : { kind: 'firsturn', step });
    turned = true;
  };
  const advance = (from: number, to: number) => {
    if (to > from) actions.push({ kind: 'advance', from, to });
  };
  actions.push({ kind: 'takeshot', slot: 0, step: 0 });
  // An explicit stack instead of recursion: the right parts can nest as deep as the slots.
  const tasks: (Reverse | Left)[] = [{ kind: 'reverse', from: 0, to: steps, slots: Math.min(snapshots, steps), slot: 0 }];
  while (tasks.length > 0) {
    const task = tasks.pop()!;
    const { from, to, slots, slot } = task;
    if (task.kind === 'left') {
      // The right part is reversed: its snapshot is done with; go back to `from`.
      actions.push({ kind: 'release', slot: slot + 1 });
      actions.push({ kind: 'restore', slot, step: from });
      tasks.push({ kind: 'reverse', from, to, slots, slot });
      continue;
    }
    const m = to - from;
    if (m === 1) {
      turn(from);
    } else if (slots === 1) {
      // Only the start is stored: advance from it to each step in turn.
      for (let end = to; end > from; end--) {
        if (end < to) actions.push({ kind: 'restore', slot, step: from });
        advance(from, end - 1);
        turn(end - 1);
      }
    } else if (slots >= m) {
      // Room for every state: one sweep storing each, then turn back through them.
      for (let i = from + 1; i < to; i++) {
        advance(i - 1, i);
        if (i < to - 1) actions.push({ kind: 'takeshot', slot: slot + i - from, step: i });
      }
      turn(to - 1);
      for (let i = to - 2; i >= from; i--) {
        if (i + 1 < to - 1) actions.push({ kind: 'release', slot: slot + i + 1 - from });
        actions.push({ kind: 'restore', slot: slot + i - from, step: i });
        turn(i);
      }
    } else {
      const j = split(m, slots);
      advance(from, from + j);
      actions.push({ kind: 'takeshot', slot: slot + 1, step: from + j });
      tasks.push({ kind: 'left', from, to: from + j, slots, slot });
      tasks.push({ kind: 'reverse', from: from + j, to, slots: slots - 1, slot: slot + 1 });
    }
  }
  actions.push({ kind: 'release', slot: 0 });
  return actions;
}

/**
 * The uniform (sqrt) schedule, for comparison: a snapshot every `segment` steps (default
 * ceil(sqrt(steps))) on the forward sweep; each segment is then replayed once, storing every
 * state in it, and reversed. About 2l untaped steps and l/segment + segment slots.
 */
export function uniformSchedule(steps: number, segment = Math.max(1, Math.ceil(Math.sqrt(steps)))): ScheduleAction[] {
  checkSizes('uniformSchedule', steps, 1);
  if (!Number.isInteger(segment) || segment < 1) throw new ArgumentError(`uniformSchedule: the segment length must be a positive integer, got ${segment}.`);
  const actions: ScheduleAction[] = [];
  if (steps === 0) return actions;
  const segments = Math.ceil(steps / segment);
  actions.push({ kind: 'takeshot', slot: 0, step: 0 });
  for (let q = 1; q < segments; q++) {
    actions.push({ kind: 'advance', from: (q - 1) * segment, to: q * segment });
    actions.push({ kind: 'takeshot', slot: q, step: q * segment });
  }
  let turned = false;
  // Slots from `segments` on hold the states inside the segment being reversed.
  const inner = (i: number, start: number) => segments + i - start - 1;
  for (let q = segments - 1; q >= 0; q--) {
    const start = q * segment;
    const end = Math.min(start + segment, steps);
    if (q < segments - 1) actions.push({ kind: 'restore', slot: q, step: start });
    for (let i = start + 1; i < end; i++) {
      actions.push({ kind: 'advance', from: i - 1, to: i });
      if (i < end - 1) actions.push({ kind: 'takeshot', slot: inner(i, start), step: i });
    }
    actions.push(turned ? { kind: 'youturn', step: end - 1 } : { kind: 'firsturn', step: end - 1 });
    turned = true;
    for (let i = end - 2; i >= start; i--) {
      if (i + 1 < end - 1) actions.push({ kind: 'release', slot: inner(i + 1, start) });
      actions.push(i > start ? { kind: 'restore', slot: inner(i, start), step: i } : { kind: 'restore', slot: q, step: start });
      actions.push({ kind: 'youturn', step: i });
    }
    actions.push({ kind: 'release', slot: q });
  }
  return actions;
}

export interface ScheduleStats {
  /** Untaped step evaluations (the first forward sweep included). */
  advances: number;
  /** Taped step evaluations (one per step). */
  turns: number;
  /** The most slots held at once. */
  peakSlots: number;
}

/** Counts a schedule's work and memory. */
export function scheduleStats(actions: readonly ScheduleAction[]): ScheduleStats {
  let advances = 0;
  let turns = 0;
  const held = new Set<number>();
  let peakSlots = 0;
  for (const a of actions) {
    if (a.kind === 'advance') advances += a.to - a.from;
    else if (a.kind === 'firsturn' || a.kind === 'youturn') turns++;
    else if (a.kind === 'takeshot') {
      held.add(a.slot);
      peakSlots = Math.max(peakSlots, held.size);
    } else if (a.kind === 'release') held.delete(a.slot);
  }
  return { advances, turns, peakSlots };
}
