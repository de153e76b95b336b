// Elementwise fusion: a chain of 20 elementwise ops on 1e5 elements, eager (20 kernels, 20
// passes over memory) against jit (one fused pass, src/staging/fuse.ts) and against jit with
// fusion off (jit(f, {fuse: false}): the same program, one kernel per op), for the value and for
// valueAndGrad of its sum, and (f64) for jvp in one direction (the primal and the tangent
// chain). Two arithmetic chains: 'mixed' (add, sub, mul with constants and a second operand,
// one div and one maximum) and 'heavy' (four each of add, mul, maximum, div and
// sub): f64x2.div and f64x2.max cost several cycles per vector however the data arrives, so the
// heavy chain is compute-bound and gains less; a chain dominated by sin and tanh (compute-bound
// too); and both arithmetic chains in float32.
//
// Besides the benchmark.js rows, each case reports the fastest of many interleaved calls: on a
// shared machine load only ever adds time, so the minimum is the stable number for ratios.
import { discard, formatTime, loadLibrary, measure, measureRounds, printTable } from './measure.mjs';

export const title = 'Fusion: elementwise chains jitted (fused), jitted unfused, and eager';

/** 20 ops: add, mul, sub with constants and the second operand y; one div, one maximum. */
function mixed(dt, x, y) {
  let h = x;
  for (let i = 0; i < 4; i++) {
    h = dt.add(h, 0.5);
    h = dt.mul(h, y);
    h = i === 3 ? dt.maximum(h, -1) : dt.sub(h, 0.25);
    h = i === 1 ? dt.div(h, 1.5) : dt.mul(h, 0.75);
    h = dt.add(h, y);
  }
  return h;
}

/** 20 ops: add, mul, maximum, div and sub with constants and a second operand, four times. */
function heavy(dt, x, y) {
  let h = x;
  for (let i = 0; i < 4; i++) {
    h = dt.add(h, 0.5);
    h = dt.mul(h, y);
    h = dt.maximum(h, -1);
    h = dt.div(h, 1.5);
    h = dt.sub(h, y);
  }
  return h;
}

/** 20 ops, 10 of them sin or tanh. */
function transcendental(dt, x, y) {
  let h = x;
  for (let i = 0; i < 5; i++) {
    h = dt.sin(h);
    h = dt.mul(h, y);
    h = dt.tanh(h);
    h = dt.add(h, 0.25);
  }
  return h;
}


/** The fastest single call of each case, over `rounds` interleaved rounds of 4 calls each. */
function fastestOf(cases, rounds) {
  const best = cases.map(() => Infinity);
  for (let r = 0; r < rounds; r++) {
    cases.forEach(([, fn], i) => {
      for (let k = 0; k < 4; k++) {
        const t0 = performance.now();
        fn();
        best[i] = Math.min(best[i], performance.now() - t0);
      }
    });
  }
  return best;
}

function sameBits(what, a, b) {
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) throw new Error(`fusion bench sanity check failed: ${what} differs at ${i}: ${a[i]} against ${b[i]}`);
  }
}

export async function run(opts = {}) {
  const dt = await loadLibrary(opts.lib);
  const n = 1e5;
  const rows = [];
  const table = [];
  const setups = [
    ['mixed chain, f64', mixed, 'float64', true],
    ['heavy chain, f64', heavy, 'float64', true],
    ['sin/tanh chain, f64', transcendental, 'float64'],
    ['mixed chain, f32', mixed, 'float32'],
    ['heavy chain, f32', heavy, 'float32'],
  ];
  for (const [label, chain, dtype, withJvp] of setups) {
    const x = dt.uniform([n], { seed: 1, low: -1, high: 1, dtype });
    const y = dt.uniform([n], { seed: 2, low: 0.5, high: 1, dtype });
    const f = (a, b) => chain(dt, a, b);
    const vg = dt.valueAndGrad((a, b) => dt.sum(f(a, b)));
    const jf = dt.jit(f), jfOff = dt.jit(f, { fuse: false });
    const jvg = dt.jit(vg), jvgOff = dt.jit(vg, { fuse: false });
    const flat = (fn) => dt.tidy(() => [fn()].flat(Infinity).flatMap((t) => Array.from(t.data())));
    sameBits(`${label}: jit(f) against eager`, flat(() => jf(x, y)), flat(() => f(x, y)));
    sameBits(`${label}: jit(f) against jit(f, {fuse: false})`, flat(() => jf(x, y)), flat(() => jfOff(x, y)));
    sameBits(`${label}: jit(valueAndGrad) fused against unfused`, flat(() => jvg(x, y)), flat(() => jvgOff(x, y)));
    const cases = [
      [`${label}: eager f`, discard(dt, () => f(x, y))],
      [`${label}: jit(f)`, discard(dt, () => jf(x, y))],
      [`${label}: jit(f, {fuse: false})`, discard(dt, () => jfOff(x, y))],
      [`${label}: eager valueAndGrad`, discard(dt, () => vg(x, y))],
      [`${label}: jit(valueAndGrad)`, discard(dt, () => jvg(x, y))],
      [`${label}: jit(valueAndGrad, {fuse: false})`, discard(dt, () => jvgOff(x, y))],
    ];
    // jvp of the chain in the direction dx = y: the primal and the tangent chain.
    const fjvp = (a, b) => dt.jvp(f, [a, b], [b, b]);
    const jfjvp = dt.jit(fjvp), jfjvpOff = dt.jit(fjvp, { fuse: false });
    if (withJvp) {
      sameBits(`${label}: jit(jvp) fused against unfused`, flat(() => jfjvp(x, y)), flat(() => jfjvpOff(x, y)));
      cases.push(
        [`${label}: eager jvp`, discard(dt, () => fjvp(x, y))],
        [`${label}: jit(jvp)`, discard(dt, () => jfjvp(x, y))],
        [`${label}: jit(jvp, {fuse: false})`, discard(dt, () => jfjvpOff(x, y))],
      );
    }
    const timed = (await measureRounds(cases, opts)).map((t) => t.ms);
    const fastest = fastestOf(cases, opts.quick ? 4 : 12);
    const S = label;
    const r = (name, metric, unit, value, extra = {}) => rows.push({ section: S, name, metric, unit, value, better: metric === 'speedup' ? 'higher' : 'lower', ...extra });
    // Cases come in threes (eager, jit fused, jit unfused) per mode.
    (withJvp ? ['value', 'valueAndGrad', 'jvp'] : ['value', 'valueAndGrad']).forEach((mode, m) => {
      const [eager, jit, unfused] = timed.slice(3 * m, 3 * m + 3);
      const [fe, fj, fo] = fastest.slice(3 * m, 3 * m + 3);
      r(`${mode}: eager`, 'time', 'ms', eager);
      r(`${mode}: jit fused`, 'time', 'ms', jit);
      r(`${mode}: jit unfused`, 'time', 'ms', unfused);
      r(`${mode}: eager / jit fused`, 'speedup', 'x', eager / jit);
      r(`${mode}: jit unfused / jit fused`, 'speedup', 'x', unfused / jit);
      r(`${mode}: eager / jit fused (fastest call)`, 'speedup', 'x', fe / fj, { baseMs: fe, ms: fj });
      table.push({ case: `${label}, ${mode}`, eager, jit, unfused });
      table.push({ case: `${label}, ${mode} (fastest call)`, eager: fe, jit: fj, unfused: fo });
    });
    x.dispose();
    y.dispose();
  }
  console.log(`\nFusion, n = ${n} elements, 20-op chains`);
  printTable(table, [
    ['case'], ['eager', formatTime], ['unfused', formatTime], ['jit', formatTime],
    ['eager/jit', (_, row) => `${(row.eager / row.jit).toFixed(2)}x`], ['unfused/jit', (_, row) => `${(row.unfused / row.jit).toFixed(2)}x`],
  ]);
  return rows;
}
