// The int32 dtype: creation, reading back, casts (float to int truncates toward zero, as
// NumPy's astype), exact integer arithmetic, promotion (never towards int32), int32 treated
// as a constant by every transform, and the ops that promote int32 to float64 or refuse it.
import { describe, expect, it } from 'vitest';
import {
  DTypeError, ArgumentError, abs, add, arange, array, astype, concat, div, equal, exp, eye, full, grad, greater, jvp,
  less, matmul, max, maximum, mean, min, minimum, mul, neg, ones, pow, reshape, scalar, sign, slice, sqrt, square, sub,
  sum, transpose, vjp, vmap, where, zeros, broadcastTo, pad, flip, stopGradient, scan, randn, uniform, linspace, type Tensor,
} from './helpers/api.js';
import * as api from './helpers/api.js';
import { expectMemoryRestored, spec } from './helpers/memory.js';

expectMemoryRestored();

const ints = (...v: number[]) => array(v, { dtype: 'int32' });

describe('int32 creation', () => {
  spec('array with {dtype: int32} gives an Int32Array back from data()', () => {
    const x = array([[1, -2], [3, 4]], { dtype: 'int32' });
    expect(x.dtype).toBe('int32');
    expect(x.data()).toBeInstanceOf(Int32Array);
    expect(x.toArray()).toEqual([[1, -2], [3, 4]]);
  });
  spec('an Int32Array infers int32', () => {
    const x = array(new Int32Array([7, -8, 2147483647, -2147483648]));
    expect(x.dtype).toBe('int32');
    expect(Array.from(x.data())).toEqual([7, -8, 2147483647, -2147483648]);
  });
  spec('fractions are truncated toward zero, as astype does', () => {
    expect(ints(1.9, -1.9, 0.5).toArray()).toEqual([1, -1, 0]);
  });
  it('a value outside the int32 range is an ArgumentError naming the op', () => {
    expect(() => ints(2 ** 31)).toThrow(ArgumentError);
    expect(() => ints(NaN)).toThrow(/array: NaN is not an int32 value/);
    expect(() => full([2], Infinity, { dtype: 'int32' })).toThrow(/full/);
  });
  spec('zeros, ones, full, eye, scalar and arange take dtype int32', () => {
    expect(zeros([2], { dtype: 'int32' }).data()).toEqual(new Int32Array([0, 0]));
    expect(ones([2], { dtype: 'int32' }).data()).toEqual(new Int32Array([1, 1]));
    expect(full([3], -7, { dtype: 'int32' }).data()).toEqual(new Int32Array([-7, -7, -7]));
    expect(eye(2, { dtype: 'int32' }).toArray()).toEqual([[1, 0], [0, 1]]);
    expect(scalar(5, { dtype: 'int32' }).item()).toBe(5);
    const r = arange(2, 11, 3, { dtype: 'int32' });
    expect(r.dtype).toBe('int32');
    expect(r.toArray()).toEqual([2, 5, 8]);
  });
  it('random floats refuse int32 with a DTypeError', () => {
    expect(() => randn([2], { dtype: 'int32' } as never)).toThrow(DTypeError);
    expect(() => uniform([2], { dtype: 'int32' } as never)).toThrow(/randint/);
    expect(() => linspace(0, 1, 3, { dtype: 'int32' } as never)).toThrow(DTypeError);
  });
});

describe('int32 casts', () => {
  spec('float to int32 truncates toward zero; NaN gives 0; beyond the range saturates', () => {
    const x = array([2.7, -2.7, 0.5, -0.5, NaN, 1e10, -1e10, 2147483647, -2147483648, 3, -0]);
    expect(Array.from(astype(x, 'int32').data())).toEqual([2, -2, 0, 0, 0, 2147483647, -2147483648, 2147483647, -2147483648, 3, 0]);
    expect(Array.from(astype(astype(x, 'float32'), 'int32').data())).toEqual([2, -2, 0, 0, 0, 2147483647, -2147483648, 2147483647, -2147483648, 3, 0]);
  });
  spec('int32 to float64 is exact and to float32 rounds to nearest', () => {
    const big = 2 ** 24 + 1;
    const x = ints(-3, 0, 2147483647, big);
    expect(Array.from(astype(x, 'float64').data())).toEqual([-3, 0, 2147483647, big]);
    expect(Array.from(astype(x, 'float32').data())).toEqual([-3, 0, Math.fround(2147483647), Math.fround(big)]);
  });
  spec('casts cover every SIMD tail size', () => {
    for (let n = 0; n <= 9; n++) {
      const v = Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (i * 1000003 + 0.75));
      const x = array(v);
      expect(Array.from(astype(x, 'int32').data())).toEqual(v.map(Math.trunc));
      expect(Array.from(astype(astype(x, 'int32'), 'float64').data())).toEqual(v.map(Math.trunc));
      expect(Array.from(astype(astype(x, 'int32'), 'float32').data())).toEqual(v.map((t) => Math.fround(Math.trunc(t))));
    }
  });
});

describe('int32 arithmetic is exact', () => {
  const a = [2147483000, -5, 7, 0, 123456789, -2147483648, 3, 9, 11];
  const b = [1000, 3, -7, 0, 987654321, 1, -3, 9, 2];
  const wrap = (v: number) => v | 0;
  spec('add, sub and mul wrap modulo 2^32, as NumPy and JAX int32', () => {
    const x = ints(...a), y = ints(...b);
    expect(Array.from(add(x, y).data())).toEqual(a.map((v, i) => wrap(v + b[i])));
    expect(Array.from(sub(x, y).data())).toEqual(a.map((v, i) => wrap(v - b[i])));
    expect(Array.from(mul(x, y).data())).toEqual(a.map((v, i) => Math.imul(v, b[i])));
    expect(add(x, y).dtype).toBe('int32');
  });
  spec('neg, abs, sign, square, maximum and minimum stay int32', () => {
    const x = ints(...a), y = ints(...b);
    expect(Array.from(neg(x).data())).toEqual(a.map((v) => wrap(-v)));
    expect(Array.from(abs(x).data())).toEqual(a.map((v) => wrap(Math.abs(v))));
    expect(Array.from(sign(x).data())).toEqual(a.map((v) => Math.sign(v) + 0));
    expect(Array.from(square(x).data())).toEqual(a.map((v) => Math.imul(v, v)));
    expect(Array.from(maximum(x, y).data())).toEqual(a.map((v, i) => Math.max(v, b[i])));
    expect(Array.from(minimum(x, y).data())).toEqual(a.map((v, i) => Math.min(v, b[i])));
    for (const r of [neg(x), abs(x), sign(x), square(x), maximum(x, y), minimum(x, y)]) expect(r.dtype).toBe('int32');
  });
  spec('comparisons give int32 masks', () => {
    const x = ints(...a), y = ints(...b);
    expect(Array.from(greater(x, y).data())).toEqual(a.map((v, i) => (v > b[i] ? 1 : 0)));
    expect(Array.from(less(x, y).data())).toEqual(a.map((v, i) => (v < b[i] ? 1 : 0)));
    expect(Array.from(equal(x, y).data())).toEqual(a.map((v, i) => (v === b[i] ? 1 : 0)));
    expect(equal(x, y).dtype).toBe('int32');
  });
  spec('broadcasting int32 operands uses the strided kernels', () => {
    const x = reshape(arange(6, undefined, 1, { dtype: 'int32' }), [2, 3]);
    const col = reshape(ints(10, 20), [2, 1]);
    expect(add(x, col).toArray()).toEqual([[10, 11, 12], [23, 24, 25]]);
    expect(mul(transpose(x), ints(1, -1)).toArray()).toEqual([[0, -3], [1, -4], [2, -5]]);
  });
  spec('sum, max and min reduce exactly and stay int32', () => {
    const x = reshape(ints(...a.slice(0, 8)), [2, 4]);
    expect(sum(x).dtype).toBe('int32');
    expect(sum(x).item()).toBe(a.slice(0, 8).reduce((s, v) => wrap(s + v), 0));
    expect(sum(x, 0).toArray()).toEqual([0, 1, 2, 3].map((j) => wrap(a[j] + a[j + 4])));
    expect(sum(x, 1).toArray()).toEqual([0, 1].map((i) => a.slice(4 * i, 4 * i + 4).reduce((s, v) => wrap(s + v), 0)));
    expect(max(x).item()).toBe(2147483000);
    expect(min(x, 1).toArray()).toEqual([-5, -2147483648]);
    expect(max(ints()).item()).toBe(-2147483648);
  });
  spec('large sums are exact (no float rounding)', () => {
    const n = 1001;
    const x = full([n], 16777217, { dtype: 'int32' });
    expect(sum(x).item()).toBe(wrap(16777217 * n));
  });
});

describe('int32 promotion', () => {
  spec('int32 with a float tensor promotes to that float dtype', () => {
    expect(add(ints(1, 2), array([0.5, 0.5])).dtype).toBe('float64');
    expect(add(ints(1, 2), array([0.5, 0.5], { dtype: 'float32' })).dtype).toBe('float32');
    expect(add(ints(1, 2), array([0.5, 0.5])).toArray()).toEqual([1.5, 2.5]);
  });
  spec('an integer JS number keeps int32; a fraction promotes to float64', () => {
    expect(add(ints(1, 2), 3).dtype).toBe('int32');
    expect(mul(ints(1, 2), 0.5).dtype).toBe('float64');
    expect(mul(ints(1, 2), 0.5).toArray()).toEqual([0.5, 1]);
    expect(add(ints(1), 2 ** 40).dtype).toBe('float64');
  });
  spec('div, pow, exp, sqrt and mean of int32 are float64 (as JAX)', () => {
    expect(div(ints(1, 3), ints(2, 2)).toArray()).toEqual([0.5, 1.5]);
    expect(pow(ints(2, 3), 2).dtype).toBe('float64');
    expect(exp(ints(0)).toArray()).toEqual([1]);
    expect(sqrt(ints(4, 9)).toArray()).toEqual([2, 3]);
    expect(mean(ints(2147483647, 2147483647)).item()).toBe(2147483647);
  });
  spec('where with int32 branches and a float condition picks by nonzero', () => {
    expect(where(array([0.5, 0]), ints(1, 2), ints(3, 4)).toArray()).toEqual([1, 4]);
    expect(where(ints(1, 0), array([1.5, 2.5]), 0).toArray()).toEqual([1.5, 0]);
  });
  spec('an op that does not take int32 names itself in a DTypeError', () => {
    expect(() => matmul(ints(1, 2), ints(3, 4))).toThrow(DTypeError);
    expect(() => matmul(ints(1, 2), ints(3, 4))).toThrow(/matmul: operand 0 is int32.*astype/);
  });
});

describe('int32 layout ops move bits unchanged', () => {
  // Values whose bits are float32 NaNs (signalling and quiet) and denormals.
  const tricky = [0x7f800001, 0x7fc00000, -1, 1, -0x7fffffff, 0x00000001, 0x7fffffff, -2147483648];
  spec('reshape, transpose, slice, concat, broadcastTo, pad, flip and stopGradient', () => {
    const x = reshape(ints(...tricky), [2, 4]);
    expect(transpose(x).toArray()).toEqual([0, 1, 2, 3].map((j) => [tricky[j], tricky[j + 4]]));
    expect(slice(x, [1, 1], [1, 3]).toArray()).toEqual([tricky.slice(5, 8)]);
    expect(concat([x, x], 0).data()).toEqual(new Int32Array([...tricky, ...tricky]));
    expect(broadcastTo(ints(0x7f800001), [3]).toArray()).toEqual([0x7f800001, 0x7f800001, 0x7f800001]);
    expect(pad(ints(0x7fc00000), [[1, 1]]).toArray()).toEqual([0, 0x7fc00000, 0]);
    expect(flip(ints(...tricky), 0).toArray()).toEqual([...tricky].reverse());
    expect(stopGradient(x).data()).toEqual(new Int32Array(tricky));
    const big = reshape(arange(64 * 48, undefined, 1, { dtype: 'int32' }), [64, 48]);
    const t = transpose(big).data();
    expect(t[1]).toBe(48);
    expect(t[64 * 48 - 1]).toBe(64 * 48 - 1);
  });
});

describe('int32 under transforms', () => {
  spec('grad with respect to an int32 argument is a DTypeError naming the argument', () => {
    const f = (x: ReturnType<typeof ints>, i: ReturnType<typeof ints>) => sum(mul(x, astype(i, 'float64')));
    expect(() => grad(f, { argnums: 1 })(array([1, 2]), ints(1, 2))).toThrow(DTypeError);
    expect(() => grad(f, { argnums: 1 })(array([1, 2]), ints(1, 2))).toThrow(/grad: argument 1 is an int32 tensor of shape \[2\]/);
    expect(() => jvp((i) => i, [ints(1)], [ints(1)])).toThrow(/jvp: primal 0 is an int32/);
  });
  spec('an int32 argument not differentiated is a constant', () => {
    const f = (x: ReturnType<typeof array>, i: ReturnType<typeof ints>) => sum(mul(x, astype(i, 'float64')));
    expect(grad(f)(array([1, 2]), ints(3, 4)).toArray()).toEqual([3, 4]);
  });
  spec('int32 values computed inside a transform carry no derivative', () => {
    // floor-like: astype to int32 and back is piecewise constant, derivative 0 (as JAX).
    const f = (x: ReturnType<typeof array>) => sum(add(astype(astype(x, 'int32'), 'float64'), x));
    expect(grad(f)(array([1.5, -2.5])).toArray()).toEqual([1, 1]);
    const [, dy] = jvp(f, [array([1.5, -2.5])], [array([1, 1])]);
    expect(dy.item()).toBe(2);
    const [y, pull] = vjp((x: ReturnType<typeof array>) => astype(x, 'int32'), array([1.5]));
    expect(y.dtype).toBe('int32');
    expect(pull(ones([1], { dtype: 'int32' }))[0].toArray()).toEqual([0]);
  });
  spec('vmap carries int32', () => {
    expect(vmap((i: ReturnType<typeof ints>) => sum(i))(reshape(ints(1, 2, 3, 4), [2, 2])).toArray()).toEqual([3, 7]);
  });
});

describe('int32 carries in loops', () => {
  spec('a scan with an int32 counter differentiates the float carry only', () => {
    // The counter i enters twice through astype, so a cotangent would reach it twice if it could.
    const step = ([c, i]: [Tensor, Tensor]): [[Tensor, Tensor], Tensor] =>
      [[add(mul(c, add(astype(i, 'float64'), 1)), mul(astype(i, 'float64'), 0)), add(i, 1)], c];
    const f = (x: Tensor) => {
      const [[y]] = scan(step, [x, scalar(0, { dtype: 'int32' })] as [Tensor, Tensor], { length: 3 });
      return sum(y);
    };
    // y = x * 1 * 2 * 3
    expect(f(array([2])).item()).toBe(12);
    expect(grad(f)(array([2])).toArray()).toEqual([6]);
  });
});

describe('int32 kernels at every SIMD size class', () => {
  const wrap = (v: number) => v | 0;
  spec('maps and whole reductions at n = 0, 1, 3, 4, 5, 8, 9, 17 against JS', () => {
    for (const n of [0, 1, 3, 4, 5, 8, 9, 17]) {
      const a = Array.from({ length: n }, (_, i) => (i * 2654435761) | 0), b = Array.from({ length: n }, (_, i) => (i * 40503 - 7) | 0);
      const x = ints(...a), y = ints(...b);
      expect(Array.from(add(x, y).data())).toEqual(a.map((v, i) => wrap(v + b[i])));
      expect(Array.from(mul(x, y).data())).toEqual(a.map((v, i) => Math.imul(v, b[i])));
      expect(Array.from(sign(x).data())).toEqual(a.map((v) => Math.sign(v) + 0));
      expect(Array.from(greater(x, y).data())).toEqual(a.map((v, i) => (v > b[i] ? 1 : 0)));
      expect(sum(x).item()).toBe(a.reduce((s, v) => wrap(s + v), 0));
      if (n > 0) expect(max(x).item()).toBe(Math.max(...a));
      if (n > 0) expect(min(x).item()).toBe(Math.min(...a));
    }
  });
  spec('axis reductions with inner runs of 1, 3, 4 and 9', () => {
    for (const inner of [1, 3, 4, 9]) {
      const len = 5, outer = 2;
      const v = Array.from({ length: outer * len * inner }, (_, i) => ((i * 7919) % 201) - 100);
      const x = reshape(ints(...v), [outer, len, inner]);
      const at = (o: number, l: number, i: number) => v[(o * len + l) * inner + i];
      const ref = (f: (xs: number[]) => number) => Array.from({ length: outer }, (_, o) => Array.from({ length: inner }, (_, i) => f(Array.from({ length: len }, (_, l) => at(o, l, i)))));
      expect(sum(x, 1).toArray()).toEqual(ref((xs) => xs.reduce((s, t) => s + t, 0)));
      expect(max(x, 1).toArray()).toEqual(ref((xs) => Math.max(...xs)));
      expect(min(x, 1).toArray()).toEqual(ref((xs) => Math.min(...xs)));
    }
  });
});

describe('every op given int32 works or says why not', () => {
  spec('float-valued maps promote int32 to float64; sign-preserving maps stay int32', () => {
    const x = ints(1, 2, 3);
    const toFloat = [api.exp, api.log, api.sin, api.cos, api.tan, api.tanh, api.sigmoid, api.sqrt, api.reciprocal, api.log1p, api.expm1,
      api.sinh, api.cosh, api.atan, api.erf, api.floor, api.ceil, api.round, api.softplus];
    for (const f of toFloat) {
      const y = f(x);
      expect(y.dtype, f.name).toBe('float64');
      expect(Array.from(y.data()), f.name).toEqual(Array.from(f(array([1, 2, 3])).data()));
    }
    for (const f of [api.neg, api.abs, api.sign, api.square]) expect(f(x).dtype).toBe('int32');
    expect(api.atan2(x, x).dtype).toBe('float64');
    expect(api.clip(x, 0, 2).toArray()).toEqual([1, 2, 2]);
    expect(api.clip(x, 0, 2).dtype).toBe('int32');
    expect(api.logsumexp(x).dtype).toBe('float64');
    expect(api.softmax(x).dtype).toBe('float64');
  });
  spec('linear algebra and cumulative sums refuse int32 with a DTypeError naming the op', () => {
    const m = reshape(ints(2, 1, 1, 2), [2, 2]);
    expect(() => api.cumsum(ints(1, 2))).toThrow(/cumsum: operand 0 is int32/);
    for (const [name, f] of [['det', api.det], ['inv', api.inv], ['cholesky', api.cholesky]] as const) {
      expect(() => f(m), name).toThrow(DTypeError);
    }
    expect(() => api.solve(m, ints(1, 1))).toThrow(DTypeError);
    expect(() => api.lstsq(m, ints(1, 1))).toThrow(/^lstsq: the matrix is int32/);
    expect(() => api.qr(m)).toThrow(/^qr: the matrix is int32/);
  });
});

describe('int32 results of differentiated functions', () => {
  spec('grad of a function returning int32 is a DTypeError', () => {
    expect(() => grad((x: Tensor) => api.argmax(x))(array([1, 3, 2]))).toThrow(/grad: the function returned an int32 scalar/);
  });
  spec('jvp of an int32 output is a zero tangent of its dtype', () => {
    const [y, dy] = jvp((x: Tensor) => api.argmax(x), [array([1, 3, 2])], [array([1, 1, 1])]) as [Tensor, Tensor];
    expect(y.item()).toBe(1);
    expect(dy.dtype).toBe('int32');
    expect(dy.item()).toBe(0);
  });
});

describe('shape and structure ops keep int32', () => {
  spec('roll, tile, triu, tril, diagonal, trace, diag, split, stack, squeeze, clip and cumprod', () => {
    const m = reshape(ints(1, 2, 3, 4, 5, 6, 7, 8, 9), [3, 3]);
    expect(api.roll(m, 1, 0).toArray()).toEqual([[7, 8, 9], [1, 2, 3], [4, 5, 6]]);
    expect(api.tile(ints(1, 2), [2]).toArray()).toEqual([1, 2, 1, 2]);
    expect(api.triu(m).toArray()).toEqual([[1, 2, 3], [0, 5, 6], [0, 0, 9]]);
    expect(api.tril(m, -1).toArray()).toEqual([[0, 0, 0], [4, 0, 0], [7, 8, 0]]);
    expect(api.diagonal(m).toArray()).toEqual([1, 5, 9]);
    expect(api.trace(m).item()).toBe(15);
    expect(api.diag(ints(1, 2)).toArray()).toEqual([[1, 0], [0, 2]]);
    expect(api.split(m, 3, 0).map((t) => t.dtype)).toEqual(['int32', 'int32', 'int32']);
    expect(api.stack([ints(1), ints(2)]).toArray()).toEqual([[1], [2]]);
    expect(api.cumprod(ints(1, 2, 3, 4)).toArray()).toEqual([1, 2, 6, 24]);
    for (const y of [api.roll(m, 1, 0), api.triu(m), api.trace(m), api.cumprod(m)]) expect(y.dtype).toBe('int32');
  });
  spec('norm, variance and std of int32 are float64', () => {
    const m = ints(1, 2, 3, 4);
    expect(api.norm(m).item()).toBe(Math.sqrt(30));
    expect(api.variance(m).dtype).toBe('float64');
    expect(api.std(m).item()).toBe(api.std(array([1, 2, 3, 4])).item());
  });
});
