// vmap: per-example gradients of an MLP's softmax cross-entropy for a batch of 256 examples,
// three ways, timed in the same run: vmap(grad(f)) (one vectorized pass), a JS loop of
// grad(f) over the examples, and a hand-batched version (batched matmuls, the gradient derived
// by hand, the per-example weight gradients as outer products). Targets: vmap at least 10x
// faster than the loop on a 64-32-10 MLP, and within 1.5x of the hand-batched version on a
// 784-64-10 MLP (whose per-example gradients are 100 MB in float64, so memory traffic bounds
// every method).
import { discard, formatTime, loadLibrary, measure, measureRounds, printTable, row } from './measure.mjs';

export const title = 'vmap: per-example MLP gradients against a loop of grad and a hand-batched version';

const BATCH = 256;



/** Deterministic parameters and data for a d-h-c MLP with tanh hidden units. */
function setup(dt, d, h, c) {
  const params = {
    W1: dt.mul(dt.randn([d, h], { seed: 1 }), 1 / Math.sqrt(d)),
    b1: dt.mul(dt.randn([h], { seed: 2 }), 0.1),
    W2: dt.mul(dt.randn([h, c], { seed: 3 }), 1 / Math.sqrt(h)),
    b2: dt.mul(dt.randn([c], { seed: 4 }), 0.1),
  };
  const X = dt.randn([BATCH, d], { seed: 5 });
  const labels = Array.from({ length: BATCH }, (_, i) => (i * 7) % c);
  const Y = dt.array(labels.flatMap((l) => Array.from({ length: c }, (_, j) => (j === l ? 1 : 0))), { shape: [BATCH, c] });
  return { params, X, Y };
}

/** One example's loss: softmax cross-entropy of the logits against a one-hot label. */
function lossOf(dt) {
  return (p, x, y) => {
    const hidden = dt.tanh(dt.add(dt.matmul(x, p.W1), p.b1));
    const logits = dt.add(dt.matmul(hidden, p.W2), p.b2);
    return dt.sub(dt.logsumexp(logits), dt.sum(dt.mul(logits, y)));
  };
}

/** Per-example gradients by hand: dZ = softmax(Z) - Y, gW2 = h dZ^T, dA = dZ W2^T (1 - h^2), gW1 = x dA^T. */
function handBatched(dt, p, X, Y) {
  const H = dt.tanh(dt.add(dt.matmul(X, p.W1), p.b1));
  const Z = dt.add(dt.matmul(H, p.W2), p.b2);
  const dZ = dt.sub(dt.softmax(Z, -1), Y);
  const dA = dt.mul(dt.matmul(dZ, dt.transpose(p.W2)), dt.sub(1, dt.square(H)));
  const outer = (a, b) => dt.mul(dt.expandDims(a, 2), dt.expandDims(b, 1));
  return { W1: outer(X, dA), b1: dA, W2: outer(H, dZ), b2: dZ };
}

function maxRelDiff(dt, a, b) {
  let diff = 0, scale = 1;
  for (const k of Object.keys(a)) {
    const x = a[k].data(), y = b[k].data();
    for (let i = 0; i < y.length; i++) {
      diff = Math.max(diff, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(y[i]));
    }
  }
  return diff / scale;
}

async function perExample(dt, opts, rows, [d, h, c], { loop, targets }) {
  const S = `${d}-${h}-${c} MLP`;
  const { params, X, Y } = setup(dt, d, h, c);
  const loss = lossOf(dt);
  const perExampleGrad = dt.vmap(dt.grad(loss), { inAxes: [null, 0, 0] });
  // Sanity: vmap's gradients equal the hand-derived ones.
  dt.tidy(() => {
    const err = maxRelDiff(dt, perExampleGrad(params, X, Y), handBatched(dt, params, X, Y));
    if (!(err < 1e-10)) throw new Error(`vmap bench sanity check failed (${S}): vmap(grad) and the hand-batched gradients differ by ${err}`);
  });
  const xs = dt.tidy(() => dt.split(X, BATCH, 0).map((x) => dt.reshape(x, [d])));
  const ys = dt.tidy(() => dt.split(Y, BATCH, 0).map((y) => dt.reshape(y, [c])));
  const g = dt.grad(loss);
  const staged = dt.jit(perExampleGrad);
  const cases = [
    [`${S}: vmap(grad(f)), batch ${BATCH}`, discard(dt, () => perExampleGrad(params, X, Y))],
    [`${S}: hand-batched, batch ${BATCH}`, discard(dt, () => handBatched(dt, params, X, Y))],
    [`${S}: jit(vmap(grad(f))), batch ${BATCH}`, discard(dt, () => staged(params, X, Y))],
  ];
  if (loop) {
    cases.push([`${S}: JS loop of grad(f), ${BATCH} calls`, discard(dt, () => {
      for (let i = 0; i < BATCH; i++) g(params, xs[i], ys[i]);
    })]);
  }
  const [tv, th, tj, tl] = await measureRounds(cases, opts, 3);
  rows.push(
    row(S, 'vmap(grad(f))', 'time', 'ms', tv.ms),
    row(S, 'hand-batched', 'time', 'ms', th.ms),
    row(S, 'jit(vmap(grad(f)))', 'time', 'ms', tj.ms),
  );
  if (tl) {
    rows.push(row(S, 'JS loop of grad(f)', 'time', 'ms', tl.ms));
    rows.push(row(S, 'loop / vmap (speed-up of vmap)', 'ratio', 'x', tl.ms / tv.ms, { better: 'higher', target: targets.loop }));
  }
  rows.push(row(S, 'vmap / hand-batched', 'ratio', 'x', tv.ms / th.ms, { target: targets.hand }));
  rows.push(row(S, 'jit(vmap) / hand-batched', 'ratio', 'x', tj.ms / th.ms));
  for (const t of [...xs, ...ys, X, Y, ...Object.values(params)]) t.dispose();
}

export async function run({ quick = false, lib, log = console.log } = {}) {
  const dt = await loadLibrary(lib);
  const rows = [];
  const opts = { quick, log };
  log('vmap: 1. per-example gradients, 64-32-10 MLP');
  await perExample(dt, opts, rows, [64, 32, 10], { loop: true, targets: { loop: '>= 10' } });
  log('vmap: 2. per-example gradients, 784-64-10 MLP');
  await perExample(dt, opts, rows, [784, 64, 10], { loop: true, targets: { hand: '<= 1.5' } });
  log('');
  printTable(rows, [
    ['section'], ['name'],
    ['value', (v, r) => (r.unit === 'ms' ? formatTime(v) : `${v.toFixed(2)} ${r.unit}`)],
    ['target', (v) => v ?? ''],
  ], log);
  log('');
  return rows;
}
