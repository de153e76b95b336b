// Memory discipline for test files: each file leaves memory().bytesInUse as it found it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { memory, tidy, type Tensor } from './api.js';

/** Registers a check, run after the file's tests, that bytesInUse is back to its value before them. */
export function expectMemoryRestored(): void {
  let before = 0;
  beforeAll(() => {
    before = memory().bytesInUse;
  });
  afterAll(() => {
    expect(memory().bytesInUse).toBe(before);
  });
}

/** `it` whose body runs in a tidy scope, so the test frees what it makes. */
export function spec(name: string, body: () => void): void {
  it(name, () => tidy(body));
}

/**
 * Runs `run` twice; the second run must leave bytesInUse as it found it. For jitted functions,
 * which hold their programs and arenas until collected, so a file-level baseline cannot apply.
 */
export function steady<T>(run: () => T): T {
  run();
  const before = memory().bytesInUse;
  const out = run();
  expect(memory().bytesInUse).toBe(before);
  return out;
}

/** The numbers in a tensor or a (nested) list of tensors, which are then disposed. */
export const disposedValues = (ts: unknown): number[] => (Array.isArray(ts) ? ts : [ts]).flatMap((t) => {
  if (Array.isArray(t)) return disposedValues(t);
  const out = Array.from((t as Tensor).data());
  (t as Tensor).dispose();
  return out;
});
