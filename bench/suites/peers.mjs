// dualtape against TensorFlow.js (wasm backend, XNNPACK) and jax-js (wasm backend) in the
// same process, float32, one thread each (Node has no web Worker, so neither peer spawns
// threads). Every case computes and reads back its result (data()/dataSync()): jax-js is
// lazy and only runs on read-back, so reading is what makes the three comparable.
// A peer that fails to load is reported and skipped; the suite goes on.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { discard, formatTime, loadLibrary, measure, printTable } from './measure.mjs';

export const title = 'Peers: TensorFlow.js (wasm) and jax-js (wasm), float32';

const require = createRequire(import.meta.url);

/** A package's version, found next to its entry point (exports maps may hide package.json). */
function version(name) {
  try {
    let dir = dirname(require.resolve(name));
    while (dir !== dirname(dir)) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8'));
        if (pkg.name === name) return pkg.version;
      }
      dir = dirname(dir);
    }
  } catch {
    // fall through
  }
  return 'unknown';
}

/** Imports TensorFlow.js with its wasm backend, muting its "install tfjs-node" banner. */
async function loadTfjs() {
  const { log, warn } = console;
  console.log = console.warn = () => {};
  try {
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    await tf.ready();
    return tf;
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

async function loadJax() {
  // jax-js names Float16Array in its dtype tables; Node 20 has none.
  globalThis.Float16Array ??= Float32Array;
  const jax = await import('@jax-js/jax');
  const devices = await jax.init('wasm');
  if (!devices.includes('wasm')) throw new Error(`init('wasm') gave devices ${JSON.stringify(devices)}`);
  jax.defaultDevice('wasm');
  return jax;
}

/**
 * tf.tidy walks its callback's result looking for tensors, element by element for a typed
 * array, so the read-back happens inside and the data leaves through a closure.
 */
function tfRead(tf, fn) {
  let out;
  tf.tidy(() => {
    out = fn();
  });
  return out;
}

/** Seeded float32 data shared by the three libraries. */
function data(dt, shape, seed, scale = 1) {
  return dt.tidy(() => dt.randn(shape, { seed, dtype: 'float32' }).mul(scale).data());
}

// Each case builds, per library, a thunk that computes and reads back one result. The first
// numbers read are compared across libraries before timing.
function cases(quick) {
  const list = [];
  for (const n of [256, 512]) {
    list.push({
      name: `matmul f32 n=${n}`, group: 'matmul', size: n,
      setup: (dt) => ({ a: data(dt, [n, n], 1), b: data(dt, [n, n], 2), shape: [n, n] }),
      dualtape: (dt, d) => {
        const a = dt.array(d.a, { shape: d.shape, dtype: 'float32' });
        const b = dt.array(d.b, { shape: d.shape, dtype: 'float32' });
        return { run: () => dt.matmul(a, b).data(), dispose: () => { a.dispose(); b.dispose(); } };
      },
      tfjs: (tf, d) => {
        const a = tf.tensor(d.a, d.shape);
        const b = tf.tensor(d.b, d.shape);
        return { run: () => tfRead(tf, () => tf.matMul(a, b).dataSync()), dispose: () => { a.dispose(); b.dispose(); } };
      },
      jax: (jax, d) => {
        const np = jax.numpy;
        const a = np.array(d.a).reshape(d.shape);
        const b = np.array(d.b).reshape(d.shape);
        return { run: () => np.matmul(a.ref, b.ref).dataSync(), dispose: () => { a.dispose(); b.dispose(); } };
      },
    });
  }
  list.push({
    name: 'MLP valueAndGrad f32', group: 'mlp', size: 256,
    setup: (dt) => ({ x: data(dt, [256, 784], 1), W1: data(dt, [784, 512], 2, 1 / Math.sqrt(784)), W2: data(dt, [512, 10], 3, 1 / Math.sqrt(512)) }),
    dualtape: (dt, d) => {
      const x = dt.array(d.x, { shape: [256, 784], dtype: 'float32' });
      const W1 = dt.array(d.W1, { shape: [784, 512], dtype: 'float32' });
      const W2 = dt.array(d.W2, { shape: [512, 10], dtype: 'float32' });
      const vg = dt.valueAndGrad((W1, W2) => dt.sum(dt.square(dt.matmul(dt.tanh(dt.matmul(x, W1)), W2))), { argnums: [0, 1] });
      return {
        run: () => {
          const [value, [g1, g2]] = vg(W1, W2);
          g1.data();
          g2.data();
          return value.data();
        },
        dispose: () => { x.dispose(); W1.dispose(); W2.dispose(); },
      };
    },
    tfjs: (tf, d) => {
      const x = tf.tensor(d.x, [256, 784]);
      const W1 = tf.tensor(d.W1, [784, 512]);
      const W2 = tf.tensor(d.W2, [512, 10]);
      const vg = tf.valueAndGrads((W1, W2) => tf.sum(tf.square(tf.matMul(tf.tanh(tf.matMul(x, W1)), W2))));
      return {
        run: () => tfRead(tf, () => {
          const { value, grads } = vg([W1, W2]);
          grads[0].dataSync();
          grads[1].dataSync();
          return value.dataSync();
        }),
        dispose: () => { x.dispose(); W1.dispose(); W2.dispose(); },
      };
    },
    jax: (jax, d) => {
      const np = jax.numpy;
      const x = np.array(d.x).reshape([256, 784]);
      const W1 = np.array(d.W1).reshape([784, 512]);
      const W2 = np.array(d.W2).reshape([512, 10]);
      const vg = jax.valueAndGrad((p) => np.sum(np.square(np.matmul(np.tanh(np.matmul(x.ref, p.W1)), p.W2))));
      return {
        run: () => {
          const [value, g] = vg({ W1: W1.ref, W2: W2.ref });
          g.W1.dataSync();
          g.W2.dataSync();
          return value.dataSync();
        },
        dispose: () => { x.dispose(); W1.dispose(); W2.dispose(); },
      };
    },
  });
  list.push({
    name: 'Rosenbrock 2-D grad, scalar ops', group: 'rosenbrock', size: 2,
    setup: () => ({ x: 0.5, y: 0.7 }),
    dualtape: (dt, d) => {
      const x = dt.scalar(d.x, { dtype: 'float32' });
      const y = dt.scalar(d.y, { dtype: 'float32' });
      const g = dt.grad((x, y) => dt.add(dt.square(dt.sub(1, x)), dt.mul(100, dt.square(dt.sub(y, dt.square(x))))), { argnums: [0, 1] });
      return { run: () => { const [gx, gy] = g(x, y); return [gx.item(), gy.item()]; }, dispose: () => { x.dispose(); y.dispose(); } };
    },
    tfjs: (tf, d) => {
      const x = tf.scalar(d.x);
      const y = tf.scalar(d.y);
      const g = tf.grads((x, y) => tf.add(tf.square(tf.sub(1, x)), tf.mul(100, tf.square(tf.sub(y, tf.square(x))))));
      return { run: () => tfRead(tf, () => g([x, y]).map((t) => t.dataSync()[0])), dispose: () => { x.dispose(); y.dispose(); } };
    },
    jax: (jax, d) => {
      const np = jax.numpy;
      const f = ([x, y]) => np.square(np.subtract(1, x.ref)).add(np.square(y.sub(np.square(x))).mul(100));
      const g = jax.grad(f);
      const gJit = jax.jit(g);
      const read = (gs) => gs.map((t) => t.dataSync()[0]);
      return {
        run: () => read(g([np.array(d.x), np.array(d.y)])),
        runJit: () => read(gJit([np.array(d.x), np.array(d.y)])),
        dispose: () => gJit.dispose?.(),
      };
    },
  });
  for (const n of [1e3, 1e4, 1e5, 1e6]) {
    list.push({
      name: `grad logsumexp n=${n.toExponential(0).replace('+', '')}`, group: 'logsumexp', size: n,
      setup: (dt) => ({ x: data(dt, [n], 4, 3) }),
      dualtape: (dt, d) => {
        const x = dt.array(d.x, { dtype: 'float32' });
        const g = dt.grad((x) => dt.logsumexp(x));
        return { run: () => g(x).data(), dispose: () => x.dispose() };
      },
      tfjs: (tf, d) => {
        const x = tf.tensor(d.x);
        const g = tf.grad((x) => tf.logSumExp(x));
        return { run: () => tfRead(tf, () => g(x).dataSync()), dispose: () => x.dispose() };
      },
      jax: (jax, d) => {
        const x = jax.numpy.array(d.x);
        const g = jax.grad((x) => jax.nn.logsumexp(x));
        return { run: () => g(x.ref).dataSync(), dispose: () => x.dispose() };
      },
    });
  }
  return list;
}

/** Largest relative difference between the first values two libraries read back. */
function disagreement(a, b) {
  const x = Array.from(a).slice(0, 64);
  const y = Array.from(b).slice(0, 64);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(1e-6, Math.abs(x[i])));
  return worst;
}

export async function run({ quick = false, lib, log = console.log } = {}) {
  const dt = await loadLibrary(lib);
  const rows = [];
  const peers = {};
  for (const [key, name, pkg, load] of [
    ['tfjs', 'TensorFlow.js wasm', '@tensorflow/tfjs-backend-wasm', loadTfjs],
    ['jax', 'jax-js wasm', '@jax-js/jax', loadJax],
  ]) {
    try {
      peers[key] = await load();
      rows.push({ kind: 'peer', peer: key, name, version: version(pkg), status: 'ok' });
      log(`peers: ${name} ${version(pkg)} loaded`);
    } catch (err) {
      rows.push({ kind: 'peer', peer: key, name, version: version(pkg), status: 'failed', error: String(err?.message ?? err) });
      log(`peers: ${name} failed to load, skipping it: ${err?.message ?? err}`);
    }
  }

  for (const c of cases(quick)) {
    const d = c.setup(dt);
    const row = { kind: 'case', name: c.name, group: c.group, size: c.size, dtype: 'float32' };
    const impls = [['dualtape', () => c.dualtape(dt, d)]];
    if (peers.tfjs) impls.push(['tfjs', () => c.tfjs(peers.tfjs, d)]);
    if (peers.jax) impls.push(['jax', () => c.jax(peers.jax, d)]);
    let reference = null;
    for (const [key, build] of impls) {
      let impl;
      try {
        impl = build();
        let first;
        if (key === 'dualtape') dt.tidy(() => { first = impl.run(); });
        else first = impl.run();
        if (key === 'dualtape') reference = first;
        else row[`${key}Disagreement`] = disagreement(reference, first);
        const fn = key === 'dualtape' ? discard(dt, impl.run) : impl.run;
        row[`${key}Ms`] = (await measure(`${c.name} ${key}`, fn, { quick, log })).ms;
        if (impl.runJit) row[`${key}JitMs`] = (await measure(`${c.name} ${key} jit`, impl.runJit, { quick, log })).ms;
      } catch (err) {
        row[`${key}Error`] = String(err?.message ?? err);
        log(`  ${c.name} ${key} FAILED: ${row[`${key}Error`]}`);
      } finally {
        impl?.dispose();
      }
    }
    // Ratios are dualtape time / peer time: below 1 means dualtape is faster.
    for (const key of ['tfjs', 'jax', 'jaxJit']) {
      if (Number.isFinite(row[`${key}Ms`])) row[`vs${key[0].toUpperCase()}${key.slice(1)}`] = row.dualtapeMs / row[`${key}Ms`];
    }
    rows.push(row);
  }

  const ratio = (v) => (v === undefined ? '-' : `${v.toFixed(2)}x`);
  log('');
  printTable(rows.filter((r) => r.kind === 'case'), [
    ['name'], ['dualtapeMs', formatTime], ['tfjsMs', formatTime], ['jaxMs', formatTime], ['jaxJitMs', (v) => (v === undefined ? '-' : formatTime(v))],
    ['vsTfjs', ratio], ['vsJax', ratio], ['vsJaxJit', ratio],
  ], log);
  log('(vsX = dualtape time / X time: below 1.00x dualtape is faster)');
  log('');
  return rows;
}
