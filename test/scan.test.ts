// scan and its checkpointing schedules: the Revolve schedule on its own (counts against the
// closed form and against dynamic programming), scan's loop semantics, its gradients with and
// without a budget, the step-count and peak-memory promises on a long loop, and the errors.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ArgumentError, ShapeError, add, array, grad, jacrev, jvp, linspace, memory, mul, optimalAdvances,
  revolveSchedule, scan, scheduleStats, sin, sum, tidy, uniformSchedule, valueAndGrad, vjp, zeros,
  type ScanOptions, type Tensor,
} from './helpers/api.js';
import { expectClose } from './helpers/check.js';
import { expectMemoryRestored } from './helpers/memory.js';
import { simulateSchedule } from './helpers/schedule.js';

expectMemoryRestored();

describe('the Revolve schedule (pure logic)', () => {
  it('advances exactly t = r*l - C(s+r, s+1) steps for every s in 1..12 and l in 1..300', () => {
    for (let s = 1; s <= 12; s++) {
      for (let l = 1; l <= 300; l++) {
        const stats = scheduleStats(revolveSchedule(l, s));
        if (stats.advances !== optimalAdvances(l, s) || stats.turns !== l || stats.peakSlots > s) {
          expect({ s, l, ...stats }).toEqual({ s, l, advances: optimalAdvances(l, s), turns: l, peakSlots: Math.min(s, l) });
        }
      }
    }
  });

  it('is a valid schedule: each step turned once, in reverse order, from its own state', () => {
    for (const [l, s] of [[1, 1], [2, 1], [7, 1], [10, 2], [50, 3], [300, 5], [1000, 10], [64, 64], [65, 64]]) {
      const turns = simulateSchedule(revolveSchedule(l, s)).turns;
      expect(turns).toEqual(Array.from({ length: l }, (_, i) => l - 1 - i));
    }
    const first = revolveSchedule(5, 2).filter((a) => a.kind === 'firsturn');
    expect(first).toEqual([{ kind: 'firsturn', step: 4 }]);
  });

  it('matches the optimum found by dynamic programming over all first snapshot positions', () => {
    const L = 80;
    const S = 6;
    // cost[s][m]: fewest advances reversing m steps with s slots (the start's included).
    const cost = Array.from({ length: S + 1 }, () => new Array<number>(L + 1).fill(0));
    for (let s = 1; s <= S; s++) {
      for (let m = 2; m <= L; m++) {
        if (s === 1) cost[s][m] = (m * (m - 1)) / 2;
        else {
          let best = Infinity;
          for (let j = 1; j < m; j++) best = Math.min(best, j + cost[s - 1][m - j] + cost[s][j]);
          cost[s][m] = best;
        }
        expect(optimalAdvances(m, s), `s=${s} l=${m}`).toBe(cost[s][m]);
      }
    }
  });

  it('gives the known counts: s = 1 is l(l-1)/2, l = 10000 with s = 10 is 57624, s >= l is l - 1', () => {
    expect(optimalAdvances(100, 1)).toBe(4950);
    expect(optimalAdvances(10000, 10)).toBe(57624);
    expect(optimalAdvances(50, 50)).toBe(49);
    expect(optimalAdvances(50, 500)).toBe(49);
    expect(scheduleStats(revolveSchedule(10000, 10))).toEqual({ advances: 57624, turns: 10000, peakSlots: 10 });
  });

  it('the uniform schedule keeps ceil(l/k) + k - 2 slots and advances about 2l steps', () => {
    for (const l of [1, 2, 3, 10, 99, 100, 101, 1000]) {
      const actions = uniformSchedule(l);
      expect(simulateSchedule(actions).turns).toEqual(Array.from({ length: l }, (_, i) => l - 1 - i));
      const k = Math.ceil(Math.sqrt(l));
      const stats = scheduleStats(actions);
      expect(stats.peakSlots).toBeLessThanOrEqual(Math.max(1, Math.ceil(l / k) + k - 2));
      expect(stats.advances).toBeLessThan(2 * l);
    }
    expect(scheduleStats(uniformSchedule(1000))).toEqual({ advances: 1960, turns: 1000, peakSlots: 61 });
  });

  it('rejects impossible sizes', () => {
    expect(() => revolveSchedule(10, 0)).toThrow(/snapshots must be an integer >= 1/);
    expect(() => revolveSchedule(-1, 2)).toThrow(/non-negative integer/);
    expect(revolveSchedule(0, 3)).toEqual([]);
  });
});

describe('scan: the loop', () => {
  it('carries and stacks: carries 1, 3, 6, 10 give ys 2, 6, 12, 20', () => {
    tidy(() => {
      const [c, ys] = scan((carry: Tensor, x: Tensor) => {
        const next = add(carry, x);
        return [next, mul(next, 2)];
      }, array(0), array([1, 2, 3, 4]));
      expect(c.item()).toBe(10);
      expect((ys as Tensor).toArray()).toEqual([2, 6, 12, 20]);
    });
  });

  it('loops {length: n} times with x = null and returns ys = null when y is null', () => {
    tidy(() => {
      const seen: unknown[] = [];
      const [c, ys] = scan((carry: Tensor, x: null) => {
        seen.push(x);
        return [mul(carry, 2), null];
      }, array(1), { length: 5 });
      expect(c.item()).toBe(32);
      expect(ys).toBeNull();
      expect(seen).toEqual([null, null, null, null, null]);
    });
  });

  it('takes trees for the carry, xs and y; ys stack each y leaf along a new leading axis', () => {
    tidy(() => {
      type C = { a: Tensor; b: Tensor[] };
      type X = { u: Tensor; v: Tensor };
      const xs = { u: array([[1, 2], [3, 4], [5, 6]]), v: array([10, 20, 30]) };
      const [c, ys] = scan((carry: C, x: X) => {
        const a = add(carry.a, x.u);
        return [{ a, b: [add(carry.b[0], x.v)] }, [a, { s: sum(a) }]];
      }, { a: zeros([2]), b: [array(0)] }, xs);
      expect(c.a.toArray()).toEqual([9, 12]);
      expect(c.b[0].item()).toBe(60);
      const [as, { s }] = ys as [Tensor, { s: Tensor }];
      expect(as.shape).toEqual([3, 2]);
      expect(as.toArray()).toEqual([[1, 2], [4, 6], [9, 12]]);
      expect(s.toArray()).toEqual([3, 10, 21]);
    });
  });

  it('returns init and null for zero steps', () => {
    tidy(() => {
      let calls = 0;
      const init = array([1, 2]);
      const [c, ys] = scan((carry: Tensor) => (calls++, [carry, null]), init, { length: 0 });
      expect(c).toBe(init);
      expect(ys).toBeNull();
      expect(calls).toBe(0);
    });
  });

  it('frees the states it drops: a long plain loop peaks at a few states', () => {
    tidy(() => {
      const h0 = linspace(-1, 1, 1000);
      memory({ resetPeak: true });
      const base = memory().bytesInUse;
      const [c] = scan((h: Tensor) => [sin(h).mul(0.5).add(h), null], h0, { length: 1000 });
      const states = (memory().peakBytes - base) / 8192;
      expect(states).toBeLessThan(6);
      c.dispose();
    });
  });
});

describe('scan: gradients', () => {
  // h_{t+1} = 0.5 h_t + x_t: d h_l / d h_0 = 0.5^l and d h_l / d x_t = 0.5^(l-1-t), exactly.
  const linear = (h: Tensor, x: Tensor) => [add(mul(h, 0.5), x), null] as const;
  const xs20 = linspace(0, 1, 20);

  it('the linear recurrence has exact gradients with and without a budget', () => {
    tidy(() => {
      for (const options of [{}, { checkpoints: 1 }, { checkpoints: 3 }, { checkpoints: 20 }, { schedule: 'uniform' }] as ScanOptions[]) {
        const [gh, gx] = grad((h: Tensor, x: Tensor) => scan(linear, h, x, options)[0], { argnums: [0, 1] })(array(1), xs20) as Tensor[];
        expect(gh.item()).toBe(0.5 ** 20);
        expect(gx.toArray()).toEqual(Array.from({ length: 20 }, (_, t) => 0.5 ** (19 - t)));
      }
      const [, dh] = jvp((h: Tensor) => scan(linear, h, xs20)[0], [1], [1]) as [Tensor, Tensor];
      expect(dh.item()).toBe(0.5 ** 20);
    });
  });

  type C = { h: Tensor; w: Tensor };
  const step = (c: C, x: { a: Tensor; b: Tensor }) => {
    const h = sin(c.h).mul(c.w).add(mul(x.a, x.b));
    return [{ h, w: c.w }, [sum(mul(h, h)), h]] as const;
  };
  const loss = (options: ScanOptions) => (init: C, xs: { a: Tensor; b: Tensor }) => {
    const [c, [energies, hs]] = scan(step, init, xs, options);
    return sum(c.h).add(sum(energies)).add(sum(mul(hs, 0.25)));
  };
  const init = { h: linspace(-1, 1, 4), w: array([0.9, 1.1, 1.0, 0.8]) };
  const xs = { a: linspace(0, 0.5, 24).reshape([6, 4]), b: linspace(1, 2, 6) .reshape([6, 1]).mul(array([1, 1, 1, 1])) };

  it('checkpointed gradients equal the taped ones for trees, parameters in the carry, ys and differentiated xs', () => {
    tidy(() => {
      const [refValue, ref] = valueAndGrad(loss({}), { argnums: [0, 1] })(init, xs) as [Tensor, [C, { a: Tensor; b: Tensor }]];
      for (const options of [{ checkpoints: 1 }, { checkpoints: 2 }, { checkpoints: 4 }, { schedule: 'uniform' }, { memory: '1MB' }] as ScanOptions[]) {
        const [value, g] = valueAndGrad(loss(options), { argnums: [0, 1] })(init, xs) as [Tensor, [C, { a: Tensor; b: Tensor }]];
        expect(value.item()).toBe(refValue.item());
        expectClose(g[0].h.data(), ref[0].h.data(), 1e-14);
        expectClose(g[0].w.data(), ref[0].w.data(), 1e-14);
        expectClose(g[1].a.data(), ref[1].a.data(), 1e-14);
        expectClose(g[1].b.data(), ref[1].b.data(), 1e-14);
      }
    });
  });

  it('pulls back k > 1 rows at once (jacrev) and lets vjp\'s pullback run twice', () => {
    tidy(() => {
      const f = (options: ScanOptions) => (h: Tensor) => scan((c: Tensor, x: Tensor) => [sin(c).add(x), c], h, linspace(0, 1, 9), options)[1] as Tensor;
      const ref = jacrev(f({}))(linspace(0, 1, 3)) as Tensor;
      expect(ref.shape).toEqual([9, 3, 3]);
      expectClose((jacrev(f({ checkpoints: 3 }), { chunkSize: 5 })(linspace(0, 1, 3)) as Tensor).data(), ref.data(), 1e-14, 1e-15);
      const [, pullback] = vjp(f({ checkpoints: 2 }), linspace(0, 1, 3));
      const u = linspace(-1, 1, 27).reshape([9, 3]);
      const first = pullback(u)[0] as Tensor;
      const second = pullback(u)[0] as Tensor;
      expect(Array.from(second.data())).toEqual(Array.from(first.data()));
    });
  });

  it('works inside grad of grad and jvp of grad (the replayed steps stay differentiable)', () => {
    tidy(() => {
      const f = (options: ScanOptions) => (w: Tensor) => sum(scan((c: C, x: Tensor) => [{ h: sin(c.h).mul(c.w).add(x), w: c.w }, null], { h: array([0.3, 0.6]), w }, linspace(0, 1, 7), options)[0].h);
      const w0 = array([0.9, 1.2]);
      const gg = (options: ScanOptions) => grad((w: Tensor) => sum(grad(f(options))(w)))(w0) as Tensor;
      expectClose(gg({ checkpoints: 2 }).data(), gg({}).data(), 1e-13);
      const hv = (options: ScanOptions) => jvp(grad(f(options)), [w0], [array([1, -1])])[1] as Tensor;
      expectClose(hv({ checkpoints: 3 }).data(), hv({}).data(), 1e-13);
    });
  });

  it('under grad of grad, keeps the states an enclosing tape recorded (a carry leaf that stays concrete)', () => {
    tidy(() => {
      // k never depends on w or h0, so its states are concrete; the outer tape records them
      // when the inner backward replays h' = sin(h) w k, and they must outlive the scan.
      type K = { h: Tensor; k: Tensor; w: Tensor };
      const inner = (options: ScanOptions) => (w: Tensor) => grad((h0: Tensor) => sum(scan((c: K) => [{ h: sin(c.h).mul(c.w).mul(c.k), k: mul(c.k, 0.5).add(1), w: c.w }, null],
        { h: h0, k: array([1, 2]), w }, { length: 9 }, options)[0].h))(array([0.1, 0.2])) as Tensor;
      const outer = (options: ScanOptions) => grad((w: Tensor) => sum(inner(options)(w)))(array([0.7, 0.9])) as Tensor;
      expectClose(outer({ checkpoints: 2 }).data(), outer({}).data(), 1e-13);
    });
  });

  it('runs the step l + t + 1 times for each budget, as the schedule promises', () => {
    tidy(() => {
      let calls = 0;
      const counted = (h: Tensor, x: Tensor) => (calls++, [sin(h).add(x), null] as const);
      const l = 100;
      const x = linspace(0, 1, l);
      for (const s of [1, 2, 3, 5, 10, 100]) {
        calls = 0;
        grad((h: Tensor) => scan(counted, h, x, { checkpoints: s })[0])(0.5);
        expect(calls, `s = ${s}`).toBe(l + optimalAdvances(l, s) + 1);
      }
      calls = 0;
      grad((h: Tensor) => scan(counted, h, x, { schedule: 'uniform' })[0])(0.5);
      expect(calls).toBe(l + scheduleStats(uniformSchedule(l)).advances + 1);
      calls = 0;
      grad((h: Tensor) => scan(counted, h, x)[0])(0.5);
      expect(calls).toBe(l);
    });
  });

  it('converts a byte budget to snapshots after measuring one step', () => {
    tidy(() => {
      let calls = 0;
      const counted = (h: Tensor, x: Tensor) => (calls++, [sin(h).mul(0.5).add(x), null] as const);
      const h0 = linspace(-1, 1, 1000);
      const l = 60;
      const x = linspace(0, 1, l);
      const state = 8192;
      const tape = tidy(() => {
        const before = memory().bytesInUse;
        vjp((h: Tensor) => counted(h, array(0.5))[0], h0);
        return memory().bytesInUse - before;
      });
      const budget = tape + 6.5 * state;
      calls = 0;
      grad((h: Tensor) => sum(scan(counted, h, x, { memory: budget })[0]))(h0);
      // s = floor((budget - tape) / state) = 6, give or take the measurement of the tape.
      expect(calls).toBeGreaterThanOrEqual(l + optimalAdvances(l, 7) + 1);
      expect(calls).toBeLessThanOrEqual(l + optimalAdvances(l, 5) + 1);
      for (const big of ['64MB', 64 * 1024 * 1024, '65536 KiB']) {
        calls = 0;
        grad((h: Tensor) => sum(scan(counted, h, x, { memory: big })[0]))(h0);
        expect(calls).toBe(l + (l - 1) + 1);
      }
    });
  });
});

describe('scan: a 10,000-step loop over 1,000 float64 values with 10 snapshots', () => {
  const l = 10000;
  const s = 10;
  const stateBytes = 8192; // 1000 float64 values, in the allocator's size class
  let calls = 0;
  const step = (h: Tensor, x: Tensor) => {
    calls++;
    return [add(mul(h, 0.999), mul(sin(h), 0.001)).add(x), null] as const;
  };
  const result = { relError: Infinity, calls: 0, peak: Infinity, tape: 0 };

  beforeAll(() => {
    tidy(() => {
      const xs = linspace(0, 1e-3, l);
      const h0 = linspace(-1, 1, 1000);
      result.tape = tidy(() => {
        const before = memory().bytesInUse;
        vjp((h: Tensor) => step(h, array(0.5))[0], h0);
        return memory().bytesInUse - before;
      });
      calls = 0;
      memory({ resetPeak: true });
      const base = memory().bytesInUse;
      const g = grad((h: Tensor) => sum(scan(step, h, xs, { checkpoints: s })[0]))(h0) as Tensor;
      result.peak = memory().peakBytes - base;
      result.calls = calls;
      const ref = tidy(() => grad((h: Tensor) => sum(scan(step, h, xs)[0]))(h0) as Tensor);
      const a = g.data();
      const b = ref.data();
      result.relError = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]) / Math.abs(b[i])));
    });
  }, 120_000);

  it('reproduces the un-checkpointed gradient to 1e-12 relative', () => {
    expect(result.relError).toBeLessThan(1e-12);
  });

  it('calls step at most l + t + 1 times, t = r*l - C(s+r, s+1) = 57624', () => {
    expect(optimalAdvances(l, s)).toBe(57624);
    expect(result.calls).toBeLessThanOrEqual(l + 57624 + 1);
    expect(result.calls).toBe(l + 57624 + 1);
  });

  it('peaks below (s + 3) states plus one step\'s tape', () => {
    expect(result.tape).toBeGreaterThan(4 * stateBytes);
    expect(result.peak).toBeLessThan((s + 3) * stateBytes + result.tape);
  });
});

describe('scan: errors', () => {
  it('a byte budget too small for one state plus one step\'s tape says so, with the numbers', () => {
    tidy(() => {
      const f = (h: Tensor) => sum(scan((c: Tensor) => [sin(c).mul(2), null], h, { length: 10 }, { memory: '16KB' })[0]);
      expect(() => grad(f)(linspace(0, 1, 1000))).toThrow(ArgumentError);
      expect(() => grad(f)(linspace(0, 1, 1000))).toThrow(
        /memory budget of 16KB \(16384 bytes\) cannot hold one carry state \(8192 bytes\) plus one step's tape \(\d+ bytes, measured on step 0\); it needs at least \d+ bytes/);
    });
  });

  it('rejects bad budgets and options', () => {
    tidy(() => {
      const run = (options: ScanOptions) => () => scan((c: Tensor) => [c, null], array(1), { length: 3 }, options);
      expect(run({ checkpoints: 0 })).toThrow(/checkpoints must be an integer >= 1 \(the initial state counts as one snapshot\), got 0/);
      expect(run({ checkpoints: 2.5 })).toThrow(/got 2.5/);
      expect(run({ checkpoints: 2, memory: '1MB' })).toThrow(/either \{checkpoints\} or \{memory\}/);
      expect(run({ memory: 'lots' })).toThrow(/'64MB' or '512KB', got "lots"/);
      expect(run({ memory: -5 })).toThrow(/positive number of bytes/);
      expect(run({ schedule: 'revolve' })).toThrow(/revolve schedule needs a budget/);
      expect(run({ schedule: 'binomial' as 'revolve' })).toThrow(/'revolve' or 'uniform'/);
      expect(run({ snapshots: 3 } as ScanOptions)).toThrow(/unknown option 'snapshots'/);
    });
  });

  it('the uniform schedule refuses a snapshot budget it cannot keep', () => {
    tidy(() => {
      expect(() => grad((h: Tensor) => scan((c: Tensor) => [sin(c), null], h, { length: 100 }, { schedule: 'uniform', checkpoints: 5 })[0])(1))
        .toThrow(/uniform schedule for 100 steps holds up to 18 snapshots but the budget allows 5/);
    });
  });

  it('the carry must keep its structure, shapes and dtypes; y must keep its layout', () => {
    tidy(() => {
      expect(() => scan((c: Tensor) => [array([1, 2, 3]), null], array([1, 2]), { length: 2 })).toThrow(ShapeError);
      expect(() => scan((c: Tensor) => [array([1, 2, 3]), null], array([1, 2]), { length: 2 }))
        .toThrow(/step 0 returned carry leaf 0 as \[3\] \(float64\) but init has \[2\] \(float64\)/);
      const nested = (c: Tensor) => [[c], null];
      expect(() => scan(nested as unknown as (c: Tensor) => [Tensor, null], array(1), { length: 2 })).toThrow(/tree structure differs from init's/);
      let i = 0;
      expect(() => scan((c: Tensor) => [c, i++ === 0 ? array([1]) : array([1, 2])], array(1), { length: 3 }))
        .toThrow(/step 1 returned y as \[2\] \(float64\) but step 0 returned \[1\] \(float64\)/);
      expect(() => scan(((c: Tensor) => c) as unknown as (c: Tensor) => [Tensor, null], array(1), { length: 2 })).toThrow(/must return \[carry, y\]/);
    });
  });

  it('xs leaves must share their leading axis', () => {
    tidy(() => {
      const step = (c: Tensor) => [c, null] as const;
      expect(() => scan(step, array(0), [zeros([3]), zeros([4])])).toThrow(/leading axes 3, 4/);
      expect(() => scan(step, array(0), [5])).toThrow(/leading axis to scan over, got a number/);
      expect(() => scan(step, array(0), [])).toThrow(/pass \{length: n\}/);
      expect(() => scan(step, array(0), { length: -1 })).toThrow(/non-negative integer/);
    });
  });

  it('with a budget, a closure over a value being differentiated gets the taped loop\'s gradient (see scan-closures.test.ts)', () => {
    tidy(() => {
      const f = (options: ScanOptions) => (w: Tensor) => sum(scan((h: Tensor) => [mul(sin(h), w), null], mul(w, 0.5), { length: 4 }, options)[0]);
      expectClose(grad(f({ checkpoints: 2 }))(array([1, 2])).data(), grad(f({}))(array([1, 2])).data(), 1e-14);
      // A constant init and a closed-over parameter.
      const g = (options: ScanOptions) => (w: Tensor) => sum(scan((h: Tensor) => [mul(sin(h), w), null], array([0.5, 1]), { length: 4 }, options)[0]);
      expectClose(grad(g({ memory: '1MB' }))(array([1, 2])).data(), grad(g({}))(array([1, 2])).data(), 1e-14);
      // A carry leaf that stays concrete is recorded by grad's tape when the step mixes it with
      // the closed-over parameter; the plain loop must not free it.
      const mixed = grad((w: Tensor) => sum(scan((c: { h: Tensor; k: Tensor }) => [{ h: sin(c.h).mul(w).mul(c.k), k: mul(c.k, 0.5).add(1) }, null],
        { h: array([0.5, 1]), k: array([1, 2]) }, { length: 4 })[0].h))(array([1, 2])) as Tensor;
      const mixedCarry = grad((w: Tensor) => sum(scan((c: { h: Tensor; k: Tensor; w: Tensor }) => [{ h: sin(c.h).mul(c.w).mul(c.k), k: mul(c.k, 0.5).add(1), w: c.w }, null],
        { h: array([0.5, 1]), k: array([1, 2]), w }, { length: 4 }, { checkpoints: 2 })[0].h))(array([1, 2])) as Tensor;
      expectClose(mixed.data(), mixedCarry.data(), 1e-14);
      const viaCarry = grad((w: Tensor) => sum(scan((c: C) => [{ h: mul(sin(c.h), c.w), w: c.w }, null], { h: array([0.5, 1]), w }, { length: 4 }, { checkpoints: 2 })[0].h))(array([1, 2])) as Tensor;
      expectClose(viaCarry.data(), (grad(g({}))(array([1, 2])) as Tensor).data(), 1e-14);
    });
  });
});

type C = { h: Tensor; w: Tensor };
