// Error paths: each throws its typed error, and the message names the op, the shapes or
// dtypes given, and the fix. Also what NaN and Infinity inputs give (they are values, not
// errors: they propagate as IEEE arithmetic and Math.* do).
import { describe, expect, it } from 'vitest';
import {
  ArgumentError, AxisError, DTypeError, DifferentiationError, DisposedError, DualtapeError, NotReadyError,
  OutOfMemoryError, ShapeError, Tensor, abs, add, arange, array, astype, broadcastTo, concat, cos, div, dot, equal,
  exp, expandDims, eye, full, grad, greater, greaterEqual, jacfwd, jacrev, jvp, less, lessEqual, linspace, log,
  logsumexp, matmul, max, maximum, mean, min, minimum, mul, neg, ones, pad, pow, randn, reciprocal, reshape,
  scalar, sigmoid, sign, sin, slice, softmax, sqrt, squeeze, stack, sub, sum, tan, tanh, tidy, transpose, valueAndGrad,
  vjp, where, zeros, type TensorLike,
} from './helpers/api.js';
import { expectMemoryRestored, spec as tit } from './helpers/memory.js';

expectMemoryRestored();


type ErrorClass = new (...args: never[]) => Error;

/** f throws `type`, a DualtapeError, and its message matches every pattern. */
function expectError(f: () => unknown, type: ErrorClass, ...patterns: (string | RegExp)[]): void {
  let caught: unknown = null;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(type);
  expect(caught).toBeInstanceOf(DualtapeError);
  const message = (caught as Error).message;
  for (const p of patterns) {
    if (typeof p === 'string') expect(message).toContain(p);
    else expect(message).toMatch(p);
  }
}

describe('error classes', () => {
  it('are Errors and DualtapeErrors whose name is the class name', () => {
    for (const E of [ShapeError, DTypeError, AxisError, DisposedError, OutOfMemoryError, ArgumentError, NotReadyError, DifferentiationError]) {
      const e = new E('op: message');
      expect(e).toBeInstanceOf(Error);
      expect(e).toBeInstanceOf(DualtapeError);
      expect(e.name).toBe(E.name);
      expect(e.message).toBe('op: message');
    }
  });
});

describe('shape mismatches', () => {
  const binary: [string, (a: TensorLike, b: TensorLike) => Tensor][] = [
    ['add', add], ['sub', sub], ['mul', mul], ['div', div], ['pow', pow], ['maximum', maximum], ['minimum', minimum],
    ['greater', greater], ['less', less], ['equal', equal], ['greater_equal', greaterEqual], ['less_equal', lessEqual],
  ];
  for (const [name, f] of binary) {
    tit(`${name}: names the op, both shapes, the clashing axis and the fix`, () => {
      expectError(() => f(zeros([3]), zeros([2])), ShapeError,
        `${name}: shapes [3] and [2] cannot be broadcast together`, 'axis -1 has sizes 3 and 2', 'reshape or broadcastTo');
      expectError(() => f(zeros([2, 3, 4]), zeros([5, 1])), ShapeError, '[2, 3, 4] and [5, 1]', 'axis -2 has sizes 3 and 5');
    });
  }

  tit('the chainable methods report the same op', () => {
    expectError(() => zeros([3]).add(zeros([2])), ShapeError, /^add: shapes \[3\] and \[2\]/);
    expectError(() => zeros([3]).maximum(zeros([4])), ShapeError, /^maximum: shapes \[3\] and \[4\]/);
  });

  tit('where names all three shapes', () => {
    expectError(() => where(zeros([3]), zeros([2]), 1), ShapeError, 'where: shapes [3] and [2] and []', 'broadcastTo');
    expectError(() => where(zeros([4, 1]), zeros([3]), zeros([2, 3])), ShapeError, 'where: shapes [4, 1] and [3] and [2, 3]');
  });

  tit('matmul: inner sizes, 0-d operands and batch axes', () => {
    expectError(() => matmul(zeros([2, 3]), zeros([4, 5])), ShapeError,
      'matmul: inner dimensions must match: shapes [2, 3] and [4, 5] have inner sizes (3) and (4)', 'Transpose an operand');
    expectError(() => matmul(zeros([3]), zeros([4])), ShapeError, 'shapes [3] and [4] have inner sizes (3) and (4)');
    expectError(() => matmul(zeros([2, 3]), zeros([2])), ShapeError, 'shapes [2, 3] and [2]');
    expectError(() => matmul(zeros([2, 3, 4]), zeros([5, 4, 2])), ShapeError,
      'matmul: the batch axes of shapes [2, 3, 4] and [5, 4, 2], [2] and [5], cannot be broadcast together');
    expectError(() => matmul(2, zeros([2])), ShapeError, 'matmul: operands must have at least 1 dimension, got shapes [] and [2]', 'use mul');
    expectError(() => zeros([2, 2]).matmul(zeros([3, 2])), ShapeError, /^matmul: inner dimensions/);
  });

  tit('dot: vectors of different lengths and mismatched matrices name dot', () => {
    expectError(() => dot(zeros([3]), zeros([4])), ShapeError, 'dot: vectors of shapes [3] and [4] must have the same length');
    expectError(() => dot(zeros([3, 2]), zeros([3])), ShapeError, /^dot: inner dimensions must match: shapes \[3, 2\] and \[3\]/);
  });

  tit('reshape to a different size, a bad -1 and invalid sizes', () => {
    expectError(() => reshape(zeros([2, 3]), [4]), ShapeError,
      'reshape: cannot reshape a tensor of shape [2, 3] (6 elements) to [4] (4 elements); the element counts must match');
    expectError(() => reshape(zeros([2, 3]), [4, -1]), ShapeError, 'reshape: cannot infer the -1 in [4, -1] for a tensor of shape [2, 3] (6 elements)');
    expectError(() => reshape(zeros([2, 3]), [-1, -1]), ShapeError, 'cannot infer the -1 in [-1, -1]');
    expectError(() => reshape(zeros([2, 3]), [-2, -3]), ShapeError, 'reshape: target shape [-2, -3] must be non-negative integers');
    expectError(() => reshape(zeros([2, 3]), [1.5, 4]), ShapeError, 'target shape [1.5, 4]');
    expectError(() => zeros([4]).reshape([3]), ShapeError, /^reshape: cannot reshape a tensor of shape \[4\]/);
  });

  tit('transpose, broadcastTo, slice, pad, concat, stack and squeeze', () => {
    expectError(() => transpose(zeros([2, 3]), [0, 0]), ShapeError, 'transpose: perm [0, 0] is not a permutation of the 2 axes of a tensor of shape [2, 3]', 'give each of 0..1 once');
    expectError(() => transpose(zeros([2, 3]), [1]), ShapeError, 'perm [1]');
    expectError(() => broadcastTo(zeros([3]), [2, 4]), ShapeError, 'broadcastTo: shapes [3] and [2, 4] cannot be broadcast together');
    expectError(() => broadcastTo(zeros([2, 3]), [3]), ShapeError, 'broadcastTo: a tensor of shape [2, 3] cannot be broadcast to [3]');
    expectError(() => slice(zeros([3]), [2], [2]), ShapeError, 'slice: begin 2 with size 2 on axis 0 leaves the tensor of shape [3]', 'begin + size <= 3');
    expectError(() => slice(zeros([3]), [-1], [1]), ShapeError, 'slice: begin -1');
    expectError(() => slice(zeros([3]), [0, 0]), ShapeError, 'slice: begin [0, 0] must have one entry per axis of the tensor of shape [3]');
    expectError(() => pad(zeros([3]), [[-1, 0]]), ShapeError, 'pad: widths [[-1,0]] must give [before, after] non-negative integers for each of the 1 axes of shape [3]');
    expectError(() => pad(zeros([3]), []), ShapeError, 'pad: widths []');
    expectError(() => concat([zeros([2, 3]), zeros([2, 4])]), ShapeError, 'concat: shapes [2, 3], [2, 4] differ off axis 0');
    expectError(() => concat([zeros([2]), zeros([2, 1])]), ShapeError, 'concat: shapes [2], [2, 1]');
    expectError(() => concat([1, 2]), ShapeError, 'concat: cannot concatenate 0-d tensors; use stack instead');
    expectError(() => stack([zeros([2]), zeros([3])]), ShapeError, 'stack: shapes [2], [3] must all be equal');
    expectError(() => squeeze(zeros([2, 1]), [0]), ShapeError, 'squeeze: axis 0 of shape [2, 1] has size 2, not 1');
  });

  tit('item needs exactly one element', () => {
    expectError(() => zeros([2, 2]).item(), ShapeError, 'item: the tensor has shape [2, 2] (4 elements)', 'Use toArray() or data()');
  });
});

describe('bad axes', () => {
  const reductions: [string, (x: Tensor, axes: number | number[]) => Tensor][] = [
    ['sum', (x, a) => sum(x, a)], ['max', (x, a) => max(x, a)], ['min', (x, a) => min(x, a)],
    ['mean', (x, a) => mean(x, a)], ['logsumexp', (x, a) => logsumexp(x, a)], ['softmax', (x, a) => softmax(x, a)],
  ];
  for (const [name, f] of reductions) {
    tit(`${name}: out of range, non-integer and repeated axes`, () => {
      const x = zeros([2, 3]);
      expectError(() => f(x, 2), AxisError, `${name}: axis 2 is out of range for a tensor with 2 dimensions; expected an integer in [-2, 1]`);
      expectError(() => f(x, -3), AxisError, `${name}: axis -3 is out of range`);
      expectError(() => f(x, 0.5), AxisError, `${name}: axis 0.5 is out of range`);
      expectError(() => f(x, [0, -2]), AxisError, `${name}: axes [0, -2] repeat an axis; give each axis once`);
      expectError(() => f(zeros([4]), 1), AxisError, 'for a tensor with 1 dimension;');
    });
  }
  tit('a 0-d tensor has no axes', () => {
    expectError(() => softmax(2), AxisError, 'softmax: axis -1 is out of range: a 0-d tensor has no axes');
    expectError(() => sum(array(1), 0), AxisError, 'sum: axis 0 is out of range: a 0-d tensor has no axes');
  });
  tit('concat, stack, expandDims and squeeze', () => {
    expectError(() => concat([zeros([2]), zeros([2])], 1), AxisError, 'concat: axis 1 is out of range for a tensor with 1 dimension');
    expectError(() => stack([zeros([2]), zeros([2])], 3), AxisError, 'stack: axis 3 is out of range for a tensor with 2 dimensions');
    expectError(() => expandDims(zeros([2]), -3), AxisError, 'expandDims: axis -3');
    expectError(() => squeeze(zeros([2, 1]), [4]), AxisError, 'squeeze: axis 4');
    expectError(() => zeros([2, 3]).sum(5), AxisError, /^sum: axis 5/);
  });
});

describe('bad dtypes', () => {
  const bad = 'int64' as never;
  const cases: [string, () => unknown][] = [
    ['array', () => array([1], { dtype: bad })], ['scalar', () => scalar(1, { dtype: bad })],
    ['zeros', () => zeros([1], { dtype: bad })], ['ones', () => ones([1], { dtype: bad })],
    ['full', () => full([1], 2, { dtype: bad })], ['eye', () => eye(2, { dtype: bad })],
    ['arange', () => arange(0, 3, 1, { dtype: bad })], ['linspace', () => linspace(0, 1, 3, { dtype: bad })],
    ['randn', () => randn([2], { dtype: bad })], ['astype', () => astype(zeros([1]), bad)],
    ['astype', () => astype(3, bad)], ['astype', () => zeros([1]).astype(bad)],
  ];
  for (const [op, f] of cases) {
    tit(`${op} names the dtype given and the ones supported`, () => {
      expectError(f, DTypeError, `${op}: dtype "int64" is not supported; use 'float64' (the default), 'float32' or 'int32'`);
    });
  }
  tit('a dtype that is not a string', () => {
    expectError(() => zeros([1], { dtype: 64 as never }), DTypeError, 'zeros: dtype 64 is not supported');
  });
});

describe('bad creation arguments', () => {
  tit('array of something that is not numbers', () => {
    const fix = 'give a number, a (nested) array of numbers, a Float64Array, a Float32Array or an Int32Array';
    expectError(() => array('abc' as never), ArgumentError, 'array: cannot make a tensor from string', fix);
    expectError(() => array(null as never), ArgumentError, 'array: cannot make a tensor from null');
    expectError(() => array(undefined as never), ArgumentError, 'array: cannot make a tensor from undefined');
    expectError(() => array({} as never), ArgumentError, 'array: cannot make a tensor from Object');
    expectError(() => array(new Uint8Array(2) as never), ArgumentError, 'array: cannot make a tensor from Uint8Array');
  });

  tit('ragged nested arrays and non-number leaves', () => {
    expectError(() => array([[1, 2], [3]]), ShapeError, 'array: ragged nested array: element [1] has length 1 but the inferred shape [2, 2] expects 2 on axis 1');
    expectError(() => array([[1, 2], 3] as never), ShapeError, 'element [1] has no length');
    expectError(() => array([1, 'a'] as never), ShapeError, 'element [1] is string where a number was expected (inferred shape [2])');
    expectError(() => array([[1], [[2]]] as never), ShapeError, 'element [1][0] is an array where a number was expected');
  });

  tit('a shape option that the data cannot fill, and bad shapes', () => {
    expectError(() => array([1, 2, 3], { shape: [2, 2] }), ShapeError, 'array: 3 values cannot fill shape [2, 2] (4 elements)');
    expectError(() => array([1, 2], { shape: [NaN] }), ShapeError, 'array: shape [NaN] is not a list of non-negative integers');
    expectError(() => zeros([-1]), ShapeError, 'zeros: shape [-1] is not a list of non-negative integers');
    expectError(() => ones([1.5]), ShapeError, 'ones: shape [1.5]');
    expectError(() => full('3' as never, 1), ShapeError, 'full: shape "3"');
    expectError(() => zeros(3 as never), ShapeError, 'zeros: shape 3');
    expectError(() => randn([2, -1]), ShapeError, 'randn: shape [2, -1]');
  });

  tit('bad values for scalar, full, eye, arange, linspace and randn', () => {
    expectError(() => scalar('1' as never), ArgumentError, 'scalar: expected a number, got string');
    expectError(() => full([2], 'x' as never), ArgumentError, 'full: the fill value must be a number, got string');
    expectError(() => eye(-1), ArgumentError, 'eye: n must be a non-negative integer, got -1');
    expectError(() => eye(2.5), ArgumentError, 'got 2.5');
    expectError(() => arange(0, 1, 0), ArgumentError, 'arange: step must be a finite non-zero number, got 0');
    expectError(() => arange(0, 1, NaN), ArgumentError, 'got NaN');
    expectError(() => arange(Infinity), ArgumentError, 'arange: stop must be a finite number, got Infinity');
    expectError(() => arange(NaN, 3), ArgumentError, 'arange: start must be a finite number, got NaN');
    expectError(() => arange('3' as never), ArgumentError, 'arange: stop must be a finite number, got string');
    expectError(() => linspace(0, 1, -1), ArgumentError, 'linspace: n must be a non-negative integer, got -1');
    expectError(() => linspace(0, 1, 2.5), ArgumentError, 'got 2.5');
    expectError(() => randn([2], { seed: 'a' as never }), ArgumentError, 'randn: seed must be an integer, got string');
    expectError(() => randn([2], { seed: 1.5 }), ArgumentError, 'randn: seed must be an integer, got 1.5');
  });
});

describe('arguments that are not tensors', () => {
  const fix = 'Wrap arrays with array(...) first';
  tit('strings, JS arrays, null, undefined, booleans and objects where a tensor goes', () => {
    expectError(() => exp('1' as never), ArgumentError, 'exp: expected a Tensor or a number, got string', fix);
    expectError(() => add([1, 2] as never, 1), ArgumentError, 'add: expected a Tensor or a number, got a JS array', fix);
    expectError(() => mul(1, null as never), ArgumentError, 'mul: expected a Tensor or a number, got null');
    expectError(() => sub(undefined as never, 1), ArgumentError, 'sub: expected a Tensor or a number, got undefined');
    expectError(() => div(true as never, 1), ArgumentError, 'div: expected a Tensor or a number, got boolean');
    expectError(() => neg({} as never), ArgumentError, 'neg: expected a Tensor or a number, got object');
    expectError(() => matmul([[1]] as never, zeros([1, 1])), ArgumentError, 'matmul: expected a Tensor or a number, got a JS array');
    expectError(() => dot(zeros([1]), 'x' as never), ArgumentError, 'dot: expected a Tensor or a number, got string');
    expectError(() => sum('x' as never), ArgumentError, 'sum: expected a Tensor or a number, got string');
    expectError(() => softmax([1, 2] as never), ArgumentError, 'softmax: expected a Tensor or a number, got a JS array');
    expectError(() => reshape('x' as never, [1]), ArgumentError, 'reshape: expected a Tensor or a number, got string');
    expectError(() => where('x' as never, 1, 2), ArgumentError, 'where: expected a Tensor or a number, got string');
    expectError(() => concat([zeros([1]), 'x' as never]), ArgumentError, 'concat: expected a Tensor or a number, got string');
    expectError(() => stack([[1] as never]), ArgumentError, 'stack: expected a Tensor or a number, got a JS array');
    expectError(() => zeros([2]).add('1' as never), ArgumentError, 'add: expected a Tensor or a number, got string');
  });

  tit('concat and stack need a non-empty array', () => {
    expectError(() => concat([]), ArgumentError, 'concat: expected a non-empty array of tensors');
    expectError(() => concat('ab' as never), ArgumentError, 'concat: expected a non-empty array of tensors');
    expectError(() => stack([]), ArgumentError, 'stack: expected a non-empty array of tensors');
  });

  tit('transforms and tidy need functions; differentiated arguments must be tensors or numbers', () => {
    expectError(() => grad(3 as never), ArgumentError, 'grad: expected a function as the first argument, got number');
    expectError(() => jacfwd(null as never), ArgumentError, 'jacfwd: expected a function as the first argument, got null');
    expectError(() => tidy(3 as never), ArgumentError, 'tidy: expected a function, got number');
    expectError(() => grad((x: Tensor) => x)('a' as never), ArgumentError, 'grad: argument[0]: expected a Tensor, a number, or an array or plain object of them; got string');
    expectError(() => jvp((x: Tensor) => x, [[1, 'a']] as never, [[1, 1]] as never), ArgumentError, 'jvp: primals[0][1]: expected a Tensor');
  });
});

describe('transforms: outputs of the wrong kind', () => {
  tit('grad of a non-scalar output names its shape and the fix', () => {
    expectError(() => grad((x: Tensor) => mul(x, 2))(array([1, 2])), ShapeError,
      'grad: the function must return a scalar (shape []), got shape [2]', 'Reduce it (sum, mean) first, or use jacrev/vjp');
    expectError(() => grad((x: Tensor) => reshape(x, [1, 1]))(array(1)), ShapeError, 'got shape [1, 1]');
  });

  tit('valueAndGrad of a non-scalar output names its shape', () => {
    // The op named is grad: valueAndGrad shares its implementation (reported upstream).
    expectError(() => valueAndGrad((x: Tensor) => mul(x, 2))(array([1, 2])), ShapeError, 'must return a scalar (shape []), got shape [2]');
  });

  tit('a function returning a string', () => {
    const f = (_: Tensor) => 'a';
    // @ts-expect-error the types already reject a string result; plain JavaScript gets this error
    expectError(() => grad(f)(array(1)), ArgumentError, 'grad: the function must return a scalar tensor or a number, got string');
    const tree = 'expected a Tensor, a number, or an array or plain object of them; got string';
    expectError(() => jvp(f, [1], [1]), ArgumentError, "jvp: the function's output", tree);
    expectError(() => vjp(f, array(1)), ArgumentError, "vjp: the function's output", tree);
    expectError(() => jacfwd(f)(array([1])), ArgumentError, "jacfwd: the function's output", tree);
    expectError(() => jacrev(f)(array([1])), ArgumentError, "jacrev: the function's output", tree);
  });

  tit('a tracer that escaped its transform', () => {
    let leak: Tensor | null = null;
    grad((x: Tensor) => { leak = mul(x, 2); return sum(leak); })(array([1]));
    expectError(() => exp(leak!), DifferentiationError, 'exp: an input is a grad tracer from a transform that has already returned', 'Return values from the transformed function');
  });
});

describe('NaN and Infinity propagate as IEEE arithmetic (documented outputs)', () => {
  const inf = Infinity;
  // [op, input(s), expected output]: Math.* and IEEE 754 agree on every entry.
  const unary: [string, (x: Tensor) => Tensor, number[], number[]][] = [
    ['exp', exp, [NaN, inf, -inf, -746], [NaN, inf, 0, 0]],
    ['log', log, [0, -0, -1, inf, NaN], [-inf, -inf, NaN, inf, NaN]],
    ['sqrt', sqrt, [-1, inf, 0, NaN], [NaN, inf, 0, NaN]],
    ['reciprocal', reciprocal, [0, -0, inf, NaN], [inf, -inf, 0, NaN]],
    ['sin', sin, [inf, -inf, NaN], [NaN, NaN, NaN]],
    ['cos', cos, [inf, NaN], [NaN, NaN]],
    ['tan', tan, [inf, NaN], [NaN, NaN]],
    ['tanh', tanh, [inf, -inf, NaN, 1000], [1, -1, NaN, 1]],
    ['sigmoid', sigmoid, [inf, -inf, NaN, -1000], [1, 0, NaN, 0]],
    ['abs', abs, [-inf, NaN], [inf, NaN]],
    ['neg', neg, [inf, NaN], [-inf, NaN]],
    ['sign', sign, [-inf, inf, NaN, 0], [-1, 1, NaN, 0]],
  ];
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [name, f, xs, want] of unary) {
      tit(`${name} ${dtype}: ${xs.map(String).join(', ')} -> ${want.map(String).join(', ')}`, () => {
        // Every size class of the SIMD loops: repeat the cases to 9 elements.
        const n = 9;
        const input = Array.from({ length: n }, (_, i) => xs[i % xs.length]);
        const got = Array.from(f(array(input, { dtype })).data());
        expect(got).toEqual(input.map((_, i) => want[i % xs.length]));
      });
    }
  }

  tit('binary ops', () => {
    expect(div(array([1, -1, 0]), 0).toArray()).toEqual([inf, -inf, NaN]);
    expect(add(inf, -inf).item()).toBeNaN();
    expect(mul(0, inf).item()).toBeNaN();
    expect(sub(array([inf]), inf).item()).toBeNaN();
    expect(pow(array([0, 0, -8, NaN, 2]), array([-1, 0.5, 1 / 3, 0, inf])).toArray()).toEqual([inf, 0, NaN, 1, inf]);
    expect(maximum(array([NaN, 1]), array([1, NaN])).toArray()).toEqual([NaN, NaN]);
    expect(minimum(array([NaN, 1]), array([1, NaN])).toArray()).toEqual([NaN, NaN]);
    expect(maximum(-inf, array([1])).toArray()).toEqual([1]);
  });

  tit('comparisons with NaN are false (0)', () => {
    const x = array([NaN, NaN, 1]);
    const y = array([NaN, 1, NaN]);
    expect(greater(x, y).toArray()).toEqual([0, 0, 0]);
    expect(less(x, y).toArray()).toEqual([0, 0, 0]);
    expect(equal(x, y).toArray()).toEqual([0, 0, 0]);
    expect(greaterEqual(x, y).toArray()).toEqual([0, 0, 0]);
    expect(lessEqual(x, y).toArray()).toEqual([0, 0, 0]);
    expect(equal(inf, inf).item()).toBe(1);
  });

  tit('reductions and matmul', () => {
    expect(sum(array([1, NaN, 2])).item()).toBeNaN();
    expect(sum(array([inf, -inf])).item()).toBeNaN();
    expect(sum(array([inf, 1])).item()).toBe(inf);
    expect(mean(array([inf, 1])).item()).toBe(inf);
    expect(max(array([[1, NaN, 3], [1, 2, 3]]), 1).toArray()).toEqual([NaN, 3]);
    expect(min(array([-inf, 1])).item()).toBe(-inf);
    expect(logsumexp(array([-inf, -inf])).item()).toBe(-inf);
    expect(matmul(array([[1, NaN], [1, 2]]), array([[1], [1]])).toArray()).toEqual([[NaN], [3]]);
    expect(matmul(array([[inf, 0]]), array([0, 1])).toArray()).toEqual([NaN]);
    // exp(x - max) / sum with an infinite max: the infinite entry is Inf / Inf, the rest x / Inf.
    expect(softmax(array([inf, 0])).toArray()).toEqual([NaN, 0]);
    expect(softmax(array([NaN, 0])).toArray()).toEqual([NaN, NaN]);
  });

  tit('casting to float32 overflows to Infinity and keeps NaN', () => {
    expect(Array.from(astype(array([1e39, -1e39, NaN]), 'float32').data())).toEqual([inf, -inf, NaN]);
  });

  tit('derivatives at the edges of the domain', () => {
    const d = (f: (x: Tensor) => Tensor, x: number) => (grad(f)(x) as Tensor).item();
    expect(d(log, 0)).toBe(inf);
    expect(d(sqrt, 0)).toBe(inf);
    expect(d(exp, NaN)).toBeNaN();
    expect(d(reciprocal, 0)).toBe(-inf);
    expect(d(tanh, inf)).toBe(0);
    expect(d(sigmoid, -inf)).toBe(0);
    expect(d(abs, NaN)).toBeNaN();
  });
});
