// einsum: values against a plain-JS loop over every assignment of the subscripts (written
// here, independent of the lowering), both derivative rules against finite differences,
// the lowering (read from jit programs), vmap (jit runs are in ops-special-jit.test.ts), and the errors for bad specs and mismatched shapes.
import { describe, expect } from 'vitest';
import {
  array, einsum, grad, jit, matmul, seededUniformForTests, trace, vmap, ArgumentError, ShapeError, type Tensor,
} from './helpers/api.js';
import { checkGrads, expectClose } from './helpers/check.js';
import { expectMemoryRestored, spec as tit } from './helpers/memory.js';

expectMemoryRestored();

function uniform(shape: number[], seed: number): Tensor {
  const rand = seededUniformForTests(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return array(Float64Array.from({ length: n }, () => 2 * rand() - 1), { shape });
}

/**
 * The sum over every assignment of the subscripts of the product of the operands' entries,
 * for an explicit spec of letters only. An axis of size 1 broadcasts (its index is always 0).
 */
function naiveEinsum(spec: string, xs: Tensor[]): { shape: number[]; data: number[] } {
  const [lhs, out] = spec.split('->');
  const terms = lhs.split(',');
  const size = new Map<string, number>();
  terms.forEach((t, i) => [...t].forEach((l, a) => size.set(l, Math.max(size.get(l) ?? 1, xs[i].shape[a]))));
  const labels = [...size.keys()];
  const datas = xs.map((x) => x.data());
  const shape = [...out].map((l) => size.get(l)!);
  const data = new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0);
  const index = new Map<string, number>(labels.map((l) => [l, 0]));
  const total = labels.reduce((acc, l) => acc * size.get(l)!, 1);
  for (let step = 0; step < total; step++) {
    let rest = step;
    for (const l of labels) {
      index.set(l, rest % size.get(l)!);
      rest = Math.floor(rest / size.get(l)!);
    }
    let product = 1;
    terms.forEach((t, i) => {
      let flat = 0;
      [...t].forEach((l, a) => (flat = flat * xs[i].shape[a] + (index.get(l)! % xs[i].shape[a])));
      product *= datas[i][flat];
    });
    let at = 0;
    [...out].forEach((l, a) => (at = at * shape[a] + index.get(l)!));
    data[at] += product;
  }
  return { shape, data };
}

function expectMatchesNaive(spec: string, xs: Tensor[], reference = spec): void {
  const got = einsum(spec, ...xs);
  const want = naiveEinsum(reference, xs);
  expect(got.shape).toEqual(want.shape);
  expectClose(got.data(), want.data, 1e-12, 1e-14);
}

describe('einsum values', () => {
  tit('contracts two operands: matmul, batched matmul, outer product, inner product', () => {
    expectMatchesNaive('ij,jk->ik', [uniform([3, 4], 1), uniform([4, 5], 2)]);
    expectMatchesNaive('bij,bjk->bik', [uniform([2, 3, 4], 3), uniform([2, 4, 5], 4)]);
    expectMatchesNaive('i,j->ij', [uniform([3], 5), uniform([4], 6)]);
    expectMatchesNaive('i,i->', [uniform([6], 7), uniform([6], 8)]);
    expectMatchesNaive('bi,bi->b', [uniform([3, 5], 9), uniform([3, 5], 10)]);
    expectMatchesNaive('ij,kj->ikj', [uniform([2, 3], 11), uniform([4, 3], 12)]);
  });
  tit('transposes and sums a single operand', () => {
    expectMatchesNaive('ijk->kji', [uniform([2, 3, 4], 13)]);
    expectMatchesNaive('ijk->j', [uniform([2, 3, 4], 14)]);
    expectMatchesNaive('ij->', [uniform([2, 3], 15)]);
  });
  tit('takes diagonals for a subscript repeated within an operand', () => {
    expectMatchesNaive('ii->i', [uniform([4, 4], 16)]);
    expectMatchesNaive('ii->', [uniform([4, 4], 17)]);
    expectMatchesNaive('iji->j', [uniform([3, 2, 3], 18)]);
    expectMatchesNaive('iii->i', [uniform([3, 3, 3], 19)]);
    expectMatchesNaive('ii,ij->j', [uniform([3, 3], 20), uniform([3, 4], 21)]);
  });
  tit('contracts three and four operands', () => {
    expectMatchesNaive('i,ij,j->', [uniform([4], 22), uniform([4, 5], 23), uniform([5], 24)]);
    expectMatchesNaive('ij,jk,kl->il', [uniform([2, 3], 25), uniform([3, 4], 26), uniform([4, 2], 27)]);
    expectMatchesNaive('ab,bc,cd,da->', [uniform([2, 3], 28), uniform([3, 4], 29), uniform([4, 5], 30), uniform([5, 2], 31)]);
    expectMatchesNaive('bi,bj,ij,b->bj', [uniform([2, 3], 32), uniform([2, 4], 33), uniform([3, 4], 34), uniform([2], 35)]);
    expectMatchesNaive('ia,ib,ic,id->abcd', [uniform([3, 2], 36), uniform([3, 2], 37), uniform([3, 1], 38), uniform([3, 2], 39)]);
    expectMatchesNaive('i,i,i->', [uniform([5], 80), uniform([5], 81), uniform([5], 82)]);
    expectMatchesNaive('bi,bj,bk->bijk', [uniform([2, 3], 83), uniform([2, 2], 84), uniform([2, 4], 85)]);
    expectMatchesNaive('ij,ij,ij->i', [uniform([3, 4], 86), uniform([3, 4], 87), uniform([3, 4], 88)]);
  });
  tit('without ->, outputs the subscripts used once in alphabetical order', () => {
    expectMatchesNaive('ij,jk', [uniform([3, 4], 40), uniform([4, 2], 41)], 'ij,jk->ik');
    expectMatchesNaive('ba', [uniform([3, 4], 42)], 'ba->ab');
    expectMatchesNaive('ii', [uniform([3, 3], 43)], 'ii->');
    expectMatchesNaive('i,i', [uniform([3], 44), uniform([3], 45)], 'i,i->');
  });
  tit('broadcasts ... axes as NumPy, size-1 axes included', () => {
    expectMatchesNaive('...ij,...jk->...ik', [uniform([2, 3, 4], 46), uniform([4, 5], 47)], 'xij,jk->xik');
    expectMatchesNaive('...ij,...jk->...ik', [uniform([2, 1, 3, 4], 48), uniform([3, 4, 5], 49)], 'xyij,yjk->xyik');
    expectMatchesNaive('...ij,...jk->...ik', [uniform([2, 1, 3, 4], 50), uniform([1, 3, 4, 5], 51)], 'xyij,xyjk->xyik');
    expectMatchesNaive('i...->...i', [uniform([3, 2, 4], 52)], 'ixy->xyi');
    expectMatchesNaive('...ii->...i', [uniform([2, 3, 3], 53)], 'xii->xi');
    expectMatchesNaive('b...,b...', [uniform([2, 3], 54), uniform([2, 1], 55)], 'bx,bx->x');
    expectMatchesNaive('...i,...i->', [uniform([2, 3], 56), uniform([3], 57)], 'xi,i->');
  });
  tit('accepts whitespace, scalars and zero-size axes', () => {
    expectMatchesNaive(' ij , jk -> ik ', [uniform([2, 3], 58), uniform([3, 2], 59)], 'ij,jk->ik');
    expect(einsum(',i->i', array(2), array([1, 2])).toArray()).toEqual([2, 4]);
    expect(einsum('ij,jk->ik', array(new Float64Array(0), { shape: [2, 0] }), array(new Float64Array(0), { shape: [0, 3] })).toArray())
      .toEqual([[0, 0, 0], [0, 0, 0]]);
  });
  tit('gives the same values when called again with the same spec and shapes (the cached plan)', () => {
    const a = uniform([2, 3, 3], 89), b = uniform([3, 4], 90), c = uniform([2, 3, 3], 91);
    const first = einsum('bii,ij->bj', a, b).data();
    expect(einsum('bii,ij->bj', a, b).data()).toEqual(first);
    expectMatchesNaive('bii,ij->bj', [c, b]);
  });
  tit('keeps float32 as float32', () => {
    const a = array([[1, 2], [3, 4]], { dtype: 'float32' });
    const out = einsum('ij,jk->ik', a, a);
    expect(out.dtype).toBe('float32');
    expect(out.toArray()).toEqual([[7, 10], [15, 22]]);
  });
});

describe('einsum derivatives', () => {
  tit('jvp and vjp of a matrix product agree with finite differences', () => {
    checkGrads((a, b) => einsum('ij,jk->ik', a, b), [uniform([3, 4], 60), uniform([4, 2], 61)]);
  });
  tit('jvp and vjp of a batched product with a diagonal agree with finite differences', () => {
    checkGrads((a, b) => einsum('bii,bij->bj', a, b), [uniform([2, 3, 3], 62), uniform([2, 3, 4], 63)]);
  });
  tit('jvp and vjp of a three-operand bilinear form agree with finite differences', () => {
    checkGrads((x, m, y) => einsum('i,ij,j->', x, m, y), [uniform([3], 64), uniform([3, 4], 65), uniform([4], 66)]);
  });
  tit('jvp and vjp of a four-operand contraction with broadcasting agree with finite differences', () => {
    checkGrads((a, b, c, d) => einsum('...ab,bc,...c,d->...ad', a, b, c, d),
      [uniform([2, 3, 2], 67), uniform([2, 3], 68), uniform([1, 3], 69), uniform([2], 70)]);
  });
  tit('the gradient of the trace is the identity', () => {
    const g = grad((x: Tensor) => einsum('ii->', x))(uniform([3, 3], 71)) as Tensor;
    expect(g.toArray()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  });
});

/** The primitives of the program einsum(spec, ...) traces to, in order. */
function loweredTo(spec: string, shapes: number[][]): string[] {
  const f = jit((...xs: Tensor[]) => einsum(spec, ...xs));
  const text = f.program(...shapes.map((shape, i) => uniform(shape, 90 + i))).toString();
  return [...text.matchAll(/ = ([a-z_]+)/g)].map((m) => m[1]);
}

describe('einsum lowering', () => {
  tit('a batched matrix product is one matmul', () => {
    expect(loweredTo('bij,bjk->bik', [[2, 3, 4], [2, 4, 5]])).toEqual(['matmul']);
  });
  tit('a product with transposed operands is transposes and one matmul, never an elementwise loop', () => {
    const prims = loweredTo('ji,kj->ik', [[4, 3], [5, 4]]);
    expect(prims.filter((p) => p === 'matmul')).toHaveLength(1);
    expect(prims.every((p) => ['matmul', 'transpose', 'reshape'].includes(p))).toBe(true);
  });
  tit('a bilinear form is a matrix-vector product and one reduction of a product', () => {
    expect(loweredTo('i,ij,j->', [[3], [3, 4], [4]]).filter((p) => p !== 'reshape')).toEqual(['matmul', 'mul', 'sum']);
  });
  tit('contracts the pair with the smallest intermediate first', () => {
    // a [30, 2], b [2, 30], c [30, 2]: (a, b) first would make a 30 x 30 intermediate, (b, c)
    // first makes a 2 x 2 one, then a [30, 2] times it.
    const f = jit((a: Tensor, b: Tensor, c: Tensor) => einsum('ij,jk,kl->il', a, b, c));
    const text = f.program(uniform([30, 2], 95), uniform([2, 30], 96), uniform([30, 2], 97)).toString();
    expect(text).toMatch(/:f64\[2,2\] = matmul[^\n]*\n[^\n]*:f64\[30,2\] = matmul/);
    expect(text).not.toContain('f64[30,30]');
  });
});

describe('einsum under transforms', () => {
  tit('vmap(einsum) maps over a leading axis', () => {
    const a = uniform([3, 2, 4], 75), b = uniform([4, 5], 76);
    const mapped = vmap((x: Tensor) => einsum('ij,jk->ik', x, b))(a) as Tensor;
    expectClose(mapped.data(), matmul(a, b).data(), 1e-14);
  });
  tit('equals the direct ops it replaces', () => {
    const m = uniform([4, 4], 77);
    expectClose(einsum('ii->', m).data(), trace(m).data(), 1e-15);
  });
});

describe('einsum errors', () => {
  const a = () => array([[1, 2, 3], [4, 5, 6]]), b = () => array([[1, 2], [3, 4]]);
  tit('names the operand count when it differs from the spec', () => {
    expect(() => einsum('ij,jk->ik', a())).toThrow(ArgumentError);
    expect(() => einsum('ij,jk->ik', a())).toThrow(/einsum: spec 'ij,jk->ik' names 2 operand\(s\) but 1 were given \(shapes \[2, ?3\]\)/);
  });
  tit('rejects a subscript count that differs from the rank, naming the shapes', () => {
    expect(() => einsum('ijk->i', a())).toThrow(ShapeError);
    expect(() => einsum('ijk->i', a())).toThrow(/operand 0 of spec 'ijk->i' has 3 subscript\(s\) but shape \[2, ?3\]/);
  });
  tit('rejects mismatched sizes of one subscript, naming both shapes', () => {
    expect(() => einsum('ij,jk->ik', a(), b())).toThrow(ShapeError);
    expect(() => einsum('ij,jk->ik', a(), b())).toThrow(ShapeError);
    expect(() => einsum('ij,jk->ik', a(), b())).toThrow(/einsum: subscript 'j' of spec 'ij,jk->ik' has sizes 3 in operand 0 and 2 in operand 1 \(shapes \[2, ?3\], \[2, ?2\]\)/);
  });
  tit('rejects ... axes that do not broadcast', () => {
    expect(() => einsum('...i,...i->...', array([[1, 2], [3, 4], [5, 6]]), a().reshape([3, 2]).slice([0, 0], [2, 2]))).toThrow(/broadcast \(\.\.\.\) axes/);
  });
  tit('rejects bad characters, two arrows, two ellipses, and bad outputs', () => {
    expect(() => einsum('i1->i', array([1]))).toThrow(/'1' in operand 0/);
    expect(() => einsum('i->i->i', array([1]))).toThrow(/more than one '->'/);
    expect(() => einsum('...i...->i', array([1]))).toThrow(/more than one '\.\.\.'/);
    expect(() => einsum('ij->ii', b())).toThrow(/repeats 'i' in the output/);
    expect(() => einsum('ij->k', b())).toThrow(/output subscript 'k' of spec 'ij->k' appears in no operand/);
    expect(() => einsum('ij')).toThrow(/no operands/);
  });
});
