// npm run bench [-- --quick] [--only=id,id] [--skip=id,id]
// npm run bench -- --report    re-renders report.html from the last latest.json
//
// Runs every suite below in one process, prints a progress line per case, and writes
// bench/results/latest.json and bench/results/report.html (self-contained, inline SVG).
// A suite module exports `run({quick})`, returning an array of plain row objects (it may
// print its own table); a suite whose file is missing is reported and skipped.
// The suites time dist/, so build it first (npm install does):
//   npx tsc -p tsconfig.build.json && npx rollup -c rollup.config.mjs
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { renderReport } from './report.mjs';

const suites = [
  { id: 'kernels/elementwise', file: 'kernels/elementwise.mjs', title: 'Kernels: elementwise maps against plain JS' },
  { id: 'kernels/reduce', file: 'kernels/reduce.mjs', title: 'Kernels: reductions against plain JS' },
  { id: 'kernels/matmul', file: 'kernels/matmul.mjs', title: 'Kernels: matmul against plain JS' },
  { id: 'kernels/decomp', file: 'kernels/decomp.mjs', title: 'Kernels: QR, eigh and SVD against the same algorithms in plain JS' },
  { id: 'kernels/einsum', file: 'kernels/einsum.mjs', title: 'einsum against the direct ops it lowers to' },
  { id: 'kernels/special', file: 'kernels/special.mjs', title: 'Kernels: erf, softplus, log1p, expm1 against their previous implementations (1e6 elements)' },
  { id: 'kernels/indexing', file: 'kernels/indexing.mjs', title: 'Kernels: int32 maps against f64 conversions; gather, scatter_add, argsort against plain JS' },
  { id: 'forward-vs-reverse', file: 'suites/forward-vs-reverse.mjs', title: 'Forward vs reverse: jacfwd, jacrev and jacobian auto over n and m' },
  { id: 'jacobian-modes', file: 'suites/jacobian-modes.mjs', title: 'Jacobian mode selection along (1000, 2) .. (2, 1000), cost-model fit, Hessians' },
  { id: 'ratios', file: 'suites/ratios.mjs', title: 'Transform cost: jvp/f, grad/f, chunking, scalar overhead, tape bytes' },
  { id: 'jit', file: 'suites/jit.mjs', title: 'jit: per-equation overhead, scalar programs against plain JS, MLP, tape bytes' },
  { id: 'vmap', file: 'suites/vmap.mjs', title: 'vmap: per-example MLP gradients against a loop of grad and a hand-batched version' },
  { id: 'field', file: 'suites/field.mjs', title: 'Field workloads: hand-written JS, eager and jit (logsumexp, ode, lstm, det, Lotka-Volterra, Rosenbrock)' },
  { id: 'fusion', file: 'suites/fusion.mjs', title: 'Fusion: elementwise chains jitted (fused), jitted unfused, and eager' },
  { id: 'checkpoint', file: 'checkpoint.mjs', title: 'Checkpointing: memory against time' },
  { id: 'online', file: 'suites/online.mjs', title: 'Online checkpointing: whileLoop body calls against offline Revolve, and a timed loop' },
  { id: 'odeint', file: 'suites/odeint.mjs', title: 'odeint: Dormand-Prince value and gradient, eager and jitted, against plain JS' },
  { id: 'sparse', file: 'sparse.mjs', title: 'Sparse Jacobians' },
  { id: 'peers', file: 'suites/peers.mjs', title: 'Peers: TensorFlow.js and jax-js (wasm, float32)' },
];

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

function parseArgs(argv) {
  const list = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3).split(',').filter(Boolean);
  return { quick: argv.includes('--quick'), report: argv.includes('--report'), only: list('only'), skip: list('skip') ?? [] };
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Fails early when dist/ is missing, and warns when it is older than its sources. */
function checkDist() {
  const dist = here('../dist/index.mjs');
  const build = 'npx tsc -p tsconfig.build.json && npx rollup -c rollup.config.mjs';
  if (!existsSync(dist)) {
    console.error(`bench: dist/index.mjs is missing. Build the library first: ${build}`);
    process.exit(1);
  }
  const sources = Math.max(newestMtime(here('../src')), existsSync(here('../build/wasm.ts')) ? statSync(here('../build/wasm.ts')).mtimeMs : 0);
  if (sources > statSync(dist).mtimeMs) console.warn(`bench: warning: dist/ is older than src/ or build/wasm.ts; timing the old build. Rebuild with: ${build}`);
}

function gitCommit() {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: here('..'), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

async function runSuite(suite, quick) {
  const path = here(suite.file);
  const base = { id: suite.id, title: suite.title, file: `bench/${suite.file}` };
  if (!existsSync(path)) {
    console.log(`\n== ${suite.id}: skipped, bench/${suite.file} is not there yet`);
    return { ...base, status: 'missing', rows: [] };
  }
  console.log(`\n== ${suite.id} (bench/${suite.file})`);
  const start = performance.now();
  try {
    const mod = await import(path);
    if (typeof mod.run !== 'function') throw new Error(`bench/${suite.file} exports no run({quick}) function`);
    const rows = await mod.run({ quick });
    if (!Array.isArray(rows)) throw new Error(`run() returned ${typeof rows}, expected an array of rows`);
    const seconds = (performance.now() - start) / 1e3;
    console.log(`== ${suite.id}: ${rows.length} rows in ${seconds.toFixed(1)} s`);
    return { ...base, title: mod.title ?? suite.title, status: 'ok', seconds, rows };
  } catch (err) {
    console.error(`== ${suite.id} FAILED: ${err?.stack ?? err}`);
    return { ...base, status: 'error', error: String(err?.message ?? err), seconds: (performance.now() - start) / 1e3, rows: [] };
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.report) {
    writeFileSync(here('results/report.html'), renderReport(JSON.parse(readFileSync(here('results/latest.json'), 'utf8'))));
    console.log('wrote bench/results/report.html from bench/results/latest.json');
    return;
  }
  checkDist();
  const start = performance.now();
  const selected = suites.filter((s) => (!args.only || args.only.includes(s.id)) && !args.skip.includes(s.id));
  console.log(`dualtape bench${args.quick ? ' --quick' : ''}: ${selected.map((s) => s.id).join(', ')}`);
  const results = [];
  for (const suite of selected) results.push(await runSuite(suite, args.quick));
  const seconds = (performance.now() - start) / 1e3;
  const report = {
    meta: {
      date: new Date().toISOString(),
      commit: gitCommit(),
      quick: args.quick,
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      seconds: Number(seconds.toFixed(1)),
    },
    suites: results,
  };
  mkdirSync(here('results'), { recursive: true });
  writeFileSync(here('results/latest.json'), `${JSON.stringify(report, null, 1)}\n`);
  writeFileSync(here('results/report.html'), renderReport(report));
  console.log(`\nbench: ${results.filter((r) => r.status === 'ok').length} of ${results.length} suites ran in ${seconds.toFixed(1)} s`);
  for (const r of results.filter((x) => x.status !== 'ok')) console.log(`  ${r.id}: ${r.status}${r.error ? ` (${r.error})` : ''}`);
  console.log('wrote bench/results/latest.json and bench/results/report.html');
  if (args.quick && seconds > 60) {
    const slowest = results.filter((r) => r.seconds).sort((a, b) => b.seconds - a.seconds).map((r) => `${r.id} ${r.seconds.toFixed(1)} s`);
    console.log(`bench: warning: --quick took ${seconds.toFixed(0)} s, over its 60 s budget (${slowest.join(', ')}); a busy machine inflates this too.`);
  }
  if (results.some((r) => r.status === 'error')) process.exitCode = 1;
}

await main();
