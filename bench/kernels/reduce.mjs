// Reduction kernels against the best plain-JS loop in the same run, in GB/s of input read.
// Instantiates build/release.wasm directly (no src/backend), so it times the kernels alone.
//
//   node bench/kernels/reduce.mjs [--quick]
//
// run({quick}) returns rows {name, n, dtype, gbPerSec, jsGbPerSec, ratio}; ratio is
// wasm / JS throughput (> 1 means the kernel is faster).
import { pathToFileURL } from 'node:url';
import { instantiate, meanSeconds } from './raw-wasm.mjs';

const SIZES = [1e3, 1e4, 1e5, 1e6, 1e7];
const QUICK_SIZES = [1e3, 1e5, 1e6];
const OUTER = 1000;

const settings = {
  quick: { maxTime: 0.1, minSamples: 3, minTime: 0.02, initCount: 1 },
  full: { maxTime: 0.5, minSamples: 5, minTime: 0.05, initCount: 1 },
};

// A result that depends on every call, so no loop can be optimised away.
let sink = 0;

const time = (name, fn, quick) => meanSeconds(name, fn, quick ? settings.quick : settings.full);

// Plain-JS candidates; the fastest in this run is the baseline.
const jsSum = {
  simple(x) {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i];
    return s;
  },
  unrolled4(x) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const n = x.length;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      s0 += x[i];
      s1 += x[i + 1];
      s2 += x[i + 2];
      s3 += x[i + 3];
    }
    for (; i < n; i++) s0 += x[i];
    return s0 + s1 + (s2 + s3);
  },
};

// Both honour max's NaN propagation, as the kernel does.
const jsMax = {
  mathMax(x) {
    let m = -Infinity;
    for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]);
    return m;
  },
  compare(x) {
    let m = -Infinity;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v > m) m = v;
      else if (v !== v) return NaN;
    }
    return m;
  },
};

// sum over axis 0 of [rows, cols] (out row += a row) and over axis 1 (one sum per row).
const jsSumAxis0 = {
  rowAdd(x, out, rows, cols) {
    out.fill(0);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) out[c] += x[base + c];
    }
  },
};
const jsSumAxis1 = {
  rowSum(x, out, rows, cols) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      const base = r * cols;
      for (let c = 0; c < cols; c++) s += x[base + c];
      out[r] = s;
    }
  },
};

function bestJs(label, candidates, call, quick) {
  let best = Infinity;
  for (const [name, fn] of Object.entries(candidates)) best = Math.min(best, time(`${label} js:${name}`, () => call(fn), quick));
  return best;
}

/** Times every case; returns rows {name, n, dtype, gbPerSec, jsGbPerSec, ratio}. */
export async function run({ quick = false, log = console.log } = {}) {
  const { exports: k, alloc, reset } = instantiate();
  const rows = [];
  const record = (name, n, dtype, bytes, wasmSeconds, jsSeconds) => {
    const row = { name, n, dtype, gbPerSec: bytes / wasmSeconds / 1e9, jsGbPerSec: bytes / jsSeconds / 1e9 };
    row.ratio = row.gbPerSec / row.jsGbPerSec;
    rows.push(row);
    log(`  ${name.padEnd(22)} ${dtype} n=${String(n).padEnd(9)} wasm ${row.gbPerSec.toFixed(2).padStart(6)} GB/s   js ${row.jsGbPerSec.toFixed(2).padStart(6)} GB/s   x${row.ratio.toFixed(2)}`);
  };

  for (const n of quick ? QUICK_SIZES : SIZES) {
    reset();
    const p64 = alloc(n * 8);
    const p32 = alloc(n * 4);
    const out = alloc(n * 8);
    const x64 = new Float64Array(k.memory.buffer, p64, n);
    const x32 = new Float32Array(k.memory.buffer, p32, n);
    let seed = 12345;
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      x64[i] = seed / 2 ** 32 - 0.5;
    }
    x32.set(x64);
    // JS reads copies outside wasm memory, as a plain-JS library would hold them.
    const j64 = Float64Array.from(x64);
    const j32 = Float32Array.from(x32);

    record('sum', n, 'f64', n * 8,
      time('sum_f64', () => { sink += k.sum_f64(p64, n); }, quick),
      bestJs('sum f64', jsSum, (fn) => { sink += fn(j64); }, quick));
    record('max', n, 'f64', n * 8,
      time('max_f64', () => { sink += k.max_f64(p64, n); }, quick),
      bestJs('max f64', jsMax, (fn) => { sink += fn(j64); }, quick));
    record('sum', n, 'f32', n * 4,
      time('sum_f32', () => { sink += k.sum_f32(p32, n); }, quick),
      bestJs('sum f32', jsSum, (fn) => { sink += fn(j32); }, quick));

    const cols = n / OUTER;
    const jOut = new Float64Array(Math.max(OUTER, cols));
    record(`sum_axis0[${OUTER},${cols}]`, n, 'f64', n * 8,
      time('sum_axis_f64 axis 0', () => { k.sum_axis_f64(out, p64, 1, OUTER, cols); }, quick),
      bestJs('sum_axis0 f64', jsSumAxis0, (fn) => { fn(j64, jOut, OUTER, cols); sink += jOut[0]; }, quick));
    record(`sum_axis1[${OUTER},${cols}]`, n, 'f64', n * 8,
      time('sum_axis_f64 axis 1', () => { k.sum_axis_f64(out, p64, OUTER, cols, 1); }, quick),
      bestJs('sum_axis1 f64', jsSumAxis1, (fn) => { fn(j64, jOut, OUTER, cols); sink += jOut[0]; }, quick));
  }
  if (Number.isNaN(sink)) log('(sink is NaN)');
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  console.log(`reduce kernels vs plain JS${quick ? ' (quick)' : ''}`);
  await run({ quick });
}
