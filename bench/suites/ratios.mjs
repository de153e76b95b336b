// What a transform costs relative to the function it transforms: jvp(f)/f and
// valueAndGrad(f)/f (the cheap gradient principle says a small constant), chunked against
// one-direction jacfwd, the per-gradient time of a scalar-heavy function (per-op overhead),
// and the bytes the tape holds per recorded op.
import { discard, formatTime, loadLibrary, measure, printTable } from './measure.mjs';

export const title = 'Transform cost ratios: jvp/f, grad/f, chunking, per-op overhead, tape bytes';

/** Layers of y = tanh(0.9 sin(y) + 0.1 y): five elementwise ops per layer. */
function chain(dt, y, layers) {
  for (let i = 0; i < layers; i++) y = dt.tanh(dt.add(dt.mul(dt.sin(y), 0.9), dt.mul(y, 0.1)));
  return y;
}
const opsPerLayer = 5;

/** The MLP of the reverse-mode issue: x [256 x 784], W1 [784 x 512], W2 [512 x 10]. */
function mlpParams(dt, dtype) {
  return dt.tidy(() => ({
    x: dt.randn([256, 784], { seed: 1, dtype }),
    W1: dt.randn([784, 512], { seed: 2, dtype }).mul(1 / Math.sqrt(784)),
    W2: dt.randn([512, 10], { seed: 3, dtype }).mul(1 / Math.sqrt(512)),
  }));
}
const mlpForward = (dt) => (x, W1, W2) => dt.matmul(dt.tanh(dt.matmul(x, W1)), W2);
const mlpLoss = (dt) => (x, W1, W2) => dt.sum(dt.square(mlpForward(dt)(x, W1, W2)));

/** The 2-D Rosenbrock function written with scalar ops. */
const rosenbrock = (dt) => (x, y) => dt.add(dt.square(dt.sub(1, x)), dt.mul(100, dt.square(dt.sub(y, dt.square(x)))));

function ratioRow(name, metric, base, transformed, target, extra = {}) {
  return {
    name, metric, unit: 'x', value: transformed.ms / base.ms, target, better: 'lower',
    baseMs: base.ms, ms: transformed.ms, error: base.error ?? transformed.error, ...extra,
  };
}

export async function run({ quick = false, lib, log = console.log } = {}) {
  const dt = await loadLibrary(lib);
  const rows = [];
  const opts = { quick, log };
  log('ratios: elementwise chain');
  {
    const n = 100_000;
    const layers = 4;
    const x = dt.randn([n], { seed: 1 });
    const v = dt.randn([n], { seed: 2 });
    const f = (x) => chain(dt, x, layers);
    const loss = (x) => dt.sum(f(x));
    const base = await measure(`chain n=${n} f`, discard(dt, () => f(x)), opts);
    const tj = await measure(`chain n=${n} jvp(f)`, discard(dt, () => dt.jvp(f, [x], [v])), opts);
    rows.push(ratioRow(`jvp(f)/f elementwise chain, n = ${n}, ${layers * opsPerLayer} ops`, 'jvp/f', base, tj, 2.0, { dtype: 'float64' }));
    const baseLoss = await measure(`chain n=${n} sum(f)`, discard(dt, () => loss(x)), opts);
    const tg = await measure(`chain n=${n} valueAndGrad(sum(f))`, discard(dt, () => dt.valueAndGrad(loss)(x)), opts);
    rows.push(ratioRow(`valueAndGrad/f elementwise chain, n = ${n}`, 'grad/f', baseLoss, tg, 2.5, { dtype: 'float64' }));
    x.dispose();
    v.dispose();
  }

  for (const dtype of ['float32', 'float64']) {
    log(`ratios: MLP ${dtype}`);
    const { x, W1, W2 } = mlpParams(dt, dtype);
    const tangents = dt.tidy(() => [dt.randn(x.shape, { seed: 4, dtype }), dt.randn(W1.shape, { seed: 5, dtype }), dt.randn(W2.shape, { seed: 6, dtype })]);
    const forward = mlpForward(dt);
    const loss = mlpLoss(dt);
    const base = await measure(`MLP ${dtype} forward f`, discard(dt, () => forward(x, W1, W2)), opts);
    const jx = await measure(`MLP ${dtype} jvp(f) tangent on x`, discard(dt, () => dt.jvp((x) => forward(x, W1, W2), [x], [tangents[0]])), opts);
    rows.push(ratioRow(`jvp(f)/f MLP forward ${dtype}, tangent on x`, 'jvp/f', base, jx, 2.0, { dtype }));
    const jall = await measure(`MLP ${dtype} jvp(f) tangents on x, W1, W2`, discard(dt, () => dt.jvp(forward, [x, W1, W2], tangents)), opts);
    // dx W1 + x dW1 is two products of f's size: 3 against 1 is the floor, not 2.
    rows.push(ratioRow(`jvp(f)/f MLP forward ${dtype}, tangents on x, W1, W2 (3 GEMMs vs 1)`, 'jvp/f', base, jall, undefined, { dtype }));
    const baseLoss = await measure(`MLP ${dtype} loss f`, discard(dt, () => loss(x, W1, W2)), opts);
    const vg = await measure(`MLP ${dtype} valueAndGrad w.r.t. W1, W2`, discard(dt, () => dt.valueAndGrad(loss, { argnums: [1, 2] })(x, W1, W2)), opts);
    rows.push(ratioRow(`valueAndGrad/f MLP loss ${dtype}, w.r.t. W1, W2`, 'grad/f', baseLoss, vg, 2.5, { dtype }));
    rows.push({
      name: `valueAndGrad MLP loss ${dtype}, absolute`, metric: 'time', unit: 'ms', value: vg.ms,
      target: dtype === 'float32' ? 20 : undefined, better: 'lower', ms: vg.ms, baseMs: baseLoss.ms, dtype,
    });
    for (const t of [x, W1, W2, ...tangents]) t.dispose();
  }

  log('ratios: jacfwd chunking');
  {
    const n = 100;
    const x = dt.randn([n], { seed: 8 });
    const f = (x) => chain(dt, x, 2);
    const chunked = await measure(`jacfwd n=${n} default chunk`, discard(dt, () => dt.jacfwd(f)(x)), opts);
    const single = await measure(`jacfwd n=${n} chunkSize 1`, discard(dt, () => dt.jacfwd(f, { chunkSize: 1 })(x)), opts);
    rows.push({
      name: `jacfwd n = ${n}: chunkSize 1 time / default chunk time`, metric: 'speedup', unit: 'x',
      value: single.ms / chunked.ms, target: 2.5, better: 'higher', baseMs: chunked.ms, ms: single.ms, dtype: 'float64',
    });
    x.dispose();
  }

  log('ratios: scalar-heavy Rosenbrock gradient');
  {
    const g = dt.grad(rosenbrock(dt), { argnums: [0, 1] });
    const x = dt.scalar(0.5);
    const y = dt.scalar(0.7);
    const t = await measure('Rosenbrock 2-D grad (scalar ops)', discard(dt, () => g(x, y)), opts);
    rows.push({ name: 'Rosenbrock 2-D gradient, scalar ops', metric: 'time', unit: 'us', value: t.ms * 1e3, target: 10, better: 'lower', ms: t.ms, dtype: 'float64' });
    x.dispose();
    y.dispose();
  }

  log('ratios: tape bytes per op');
  for (const n of [1, 1000]) {
    const layers = 20;
    const ops = layers * opsPerLayer + 1;
    const x = dt.randn([n], { seed: 9 });
    const before = dt.memory().bytesInUse;
    dt.memory({ resetPeak: true });
    dt.tidy(() => {
      dt.grad((x) => dt.sum(chain(dt, x, layers)))(x);
    });
    const peak = dt.memory().peakBytes - before;
    rows.push({
      name: `tape bytes per op, grad of a ${ops}-op chain, n = ${n}`, metric: 'tape', unit: 'B/op',
      value: peak / ops, better: 'lower', peakBytes: peak, ops, bytesPerElement: 8, dtype: 'float64',
    });
    log(`  ${`tape n=${n}: peak ${peak} B over ${ops} ops`.padEnd(58)} ${(peak / ops).toFixed(0).padStart(7)} B/op`);
    x.dispose();
  }

  log('');
  printTable(rows, [
    ['name'], ['value', (v, r) => `${v.toFixed(r.unit === 'x' ? 2 : 1)} ${r.unit}`],
    ['target', (v, r) => (v === undefined ? '' : `${r.better === 'lower' ? '<=' : '>='} ${v} ${r.unit}`)],
    ['baseMs', formatTime], ['ms', formatTime],
  ], log);
  log('');
  return rows;
}
