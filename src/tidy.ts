// tidy(fn): deterministic cleanup of everything fn allocated and did not return.
import { ArgumentError } from './errors.js';
import { denseParts } from './core/trace.js';
import { checkFunction, refuseThenable, scoped } from './transforms/util.js';
import { memoryInfo, type MemoryInfo } from './backend/memory.js';
import { Tensor, type DenseTensor } from './tensor/tensor.js';

/**
 * Every tensor reachable from tidy's result through data: arrays, objects of any prototype
 * (plain, null-prototype, class instances: their own data properties, never getters), Maps
 * (keys and values) and Sets. Iterative and cycle-safe. What no walk can see is not kept:
 * a closure's variables and #private fields.
 */
function reachableTensors(result: unknown): DenseTensor[] {
  const out: DenseTensor[] = [];
  const seen = new Set<object>();
  const stack: unknown[] = [result];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object' || seen.has(node)) continue;
    seen.add(node);
    if (node instanceof Tensor) denseParts(node, out);
    else if (ArrayBuffer.isView(node) || node instanceof ArrayBuffer) continue;
    else if (node instanceof Map) for (const [key, value] of node) stack.push(key, value);
    else if (node instanceof Set) for (const value of node) stack.push(value);
    else if (Array.isArray(node)) for (let i = node.length - 1; i >= 0; i--) stack.push(node[i]);
    else {
      for (const d of Object.values(Object.getOwnPropertyDescriptors(node))) if ('value' in d) stack.push(d.value);
    }
  }
  return out;
}

/**
 * Runs `fn` and frees every tensor it created, except those reachable from its result: a
 * tensor, or arrays, objects (plain or class instances), Maps and Sets holding them. Tensors
 * that only a closure or a #private field of the result holds are freed: return them as data.
 * `fn` must be synchronous: tensors created after an `await` would escape, so an async
 * function is refused before it runs.
 * @example const y = tidy(() => exp(x).add(1)); // the exp temporary is freed
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new ArgumentError(`tidy: expected a function, got ${fn === null ? 'null' : typeof fn}.`);
  checkFunction('tidy', fn);
  return scoped(() => {
    const result = fn();
    refuseThenable('tidy', result);
    return result;
  }, reachableTensors);
}

/**
 * Memory in use by tensors. `{resetPeak: true}` starts a new peak measurement after reading.
 * @example memory().bytesInUse
 */
export function memory(options: { resetPeak?: boolean } = {}): MemoryInfo {
  return memoryInfo(options.resetPeak ?? false);
}
