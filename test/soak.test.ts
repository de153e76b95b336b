// Leak soak: 10,000 gradient evaluations of a small MLP in a loop, with and without tidy.
// memory().bytesInUse must come back to its baseline and the peak must stay bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grad, matmul, memory, randn, sum, tanh, tidy, valueAndGrad, type Tensor } from './helpers/api.js';

type Params = { W1: Tensor; W2: Tensor };
const x = randn([8, 16], { seed: 1 });
const params: Params = { W1: randn([16, 32], { seed: 2 }), W2: randn([32, 4], { seed: 3 }) };
const loss = (p: Params) => sum(matmul(tanh(matmul(x, p.W1)), p.W2).square());

let baseline = 0;
beforeAll(() => {
  baseline = memory().bytesInUse;
});
afterAll(() => {
  expect(memory().bytesInUse).toBe(baseline);
});

describe('leak soak', () => {
  it('10,000 gradients with dispose() return memory to its baseline; the peak stays bounded', () => {
    const before = memory({ resetPeak: true });
    for (let i = 0; i < 10_000; i++) {
      const g = grad(loss)(params) as Params;
      g.W1.dispose();
      g.W2.dispose();
    }
    const after = memory();
    expect(after.bytesInUse).toBe(before.bytesInUse);
    expect(after.tensors).toBe(before.tensors);
    // One evaluation holds the activations, the cotangents and the gradients: well under 64 KiB.
    expect(after.peakBytes - before.bytesInUse).toBeLessThan(64 * 1024);
  });

  it('10,000 value-and-gradient evaluations inside tidy free everything', () => {
    const before = memory({ resetPeak: true });
    for (let i = 0; i < 10_000; i++) {
      tidy(() => {
        const [value, g] = valueAndGrad(loss)(params) as [Tensor, Params];
        // A training step: the new parameters are used, then dropped with the scope.
        const W1 = params.W1.sub(g.W1.mul(1e-3));
        return value.add(sum(W1)).item();
      });
    }
    const after = memory();
    expect(after.bytesInUse).toBe(before.bytesInUse);
    expect(after.tensors).toBe(before.tensors);
    expect(after.peakBytes - before.bytesInUse).toBeLessThan(96 * 1024);
  });

  it('a training loop that replaces its parameters keeps memory flat', () => {
    let p: Params = { W1: params.W1.mul(1), W2: params.W2.mul(1) };
    const start = memory().bytesInUse;
    for (let i = 0; i < 2_000; i++) {
      const next = tidy(() => {
        const g = grad(loss)(p) as Params;
        return { W1: p.W1.sub(g.W1.mul(1e-4)), W2: p.W2.sub(g.W2.mul(1e-4)) };
      });
      p.W1.dispose();
      p.W2.dispose();
      p = next;
    }
    expect(memory().bytesInUse).toBe(start);
    p.W1.dispose();
    p.W2.dispose();
  });
});

describe('leak soak without tidy or dispose', () => {
  it('dropped results are reclaimed by the FinalizationRegistry (child process with --expose-gc)', async () => {
    const { execFileSync } = await import('node:child_process');
    const { existsSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const dist = fileURLToPath(new URL('../dist/index.mjs', import.meta.url));
    expect(existsSync(dist), 'dist/index.mjs is missing: run npm install (or npm run build) first').toBe(true);
    const script = `
      import * as d from ${JSON.stringify(dist)};
      const x = d.randn([8, 16], { seed: 1 });
      const p = { W1: d.randn([16, 32], { seed: 2 }), W2: d.randn([32, 4], { seed: 3 }) };
      const loss = (q) => d.sum(d.matmul(d.tanh(d.matmul(x, q.W1)), q.W2).square());
      const settle = async () => { for (let i = 0; i < 5; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 10)); } };
      await settle();
      const base = d.memory().bytesInUse;
      let peak = 0;
      for (let i = 0; i < 10000; i++) {
        d.grad(loss)(p);            // results dropped, never disposed
        if (i % 1000 === 999) { await settle(); peak = Math.max(peak, d.memory().bytesInUse - base); }
      }
      await settle();
      console.log(JSON.stringify({ leaked: d.memory().bytesInUse - base, peak }));`;
    const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
    const { leaked, peak } = JSON.parse(out.trim());
    expect(leaked).toBe(0);
    expect(peak).toBeLessThan(8 * 1024 * 1024);
  }, 60_000);
});
