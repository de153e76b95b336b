// tidy(fn): deterministic cleanup of everything fn allocated and did not return.
import { ArgumentError } from './errors.js';
import { scoped } from './transforms/util.js';
import { memoryInfo, type MemoryInfo } from './backend/memory.js';

/**
 * Runs `fn` and frees every tensor it created, except those in its result (a tensor or a
 * tree of them). `fn` must be synchronous: tensors created after an `await` would escape.
 * @example const y = tidy(() => exp(x).add(1)); // the exp temporary is freed
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new ArgumentError(`tidy: expected a function, got ${typeof fn}.`);
  return scoped(() => {
    const result = fn();
    if (result && typeof (result as { then?: unknown }).then === 'function') {
      throw new ArgumentError('tidy: fn returned a Promise. tidy cannot track tensors created after an await; keep the async work outside and call tidy on the synchronous parts (or dispose tensors yourself).');
    }
    return result;
  });
}

/**
 * Memory in use by tensors. `{resetPeak: true}` starts a new peak measurement after reading.
 * @example memory().bytesInUse
 */
export function memory(options: { resetPeak?: boolean } = {}): MemoryInfo {
  return memoryInfo(options.resetPeak ?? false);
}
