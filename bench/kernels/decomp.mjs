// Decomposition kernels (assembly/decomp.ts) against plain-JS implementations of the same
// algorithms in the same run (bench/kernels/decomp-js.mjs): Householder QR, tridiagonalisation
// + implicit QR for eigh, and one-sided Jacobi for the SVD, step for step as the kernels do
// them, over typed arrays.
// Instantiates build/release.wasm directly (no src/backend), so it times the kernels alone.
//
//   node bench/kernels/decomp.mjs [--quick]
//
// run({quick}) returns rows {name, n, dtype, ms, jsMs, ratio} for square n x n inputs; ratio is
// JS time / wasm time (> 1 means the kernel is faster). Every call first copies the input into
// the buffer the algorithm overwrites, in both. Before timing, each JS implementation is
// checked against the kernel (same results to rounding), so the baseline is the same work.
import { pathToFileURL } from 'node:url';
import { instantiate, meanSeconds } from './raw-wasm.mjs';

// One module instance per dtype: see decomp-js.mjs.
const jsImpl = {
  f64: await import('./decomp-js.mjs?dtype=f64'),
  f32: await import('./decomp-js.mjs?dtype=f32'),
};

const SIZES = [16, 64, 256];

const settings = {
  quick: { maxTime: 0.2, minSamples: 3, minTime: 0.05, initCount: 1 },
  full: { maxTime: 1, minSamples: 5, minTime: 0.1, initCount: 1 },
};

// A result that depends on every call, so no loop can be optimised away.
let sink = 0;

const time = (name, fn, quick) => meanSeconds(name, fn, quick ? settings.quick : settings.full);

// ---- the bench --------------------------------------------------------------------------------

function fillRandom(x, seed) {
  for (let i = 0; i < x.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    x[i] = seed / 2 ** 32 - 0.5;
  }
}

function maxDiff(a, b) {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Buffers for one case: each output in wasm memory (views) and in JS arrays, plus the input. */
function buffers(k, alloc, Typed, sizes) {
  const wasm = {}, js = {};
  for (const [name, size] of Object.entries(sizes)) {
    wasm[name] = alloc(Math.max(size, 1) * Typed.BYTES_PER_ELEMENT);
    js[name] = new Typed(size);
  }
  const view = (name) => new Typed(k.memory.buffer, wasm[name], sizes[name]);
  return { wasm, js, view };
}

const CASES = {
  qr: {
    sizes: (n) => ({ a: n * n, q: n * n, r: n * n, work: 2 * n }),
    wasm: (k, dt, p, n) => k[`qr_${dt}`](p.a, p.q, p.r, p.work, n, n),
    js: (js, b, n) => js.jsQr(b.a, b.q, b.r, b.work, n, n),
    outputs: ['q', 'r'],
  },
  eigh: {
    sizes: (n) => ({ a: n * n, w: n, v: n * n, work: 3 * n }),
    wasm: (k, dt, p, n) => k[`eigh_${dt}`](p.a, p.w, p.v, p.work, n),
    js: (js, b, n) => js.jsEigh(b.a, b.w, b.v, b.work, n),
    outputs: ['w', 'v'],
  },
  svd: {
    sizes: (n) => ({ a: n * n, u: n * n, s: n, vt: n * n, work: 2 * n * n }),
    wasm: (k, dt, p, n) => k[`svd_${dt}`](p.a, p.u, p.s, p.vt, p.work, n, n),
    js: (js, b, n) => js.jsSvd(b.a, b.u, b.s, b.vt, b.work, n, n),
    outputs: ['u', 's', 'vt'],
  },
};

/** Times every case; returns rows {name, n, dtype, ms, jsMs, ratio}. */
export async function run({ quick = false, log = console.log } = {}) {
  const { exports: k, alloc, reset } = instantiate();
  const rows = [];
  for (const n of SIZES) {
    for (const dtype of ['f64', 'f32']) {
      const Typed = dtype === 'f32' ? Float32Array : Float64Array;
      const input = new Typed(n * n);
      fillRandom(input, 7 + n);
      // eigh reads the lower triangle only; the same input serves all three.
      for (const [name, c] of Object.entries(CASES)) {
        reset();
        const b = buffers(k, alloc, Typed, c.sizes(n));
        const aView = () => b.view('a');
        const callWasm = () => {
          aView().set(input);
          c.wasm(k, dtype, b.wasm, n);
        };
        const callJs = () => {
          b.js.a.set(input);
          c.js(jsImpl[dtype], b.js, n);
        };
        callWasm();
        callJs();
        // Same algorithm, same operation order up to SIMD's summation order: results agree to rounding.
        const agree = Math.max(...c.outputs.map((o) => maxDiff(b.view(o), b.js[o])));
        if (!(agree < (dtype === 'f64' ? 1e-9 : 1e-2))) throw new Error(`decomp bench: ${name} ${dtype} n=${n}: the JS implementation differs from the kernel by ${agree}`);
        const wasmSeconds = time(`${name}_${dtype} n=${n}`, () => { callWasm(); sink += b.view(c.outputs[0])[0]; }, quick);
        const jsSeconds = time(`${name} js ${dtype} n=${n}`, () => { callJs(); sink += b.js[c.outputs[0]][0]; }, quick);
        const row = { name, n, dtype, ms: wasmSeconds * 1e3, jsMs: jsSeconds * 1e3, ratio: jsSeconds / wasmSeconds };
        rows.push(row);
        log(`  ${name.padEnd(5)} ${dtype} n=${String(n).padEnd(4)} wasm ${row.ms.toFixed(3).padStart(9)} ms   js ${row.jsMs.toFixed(3).padStart(9)} ms   x${row.ratio.toFixed(2)}`);
      }
    }
  }
  if (Number.isNaN(sink)) log('(sink is NaN)');
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  console.log(`decomposition kernels vs plain JS${quick ? ' (quick)' : ''}`);
  await run({ quick });
}
