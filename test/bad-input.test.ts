// Bad input to the transforms: the error names the transform, what was given and the fix.
import { describe, expect, it } from 'vitest';
import { ArgumentError, ShapeError, array, grad, jacfwd, jvp, matmul, mul, sum, valueAndGrad, vjp, type Tensor } from './helpers/api.js';

describe('differentiating values that are not floats', () => {
  it('a boolean argument is refused with the reason and the fix', () => {
    const f = (x: Tensor) => mul(x, 2);
    expect(() => grad(f)(true as unknown as Tensor)).toThrow(ArgumentError);
    expect(() => grad(f)(true as unknown as Tensor)).toThrow(/grad: argument\[0\]: got boolean; .*integer or boolean values cannot be differentiated/);
  });

  it('an integer typed array is refused, in every transform', () => {
    const ints = new Int32Array([1, 2]) as unknown as Tensor;
    expect(() => grad((x: Tensor) => sum(x))(ints)).toThrow(/got Int32Array; .*Convert with array/);
    expect(() => jvp((x: Tensor) => x, [ints], [ints])).toThrow(/jvp: primals\[0\]: got Int32Array/);
    expect(() => jacfwd((x: Tensor) => x)(ints)).toThrow(/jacfwd: argument\[0\]: got Int32Array/);
    expect(() => vjp((x: Tensor) => x, ints)).toThrow(/vjp: primal\[0\]: got Int32Array/);
  });

  it('a bigint inside a parameter tree is named by its path', () => {
    const params = { w: array([1, 2]), steps: 3n } as unknown as { w: Tensor };
    expect(() => grad((p: { w: Tensor }) => sum(p.w))(params)).toThrow(/argument\[0\]\.steps: got bigint/);
  });

  it('a function returning a string or a Map is refused', () => {
    // @ts-expect-error f takes no argument; plain JavaScript gets the runtime error below
    expect(() => valueAndGrad(() => 'loss' as unknown as Tensor)(1)).toThrow(/must return a scalar tensor or a number, got string/);
    // @ts-expect-error f takes no argument
    expect(() => jvp(() => new Map() as unknown as Tensor, [1], [1])).toThrow(/jvp: the function's output: expected a Tensor, a number, or an array or plain object of them; got Map/);
  });

  it('shape errors inside a transform keep the op\'s message', () => {
    const f = (x: Tensor) => sum(matmul(x, array([[1, 2, 3]])));
    expect(() => grad(f)(array([[1, 2]]))).toThrow(ShapeError);
    expect(() => grad(f)(array([[1, 2]]))).toThrow(/matmul: inner dimensions must match: shapes \[1, 2\] and \[1, 3\]/);
  });
});
