// jacobian(f, {mode: 'auto'}) along the diagonal from (n, m) = (1000, 2) to (2, 1000): the
// time of 'auto' against the faster of 'fwd' and 'rev' (target: within 10%), the fit of the
// cost model's constants (src/transforms/jacobian.ts) to measured pass and sweep times, and
// the Hessian rows: hessian (forward over reverse) against hvp (one Hessian-vector product).
import { discard, formatTime, loadLibrary, measure, printTable } from './measure.mjs';

export const title = 'Jacobian mode selection, cost-model fit, Hessians';

const diagonal = [[1000, 2], [500, 4], [200, 10], [100, 20], [50, 50], [20, 100], [10, 200], [4, 500], [2, 1000]];
const quickDiagonal = [[1000, 2], [100, 20], [50, 50], [20, 100], [2, 1000]];

/** f: R^n -> R^m, a dense layer between two elementwise stages (a small neural map). */
function makeLayer(dt, n, m) {
  const W = dt.tidy(() => dt.randn([m, n], { seed: 3 }).mul(1 / Math.sqrt(n)));
  return { f: (x) => dt.tanh(dt.matmul(W, dt.sin(x).mul(0.5).add(x))), dispose: () => W.dispose() };
}

/** Least squares for y ~ X beta (normal equations; the systems here are 2x2 and 3x3). */
function leastSquares(X, y) {
  const p = X[0].length;
  const A = Array.from({ length: p }, (_, i) => Array.from({ length: p }, (_, j) => X.reduce((s, r) => s + r[i] * r[j], 0)));
  const b = Array.from({ length: p }, (_, i) => X.reduce((s, r, k) => s + r[i] * y[k], 0));
  for (let c = 0; c < p; c++) {
    for (let r = c + 1; r < p; r++) {
      const f = A[r][c] / A[c][c];
      for (let j = c; j < p; j++) A[r][j] -= f * A[c][j];
      b[r] -= f * b[c];
    }
  }
  const beta = new Array(p).fill(0);
  for (let r = p - 1; r >= 0; r--) beta[r] = (b[r] - A[r].slice(r + 1).reduce((s, v, j) => s + v * beta[r + 1 + j], 0)) / A[r][r];
  return beta;
}

export async function run({ quick = false, log = console.log, lib } = {}) {
  const dt = await loadLibrary(lib);
  const rows = [];
  const time = async (name, fn) => (await measure(name, discard(dt, fn), { quick, log })).ms;

  // 1. The diagonal sweep: auto against the faster mode, and the pass and sweep times the cost
  //    model is fitted to: a forward pass with k directions costs fwdPass + fwdPerElement k (n+m)
  //    microseconds, a reverse sweep revSweep + revPerElement k (n+m), after a tape of revTape.
  const fwdX = [], fwdY = [], revX = [], revY = [];
  const model = dt.jacobianCostModel;
  for (const [n, m] of quick ? quickDiagonal : diagonal) {
    const layer = makeLayer(dt, n, m);
    const x = dt.randn([n], { seed: 9 });
    const fwd = await time(`jacfwd  n=${n} m=${m}`, () => dt.jacfwd(layer.f)(x));
    const rev = await time(`jacrev  n=${n} m=${m}`, () => dt.jacrev(layer.f)(x));
    const jac = dt.jacobian(layer.f, { mode: 'auto' });
    const auto = await time(`auto    n=${n} m=${m}`, () => jac(x));
    const cost = dt.jacobianCost(n, m);
    const best = Math.min(fwd, rev);
    rows.push({ case: 'auto vs best', n, m, fwdMs: fwd, revMs: rev, autoMs: auto, chosen: cost.mode, faster: fwd <= rev ? 'fwd' : 'rev', autoOverBest: auto / best, modelFwdUs: cost.fwd, modelRevUs: cost.rev });
    const kf = model.fwdChunk(n), kr = model.revChunk(m);
    fwdX.push([cost.fwdPasses, cost.fwdPasses * kf * (n + m)]);
    fwdY.push(fwd * 1e3);
    revX.push([1, cost.revSweeps, cost.revSweeps * kr * (n + m)]);
    revY.push(rev * 1e3);
    layer.dispose();
    x.dispose();
  }
  const [fwdPass, fwdPerElement] = leastSquares(fwdX, fwdY);
  const [revTape, revSweep, revPerElement] = leastSquares(revX, revY);
  const fitted = { fwdPass, fwdPerElement, revTape, revSweep, revPerElement };
  log(`  fitted cost model (microseconds): ${Object.entries(fitted).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(', ')}`);
  log(`  in use: ${Object.entries(model).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k} ${v}`).join(', ')}`);
  rows.push({ case: 'cost-model fit', ...fitted });

  // 3. Hessians: the full Hessian (forward over reverse) against one Hessian-vector product.
  for (const n of quick ? [32, 256] : [32, 128, 512]) {
    const A = dt.tidy(() => dt.randn([n, n], { seed: 4 }).mul(1 / Math.sqrt(n)));
    const g = (x) => dt.sum(dt.tanh(dt.matmul(A, x)).square()).add(dt.sum(dt.sin(x)));
    const x = dt.randn([n], { seed: 6 });
    const v = dt.randn([n], { seed: 8 });
    const tg = await time(`grad        n=${n}`, () => dt.grad(g)(x));
    const thvp = await time(`hvp         n=${n}`, () => dt.hvp(g, [x], [v]));
    const thess = await time(`hessian     n=${n}`, () => dt.hessian(g)(x));
    rows.push({ case: 'hessian', n, gradMs: tg, hvpMs: thvp, hessianMs: thess, hvpOverGrad: thvp / tg, hessianOverHvp: thess / thvp });
    A.dispose();
    x.dispose();
    v.dispose();
  }

  const diag = rows.filter((r) => r.case === 'auto vs best');
  printTable(diag.map((r) => ({ n: r.n, m: r.m, fwd: formatTime(r.fwdMs), rev: formatTime(r.revMs), auto: formatTime(r.autoMs), chosen: r.chosen, faster: r.faster, 'auto/best': r.autoOverBest.toFixed(2) })),
    ['n', 'm', 'fwd', 'rev', 'auto', 'chosen', 'faster', 'auto/best'].map((c) => [c]), log);
  const worst = Math.max(...diag.map((r) => r.autoOverBest));
  log(`  worst auto/best along the diagonal: ${worst.toFixed(2)} (target <= 1.10)`);
  printTable(rows.filter((r) => r.case === 'hessian').map((r) => ({ n: r.n, grad: formatTime(r.gradMs), hvp: formatTime(r.hvpMs), hessian: formatTime(r.hessianMs), 'hvp/grad': r.hvpOverGrad.toFixed(2), 'hessian/hvp': r.hessianOverHvp.toFixed(1) })),
    ['n', 'grad', 'hvp', 'hessian', 'hvp/grad', 'hessian/hvp'].map((c) => [c]), log);
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) await run({ quick: process.argv.includes('--quick') });
