// The jit suite's tape rows (issue #12's targets): JS heap bytes per op of a 400,000-op scalar
// tape and the time per op of its gradient, measured in a child started with --expose-gc; and
// whether a 10,000,000-op scalar tape runs under grad in a child with Node's default heap
// (not in --quick).
// Child processes keep the parent's heap (and its jit caches) out of both measurements.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./jit-tape-child.mjs', import.meta.url));

/** Runs the child; its last stdout line is JSON. Returns {result} or {error}. */
function runChild(nodeFlags, args, timeoutMs) {
  const start = performance.now();
  try {
    const stdout = execFileSync(process.execPath, [...nodeFlags, child, ...args.map(String)], {
      encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { result: JSON.parse(stdout.trim().split('\n').at(-1)), wallMs: performance.now() - start };
  } catch (err) {
    const stderr = String(err.stderr ?? '').trim().split('\n').filter(Boolean);
    const reason = err.signal ? `killed by ${err.signal}${err.signal === 'SIGTERM' ? ` (timeout ${timeoutMs / 1e3} s)` : ''}`
      : `exit code ${err.status ?? '?'}`;
    const heap = stderr.find((l) => /heap out of memory/i.test(l));
    return { error: `${reason}${heap ? `: ${heap.trim()}` : stderr.length ? `: ${stderr.at(-1).slice(0, 200)}` : ''}`, wallMs: performance.now() - start };
  }
}

export function tapeRows({ quick = false, log = console.log } = {}) {
  const S = '5 tape';
  const rows = [];
  const heapReps = 200_000; // two recorded ops (mul, add) per repetition: 400,000 ops
  const heap = runChild(['--expose-gc'], ['heap', heapReps, quick ? 1 : 3], 600_000);
  if (heap.error) {
    log(`  tape 400,000 ops (child --expose-gc)                      FAILED: ${heap.error}`);
    rows.push({ section: S, name: '400,000-op scalar tape: JS heap bytes per op', metric: 'tape-heap', unit: 'B/op', value: NaN, target: 150, error: heap.error });
  } else {
    const r = heap.result;
    if (!(r.gradError < 1e-9 && r.valueError < 1e-9)) throw new Error(`jit bench sanity check failed: tape child: ${JSON.stringify(r)}`);
    log(`  ${`tape ${r.ops} ops: JS heap after gc inside f`.padEnd(58)} ${r.heapBytesPerOp.toFixed(1).padStart(8)} B/op`);
    log(`  ${`tape ${r.ops} ops: grad / eager time (median of ${quick ? 1 : 3})`.padEnd(58)} ${(r.gradMs / r.ops * 1e3).toFixed(2)} / ${(r.eagerMs / r.ops * 1e3).toFixed(2)} us/op`);
    rows.push(
      { section: S, name: `${r.ops}-op scalar tape (y = y * 0.999 + 0.001): JS heap bytes per op`, metric: 'tape-heap', unit: 'B/op', value: r.heapBytesPerOp, target: 150, better: 'lower', ops: r.ops },
      { section: S, name: `${r.ops}-op scalar tape: wasm bytes per op (peak during f)`, metric: 'tape-wasm', unit: 'B/op', value: r.wasmBytesPerOp, better: 'lower', ops: r.ops },
      { section: S, name: `grad of the ${r.ops}-op scalar chain, per op`, metric: 'per-op', unit: 'us', value: (r.gradMs / r.ops) * 1e3, ms: r.gradMs, better: 'lower' },
      { section: S, name: 'the same chain eager (tidy, no tape), per op', metric: 'per-op', unit: 'us', value: (r.eagerMs / r.ops) * 1e3, ms: r.eagerMs, better: 'lower' },
      { section: S, name: 'scalar chain grad / eager', metric: 'grad/f', unit: 'x', value: r.gradMs / r.eagerMs, baseMs: r.eagerMs, ms: r.gradMs, better: 'lower' },
    );
  }
  const bigReps = 5_000_000;
  const name = `${2 * bigReps}-op scalar tape under valueAndGrad, Node's default heap`;
  if (quick) {
    // It takes 1-3 minutes (the collector works hard near the heap limit): more than --quick's budget.
    log(`  ${`tape ${2 * bigReps} ops, default heap`.padEnd(58)} skipped in --quick (run without it)`);
    rows.push({ section: S, name: `${name}: skipped in --quick`, metric: 'tape-10M', unit: 's', value: NaN, status: 'skipped' });
    return rows;
  }
  const big = runChild([], ['big', bigReps], 900_000);
  if (big.error) {
    log(`  ${`tape ${2 * bigReps} ops, default heap`.padEnd(58)} FAILED: ${big.error}`);
    rows.push({ section: S, name: `${name}: failed`, metric: 'tape-10M', unit: 's', value: big.wallMs / 1e3, status: 'failed', error: big.error });
  } else {
    const r = big.result;
    const ok = r.valueError < 1e-9 && r.gradError < 1e-300;
    const mib = (b) => (b / 2 ** 20).toFixed(0);
    log(`  ${`tape ${r.ops} ops, default heap (${mib(r.heapLimitBytes)} MiB limit)`.padEnd(58)} ${ok ? 'ok' : 'WRONG RESULT'}, ${(r.ms / 1e3).toFixed(1)} s, peak RSS ${mib(r.peakRssBytes)} MiB`);
    rows.push(
      { section: S, name: `${name}: ${ok ? 'ok' : 'wrong result'}, time`, metric: 'tape-10M', unit: 's', value: r.ms / 1e3, status: ok ? 'ok' : 'wrong result', ops: r.ops, better: 'lower' },
      { section: S, name: `${name}: peak RSS (heap limit ${mib(r.heapLimitBytes)} MiB)`, metric: 'tape-10M-rss', unit: 'MiB', value: r.peakRssBytes / 2 ** 20, better: 'lower', heapLimitMiB: r.heapLimitBytes / 2 ** 20 },
      { section: S, name: `${name}: time per op`, metric: 'per-op', unit: 'us', value: (r.ms / r.ops) * 1e3, better: 'lower' },
    );
  }
  return rows;
}
