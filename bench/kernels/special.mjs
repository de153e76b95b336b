// The special-function kernels (erf, softplus, log1p, expm1) at 1e6 elements, before and after
// they had kernels, through the built library (dist/, so run `npm run build` first):
//   erf:      the kernel against the JS loop erf ran before (the series and continued fraction
//             below, as src/ops/special.ts had it), read from and written to the same buffers;
//   softplus: the kernel against logaddexp(x, 0), softplus's previous definition (nine passes);
//   log1p, expm1: the kernels against Math.log1p / Math.expm1 loops (the kernels predate this
//             bench; the rows show what they buy).
// Each case also runs in float32.
//
//   node bench/kernels/special.mjs [--quick]
//
// run({quick}) returns rows {name, dtype, n, ms, beforeMs, speedup}; speedup = before / after.
import { pathToFileURL } from 'node:url';
import { array, erf, expm1, log1p, logaddexp, ready, softplus, tidy } from '../../dist/index.mjs';
import { meanSeconds } from './raw-wasm.mjs';

const N = 1e6;
const settings = {
  quick: { maxTime: 0.3, minSamples: 3, minTime: 0.05, initCount: 1 },
  full: { maxTime: 1.5, minSamples: 8, minTime: 0.2, initCount: 1 },
};

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** erf as the library computed it before its kernel: A&S 7.1.6 below 2.5, 7.1.14 (Lentz) above. */
function erfBefore(x) {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a < 2.5) {
    const x2 = x * x;
    let term = x, total = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      total += term;
      if (Math.abs(term) <= 1e-17 * Math.abs(total)) break;
    }
    return TWO_OVER_SQRT_PI * Math.exp(-x2) * total;
  }
  if (a > 6) return Math.sign(x);
  const tiny = 1e-300;
  let f = a, c = a, d = 0;
  for (let j = 1; j < 500; j++) {
    const aj = j / 2;
    d = a + aj * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = a + aj / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f);
}

/** The previous eager path of a JS-loop op: read the tensor, map in float64, write a new tensor. */
const jsMap = (f) => (x) => {
  const a = x.data();
  const v = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) v[i] = f(a[i]);
  return array(v, { shape: x.shape, dtype: x.dtype });
};

const CASES = [
  { name: 'erf', after: erf, before: jsMap(erfBefore), beforeLabel: 'JS loop (previous impl)', range: 6 },
  { name: 'softplus', after: softplus, before: (x) => logaddexp(x, 0), beforeLabel: 'logaddexp(x, 0) (previous impl)', range: 30 },
  { name: 'log1p', after: log1p, before: jsMap(Math.log1p), beforeLabel: 'Math.log1p loop', range: 10, positive: true },
  { name: 'expm1', after: expm1, before: jsMap(Math.expm1), beforeLabel: 'Math.expm1 loop', range: 10 },
];

let sink = 0;

export async function run({ quick = false, log = console.log } = {}) {
  await ready();
  const rows = [];
  for (const c of CASES) {
    for (const dtype of ['float64', 'float32']) {
      let seed = 5;
      const values = Float64Array.from({ length: N }, () => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        const u = seed / 2 ** 32;
        return c.positive ? u * c.range : (2 * u - 1) * c.range;
      });
      const x = array(values, { shape: [N], dtype });
      const s = quick ? settings.quick : settings.full;
      const after = meanSeconds(`${c.name} ${dtype}`, () => tidy(() => { sink += c.after(x).data()[0]; }), s);
      const before = meanSeconds(`${c.name} before ${dtype}`, () => tidy(() => { sink += c.before(x).data()[0]; }), s);
      x.dispose();
      const row = { name: c.name, dtype, n: N, ms: after * 1e3, beforeMs: before * 1e3, before: c.beforeLabel, speedup: before / after };
      rows.push(row);
      log(`  ${c.name.padEnd(8)} ${dtype} n=1e6  kernel ${row.ms.toFixed(2).padStart(7)} ms   ${c.beforeLabel.padEnd(32)} ${row.beforeMs.toFixed(2).padStart(7)} ms   x${row.speedup.toFixed(2)}`);
    }
  }
  if (Number.isNaN(sink)) log('(sink is NaN)');
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  console.log(`special-function kernels, 1e6 elements${quick ? ' (quick)' : ''}`);
  await run({ quick });
}
