// The README's training loop at full size: an MLP with x [256 x 784], W1 [784 x 512],
// W2 [512 x 10], valueAndGrad then adam's step, 10,000 steps in one synchronous loop without
// tidy. Prints memory().bytesInUse, live tensors and the wasm memory size at steps 10, 100,
// 1000 and 10,000, the time per step, and whether bytes in use stayed flat after step 10.
// Too slow for the unit suite (12-24 ms per step); test/training-loop.test.ts runs the same
// loop on a smaller MLP.
//   node bench/training-soak.mjs [--steps=10000] [--dtype=float32|float64]
// (build dist first: npx tsc -p tsconfig.build.json && npx rollup -c rollup.config.mjs)
import { adam, matmul, mean, memory, randn, square, tanh, tidy, valueAndGrad } from '../dist/index.mjs';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const steps = Number(arg('steps', '10000'));
const dtype = arg('dtype', 'float32');
const checkpoints = [10, 100, 1000, 10000].filter((s) => s <= steps);
if (!checkpoints.includes(steps)) checkpoints.push(steps);

const x = randn([256, 784], { seed: 1, dtype });
const y = randn([256, 10], { seed: 2, dtype });
let params = tidy(() => ({
  W1: randn([784, 512], { seed: 3, dtype }).mul(1 / Math.sqrt(784)),
  W2: randn([512, 10], { seed: 4, dtype }).mul(1 / Math.sqrt(512)),
}));
const loss = (p) => mean(square(matmul(tanh(matmul(x, p.W1)), p.W2).sub(y)));

const mib = (b) => `${(b / 1024 ** 2).toFixed(2)} MiB`;
const rows = [];
const opt = adam({ learningRate: 1e-3 });
let state = opt.init(params);
const lossAndGrad = valueAndGrad(loss);
const t0 = performance.now();
let firstLoss = NaN;
let lastLoss = NaN;
for (let step = 1; step <= steps; step++) {
  const [value, grads] = lossAndGrad(params);
  [params, state] = opt.step(params, grads, state); // frees grads, the old state and the previous params
  lastLoss = value.item();
  if (step === 1) firstLoss = lastLoss;
  value.dispose();
  if (checkpoints.includes(step)) {
    const m = memory();
    const elapsed = performance.now() - t0;
    rows.push({ step, bytesInUse: m.bytesInUse, tensors: m.tensors, wasmBytes: m.wasmBytes, peakBytes: m.peakBytes, seconds: elapsed / 1000, loss: lastLoss });
    console.log(`step ${String(step).padStart(5)}: bytesInUse ${m.bytesInUse} (${mib(m.bytesInUse)}), tensors ${m.tensors}, wasm ${mib(m.wasmBytes)}, peak ${mib(m.peakBytes)}, loss ${lastLoss.toPrecision(5)}, ${(elapsed / 1000).toFixed(1)} s`);
  }
}
const total = (performance.now() - t0) / 1000;
const flat = rows.filter((r) => r.step >= 10).every((r) => r.bytesInUse === rows[0].bytesInUse && r.tensors === rows[0].tensors);
console.log(`\n${steps} steps (${dtype}) in ${total.toFixed(1)} s: ${(1000 * total / steps).toFixed(2)} ms per step; loss ${firstLoss.toPrecision(5)} -> ${lastLoss.toPrecision(5)}`);
console.log(`bytesInUse flat from step 10 on: ${flat ? 'yes' : 'NO'}`);
console.log(JSON.stringify({ dtype, steps, seconds: total, msPerStep: 1000 * total / steps, flat, rows }));
process.exitCode = flat ? 0 : 1;
