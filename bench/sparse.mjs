// Sparse Jacobians: a tridiagonal Jacobian (the 1-D Laplacian stencil plus sin) at n = 1e3,
// 1e4 and 1e5 by sparseJacobian, against dense jacfwd at n = 1e3 (dense at 1e4 would be an
// 800 MB Jacobian). The sparse cost should grow like n (3 colors whatever n is); the dense one
// like n^2 (n / 12 passes of chunk 12, each O(n)).
//   node bench/sparse.mjs [--quick]        (build dist first; see bench/run.mjs)
import { pathToFileURL } from 'node:url';
import { discard, formatTime, measure, printTable } from './suites/measure.mjs';

export const title = 'Sparse Jacobians: tridiagonal at n = 1e3, 1e4, 1e5, sparse against dense jacfwd';

/** x_{i-1} - 2 x_i + x_{i+1} + sin(x_i) with zero boundary values. */
function tridiagonal(dt, x) {
  const n = x.shape[0];
  const left = dt.concat([dt.zeros([1]), dt.slice(x, [0], [n - 1])]);
  const right = dt.concat([dt.slice(x, [1], [n - 1]), dt.zeros([1])]);
  return dt.add(dt.sub(dt.add(left, right), dt.mul(x, 2)), dt.sin(x));
}

/** The largest |J_ij - exact| over the stored entries: -2 + cos(x_i) on the diagonal, 1 beside it. */
function closedFormError(J, xs) {
  let worst = 0;
  for (let i = 0; i < J.shape[0]; i++) {
    for (let k = J.indptr[i]; k < J.indptr[i + 1]; k++) {
      const j = J.indices[k];
      const want = i === j ? -2 + Math.cos(xs[i]) : 1;
      worst = Math.max(worst, Math.abs(J.values[k] - want));
    }
  }
  return worst;
}

export async function run({ quick = false, log = console.log } = {}) {
  const dt = await import('../dist/index.mjs');
  await dt.ready();
  const f = (x) => tridiagonal(dt, x);
  const rows = [];
  for (const n of [1e3, 1e4, 1e5]) {
    const x = dt.randn([n], { seed: 1 });
    const xs = x.data();
    const pattern = dt.sparsityPattern(f, x);
    const cases = [
      { method: 'sparsityPattern (detection only)', time: () => dt.sparsityPattern(f, x) },
      { method: 'sparse fwd: detect + color + 1 pass', time: () => dt.sparseJacobian(f)(x) },
      { method: 'sparse fwd, pattern given (1 pass, k = 3)', time: () => dt.sparseJacobian(f, { pattern })(x) },
      { method: 'sparse fwd, pattern given, chunkSize 1', time: () => dt.sparseJacobian(f, { pattern, chunkSize: 1 })(x) },
      { method: 'sparse rev, pattern given (1 sweep, k = 3)', time: () => dt.sparseJacobian(f, { pattern, mode: 'rev' })(x) },
    ];
    if (n === 1e3) cases.push({ method: 'dense jacfwd', time: () => dt.jacfwd(f)(x), dense: true });
    for (const c of cases) {
      const timing = await measure(`sparse n=${n} ${c.method}`, discard(dt, c.time), { quick, log });
      const row = { n, method: c.method, ms: timing.ms, rme: timing.rme, colors: '', passes: '', nnz: pattern.nnz, error: '' };
      dt.tidy(() => {
        const result = c.time();
        if (c.dense) {
          row.passes = Math.ceil(n / 12);
          // Compare the dense Jacobian with the closed form on every entry.
          const d = result.data();
          let worst = 0;
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < n; j++) {
              const want = i === j ? -2 + Math.cos(xs[i]) : Math.abs(i - j) === 1 ? 1 : 0;
              worst = Math.max(worst, Math.abs(d[i * n + j] - want));
            }
          }
          row.error = worst;
        } else if (result.values) {
          row.colors = result.colors;
          row.passes = result.passes;
          row.error = closedFormError(result, xs);
        }
      });
      rows.push(row);
    }
    x.dispose();
  }
  log('');
  printTable(rows, [
    ['n', (v) => v.toExponential(0)],
    ['method'],
    ['ms', (v) => formatTime(v)],
    ['colors'],
    ['passes'],
    ['nnz'],
    ['error', (v) => (typeof v === 'number' ? v.toExponential(1) : '')],
  ], log);
  const at = (n, method) => rows.find((r) => r.n === n && r.method.startsWith(method))?.ms;
  log(`\nat n = 1e3, sparse fwd with the pattern given is ${(at(1e3, 'dense jacfwd') / at(1e3, 'sparse fwd, pattern given (1')).toFixed(0)}x faster than dense jacfwd`);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run({ quick: process.argv.includes('--quick') });
}
