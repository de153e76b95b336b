// Sparse Jacobians: structural sparsity detection by tracing, coloring, and compressed
// evaluation in forward and reverse mode, against dense Jacobians and closed forms.
import { describe, expect, it } from 'vitest';
import {
  ArgumentError, ShapeError, array, colorColumns, colorRows, concat, exp, grad, greater, hessian, jacfwd, matmul, max, mul,
  neg, pad, randn, sin, softmax, sparseJacobian, sparsityPattern, stopGradient, sum, tanh, tidy, transpose, where,
  zeros, type PatternLike, type Tensor,
} from './helpers/api.js';
import { definePrimitive } from '../src/core/primitive.js';
import { bind } from '../src/core/trace.js';
import type { DenseTensor } from '../src/tensor/tensor.js';
import { expectClose } from './helpers/check.js';
import { expectMemoryRestored } from './helpers/memory.js';
import { batchSame } from '../src/core/batch-axes.js';

expectMemoryRestored();

/** The pattern's rows as lists of column indices. */
function rows(p: PatternLike): number[][] {
  return Array.from({ length: p.shape[0] }, (_, i) => Array.from(p.indices).slice(p.indptr[i], p.indptr[i + 1]));
}

/** x_{i-1} - 2 x_i + x_{i+1} + sin(x_i) with zero boundary values, by slices and concat. */
function tridiagonal(x: Tensor): Tensor {
  const n = x.shape[0];
  const left = concat([zeros([1], { dtype: x.dtype }), x.slice([0], [n - 1])]);
  const right = concat([x.slice([1], [n - 1]), zeros([1], { dtype: x.dtype })]);
  return left.add(right).sub(x.mul(2)).add(sin(x));
}

/** Second neighbours too: a pentadiagonal Jacobian, through pad instead of concat. */
function pentadiagonal(x: Tensor): Tensor {
  const n = x.shape[0];
  const shifted = (k: number) => (k > 0 ? pad(x.slice([k], [n - k]), [[0, k]]) : pad(x.slice([0], [n + k]), [[-k, 0]]));
  return shifted(-2).mul(0.5).add(shifted(-1)).add(shifted(1)).add(shifted(2).mul(x)).add(tanh(x));
}

/** No two columns of one color have a nonzero in the same row. */
function expectValidColumnColoring(p: PatternLike, colors: Int32Array): void {
  for (const cols of rows(p)) {
    const seen = new Set(cols.map((j) => colors[j]));
    expect(seen.size, `row with columns ${cols}`).toBe(cols.length);
  }
}

describe('sparsityPattern', () => {
  it('finds the diagonal of elementwise functions, for inputs of any shape', () => {
    tidy(() => {
      const p = sparsityPattern((x: Tensor) => sin(x).mul(x).add(exp(neg(x))).div(2), zeros([2, 3]));
      expect(p.shape).toEqual([6, 6]);
      expect(p.outShape).toEqual([2, 3]);
      expect(rows(p)).toEqual([[0], [1], [2], [3], [4], [5]]);
    });
  });

  it('unions broadcast-aligned elements: (x_i + x_j) depends on {i, j}', () => {
    tidy(() => {
      const p = sparsityPattern((x: Tensor) => x.reshape([3, 1]).add(x.reshape([1, 3])), zeros([3]));
      expect(rows(p)).toEqual([[0], [0, 1], [0, 2], [0, 1], [1], [1, 2], [0, 2], [1, 2], [2]]);
    });
  });

  it('finds banded patterns of finite-difference stencils built from slices, concat and pad', () => {
    tidy(() => {
      expect(rows(sparsityPattern(tridiagonal, zeros([5])))).toEqual([[0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4]]);
      expect(rows(sparsityPattern(pentadiagonal, zeros([6])))).toEqual([
        [0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3, 4], [1, 2, 3, 4, 5], [2, 3, 4, 5], [3, 4, 5],
      ]);
    });
  });

  it('keeps the structure of a constant sparse matrix in matmul, and is dense for a product of traced values', () => {
    tidy(() => {
      const A = array([[2, 0, 0, 1], [0, 0, 3, 0], [0, 0, 0, 0]]);
      expect(rows(sparsityPattern((x: Tensor) => matmul(A, x), zeros([4])))).toEqual([[0, 3], [2], []]);
      // Transposed operands and a traced left factor: (x^T B)_j depends on x_i where B_ij != 0.
      const B = array([[1, 0], [0, 0], [5, 6]]);
      expect(rows(sparsityPattern((x: Tensor) => matmul(x, B), zeros([3])))).toEqual([[0, 2], [2]]);
      expect(rows(sparsityPattern((x: Tensor) => matmul(transpose(B), x), zeros([3])))).toEqual([[0, 2], [2]]);
      // Block-diagonal through a batched matmul: batch b only sees its own 2 x 2 block.
      const M = array([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
      expect(rows(sparsityPattern((x: Tensor) => matmul(M, x.reshape([2, 2, 1])), zeros([4])))).toEqual([[0, 1], [0, 1], [2, 3], [2, 3]]);
      const gram = sparsityPattern((x: Tensor) => matmul(x.reshape([2, 2]), x.reshape([2, 2]).T), zeros([4]));
      expect(rows(gram)).toEqual([[0, 1], [0, 1, 2, 3], [0, 1, 2, 3], [2, 3]]);
    });
  });

  it('unions over reduced axes for sum, max and mean, with or without keepdims', () => {
    tidy(() => {
      const x = zeros([2, 3]);
      expect(rows(sparsityPattern((t: Tensor) => sum(t, 1), x))).toEqual([[0, 1, 2], [3, 4, 5]]);
      expect(rows(sparsityPattern((t: Tensor) => max(t, 0, { keepdims: true }), x))).toEqual([[0, 3], [1, 4], [2, 5]]);
      expect(rows(sparsityPattern((t: Tensor) => t.mean(), x))).toEqual([[0, 1, 2, 3, 4, 5]]);
      // softmax couples every element of a row with the others of that row only.
      expect(rows(sparsityPattern((t: Tensor) => softmax(t, 1), x))).toEqual([[0, 1, 2], [0, 1, 2], [0, 1, 2], [3, 4, 5], [3, 4, 5], [3, 4, 5]]);
    });
  });

  it('follows transpose, and drops what has no derivative (comparisons, stopGradient)', () => {
    tidy(() => {
      expect(rows(sparsityPattern((t: Tensor) => transpose(t), zeros([2, 3])))).toEqual([[0], [3], [1], [4], [2], [5]]);
      expect(rows(sparsityPattern((t: Tensor) => stopGradient(t).add(greater(t, 0)), zeros([2])))).toEqual([[], []]);
    });
  });

  it('lets an exactly-zero constant cut a dependency in mul and where, but not a traced condition', () => {
    tidy(() => {
      const mask = array([1, 0, 2]);
      expect(rows(sparsityPattern((t: Tensor) => mul(t, mask), zeros([3])))).toEqual([[0], [], [2]]);
      const flip = (t: Tensor) => t.slice([1], [1]).reshape([1]).broadcastTo([3]);
      expect(rows(sparsityPattern((t: Tensor) => where(mask, t, flip(t)), zeros([3])))).toEqual([[0], [1], [2]]);
      expect(rows(sparsityPattern((t: Tensor) => where(array([1, 0, 0]), t, flip(t)), zeros([3])))).toEqual([[0], [1], [1]]);
      // A condition computed from x may change with x: both branches count.
      expect(rows(sparsityPattern((t: Tensor) => where(greater(t, 0), t, flip(t)), zeros([3])))).toEqual([[0, 1], [1], [1, 2]]);
    });
  });

  it('takes a primitive declared dense as dense (safe, maybe wasteful)', () => {
    tidy(() => {
      const opaque = definePrimitive({
        name: 'test_opaque_identity',
        impl: ([x]) => neg(neg(x)) as DenseTensor,
        shape: ([x]) => x,
        saves: [],
        sparsity: 'dense',
        batch: batchSame(),
        jvp: ({ tangents: [t] }) => t,
        vjp: ({ ct }) => [ct],
      });
      const p = sparsityPattern((t: Tensor) => bind(opaque, [t.mul(2)], {}), zeros([3]));
      expect(rows(p)).toEqual([[0, 1, 2], [0, 1, 2], [0, 1, 2]]);
    });
  });

  it('gives an empty pattern when the output does not depend on x', () => {
    tidy(() => {
      const p = sparsityPattern(() => array([1, 2]), zeros([3]));
      expect(p.shape).toEqual([2, 3]);
      expect(p.nnz).toBe(0);
    });
  });
});

describe('coloring', () => {
  it('colors a tridiagonal pattern with 3 colors by columns and by rows, whatever n is', () => {
    tidy(() => {
      for (const n of [3, 10, 1000]) {
        const p = sparsityPattern(tridiagonal, zeros([n]));
        const c = colorColumns(p);
        expect(c.count).toBe(3);
        expectValidColumnColoring(p, c.colors);
        expect(colorRows(p).count).toBe(3);
      }
      expect(colorColumns(sparsityPattern(pentadiagonal, zeros([50]))).count).toBe(5);
    });
  });

  it('never gives two columns sharing a row one color (nor two rows sharing a column), on random patterns', () => {
    let state = 12345;
    const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 20; trial++) {
      const m = 1 + Math.floor(rand() * 30), n = 1 + Math.floor(rand() * 30), density = rand() * 0.3;
      const indptr = [0], indices: number[] = [];
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) if (rand() < density) indices.push(j);
        indptr.push(indices.length);
      }
      const p = { shape: [m, n] as [number, number], indptr, indices };
      const c = colorColumns(p);
      expectValidColumnColoring(p, c.colors);
      expect(Math.max(-1, ...c.colors) + 1).toBe(c.count);
      // Row coloring is column coloring of the transpose.
      const r = colorRows(p);
      for (let j = 0; j < n; j++) {
        const owners = rows(p).flatMap((cols, i) => (cols.includes(j) ? [r.colors[i]] : []));
        expect(new Set(owners).size).toBe(owners.length);
      }
    }
  });

  it('needs n column colors but 2 row colors when one row is dense', () => {
    tidy(() => {
      const p = sparsityPattern((x: Tensor) => concat([x.mul(x), sum(x).reshape([1])]), zeros([6]));
      expect(colorColumns(p).count).toBe(6);
      expect(colorRows(p).count).toBe(2);
    });
  });

  it('rejects a malformed pattern', () => {
    expect(() => colorColumns({ shape: [2, 2], indptr: [0, 1], indices: [0] })).toThrow(ArgumentError);
    expect(() => colorColumns({ shape: [1, 2], indptr: [0, 1], indices: [5] })).toThrow(/outside \[0, 2\)/);
  });
});

describe('sparseJacobian', () => {
  it('takes a tridiagonal Jacobian at n = 10,000 in 3 colors, matching the closed form, in both modes', () => {
    tidy(() => {
      const n = 10_000;
      const x = randn([n], { seed: 3 });
      const xs = x.data();
      for (const mode of ['fwd', 'rev'] as const) {
        const J = sparseJacobian(tridiagonal, { mode })(x);
        expect(J.shape).toEqual([n, n]);
        expect(J.colors).toBe(3);
        expect(J.passes).toBe(1); // all three colors in one chunked pass
        expect(J.indptr.length).toBe(n + 1);
        expect(J.values.length).toBe(3 * n - 2);
        for (let i = 0; i < n; i++) {
          for (let k = J.indptr[i]; k < J.indptr[i + 1]; k++) {
            const j = J.indices[k];
            const want = j === i ? -2 + Math.cos(xs[i]) : Math.abs(j - i) === 1 ? 1 : NaN;
            if (Math.abs(J.values[k] - want) > 1e-14) throw new Error(`${mode}: J[${i}, ${j}] = ${J.values[k]}, expected ${want}`);
          }
        }
      }
    });
  });

  it('takes one forward pass per color with chunkSize 1: 3 passes at n = 10,000, counted by calls to f', () => {
    tidy(() => {
      const x = randn([10_000], { seed: 4 });
      let calls = 0;
      const counted = (t: Tensor) => {
        calls++;
        return tridiagonal(t);
      };
      const pattern = sparsityPattern(counted, x);
      expect(calls).toBe(1);
      calls = 0;
      const J = sparseJacobian(counted, { pattern, chunkSize: 1 })(x);
      expect(J.colors).toBe(3);
      expect(J.passes).toBe(3);
      expect(calls).toBe(3);
      calls = 0;
      const R = sparseJacobian(counted, { pattern, mode: 'rev', chunkSize: 1 })(x);
      expect([R.passes, calls]).toEqual([3, 1]); // one taped evaluation, three backward sweeps
      expectClose(R.values, J.values, 0, 1e-15);
    });
  });

  it('matches the dense Jacobian at small n for several functions, in both modes', () => {
    tidy(() => {
      const A = array([[2, 0, 0, 1, 0], [0, 0, 3, 0, 0], [0, -1, 0, 0, 4]]);
      const cases: [string, (x: Tensor) => Tensor, Tensor][] = [
        ['tridiagonal', tridiagonal, randn([7], { seed: 5 })],
        ['pentadiagonal', pentadiagonal, randn([8], { seed: 6 })],
        ['sparse matmul', (x) => tanh(matmul(A, x)).mul(x.slice([0], [3])), randn([5], { seed: 7 })],
        ['row softmax of a matrix', (x) => softmax(x.mul(x), 1).add(sum(x, 0)), randn([3, 4], { seed: 8 })],
        ['dense row', (x) => concat([exp(x), sum(x.mul(x)).reshape([1])]), randn([5], { seed: 9 })],
      ];
      for (const [name, f, x] of cases) {
        const dense = (jacfwd(f)(x) as Tensor).data();
        for (const mode of ['fwd', 'rev', 'auto'] as const) {
          const J = sparseJacobian(f, { mode })(x);
          expect(J.toDense().shape, name).toEqual([...f(x).shape, ...x.shape]);
          expectClose(J.toDense().data(), dense, 1e-13, 1e-14);
        }
      }
    });
  });

  it('gives a sparse Hessian as the sparse Jacobian of grad (the dependency trace sees through the tape)', () => {
    tidy(() => {
      // f = sum x_i x_{i+1} + sum sin x_i has a tridiagonal Hessian: 1 off the diagonal, -sin x_i on it.
      const f = (x: Tensor) => {
        const n = x.shape[0];
        return sum(x.slice([0], [n - 1]).mul(x.slice([1], [n - 1]))).add(sum(sin(x)));
      };
      const x = randn([50], { seed: 10 });
      for (const mode of ['fwd', 'rev'] as const) {
        const H = sparseJacobian(grad(f), { mode })(x);
        expect(H.colors).toBe(3);
        expect(H.values.length).toBe(3 * 50 - 2);
        expectClose(H.toDense().data(), (hessian(f)(x) as Tensor).data(), 1e-14, 1e-15);
      }
    });
  });

  it("'auto' takes the mode with fewer colors", () => {
    tidy(() => {
      const denseRow = (x: Tensor) => concat([exp(x), sum(x).reshape([1])]);
      const denseColumn = (x: Tensor) => x.mul(x).add(x.slice([0], [1]));
      expect(sparseJacobian(denseRow, { mode: 'auto' })(randn([6])).mode).toBe('rev');
      expect(sparseJacobian(denseColumn, { mode: 'auto' })(randn([6])).mode).toBe('fwd');
    });
  });

  it('uses a given pattern, reads entries outside it as zero, and checks its shape', () => {
    tidy(() => {
      const x = array([0.5, -1, 2]);
      const diagonalOnly = { shape: [3, 3] as [number, number], indptr: [0, 1, 2, 3], indices: [0, 1, 2] };
      const J = sparseJacobian((t: Tensor) => t.mul(t), { pattern: diagonalOnly })(x);
      expect(Array.from(J.values)).toEqual([1, -2, 4]);
      expect(J.colors).toBe(1);
      expect(() => sparseJacobian((t: Tensor) => t, { pattern: diagonalOnly })(zeros([4]))).toThrow(ShapeError);
      expect(() => sparseJacobian((t: Tensor) => concat([t, t]), { pattern: diagonalOnly })(x)).toThrow(/3 rows but f's output has 6/);
      expect(() => sparseJacobian((t: Tensor) => concat([t, t]), { pattern: diagonalOnly, mode: 'rev' })(x)).toThrow(ShapeError);
    });
  });

  it('handles float32 and outputs that do not depend on x', () => {
    tidy(() => {
      const J = sparseJacobian(tridiagonal)(array([0.1, 0.2, 0.3], { dtype: 'float32' }));
      expect(J.dtype).toBe('float32');
      expect(J.values).toBeInstanceOf(Float32Array);
      expectClose(J.values, [-2 + Math.cos(0.1), 1, 1, -2 + Math.cos(0.2), 1, 1, -2 + Math.cos(0.3)], 1e-6);
      const C = sparseJacobian(() => array([1, 2]))(zeros([3]));
      expect([C.colors, C.passes, C.values.length]).toEqual([0, 0, 0]);
      expect(C.toDense().shape).toEqual([2, 3]);
    });
  });

  it('rejects bad options and non-tensor outputs', () => {
    expect(() => sparseJacobian((t: Tensor) => t, { mode: 'both' as 'fwd' })).toThrow(ArgumentError);
    expect(() => sparseJacobian((t: Tensor) => t, { chunkSize: 0 })).toThrow(/chunkSize/);
    tidy(() => {
      expect(() => sparseJacobian((t: Tensor) => [t, t])(zeros([2]))).toThrow(/one tensor/);
    });
  });
});
