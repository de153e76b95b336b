// Carries out a checkpointing schedule on step indices (scan's Revolve schedule, or the online
// schedule's backward plan), checking that every action is possible from the state it finds.
import { expect } from 'vitest';
import type { ScheduleAction } from './api.js';

export interface Simulated {
  /** The steps turned (reversed), in order. */
  turns: number[];
  /** The most snapshot slots held at once. */
  peak: number;
  /** Forward steps taken. */
  advances: number;
}

/**
 * Runs `actions` starting with the states `kept` in slots (slot = step) and the current state at
 * `current` (null: none; restore one first). Every slot must be released by the end.
 */
export function simulateSchedule(actions: readonly ScheduleAction[], kept: readonly number[] = [], current: number | null = 0): Simulated {
  const slots = new Map<number, number>(kept.map((p) => [p, p]));
  let peak = slots.size, advances = 0;
  const turns: number[] = [];
  for (const a of actions) {
    switch (a.kind) {
      case 'advance':
        expect(current, `advance from ${a.from}`).toBe(a.from);
        current = a.to;
        advances += a.to - a.from;
        break;
      case 'takeshot':
        expect(current).toBe(a.step);
        expect(slots.has(a.slot), `slot ${a.slot} is free`).toBe(false);
        slots.set(a.slot, a.step);
        peak = Math.max(peak, slots.size);
        break;
      case 'restore':
        expect(slots.get(a.slot), `slot ${a.slot} holds state ${a.step}`).toBe(a.step);
        current = a.step;
        break;
      case 'release':
        expect(slots.has(a.slot)).toBe(true);
        slots.delete(a.slot);
        break;
      default:
        expect(current, `turn ${a.step}`).toBe(a.step);
        turns.push(a.step);
        current = null;
    }
  }
  expect(slots.size).toBe(0);
  return { turns, peak, advances };
}
