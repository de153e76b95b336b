// einsum against the direct ops it lowers to, through the built library (dist/, so run
// `npm run build` first): the ratio shows what the spec parsing and the lowering cost on top
// of the same kernels. Each call runs in tidy, so both sides free their outputs.
//
//   node bench/kernels/einsum.mjs [--quick]
//
// run({quick}) returns rows {name, spec, shape, einsumMs, directMs, ratio}; ratio is einsum
// time / direct time (1 means no overhead); each time is the fastest of three interleaved
// rounds of medians over samples.
import { pathToFileURL } from 'node:url';
import { ready, einsum, matmul, trace, dot, randn, tidy } from '../../dist/index.mjs';
import Benchmark from 'benchmark';

const settings = {
  quick: { maxTime: 0.2, minSamples: 5, minTime: 0.02, initCount: 1 },
  full: { maxTime: 1, minSamples: 10, minTime: 0.1, initCount: 1 },
};

// Each case: the spec, operand shapes per size, and the direct ops computing the same thing.
const CASES = [
  { name: 'batched matmul', spec: 'bij,bjk->bik', shapes: (n) => [[8, n, n], [8, n, n]], direct: (a, b) => matmul(a, b) },
  { name: 'bilinear', spec: 'i,ij,j->', shapes: (n) => [[n], [n, n], [n]], direct: (x, m, y) => dot(x, matmul(m, y)) },
  { name: 'trace', spec: 'ii->', shapes: (n) => [[n, n]], direct: (m) => trace(m) },
];
const SIZES = [16, 128, 512];

let sink = 0;

/**
 * Seconds per call: the median of benchmark.js's per-sample means after a warm-up long enough
 * for V8 to optimise both paths (the first calls of einsum's parser run unoptimised); the
 * median is what a busy neighbour on a shared machine disturbs least.
 */
function time(name, fn, s) {
  const start = performance.now();
  for (let i = 0; i < 50 || performance.now() - start < 200; i++) fn();
  const bench = new Benchmark(name, fn, s);
  bench.run({ async: false });
  if (bench.error) throw bench.error;
  const sample = [...bench.stats.sample].sort((a, b) => a - b);
  const mid = sample.length >> 1;
  return sample.length % 2 ? sample[mid] : (sample[mid - 1] + sample[mid]) / 2;
}

export async function run({ quick = false, log = console.log } = {}) {
  await ready();
  const rows = [];
  for (const c of CASES) {
    for (const n of SIZES) {
      const xs = c.shapes(n).map((shape, i) => randn(shape, { seed: 11 + i }));
      const viaEinsum = () => tidy(() => { sink += einsum(c.spec, ...xs).data()[0]; });
      const viaDirect = () => tidy(() => { sink += c.direct(...xs).data()[0]; });
      // Both sides compute the same thing (to rounding), so the bench compares like with like.
      const gap = tidy(() => {
        const a = einsum(c.spec, ...xs).data(), b = c.direct(...xs).data();
        let worst = 0;
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
        return worst;
      });
      if (!(gap < 1e-9)) throw new Error(`einsum bench: ${c.spec} n=${n} differs from the direct ops by ${gap}`);
      const s = quick ? settings.quick : settings.full;
      // Interleaved rounds, the fastest of each side: a burst of load from a neighbour hits
      // one round, not the comparison.
      let e = Infinity, d = Infinity;
      for (let round = 0; round < (quick ? 1 : 3); round++) {
        e = Math.min(e, time(`${c.spec} n=${n}`, viaEinsum, s));
        d = Math.min(d, time(`direct n=${n}`, viaDirect, s));
      }
      const row = { name: c.name, spec: c.spec, shape: c.shapes(n), einsumMs: e * 1e3, directMs: d * 1e3, ratio: e / d };
      rows.push(row);
      log(`  ${c.name.padEnd(15)} ${c.spec.padEnd(13)} n=${String(n).padEnd(4)} einsum ${row.einsumMs.toFixed(4).padStart(9)} ms   direct ${row.directMs.toFixed(4).padStart(9)} ms   x${row.ratio.toFixed(2)}`);
      for (const x of xs) x.dispose();
    }
  }
  if (Number.isNaN(sink)) log('(sink is NaN)');
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  console.log(`einsum against the direct ops${quick ? ' (quick)' : ''}`);
  await run({ quick });
}
