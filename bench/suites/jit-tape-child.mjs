// Child process of the jit suite's tape rows (bench/suites/jit-tape.mjs): a long scalar tape,
// y = y * 0.999 + 0.001 repeated (two recorded ops per repetition), under grad.
//   node --expose-gc jit-tape-child.mjs heap <reps> <runs>   JS heap bytes per op, time per op
//   node jit-tape-child.mjs big <reps>                        does the tape fit Node's default heap
// Prints one JSON line on stdout.
import { resourceUsage } from 'node:process';

const dt = await import('../../dist/index.mjs');
await dt.ready();

const [mode, repsText, runsText] = process.argv.slice(2);
const reps = Number(repsText);
const runs = Number(runsText ?? 1);
const ops = 2 * reps;

const chain = (y0) => {
  let y = y0;
  for (let i = 0; i < reps; i++) y = y.mul(0.999).add(0.001);
  return y;
};

// y_n = 1 + (y0 - 1) 0.999^n, so dy_n/dy0 = 0.999^n.
const y0Value = 2;
const expectedGrad = 0.999 ** reps;
const expectedValue = 1 + (y0Value - 1) * expectedGrad;

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function timeRuns(fn) {
  const ms = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    dt.tidy(fn);
    ms.push(performance.now() - start);
  }
  return median(ms);
}

if (mode === 'heap') {
  if (typeof globalThis.gc !== 'function') throw new Error('jit-tape-child heap mode needs node --expose-gc');
  const y0 = dt.scalar(y0Value);
  // Warm-up: compiled code, interned rules and shapes and the allocator's free lists exist
  // before the measured tape, so the heap difference is the tape's own.
  dt.tidy(() => dt.grad((y) => y.mul(0.999).add(0.001).mul(0.999).add(0.001))(y0));
  let heapBytes = NaN;
  let wasmPeak = NaN;
  const measured = (y) => {
    globalThis.gc();
    const before = process.memoryUsage().heapUsed;
    dt.memory({ resetPeak: true });
    const wasmBefore = dt.memory().bytesInUse;
    const out = chain(y);
    globalThis.gc();
    heapBytes = process.memoryUsage().heapUsed - before;
    wasmPeak = dt.memory().peakBytes - wasmBefore;
    return out;
  };
  const grad = dt.tidy(() => dt.grad(measured)(y0).item());
  const gradMs = timeRuns(() => dt.grad(chain)(y0));
  const eagerMs = timeRuns(() => chain(y0));
  const value = dt.tidy(() => chain(y0).item());
  console.log(JSON.stringify({
    ops, heapBytesPerOp: heapBytes / ops, wasmBytesPerOp: wasmPeak / ops, gradMs, eagerMs,
    gradError: Math.abs(grad - expectedGrad) / expectedGrad, valueError: Math.abs(value - expectedValue),
  }));
} else if (mode === 'big') {
  const y0 = dt.scalar(y0Value);
  const start = performance.now();
  const [value, grad] = dt.tidy(() => dt.valueAndGrad(chain)(y0).map((t) => t.item()));
  const ms = performance.now() - start;
  console.log(JSON.stringify({
    ops, ms, peakRssBytes: resourceUsage().maxRSS * 1024, heapLimitBytes: (await import('node:v8')).getHeapStatistics().heap_size_limit,
    valueError: Math.abs(value - expectedValue), gradError: Math.abs(grad - expectedGrad),
  }));
} else {
  throw new Error(`jit-tape-child: unknown mode ${mode}; use heap or big`);
}
