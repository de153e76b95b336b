// Memory discipline for test files: each file leaves memory().bytesInUse as it found it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { memory, tidy } from './api.js';

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
