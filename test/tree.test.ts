// Parameter trees: flatten, unflatten and treeMap as public API.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ArgumentError, array, flatten, grad, memory, mul, sub, sum, tidy, treeMap, unflatten, zeros, type Leaf,
} from './helpers/api.js';

describe('flatten and unflatten', () => {
  it('lists the leaves depth first, object keys in insertion order', () => {
    const a = array([1, 2]), b = array(3), c = array([[4]]);
    const { leaves } = flatten({ z: a, y: [b, { x: c, w: 5 }] });
    expect(leaves).toEqual([a, b, c, 5]);
    expect(leaves[0]).toBe(a);
  });

  it('keeps null and undefined in the structure without making them leaves', () => {
    const { leaves, def } = flatten([1, null, { u: undefined, v: 2 }]);
    expect(leaves).toEqual([1, 2]);
    expect(unflatten(def, ['a', 'b'])).toEqual(['a', null, { u: undefined, v: 'b' }]);
  });

  it('rebuilds the same structure with new leaves in the same order', () => {
    const tree = { W: [1, 2], b: { c: 3 }, d: 4 };
    const { leaves, def } = flatten(tree);
    expect(unflatten(def, leaves.map((l) => (l as number) * 10))).toEqual({ W: [10, 20], b: { c: 30 }, d: 40 });
    expect(unflatten(def, leaves)).toEqual(tree);
  });

  it('treats a bare tensor or number as a one-leaf tree', () => {
    const { leaves, def } = flatten(7);
    expect(leaves).toEqual([7]);
    expect(unflatten(def, ['seven'])).toBe('seven');
  });

  it('refuses a leaf count that does not match the structure', () => {
    const { def } = flatten([1, { a: 2 }]);
    expect(() => unflatten(def, [1])).toThrow(ArgumentError);
    expect(() => unflatten(def, [1, 2, 3])).toThrow(/^unflatten: the structure has 2 leaves but 3 values were given/);
  });

  it('refuses a value that is neither a node nor a leaf, naming its path', () => {
    expect(() => flatten({ a: [1, true] })).toThrow(/^argument\.a\[1\]: got boolean/);
    expect(() => flatten({ m: new Map() })).toThrow(/^argument\.m: expected a Tensor, a number, or an array or plain object of them; got Map/);
  });
});

describe('treeMap', () => {
  it('applies fn to every leaf and keeps the structure', () => {
    const out = treeMap((l) => (l as number) + 1, { a: 1, b: [2, { c: 3 }], n: null });
    expect(out).toEqual({ a: 2, b: [3, { c: 4 }], n: null });
  });

  it('maps tensors to tensors', () => {
    const out = treeMap((l) => mul(l, 2), { W: array([[1, 2], [3, 4]]), b: array([5, 6]) });
    expect(out.W.toArray()).toEqual([[2, 4], [6, 8]]);
    expect(out.b.toArray()).toEqual([10, 12]);
  });

  it('passes the leaves at the same position of further trees', () => {
    const seen: Leaf[][] = [];
    const out = treeMap((x, y, z) => { seen.push([x, y, z]); return (x as number) * 100 + (y as number) * 10 + (z as number); },
      [1, { k: 2 }], [3, { k: 4 }], [5, { k: 6 }]);
    expect(out).toEqual([135, { k: 246 }]);
    expect(seen).toEqual([[1, 3, 5], [2, 4, 6]]);
  });

  it('takes a gradient step over a parameter tree', () => {
    const params = { W: array([1, -2]), b: array(0.5) };
    const loss = (p: typeof params) => sum(mul(p.W, p.W)).add(mul(p.b, 3));
    const grads = grad(loss)(params);
    const next = treeMap((p, g) => sub(p, mul(0.1, g)), params, grads);
    expect(next.W.toArray()).toEqual([1 - 0.1 * 2, -2 - 0.1 * -4]);
    expect(next.b.item()).toBeCloseTo(0.5 - 0.1 * 3, 15);
  });

  it('refuses further trees of another structure, naming where they differ', () => {
    const f = (x: Leaf) => x;
    expect(() => treeMap(f, [1, 2], [1])).toThrow(/^treeMap: tree 1 \(counting from 0\) does not have the structure of the first tree: at the top the first tree has an array of 2 and this one an array of 1/);
    expect(() => treeMap(f, { a: 1, b: 2 }, { b: 1, a: 2 })).toThrow(/at the top the first tree has an object with keys \[a, b\] and this one an object with keys \[b, a\]/);
    expect(() => treeMap(f, { a: [1, 2] }, { a: [1, [2]] })).toThrow(/at \.a\[1\] the first tree has a leaf and this one an array of 1/);
    expect(() => treeMap(f, [1, null], [1, 2], [1, null])).toThrow(/tree 1 .*at \[1\] the first tree has null and this one a leaf/);
    expect(() => treeMap(f, [null], [undefined])).toThrow(ArgumentError);
  });

  it('refuses a first argument that is not a function', () => {
    expect(() => treeMap([1] as unknown as (l: Leaf) => number, [1])).toThrow(/^treeMap: the first argument must be a function of the leaves, got object/);
  });

  it('refuses bad leaves with the tree named', () => {
    expect(() => treeMap((l) => l, [1], ['x'])).toThrow(/^treeMap: tree 1\[0\]: expected a Tensor/);
  });

  it('types the result as the tree with leaves replaced by fn\'s result', () => {
    const out = treeMap((l) => String(l), { a: zeros([1]), b: [1, 2] as [number, number] });
    expectTypeOf(out).toEqualTypeOf<{ a: string; b: [string, string] }>();
    expect(out).toEqual({ a: String(zeros([1])), b: ['1', '2'] });
  });

  it('leaves no tensor behind under tidy', () => {
    const before = memory().tensors;
    tidy(() => { treeMap((l) => mul(l, 2), { a: array([1, 2]), b: [array(3)] }); });
    expect(memory().tensors).toBe(before);
  });
});
