// int32 and indexing kernels against the alternatives (build/release.wasm directly, no
// src/backend): the i32 maps and sum against converting to f64 and back with the float
// kernels (what the library could do instead of i32 kernels), and gather, scatter_add and
// argsort against plain-JS loops on typed arrays outside wasm memory.
//
//   node bench/kernels/indexing.mjs [--quick]
//
// run({quick}) returns rows {name, n, seconds, altSeconds, ratio}; ratio is alt / kernel
// time (> 1 means the kernel is faster).
import { pathToFileURL } from 'node:url';
import { instantiate, meanSeconds } from './raw-wasm.mjs';

const settings = {
  quick: { maxTime: 0.1, minSamples: 3, minTime: 0.02, initCount: 1 },
  full: { maxTime: 0.5, minSamples: 5, minTime: 0.05, initCount: 1 },
};
let sink = 0;
const time = (name, fn, quick) => meanSeconds(name, fn, quick ? settings.quick : settings.full);

function lcg(seed) {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

export async function run({ quick = false, log = console.log } = {}) {
  const { exports: k, alloc, reset } = instantiate();
  const rows = [];
  const record = (name, n, seconds, altSeconds, alt) => {
    const row = { name, n, seconds, altSeconds, ratio: altSeconds / seconds };
    rows.push(row);
    log(`  ${name.padEnd(34)} n=${String(n).padEnd(8)} kernel ${(seconds * 1e6).toFixed(1).padStart(9)} us   ${alt} ${(altSeconds * 1e6).toFixed(1).padStart(9)} us   x${row.ratio.toFixed(2)}`);
  };
  for (const n of quick ? [1e3, 1e5] : [1e3, 1e5, 1e6]) {
    reset();
    const rand = lcg(n);
    const a = alloc(n * 4), b = alloc(n * 4), out = alloc(n * 4);
    const fa = alloc(n * 8), fb = alloc(n * 8), fo = alloc(n * 8);
    const ia = new Int32Array(k.memory.buffer, a, n), ib = new Int32Array(k.memory.buffer, b, n);
    for (let i = 0; i < n; i++) { ia[i] = Math.floor(rand() * 2000) - 1000; ib[i] = Math.floor(rand() * 2000) - 1000; }
    record('add i32', n, time('add_i32', () => k.add_i32(out, a, b, n), quick),
      time('add via f64', () => { k.cast_i32_f64(fa, a, n); k.cast_i32_f64(fb, b, n); k.add_f64(fo, fa, fb, n); k.cast_f64_i32(out, fo, n); }, quick), 'via f64');
    record('sum i32', n, time('sum_i32', () => { sink += k.sum_i32(a, n); }, quick),
      time('sum via f64', () => { k.cast_i32_f64(fa, a, n); sink += k.sum_f64(fa, n); }, quick), 'via f64');

    // gather of scalars and of rows of 64, m = n / 2 indices
    const m = n / 2;
    // Every block first: views made before an alloc that grows memory are detached.
    const idx = alloc(m * 4), x = alloc(n * 8), g = alloc(m * 8), u = alloc(m * 8), work = alloc(2 * n * 4);
    const ii = new Int32Array(k.memory.buffer, idx, m);
    for (let j = 0; j < m; j++) ii[j] = Math.floor(rand() * n);
    const xs = new Float64Array(k.memory.buffer, x, n);
    for (let i = 0; i < n; i++) xs[i] = rand();
    const jx = Float64Array.from(xs), jidx = Int32Array.from(ii), jout = new Float64Array(m);
    record('gather f64 scalars', m, time('gather scalars', () => { sink += k.gather(g, x, idx, 1, n, m, 1, 8, 0); }, quick),
      time('js gather', () => { for (let j = 0; j < m; j++) jout[j] = jx[jidx[j]]; sink += jout[0]; }, quick), 'js loop');
    const rowsN = n / 64, mr = Math.max(1, rowsN / 2);
    for (let j = 0; j < mr; j++) ii[j] = Math.floor(rand() * rowsN);
    const jidxR = Int32Array.from(ii.subarray(0, mr)), joutR = new Float64Array(mr * 64);
    record('gather f64 rows of 64', mr * 64, time('gather rows', () => { sink += k.gather(g, x, idx, 1, rowsN, mr, 64, 8, 0); }, quick),
      time('js gather rows', () => { for (let j = 0; j < mr; j++) joutR.set(jx.subarray(jidxR[j] * 64, jidxR[j] * 64 + 64), j * 64); sink += joutR[0]; }, quick), 'js subarray.set');
    for (let j = 0; j < m; j++) ii[j] = Math.floor(rand() * n);
    const jidx2 = Int32Array.from(ii), jacc = new Float64Array(n);
    new Float64Array(k.memory.buffer, u, m).fill(1);
    const ju = new Float64Array(m).fill(1);
    record('scatter_add f64 scalars', m, time('scatter_add', () => { sink += k.scatter_add_f64(x, u, idx, 1, n, m, 1, 0); }, quick),
      time('js scatter', () => { for (let j = 0; j < m; j++) jacc[jidx2[j]] += ju[j]; sink += jacc[0]; }, quick), 'js loop');
    if (n <= 1e5) {
      record('argsort f64 (stable)', n, time('argsort', () => k.argsort_f64(out, x, 1, n, 1, work), quick),
        time('js stable index sort', () => { const o = Array.from({ length: n }, (_, i) => i); o.sort((p, q) => jx[p] - jx[q]); sink += o[0]; }, quick), 'js Array.sort');
    }
  }
  if (Number.isNaN(sink)) log('(sink is NaN)');
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  console.log(`int32 and indexing kernels${quick ? ' (quick)' : ''}`);
  await run({ quick });
}
