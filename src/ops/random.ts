// Random integers from the seeded generator of randn and uniform (sfc32 seeded by splitmix32,
// 53-bit uniform doubles): randint and permutation. Only exact integer arithmetic on doubles
// is involved, so the same seed gives the same values in Node and every browser.
import { ArgumentError } from '../errors.js';
import { array, checkFits, seedOf, seededUniform } from '../tensor/create.js';
import { checkShape, sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { toTensor, type TensorLike } from './convert.js';
import { take } from './indexing.js';

const TWO_53 = 9007199254740992;

/**
 * Integers uniform in [0, range) (1 <= range <= 2^32), exactly: each 53-bit draw x = u 2^53 is
 * kept when below the largest multiple of range under 2^53 and reduced mod range, else redrawn
 * (fewer than one draw in 2^21 is).
 */
function integers(next: () => number, range: number): () => number {
  const limit = TWO_53 - (TWO_53 % range);
  return () => {
    for (;;) {
      const x = next() * TWO_53;
      if (x < limit) return x % range;
    }
  };
}

function checkInt32Bound(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x80000000) {
    throw new ArgumentError(`${op}: ${name} must be an integer from -2147483648 to 2147483648, got ${typeof v === 'number' ? v : typeof v}.`);
  }
  return v;
}

/**
 * int32 integers uniform in [low, high) (exactly uniform: rejection sampling, not a rounded
 * float), from the seeded generator (seed 0 when none is given).
 * @example randint([2, 3], 0, 10, {seed: 1}) // int32 values in 0..9
 */
export function randint(shape: readonly number[], low: number, high: number, options: { seed?: number } = {}): Tensor {
  const dims = checkShape('randint', shape);
  const lo = checkInt32Bound('randint', 'low', low), hi = checkInt32Bound('randint', 'high', high);
  if (!(hi > lo)) throw new ArgumentError(`randint: needs low < high, got low = ${low} and high = ${high}; the values are drawn from [low, high).`);
  if (hi - 1 > 0x7fffffff) throw new ArgumentError(`randint: high = ${high} would allow values beyond int32; the largest high is 2147483648.`);
  checkFits('randint', dims, 'int32');
  const draw = integers(seededUniform(seedOf('randint', options?.seed)), hi - lo);
  const values = new Int32Array(sizeOf(dims));
  for (let i = 0; i < values.length; i++) values[i] = lo + draw();
  return array(values, { shape: dims });
}

/**
 * A random permutation: of 0..n-1 as int32 for a number n, or of x's rows (along axis 0) for a
 * tensor. Fisher-Yates with randint's exact draws, from the seeded generator.
 * @example permutation(5, {seed: 3}) // int32, a shuffle of [0, 1, 2, 3, 4]
 * @example permutation(array([[1, 2], [3, 4], [5, 6]]), {seed: 3}) // the rows shuffled
 */
export function permutation(nOrX: number | TensorLike, options: { seed?: number } = {}): Tensor {
  const seed = seedOf('permutation', options?.seed);
  if (typeof nOrX === 'number') {
    if (!Number.isInteger(nOrX) || nOrX < 0 || nOrX > 0x7fffffff) throw new ArgumentError(`permutation: n must be a non-negative int32 integer, got ${nOrX}.`);
    checkFits('permutation', [nOrX], 'int32');
    const perm = new Int32Array(nOrX);
    for (let i = 0; i < nOrX; i++) perm[i] = i;
    const next = seededUniform(seed);
    for (let i = nOrX - 1; i > 0; i--) {
      const j = integers(next, i + 1)();
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    return array(perm);
  }
  const x = toTensor('permutation', nOrX);
  if (x.ndim === 0) throw new ArgumentError('permutation: a 0-d tensor has no rows to shuffle; give a number n or a tensor with at least one axis.');
  const perm = permutation(x.shape[0], { seed });
  return take(x, perm, 0);
}
