// The shared derivative checker for tests: every rule is compared with central finite
// differences in float64 (forward mode) and reverse mode with forward mode through the
// inner-product identity <u, J v> = <J^T u, v>, at random directions.
import { expect } from 'vitest';
import { array, fusedKernels, jvp, vjp, tidy, seededUniformForTests, type Tensor } from './api.js';

type Fn = (...xs: Tensor[]) => Tensor;

function perturb(x: Tensor, v: Float64Array, h: number): Tensor {
  const data = Float64Array.from(x.data(), (d, i) => d + h * v[i]);
  return array(data, { shape: x.shape as number[], dtype: x.dtype });
}

function dotData(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export interface CheckOptions {
  /** Relative tolerance against finite differences (default 1e-6). */
  rtol?: number;
  /** Seed for the random directions. */
  seed?: number;
  /** Finite-difference step (default 1e-5, scaled by the input's magnitude). */
  eps?: number;
}

/** jvp with the fused forward kernels on (the default) or off (every op runs its rule). */
export function jvpWith(fused: boolean, f: Fn, args: Tensor[], tangents: Tensor[]): [Tensor, Tensor] {
  fusedKernels.enabled = fused;
  try {
    return jvp(f, args, tangents) as [Tensor, Tensor];
  } finally {
    fusedKernels.enabled = true;
  }
}

/**
 * Checks f's jvp against central differences of f in a random direction, both through the
 * fused forward kernels and through the jvp rules alone, and f's vjp (fused and rules) against
 * its jvp by <u, J v> = <J^T u, v>.
 */
export function checkGrads(f: Fn, args: Tensor[], options: CheckOptions = {}): void {
  const rtol = options.rtol ?? 1e-6;
  const rand = seededUniformForTests(options.seed ?? 1);
  tidy(() => {
    const vs = args.map((x) => Float64Array.from({ length: x.size }, () => rand() * 2 - 1));
    const tangents = args.map((x, i) => array(vs[i], { shape: x.shape as number[], dtype: x.dtype }));
    const [y, dy] = jvpWith(true, f, args, tangents);
    const [, dyRules] = jvpWith(false, f, args, tangents);
    // Richardson-extrapolated central difference: error O(h^4), so 1e-6 is reachable in f64.
    const scale = Math.max(1, ...args.flatMap((x) => Array.from(x.data(), Math.abs)));
    const h = (options.eps ?? 1e-3) * scale;
    const diff = (step: number) => {
      const plus = f(...args.map((x, i) => perturb(x, vs[i], step))).data();
      const minus = f(...args.map((x, i) => perturb(x, vs[i], -step))).data();
      return Float64Array.from(plus, (p, i) => (p - minus[i]) / (2 * step));
    };
    const d1 = diff(h);
    const d2 = diff(h / 2);
    const fd = Float64Array.from(d1, (a, i) => (4 * d2[i] - a) / 3);
    const got = dy.data();
    for (const [path, tangent] of [['fused', got], ['rules', dyRules.data()]] as const) {
      expect(tangent.length).toBe(fd.length);
      const norm = Math.max(1e-12, ...Array.from(fd, Math.abs), ...Array.from(tangent, Math.abs));
      for (let i = 0; i < fd.length; i++) {
        // Both infinite with the same sign, or both NaN, agree; anything else is compared.
        if (Object.is(fd[i], tangent[i]) || (Number.isNaN(fd[i]) && Number.isNaN(tangent[i]))) continue;
        expect(Math.abs(tangent[i] - fd[i]) / norm, `jvp (${path}) vs finite differences at output ${i}: ${tangent[i]} vs ${fd[i]}`).toBeLessThan(rtol);
      }
    }
    // Reverse against forward: <u, J v> = <J^T u, v>.
    // Both through the fused cotangent kernels and through the vjp rules alone.
    const u = Float64Array.from({ length: y.size }, () => rand() * 2 - 1);
    const lhs = dotData(u, got);
    for (const fused of [true, false]) {
      fusedKernels.enabled = fused;
      try {
        const [, pullback] = vjp(f, ...args);
        const cts = pullback(array(u, { shape: y.shape as number[], dtype: y.dtype })) as Tensor[];
        const rhs = cts.reduce((acc, c, i) => acc + dotData(c.data(), vs[i]), 0);
        expect(Math.abs(lhs - rhs) / Math.max(1e-12, Math.abs(lhs), Math.abs(rhs)), `<u, Jv> = ${lhs} vs <J^T u, v> = ${rhs} (${fused ? 'fused' : 'rules'})`).toBeLessThan(1e-10);
      } finally {
        fusedKernels.enabled = true;
      }
    }
  });
}

/** Relative closeness of two arrays of numbers. */
export function expectClose(actual: ArrayLike<number> | number, expected: ArrayLike<number> | number, rtol = 1e-12, atol = 0): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : Array.from(expected);
  expect(a.length).toBe(e.length);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(e[i])) {
      expect(a[i]).toBeNaN();
      continue;
    }
    if (!Number.isFinite(e[i])) {
      expect(a[i], `element ${i}`).toBe(e[i]);
      continue;
    }
    const tol = atol + rtol * Math.abs(e[i]);
    expect(Math.abs(a[i] - e[i]), `element ${i}: ${a[i]} vs ${e[i]}`).toBeLessThanOrEqual(tol);
  }
}
