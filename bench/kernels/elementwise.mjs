// Elementwise kernels against the best plain-JS loop in the same run and against a plain
// typed-array copy (dst.set(src)) of one operand's bytes. Instantiates build/release.wasm
// directly (no src/backend), so it times the kernels alone.
//
//   node bench/kernels/elementwise.mjs [--quick]
//
// run({quick}) returns rows {name, n, dtype, wasmOpsPerSec, jsOpsPerSec, ratio, gbPerSec,
// melemPerSec, copyRatio, sameBytesCopyRatio}: an op is one call over n elements; ratio is
// wasm / JS throughput (> 1: the kernel is faster); gbPerSec counts every byte the kernel
// reads and writes; copyRatio is kernel time / time of dst.set(src) over one operand (a
// binary kernel moves 1.5x those bytes), sameBytesCopyRatio the same against a copy that
// moves as many bytes as the kernel.
import { pathToFileURL } from 'node:url';
import Benchmark from 'benchmark';
import { instantiate } from './raw-wasm.mjs';

const SIZES = [1e3, 1e4, 1e5, 1e6, 1e7];
const QUICK_SIZES = [1e3, 1e6];

const settings = {
  quick: { maxTime: 0.05, minSamples: 3, minTime: 0.01, initCount: 1 },
  full: { maxTime: 0.5, minSamples: 5, minTime: 0.05, initCount: 1 },
};

/**
 * Seconds per call: the median of benchmark.js's per-sample means, which a busy neighbour on
 * a shared machine disturbs less than the mean.
 */
function time(name, fn, quick) {
  // Let the JIT see it first, and V8 swap the wasm baseline code for its optimised tier.
  const start = performance.now();
  for (let i = 0; i < 5 || performance.now() - start < 20; i++) fn();
  const bench = new Benchmark(name, fn, quick ? settings.quick : settings.full);
  bench.run({ async: false });
  if (bench.error) throw bench.error;
  const sample = [...bench.stats.sample].sort((a, b) => a - b);
  const mid = sample.length >> 1;
  return sample.length % 2 ? sample[mid] : (sample[mid - 1] + sample[mid]) / 2;
}

// Plain-JS candidates per case; the fastest in this run is the baseline. Each case gets its
// own function bodies (built with Function), so every loop stays monomorphic in V8.
const binaryLoops = (op) => ({
  simple: Function('out', 'a', 'b', `for (let i = 0; i < out.length; i++) out[i] = a[i] ${op} b[i];`),
  unrolled4: Function('out', 'a', 'b', `
    const n = out.length;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      out[i] = a[i] ${op} b[i];
      out[i + 1] = a[i + 1] ${op} b[i + 1];
      out[i + 2] = a[i + 2] ${op} b[i + 2];
      out[i + 3] = a[i + 3] ${op} b[i + 3];
    }
    for (; i < n; i++) out[i] = a[i] ${op} b[i];`),
});
const unaryLoops = (fn) => ({
  simple: Function('out', 'a', `for (let i = 0; i < out.length; i++) out[i] = ${fn}(a[i]);`),
  unrolled2: Function('out', 'a', `
    const n = out.length;
    let i = 0;
    for (; i + 2 <= n; i += 2) {
      out[i] = ${fn}(a[i]);
      out[i + 1] = ${fn}(a[i + 1]);
    }
    for (; i < n; i++) out[i] = ${fn}(a[i]);`),
});

const CASES = [
  { kernel: 'add_f64', dtype: 'f64', js: binaryLoops('+'), inputs: 2, range: [-10, 10] },
  { kernel: 'mul_f64', dtype: 'f64', js: binaryLoops('*'), inputs: 2, range: [-10, 10] },
  { kernel: 'exp_f64', dtype: 'f64', js: unaryLoops('Math.exp'), inputs: 1, range: [-10, 10] },
  { kernel: 'log_f64', dtype: 'f64', js: unaryLoops('Math.log'), inputs: 1, range: [0.01, 100] },
  { kernel: 'tanh_f64', dtype: 'f64', js: unaryLoops('Math.tanh'), inputs: 1, range: [-5, 5] },
  { kernel: 'add_f32', dtype: 'f32', js: binaryLoops('+'), inputs: 2, range: [-10, 10] },
  { kernel: 'exp_f32', dtype: 'f32', js: unaryLoops('Math.exp'), inputs: 1, range: [-10, 10] },
];

const fmt = (x, digits = 1) => (x >= 100 ? x.toFixed(0) : x.toFixed(digits));

/** Times every case at every size; returns one row per (kernel, n). */
export async function run({ quick = false, log = console.log } = {}) {
  const { exports: k, alloc, reset } = instantiate();
  const rows = [];
  let seed = 12345;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  for (const n of quick ? QUICK_SIZES : SIZES) {
    for (const c of CASES) {
      reset();
      const Typed = c.dtype === 'f64' ? Float64Array : Float32Array;
      const bytes = Typed.BYTES_PER_ELEMENT * n;
      const [lo, hi] = c.range;
      const inputs = Array.from({ length: c.inputs }, () => Typed.from({ length: n }, () => lo + (hi - lo) * random()));
      const out = new Typed(n);
      const ptrs = inputs.map((x) => { const p = alloc(bytes); new Typed(k.memory.buffer, p, n).set(x); return p; });
      const outPtr = alloc(bytes);
      const kernel = k[c.kernel];
      const wasmCall = c.inputs === 2 ? () => kernel(outPtr, ptrs[0], ptrs[1], n) : () => kernel(outPtr, ptrs[0], n);
      const wasmSeconds = time(`${c.kernel} n=${n}`, wasmCall, quick);
      let jsSeconds = Infinity;
      for (const [variant, loop] of Object.entries(c.js)) {
        jsSeconds = Math.min(jsSeconds, time(`${c.kernel} js:${variant} n=${n}`, () => loop(out, ...inputs), quick));
      }
      const moved = bytes * (c.inputs + 1);
      const copySeconds = time(`copy ${c.dtype} n=${n}`, () => out.set(inputs[0]), quick);
      // The same bytes moved as the kernel (read + written): a copy of moved / 2 bytes.
      const sameSrc = new Typed((n * (c.inputs + 1)) / 2).fill(1.5); // touched: no zero pages
      const sameDst = new Typed(sameSrc.length);
      const sameBytesSeconds = time(`copy same bytes ${c.dtype} n=${n}`, () => sameDst.set(sameSrc), quick);
      const row = {
        name: c.kernel,
        n,
        dtype: c.dtype,
        wasmOpsPerSec: 1 / wasmSeconds,
        jsOpsPerSec: 1 / jsSeconds,
        ratio: jsSeconds / wasmSeconds,
        gbPerSec: moved / wasmSeconds / 1e9,
        melemPerSec: n / wasmSeconds / 1e6,
        copyRatio: wasmSeconds / copySeconds,
        sameBytesCopyRatio: wasmSeconds / sameBytesSeconds,
      };
      rows.push(row);
      log(
        `${c.kernel.padEnd(9)} n=${String(n).padEnd(9)}` +
        ` wasm ${fmt(row.melemPerSec).padStart(6)} Melem/s ${fmt(row.gbPerSec).padStart(5)} GB/s` +
        ` | js ${fmt(n / jsSeconds / 1e6).padStart(6)} Melem/s | wasm/js ${row.ratio.toFixed(2).padStart(5)}x` +
        ` | copy ${fmt((2 * bytes) / copySeconds / 1e9).padStart(5)} GB/s, kernel/copy time ${row.copyRatio.toFixed(2)}` +
        ` (same bytes ${row.sameBytesCopyRatio.toFixed(2)})`,
      );
    }
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run({ quick: process.argv.includes('--quick') });
}
