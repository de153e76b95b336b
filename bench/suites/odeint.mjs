// odeint: the adaptive Dormand-Prince solver on Lotka-Volterra (2 states) and on a 100-state
// non-stiff system y' = tanh(W y) (W random, scaled by 2/sqrt(n)), value and gradient, eager
// and jitted, against a hand-written plain-JS Dormand-Prince (bench/manual/dopri5.mjs) for the
// value. Each row reports the steps taken, the calls of f, the peak memory above the baseline
// and the time. The plain-JS solver takes the same steps (same method, same step control), so
// the time ratio is the cost of the library's ops per step. Gradient rows: through the steps
// (taped, or under an 8-snapshot budget: online checkpointing recomputes steps), eager and in
// both jit orders, and the continuous adjoint.
import { dopri5Plain } from '../manual/dopri5.mjs';
import { discard, formatTime, loadLibrary, measure, printTable, row } from './measure.mjs';

export const title = 'odeint: Dormand-Prince value and gradient, eager and jitted, against plain JS';


/** The largest difference between two arrays of numbers, relative to b's largest magnitude. */
function relativeError(a, b) {
  let worst = 0, scale = 1e-300;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}

/** Lotka-Volterra: prey x' = x (alpha - beta y), predators y' = y (delta x - gamma). */
function lotkaVolterra(dt) {
  const f = (z, _t, p) => {
    const x = dt.slice(z, [0], [1]), y = dt.slice(z, [1], [1]);
    return dt.concat([dt.mul(x, dt.sub(p.alpha, dt.mul(p.beta, y))), dt.mul(y, dt.sub(dt.mul(p.delta, x), p.gamma))]);
  };
  const p = { alpha: 1.5, beta: 1, delta: 1, gamma: 3 };
  const plain = (z, _t, dz) => {
    dz[0] = z[0] * (p.alpha - p.beta * z[1]);
    dz[1] = z[1] * (p.delta * z[0] - p.gamma);
  };
  return {
    name: 'Lotka-Volterra (2 states, t in [0, 10], 21 outputs, rtol 1e-8)',
    short: 'LV',
    f, plain, y0: [10, 5],
    ts: Array.from({ length: 21 }, (_, i) => i / 2),
    params: () => ({ alpha: dt.scalar(p.alpha), beta: dt.scalar(p.beta), delta: dt.scalar(p.delta), gamma: dt.scalar(p.gamma) }),
    options: { rtol: 1e-8, atol: 1e-8 },
  };
}

/** y' = tanh(W y), n = 100, W ~ N(0, 4/n): non-stiff, every state coupled to every other. */
function tanhNetwork(dt) {
  const n = 100;
  const W = dt.tidy(() => dt.randn([n, n], { seed: 5 }).mul(2 / Math.sqrt(n)));
  const w = Float64Array.from(W.data());
  const y0 = dt.tidy(() => dt.randn([n], { seed: 6 }).toArray());
  const f = (y, _t, p) => dt.tanh(dt.matmul(p.W, y));
  const plain = (y, _t, dy) => {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += w[i * n + j] * y[j];
      dy[i] = Math.tanh(s);
    }
  };
  return {
    name: `tanh network (${n} states, t in [0, 10], 11 outputs, rtol 1e-6)`,
    short: `tanh n=${n}`,
    f, plain, y0,
    ts: Array.from({ length: 11 }, (_, i) => i),
    params: () => ({ W }),
    options: { rtol: 1e-6, atol: 1e-6 },
  };
}

/** Runs fn once in a tidy scope and returns the peak bytes above what was in use before. */
function peakOf(dt, fn) {
  const before = dt.memory().bytesInUse;
  dt.memory({ resetPeak: true });
  dt.tidy(() => void fn());
  return dt.memory().peakBytes - before;
}

/** Calls of f made by fn (eager runs call f at every stage; a jitted one only while tracing). */
function callsOf(counter, fn) {
  const start = counter.calls;
  fn();
  return counter.calls - start;
}

async function runProblem(dt, problem, opts, rows, table) {
  const section = problem.short;
  const counter = { calls: 0 };
  const f = (y, t, p) => {
    counter.calls++;
    return problem.f(y, t, p);
  };
  const params = problem.params();
  const { ts, y0, options } = problem;
  // V8 needs a few dozen calls to optimise the plain solver's loops (the first ones run about
  // 20x slower): warm it past that so the baseline is the optimised code.
  for (let i = 0, start = performance.now(); i < 50 && performance.now() - start < 2000; i++) dopri5Plain(problem.plain, y0, ts, options);
  const ref = dopri5Plain(problem.plain, y0, ts, options);
  const refFlat = ref.ys.flatMap((y) => Array.from(y));
  const steps = `${ref.accepted}+${ref.rejected}`;

  const solve = (p) => dt.odeint(f, y0, ts, p, options);
  const jitted = dt.jit(solve);
  const loss = (extra) => (p) => dt.sum(dt.square(dt.odeint(f, y0, ts, p, { ...options, ...extra })));
  const gradSteps = dt.grad(loss({}));
  const gradSteps8 = dt.grad(loss({ checkpoints: 8 }));
  const gradAdjoint = dt.grad(loss({ gradient: 'adjoint' }));
  const gradJitAdjoint = dt.grad(dt.jit(loss({ gradient: 'adjoint' })));
  const gradJitSteps = dt.grad(dt.jit(loss({})));
  const jitGradSteps = dt.jit(dt.grad(loss({})));
  const jitGradSteps8 = dt.jit(dt.grad(loss({ checkpoints: 8 })));

  // Sanity: the library's solve takes the plain solver's steps and lands on its values.
  dt.tidy(() => {
    const stats = dt.odeintWithStats(f, y0, ts, params, options);
    if (stats.accepted.item() !== ref.accepted || stats.rejected.item() !== ref.rejected) {
      throw new Error(`odeint bench: ${section}: steps ${stats.accepted.item()}+${stats.rejected.item()} differ from plain JS ${steps}`);
    }
    const err = relativeError(Array.from(stats.ys.data()), refFlat);
    if (!(err < 1e-8)) throw new Error(`odeint bench: ${section}: values differ from plain JS by ${err}`);
    const err2 = relativeError(Array.from(jitted(params).data()), refFlat);
    if (!(err2 < 1e-8)) throw new Error(`odeint bench: ${section}: jitted values differ from plain JS by ${err2}`);
  });
  const gradAgreement = dt.tidy(() => {
    const a = gradSteps(params), b = gradAdjoint(params);
    return Math.max(...Object.keys(a).map((k) => relativeError(Array.from(a[k].data()), Array.from(b[k].data()))));
  });

  const works = (fn) => {
    try {
      dt.tidy(() => void fn());
      return true;
    } catch (e) {
      console.log(`  ${section}: ${e.constructor?.name ?? 'Error'}: ${String(e.message).slice(0, 160)}`);
      return false;
    }
  };
  // f calls are counted where f runs eagerly; a jitted function traces f once ('-').
  const cases = [
    ['plain JS dopri5 (value)', () => dopri5Plain(problem.plain, y0, ts, options), ref.evaluations, 0],
    ['odeint eager (value)', discard(dt, () => solve(params))],
    ['jit(odeint) (value)', discard(dt, () => jitted(params)), '-'],
    ['grad through the steps, eager, taped', discard(dt, () => gradSteps(params))],
    ['grad through the steps, eager, 8 snapshots', discard(dt, () => gradSteps8(params))],
    ['grad(jit(loss)), through the steps', discard(dt, () => gradJitSteps(params)), '-'],
    ['jit(grad(loss)), through the steps', discard(dt, () => jitGradSteps(params)), '-'],
    ['jit(grad(loss)), through the steps, 8 snapshots', discard(dt, () => jitGradSteps8(params)), '-'],
    ['grad, adjoint, eager', discard(dt, () => gradAdjoint(params))],
    ['grad(jit(loss)), adjoint', discard(dt, () => gradJitAdjoint(params)), '-'],
  ];
  for (const [label, fn, plainCalls, plainPeak] of cases) {
    if (!works(fn)) {
      table.push({ problem: section, case: label, steps, calls: '', peak: NaN, ms: NaN, ratio: NaN });
      continue;
    }
    const calls = plainCalls ?? callsOf(counter, fn);
    const peak = plainPeak ?? peakOf(dt, fn);
    const t = await measure(`${section}: ${label}`, fn, opts);
    table.push({ problem: section, case: label, steps, calls, peak, ms: t.ms });
    rows.push(row(section, label, 'time', 'ms', t.ms, { steps, fCalls: calls, peakBytes: peak }));
  }
  const base = table.find((r) => r.problem === section && r.case.startsWith('plain'))?.ms;
  for (const r of table) if (r.problem === section) r.ratio = r.ms / base;
  rows.push(row(section, 'adjoint vs through-the-steps gradient', 'relative difference', '', gradAgreement, { better: 'info' }));
  console.log(`  ${section}: ${problem.name}; plain JS: ${steps} steps, ${ref.evaluations} f calls; gradients (steps vs adjoint) differ by ${gradAgreement.toExponential(2)} relative`);
}

export async function run(opts = {}) {
  const dt = await loadLibrary(opts.lib);
  const rows = [];
  const table = [];
  for (const make of [lotkaVolterra, tanhNetwork]) await runProblem(dt, make(dt), opts, rows, table);
  console.log('');
  printTable(table, [
    ['problem'], ['case'], ['steps'], ['calls', (v) => String(v)],
    ['peak', (v) => (Number.isFinite(v) ? `${(v / 1024).toFixed(0)} KiB` : 'n/a')],
    ['ms', (v) => formatTime(v)], ['ratio', (v) => (Number.isFinite(v) ? `${v.toFixed(1)}x` : 'n/a')],
  ]);
  return rows;
}
