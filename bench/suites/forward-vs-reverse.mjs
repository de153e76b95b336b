// jacfwd vs jacrev vs jacobian(f, {mode: 'auto'}) over a grid of input sizes n and output
// sizes m, for f: R^n -> R^m. Forward mode costs about n/k passes and reverse about m/k
// sweeps, so forward should win where n < m and reverse where n > m; the measured crossover
// (and f's own time, the cost model's unit) is what calibrates chooseJacobianMode.
import { crossovers } from '../report.mjs';
import { discard, formatTime, loadLibrary, measure, printTable } from './measure.mjs';

export const title = 'Forward vs reverse: Jacobian time over n inputs and m outputs';

const grids = {
  quick: { elementwise: [4, 32, 256], dense: [4, 32, 128] },
  full: { elementwise: [2, 8, 32, 128, 512, 1024], dense: [2, 8, 32, 128, 512] },
};

/** Two layers of y = tanh(0.9 sin(y) + 0.1 y): five elementwise ops per layer. */
function chain(dt, y, layers = 2) {
  for (let i = 0; i < layers; i++) y = dt.tanh(dt.add(dt.mul(dt.sin(y), 0.9), dt.mul(y, 0.1)));
  return y;
}

/** Length n to length m for powers of two: sum groups when shrinking, tile when growing. */
function resize(dt, x, m) {
  const n = x.shape[0];
  if (m === n) return x;
  if (m < n) return dt.sum(dt.reshape(x, [m, n / m]), 1);
  return dt.reshape(dt.broadcastTo(dt.reshape(x, [1, n]), [m / n, n]), [m]);
}

/** One test function of the grid for an (n, m) cell, and how to free what it holds. */
function makeFunction(dt, fn, n, m) {
  if (fn === 'elementwise') return { f: (x) => chain(dt, resize(dt, chain(dt, x), m)), dispose() {} };
  const W = dt.tidy(() => dt.randn([m, n], { seed: 7 }).mul(1 / Math.sqrt(n)));
  return { f: (x) => dt.tanh(dt.matmul(W, x)), dispose: () => W.dispose() };
}

/** Gets every code path of the three transforms compiled before the first timed cell. */
function warmUpTransforms(dt) {
  const x = dt.randn([8], { seed: 1 });
  for (const fn of ['elementwise', 'dense']) {
    for (const m of [4, 8, 16]) {
      const { f, dispose } = makeFunction(dt, fn, 8, m);
      for (let i = 0; i < 20; i++) {
        dt.tidy(() => {
          dt.jacfwd(f)(x);
          dt.jacrev(f)(x);
          dt.jacobian(f, { mode: 'auto' })(x);
        });
      }
      dispose();
    }
  }
  x.dispose();
}

/** The cost model's estimates (in evaluations of f), when dist exports it, to set beside the times. */
function modelEstimate(dt, n, m) {
  if (typeof dt.jacobianCost !== 'function') return {};
  const c = dt.jacobianCost(n, m);
  return { modelFwd: c.fwd, modelRev: c.rev };
}

function maxAbsDiff(a, b) {
  const x = a.data();
  const y = b.data();
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
}

export async function run({ quick = false, lib, log = console.log } = {}) {
  const dt = await loadLibrary(lib);
  const grid = quick ? grids.quick : grids.full;
  const rows = [];
  warmUpTransforms(dt);
  for (const fn of ['elementwise', 'dense']) {
    log(`forward-vs-reverse: ${fn === 'dense' ? 'dense layer tanh(W x)' : 'elementwise chain'}`);
    for (const n of grid[fn]) {
      for (const m of grid[fn]) {
        const cell = makeFunction(dt, fn, n, m);
        const x = dt.randn([n], { seed: 3 });
        // Both modes must agree before their times mean anything.
        const maxDiff = dt.tidy(() => maxAbsDiff(dt.jacfwd(cell.f)(x), dt.jacrev(cell.f)(x)));
        const label = `${fn} n=${n} m=${m}`;
        const base = await measure(`${label} f`, discard(dt, () => cell.f(x)), { quick, log });
        const fwd = await measure(`${label} jacfwd`, discard(dt, () => dt.jacfwd(cell.f)(x)), { quick, log });
        const rev = await measure(`${label} jacrev`, discard(dt, () => dt.jacrev(cell.f)(x)), { quick, log });
        const auto = await measure(`${label} jacobian auto`, discard(dt, () => dt.jacobian(cell.f, { mode: 'auto' })(x)), { quick, log });
        x.dispose();
        cell.dispose();
        rows.push({
          fn, n, m,
          fMs: base.ms, fwdMs: fwd.ms, revMs: rev.ms, autoMs: auto.ms,
          fwdRme: fwd.rme, revRme: rev.rme, autoRme: auto.rme,
          autoMode: dt.chooseJacobianMode(n, m),
          ...modelEstimate(dt, n, m),
          faster: fwd.ms <= rev.ms ? 'fwd' : 'rev',
          maxDiff,
          error: fwd.error ?? rev.error ?? auto.error,
        });
      }
    }
  }
  log('');
  printTable(rows, [
    ['fn'], ['n'], ['m'],
    ['fMs', formatTime], ['fwdMs', formatTime], ['revMs', formatTime], ['autoMs', formatTime],
    ['faster'], ['autoMode'], ['maxDiff', (v) => v.toExponential(1)],
  ], log);
  const agree = rows.filter((r) => r.autoMode === r.faster).length;
  log(`auto picked the faster mode in ${agree} of ${rows.length} cells`);
  for (const c of crossovers(rows)) log(`crossover ${c.fn} n=${c.n}: ${c.text}`);
  log('');
  return rows;
}
