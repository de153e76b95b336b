// Online checkpointing, as pure logic: reversing a loop whose length is unknown until it ends
// (whileLoop) with at most s snapshots of its state. Revolve (revolve.ts) places snapshots
// optimally but needs the length l up front; here the forward sweep decides as each state
// arrives which ones to keep, and once the loop has ended (l known) the backward sweep reverses
// each segment between two kept states with offline Revolve, using the slots the segments
// before it leave free.
//
// The placement rule is a greedy one on the exact cost model: when a state arrives and every
// slot is full, it either drops that state or evicts the kept state whose removal makes
// "reverse the loop if it ended at the next step" cheapest, counting each segment's Revolve
// cost with the slots it would have (segment j, from the j-th kept state, gets s - j slots).
// The shape of the idea (thin the snapshots as the loop grows, then Revolve the segments) is
// that of Stumm and Walther, "New algorithms for optimal online checkpointing" (SIAM J. Sci.
// Comput. 32(2), 2010) and of the dynamic checkpointing of Wang, Moin and Iaccarino, "Minimal
// repetition dynamic checkpointing algorithm for unsteady adjoint calculation" (SIAM J. Sci.
// Comput. 31(4), 2009); the cost-greedy eviction is ours. With s >= 2 its total cost stays
// within 1.25x of offline Revolve's for every l (tested for s = 2..12 and every l up to 2000,
// and s = 5, 10, 20, 50 and every l up to 10^5; for s >= 3 the worst ratio is at l = s + 1,
// where offline Revolve knows to skip a snapshot; for s = 2 it is 1.18 at l = 15). With s = 1 there is nothing to choose: the loop
// is re-run from state 0 for each step, l - 1 calls more than offline (up to 1.29x at l = 3).
import { ArgumentError } from '../errors.js';
import { binomial, optimalAdvances, revolveSchedule, type ScheduleAction } from './revolve.js';

/** The cost table: beta(c, r) = C(c + r, c) for c <= s, grown in r on demand. */
class Binomials {
  private readonly rows: number[][] = [];

  constructor(snapshots: number) {
    for (let c = 0; c <= snapshots + 1; c++) this.rows.push([1]);
  }

  beta(c: number, r: number): number {
    if (r < 0) return 0;
    const row = this.rows[c];
    while (row.length <= r) row.push(binomial(c + row.length, c));
    return row[r];
  }

  /** Untaped step evaluations Revolve needs for m steps with c slots: r m - C(c + r, c + 1). */
  advances(m: number, c: number): number {
    if (m <= 1) return 0;
    const slots = Math.min(c, m);
    let r = 0;
    while (this.beta(slots, r) < m) r++;
    // C(c + r, c + 1) = beta(c + 1, r - 1).
    return r * m - this.beta(slots + 1, r - 1);
  }
}

function checkSnapshots(op: string, snapshots: number): void {
  if (!Number.isInteger(snapshots) || snapshots < 1) {
    throw new ArgumentError(`${op}: the number of snapshots must be an integer >= 1 (the initial state counts as one), got ${snapshots}.`);
  }
}

/**
 * The forward half of the online schedule: which states to keep as they arrive. State 0 (the
 * loop's input) is always kept; call `arrive(i)` for each state i >= 1 that is the input of a
 * step (the loop goes on after it), in order.
 * @example
 * const plan = new OnlineSchedule(3);
 * for (let i = 1; i < 10; i++) plan.arrive(i);
 * plan.kept; // three positions, 0 first
 */
export class OnlineSchedule {
  private readonly positions: number[] = [0];
  private readonly costs: Binomials;
  private last = 0;
  // Scratch for bestEviction, reused from step to step.
  private readonly prefix: Float64Array;
  private readonly shifted: Float64Array;

  constructor(readonly snapshots: number) {
    checkSnapshots('OnlineSchedule', snapshots);
    this.costs = new Binomials(snapshots);
    this.prefix = new Float64Array(snapshots + 1);
    this.shifted = new Float64Array(snapshots + 1);
  }

  /** The kept states' positions, ascending (0 first). */
  get kept(): readonly number[] {
    return this.positions;
  }

  /**
   * Untaped body calls the backward sweep would make if the loop ended after `steps` steps
   * now (steps > the last state that arrived): each segment's Revolve advances.
   */
  advancesIfEnded(steps: number): number {
    const p = this.positions;
    let total = 0;
    for (let j = 0; j < p.length; j++) total += this.costs.advances((j + 1 < p.length ? p[j + 1] : steps) - p[j], this.snapshots - j);
    return total;
  }

  /**
   * State i is a step's input. Returns whether to keep it, and which kept position (if any)
   * to let go to make room.
   */
  arrive(i: number): { keep: boolean; evict: number | null } {
    if (!Number.isInteger(i) || i !== this.last + 1) throw new ArgumentError(`OnlineSchedule.arrive: states must arrive in order; expected ${this.last + 1}, got ${i}.`);
    this.last = i;
    const p = this.positions;
    const s = this.snapshots;
    if (p.length < s) {
      p.push(i);
      return { keep: true, evict: null };
    }
    const k = this.bestEviction(i);
    if (k < 0) return { keep: false, evict: null };
    const evicted = p[k];
    p.splice(k, 1);
    p.push(i);
    return { keep: true, evict: evicted };
  }

  /**
   * The kept index whose eviction (with state i kept) gives the cheapest reversal if the loop
   * ended at step i + 1, or -1 when keeping things as they are is at least as cheap. O(s).
   */
  private bestEviction(i: number): number {
    const p = this.positions;
    const n = p.length;
    const s = this.snapshots;
    const A = (m: number, c: number) => this.costs.advances(m, c);
    const end = (j: number, last: number) => (j + 1 < n ? p[j + 1] : last);
    // prefix[j]: cost of segments 0..j-1 as they stand; shifted[j]: cost of segments j..n-1
    // moved one index down (one more slot each), the last one ending at i.
    const prefix = this.prefix;
    const shifted = this.shifted;
    prefix[0] = 0;
    for (let j = 0; j < n; j++) prefix[j + 1] = prefix[j] + A(end(j, i + 1) - p[j], s - j);
    shifted[n] = 0;
    for (let j = n - 1; j >= 1; j--) shifted[j] = shifted[j + 1] + A(end(j, i) - p[j], s - j + 1);
    let best = -1;
    let bestCost = prefix[n];
    for (let k = 1; k < n; k++) {
      // Evicting p[k] merges segments k-1 and k; the new state starts a one-step segment (cost 0).
      const cost = prefix[k - 1] + A(end(k, i) - p[k - 1], s - k + 1) + shifted[k + 1];
      if (cost < bestCost) {
        bestCost = cost;
        best = k;
      }
    }
    return best;
  }
}

/**
 * The backward sweep once the loop has ended after `steps` steps with the states at `kept`
 * stored: the segments from last to first, each reversed by Revolve with the slots the earlier
 * snapshots leave free. Slots are named by position for the kept states (slot p holds state p)
 * and from `steps` upwards for the ones the sweep makes. All turns are 'youturn'.
 */
export function backwardPlan(kept: readonly number[], steps: number, snapshots: number): ScheduleAction[] {
  checkSnapshots('backwardPlan', snapshots);
  if (kept.length > snapshots || kept[0] !== 0 || kept.some((p, j) => j > 0 && (p <= kept[j - 1] || p >= steps))) {
    throw new ArgumentError(`backwardPlan: kept must be at most ${snapshots} increasing positions starting at 0 and below ${steps}, got [${kept.join(', ')}].`);
  }
  const actions: ScheduleAction[] = [];
  if (steps === 0) return actions;
  for (let j = kept.length - 1; j >= 0; j--) {
    const from = kept[j];
    const to = j + 1 < kept.length ? kept[j + 1] : steps;
    const slot = (q: number) => (q === 0 ? from : steps + q);
    actions.push({ kind: 'restore', slot: from, step: from });
    for (const a of revolveSchedule(to - from, snapshots - j)) {
      switch (a.kind) {
        case 'advance': actions.push({ kind: 'advance', from: a.from + from, to: a.to + from }); break;
        case 'takeshot': if (a.slot !== 0) actions.push({ kind: 'takeshot', slot: slot(a.slot), step: a.step + from }); break;
        case 'restore': actions.push({ kind: 'restore', slot: slot(a.slot), step: a.step + from }); break;
        case 'release': actions.push({ kind: 'release', slot: slot(a.slot) }); break;
        case 'firsturn':
        case 'youturn': actions.push({ kind: 'youturn', step: a.step + from }); break;
      }
    }
  }
  return actions;
}

export interface OnlineCost {
  /** Body calls of the forward sweep (l: every step runs once, untaped). */
  forward: number;
  /** Untaped body calls of the backward sweep (moving from snapshots to the steps to turn). */
  advances: number;
  /** Taped body calls (one per step). */
  turns: number;
  /** forward + advances + turns. */
  total: number;
  /** The most snapshots held at once, in either sweep. */
  peakSnapshots: number;
}

/**
 * Runs the online schedule for a loop that turns out to have `steps` steps, and counts its
 * body calls and snapshots (the same counts the whileLoop executor incurs).
 * @example onlineCost(10000, 10).total // compare offlineCalls(10000, 10)
 */
export function onlineCost(steps: number, snapshots: number): OnlineCost {
  checkSnapshots('onlineCost', snapshots);
  if (!Number.isInteger(steps) || steps < 0) throw new ArgumentError(`onlineCost: the number of steps must be a non-negative integer, got ${steps}.`);
  if (steps === 0) return { forward: 0, advances: 0, turns: 0, total: 0, peakSnapshots: 1 };
  const plan = new OnlineSchedule(snapshots);
  let held = 1, peak = 1;
  for (let i = 1; i < steps; i++) {
    const { keep, evict } = plan.arrive(i);
    if (keep && evict === null) peak = Math.max(peak, ++held);
  }
  let advances = 0, turns = 0;
  const live = new Set(plan.kept);
  for (const a of backwardPlan(plan.kept, steps, snapshots)) {
    if (a.kind === 'advance') advances += a.to - a.from;
    else if (a.kind === 'youturn') turns++;
    else if (a.kind === 'takeshot') {
      live.add(a.slot);
      peak = Math.max(peak, live.size);
    } else if (a.kind === 'release') live.delete(a.slot);
  }
  return { forward: steps, advances, turns, total: steps + advances + turns, peakSnapshots: peak };
}

/**
 * Body calls of offline Revolve for `steps` steps with `snapshots` snapshots: l taped turns,
 * t = r l - C(s + r, s + 1) untaped advances, and the value pass's last step.
 * @example offlineCalls(10000, 10) // 67625
 */
export function offlineCalls(steps: number, snapshots: number): number {
  return steps === 0 ? 0 : steps + optimalAdvances(steps, snapshots) + 1;
}

/**
 * The least snapshot budget whose offline cost is at most `factor` times the l calls of the
 * loop itself: what to suggest when a budget forces heavy recomputation.
 */
export function snapshotsFor(steps: number, factor: number): number {
  let s = 1;
  while (s < steps && offlineCalls(steps, s) > factor * steps) s++;
  return s;
}
