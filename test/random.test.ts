// uniform, bernoulli, randint and permutation: the seeded generator of randn (sfc32 seeded by splitmix32), checked
// against a reference written here with BigInt arithmetic, then for range and moments.
import { describe, expect, it } from 'vitest';
import { ArgumentError, DTypeError, bernoulli, memory, randn, tidy, uniform } from './helpers/api.js';
import * as api from './helpers/api.js';

/** splitmix32 and sfc32 as their authors define them, in BigInt arithmetic modulo 2^32. */
function referenceUniform(seed: number): () => number {
  const M = 0xffffffffn;
  let s = BigInt(seed) & M;
  const mul = (x: bigint, y: bigint) => (x * y) & M;
  const splitmix = () => {
    s = (s + 0x9e3779b9n) & M;
    let z = s;
    z = mul(z ^ (z >> 16n), 0x85ebca6bn);
    z = mul(z ^ (z >> 13n), 0xc2b2ae35n);
    return z ^ (z >> 16n);
  };
  let a = splitmix(), b = splitmix(), c = splitmix(), d = splitmix();
  const sfc32 = () => {
    const t = (a + b + d) & M;
    d = (d + 1n) & M;
    a = b ^ (b >> 9n);
    b = (c + (c << 3n)) & M;
    c = ((c << 21n) | (c >> 11n)) & M;
    c = (c + t) & M;
    return t;
  };
  for (let i = 0; i < 12; i++) sfc32();
  // 53 random bits: the top 27 of one draw and the top 26 of the next.
  return () => Number(((sfc32() >> 5n) << 26n) | (sfc32() >> 6n)) / 2 ** 53;
}

const seeds = [0, 1, 42, 123456789, 2 ** 32 - 1, -5];

describe('uniform', () => {
  it('gives the reference generator\'s doubles for every seed (default range [0, 1))', () => {
    for (const seed of seeds) {
      const ref = referenceUniform(seed);
      const expected = Array.from({ length: 50 }, ref);
      expect(Array.from(uniform([50], { seed }).data())).toEqual(expected);
    }
  });

  it('scales to [low, high) as low + (high - low) u', () => {
    const ref = referenceUniform(9);
    const expected = Array.from({ length: 20 }, () => -3 + 5 * ref());
    expect(Array.from(uniform([4, 5], { seed: 9, low: -3, high: 2 }).data())).toEqual(expected);
  });

  it('rounds the float64 values to float32 for dtype float32', () => {
    const ref = referenceUniform(4);
    const x = uniform([30], { seed: 4, dtype: 'float32', low: 1, high: 3 });
    expect(x.dtype).toBe('float32');
    expect(Array.from(x.data())).toEqual(Array.from({ length: 30 }, () => Math.fround(1 + 2 * ref())));
  });

  it('is reproducible: the same seed gives the same values, another seed others', () => {
    const a = uniform([200], { seed: 3 }).data();
    expect(Array.from(uniform([200], { seed: 3 }).data())).toEqual(Array.from(a));
    expect(Array.from(uniform([200], { seed: 4 }).data())).not.toEqual(Array.from(a));
    expect(Array.from(uniform([5]).data())).toEqual(Array.from(uniform([5], { seed: 0 }).data()));
  });

  it('stays in [low, high) in float64 and float32', () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const x = Array.from(uniform([20000], { seed: 8, low: -2, high: 0.5, dtype }).data());
      expect(Math.min(...x)).toBeGreaterThanOrEqual(-2);
      expect(Math.max(...x)).toBeLessThan(0.5);
    }
  });

  it('keeps values that round onto high or below low inside the range', () => {
    // A range eight float32 numbers wide whose low lies above its float32 rounding
    // (fround(0.7) < 0.7): plain rounding of low + (high - low) u falls outside at both ends.
    const low = 0.7, high = 0.7 + 5e-7, n = 5000;
    const ref = referenceUniform(2);
    const rounded = Array.from({ length: n }, () => Math.fround(low + (high - low) * ref()));
    expect(rounded.some((v) => v < low)).toBe(true);
    expect(rounded.some((v) => v >= high)).toBe(true);
    const x = Array.from(uniform([n], { seed: 2, low, high, dtype: 'float32' }).data());
    for (const v of x) {
      expect(v).toBeGreaterThanOrEqual(low);
      expect(v).toBeLessThan(high);
      expect(Math.fround(v)).toBe(v);
    }
    expect(new Set(x).size).toBeGreaterThan(1);
  });

  it('has the mean (low + high) / 2 and variance (high - low)^2 / 12 within 5 standard errors', () => {
    const n = 100000, low = -1, high = 3;
    const x = uniform([n], { seed: 17, low, high }).data();
    let mean = 0;
    for (const v of x) mean += v / n;
    let variance = 0;
    for (const v of x) variance += (v - mean) ** 2 / (n - 1);
    const sigma2 = (high - low) ** 2 / 12;
    expect(Math.abs(mean - (low + high) / 2)).toBeLessThan(5 * Math.sqrt(sigma2 / n));
    // The sample variance of a uniform has variance (mu4 - sigma^4) / n, mu4 = (high - low)^4 / 80.
    expect(Math.abs(variance - sigma2)).toBeLessThan(5 * Math.sqrt(((high - low) ** 4 / 80 - sigma2 ** 2) / n));
  });

  it('passes a Kolmogorov-Smirnov test against the uniform distribution function', () => {
    const n = 20000;
    const x = Float64Array.from(uniform([n], { seed: 5 }).data()).sort();
    let d = 0;
    x.forEach((v, i) => (d = Math.max(d, (i + 1) / n - v, v - i / n)));
    expect(d).toBeLessThan(1.63 / Math.sqrt(n)); // the 1% critical value
  });

  it('draws from a different stream than randn gives normals from', () => {
    // randn turns pairs of the same doubles into normals by Box-Muller: its first value is
    // sqrt(-2 log u1) cos(2 pi u2) for uniform's first two values u1, u2.
    const [u1, u2] = uniform([2], { seed: 6 }).data();
    expect(randn([1], { seed: 6 }).item()).toBeCloseTo(Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2), 12);
  });

  it('refuses a bad range, seed or dtype with a message that names the problem', () => {
    expect(() => uniform([2], { low: 1, high: 1 })).toThrow(ArgumentError);
    expect(() => uniform([2], { low: 2, high: 1 })).toThrow(/^uniform: needs low < high with high - low finite, got low = 2 and high = 1/);
    expect(() => uniform([2], { low: -1e308, high: 1e308 })).toThrow(/high - low finite/);
    expect(() => uniform([2], { high: Infinity })).toThrow(/^uniform: high must be a finite number, got Infinity/);
    expect(() => uniform([2], { low: 1 + 1e-12, high: 1 + 2e-12, dtype: 'float32' })).toThrow(/^uniform: no float32 number lies in \[1\.000000000001, 1\.000000000002\); widen the range or use float64/);
    expect(() => uniform([2], { seed: 1.5 })).toThrow(/^uniform: seed must be an integer, got 1\.5/);
    expect(() => uniform([2], { dtype: 'int8' as 'float32' })).toThrow(DTypeError);
    expect(() => uniform([-1])).toThrow(/uniform/);
  });

  it('leaves no tensor behind under tidy', () => {
    const before = memory().tensors;
    tidy(() => { uniform([100], { seed: 1 }); bernoulli([100], 0.5, { seed: 1 }); });
    expect(memory().tensors).toBe(before);
  });
});

describe('bernoulli', () => {
  it('is 1 exactly where the reference generator\'s double is below p', () => {
    for (const seed of seeds) {
      const ref = referenceUniform(seed);
      const expected = Array.from({ length: 64 }, () => (ref() < 0.3 ? 1 : 0));
      expect(Array.from(bernoulli([8, 8], 0.3, { seed }).data())).toEqual(expected);
    }
  });

  it('gives only zeros for p = 0 and only ones for p = 1', () => {
    expect(Array.from(bernoulli([500], 0, { seed: 1 }).data()).every((v) => v === 0)).toBe(true);
    expect(Array.from(bernoulli([500], 1, { seed: 1 }).data()).every((v) => v === 1)).toBe(true);
  });

  it('has mean p within 5 standard errors, in float64 and float32', () => {
    const n = 100000;
    for (const [p, dtype] of [[0.1, 'float64'], [0.5, 'float32'], [0.93, 'float64']] as const) {
      const x = bernoulli([n], p, { seed: 21, dtype });
      expect(x.dtype).toBe(dtype);
      let mean = 0;
      for (const v of x.data()) mean += v / n;
      expect(Math.abs(mean - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    }
  });

  it('is reproducible by seed', () => {
    const a = Array.from(bernoulli([300], 0.5, { seed: 11 }).data());
    expect(Array.from(bernoulli([300], 0.5, { seed: 11 }).data())).toEqual(a);
    expect(Array.from(bernoulli([300], 0.5, { seed: 12 }).data())).not.toEqual(a);
  });

  it('refuses a p outside [0, 1] or not a number', () => {
    expect(() => bernoulli([2], 1.5)).toThrow(/^bernoulli: p must be a probability, a number in \[0, 1\], got 1\.5/);
    expect(() => bernoulli([2], NaN)).toThrow(ArgumentError);
    expect(() => bernoulli([2], '0.5' as unknown as number)).toThrow(/got string/);
    expect(() => bernoulli([2], 0.5, { seed: NaN })).toThrow(/^bernoulli: seed must be an integer/);
  });
});

describe('bernoulli with a tensor of probabilities', () => {
  const { array: arr, zeros: zs } = api;
  it('draws element i against its own p, broadcast to the shape', () => {
    tidy(() => {
      const p = arr([[0.2], [0.7]]);
      const ref = referenceUniform(5);
      const expected = Array.from({ length: 6 }, (_, i) => (ref() < (i < 3 ? 0.2 : 0.7) ? 1 : 0));
      expect(Array.from(bernoulli([2, 3], p, { seed: 5 }).data())).toEqual(expected);
      expect(Array.from(bernoulli([2, 3], arr([0, 1, 0]), { seed: 5 }).data())).toEqual([0, 1, 0, 0, 1, 0]);
    });
  });
  it('refuses probabilities outside [0, 1] and shapes that do not broadcast', () => {
    tidy(() => {
      expect(() => bernoulli([2], arr([0.5, 1.5]))).toThrow(/bernoulli: p must hold probabilities in \[0, 1\], got 1.5/);
      expect(() => bernoulli([2], zs([3]))).toThrow(api.ShapeError);
    });
  });
});

describe('randint', () => {
  const { randint } = api;
  /** The reference of randint: rejection on 53-bit draws of the reference generator. */
  const refRandint = (seed: number, n: number, low: number, high: number) => {
    const ref = referenceUniform(seed);
    const range = high - low, limit = 2 ** 53 - (2 ** 53 % range);
    return Array.from({ length: n }, () => {
      for (;;) {
        const x = ref() * 2 ** 53;
        if (x < limit) return low + (x % range);
      }
    });
  };
  it('gives int32 values in [low, high) that match the reference generator', () => {
    tidy(() => {
      for (const [low, high] of [[0, 10], [-5, 3], [-2147483648, 2147483647], [7, 8]]) {
        const x = randint([4, 5], low, high, { seed: 9 });
        expect(x.dtype).toBe('int32');
        expect(x.shape).toEqual([4, 5]);
        expect(Array.from(x.data())).toEqual(refRandint(9, 20, low, high));
      }
    });
  });
  it('is close to uniform: each of 6 values within 5 standard errors of n/6', () => {
    tidy(() => {
      const n = 60000;
      const counts = new Array(6).fill(0);
      for (const v of randint([n], 0, 6, { seed: 4 }).data()) counts[v]++;
      for (const c of counts) expect(Math.abs(c - n / 6)).toBeLessThan(5 * Math.sqrt(n * (1 / 6) * (5 / 6)));
    });
  });
  it('refuses low >= high and bounds outside int32', () => {
    expect(() => randint([2], 3, 3)).toThrow(/randint: needs low < high/);
    expect(() => randint([2], 0, 2 ** 40)).toThrow(api.ArgumentError);
    expect(() => randint([2], 0.5, 3)).toThrow(/low must be an integer/);
  });
});

describe('permutation', () => {
  const { permutation, array: arr } = api;
  it('of n is a shuffle of 0..n-1, reproducible by seed', () => {
    tidy(() => {
      const p = permutation(50, { seed: 2 });
      expect(p.dtype).toBe('int32');
      expect(Array.from(p.data()).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(Array.from(permutation(50, { seed: 2 }).data())).toEqual(Array.from(p.data()));
      expect(Array.from(permutation(50, { seed: 3 }).data())).not.toEqual(Array.from(p.data()));
      expect(permutation(0).shape).toEqual([0]);
    });
  });
  it('matches Fisher-Yates on the reference generator', () => {
    tidy(() => {
      const ref = referenceUniform(8);
      const perm = [0, 1, 2, 3, 4, 5, 6];
      for (let i = perm.length - 1; i > 0; i--) {
        const range = i + 1, limit = 2 ** 53 - (2 ** 53 % range);
        let j = -1;
        while (j < 0) {
          const x = ref() * 2 ** 53;
          if (x < limit) j = x % range;
        }
        [perm[i], perm[j]] = [perm[j], perm[i]];
      }
      expect(Array.from(permutation(7, { seed: 8 }).data())).toEqual(perm);
    });
  });
  it('of a tensor shuffles its rows with the same permutation', () => {
    tidy(() => {
      const x = arr([[1, 2], [3, 4], [5, 6], [7, 8]]);
      const order = Array.from(permutation(4, { seed: 6 }).data());
      expect(permutation(x, { seed: 6 }).toArray()).toEqual(order.map((i) => [2 * i + 1, 2 * i + 2]));
    });
  });
});
