// Online checkpointing for whileLoop (a loop whose length is unknown until it ends).
// Part 1 counts, without running anything: body calls (forward and backward sweeps) of the
// online schedule for a loop that turns out to have l steps, against offline Revolve knowing l
// (l + t + 1, t = r l - C(s + r, s + 1)), for s = 5, 10, 50 and l up to 100,000, and the worst
// ratio over every l up to 100,000. Part 2 times the gradient of a real loop (a state of 1000
// float64 values, l = 2000 steps; 400 with --quick): whileLoop with s = 5, 10, 50 snapshots and
// without a budget, beside scan with the same s (Revolve, which knows l), with the body calls
// counted inside the body and memory().peakBytes above the inputs; and both under
// jit(grad(f)) with s = 10 (there the body is traced once, so its calls are not counted).
//   node bench/suites/online.mjs [--quick]        (build dist first; see bench/run.mjs)
import { pathToFileURL } from 'node:url';
import { formatTime, printTable } from './measure.mjs';

export const title = 'Online checkpointing: whileLoop body calls against offline Revolve, and a timed loop';

const LENGTHS = [10, 100, 1000, 10000, 100000];
const BUDGETS = [5, 10, 50];

function countingTable(dt, log) {
  const rows = [];
  for (const s of BUDGETS) {
    for (const l of LENGTHS) {
      const online = dt.onlineCost(l, s);
      const offline = dt.offlineCalls(l, s);
      rows.push({ part: 'count', snapshots: s, steps: l, onlineCalls: online.total, offlineCalls: offline, ratio: online.total / offline, peakSnapshots: online.peakSnapshots });
    }
    // The worst ratio over every l up to the largest length, from one run of the schedule.
    const plan = new dt.OnlineSchedule(s);
    let worst = { ratio: 0, steps: 0 };
    const max = LENGTHS[LENGTHS.length - 1];
    for (let l = 1; l <= max; l++) {
      const ratio = (2 * l + plan.advancesIfEnded(l)) / dt.offlineCalls(l, s);
      if (ratio > worst.ratio) worst = { ratio, steps: l };
      plan.arrive(l);
    }
    rows.push({ part: 'worst', snapshots: s, steps: worst.steps, onlineCalls: null, offlineCalls: null, ratio: worst.ratio, peakSnapshots: null });
    log(`  online s=${String(s).padEnd(3)} worst ratio over l <= ${max}: ${worst.ratio.toFixed(4)} (at l = ${worst.steps})`);
  }
  log('');
  printTable(rows.filter((r) => r.part === 'count'), [
    ['snapshots'], ['steps'], ['onlineCalls'], ['offlineCalls'], ['ratio', (v) => v.toFixed(4)], ['peakSnapshots'],
  ], log);
  return rows;
}

function formatBytes(b) {
  return b < 1024 ** 2 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / 1024 ** 2).toFixed(2)} MiB`;
}

function timedLoops(dt, quick, log) {
  const steps = quick ? 400 : 2000;
  const repeats = quick ? 1 : 3;
  let calls = 0;
  const body = ([k, h]) => {
    calls++;
    return [dt.add(k, 1), dt.add(dt.mul(h, 0.999), dt.mul(dt.sin(h), 0.001))];
  };
  const h0 = dt.linspace(-1, 1, 1000);
  // One carry state as the allocator charges it, to express the peak in states.
  const before = dt.memory().bytesInUse;
  const probe = [dt.scalar(0), dt.linspace(-1, 1, 1000)];
  const stateBytes = dt.memory().bytesInUse - before;
  probe.forEach((t) => t.dispose());
  const viaWhile = (options) => dt.grad((h) => dt.sum(dt.whileLoop(([k]) => dt.less(k, steps), body, [dt.scalar(0), h], options)[1]));
  const viaScan = (options) => dt.grad((h) => dt.sum(dt.scan((c) => [body(c), null], [dt.scalar(0), h], { length: steps }, options)[0][1]));
  const configs = [
    ...BUDGETS.map((s) => ({ loop: 'whileLoop (online)', snapshots: s, gradient: viaWhile({ checkpoints: s }), expected: dt.onlineCost(steps, s).total })),
    ...BUDGETS.map((s) => ({ loop: 'scan (Revolve)', snapshots: s, gradient: viaScan({ checkpoints: s }), expected: dt.offlineCalls(steps, s) })),
    { loop: 'whileLoop, no budget', gradient: viaWhile({}), expected: steps },
    // Inside jit the body is traced once, so its calls cannot be counted from JS.
    { loop: 'jit(grad(whileLoop))', snapshots: 10, gradient: dt.jit(viaWhile({ checkpoints: 10 })), expected: dt.onlineCost(steps, 10).total, uncounted: true },
    { loop: 'jit(grad(scan))', snapshots: 10, gradient: dt.jit(viaScan({ checkpoints: 10 })), expected: dt.offlineCalls(steps, 10), uncounted: true },
  ];
  dt.tidy(() => viaWhile({ checkpoints: 3 })(h0));
  for (const c of configs.filter((x) => x.uncounted)) dt.tidy(() => c.gradient(h0));
  const rows = [];
  for (const c of configs) {
    const times = [];
    let peakBytes = 0, bodyCalls = 0;
    for (let rep = 0; rep < repeats; rep++) {
      dt.tidy(() => {
        dt.memory({ resetPeak: true });
        const base = dt.memory().bytesInUse;
        calls = 0;
        const start = performance.now();
        c.gradient(h0).data();
        times.push(performance.now() - start);
        peakBytes = Math.max(peakBytes, dt.memory().peakBytes - base);
        bodyCalls = c.uncounted ? null : calls;
      });
    }
    times.sort((a, b) => a - b);
    const ms = times[times.length >> 1];
    rows.push({ part: 'time', loop: c.loop, snapshots: c.snapshots ?? null, steps, bodyCalls, expectedCalls: c.expected, ms, peakBytes, peakStates: peakBytes / stateBytes });
    log(`  ${c.loop.padEnd(22)} ${c.snapshots ? `s=${c.snapshots}`.padEnd(5) : '-    '} ${String(bodyCalls ?? '-').padStart(7)} body calls  ${formatTime(ms).padStart(9)}  peak ${formatBytes(peakBytes)}`);
  }
  h0.dispose();
  log('');
  printTable(rows, [
    ['loop'], ['snapshots', (v) => (v === null ? '-' : String(v))], ['steps'], ['bodyCalls', (v) => (v === null ? '-' : String(v))], ['expectedCalls'],
    ['ms', (v) => formatTime(v)], ['peakBytes', (v) => formatBytes(v)], ['peakStates', (v) => v.toFixed(1)],
  ], log);
  return rows;
}

export async function run({ quick = false, log = console.log } = {}) {
  const dt = await import('../../dist/index.mjs');
  await dt.ready();
  return [...countingTable(dt, log), ...timedLoops(dt, quick, log)];
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await run({ quick: process.argv.includes('--quick') });
