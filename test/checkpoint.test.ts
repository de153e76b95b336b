// checkpoint(f): the same derivatives as f in every mode and nesting, f's intermediates off the
// tape, the recomputation counted, and the policies' promises kept.
import { describe, expect, it } from 'vitest';
import {
  DifferentiationError, add, array, checkpoint, cos, exp, grad, jacrev, jvp, linspace, memory, mul, name, saveAll, saveNothing,
  saveOnly, sin, sum, tanh, tidy, valueAndGrad, vjp, type CheckpointPolicy, type Tensor,
} from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { definePrimitive } from '../src/core/primitive.js';
import { bind } from '../src/core/trace.js';
import type { DenseTensor } from '../src/tensor/tensor.js';
import { expectMemoryRestored } from './helpers/memory.js';
import { batchSame } from '../src/core/batch-axes.js';

expectMemoryRestored();

/** exp with a counter on its kernel, to see which primitives a recomputation runs again. */
let expKernelRuns = 0;
const countedExpP = definePrimitive({
  name: 'counted_exp',
  impl: ([x]) => {
    expKernelRuns++;
    return exp(x) as DenseTensor;
  },
  shape: ([x]) => x,
  saves: ['out'],
  sparsity: 'elementwise',
  batch: batchSame(),
  jvp: ({ tangents: [t], out }) => (t ? mul(t, out) : null),
  vjp: ({ ct, out }) => [mul(ct, out)],
});
const countedExp = (x: Tensor) => bind(countedExpP, [x], {});

describe('checkpoint: derivatives', () => {
  const f = (x: Tensor) => sin(mul(x, x)).mul(exp(x));
  const x0 = array([0.3, -0.7, 1.1]);

  it('gives the gradient of f, and f\'s value, under grad', () => {
    tidy(() => {
      const [v, g] = valueAndGrad((x: Tensor) => sum(checkpoint(f)(x)))(x0) as [Tensor, Tensor];
      const [vRef, gRef] = valueAndGrad((x: Tensor) => sum(f(x)))(x0) as [Tensor, Tensor];
      expect(v.item()).toBe(vRef.item());
      expect(Array.from(g.data())).toEqual(Array.from(gRef.data()));
    });
  });

  it('passes checkGrads (jvp vs finite differences, vjp vs jvp)', () => {
    tidy(() => checkGrads((x: Tensor, y: Tensor) => checkpoint((a: Tensor, b: Tensor) => tanh(a.mul(b)).add(sin(a)))(x, y), [x0, array([2, 0.5, -1])]));
  });

  it('works under jvp (forward over checkpoint): f is simply called', () => {
    tidy(() => {
      const [y, dy] = jvp(checkpoint(f), [x0], [array([1, 2, 3])]) as [Tensor, Tensor];
      const [yRef, dyRef] = jvp(f, [x0], [array([1, 2, 3])]) as [Tensor, Tensor];
      expect(Array.from(y.data())).toEqual(Array.from(yRef.data()));
      expect(Array.from(dy.data())).toEqual(Array.from(dyRef.data()));
    });
  });

  it('works inside grad of grad: d2/dx2 [x sin x] = 2 cos x - x sin x', () => {
    tidy(() => {
      const g = checkpoint((x: Tensor) => mul(x, sin(x)));
      const x = 0.8;
      expectClose((grad(grad(g))(x) as Tensor).item(), 2 * Math.cos(x) - x * Math.sin(x), 1e-14);
      // jvp of grad (forward over reverse) as well.
      expectClose((jvp(grad(g), [x], [1])[1] as Tensor).item(), 2 * Math.cos(x) - x * Math.sin(x), 1e-14);
    });
  });

  it('pulls back k > 1 cotangent rows at once (jacrev with chunks)', () => {
    tidy(() => {
      const h = (x: Tensor) => sin(x).mul(sum(exp(x)));
      const ref = jacrev(h)(x0) as Tensor;
      for (const chunkSize of [1, 2, 3]) {
        const j = jacrev(checkpoint(h), { chunkSize })(x0) as Tensor;
        expectClose(j.data(), ref.data(), 1e-15, 1e-15);
      }
    });
  });

  it('takes and returns trees; an output that is an input passed through gets its gradient directly', () => {
    tidy(() => {
      const tree = (p: { a: Tensor; b: Tensor[] }) => [mul(p.a, p.b[0]), { s: sin(p.b[1]).mul(p.a), same: p.a }] as const;
      const loss = (t: typeof tree) => (p: { a: Tensor; b: Tensor[] }) => {
        const [u, { s, same }] = t(p);
        return sum(u).add(sum(mul(s, s))).add(sum(mul(same, 3)));
      };
      const p = { a: array([0.5, 1.5]), b: [array([2, -1]), array([0.1, 0.2])] };
      const g = grad(loss(checkpoint(tree)))(p) as { a: Tensor; b: Tensor[] };
      const ref = grad(loss(tree))(p) as { a: Tensor; b: Tensor[] };
      expectClose(g.a.data(), ref.a.data(), 1e-15);
      expectClose(g.b[0].data(), ref.b[0].data(), 1e-15);
      expectClose(g.b[1].data(), ref.b[1].data(), 1e-15);
    });
  });

  it('treats numbers in the arguments as constants passed through to f', () => {
    tidy(() => {
      const powered = checkpoint((x: Tensor, n: number) => {
        let y = x;
        for (let i = 1; i < n; i++) y = mul(y, x);
        return y;
      });
      expect((grad((x: Tensor) => powered(x, 4))(2) as Tensor).item()).toBe(32);
    });
  });

  it('lets vjp\'s pullback run twice with the same result', () => {
    tidy(() => {
      const [, pullback] = vjp((x: Tensor) => checkpoint((a: Tensor) => [sin(a), cos(a)])(x), x0);
      const first = pullback([array([1, 1, 1]), array([0, 1, 2])])[0] as Tensor;
      const second = pullback([array([1, 1, 1]), array([0, 1, 2])])[0] as Tensor;
      expect(Array.from(second.data())).toEqual(Array.from(first.data()));
      expectClose(first.data(), Array.from(x0.data(), (v, i) => Math.cos(v) - i * Math.sin(v)), 1e-15);
    });
  });
});

describe('checkpoint: what is kept and what is recomputed', () => {
  it('saveNothing (the default) runs f twice under grad: forward, then again in the backward sweep', () => {
    tidy(() => {
      let calls = 0;
      const g = checkpoint((x: Tensor) => {
        calls++;
        return sin(x);
      });
      grad((x: Tensor) => sum(g(x)))(array([1, 2]));
      expect(calls).toBe(2);
      calls = 0;
      grad((x: Tensor) => sum(checkpoint((y: Tensor) => (calls++, sin(y)), { policy: saveNothing })(x)))(array([1, 2]));
      expect(calls).toBe(2);
    });
  });

  it('saveAll runs f once: everything is taped as without checkpoint', () => {
    tidy(() => {
      let calls = 0;
      const g = checkpoint((x: Tensor) => {
        calls++;
        return sin(x);
      }, { policy: saveAll });
      const gr = grad((x: Tensor) => sum(g(x)))(array([1, 2])) as Tensor;
      expect(calls).toBe(1);
      expectClose(gr.data(), [Math.cos(1), Math.cos(2)], 1e-15);
    });
  });

  it('runs f once outside reverse mode (no transform, jvp)', () => {
    tidy(() => {
      let calls = 0;
      const g = checkpoint((x: Tensor) => (calls++, sin(x)));
      g(array(1));
      jvp(g, [1], [1]);
      expect(calls).toBe(2);
    });
  });

  it('saveOnly keeps the named value: its kernel does not run again in the recomputation', () => {
    tidy(() => {
      const f = (x: Tensor) => sin(name(countedExp(x), 'e')).mul(x);
      const x0 = array([0.2, 0.4]);
      const ref = grad((x: Tensor) => sum(f(x)))(x0) as Tensor;
      const runs = (policy: CheckpointPolicy) => {
        expKernelRuns = 0;
        const g = grad((x: Tensor) => sum(checkpoint(f, { policy })(x)))(x0) as Tensor;
        expect(Array.from(g.data())).toEqual(Array.from(ref.data()));
        return expKernelRuns;
      };
      expect(runs(saveNothing)).toBe(2);
      expect(runs(saveOnly(['e']))).toBe(1);
      expect(runs(saveOnly(['other']))).toBe(2);
      expect(runs(saveAll)).toBe(1);
      // Any predicate on {op, name, shape} is a policy.
      expect(runs(({ op }) => op === 'counted_exp')).toBe(1);
    });
  });

  it('saveOnly works with k > 1 rows and under grad of grad', () => {
    tidy(() => {
      const f = (x: Tensor) => sin(name(countedExp(x), 'e')).mul(x);
      const policy = saveOnly(['e']);
      const x0 = array([0.2, 0.4]);
      expectClose((jacrev(checkpoint(f, { policy }))(x0) as Tensor).data(), (jacrev(f)(x0) as Tensor).data(), 1e-15);
      const scalar = (x: Tensor) => sum(checkpoint(f, { policy })(x));
      const second = grad((x: Tensor) => sum(grad(scalar)(x)))(x0) as Tensor;
      const secondRef = grad((x: Tensor) => sum(grad((y: Tensor) => sum(f(y)))(x)))(x0) as Tensor;
      expectClose(second.data(), secondRef.data(), 1e-14);
    });
  });

  it('nests: the inner function is recomputed once more for each enclosing checkpoint', () => {
    tidy(() => {
      let inner = 0;
      let outer = 0;
      const innerF = checkpoint((x: Tensor) => (inner++, sin(x).mul(x)));
      const outerF = checkpoint((x: Tensor) => (outer++, exp(innerF(x)).add(x)));
      const x0 = array([0.5, -0.25]);
      const g = grad((x: Tensor) => sum(outerF(x)))(x0) as Tensor;
      // outer: forward + recompute; inner: forward, inside the outer recompute, and its own recompute.
      expect([outer, inner]).toEqual([2, 3]);
      const ref = grad((x: Tensor) => sum(exp(sin(x).mul(x)).add(x)))(x0) as Tensor;
      expectClose(g.data(), ref.data(), 1e-15);
      expectClose((grad(grad((x: Tensor) => sum(outerF(x))))(array(0.5)) as Tensor).item(),
        (grad(grad((x: Tensor) => sum(exp(sin(x).mul(x)).add(x))))(array(0.5)) as Tensor).item(), 1e-14);
    });
  });

  it('keeps only the block outputs on the tape: a chain of checkpointed blocks peaks far lower', () => {
    tidy(() => {
      const block = (x: Tensor) => {
        let y = x;
        for (let i = 0; i < 10; i++) y = sin(y).add(0.5);
        return y;
      };
      const chain = (b: (x: Tensor) => Tensor) => (x: Tensor) => {
        let y = x;
        for (let i = 0; i < 10; i++) y = b(y);
        return sum(y);
      };
      const x0 = linspace(0, 1, 4096);
      const peak = (b: (x: Tensor) => Tensor) => {
        memory({ resetPeak: true });
        const base = memory().bytesInUse;
        const g = tidy(() => grad(chain(b))(x0) as Tensor);
        const p = memory().peakBytes - base;
        const data = g.data();
        g.dispose();
        return { p, data };
      };
      const plain = peak(block);
      const ckpt = peak(checkpoint(block));
      expect(Array.from(ckpt.data)).toEqual(Array.from(plain.data));
      // About 100 saved states without checkpointing; about 10 outputs plus one block's tape with.
      expect(ckpt.p).toBeLessThan(0.35 * plain.p);
    });
  });
});

describe('checkpoint: errors', () => {
  it('rejects a closure over a value being differentiated, naming the fix', () => {
    tidy(() => {
      const x0 = array([1, 2]);
      const f = (w: Tensor) => sum(checkpoint((x: Tensor) => mul(x, w))(mul(x0, w)));
      expect(() => grad(f)(array([3, 4]))).toThrow(DifferentiationError);
      expect(() => grad(f)(array([3, 4]))).toThrow(/closure.*pass it to the checkpointed function as an argument/);
      // Passed as an argument it works: d/dw sum(x0 w * w) = 2 x0 w.
      const g = grad((w: Tensor) => sum(checkpoint((x: Tensor, v: Tensor) => mul(x, v))(mul(x0, w), w)))(array([3, 4])) as Tensor;
      expect(g.toArray()).toEqual([6, 16]);
      // With only constant arguments nothing is checkpointed at this level: f is taped as usual.
      const h = grad((w: Tensor) => sum(checkpoint((x: Tensor) => mul(x, w))(x0)))(array([3, 4])) as Tensor;
      expect(h.toArray()).toEqual([1, 2]);
    });
  });

  it('rejects a policy that is not a function and saveOnly without labels', () => {
    expect(() => checkpoint((x: Tensor) => x, { policy: 'all' as unknown as CheckpointPolicy })).toThrow(/policy must be a function/);
    expect(() => saveOnly('e' as unknown as string[])).toThrow(/array of label strings/);
    tidy(() => expect(() => name(array(1), 3 as unknown as string)).toThrow(/label must be a string/));
  });

  it('name is an identity in every mode', () => {
    tidy(() => {
      const x = array([1, 2]);
      expect(name(x, 'v').toArray()).toEqual([1, 2]);
      expect((grad((y: Tensor) => sum(mul(name(y, 'v'), y)))(x) as Tensor).toArray()).toEqual([2, 4]);
      expect((jvp((y: Tensor) => name(add(y, 1), 'v'), [x], [array([1, 0])])[1] as Tensor).toArray()).toEqual([1, 0]);
    });
  });
});
