// Workloads of the field, each timed three ways in the same run: a hand-written plain-JS value
// and gradient (bench/manual/, derived by hand as GradBench's "manual" tool is), dualtape's
// eager valueAndGrad, and jit(valueAndGrad). Shapes follow GradBench (ode, lstm, det) and the
// jit issue: logsumexp n = 1e3 .. 1e6; RK4 "ode" n = 1000, 10000, 10 steps; a 2-layer LSTM,
// hidden 14, sequence 1024; det 7x7 by cofactor expansion; Lotka-Volterra RK4, 2000 steps
// (fori, and an unrolled JS loop); scalar Rosenbrock; and the compile time of a program of
// 10,000 equations. Every jitted and eager result is checked against the hand-written one
// before anything is timed. The jit suite's MLP rows give the large-kernel jit/eager ratio.
// Node only (it writes bench/results/field.md, the table the README shows).
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as manual from '../manual/index.mjs';
import { relativeError } from './jit-plain.mjs';
import * as models from './field-models.mjs';
import { formatTime, loadLibrary, measure, printTable } from './measure.mjs';

export const title = 'Field workloads: hand-written JS, eager and jit (logsumexp, ode, lstm, det, Lotka-Volterra, Rosenbrock)';

// Timing loops write here so V8 cannot drop the work as dead code.
let sink = 0;

/** Cases slower than this per call are timed by a few plain calls, not benchmark.js. */
const SLOW_MS = 100;

/**
 * One case's time: benchmark.js's median for fast cases; for slow ones (both of two first
 * calls over SLOW_MS: one cold call can be slow on a busy machine) the median of a few more.
 */
async function time(name, fn, opts) {
  let first = Infinity;
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    fn();
    first = Math.min(first, performance.now() - t0);
  }
  if (first < SLOW_MS) return measure(name, fn, opts);
  const calls = opts.quick ? 3 : 5;
  const times = [];
  for (let i = 0; i < calls; i++) {
    const s = performance.now();
    fn();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  const ms = times[calls >> 1];
  opts.log(`  ${name.padEnd(58)} ${formatTime(ms).padStart(10)} (median of ${calls} calls)`);
  return { ms, samples: calls };
}

/** Round-robin over the cases, keeping each one's fastest (load only ever adds time). */
async function timeRounds(cases, opts) {
  const rounds = opts.quick ? 1 : 2;
  const best = cases.map(() => null);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < cases.length; i++) {
      const t = await time(rounds > 1 ? `${cases[i][0]} [round ${r + 1}]` : cases[i][0], cases[i][1], opts);
      if (!best[i] || !(best[i].ms <= t.ms)) best[i] = t;
    }
  }
  return best;
}

/** Every number in what `fn` returns (a tensor or a tree of arrays of them), in order. */
const values = (dt, fn) => dt.tidy(() => [fn()].flat(Infinity).flatMap((t) => [t.toArray()].flat(Infinity)));

function expectClose(what, got, want, tol) {
  const err = relativeError(Array.from(got), Array.from(want));
  if (!(err <= tol)) throw new Error(`field bench sanity check failed: ${what}: relative error ${err.toExponential(2)} > ${tol}`);
}

/**
 * Stages jit(vg) for `args`, timing the trace (program()) and the first call (memory plan and
 * run), and checks its result against `want`.
 */
function stage(dt, jvg, args, want, tol, what) {
  const t0 = performance.now();
  const equations = jvg.program(...args).equations.length;
  const traceMs = performance.now() - t0;
  let firstCallMs = 0;
  const got = dt.tidy(() => {
    const t1 = performance.now();
    const out = jvg(...args);
    firstCallMs = performance.now() - t1;
    return [out].flat(Infinity).flatMap((t) => [t.toArray()].flat(Infinity));
  });
  expectClose(`${what}: jit(valueAndGrad) against the hand-written value and gradient`, got, want, tol);
  return { equations, traceMs, firstCallMs, traces: jvg.stats().traces };
}

/**
 * One workload: `hand()` runs the hand-written value and gradient and returns them flat (value
 * first); `vg` is dualtape's valueAndGrad of the model, called on `args`.
 */
async function workload(dt, opts, { group, name, size, hand, vg, args, tol = 1e-10, jit = true, read = () => {} }) {
  const want = Array.from(hand());
  expectClose(`${name}: eager valueAndGrad against the hand-written value and gradient`, values(dt, () => vg(...args)), want, tol);
  const jvg = jit ? dt.jit(vg) : null;
  const staged = jvg ? stage(dt, jvg, args, want, tol, name) : null;
  const cases = [
    [`${name}: hand-written JS`, () => {
      sink += hand()[0];
    }],
    [`${name}: eager valueAndGrad`, () => dt.tidy(() => {
      read(vg(...args));
    })],
  ];
  if (jvg) cases.push([`${name}: jit(valueAndGrad) (${staged.equations} equations)`, () => dt.tidy(() => {
    read(jvg(...args));
  })]);
  const [tm, te, tj] = await timeRounds(cases, opts);
  const jitMs = tj?.ms ?? NaN;
  return {
    kind: 'workload', group, name, size, manualMs: tm.ms, eagerMs: te.ms, jitMs,
    jitVsManual: jitMs / tm.ms, eagerVsManual: te.ms / tm.ms, jitVsEager: jitMs / te.ms,
    equations: staged?.equations, traceMs: staged?.traceMs, firstCallMs: staged?.firstCallMs,
    // Trace, plus what the first call costs beyond a steady one (planning the memory).
    compileMs: staged ? staged.traceMs + Math.max(0, staged.firstCallMs - jitMs) : undefined,
    traces: staged?.traces,
  };
}

/** Deterministic inputs in [lo, hi) (a small LCG), the same in every run. */
function uniforms(seed, count, lo = -1, hi = 1) {
  let s = seed >>> 0;
  return Float64Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s / 4294967296) * (hi - lo);
  });
}

async function logsumexpRows(dt, opts, rows) {
  const variants = [
    ['logsumexp', models.logsumexpModel(dt)],
    // Written out from elementwise ops and reductions: an elementwise chain feeding a reduction.
    ['logsumexp composed', models.logsumexpComposedModel(dt)],
  ];
  for (const n of [1e3, 1e4, 1e5, 1e6]) {
    const data = uniforms(n, n, -5, 5);
    const x = dt.array(data);
    const grad = new Float64Array(n);
    const out = new Float64Array(n + 1);
    const hand = () => {
      out[0] = manual.logsumexpValueAndGrad(data, grad);
      out.set(grad, 1);
      return out;
    };
    for (const [name, model] of variants) {
      rows.push(await workload(dt, opts, { group: name, name: `${name} n=${n}`, size: n, args: [x], vg: dt.valueAndGrad(model), hand }));
    }
    x.dispose();
  }
}

async function odeRows(dt, opts, rows) {
  const s = 10;
  const vg = dt.valueAndGrad(models.odeModel(dt, s));
  // GradBench's inputs are uniform in [0, 1), so for n in the hundreds and up the last entry
  // (about x_0 ... x_{n-1} 2^n / n!) and its gradient underflow to zero, and comparing them
  // checks nothing. The staged program is checked first at n = 12, where they do not.
  const small = uniforms(12, 12, 0.5, 1.5);
  const smallGrad = new Float64Array(12);
  const smallValue = manual.odeValueAndGrad(small, s, smallGrad);
  const xs = dt.array(small);
  stage(dt, dt.jit(vg), [xs], [smallValue, ...smallGrad], 1e-10, 'ode n=12');
  xs.dispose();
  for (const n of [1000, 10000]) {
    const data = uniforms(n + 7, n, 0, 1);
    const x = dt.array(data);
    const grad = new Float64Array(n);
    const out = new Float64Array(n + 1);
    rows.push(await workload(dt, opts, {
      group: 'ode', name: `ode RK4 n=${n} s=${s}`, size: n, args: [x], vg,
      hand: () => {
        out[0] = manual.odeValueAndGrad(data, s, grad);
        out.set(grad, 1);
        return out;
      },
    }));
    x.dispose();
  }
}

async function lstmRows(dt, opts, rows) {
  const [l, c, b] = [2, 1024, 14];
  const main = uniforms(1, 8 * l * b);
  const extra = uniforms(2, 3 * b);
  const state = uniforms(3, 2 * l * b);
  const seq = uniforms(4, c * b);
  const mainGrad = new Float64Array(main.length);
  const extraGrad = new Float64Array(extra.length);
  const out = new Float64Array(1 + main.length + extra.length);
  const args = [dt.array(main, { shape: [l, 8, b] }), dt.array(extra, { shape: [3, b] }), dt.array(state, { shape: [l, 2, b] }), dt.array(seq, { shape: [c, b] })];
  rows.push(await workload(dt, opts, {
    group: 'lstm', name: `lstm l=${l} b=${b} c=${c}`, size: c, args, vg: dt.valueAndGrad(models.lstmModel(dt), { argnums: [0, 1] }),
    hand: () => {
      out[0] = manual.lstmValueAndGrad(l, c, b, main, extra, state, seq, mainGrad, extraGrad);
      out.set(mainGrad, 1);
      out.set(extraGrad, 1 + main.length);
      return out;
    },
  }));
  for (const t of args) t.dispose();
}

async function detRows(dt, opts, rows) {
  const ell = 7;
  const data = uniforms(5, ell * ell);
  const A = dt.array(data, { shape: [ell, ell] });
  const grad = new Float64Array(ell * ell);
  const out = new Float64Array(1 + ell * ell);
  rows.push(await workload(dt, opts, {
    group: 'det', name: `det ${ell}x${ell} by cofactors`, size: ell, args: [A], vg: dt.valueAndGrad(models.detModel(dt)),
    hand: () => {
      out[0] = manual.detValueAndGrad(data, ell, grad);
      out.set(grad, 1);
      return out;
    },
  }));
  A.dispose();
}

async function lotkaVolterraRows(dt, opts, rows) {
  const { p, x0, y0, h, steps } = manual.LV;
  const params = p.map((v) => dt.scalar(v));
  const grad = new Float64Array(4);
  const out = new Float64Array(5);
  const hand = () => {
    out[0] = manual.lotkaVolterraValueAndGrad(p, x0, y0, h, steps, grad);
    out.set(grad, 1);
    return out;
  };
  rows.push(await workload(dt, opts, {
    group: 'lotka-volterra', name: `Lotka-Volterra RK4 ${steps} steps, fori`, size: steps, args: [params], vg: dt.valueAndGrad(models.lotkaVolterraForiModel(dt, manual.LV)), hand,
  }));
  // The unrolled JS loop stages 54 equations a step forward; its trace takes long, so quick
  // mode times only its eager run (the jit suite times the unrolled jit version too).
  rows.push(await workload(dt, opts, {
    group: 'lotka-volterra', name: `Lotka-Volterra RK4 ${steps} steps, JS loop`, size: steps, args: [params], vg: dt.valueAndGrad(models.lotkaVolterraModel(dt, manual.LV)), hand, jit: !opts.quick,
  }));
  for (const t of params) t.dispose();
}

async function rosenbrockRows(dt, opts, rows) {
  const [x0, y0] = [-1.2, 1];
  const x = dt.scalar(x0);
  const y = dt.scalar(y0);
  const grad = new Float64Array(2);
  const out = new Float64Array(3);
  // The dualtape calls read their outputs back (item()), so the time includes handing back
  // and disposing the three scalar tensors, as a caller pays it.
  const vg = dt.valueAndGrad(models.rosenbrockModel(dt), { argnums: [0, 1] });
  const read = ([v, [gx, gy]]) => {
    sink += v.item() + gx.item() + gy.item();
  };
  const row = await workload(dt, opts, {
    group: 'rosenbrock', name: 'Rosenbrock 2-D (outputs read back)', size: 2, args: [x, y], vg, read,
    hand: () => {
      out[0] = manual.rosenbrockValueAndGrad(x0, y0, grad);
      out.set(grad, 1);
      return out;
    },
  });
  rows.push({ ...row, jitUsPerCall: row.jitMs * 1e3, target: 'jit <= 1 us per call' });
  x.dispose();
  y.dispose();
}

/** A program of 10,000 equations (5,000 mul/add pairs on f64[16]): trace and first-call time. */
async function compileRows(dt, opts, rows) {
  const pairs = 5000;
  const x = dt.randn([16], { seed: 3 });
  const w = dt.array(Array.from({ length: 16 }, (_, i) => 0.5 + i / 64));
  const f = (x, w) => {
    let y = x;
    for (let i = 0; i < pairs; i++) y = dt.add(dt.mul(y, w), x);
    return y;
  };
  const jf = dt.jit(f);
  const t0 = performance.now();
  const equations = jf.program(x, w).equations.length;
  const traceMs = performance.now() - t0;
  const t1 = performance.now();
  dt.tidy(() => {
    jf(x, w);
  });
  const firstCallMs = performance.now() - t1;
  const [steady] = await timeRounds([[`${equations}-equation program: steady call`, () => dt.tidy(() => {
    jf(x, w);
  })]], opts);
  const compileMs = traceMs + Math.max(0, firstCallMs - steady.ms);
  opts.log(`  ${equations}-equation program: trace ${formatTime(traceMs)}, first call ${formatTime(firstCallMs)}, compile ${formatTime(compileMs)} (target < 1 s)`);
  rows.push({ kind: 'compile', group: 'compile', name: `jit program of ${equations} equations (mul/add chain, f64[16])`, size: equations, equations, traceMs, firstCallMs, jitMs: steady.ms, compileMs, targetMs: 1000 });
  x.dispose();
  w.dispose();
}

const ratio = (v) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(0)}x` : '');

/** The table as Markdown (bench/results/field.md and the README's benchmark section). */
export function markdownTable(rows) {
  const head = '| workload | hand-written JS | eager | jit | jit / hand | eager / hand | jit / eager | trace + plan (equations) |\n|---|---:|---:|---:|---:|---:|---:|---:|';
  const body = rows.filter((r) => r.kind === 'workload').map((r) => `| ${r.name} | ${formatTime(r.manualMs)} | ${formatTime(r.eagerMs)} | ${formatTime(r.jitMs)} | ${ratio(r.jitVsManual)} | ${ratio(r.eagerVsManual)} | ${ratio(r.jitVsEager)} | ${r.compileMs === undefined ? '' : `${formatTime(r.compileMs)} (${r.equations})`} |`);
  const compile = rows.filter((r) => r.kind === 'compile').map((r) => `| a ${r.equations}-equation program (mul/add chain on f64[16]): trace ${formatTime(r.traceMs)}, trace + plan ${formatTime(r.compileMs)} (target < 1 s) | | | ${formatTime(r.jitMs)} | | | | ${formatTime(r.compileMs)} (${r.equations}) |`);
  return [head, ...body, ...compile].join('\n');
}

/** `only`: names of parts to run (all by default), for iterating on one workload. */
export async function run({ quick = false, lib, log = console.log, only } = {}) {
  const dt = await loadLibrary(lib);
  const rows = [];
  const opts = { quick, log };
  const parts = [
    ['logsumexp', logsumexpRows], ['ode', odeRows], ['lstm', lstmRows], ['det', detRows],
    ['Lotka-Volterra', lotkaVolterraRows], ['Rosenbrock', rosenbrockRows], ['10,000-equation compile', compileRows],
  ];
  for (const [name, part] of parts.filter(([n]) => !only || only.includes(n))) {
    log(`field: ${name}`);
    await part(dt, opts, rows);
  }
  log('');
  printTable(rows, [
    ['name'], ['manualMs', formatTime], ['eagerMs', formatTime], ['jitMs', formatTime],
    ['jitVsManual', ratio], ['eagerVsManual', ratio], ['jitVsEager', ratio],
    ['traceMs', formatTime], ['compileMs', formatTime], ['equations', (v) => (v === undefined ? '' : String(v))],
  ], log);
  log('');
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}field.md`, `${markdownTable(rows)}\n`);
  log('field: wrote bench/results/field.md');
  return rows;
}
