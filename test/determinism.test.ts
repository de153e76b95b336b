// Determinism: the same inputs give bit-identical results from run to run, in one process and
// across processes (the kernels use no threads, no randomness and a fixed summation order).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { grad, jacfwd, jacrev, logsumexp, matmul, randn, sum, tanh, tidy, type Tensor } from './helpers/api.js';

const bits = (t: Tensor) => Buffer.from(new Float64Array(t.data()).buffer).toString('hex');

function workload(): string[] {
  return tidy(() => {
    const x = randn([64, 100], { seed: 11 });
    const W = randn([100, 50], { seed: 12 });
    const loss = (w: Tensor) => logsumexp(tanh(matmul(x, w)), 1).sum();
    const g = grad(loss)(W) as Tensor;
    const J1 = jacfwd((v: Tensor) => tanh(v.mul(v)).sum(0))(randn([30, 7], { seed: 13 })) as Tensor;
    const J2 = jacrev((v: Tensor) => tanh(matmul(v, v.T)))(randn([6, 9], { seed: 14 })) as Tensor;
    return [bits(g), bits(J1), bits(J2), bits(sum(randn([100_003], { seed: 15 })))];
  });
}

describe('determinism', () => {
  it('repeated runs in one process are bit-identical', () => {
    const first = workload();
    for (let i = 0; i < 3; i++) expect(workload()).toEqual(first);
  });

  it('two processes give bit-identical gradients', () => {
    const dist = fileURLToPath(new URL('../dist/index.mjs', import.meta.url));
    expect(existsSync(dist), 'dist/index.mjs is missing: run npm install (or npm run build) first').toBe(true);
    const script = `
      import * as d from ${JSON.stringify(dist)};
      const x = d.randn([64, 100], { seed: 11 }), W = d.randn([100, 50], { seed: 12 });
      const g = d.grad((w) => d.logsumexp(d.tanh(d.matmul(x, w)), 1).sum())(W);
      console.log(Buffer.from(new Float64Array(g.data()).buffer).toString('hex'));`;
    const run = () => execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim();
    const a = run();
    expect(a.length).toBe(100 * 50 * 16);
    expect(run()).toBe(a);
  });
});
