// Regression tests for issue #18 (an adversarial pass): high-rank shapes must not touch live
// memory, bad input must be refused with a dualtape error that names the op, and plain JS
// errors (RangeError, TypeError, stack overflow) must not escape.
import { describe, expect, it } from 'vitest';
import {
  ArgumentError, OutOfMemoryError, ShapeError, add, arange, array, broadcastTo, grad, jacobianCost,
  linspace, memory, mul, randn, scalar, slice, sum, transpose, where, zeros, type Tensor,
} from './helpers/api.js';

/** [0, 2, 1, 2, 1, ...]: rank `rank`, zero elements, size-2 axes that no collapse can merge. */
function emptyShape(rank: number): number[] {
  return Array.from({ length: rank }, (_, i) => (i === 0 ? 0 : i % 2 === 1 ? 2 : 1));
}

/** Rank `rank` with `twos` axes of size 2 spread among size-1 axes (2^twos elements). */
function spreadShape(rank: number, twos: number): number[] {
  const shape = new Array<number>(rank).fill(1);
  for (let j = 0; j < Math.min(twos, rank); j++) shape[Math.floor((j * rank) / twos)] = 2;
  return shape;
}

/** Live data that a stray write would clobber: a tensor and a cached constant scalar. */
function sentinels(): () => void {
  const a = arange(6);
  const before = mul(a, 1.7).toArray();
  return () => {
    expect(a.toArray()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(mul(a, 1.7).toArray()).toEqual(before);
    expect(mul(2, 1.7).item()).toBe(2 * 1.7);
    a.dispose();
  };
}

describe('high-rank shapes never write outside their tensors (item 1)', () => {
  const ranks = [0, 1, 64, 300, 1000];

  for (const rank of ranks) {
    it(`where over zero-size operands of rank ${rank}`, () => {
      const check = sentinels();
      const shape = rank === 0 ? [] : emptyShape(rank);
      const z = zeros(shape);
      expect(where(z, z, 0).shape).toEqual(shape);
      expect(where(z, 1.5, z).shape).toEqual(shape);
      check();
    });

    it(`transpose and broadcastTo of zero-size tensors of rank ${rank}`, () => {
      const check = sentinels();
      const shape = rank === 0 ? [] : emptyShape(rank);
      const z = zeros(shape);
      expect(transpose(z).shape).toEqual([...shape].reverse());
      const target = shape.map((d) => (d === 1 ? 3 : d));
      expect(broadcastTo(z, target).shape).toEqual(target);
      check();
    });

    it(`elementwise ops, transpose, broadcastTo and slice agree with a JS reference at rank ${rank}`, () => {
      const check = sentinels();
      const shape = spreadShape(rank, Math.min(rank, 10));
      const n = shape.reduce((a, b) => a * b, 1);
      const x = arange(n).reshape(shape);
      const y = add(x, transpose(x).reshape(shape));
      expect(y.size).toBe(n);
      // transpose reverses the axes; with every other axis of size 1 its data is x's reversed bits.
      expect(sum(y).item()).toBe(n * (n - 1));
      if (rank > 0) {
        const wide = broadcastTo(x, shape.map((d, i) => (i === rank - 1 && d === 1 ? 3 : d)));
        expect(sum(wide).item()).toBe((shape[rank - 1] === 1 ? 3 : 1) * (n * (n - 1)) / 2);
        const begin = shape.map(() => 0);
        const size = shape.map((d) => d);
        const first = shape.findIndex((d) => d === 2);
        if (first >= 0) size[first] = 1;
        expect(sum(slice(x, begin, size)).item()).toBe(first < 0 ? (n * (n - 1)) / 2 : (n / 2) * (n / 2 - 1) / 2);
      }
      check();
    });
  }
});

describe('empty tensors of any axis order (item 7)', () => {
  it('zeros with 1100 axes of size 2 then a 0 axis is an empty tensor, as in the other order', () => {
    const twos = new Array<number>(1100).fill(2);
    for (const shape of [[...twos, 0], [0, ...twos]]) {
      const z = zeros(shape);
      expect(z.size).toBe(0);
      expect(z.shape).toEqual(shape);
      expect(z.data().length).toBe(0);
    }
  });

  it('a shape too large for memory is an OutOfMemoryError naming the shape, never NaN bytes', () => {
    expect(() => zeros(new Array<number>(1100).fill(2))).toThrow(OutOfMemoryError);
    expect(() => zeros([2 ** 20, 2 ** 20])).toThrow(/zeros: .*\[1048576, 1048576\]/);
  });
});

describe('array() refuses holes (item 2)', () => {
  it('a hole in a flat array is a ShapeError naming its index', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(() => array([1, , 3] as number[])).toThrow(ShapeError);
    // eslint-disable-next-line no-sparse-arrays
    expect(() => array([1, , 3] as number[])).toThrow(/array: element \[1\] is a hole/);
  });

  it('a hole among nested rows is a ShapeError naming its index', () => {
    // eslint-disable-next-line no-sparse-arrays
    expect(() => array([[1, 2], , [3, 4]] as number[][])).toThrow(/array: element \[1\] is a hole/);
    // eslint-disable-next-line no-sparse-arrays
    expect(() => array([[1, 2], [3, , ]] as number[][])).toThrow(/array: element \[1\]\[1\] is a hole/);
  });

  it('an array with trailing holes (new Array(3)) is refused too', () => {
    expect(() => array(new Array(3))).toThrow(/element \[0\] is a hole/);
  });
});

describe('broadcastTo validates its target like zeros (item 3)', () => {
  for (const target of [[2.5], [-3, 3], ['2']]) {
    it(`refuses ${JSON.stringify(target)}`, () => {
      expect(() => broadcastTo(1, target as number[])).toThrow(ShapeError);
      expect(() => broadcastTo(1, target as number[])).toThrow(/broadcastTo: shape .* is not a list of non-negative integers/);
    });
  }

  it('refuses a target that is not an array', () => {
    expect(() => broadcastTo(1, 3 as unknown as number[])).toThrow(/broadcastTo: shape 3 is not a list/);
  });
});

describe('dualtape errors instead of plain JS errors (item 8)', () => {
  it('randn and linspace beyond wasm memory are OutOfMemoryErrors', () => {
    expect(() => randn([1e10])).toThrow(OutOfMemoryError);
    expect(() => randn([1e10])).toThrow(/randn: .*\[10000000000\]/);
    expect(() => linspace(0, 1, 1e10)).toThrow(OutOfMemoryError);
    expect(() => linspace(0, 1, 1e10)).toThrow(/linspace: /);
  });

  it('slice with begin or size not arrays is a ShapeError', () => {
    const x = arange(3);
    expect(() => slice(x, 0 as unknown as number[], [1])).toThrow(ShapeError);
    expect(() => slice(x, 0 as unknown as number[], [1])).toThrow(/slice: begin must be an array/);
    expect(() => slice(x, [0], 1 as unknown as number[])).toThrow(/slice: size must be an array/);
  });

  it('grad with options that are not an object is an ArgumentError', () => {
    expect(() => grad((x: Tensor) => x, null as unknown as object)).toThrow(ArgumentError);
    expect(() => grad((x: Tensor) => x, null as unknown as object)).toThrow(/grad: options must be an object/);
  });

  it('creation functions with options that are not an object are ArgumentErrors', () => {
    const bad = null as unknown as object;
    for (const [name, make] of [
      ['zeros', () => zeros([2], bad)], ['array', () => array([1], bad)], ['randn', () => randn([2], bad)],
      ['linspace', () => linspace(0, 1, 3, bad)], ['scalar', () => scalar(1, bad)],
    ] as const) {
      expect(make, name).toThrow(ArgumentError);
      expect(make, name).toThrow(new RegExp(`^${name}: options must be an object`));
    }
  });

  it('a 20,000-deep nested array is a ShapeError about the rank', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(() => array(deep as number[])).toThrow(ShapeError);
    expect(() => array(deep as number[])).toThrow(/array: .*20000 axes/);
  });

  it('a 5,000-deep argument tree is an ArgumentError about the depth', () => {
    let tree: unknown = 1;
    for (let i = 0; i < 5_000; i++) tree = { a: tree };
    // Untyped JS callers can pass arguments the types forbid; the runtime checks them.
    const untyped = grad(() => scalar(1)) as unknown as (a: unknown) => unknown;
    expect(() => untyped(tree)).toThrow(ArgumentError);
    expect(() => untyped(tree)).toThrow(/grad: argument.* nested deeper than/);
  });
});

describe('bad input is refused (item 9)', () => {
  it('grad of a null argument is an ArgumentError', () => {
    const untyped = grad(() => scalar(1)) as unknown as (a: unknown) => unknown;
    expect(() => untyped(null)).toThrow(ArgumentError);
    expect(() => untyped(undefined)).toThrow(/grad: argument 0 is undefined/);
  });

  it('jacobianCost of NaN, negative or fractional sizes is an ArgumentError', () => {
    for (const [n, m] of [[NaN, 2], [2, -1], [1.5, 2], [2, Infinity]]) {
      expect(() => jacobianCost(n, m)).toThrow(ArgumentError);
    }
    expect(() => jacobianCost(NaN, 2)).toThrow(/jacobianCost: n must be a non-negative integer, got NaN/);
  });
});

describe('memory', () => {
  it('every test above leaves no tensor behind once disposed', () => {
    const before = memory().bytesInUse;
    const z = zeros(emptyShape(300));
    where(z, z, 0).dispose();
    z.dispose();
    expect(memory().bytesInUse).toBe(before);
  });
});
