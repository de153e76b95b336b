// Instantiates build/release.wasm directly, without src/backend, so kernel tests exercise the
// exported functions and nothing else. A bump region above heapBase() is handed out per test.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Kernel = (...args: number[]) => number | void;

export interface RawWasm {
  memory: WebAssembly.Memory;
  fn(name: string): Kernel;
  /** Allocates `n` elements of the dtype (16-byte aligned) and optionally writes `values`. */
  alloc(dtype: 'f64' | 'f32' | 'i32', n: number, values?: ArrayLike<number>): number;
  read(dtype: 'f64' | 'f32' | 'i32', ptr: number, n: number): number[];
  reset(): void;
}

export function loadRawWasm(): RawWasm {
  const path = fileURLToPath(new URL('../../build/release.wasm', import.meta.url));
  const module = new WebAssembly.Module(readFileSync(path));
  const instance = new WebAssembly.Instance(module, { env: { abort() { throw new Error('abort'); } } });
  const exports = instance.exports as Record<string, unknown>;
  const memory = exports.memory as WebAssembly.Memory;
  const base = (exports.heapBase as () => number)();
  let top = base;
  const bytesOf = { f64: 8, f32: 4, i32: 4 } as const;
  const view = (dtype: 'f64' | 'f32' | 'i32') =>
    dtype === 'f64' ? new Float64Array(memory.buffer) : dtype === 'f32' ? new Float32Array(memory.buffer) : new Int32Array(memory.buffer);
  return {
    memory,
    fn(name) {
      const f = exports[name];
      if (typeof f !== 'function') throw new Error(`kernel ${name} is not exported`);
      return f as Kernel;
    },
    alloc(dtype, n, values) {
      const ptr = top;
      const bytes = Math.max(16, Math.ceil((n * bytesOf[dtype]) / 16) * 16) + 16;
      top += bytes;
      const needed = top - memory.buffer.byteLength;
      if (needed > 0) memory.grow(Math.ceil(needed / 65536));
      if (values) view(dtype).set(Array.from(values), ptr / bytesOf[dtype]);
      return ptr;
    },
    read(dtype, ptr, n) {
      return Array.from(view(dtype).subarray(ptr / bytesOf[dtype], ptr / bytesOf[dtype] + n));
    },
    reset() { top = base; },
  };
}

/** mulberry32: a small seeded PRNG for kernel tests, so every failure reproduces. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
