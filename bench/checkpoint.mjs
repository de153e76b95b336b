// Checkpointing: memory against time for the gradient of a long scan (l = 2000 steps over a
// state of 1000 float64 values; l = 400 with --quick). For s in {2, 5, 10, 50} snapshots with
// the binomial (Revolve) schedule, the uniform sqrt(l) schedule, and no budget (every step
// taped), it reports the step evaluations counted inside the step function beside the
// Revolve optimum l + t + 1 (t = r*l - C(s+r, s+1), the +1 for the value pass), the recompute
// factor (evaluations / l), the time of one gradient and memory().peakBytes above the inputs.
//   node bench/checkpoint.mjs [--quick]        (build dist first; see bench/run.mjs)
import { pathToFileURL } from 'node:url';
import { formatTime, printTable } from './suites/measure.mjs';

export const title = 'Checkpointing: memory against time for the gradient of a long scan';

const STATE = 1000;

function formatBytes(b) {
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(1)} KiB`;
  return `${(b / 1024 ** 2).toFixed(2)} MiB`;
}

/** Recompute factor (y) against peak memory (x, log scale), one letter per configuration. */
function asciiPlot(rows, log) {
  const width = 64;
  const height = 14;
  const xs = rows.map((r) => Math.log10(r.peakBytes));
  const ys = rows.map((r) => r.recomputeRatio);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [0, Math.ceil(Math.max(...ys))];
  const grid = Array.from({ length: height + 1 }, () => new Array(width + 1).fill(' '));
  const marks = 'ABCDEFGHIJ';
  rows.forEach((r, i) => {
    const col = x1 > x0 ? Math.round(((xs[i] - x0) / (x1 - x0)) * width) : 0;
    const row = height - Math.round(((ys[i] - y0) / (y1 - y0)) * height);
    grid[row][col] = marks[i];
  });
  log(`\nrecompute factor (step evaluations / l) against peak memory (log scale)`);
  grid.forEach((line, i) => {
    const label = i === 0 ? String(y1).padStart(4) : i === height ? String(y0).padStart(4) : '    ';
    log(`${label} |${line.join('')}`);
  });
  log(`     +${'-'.repeat(width + 1)}`);
  log(`      ${formatBytes(10 ** x0).padEnd(width - 8)}${formatBytes(10 ** x1)}`);
  log(rows.map((r, i) => `  ${marks[i]}: ${r.schedule}${r.snapshots ? ` s=${r.snapshots}` : ''}`).join(''));
}

export async function run({ quick = false, log = console.log } = {}) {
  const dt = await import('../dist/index.mjs');
  await dt.ready();
  const steps = quick ? 400 : 2000;
  const repeats = quick ? 1 : 3;
  let calls = 0;
  const step = (h, x) => {
    calls++;
    return [dt.add(dt.add(dt.mul(h, 0.999), dt.mul(dt.sin(h), 0.001)), x), null];
  };
  const h0 = dt.linspace(-1, 1, STATE);
  const xs = dt.linspace(0, 1e-3, steps);
  const configs = [
    ...[2, 5, 10, 50].map((s) => ({ schedule: 'revolve', snapshots: s, options: { checkpoints: s }, optimum: steps + dt.optimalAdvances(steps, s) + 1 })),
    { schedule: 'uniform', options: { schedule: 'uniform' }, optimum: steps + dt.scheduleStats(dt.uniformSchedule(steps)).advances + 1 },
    { schedule: 'tape every step', options: {}, optimum: steps },
  ];
  const gradient = (options) => dt.grad((h) => dt.sum(dt.scan(step, h, xs, options)[0]));
  // Warm the JIT on a short loop, so the first configuration is not charged for compilation.
  dt.tidy(() => dt.grad((h) => dt.sum(dt.scan(step, h, dt.slice(xs, [0], [50]), { checkpoints: 3 })[0]))(h0));
  let reference = null;
  const rows = [];
  for (const c of configs) {
    let peakBytes = 0;
    let stepCalls = 0;
    const times = [];
    let maxRelDiff = 0;
    for (let rep = 0; rep < repeats; rep++) {
      dt.tidy(() => {
        dt.memory({ resetPeak: true });
        const base = dt.memory().bytesInUse;
        calls = 0;
        const start = performance.now();
        const g = gradient(c.options)(h0);
        const gData = g.data();
        times.push(performance.now() - start);
        peakBytes = Math.max(peakBytes, dt.memory().peakBytes - base);
        stepCalls = calls;
        if (rep === 0) {
          if (reference === null) reference = gData;
          maxRelDiff = Math.max(...Array.from(gData, (v, i) => Math.abs(v - reference[i]) / Math.abs(reference[i])));
        }
      });
    }
    times.sort((a, b) => a - b);
    const ms = times[times.length >> 1];
    const row = {
      schedule: c.schedule,
      ...(c.snapshots ? { snapshots: c.snapshots } : {}),
      steps,
      stepCalls,
      optimum: c.optimum,
      recomputeRatio: stepCalls / steps,
      ms,
      peakBytes,
      peakStates: peakBytes / 8192,
      gradientRelDiff: maxRelDiff,
    };
    log(`  checkpoint ${`${c.schedule}${c.snapshots ? ` s=${c.snapshots}` : ''}`.padEnd(20)} ${String(stepCalls).padStart(7)} step calls  ${formatTime(ms).padStart(9)}  peak ${formatBytes(peakBytes)}`);
    rows.push(row);
  }
  h0.dispose();
  xs.dispose();
  log('');
  printTable(rows, [
    ['schedule'],
    ['snapshots', (v) => (v === undefined ? '-' : String(v))],
    ['steps'],
    ['stepCalls'],
    ['optimum'],
    ['recomputeRatio', (v) => v.toFixed(2)],
    ['ms', (v) => formatTime(v)],
    ['peakBytes', (v) => formatBytes(v)],
    ['peakStates', (v) => v.toFixed(1)],
    ['gradientRelDiff', (v) => v.toExponential(1)],
  ], log);
  log('\n(optimum: l + t + 1 step evaluations for Revolve, t = r*l - C(s+r, s+1); the uniform schedule\'s own count; l when every step is taped.'
    + ` One state is ${formatBytes(8192)}; gradientRelDiff is against the first row.)`);
  asciiPlot(rows, log);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run({ quick: process.argv.includes('--quick') });
}
