// int32 inside jit: the program carries int32 values and prints them as i32. (No memory check
// in this file: a jitted function keeps its program's constants while it lives.)
import { describe, expect, it } from 'vitest';
import { add, array, astype, jit, mul, sum } from './helpers/api.js';

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
