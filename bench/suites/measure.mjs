// Timing shared by the suites: one benchmark.js case per call, a progress line per case.
// Runs in Node and in the browser page (bench/browser/), where benchmark.js is loaded by
// classic <script> tags and found on globalThis.

let BenchmarkClass = null;

async function loadBenchmark() {
  if (BenchmarkClass) return BenchmarkClass;
  BenchmarkClass = globalThis.Benchmark ?? (await import('benchmark')).default;
  return BenchmarkClass;
}

/** The dualtape module under test: the one the caller passes (the browser page) or dist. */
export async function loadLibrary(lib) {
  const dt = lib ?? (await import('../../dist/index.mjs'));
  await dt.ready();
  return dt;
}

// Quick mode trades precision for wall time: short samples, few of them. benchmark.js still
// takes at least `minSamples` samples, so slow cases cost about minSamples calls.
const settings = {
  quick: { maxTime: 0.05, minSamples: 3, minTime: 0.01, initCount: 1 },
  full: { maxTime: 0.5, minSamples: 5, minTime: 0.05, initCount: 1 },
};

const inNode = typeof process !== 'undefined' && !!process.versions?.node;

/** Lets the browser paint progress between cases; a no-op cost in Node. */
const breathe = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Times `fn` with benchmark.js and prints one progress line. Returns `ms`, the median of the
 * per-sample means (robust to a GC pause or a busy neighbour on a shared machine), with the
 * mean and its relative margin of error; `{error}` if `fn` threw.
 */
export async function measure(name, fn, { quick = false, log = console.log } = {}) {
  const Benchmark = await loadBenchmark();
  await breathe();
  warmUp(fn, quick ? 5 : 50);
  const options = { ...(quick ? settings.quick : settings.full) };
  // benchmark.js 2 times with Date in browsers (1 ms resolution); its own minTime then keeps
  // the quantization error near 1%.
  if (!inNode) delete options.minTime;
  const bench = new Benchmark(name, fn, options);
  bench.run({ async: false });
  if (bench.error) {
    const message = String(bench.error?.message ?? bench.error);
    log(`  ${name.padEnd(58)} FAILED: ${message}`);
    return { ms: NaN, meanMs: NaN, rme: NaN, samples: 0, error: message };
  }
  const sample = [...bench.stats.sample].sort((a, b) => a - b);
  const mid = sample.length >> 1;
  const median = sample.length % 2 ? sample[mid] : (sample[mid - 1] + sample[mid]) / 2;
  const result = { ms: median * 1e3, meanMs: bench.stats.mean * 1e3, rme: bench.stats.rme, samples: sample.length };
  log(`  ${name.padEnd(58)} ${formatTime(result.ms).padStart(10)} ±${result.rme.toFixed(1)}% (${result.samples} samples)`);
  return result;
}

/** Runs fn until the JIT has seen it a few times, so the first samples are not compile time. */
function warmUp(fn, budgetMs) {
  const start = performance.now();
  for (let i = 0; i < 3 || performance.now() - start < budgetMs; i++) {
    try {
      fn();
    } catch {
      return; // benchmark.js reports the error
    }
  }
}

export function formatTime(ms) {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms < 1e-3) return `${(ms * 1e6).toFixed(0)} ns`;
  if (ms < 1) return `${(ms * 1e3).toFixed(2)} us`;
  if (ms < 1e3) return `${ms.toFixed(2)} ms`;
  return `${(ms / 1e3).toFixed(2)} s`;
}

/** Runs `fn` in a tidy scope and keeps nothing, so a timing loop never accumulates tensors. */
export function discard(dt, fn) {
  return () => {
    dt.tidy(() => {
      fn();
    });
  };
}

/** Prints rows as an aligned table (the columns given, in order). */
export function printTable(rows, columns, log = console.log) {
  const cells = rows.map((row) => columns.map(([key, format]) => (format ? format(row[key], row) : String(row[key] ?? ''))));
  const widths = columns.map(([key], i) => Math.max(key.length, ...cells.map((c) => c[i].length)));
  log(columns.map(([key], i) => key.padStart(widths[i])).join('  '));
  for (const c of cells) log(c.map((v, i) => v.padStart(widths[i])).join('  '));
}

/**
 * Times the cases round-robin (`rounds` times each, in order; one round with --quick) and keeps
 * each case's fastest median: on a shared machine load only ever adds time, and interleaving
 * keeps a burst of it from landing on one side of a ratio. Returns the results in case order.
 */
export async function measureRounds(cases, opts, rounds = 2) {
  const n = opts.quick ? 1 : rounds;
  const best = cases.map(() => null);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < cases.length; i++) {
      const [name, fn] = cases[i];
      const t = await measure(n > 1 ? `${name} [round ${r + 1}]` : name, fn, opts);
      if (!best[i] || !(best[i].ms <= t.ms)) best[i] = t;
    }
  }
  return best;
}

/** A result row of the report (lower is better). */
export function row(section, name, metric, unit, value, extra = {}) {
  return { section, name, metric, unit, value, better: 'lower', ...extra };
}
