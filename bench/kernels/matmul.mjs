// matmul kernels against the best plain-JS loop in the same run, in GFLOP/s (2 m n k flops).
// Instantiates build/release.wasm directly (no src/backend), so it times the kernels alone.
//
//   node bench/kernels/matmul.mjs [--quick]
//
// run({quick}) returns rows {name, n, dtype, gflops, jsGflops, ratio} for square n x n x n
// products; ratio is wasm / JS throughput (> 1 means the kernel is faster). Quick mode skips
// the JS loop at n = 1024 (seconds per call) and reports jsGflops and ratio as NaN there.
import { pathToFileURL } from 'node:url';
import { instantiate, meanSeconds } from './raw-wasm.mjs';

const SIZES = [64, 256, 512, 1024];
const JS_MAX_QUICK = 512;

const settings = {
  quick: { maxTime: 0.2, minSamples: 3, minTime: 0.05, initCount: 1 },
  full: { maxTime: 1, minSamples: 5, minTime: 0.1, initCount: 1 },
};

// A result that depends on every call, so no loop can be optimised away.
let sink = 0;

const time = (name, fn, quick) => meanSeconds(name, fn, quick ? settings.quick : settings.full);

// Plain-JS candidates over row-major typed arrays, c = a b with a m x k, b k x n; the fastest
// in this run is the baseline. i-k-j streams rows of b and c, which is what JS does best.
const jsMatmul = {
  ikj(a, b, c, m, k, n) {
    c.fill(0);
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      for (let p = 0; p < k; p++) {
        const x = a[i * k + p];
        const bp = p * n;
        for (let j = 0; j < n; j++) c[ci + j] += x * b[bp + j];
      }
    }
  },
  // Four rows of b per pass over the c row: a quarter of the c loads and stores.
  ikjUnroll4(a, b, c, m, k, n) {
    c.fill(0);
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      let p = 0;
      for (; p + 4 <= k; p += 4) {
        const x0 = a[i * k + p], x1 = a[i * k + p + 1], x2 = a[i * k + p + 2], x3 = a[i * k + p + 3];
        const b0 = p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
        for (let j = 0; j < n; j++) c[ci + j] += x0 * b[b0 + j] + x1 * b[b1 + j] + x2 * b[b2 + j] + x3 * b[b3 + j];
      }
      for (; p < k; p++) {
        const x = a[i * k + p];
        const bp = p * n;
        for (let j = 0; j < n; j++) c[ci + j] += x * b[bp + j];
      }
    }
  },
};

function bestJs(label, call, quick) {
  let best = Infinity;
  for (const [name, fn] of Object.entries(jsMatmul)) best = Math.min(best, time(`${label} js:${name}`, () => call(fn), quick));
  return best;
}

function fillRandom(x, seed) {
  for (let i = 0; i < x.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    x[i] = seed / 2 ** 32 - 0.5;
  }
}

/** Times every case; returns rows {name, n, dtype, gflops, jsGflops, ratio}. */
export async function run({ quick = false, log = console.log } = {}) {
  const { exports: k, alloc, reset } = instantiate();
  const rows = [];
  for (const n of SIZES) {
    for (const dtype of ['f32', 'f64']) {
      reset();
      const Typed = dtype === 'f32' ? Float32Array : Float64Array;
      const bytes = n * n * Typed.BYTES_PER_ELEMENT;
      const pa = alloc(bytes), pb = alloc(bytes), pc = alloc(bytes);
      const a = new Typed(k.memory.buffer, pa, n * n);
      const b = new Typed(k.memory.buffer, pb, n * n);
      fillRandom(a, 1 + n);
      fillRandom(b, 2 + n);
      // JS works on copies outside wasm memory, as a plain-JS library would hold them.
      const ja = Typed.from(a), jb = Typed.from(b), jc = new Typed(n * n);
      const kernel = k[`matmul_${dtype}`];
      const flops = 2 * n * n * n;

      const wasmSeconds = time(`matmul_${dtype} n=${n}`, () => {
        kernel(pc, pa, pb, n, n, n, 0, 0);
        sink += new Typed(k.memory.buffer, pc, 1)[0];
      }, quick);
      const jsSeconds = quick && n > JS_MAX_QUICK
        ? NaN
        : bestJs(`matmul ${dtype} n=${n}`, (fn) => { fn(ja, jb, jc, n, n, n); sink += jc[0]; }, quick);

      const row = { name: 'matmul', n, dtype, gflops: flops / wasmSeconds / 1e9, jsGflops: flops / jsSeconds / 1e9 };
      row.ratio = row.gflops / row.jsGflops;
      rows.push(row);
      const js = Number.isNaN(jsSeconds) ? '  (skipped)' : `${row.jsGflops.toFixed(2).padStart(6)} GFLOP/s   x${row.ratio.toFixed(1)}`;
      log(`  matmul ${dtype} n=${String(n).padEnd(5)} wasm ${row.gflops.toFixed(2).padStart(6)} GFLOP/s   js ${js}`);
    }
  }
  if (Number.isNaN(sink)) log('(sink is NaN)');
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  console.log(`matmul kernels vs plain JS${quick ? ' (quick)' : ''}`);
  await run({ quick });
}
