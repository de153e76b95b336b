// Shape primitives: reshape, transpose, broadcastTo, slice, pad, concat, stack, expandDims,
// squeeze. They are linear, so the rules are checked against finite differences, forward
// against reverse, and the layout kernels (strided copy, 2-D transpose, scatter) against a
// plain-JS reference at SIMD-awkward sizes, on contiguous, transposed and broadcast inputs.
import { describe, expect } from 'vitest';
import {
  array, broadcastTo, concat, exp, expandDims, grad, jacfwd, jacrev, mul, pad, reshape,
  seededUniformForTests, sin, slice, squeeze, stack, sum, transpose, zeros, type Tensor,
} from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { expectMemoryRestored, spec as tit } from './helpers/memory.js';

expectMemoryRestored();


type DType = 'float64' | 'float32';

function uniform(shape: number[], seed: number, dtype: DType = 'float64'): Tensor {
  const rand = seededUniformForTests(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return array(Float64Array.from({ length: n }, () => rand() * 4 - 2), { shape, dtype });
}

/** 0, 1, 2, ... in `shape` (exact in float32 too). */
function iota(shape: number[], dtype: DType = 'float64'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return array(Float64Array.from({ length: n }, (_, i) => i), { shape, dtype });
}

function expectFwdEqualsRev(f: (...xs: Tensor[]) => Tensor, args: Tensor[]): void {
  const argnums = args.map((_, i) => i);
  const rev = jacrev(f, { argnums })(...args) as Tensor[];
  const fwd = jacfwd(f, { argnums, chunkSize: 5 })(...args) as Tensor[];
  const outShape = f(...args).shape;
  rev.forEach((j, i) => {
    expect(j.shape).toEqual([...outShape, ...args[i].shape]);
    expect(Array.from(fwd[i].data())).toEqual(Array.from(j.data()));
  });
}

// Plain-JS references over row-major data.
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const stridesOf = (shape: number[]) => shape.map((_, i) => sizeOf(shape.slice(i + 1)));
function unravel(flat: number, shape: number[]): number[] {
  const strides = stridesOf(shape);
  return shape.map((d, i) => Math.floor(flat / strides[i]) % d);
}
const ravel = (idx: number[], shape: number[]) => idx.reduce((acc, v, i) => acc + v * stridesOf(shape)[i], 0);

function transposeRef(data: ArrayLike<number>, shape: number[], perm: number[]): number[] {
  const outShape = perm.map((p) => shape[p]);
  return Array.from({ length: data.length }, (_, f) => {
    const idx = unravel(f, outShape);
    const src = new Array<number>(shape.length);
    perm.forEach((p, i) => (src[p] = idx[i]));
    return data[ravel(src, shape)];
  });
}

function sliceRef(data: ArrayLike<number>, shape: number[], begin: number[], size: number[]): number[] {
  return Array.from({ length: sizeOf(size) }, (_, f) => data[ravel(unravel(f, size).map((v, i) => v + begin[i]), shape)]);
}

function padRef(data: ArrayLike<number>, shape: number[], widths: [number, number][]): number[] {
  const outShape = shape.map((d, i) => d + widths[i][0] + widths[i][1]);
  return Array.from({ length: sizeOf(outShape) }, (_, f) => {
    const idx = unravel(f, outShape).map((v, i) => v - widths[i][0]);
    return idx.every((v, i) => v >= 0 && v < shape[i]) ? data[ravel(idx, shape)] : 0;
  });
}

function broadcastRef(data: ArrayLike<number>, shape: number[], outShape: number[]): number[] {
  const lead = outShape.length - shape.length;
  return Array.from({ length: sizeOf(outShape) }, (_, f) => {
    const idx = unravel(f, outShape).slice(lead).map((v, i) => (shape[i] === 1 ? 0 : v));
    return data[ravel(idx, shape)];
  });
}

const perms3 = [[0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
const perms4 = [[3, 2, 1, 0], [0, 2, 3, 1], [1, 3, 0, 2]];

describe('shape rules against finite differences and forward against reverse', () => {
  tit('reshape (including -1 and to and from 0-d)', () => {
    checkGrads((x: Tensor) => reshape(x, [3, 4]), [uniform([2, 6], 1)]);
    checkGrads((x: Tensor) => sin(reshape(x, [-1, 2])), [uniform([2, 3, 2], 2)]);
    checkGrads((x: Tensor) => reshape(x, []), [uniform([1, 1], 3)]);
    checkGrads((x: Tensor) => mul(reshape(x, [1, 3]), reshape(x, [3, 1])), [uniform([3], 4)]);
    expectFwdEqualsRev((x: Tensor) => reshape(x, [4, 3]), [uniform([2, 6], 5)]);
  });

  for (const perm of [[1, 0], ...perms3]) {
    tit(`transpose with perm [${perm}]`, () => {
      const shape = perm.length === 2 ? [3, 4] : [2, 3, 4];
      checkGrads((x: Tensor) => transpose(x, perm), [uniform(shape, 6)]);
      checkGrads((x: Tensor) => exp(transpose(x, perm)), [uniform(shape, 7)]);
      expectFwdEqualsRev((x: Tensor) => transpose(x, perm), [uniform(shape, 8)]);
    });
  }
  tit('transpose of 4-D tensors and the default (reversed) permutation', () => {
    for (const perm of perms4) checkGrads((x: Tensor) => transpose(x, perm), [uniform([2, 3, 1, 2], 9)]);
    checkGrads((x: Tensor) => transpose(x), [uniform([2, 3, 4], 10)]);
    checkGrads((x: Tensor) => x.T, [uniform([3, 2], 11)]);
  });

  tit('broadcastTo: new leading axes and stretched size-1 axes', () => {
    checkGrads((x: Tensor) => broadcastTo(x, [2, 3]), [uniform([3], 12)]);
    checkGrads((x: Tensor) => broadcastTo(x, [2, 3, 4]), [uniform([3, 1], 13)]);
    checkGrads((x: Tensor) => broadcastTo(x, [4, 2]), [uniform([], 14)]);
    checkGrads((x: Tensor) => broadcastTo(x, [2, 2, 3]), [uniform([1, 1, 3], 15)]);
    checkGrads((x: Tensor) => mul(broadcastTo(x, [3, 3]), transpose(broadcastTo(x, [3, 3]))), [uniform([3], 16)]);
    expectFwdEqualsRev((x: Tensor) => broadcastTo(x, [2, 3, 4]), [uniform([3, 1], 17)]);
  });

  tit('slice: interior blocks, to-the-end sizes, and a slice of a slice', () => {
    checkGrads((x: Tensor) => slice(x, [1, 0, 2], [1, 2, 2]), [uniform([2, 3, 4], 18)]);
    checkGrads((x: Tensor) => slice(x, [1, 1], [-1, -1]), [uniform([3, 4], 19)]);
    checkGrads((x: Tensor) => slice(x, [2]), [uniform([5], 20)]);
    checkGrads((x: Tensor) => slice(slice(x, [1, 1], [3, 3]), [1, 0], [2, 2]), [uniform([5, 4], 21)]);
    expectFwdEqualsRev((x: Tensor) => slice(x, [0, 1, 1], [2, 2, 2]), [uniform([2, 3, 4], 22)]);
  });

  tit('pad: zero widths on some axes, asymmetric widths on others', () => {
    checkGrads((x: Tensor) => pad(x, [[1, 2]]), [uniform([3], 23)]);
    checkGrads((x: Tensor) => pad(x, [[0, 0], [2, 1], [1, 0]]), [uniform([2, 3, 2], 24)]);
    checkGrads((x: Tensor) => exp(pad(x, [[1, 1], [1, 1]])), [uniform([2, 2], 25)]);
    expectFwdEqualsRev((x: Tensor) => pad(x, [[1, 0], [0, 2]]), [uniform([2, 3], 26)]);
  });

  for (const axis of [0, 1, 2, -1]) {
    tit(`concat along axis ${axis}, with a differentiated and a constant operand`, () => {
      const shapeA = [2, 3, 2], shapeB = [2, 3, 2];
      const ax = (axis + 3) % 3;
      shapeB[ax] = ax + 1;
      checkGrads((a: Tensor, b: Tensor) => concat([a, b, a], axis), [uniform(shapeA, 27), uniform(shapeB, 28)]);
      const c = uniform(shapeB, 29);
      checkGrads((a: Tensor) => concat([c, a], axis), [uniform(shapeA, 30)]);
      expectFwdEqualsRev((a: Tensor, b: Tensor) => concat([a, b], axis), [uniform(shapeA, 31), uniform(shapeB, 32)]);
    });
  }

  for (const axis of [0, 1, 2, -1]) {
    tit(`stack along axis ${axis}`, () => {
      checkGrads((a: Tensor, b: Tensor) => stack([a, b, mul(a, b)], axis), [uniform([2, 3], 33), uniform([2, 3], 34)]);
      expectFwdEqualsRev((a: Tensor, b: Tensor) => stack([a, b], axis), [uniform([2, 3], 35), uniform([2, 3], 36)]);
    });
  }

  tit('expandDims and squeeze', () => {
    checkGrads((x: Tensor) => expandDims(x, 1), [uniform([2, 3], 37)]);
    checkGrads((x: Tensor) => expandDims(x, -1), [uniform([2, 3], 38)]);
    checkGrads((x: Tensor) => squeeze(x), [uniform([1, 3, 1, 2], 39)]);
    checkGrads((x: Tensor) => squeeze(x, [2]), [uniform([1, 3, 1, 2], 40)]);
    expectFwdEqualsRev((x: Tensor) => squeeze(expandDims(x, 0)), [uniform([2, 3], 41)]);
  });

  tit('second order through shape ops: grad of grad of sum(pad(x)^3 reshaped, transposed, sliced)', () => {
    const f = (x: Tensor) => {
      const y = transpose(reshape(pad(x, [[1, 0], [0, 1]]), [4, 3]));
      const s = slice(y, [0, 1], [2, 3]);
      return sum(mul(mul(s, s), s));
    };
    checkGrads((x: Tensor) => grad(f)(x) as Tensor, [uniform([3, 2], 42)]);
    checkGrads((x: Tensor) => grad((u: Tensor) => sum(mul(concat([u, u], 1), broadcastTo(u, [2, 3, 2]).reshape([3, 4]))))(x) as Tensor, [uniform([3, 2], 43)]);
  });
});

describe('values', () => {
  tit('reshape infers one -1, shares no state with later writes, and keeps the data order', () => {
    const x = iota([2, 3]);
    expect(reshape(x, [3, -1]).toArray()).toEqual([[0, 1], [2, 3], [4, 5]]);
    expect(reshape(x, [-1]).shape).toEqual([6]);
    expect(reshape(array(5), [1, 1]).toArray()).toEqual([[5]]);
    expect(reshape(zeros([0, 3]), [3, 0]).shape).toEqual([3, 0]);
    expect(x.reshape([6]).toArray()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  tit('slice, pad, concat, stack, expandDims and squeeze give NumPy\'s values', () => {
    const x = iota([3, 4]);
    expect(slice(x, [1, 1], [2, 2]).toArray()).toEqual([[5, 6], [9, 10]]);
    expect(slice(x, [0, 3], [-1, -1]).toArray()).toEqual([[3], [7], [11]]);
    expect(slice(x, [1, 0], [0, 4]).shape).toEqual([0, 4]);
    expect(pad(array([1, 2]), [[2, 1]]).toArray()).toEqual([0, 0, 1, 2, 0]);
    expect(pad(array([[1]]), [[1, 0], [0, 1]]).toArray()).toEqual([[0, 0], [1, 0]]);
    expect(concat([array([[1, 2]]), array([[3, 4], [5, 6]])]).toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(concat([array([[1], [2]]), array([[3, 4], [5, 6]])], 1).toArray()).toEqual([[1, 3, 4], [2, 5, 6]]);
    expect(concat([array([1, 2])]).toArray()).toEqual([1, 2]);
    expect(concat([zeros([0]), array([1])]).toArray()).toEqual([1]);
    expect(stack([array([1, 2]), array([3, 4])]).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(stack([array([1, 2]), array([3, 4])], 1).toArray()).toEqual([[1, 3], [2, 4]]);
    expect(stack([array(1), 2, 3]).toArray()).toEqual([1, 2, 3]);
    expect(expandDims(array([1, 2]), 0).shape).toEqual([1, 2]);
    expect(expandDims(array([1, 2]), 1).shape).toEqual([2, 1]);
    expect(squeeze(zeros([1, 2, 1])).shape).toEqual([2]);
    expect(squeeze(zeros([1, 1])).shape).toEqual([]);
  });

  tit('shape ops that change nothing return their input (no copy)', () => {
    const x = iota([2, 3]);
    expect(reshape(x, [2, 3])).toBe(x);
    expect(transpose(x, [0, 1])).toBe(x);
    expect(broadcastTo(x, [2, 3])).toBe(x);
    expect(slice(x, [0, 0])).toBe(x);
    expect(pad(x, [[0, 0], [0, 0]])).toBe(x);
  });
});

describe('layout kernels against plain JS', () => {
  // f64 lanes 2, f32 lanes 4: innermost sizes 0, 1, lanes-1, lanes, k*lanes+1 for both.
  const inner = [0, 1, 2, 3, 4, 5, 9, 17];
  for (const dtype of ['float64', 'float32'] as DType[]) {
    tit(`2-D transpose ${dtype} at every size class`, () => {
      for (const r of [1, 2, 3, 4, 5, 9]) {
        for (const c of inner) {
          const x = iota([r, c], dtype);
          const y = transpose(x);
          expect(y.shape).toEqual([c, r]);
          expect(Array.from(y.data())).toEqual(transposeRef(x.data(), [r, c], [1, 0]));
        }
      }
      // Large enough to cross any cache blocking.
      const big = iota([67, 131], dtype);
      expect(Array.from(transpose(big).data())).toEqual(transposeRef(big.data(), [67, 131], [1, 0]));
    });

    tit(`n-D transpose ${dtype} for every permutation of 3-D and several of 4-D`, () => {
      for (const c of inner) {
        const x = iota([3, 2, c], dtype);
        for (const perm of perms3) {
          expect(Array.from(transpose(x, perm).data())).toEqual(transposeRef(x.data(), [3, 2, c], perm));
        }
      }
      const y = iota([2, 3, 5, 4], dtype);
      for (const perm of perms4) expect(Array.from(transpose(y, perm).data())).toEqual(transposeRef(y.data(), [2, 3, 5, 4], perm));
    });

    tit(`broadcastTo ${dtype} at every size class`, () => {
      for (const c of inner) {
        const row = iota([c], dtype);
        expect(Array.from(broadcastTo(row, [3, c]).data())).toEqual(broadcastRef(row.data(), [c], [3, c]));
        const col = iota([c, 1], dtype);
        expect(Array.from(broadcastTo(col, [2, c, 5]).data())).toEqual(broadcastRef(col.data(), [c, 1], [2, c, 5]));
        const mid = iota([2, 1, c], dtype);
        expect(Array.from(broadcastTo(mid, [2, 3, c]).data())).toEqual(broadcastRef(mid.data(), [2, 1, c], [2, 3, c]));
      }
      expect(Array.from(broadcastTo(array(7, { dtype }), [5]).data())).toEqual([7, 7, 7, 7, 7]);
    });

    tit(`slice ${dtype} at every offset and size class`, () => {
      const shape = [3, 19];
      const x = iota(shape, dtype);
      for (const b of [0, 1, 2, 3]) {
        for (const s of inner) {
          if (b + s > 19) continue;
          expect(Array.from(slice(x, [1, b], [2, s]).data())).toEqual(sliceRef(x.data(), shape, [1, b], [2, s]));
        }
      }
      // A slice of a transposed tensor.
      const t = transpose(iota([5, 3, 4], dtype), [2, 0, 1]);
      expect(Array.from(slice(t, [1, 1, 0], [2, 3, 3]).data())).toEqual(sliceRef(t.data(), [4, 5, 3], [1, 1, 0], [2, 3, 3]));
    });

    tit(`pad ${dtype} at every size class`, () => {
      for (const c of inner) {
        const x = iota([2, c], dtype);
        for (const widths of [[[0, 0], [1, 2]], [[1, 1], [0, 3]], [[2, 0], [3, 1]]] as [number, number][][]) {
          expect(Array.from(pad(x, widths).data())).toEqual(padRef(x.data(), [2, c], widths));
        }
      }
    });

    tit(`concat ${dtype} at every size class, along each axis, with transposed operands`, () => {
      for (const c of inner) {
        const a = iota([2, c], dtype), b = mul(iota([3, c], dtype), -1);
        const y = concat([a, b]);
        expect(Array.from(y.data())).toEqual([...a.data(), ...b.data()]);
        const z = concat([a, mul(iota([2, 3], dtype), -1), a], 1);
        const want: number[] = [];
        for (let i = 0; i < 2; i++) want.push(...Array.from({ length: c }, (_, j) => i * c + j), -3 * i, -3 * i - 1, -3 * i - 2, ...Array.from({ length: c }, (_, j) => i * c + j));
        expect(Array.from(z.data())).toEqual(want);
      }
      const p = transpose(iota([3, 2], dtype)), q = iota([2, 2], dtype);
      expect(concat([p, q], 1).toArray()).toEqual([[0, 2, 4, 0, 1], [1, 3, 5, 2, 3]]);
    });
  }

  tit('float32 and float64 agree exactly through every layout op (layout does no arithmetic)', () => {
    const x64 = uniform([3, 4, 5], 50, 'float64');
    const x32 = x64.astype('float32');
    const ops = [
      (x: Tensor) => transpose(x, [2, 0, 1]), (x: Tensor) => slice(x, [1, 0, 2], [2, 3, 3]),
      (x: Tensor) => pad(x, [[1, 0], [0, 1], [2, 2]]), (x: Tensor) => concat([x, x], 2),
      (x: Tensor) => broadcastTo(slice(x, [0, 0, 0], [1, 4, 1]), [2, 4, 3]), (x: Tensor) => stack([x, x], 1),
    ];
    for (const op of ops) {
      const y32 = op(x32);
      expect(y32.dtype).toBe('float32');
      expect(Array.from(y32.data())).toEqual(Array.from(op(x64).data(), Math.fround));
    }
  });

  tit('large strided copies: a 4-D permutation of 60k elements', () => {
    const shape = [10, 20, 30, 10];
    const x = iota(shape);
    const perm = [2, 0, 3, 1];
    const y = transpose(x, perm).data();
    const want = transposeRef(x.data(), shape, perm);
    let bad = 0;
    for (let i = 0; i < want.length; i++) if (y[i] !== want[i]) bad++;
    expect(bad).toBe(0);
    expectClose(sum(transpose(x, perm)).item(), (60000 * 59999) / 2, 0);
  });
});
