// What jit buys, each number a ratio against a baseline timed in the same run: per-equation
// dispatch cost against eager ops and the bare wasm kernels, a scalar Rosenbrock gradient and
// a 2000-step Lotka-Volterra RK4 loop against hand-written plain JS, an MLP gradient, the
// tape's JS heap bytes per op (with a 10-million-op tape in Node's default heap), and generated
// code (section 6: output cost, the loop as a compiled fori, a small MLP, compile time of a
// 10,000-equation program, the JS-loop threshold).
// Node only: the kernel baseline reads dist's inlined wasm, the tape rows use child processes.
import { readFileSync } from 'node:fs';
import { discard, formatTime, loadLibrary, measure, measureRounds, printTable, row } from './measure.mjs';
import {
  centralDifferences, lotkaVolterraPlain, lotkaVolterraPlainGrad, relativeError, rosenbrockPlain, rosenbrockPlainGrad,
} from './jit-plain.mjs';
import { tapeRows } from './jit-tape.mjs';
import { lotkaVolterraForiModel, lotkaVolterraModel, lstmObjective } from './field-models.mjs';
import * as manualLstm from '../manual/lstm.mjs';

export const title = 'jit: per-equation overhead, scalar programs against plain JS, MLP, tape bytes';

// Plain-JS timing loops write here so V8 cannot drop the work as dead code.
let sink = 0;



/** Fails the suite when a staged or hand-written result disagrees with the eager library. */
function expectClose(what, got, want, tol) {
  const err = relativeError(Array.from(got), Array.from(want));
  if (!(err <= tol)) throw new Error(`jit bench sanity check failed: ${what}: relative error ${err.toExponential(2)} > ${tol} (got ${Array.from(got)}, want ${Array.from(want)})`);
}

/** Every number in what `fn` returns (a tensor or a tree of arrays of them), in order. */
const values = (dt, fn) => dt.tidy(() => [fn()].flat(Infinity).flatMap((t) => [t.toArray()].flat(Infinity)));

/**
 * A second instance of the library's own wasm module (the base64 dist inlines), so the bare
 * kernels can be called with no tensor, scope or tape around them.
 */
async function loadBareKernels() {
  const source = readFileSync(new URL('../../dist/index.mjs', import.meta.url), 'utf8');
  const found = /wasmBase64 = '([A-Za-z0-9+/=]+)'/.exec(source);
  if (!found) return null;
  const imports = { env: { abort: () => { throw new Error('kernel abort'); }, seed: () => 0 } };
  const { instance } = await WebAssembly.instantiate(Buffer.from(found[1], 'base64'), imports);
  return instance.exports;
}

// ---------- 1. per-equation overhead ----------

/** 1000 ops over f64[100]: y = y * w + x, 500 times (w in [0.3, 0.9), so y stays bounded). */
const PAIRS = 500;
function mulAddChain(dt, x, w) {
  let y = x;
  for (let i = 0; i < PAIRS; i++) y = dt.add(dt.mul(y, w), x);
  return y;
}

async function perEquation(dt, opts, rows) {
  const n = 100;
  const ops = 2 * PAIRS;
  const wValues = Array.from({ length: n }, (_, i) => 0.3 + (0.6 * i) / n);
  const x = dt.randn([n], { seed: 11 });
  const w = dt.array(wValues);
  const f = (x, w) => mulAddChain(dt, x, w);
  const loss = (x, w) => dt.sum(f(x, w));
  const jf = dt.jit(f);
  const g = dt.grad(loss);
  const jg = dt.jit(g);
  const fEqs = jf.program(x, w).equations.length;
  const gEqs = jg.program(x, w).equations.length;
  expectClose('jit(f) against f', values(dt, () => jf(x, w)), values(dt, () => f(x, w)), 1e-12);
  expectClose('jit(grad f) against grad f', values(dt, () => jg(x, w)), values(dt, () => g(x, w)), 1e-12);

  const cases = [
    [`mul/add chain ${ops} ops n=${n}: eager f`, discard(dt, () => f(x, w))],
    [`mul/add chain: jit(f) (${fEqs} equations)`, discard(dt, () => jf(x, w))],
    ['mul/add chain: eager grad(sum f)', discard(dt, () => g(x, w))],
    [`mul/add chain: jit(grad(sum f)) (${gEqs} equations)`, discard(dt, () => jg(x, w))],
  ];

  const kernels = await loadBareKernels();
  let kernelUs = NaN;
  if (kernels) {
    const bytes = n * 8;
    const base = (kernels.heapBase() + 15) & ~15;
    const need = base + 4 * bytes - kernels.memory.buffer.byteLength;
    if (need > 0) kernels.memory.grow(Math.ceil(need / 65536));
    const [px, pw, pa, pb] = [0, 1, 2, 3].map((i) => base + i * bytes);
    new Float64Array(kernels.memory.buffer, px, n).set(dt.tidy(() => x.toArray()));
    new Float64Array(kernels.memory.buffer, pw, n).set(wValues);
    const { mul_f64: mul, add_f64: add } = kernels;
    const bare = () => {
      mul(pa, px, pw, n);
      add(pb, pa, px, n);
      for (let i = 1; i < PAIRS; i++) {
        mul(pa, pb, pw, n);
        add(pb, pa, px, n);
      }
    };
    bare();
    expectClose('bare kernels against f', new Float64Array(kernels.memory.buffer, pb, n), values(dt, () => f(x, w)), 1e-12);
    cases.push([`bare wasm kernels: ${ops} calls mul_f64/add_f64 n=${n}`, bare]);
  }
  const [tf, tjf, tg, tjg, tk] = await measureRounds(cases, opts);
  if (tk) kernelUs = (tk.ms * 1e3) / ops;

  const S = '1 per-op';
  const perOp = (name, t, count, what) => row(S, name, 'per-op', 'us', (t.ms * 1e3) / count, { ms: t.ms, count, note: what });
  rows.push(
    perOp(`eager f: ${ops} mul/add ops on f64[${n}], per op`, tf, ops, 'op'),
    perOp('jit(f), per equation', tjf, fEqs, `${fEqs} equations`),
    perOp('eager grad(sum f), per forward op', tg, ops + 1, 'forward op (time includes the backward sweep)'),
    perOp('jit(grad(sum f)), per equation', tjg, gEqs, `${gEqs} equations`),
  );
  if (kernels) {
    rows.push(row(S, `bare wasm kernel call (mul_f64/add_f64, n = ${n})`, 'per-op', 'us', kernelUs, { note: 'no tensors, scopes or tape' }));
    rows.push(row(S, 'eager f per op, beyond the kernel', 'overhead', 'us', (tf.ms * 1e3) / ops - kernelUs));
    rows.push(row(S, 'jit(f) per equation, beyond the kernel', 'overhead', 'us', (tjf.ms * 1e3) / fEqs - kernelUs));
  } else {
    rows.push(row(S, 'bare kernel time: dist inlines no wasm base64, so the per-op numbers include the kernel', 'per-op', 'us', NaN));
  }
  rows.push(
    row(S, 'jit(f) / eager f (mul/add chain)', 'jit/eager', 'x', tjf.ms / tf.ms, { baseMs: tf.ms, ms: tjf.ms }),
    row(S, 'jit(grad) / eager grad (mul/add chain)', 'jit/eager', 'x', tjg.ms / tg.ms, { baseMs: tg.ms, ms: tjg.ms }),
  );
  x.dispose();
  w.dispose();
}

// ---------- 2. scalar Rosenbrock gradient ----------

async function rosenbrock(dt, opts, rows) {
  const f = (x, y) => dt.add(dt.square(dt.sub(1, x)), dt.mul(100, dt.square(dt.sub(y, dt.square(x)))));
  const g = dt.grad(f, { argnums: [0, 1] });
  const jg = dt.jit(g);
  const x = dt.scalar(-1.2);
  const y = dt.scalar(1);
  const point = new Float64Array([-1.2, 1]);
  const out = new Float64Array(2);
  const hand = rosenbrockPlainGrad(point[0], point[1], out).slice();
  expectClose('Rosenbrock hand gradient against central differences', hand, centralDifferences(([a, b]) => rosenbrockPlain(a, b), [-1.2, 1]), 1e-7);
  expectClose('Rosenbrock eager grad against the hand gradient', values(dt, () => g(x, y)), hand, 1e-14);
  expectClose('Rosenbrock jit(grad) against the hand gradient', values(dt, () => jg(x, y)), hand, 1e-14);
  const eqs = jg.program(x, y).equations.length;

  const [te, tj, tp] = await measureRounds([
    ['Rosenbrock 2-D grad: eager', discard(dt, () => g(x, y))],
    [`Rosenbrock 2-D grad: jit(grad) (${eqs} equations)`, discard(dt, () => jg(x, y))],
    ['Rosenbrock 2-D grad: hand-written plain JS', () => {
      sink += rosenbrockPlainGrad(point[0], point[1], out)[0];
    }],
  ], opts);
  const S = '2 Rosenbrock';
  rows.push(
    row(S, 'Rosenbrock 2-D gradient at (-1.2, 1): eager grad', 'time', 'us', te.ms * 1e3, { ms: te.ms }),
    row(S, `Rosenbrock gradient: jit(grad), ${eqs} equations`, 'time', 'us', tj.ms * 1e3, { ms: tj.ms, equations: eqs }),
    row(S, 'Rosenbrock gradient: hand-written plain JS', 'time', 'us', tp.ms * 1e3, { ms: tp.ms }),
    row(S, 'Rosenbrock jit(grad) / eager grad', 'jit/eager', 'x', tj.ms / te.ms, { baseMs: te.ms, ms: tj.ms }),
    row(S, 'Rosenbrock jit(grad) / plain JS', 'vs-plain', 'x', tj.ms / tp.ms, { baseMs: tp.ms, ms: tj.ms }),
    row(S, 'Rosenbrock eager grad / plain JS', 'vs-plain', 'x', te.ms / tp.ms, { baseMs: tp.ms, ms: te.ms }),
  );
  x.dispose();
  y.dispose();
}

// ---------- 3. Lotka-Volterra RK4, 2000 steps ----------

const LV = { p: [1.5, 1, 3, 1], x0: 10, y0: 5, h: 0.01, steps: 2000 };

/** Times a jitted function's trace (program()) and first call, then returns its equation count. */
function stage(dt, jitted, args) {
  const t0 = performance.now();
  const equations = jitted.program(...args).equations.length;
  const t1 = performance.now();
  dt.tidy(() => jitted(...args));
  return { equations, traceMs: t1 - t0, firstCallMs: performance.now() - t1 };
}

async function lotkaVolterraRows(dt, opts, rows) {
  const { p, x0, y0, h, steps } = LV;
  const params = p.map((v) => dt.scalar(v));
  // The RK4 loop of lotkaVolterraPlain written with the library's scalar ops (a JS loop, unrolled when jitted).
  const f = lotkaVolterraModel(dt, LV);
  const vg = dt.valueAndGrad(f);
  const plainValue = () => lotkaVolterraPlain(p, x0, y0, h, steps);
  const handGrad = new Float64Array(4);
  const handValue = lotkaVolterraPlainGrad(p, x0, y0, h, steps, handGrad);
  expectClose('Lotka-Volterra hand value against the plain RK4 loop', [handValue], [plainValue()], 0);
  expectClose('Lotka-Volterra hand gradient against central differences', handGrad, centralDifferences((q) => lotkaVolterraPlain(q, x0, y0, h, steps), p), 1e-7);
  expectClose('Lotka-Volterra eager valueAndGrad against the hand version', values(dt, () => vg(params)), [handValue, ...handGrad], 1e-10);

  const jf = dt.jit(f);
  const jvg = dt.jit(vg);
  const sf = stage(dt, jf, [params]);
  const sg = stage(dt, jvg, [params]);
  expectClose('Lotka-Volterra jit(f) against the plain value', values(dt, () => jf(params)), [handValue], 1e-12);
  expectClose('Lotka-Volterra jit(valueAndGrad) against the hand version', values(dt, () => jvg(params)), [handValue, ...handGrad], 1e-10);
  const ops = 54 * steps;

  const [tv, tjv, tpv, tg, tjg, tpg] = await measureRounds([
    [`Lotka-Volterra RK4 ${steps} steps value: eager (${ops} ops)`, discard(dt, () => f(params))],
    [`Lotka-Volterra value: jit (${sf.equations} equations)`, discard(dt, () => jf(params))],
    ['Lotka-Volterra value: plain JS', () => {
      sink += plainValue();
    }],
    ['Lotka-Volterra valueAndGrad: eager', discard(dt, () => vg(params))],
    [`Lotka-Volterra valueAndGrad: jit (${sg.equations} equations)`, discard(dt, () => jvg(params))],
    ['Lotka-Volterra value and gradient: hand forward-mode JS', () => {
      sink += lotkaVolterraPlainGrad(p, x0, y0, h, steps, handGrad);
    }],
  ], opts);

  const S = '3 Lotka-Volterra';
  const lv = `Lotka-Volterra RK4, ${steps} steps`;
  rows.push(
    row(S, `${lv}, value: eager (${ops} scalar ops)`, 'time', 'ms', tv.ms, { ms: tv.ms, ops }),
    row(S, `${lv}, value: jit`, 'time', 'ms', tjv.ms, { ms: tjv.ms, equations: sf.equations }),
    row(S, `${lv}, value: plain JS`, 'time', 'ms', tpv.ms, { ms: tpv.ms }),
    row(S, `${lv}, valueAndGrad (4 params): eager`, 'time', 'ms', tg.ms, { ms: tg.ms }),
    row(S, `${lv}, valueAndGrad: jit`, 'time', 'ms', tjg.ms, { ms: tjg.ms, equations: sg.equations }),
    row(S, `${lv}, value and gradient: hand forward-mode JS`, 'time', 'ms', tpg.ms, { ms: tpg.ms }),
    row(S, 'LV value jit / eager', 'jit/eager', 'x', tjv.ms / tv.ms, { baseMs: tv.ms, ms: tjv.ms }),
    row(S, 'LV valueAndGrad jit / eager', 'jit/eager', 'x', tjg.ms / tg.ms, { baseMs: tg.ms, ms: tjg.ms }),
    row(S, 'LV value jit / plain JS', 'vs-plain', 'x', tjv.ms / tpv.ms, { baseMs: tpv.ms, ms: tjv.ms }),
    row(S, 'LV valueAndGrad jit / hand JS', 'vs-plain', 'x', tjg.ms / tpg.ms, { baseMs: tpg.ms, ms: tjg.ms }),
    row(S, 'LV valueAndGrad eager / hand JS', 'vs-plain', 'x', tg.ms / tpg.ms, { baseMs: tpg.ms, ms: tg.ms }),
    row(S, `jit(f) program: ${sf.equations} equations; trace`, 'staging', 'ms', sf.traceMs, { equations: sf.equations, firstCallMs: sf.firstCallMs }),
    row(S, 'jit(f) first call after the trace (plan + run)', 'staging', 'ms', sf.firstCallMs),
    row(S, `jit(valueAndGrad) program: ${sg.equations} equations; trace`, 'staging', 'ms', sg.traceMs, { equations: sg.equations, firstCallMs: sg.firstCallMs }),
    row(S, 'jit(valueAndGrad) first call after the trace (plan + run)', 'staging', 'ms', sg.firstCallMs),
  );
  for (const t of params) t.dispose();
}

// ---------- 4. MLP valueAndGrad ----------

async function mlp(dt, opts, rows) {
  const loss = (x, W1, W2) => dt.sum(dt.square(dt.matmul(dt.tanh(dt.matmul(x, W1)), W2)));
  for (const dtype of ['float32', 'float64']) {
    const { x, W1, W2 } = dt.tidy(() => ({
      x: dt.randn([256, 784], { seed: 1, dtype }),
      W1: dt.randn([784, 512], { seed: 2, dtype }).mul(1 / Math.sqrt(784)),
      W2: dt.randn([512, 10], { seed: 3, dtype }).mul(1 / Math.sqrt(512)),
    }));
    const vg = dt.valueAndGrad(loss, { argnums: [1, 2] });
    const jvg = dt.jit(vg);
    const eqs = jvg.program(x, W1, W2).equations.length;
    const tol = dtype === 'float32' ? 1e-5 : 1e-12;
    expectClose(`MLP ${dtype} jit(valueAndGrad) against eager`, values(dt, () => jvg(x, W1, W2)), values(dt, () => vg(x, W1, W2)), tol);
    const [te, tj] = await measureRounds([
      [`MLP ${dtype} valueAndGrad w.r.t. W1, W2: eager`, discard(dt, () => vg(x, W1, W2))],
      [`MLP ${dtype} valueAndGrad: jit (${eqs} equations)`, discard(dt, () => jvg(x, W1, W2))],
    ], opts);
    const S = '4 MLP';
    rows.push(
      row(S, `MLP valueAndGrad ${dtype} (x 256x784, W1 784x512, W2 512x10): eager`, 'time', 'ms', te.ms, { ms: te.ms, dtype }),
      row(S, `MLP valueAndGrad ${dtype}: jit (${eqs} equations)`, 'time', 'ms', tj.ms, { ms: tj.ms, dtype, equations: eqs }),
      row(S, `MLP valueAndGrad ${dtype} jit / eager`, 'jit/eager', 'x', tj.ms / te.ms, { baseMs: te.ms, ms: tj.ms, dtype }),
    );
    for (const t of [x, W1, W2]) t.dispose();
  }
}

// ---------- 6. generated code (src/staging/codegen.ts) ----------

/** A 2-layer MLP on one example: [1, 4] -> tanh 8 -> 1, and the same by hand. */
function mlpSmallPlain(x, W1, W2) {
  let out = 0;
  for (let j = 0; j < 8; j++) {
    let s = 0;
    for (let i = 0; i < 4; i++) s += x[i] * W1[i * 8 + j];
    out += Math.tanh(s) * W2[j];
  }
  return out;
}

/** A chain of `pairs` * 5 scalar equations (a rotation-like recurrence), for compile time. */
function scalarChain(dt, pairs) {
  return (x, y) => {
    let a = x, b = y;
    for (let i = 0; i < pairs; i++) {
      a = dt.add(dt.mul(a, 0.999), dt.mul(b, 1e-3));
      b = dt.sub(b, dt.mul(a, 1e-3));
    }
    return [a, b];
  };
}

async function generatedCode(dt, opts, rows) {
  const S = '6 codegen';
  // (a) The fixed cost of a call's answer: two scalar tensors made, read and disposed.
  const [tOut] = await measureRounds([
    ['two scalar tensors: create, item(), dispose', () => {
      const a = dt.scalar(1), b = dt.scalar(2);
      sink += a.item() + b.item();
      a.dispose();
      b.dispose();
    }],
  ], opts);
  rows.push(row(S, 'two scalar tensors created, read (item) and disposed', 'time', 'us', tOut.ms * 1e3, { ms: tOut.ms }));

  // (b) Lotka-Volterra value as a compiled fori.
  const { p, x0, y0, h, steps } = LV;
  const params = p.map((v) => dt.scalar(v));
  // The same loop as one fori: inside jit, a JS loop of scalar locals.
  const f = lotkaVolterraForiModel(dt, LV);
  const jf = dt.jit(f);
  const sf = stage(dt, jf, [params]);
  expectClose('Lotka-Volterra fori under jit against the plain loop', values(dt, () => jf(params)), [lotkaVolterraPlain(p, x0, y0, h, steps)], 1e-12);
  const [te, tj, tp] = await measureRounds([
    [`LV fori ${steps} steps value: eager fori`, discard(dt, () => f(params))],
    [`LV fori value: jit (${sf.equations} equation, a JS loop)`, discard(dt, () => jf(params))],
    ['LV value: plain JS', () => {
      sink += lotkaVolterraPlain(p, x0, y0, h, steps);
    }],
  ], opts);
  rows.push(
    row(S, `Lotka-Volterra ${steps} RK4 steps as one fori, value: eager`, 'time', 'ms', te.ms, { ms: te.ms }),
    row(S, 'LV fori value: jit (compiled JS loop)', 'time', 'ms', tj.ms, { ms: tj.ms }),
    row(S, 'LV value: plain JS', 'time', 'ms', tp.ms, { ms: tp.ms }),
    row(S, 'LV fori value jit / plain JS', 'vs-plain', 'x', tj.ms / tp.ms, { baseMs: tp.ms, ms: tj.ms }),
    row(S, 'LV fori value jit / eager', 'jit/eager', 'x', tj.ms / te.ms, { baseMs: te.ms, ms: tj.ms }),
    row(S, 'LV fori jit: trace', 'staging', 'ms', sf.traceMs, { firstCallMs: sf.firstCallMs }),
  );
  // Its gradient: under jit(valueAndGrad) the fori is a forward loop that stacks the carries and
  // a backward loop running one step's VJP program (compiled) from the last step to the first.
  const jvg = dt.jit(dt.valueAndGrad(f));
  const sg = stage(dt, jvg, [params]);
  const handGrad = new Float64Array(4);
  const handValue = lotkaVolterraPlainGrad(p, x0, y0, h, steps, handGrad);
  expectClose('LV fori jit(valueAndGrad) against the hand version', values(dt, () => jvg(params)), [handValue, ...handGrad], 1e-10);
  const [tg, tpg] = await measureRounds([
    [`LV fori valueAndGrad: jit (${sg.equations} equations)`, discard(dt, () => jvg(params))],
    ['LV value and gradient: hand forward-mode JS', () => {
      sink += lotkaVolterraPlainGrad(p, x0, y0, h, steps, handGrad);
    }],
  ], opts);
  rows.push(
    row(S, `LV fori valueAndGrad (4 params): jit, ${sg.equations} equations`, 'time', 'ms', tg.ms, { ms: tg.ms, equations: sg.equations }),
    row(S, 'LV value and gradient: hand forward-mode JS', 'time', 'ms', tpg.ms, { ms: tpg.ms }),
    row(S, 'LV fori valueAndGrad jit / hand JS', 'vs-plain', 'x', tg.ms / tpg.ms, { baseMs: tpg.ms, ms: tg.ms }),
    row(S, 'LV fori valueAndGrad jit: trace', 'staging', 'ms', sg.traceMs),
    row(S, 'LV fori valueAndGrad jit: first call (generate, compile, run)', 'staging', 'ms', sg.firstCallMs),
  );
  for (const t of params) t.dispose();

  // (c) A small MLP forward on one example.
  const xs = [0.5, -1, 0.25, 2];
  const w1 = Array.from({ length: 32 }, (_, i) => Math.sin(i + 1) * 0.5);
  const w2 = Array.from({ length: 8 }, (_, i) => Math.cos(i + 1));
  const [x, W1, W2] = [dt.array([xs]), dt.array(w1, { shape: [4, 8] }), dt.array(w2, { shape: [8, 1] })];
  const mlpF = (x, W1, W2) => dt.sum(dt.matmul(dt.tanh(dt.matmul(x, W1)), W2));
  const jm = dt.jit(mlpF);
  const want = mlpSmallPlain(xs, w1, w2);
  expectClose('small MLP jit against plain JS', values(dt, () => jm(x, W1, W2)), [want], 1e-14);
  const [me, mj, mp] = await measureRounds([
    ['small MLP forward [1,4]x[4,8] tanh x[8,1]: eager', discard(dt, () => mlpF(x, W1, W2))],
    ['small MLP forward: jit', discard(dt, () => jm(x, W1, W2))],
    ['small MLP forward: plain JS', () => {
      sink += mlpSmallPlain(xs, w1, w2);
    }],
  ], opts);
  rows.push(
    row(S, 'small MLP forward (1x4 -> tanh 8 -> 1): eager', 'time', 'us', me.ms * 1e3, { ms: me.ms }),
    row(S, 'small MLP forward: jit', 'time', 'us', mj.ms * 1e3, { ms: mj.ms }),
    row(S, 'small MLP forward: plain JS', 'time', 'us', mp.ms * 1e3, { ms: mp.ms }),
    row(S, 'small MLP jit / eager', 'jit/eager', 'x', mj.ms / me.ms, { baseMs: me.ms, ms: mj.ms }),
    row(S, 'small MLP jit / plain JS', 'vs-plain', 'x', mj.ms / mp.ms, { baseMs: mp.ms, ms: mj.ms }),
  );
  for (const t of [x, W1, W2]) t.dispose();

  // (d) Compile time of a 10,000-equation scalar program: trace, then the first call (which
  // generates and compiles the code) less a steady call.
  const chain = dt.jit(scalarChain(dt, 2000));
  const [a, b] = [dt.scalar(1), dt.scalar(0.5)];
  const sc = stage(dt, chain, [a, b]);
  const [tc] = await measureRounds([[`${sc.equations}-equation scalar chain: jit call`, discard(dt, () => chain(a, b))]], opts);
  rows.push(
    row(S, `${sc.equations}-equation scalar program: trace`, 'staging', 'ms', sc.traceMs, { equations: sc.equations }),
    row(S, `${sc.equations}-equation scalar program: generate and compile (first call less a steady call)`, 'staging', 'ms', sc.firstCallMs - tc.ms, { target: 1000 }),
    row(S, `${sc.equations}-equation scalar program: steady call, per equation`, 'per-op', 'us', (tc.ms * 1e3) / sc.equations, { ms: tc.ms }),
  );
  a.dispose();
  b.dispose();

  // (e) The threshold: a mul and an add of n elements as generated JS loops against the bare kernels.
  const kernels = await loadBareKernels();
  if (!kernels) return;
  const base = (kernels.heapBase() + 15) & ~15;
  const need = base + 5 * 256 * 8 - kernels.memory.buffer.byteLength;
  if (need > 0) kernels.memory.grow(Math.ceil(need / 65536));
  const F = new Float64Array(kernels.memory.buffer);
  for (let i = 0; i < 5 * 256; i++) F[(base >> 3) + i] = 1 + (i % 13) / 7;
  for (const n of [4, 8, 16, 32, 64]) {
    const [pa, pb, pc, pt, po] = [0, 1, 2, 3, 4].map((i) => base + i * n * 8);
    const loops = new Function('F', `return () => { for (let k = 0; k < ${n}; k++) F[${pt >> 3} + k] = F[${pa >> 3} + k] * F[${pb >> 3} + k]; for (let k = 0; k < ${n}; k++) F[${po >> 3} + k] = F[${pt >> 3} + k] + F[${pc >> 3} + k]; }`)(F);
    const calls = () => { kernels.mul_f64(pt, pa, pb, n); kernels.add_f64(po, pt, pc, n); };
    const [tl, tk] = await measureRounds([[`codegen threshold n=${n}: two JS loops`, loops], [`codegen threshold n=${n}: two kernel calls`, calls]], opts);
    rows.push(row(S, `codegen threshold, mul + add of ${n} f64: JS loops / kernel calls`, 'ratio', 'x', tl.ms / tk.ms, { baseMs: tk.ms, ms: tl.ms }));
  }

  // (f) The fused-loop threshold (GROUP_SIZE in src/staging/codegen-fuse.ts): a chain of g
  // mul/add over n elements as generated code writes it, one loop function (intermediates as
  // loop-local consts, the result stored) against g bound-kernel calls as generated code makes
  // them (an operand array per call, the kernel reading pointers and size from the buffers).
  for (const [dtype, bytes, view] of [['f64', 8, Float64Array], ['f32', 4, Float32Array]]) {
    const V = new view(kernels.memory.buffer);
    const round = dtype === 'f32' ? (e) => `Math.fround(${e})` : (e) => e;
    for (const g of [2, 6]) {
      for (const n of [8, 16, 32, 48, 64]) {
        const at = (i) => base + i * 64 * 8; // buffers of 64 elements
        const [x, w, out] = [0, 1, 2].map((i) => ({ ptr: at(i), size: n }));
        const temps = Array.from({ length: g }, (_, i) => ({ ptr: at(3 + i), size: n }));
        const body = Array.from({ length: g }, (_, i) => `const x${i + 1} = ${round(i % 2 ? `x${i} + V[bx + k]` : `x${i} * V[bw + k]`)};`);
        const loop = new Function('V', 'bx', 'bw', 'bo', `for (let k = 0; k < ${n}; k++) {\nconst x0 = V[bx + k];\n${body.join('\n')}\nV[bo + k] = x${g};\n}`);
        const shift = Math.log2(bytes);
        const fused = () => loop(V, x.ptr >>> shift, w.ptr >>> shift, out.ptr >>> shift);
        const mulK = kernels[`mul_${dtype}`], addK = kernels[`add_${dtype}`];
        const bound = [(o, [a, b]) => void mulK(o.ptr, a.ptr, b.ptr, o.size), (o, [a, b]) => void addK(o.ptr, a.ptr, b.ptr, o.size)];
        const calls = () => {
          let y = x;
          for (let i = 0; i < g; i++) {
            const o = i === g - 1 ? out : temps[i];
            bound[i % 2](o, [y, i % 2 ? x : w]);
            y = o;
          }
        };
        const [tf, tk] = await measureRounds([[`fused chain g=${g} n=${n} ${dtype}: one loop`, fused], [`fused chain g=${g} n=${n} ${dtype}: ${g} kernel calls`, calls]], opts);
        rows.push(row(S, `codegen threshold, fused chain of ${g} mul/add over ${n} ${dtype}: loop / kernel calls`, 'ratio', 'x', tf.ms / tk.ms, { baseMs: tk.ms, ms: tf.ms }));
      }
    }
  }
}

/**
 * GradBench's LSTM (bench/suites/field-models.mjs lstmModel) with every weight row, state row
 * and sequence step its own [b] input: every value is small, so jit compiles the gradient
 * program whole to generated code (the field suite's version has [c, b] and [l, 8, b] inputs).
 */
const lstmRowsModel = (dt, l) => (W, E, S, X) => lstmObjective(dt, Array.from({ length: l }, (_, j) => W.slice(8 * j, 8 * j + 8)), E,
  Array.from({ length: l }, (_, j) => S[2 * j]), Array.from({ length: l }, (_, j) => S[2 * j + 1]), X);

/**
 * The LSTM gradient (l = 2, b = 14, c = 1024) compiled whole: jit with fused loops (the
 * default) against jit with { fuse: false } (one kernel call per equation) and the hand-written
 * gradient (bench/manual/lstm.mjs), and the trace and compile time of each.
 */
async function lstmCompiled(dt, opts, rows) {
  const S = '6 codegen';
  const [l, c, b] = [2, 1024, 14];
  const lcg = (seed, count) => {
    let s = seed >>> 0;
    return Float64Array.from({ length: count }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return -1 + (s / 4294967296) * 2;
    });
  };
  const [main, extra, state, seq] = [lcg(1, 8 * l * b), lcg(2, 3 * b), lcg(3, 2 * l * b), lcg(4, c * b)];
  const rowsOf = (data) => Array.from({ length: data.length / b }, (_, i) => dt.array(data.slice(i * b, (i + 1) * b)));
  const args = [rowsOf(main), rowsOf(extra), rowsOf(state), rowsOf(seq)];
  const mainGrad = new Float64Array(main.length), extraGrad = new Float64Array(extra.length);
  const handValue = manualLstm.lstmValueAndGrad(l, c, b, main, extra, state, seq, mainGrad, extraGrad);
  const vg = dt.valueAndGrad(lstmRowsModel(dt, l), { argnums: [0, 1] });
  const fused = dt.jit(vg), unfused = dt.jit(vg, { fuse: false });
  const sf = stage(dt, fused, args), su = stage(dt, unfused, args);
  const flat = (out) => [out[0], ...out[1].flat()];
  for (const [what, jf] of [['fused loops', fused], ['fuse: false', unfused]]) {
    expectClose(`LSTM rows jit(valueAndGrad), ${what}, against the hand-written gradient`, values(dt, () => flat(jf(...args))), [handValue, ...mainGrad, ...extraGrad], 1e-10);
  }
  const [tf, tu, th] = await measureRounds([
    [`LSTM gradient, all-small program: jit, fused loops (${sf.equations} equations)`, discard(dt, () => flat(fused(...args)))],
    ['LSTM gradient, all-small program: jit, fuse: false', discard(dt, () => flat(unfused(...args)))],
    ['LSTM gradient: hand-written JS', () => {
      sink += manualLstm.lstmValueAndGrad(l, c, b, main, extra, state, seq, mainGrad, extraGrad);
    }],
  ], opts);
  rows.push(
    row(S, `LSTM l=2 b=14 c=1024 gradient, all-small program (${sf.equations} equations): jit with fused loops`, 'time', 'ms', tf.ms, { ms: tf.ms }),
    row(S, 'LSTM gradient, all-small program: jit, fuse: false (a kernel call per equation)', 'time', 'ms', tu.ms, { ms: tu.ms }),
    row(S, 'LSTM gradient: hand-written JS', 'time', 'ms', th.ms, { ms: th.ms }),
    row(S, 'LSTM gradient jit (fused loops) / hand-written', 'vs-plain', 'x', tf.ms / th.ms, { baseMs: th.ms, ms: tf.ms }),
    row(S, 'LSTM gradient jit fused loops / fuse: false', 'ratio', 'x', tf.ms / tu.ms, { baseMs: tu.ms, ms: tf.ms }),
    row(S, 'LSTM gradient, fused loops: trace', 'staging', 'ms', sf.traceMs),
    row(S, 'LSTM gradient, fused loops: generate and compile (first call)', 'staging', 'ms', sf.firstCallMs),
    row(S, 'LSTM gradient, fuse: false: trace', 'staging', 'ms', su.traceMs),
    row(S, 'LSTM gradient, fuse: false: generate and compile (first call)', 'staging', 'ms', su.firstCallMs),
  );
  for (const t of args.flat()) t.dispose();
}

// ---------- the suite ----------

export async function run({ quick = false, lib, log = console.log } = {}) {
  const dt = await loadLibrary(lib);
  const rows = [];
  const opts = { quick, log };
  const baseline = dt.memory().tensors;
  log('jit: 1. per-equation overhead');
  await perEquation(dt, opts, rows);
  log('jit: 2. scalar Rosenbrock gradient');
  await rosenbrock(dt, opts, rows);
  log('jit: 3. Lotka-Volterra RK4');
  await lotkaVolterraRows(dt, opts, rows);
  log('jit: 4. MLP valueAndGrad');
  await mlp(dt, opts, rows);
  log('jit: 6. generated code');
  await generatedCode(dt, opts, rows);
  log('jit: 6. LSTM gradient compiled whole');
  await lstmCompiled(dt, opts, rows);
  log('jit: 5. tape memory (child processes)');
  rows.push(...tapeRows({ quick, log }));
  const leaked = dt.memory().tensors - baseline;
  // Dropped jitted functions free their programs' constants through the FinalizationRegistry,
  // after a garbage collection the suite does not force.
  if (leaked !== 0) log(`jit: note: ${leaked} tensors still live at the end (constants of jit programs not yet collected)`);

  log('');
  printTable(rows, [
    ['name'],
    ['value', (v, r) => (Number.isFinite(v) ? `${v.toFixed(r.unit === 'x' || r.unit === 'us' ? 3 : 1)} ${r.unit}` : r.status ?? r.error ?? 'n/a')],
    ['target', (v, r) => (v === undefined ? '' : `<= ${v} ${r.unit}`)],
    ['baseMs', formatTime], ['ms', formatTime],
  ], log);
  log('');
  return rows;
}
