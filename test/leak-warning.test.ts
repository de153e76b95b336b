// Loops that leak are told so early and correctly: top-level tensors created since the event
// loop last ran that are still alive trigger one warning past a threshold (lowered here
// through the internal setter), and an OutOfMemoryError reports them with the fixes first.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OutOfMemoryError, array, exp, memory, tidy, zeros, type Tensor } from './helpers/api.js';
import { setLeakThresholds, sinceYield } from '../src/backend/leak-watch.js';

/** Lets the event loop run, which starts a new leak-watch epoch. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

let warn: ReturnType<typeof vi.spyOn>;
let atStart = 0;
beforeEach(async () => {
  await yieldToEventLoop();
  atStart = memory().bytesInUse;
  warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => {
  warn.mockRestore();
  setLeakThresholds(null);
  expect(memory().bytesInUse, 'bytes in use after the test').toBe(atStart);
});

function disposeAll(ts: Tensor[]): void {
  for (const t of ts) t.dispose();
}

describe('the leak warning', () => {
  it('warns once when live top-level tensors since the last yield pass the tensor threshold', () => {
    setLeakThresholds({ tensors: 100 });
    const x = array([1, 2, 3]);
    const kept: Tensor[] = [x];
    for (let i = 0; i < 99; i++) kept.push(exp(x));
    expect(warn).not.toHaveBeenCalled();
    kept.push(exp(x)); // the 101st
    expect(warn).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 200; i++) kept.push(exp(x));
    expect(warn).toHaveBeenCalledTimes(1);
    disposeAll(kept);
  });

  it('names the count, the bytes and the fixes: tidy, dispose, using and the optimizers', () => {
    setLeakThresholds({ tensors: 10 });
    const kept = Array.from({ length: 11 }, () => zeros([3]));
    const message = String(warn.mock.calls[0][0]);
    expect(message).toContain('11 tensors holding 352 bytes'); // 11 x 32-byte blocks
    for (const fix of ['tidy', 'dispose()', 'using', 'sgd', 'adam', 'minimize']) expect(message).toContain(fix);
    disposeAll(kept);
  });

  it('warns on bytes too: one 2 MiB tensor against a 1 MiB threshold', () => {
    setLeakThresholds({ bytes: 1024 * 1024 });
    const big = zeros([256 * 1024]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toContain('2097152 bytes (2.0 MiB)');
    big.dispose();
  });

  it('stays quiet for a loop that disposes what it creates', () => {
    setLeakThresholds({ tensors: 100 });
    const x = array([1, 2, 3]);
    for (let i = 0; i < 1000; i++) exp(x).dispose();
    expect(sinceYield().tensors).toBe(1);
    x.dispose();
    expect(warn).not.toHaveBeenCalled();
  });

  it('stays quiet for a loop that runs each step in tidy', () => {
    setLeakThresholds({ tensors: 100 });
    const x = array([1, 2, 3]);
    for (let i = 0; i < 1000; i++) tidy(() => exp(x).mul(2).sum().item());
    x.dispose();
    expect(warn).not.toHaveBeenCalled();
  });

  it('starts counting again once the event loop has run', async () => {
    setLeakThresholds({ tensors: 100 });
    const kept = Array.from({ length: 80 }, () => zeros([1]));
    expect(sinceYield().tensors).toBe(80);
    await yieldToEventLoop();
    expect(sinceYield().tensors).toBe(0);
    for (let i = 0; i < 80; i++) kept.push(zeros([1]));
    expect(warn).not.toHaveBeenCalled();
    disposeAll(kept);
  });
});

describe('the OutOfMemoryError message', () => {
  function oomMessage(): string {
    try {
      zeros([2 ** 29]); // 4 GiB of float64: within the shape limit, beyond what memory can hold
    } catch (e) {
      expect(e).toBeInstanceOf(OutOfMemoryError);
      return (e as Error).message;
    }
    throw new Error('zeros([2 ** 29]) did not throw');
  }

  it('states how many tensors and bytes are live, and how many came since the last yield', () => {
    const kept = [array([1]), array([2]), array([3])];
    const live = memory();
    const message = oomMessage();
    expect(message).toContain(`${live.tensors} tensors are live, holding ${live.bytesInUse} bytes`);
    expect(message).toContain('3 of them (48 bytes, 0.0 MiB) were created outside tidy since the event loop last ran');
    disposeAll(kept);
  });

  it('points to tidy, dispose, using and the optimizers before shapes and dtypes', () => {
    const message = oomMessage();
    const fixes = ['tidy', 'dispose()', 'using', 'adam'].map((w) => message.indexOf(w));
    const shapes = message.indexOf('smaller shapes or float32');
    for (const at of fixes) {
      expect(at).toBeGreaterThan(0);
      expect(at).toBeLessThan(shapes);
    }
  });
});
