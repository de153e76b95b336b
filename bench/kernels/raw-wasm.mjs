// The kernel benches time build/release.wasm directly, without the library around it: this
// instantiates it and hands out a bump region above heapBase().
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';

export function instantiate() {
  const path = fileURLToPath(new URL('../../build/release.wasm', import.meta.url));
  const module = new WebAssembly.Module(readFileSync(path));
  const instance = new WebAssembly.Instance(module, { env: { abort() { throw new Error('abort'); } } });
  const exports = instance.exports;
  let top = exports.heapBase();
  const alloc = (bytes) => {
    const ptr = top;
    top += Math.ceil(bytes / 16) * 16;
    const needed = top - exports.memory.buffer.byteLength;
    if (needed > 0) exports.memory.grow(Math.ceil(needed / 65536));
    return ptr;
  };
  return { exports, alloc, reset: () => { top = exports.heapBase(); } };
}

/** Mean seconds per call of fn, timed by benchmark.js with the given settings. */
export function meanSeconds(name, fn, settings) {
  const bench = new Benchmark(name, fn, settings);
  bench.run({ async: false });
  if (bench.error) throw bench.error;
  return bench.stats.mean;
}
