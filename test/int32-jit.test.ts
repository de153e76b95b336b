// int32 and indexing inside jit: the program carries int32 values (printed as i32), and the
// indexing kernels check indices when the program runs. (No memory check
// in this file: a jitted function keeps its program's constants while it lives.)
import { describe, expect, it } from 'vitest';
import { IndexError, add, array, astype, grad, jit, mul, sort, sum, take, type Tensor } from './helpers/api.js';

describe('int32 under jit', () => {
  it('a jitted function computes in int32 and returns int32', () => {
    const f = jit((i) => add(mul(i, 2), 1));
    const y = f(array([1, 2], { dtype: 'int32' }));
    expect(y.dtype).toBe('int32');
    expect(y.toArray()).toEqual([3, 5]);
  });
  it('the program names int32 values i32', () => {
    const f = jit((x) => sum(astype(x, 'int32')));
    expect(String(f.program(array([1.5, 2.5])))).toMatch(/i32/);
    expect(f(array([1.5, 2.5])).item()).toBe(3);
  });
});

describe('indexing under jit', () => {
  it('take and its gradient run in a program, and bad indices still raise', () => {
    const ints = (v: number[]) => array(v, { dtype: 'int32' });
    const g = jit(grad((a: Tensor, i: Tensor) => sum(take(a, i, 0))));
    expect(g(array([1, 2, 3]), ints([2, 2])).toArray()).toEqual([0, 0, 2]);
    expect(() => g(array([1, 2, 3]), ints([3]))).toThrow(IndexError);
    const s = jit((a: Tensor) => sort(a));
    expect(s(array([2, 1])).toArray()).toEqual([1, 2]);
  });
});
