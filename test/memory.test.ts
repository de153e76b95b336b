// Memory: memory() accounting, tidy (results and trees kept, the rest freed, nesting),
// dispose, use after dispose, views across memory growth, out-of-memory with live tensors
// intact, no leaks from transforms, allocator reuse, and the FinalizationRegistry for tensors
// dropped at top level.
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DisposedError, OutOfMemoryError, add, array, concat, exp, full, grad, hessian, jacfwd, jacrev, jvp, matmul, maximum, memory, mul, ones,
  randn, reshape, sin, sum, tanh, tidy, transpose, valueAndGrad, vjp, zeros, type Tensor,
} from './helpers/api.js';
import { expectMemoryRestored } from './helpers/memory.js';

expectMemoryRestored();
// Every test here must also leave memory as it found it (the FinalizationRegistry must not
// be what cleans up after a test).
let atStart = 0;
beforeEach(() => { atStart = memory().bytesInUse; });
afterEach(() => { expect(memory().bytesInUse, 'bytes in use after the test').toBe(atStart); });

/** Bytes the allocator charges for n elements of float64 (its size classes round up). */
const F64 = (n: number) => {
  const bytes = n * 8;
  if (bytes <= 16) return 16;
  if (bytes <= 65536) return 2 ** Math.ceil(Math.log2(bytes));
  return Math.ceil(bytes / 65536) * 65536;
};

describe('memory()', () => {
  it('reports bytes in use, live tensors, peak bytes and the wasm memory size', () => {
    const before = memory();
    expect(before.wasmBytes).toBeGreaterThan(0);
    const a = zeros([100]);
    const b = ones([3], { dtype: 'float32' });
    const now = memory();
    expect(now.bytesInUse - before.bytesInUse).toBe(F64(100) + 16);
    expect(now.tensors - before.tensors).toBe(2);
    expect(now.peakBytes).toBeGreaterThanOrEqual(now.bytesInUse);
    a.dispose();
    b.dispose();
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
  });

  it('peakBytes keeps the high-water mark until resetPeak', () => {
    const big = zeros([50000]);
    big.dispose();
    const info = memory({ resetPeak: true });
    expect(info.peakBytes).toBeGreaterThanOrEqual(info.bytesInUse + F64(50000));
    expect(memory().peakBytes).toBe(memory().bytesInUse);
  });

  it('plain numbers in ops do not hold memory', () => {
    const before = memory();
    tidy(() => { for (let i = 0; i < 100; i++) add(array([1, 2]), i * 0.5).mul(3).sub(1); });
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
  });
});

describe('tidy', () => {
  it('frees intermediates and keeps the result', () => {
    const before = memory();
    const x = array([1, 2, 3]);
    const y = tidy(() => exp(x).add(1).mul(2));
    expect(memory().tensors - before.tensors).toBe(2);
    expect(memory().bytesInUse - before.bytesInUse).toBe(2 * F64(3));
    // The SIMD exp is within 2 ulp of Math.exp, not bit-identical to it.
    expect(Math.abs(y.data()[0] - 2 * (Math.E + 1))).toBeLessThan(1e-14);
    expect(x.toArray()).toEqual([1, 2, 3]); // made outside the tidy: untouched
    x.dispose();
    y.dispose();
    expect(memory().bytesInUse).toBe(before.bytesInUse);
  });

  it('keeps every tensor in a returned tree (arrays and plain objects) and frees the rest', () => {
    const before = memory();
    let dropped: Tensor | null = null;
    const out = tidy(() => {
      dropped = zeros([5]);
      return { a: ones([2]), b: [array(3), { c: ones([4]) }], n: 7, s: null };
    });
    expect(() => dropped!.data()).toThrow(DisposedError);
    expect(out.a.toArray()).toEqual([1, 1]);
    expect(out.b[0]).toBeInstanceOf(Object);
    expect((out.b[0] as Tensor).item()).toBe(3);
    expect((out.b[1] as { c: Tensor }).c.toArray()).toEqual([1, 1, 1, 1]);
    expect(out.n).toBe(7);
    expect(memory().tensors - before.tensors).toBe(3);
    out.a.dispose();
    (out.b[0] as Tensor).dispose();
    (out.b[1] as { c: Tensor }).c.dispose();
    expect(memory().bytesInUse).toBe(before.bytesInUse);
  });

  it('nests: an inner result moves to the outer scope and dies with it unless returned', () => {
    const before = memory();
    let inner: Tensor | null = null;
    let innerTemp: Tensor | null = null;
    const outer = tidy(() => {
      inner = tidy(() => {
        innerTemp = ones([3]).mul(2);
        return innerTemp.add(1);
      });
      expect(() => innerTemp!.data()).toThrow(DisposedError); // freed by the inner tidy
      expect(inner.toArray()).toEqual([3, 3, 3]); // alive inside the outer tidy
      return sum(inner);
    });
    expect(() => inner!.data()).toThrow(DisposedError); // the outer tidy did not return it
    expect(outer.item()).toBe(9);
    outer.dispose();
    expect(memory().bytesInUse).toBe(before.bytesInUse);
  });

  it('returning an input keeps it; tensors disposed inside are not freed twice', () => {
    const before = memory();
    const x = array([1, 2]);
    const same = tidy(() => {
      const t = zeros([2]);
      t.dispose();
      return x;
    });
    expect(same).toBe(x);
    expect(x.toArray()).toEqual([1, 2]);
    x.dispose();
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
  });

  it('frees everything when fn throws, and rethrows', () => {
    const before = memory();
    expect(() => tidy(() => {
      zeros([10]);
      exp(ones([10]));
      throw new Error('boom');
    })).toThrow('boom');
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
  });

  it('rejects an async function with a clear error and frees what it made before its first await', async () => {
    const before = memory();
    let pending: Promise<unknown> | null = null;
    expect(() => tidy((() => {
      pending = (async () => { zeros([4]); await null; return 1; })();
      return pending;
    }) as () => unknown)).toThrow(/tidy: fn returned a Promise.*synchronous/);
    await pending;
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(() => tidy((async () => 1) as unknown as () => number)).toThrow(/Promise/);
  });
});

describe('dispose', () => {
  it('is safe to call twice and frees exactly once', () => {
    const before = memory();
    const x = zeros([7]);
    x.dispose();
    x.dispose();
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
  });

  it('use after dispose throws a DisposedError naming the op', () => {
    const x = array([1, 2]);
    const s = array(4);
    x.dispose();
    s.dispose();
    const cases: [string, () => unknown][] = [
      ['exp', () => exp(x)], ['add', () => add(x, 1)], ['add', () => x.add(1)], ['mul', () => mul(2, x)],
      ['sum', () => sum(x)], ['reshape', () => reshape(x, [2, 1])], ['transpose', () => transpose(x)],
      ['matmul', () => matmul(x, x)], ['concat', () => concat([x, x])], ['data', () => x.data()],
      ['toArray', () => x.toArray()], ['item', () => s.item()],
    ];
    for (const [op, f] of cases) {
      expect(f, op).toThrow(DisposedError);
      expect(f, op).toThrow(new RegExp(`^${op}: the tensor of shape \\[\\d?\\] \\(float64\\) was disposed`));
    }
    expect(() => grad((t: Tensor) => sum(t))(x)).toThrow(DisposedError);
    expect(() => jvp((t: Tensor) => t, [x], [1])).toThrow(DisposedError);
  });

  it('a tensor freed by the end of its tidy throws the same way', () => {
    let t: Tensor | null = null;
    tidy(() => { t = ones([2]); });
    expect(() => exp(t!)).toThrow(/^exp: the tensor of shape \[2\] \(float64\) was disposed.*tidy/);
  });

  it('a reshape shares the buffer: no new bytes, and each handle frees independently', () => {
    const before = memory();
    const x = array([1, 2, 3, 4]);
    const r = reshape(x, [2, 2]);
    expect(memory().bytesInUse - before.bytesInUse).toBe(F64(4));
    x.dispose();
    expect(r.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(memory().bytesInUse - before.bytesInUse).toBe(F64(4));
    r.dispose();
    expect(memory().bytesInUse).toBe(before.bytesInUse);
  });
});

describe('transforms leave nothing behind', () => {
  const weight = randn([2, 5], { seed: 2 });
  const f = (x: Tensor) => sum(tanh(matmul(x, x.T)).mul(sin(x).sum()));
  const cases: [string, (x: Tensor) => unknown][] = [
    ['grad', (x) => grad(f)(x)],
    ['valueAndGrad', (x) => valueAndGrad(f)(x)],
    ['jvp', (x) => jvp(f, [x], [x])],
    // Fused kernels: a paired GEMM against a constant, maximum/pow/div against scalars.
    ['jvp through the fused kernels', (x) => jvp((y: Tensor) => maximum(matmul(y, weight), 0).pow(3).div(sum(y)), [x], [x])],
    ['jacfwd', (x) => jacfwd((y: Tensor) => sin(y).mul(2))(x)],
    ['jacrev', (x) => jacrev((y: Tensor) => sin(y).mul(2))(x)],
    ['hessian', (x) => hessian(f)(x)],
    ['grad of grad', (x) => grad((y: Tensor) => sum(grad(f)(y) as Tensor))(x)],
  ];
  for (const [name, run] of cases) {
    it(`${name}: only the returned tensors stay alive, and disposing them returns to the baseline`, () => {
      const x = randn([3, 2], { seed: 1 });
      const before = memory();
      const out = run(x);
      const returned: Tensor[] = [];
      const collect = (v: unknown): void => {
        if (v && typeof v === 'object' && 'dispose' in v) returned.push(v as Tensor);
        else if (Array.isArray(v)) v.forEach(collect);
      };
      collect(out);
      expect(memory().tensors - before.tensors).toBe(returned.length);
      for (const t of returned) t.dispose();
      expect(memory().bytesInUse).toBe(before.bytesInUse);
      x.dispose();
    });
  }

  it('vjp: the pullback may run twice; its tape is freed with the enclosing tidy', () => {
    const before = memory();
    tidy(() => {
      const [y, pullback] = vjp((x: Tensor) => exp(x).mul(x), array([0.5, 1]));
      const [g1] = pullback(ones([2])) as Tensor[];
      const [g2] = pullback(ones([2])) as Tensor[];
      expect(Array.from(g1.data())).toEqual(Array.from(g2.data()));
      expect(y.shape).toEqual([2]);
    });
    expect(memory().bytesInUse).toBe(before.bytesInUse);
  });

  it('a transform whose function throws frees what it made', () => {
    const x = array([1, 2]);
    const before = memory();
    const boom = (t: Tensor) => { exp(t).mul(t); throw new Error('inside'); };
    expect(() => grad(boom)(x)).toThrow('inside');
    expect(() => jacfwd(boom)(x)).toThrow('inside');
    expect(() => jacrev(boom)(x)).toThrow('inside');
    expect(() => jvp(boom, [x], [x])).toThrow('inside');
    expect(() => vjp(boom, x)).toThrow('inside');
    expect(() => grad((t: Tensor) => grad(boom)(t))(x)).toThrow('inside');
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
    x.dispose();
  });
});

describe('the allocator', () => {
  it('reuses freed blocks: a loop of same-sized temporaries does not grow wasm memory', () => {
    const x = randn([1000], { seed: 2 });
    const step = () => tidy(() => { exp(x).mul(x).add(1).sum(); });
    for (let i = 0; i < 10; i++) step();
    const size = memory().wasmBytes;
    const before = memory().bytesInUse;
    for (let i = 0; i < 500; i++) step();
    expect(memory().wasmBytes).toBe(size);
    expect(memory().bytesInUse).toBe(before);
    x.dispose();
  });

  it('serves a large request from freed smaller neighbours without growing memory', () => {
    const pieces = Array.from({ length: 32 }, () => zeros([8192])); // 32 x 64 KiB
    const size = memory().wasmBytes;
    for (const p of pieces) p.dispose();
    const big = zeros([32 * 8192]); // 2 MiB: fits in the freed run
    expect(memory().wasmBytes).toBe(size);
    big.dispose();
  });
});

describe('views across memory growth', () => {
  it('tensors made before the wasm memory grows read and compute correctly after it', () => {
    const a = array([1.5, 2.5, 3.5]);
    const b = array([1, 2, 3, 4, 5], { dtype: 'float32' });
    const before = memory().wasmBytes;
    const big = zeros([4_000_000]); // 32 MB: forces at least one memory.grow
    const mid = ones([1_000_000], { dtype: 'float32' });
    expect(memory().wasmBytes).toBeGreaterThan(before);
    expect(a.toArray()).toEqual([1.5, 2.5, 3.5]);
    expect(Array.from(b.data())).toEqual([1, 2, 3, 4, 5]);
    tidy(() => {
      expect(a.mul(2).toArray()).toEqual([3, 5, 7]);
      expect(sum(b).item()).toBe(15);
      expect(sum(mid).item()).toBe(1_000_000);
      expect(big.data()[3_999_999]).toBe(0);
      // Writes through fresh views land where later reads look.
      const c = array(new Float64Array(10).fill(7));
      expect(sum(c).item()).toBe(70);
    });
    for (const t of [a, b, big, mid]) t.dispose();
  });
});

describe('out of memory', () => {
  it('an allocation beyond the wasm limit throws OutOfMemoryError and leaves live tensors intact', () => {
    const live = array([1, 2, 3]);
    const kept = tidy(() => exp(array([0, 1])));
    const before = memory();
    expect(() => zeros([2 ** 31])).toThrow(OutOfMemoryError);
    expect(() => zeros([2 ** 31])).toThrow(/^zeros: no room for a float64 tensor of shape \[2147483648\].*limit/);
    expect(() => ones([2 ** 29, 2], { dtype: 'float32' })).toThrow(OutOfMemoryError);
    // Inside an op and inside tidy: the scope's other tensors are freed, nothing else changes.
    // Inputs that fit, an output that does not: [65536, 1] + [32768] is 2^31 float64 values.
    const tooBig = () => tidy(() => add(zeros([65536, 1]), zeros([32768])));
    expect(tooBig).toThrow(OutOfMemoryError);
    expect(tooBig).toThrow(/^add: no room for a float64 tensor of shape \[65536, 32768\]/);
    const after = memory();
    expect(after.bytesInUse).toBe(before.bytesInUse);
    expect(after.tensors).toBe(before.tensors);
    expect(live.toArray()).toEqual([1, 2, 3]);
    const keptValues = kept.data();
    expect(keptValues[0]).toBe(1);
    expect(Math.abs(keptValues[1] - Math.E)).toBeLessThan(1e-15);
    expect(tidy(() => live.add(1).toArray())).toEqual([2, 3, 4]);
    // Memory still works for ordinary allocations afterwards.
    const again = tidy(() => sum(ones([1000])));
    expect(again.item()).toBe(1000);
    for (const t of [live, kept, again]) t.dispose();
  });
});

describe('the FinalizationRegistry', () => {
  /** global.gc, or V8's gc exposed at run time; null when neither is possible. */
  function findGc(): (() => void) | null {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === 'function') return g;
    try {
      v8.setFlagsFromString('--expose-gc');
      const fn = vm.runInNewContext('gc') as unknown;
      return typeof fn === 'function' ? (fn as () => void) : null;
    } catch {
      return null;
    }
  }

  it('frees tensors dropped at top level once they are collected', async () => {
    const before = memory();
    let holder: Tensor[] | null = Array.from({ length: 20 }, (_, i) => full1(i));
    expect(memory().tensors - before.tensors).toBe(20);
    expect(memory().bytesInUse - before.bytesInUse).toBe(20 * F64(1000));
    const gc = findGc();
    if (!gc) {
      console.warn('memory.test: SKIPPED the FinalizationRegistry assertion: no garbage collector can be triggered here (global.gc is missing and V8 refused --expose-gc at run time). Run node with --expose-gc to check it.');
      for (const t of holder) t.dispose();
      return;
    }
    holder = null;
    for (let i = 0; i < 50 && memory().bytesInUse > before.bytesInUse; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(holder).toBeNull();
    expect(memory().bytesInUse).toBe(before.bytesInUse);
    expect(memory().tensors).toBe(before.tensors);
  });

  it('does not free a tensor that is still referenced, nor one kept by a scope', async () => {
    const gc = findGc();
    const x = array([1, 2, 3]);
    tidy(() => {
      const inScope = ones([2]);
      if (gc) gc();
      expect(inScope.toArray()).toEqual([1, 1]);
    });
    if (gc) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(x.toArray()).toEqual([1, 2, 3]);
    x.dispose();
  });
});

describe('top-level tensors are registered for collection when the event loop runs', () => {
  /** Drops `count` top-level tensors (and a reshape sharing each one's block) made in their own frame. */
  function dropMany(count: number): void {
    for (let i = 0; i < count; i++) {
      const t = full([4], i);
      reshape(t, [2, 2]);
    }
  }

  async function collect(until: () => boolean): Promise<boolean> {
    const g = (globalThis as { gc?: () => void }).gc ?? (() => {
      v8.setFlagsFromString('--expose-gc');
      return vm.runInNewContext('gc') as () => void;
    })();
    for (let i = 0; i < 50 && !until(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      g();
    }
    return until();
  }

  it('frees more dropped tensors than the nursery holds (it registers them as it fills)', async () => {
    const before = memory();
    dropMany(3000);
    expect(memory().tensors - before.tensors).toBe(6000);
    expect(await collect(() => memory().tensors === before.tensors)).toBe(true);
    expect(memory().bytesInUse).toBe(before.bytesInUse);
  });

  it('a tensor disposed before the event loop runs is freed once, not again by the registry', async () => {
    const before = memory();
    const kept = full([3], 7);
    for (let i = 0; i < 100; i++) full([8], i).dispose();
    expect(memory().tensors - before.tensors).toBe(1);
    await collect(() => false);
    expect(memory().tensors - before.tensors).toBe(1);
    expect(kept.toArray()).toEqual([7, 7, 7]);
    kept.dispose();
    expect(memory().bytesInUse).toBe(before.bytesInUse);
  });
});

/** A top-level tensor of 1000 float64 values, made in its own frame so nothing else holds it. */
function full1(i: number): Tensor {
  return full([1000], i);
}
