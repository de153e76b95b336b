// The online checkpointing schedule on its own (src/checkpoint/online.ts): which states it
// keeps, that its backward plan is executable and turns every step once, and its costs
// against offline Revolve: body calls within 1.25x, snapshots within the budget.
import { describe, expect, it } from 'vitest';
import { ArgumentError } from './helpers/api.js';
import { simulateSchedule } from './helpers/schedule.js';
import { OnlineSchedule, backwardPlan, offlineCalls, onlineCost, snapshotsFor } from '../src/checkpoint/online.js';
import { optimalAdvances } from '../src/checkpoint/revolve.js';

function keptAfter(steps: number, s: number): readonly number[] {
  const plan = new OnlineSchedule(s);
  for (let i = 1; i < steps; i++) plan.arrive(i);
  return plan.kept;
}

describe('OnlineSchedule', () => {
  it('keeps every state while the budget lasts', () => {
    expect(keptAfter(4, 5)).toEqual([0, 1, 2, 3]);
  });

  it('never holds more than s states, always keeps state 0, and keeps them in order', () => {
    for (const s of [1, 2, 3, 7]) {
      const plan = new OnlineSchedule(s);
      for (let i = 1; i < 500; i++) {
        const { keep, evict } = plan.arrive(i);
        expect(plan.kept.length).toBeLessThanOrEqual(s);
        expect(plan.kept[0]).toBe(0);
        if (evict !== null) expect(keep).toBe(true);
        expect(plan.kept.every((p, j) => j === 0 || p > plan.kept[j - 1])).toBe(true);
      }
    }
  });

  it('with one snapshot keeps only state 0', () => {
    expect(keptAfter(100, 1)).toEqual([0]);
  });

  it('rejects states out of order and bad budgets', () => {
    const plan = new OnlineSchedule(3);
    expect(() => plan.arrive(2)).toThrow(ArgumentError);
    expect(() => new OnlineSchedule(0)).toThrow(ArgumentError);
    expect(() => new OnlineSchedule(2.5)).toThrow(/integer >= 1/);
  });
});

describe('backwardPlan', () => {
  it('turns every step once, last first, from states it holds, within s slots', () => {
    for (const s of [1, 2, 3, 5, 10]) {
      for (const l of [1, 2, 3, s, s + 1, 2 * s + 3, 57, 200]) {
        const kept = keptAfter(l, s);
        const { turns, peak, advances } = simulateSchedule(backwardPlan(kept, l, s), kept, null);
        expect(turns).toEqual(Array.from({ length: l }, (_, i) => l - 1 - i));
        expect(peak).toBeLessThanOrEqual(s);
        expect(advances + 2 * l).toBe(onlineCost(l, s).total);
      }
    }
  });

  it('rejects kept positions that do not fit the loop', () => {
    expect(() => backwardPlan([1, 2], 5, 3)).toThrow(ArgumentError);
    expect(() => backwardPlan([0, 3, 2], 5, 3)).toThrow(/increasing/);
    expect(() => backwardPlan([0, 1, 2, 3], 5, 3)).toThrow(/at most 3/);
  });
});

describe('online cost against offline Revolve', () => {
  it('offlineCalls is l + t + 1 with t = r l - C(s + r, s + 1)', () => {
    // s = 10, l = 10000: r = 7 (C(16, 10) = 8008 < 10000 <= C(17, 10) = 19448), t = 70000 - C(17, 11) = 57624.
    expect(offlineCalls(10000, 10)).toBe(10000 + 57624 + 1);
    expect(optimalAdvances(10000, 10)).toBe(57624);
    expect(offlineCalls(1, 3)).toBe(2);
    expect(offlineCalls(0, 3)).toBe(0);
  });

  it('equals the store-everything cost (2l) when s >= l', () => {
    for (const l of [1, 2, 5, 9]) expect(onlineCost(l, 10)).toEqual({ forward: l, advances: 0, turns: l, total: 2 * l, peakSnapshots: l });
  });

  /** The worst ratio over l = 1..maxSteps, from one run of the schedule. */
  function worstRatio(s: number, maxSteps: number): { ratio: number; steps: number } {
    const plan = new OnlineSchedule(s);
    let worst = { ratio: 0, steps: 0 };
    for (let l = 1; l <= maxSteps; l++) {
      const ratio = (2 * l + plan.advancesIfEnded(l)) / offlineCalls(l, s);
      if (ratio > worst.ratio) worst = { ratio, steps: l };
      plan.arrive(l);
    }
    return worst;
  }

  it('advancesIfEnded counts what the backward plan does', () => {
    for (const [l, s] of [[1, 3], [7, 3], [100, 4], [1000, 10]]) {
      const plan = new OnlineSchedule(s);
      for (let i = 1; i < l; i++) plan.arrive(i);
      expect(2 * l + plan.advancesIfEnded(l)).toBe(onlineCost(l, s).total);
    }
  });

  it('stays within 1.25x of offline Revolve for s = 2..12 and every l up to 2000', () => {
    for (let s = 2; s <= 12; s++) expect(worstRatio(s, 2000).ratio).toBeLessThanOrEqual(1.25);
  });

  it('stays within 1.25x for s = 5, 10, 20, 50 and every l up to 100,000', () => {
    for (const s of [5, 10, 20, 50]) expect(worstRatio(s, 100000).ratio).toBeLessThanOrEqual(1.25);
  }, 120000);

  it('with s = 1 re-runs from state 0: l - 1 calls more than offline Revolve', () => {
    for (const l of [2, 3, 10, 100]) expect(onlineCost(l, 1).total - offlineCalls(l, 1)).toBe(l - 1);
  });

  it('holds at most s snapshots at once', () => {
    for (const s of [1, 2, 5, 10, 50]) {
      for (const l of [1, 2, s, s + 1, 1000, 10000]) expect(onlineCost(l, s).peakSnapshots).toBeLessThanOrEqual(Math.min(s, l));
    }
  });
});

describe('snapshotsFor', () => {
  it('finds the least budget whose offline cost is within the factor', () => {
    const s = snapshotsFor(10000, 10);
    expect(offlineCalls(10000, s)).toBeLessThanOrEqual(10 * 10000);
    expect(offlineCalls(10000, s - 1)).toBeGreaterThan(10 * 10000);
  });
});
