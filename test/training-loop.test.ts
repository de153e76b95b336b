// The README's training loop ("Loops and memory"), written as the README shows it: a plain
// synchronous loop, valueAndGrad then an optimizer step, no tidy. Run here on a smaller MLP
// for 2,000 steps; bench/training-soak.mjs runs the full-size MLP (x 256x784, W1 784x512,
// W2 512x10) for 10,000 steps. Bytes in use and live tensors must not move after the first
// steps, and the leak warning (its thresholds lowered here) must stay quiet.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  adam, matmul, mean, memory, momentum, randn, sgd, square, tanh, tidy, valueAndGrad, type Optimizer, type Tensor,
} from './helpers/api.js';
import { setLeakThresholds } from '../src/backend/leak-watch.js';

let warn: ReturnType<typeof vi.spyOn>;
let atStart = 0;
beforeEach(async () => {
  await new Promise((resolve) => setTimeout(resolve, 5)); // a fresh leak-watch epoch
  atStart = memory().bytesInUse;
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  setLeakThresholds({ tensors: 200 });
});
afterEach(() => {
  warn.mockRestore();
  setLeakThresholds(null);
  expect(memory().bytesInUse, 'bytes in use after the test').toBe(atStart);
});

/** The README's loop on x [32, 64], W1 [64, 32], W2 [32, 10]; returns memory at the checkpoints. */
function train(opt: Optimizer, steps: number) {
  const x = randn([32, 64], { seed: 1 });
  const y = randn([32, 10], { seed: 2 });
  const init = tidy(() => ({
    W1: randn([64, 32], { seed: 3 }).mul(1 / Math.sqrt(64)),
    W2: randn([32, 10], { seed: 4 }).mul(1 / Math.sqrt(32)),
  }));
  type Params = typeof init;
  const loss = (p: Params) => mean(square(matmul(tanh(matmul(x, p.W1)), p.W2).sub(y)));

  // --- as in the README ---
  let params = init;
  let state = opt.init(params);
  const lossAndGrad = valueAndGrad(loss);
  const losses: number[] = [];
  const at = new Map<number, { bytesInUse: number; tensors: number }>();
  for (let step = 1; step <= steps; step++) {
    const [value, grads] = lossAndGrad(params);
    [params, state] = opt.step(params, grads, state); // frees grads, the old state and the previous params
    losses.push(value.item());
    value.dispose();
    if ([10, 100, 1000, steps].includes(step)) at.set(step, { bytesInUse: memory().bytesInUse, tensors: memory().tensors });
  }
  // --- end of the README's loop ---

  for (const t of [x, y, init.W1, init.W2, params.W1, params.W2] as Tensor[]) t.dispose();
  state.dispose();
  return { losses, at };
}

describe('the README training loop, synchronous and without tidy', () => {
  const optimizers: [string, () => Optimizer][] = [
    ['adam', () => adam({ learningRate: 1e-2 })],
    ['momentum', () => momentum({ learningRate: 1e-2, momentum: 0.9 })],
    ['sgd', () => sgd({ learningRate: 5e-2 })],
  ];
  for (const [name, make] of optimizers) {
    it(`${name}: 2,000 steps with bytes in use and live tensors flat from step 10 on, and no leak warning`, () => {
      const { losses, at } = train(make(), 2000);
      const first = at.get(10)!;
      for (const step of [100, 1000, 2000]) {
        expect(at.get(step), `memory at step ${step}`).toEqual(first);
      }
      expect(warn).not.toHaveBeenCalled();
      expect(losses[1999]).toBeLessThan(0.5 * losses[0]);
    }, 60_000);
  }
});
