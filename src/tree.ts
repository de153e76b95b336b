// Argument trees: arrays and plain objects whose leaves are tensors or numbers, flattened to
// a list of leaves and rebuilt from one, as JAX's pytrees.
import { ArgumentError } from './errors.js';
import { Tensor, foreignTensorMessage, isForeignTensor } from './tensor/tensor.js';

export type Leaf = Tensor | number;
export type Tree = Leaf | null | undefined | readonly Tree[] | { readonly [key: string]: Tree };

export type TreeDef =
  | { kind: 'leaf' }
  | { kind: 'none'; value: null | undefined }
  | { kind: 'array'; children: TreeDef[] }
  | { kind: 'object'; keys: string[]; children: TreeDef[] };

/**
 * A Promise or other thenable. Transforms and tidy are synchronous: a thenable result is
 * refused, and its rejection, if any, is handled here so that it never surfaces later as an
 * unhandled rejection that ends the process.
 */
export function isThenable(x: unknown): x is PromiseLike<unknown> {
  if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return false;
  const then = (x as { then?: unknown }).then;
  if (typeof then !== 'function') return false;
  try {
    then.call(x, undefined, () => undefined);
  } catch {
    // a broken thenable: nothing is pending behind it
  }
  return true;
}

/** The error for an async function or a returned Promise, naming `op`. */
export function asyncMessage(op: string, declared = false): string {
  const what = declared ? 'fn is an async function, which returns a Promise' : 'fn returned a Promise';
  return `${op}: ${what}. dualtape transforms and tidy run synchronously and cannot track tensors created after an await; keep the async work outside and pass a synchronous function.`;
}

export function isPlainObject(x: unknown): x is Record<string, Tree> {
  if (x === null || typeof x !== 'object') return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * The deepest nesting of arrays and objects a tree may have. Deeper trees are refused with an
 * ArgumentError instead of overflowing the JS stack in the recursive walks.
 */
export const MAX_TREE_DEPTH = 1000;

/**
 * A parameter tree's leaves (tensors and numbers) in depth-first order, object keys in
 * insertion order, and its structure `def` for {@link unflatten}. Arrays and plain objects are
 * nodes; `null` and `undefined` are kept in the structure and are not leaves. Anything else
 * (booleans, typed arrays, class instances) is an ArgumentError naming its path.
 * `what` names the tree in errors.
 * @example
 * const { leaves, def } = flatten({ W: randn([2, 2]), b: [zeros([2]), 0.5] });
 * leaves.length; // 3: W, b[0], b[1]
 * const rebuilt = unflatten(def, leaves.map((l) => mul(l, 2)));
 */
export function flatten(tree: unknown, what = 'argument'): { leaves: Leaf[]; def: TreeDef } {
  const leaves: Leaf[] = [];
  let depth = 0;
  const walk = (node: unknown, path: string): TreeDef => {
    if (++depth > MAX_TREE_DEPTH) {
      throw new ArgumentError(`${what}: the tree is nested deeper than ${MAX_TREE_DEPTH} levels (at ${path.slice(0, 40)}...); flatten it into an array or an object of tensors.`);
    }
    const def = walkNode(node, path);
    depth--;
    return def;
  };
  const walkNode = (node: unknown, path: string): TreeDef => {
    if (node instanceof Tensor || typeof node === 'number') {
      leaves.push(node);
      return { kind: 'leaf' };
    }
    if (node === null || node === undefined) return { kind: 'none', value: node };
    if (Array.isArray(node)) return { kind: 'array', children: node.map((c, i) => walk(c, `${path}[${i}]`)) };
    if (isPlainObject(node)) {
      const keys = Object.keys(node);
      return { kind: 'object', keys, children: keys.map((key) => walk(node[key], `${path}.${key}`)) };
    }
    if (isForeignTensor(node)) throw new ArgumentError(foreignTensorMessage(`${what}${path}`));
    if (isThenable(node)) throw new ArgumentError(asyncMessage(`${what}${path}`));
    const kind = typeof node === 'object' ? (node.constructor?.name ?? 'object') : typeof node;
    if (typeof node === 'boolean' || typeof node === 'bigint' || ArrayBuffer.isView(node)) {
      throw new ArgumentError(`${what}${path}: got ${kind}; dualtape tensors are float64 or float32, and integer or boolean values cannot be differentiated. Convert with array(...) (e.g. array(Float64Array.from(data))) or keep the value out of the differentiated arguments (close over it instead).`);
    }
    throw new ArgumentError(`${what}${path}: expected a Tensor, a number, or an array or plain object of them; got ${kind}. Convert data with array(...) and keep other values out of differentiated arguments and results.`);
  };
  const def = walk(tree, '');
  return { leaves, def };
}

/**
 * The tree of structure `def` (from {@link flatten}) with `leaves` in place of the original
 * leaves, in the same order. The leaves may be anything; their count must match the structure's.
 * @example
 * const { leaves, def } = flatten([x, { y }]);
 * unflatten(def, [1, 2]); // [1, { y: 2 }]
 */
export function unflatten<T = Tree>(def: TreeDef, leaves: readonly unknown[]): T {
  const count = (d: TreeDef): number => d.kind === 'leaf' ? 1 : d.kind === 'none' ? 0 : d.children.reduce((n, c) => n + count(c), 0);
  const n = count(def);
  if (n !== leaves.length) {
    throw new ArgumentError(`unflatten: the structure has ${n} leaves but ${leaves.length} values were given; give one value per leaf, in the order flatten returned them.`);
  }
  return rebuild<T>(def, leaves);
}

/** @internal unflatten without the count check, for the transforms (their counts match by construction). */
export function rebuild<T = Tree>(def: TreeDef, leaves: readonly unknown[]): T {
  let i = 0;
  const build = (d: TreeDef): unknown => {
    switch (d.kind) {
      case 'leaf': return leaves[i++];
      case 'none': return d.value;
      case 'array': return d.children.map(build);
      case 'object': {
        const out: Record<string, unknown> = {};
        d.keys.forEach((key, j) => (out[key] = build(d.children[j])));
        return out;
      }
    }
  };
  return build(def) as T;
}

/** Applies `fn` to every leaf, keeping the structure. */
export function mapTree<T = Tree>(tree: unknown, fn: (leaf: Leaf, index: number) => unknown, what?: string): T {
  const { leaves, def } = flatten(tree, what);
  return rebuild<T>(def, leaves.map(fn));
}

/** The tree type T with every leaf replaced by R (what {@link treeMap} returns). */
export type MappedTree<T, R> = T extends Leaf ? R
  : T extends null | undefined ? T
  : T extends readonly unknown[] ? { -readonly [K in keyof T]: MappedTree<T[K], R> }
  : T extends object ? { -readonly [K in keyof T]: MappedTree<T[K], R> }
  : never;

/** Where two structures first differ, as a sentence, or undefined when they are the same. */
function structureDifference(a: TreeDef, b: TreeDef, path: string): string | undefined {
  const at = path === '' ? 'at the top' : `at ${path}`;
  const show = (d: TreeDef) => d.kind === 'leaf' ? 'a leaf' : d.kind === 'none' ? String(d.value) : d.kind === 'array' ? `an array of ${d.children.length}` : `an object with keys [${d.keys.join(', ')}]`;
  if (a.kind !== b.kind || (a.kind === 'none' && b.kind === 'none' && a.value !== b.value)) return `${at} the first tree has ${show(a)} and this one ${show(b)}`;
  if (a.kind === 'array' && b.kind === 'array') {
    if (a.children.length !== b.children.length) return `${at} the first tree has ${show(a)} and this one ${show(b)}`;
    for (let i = 0; i < a.children.length; i++) {
      const d = structureDifference(a.children[i], b.children[i], `${path}[${i}]`);
      if (d) return d;
    }
  }
  if (a.kind === 'object' && b.kind === 'object') {
    if (a.keys.length !== b.keys.length || a.keys.some((k, i) => k !== b.keys[i])) return `${at} the first tree has ${show(a)} and this one ${show(b)}`;
    for (let i = 0; i < a.keys.length; i++) {
      const d = structureDifference(a.children[i], b.children[i], `${path}.${a.keys[i]}`);
      if (d) return d;
    }
  }
  return undefined;
}

/**
 * Applies `fn` to every leaf of `tree` and returns a tree of the same structure holding the
 * results, as `jax.tree_util.tree_map`. With further trees, `fn` receives the leaves at the
 * same position in each: they must have the same structure as `tree` (the same array lengths,
 * the same object keys in the same order, null and undefined at the same places), or an
 * ArgumentError names the first place they differ. `null` and `undefined` are kept, not mapped.
 * @example
 * // one step of gradient descent over a parameter tree
 * const params = { W: randn([3, 2], { seed: 1 }), b: zeros([2]) };
 * const grads = grad(loss)(params);
 * const next = treeMap((p, g) => sub(p, mul(0.1, g)), params, grads);
 */
export function treeMap<T, R>(fn: (leaf: Leaf, ...rest: Leaf[]) => R, tree: T, ...rest: readonly unknown[]): MappedTree<T, R> {
  if (typeof fn !== 'function') throw new ArgumentError(`treeMap: the first argument must be a function of the leaves, got ${fn === null ? 'null' : typeof fn}; call treeMap(fn, tree, ...rest).`);
  const { leaves, def } = flatten(tree, 'treeMap: tree');
  const others = rest.map((other, j) => {
    const flat = flatten(other, `treeMap: tree ${j + 1}`);
    const difference = structureDifference(def, flat.def, '');
    if (difference !== undefined) {
      throw new ArgumentError(`treeMap: tree ${j + 1} (counting from 0) does not have the structure of the first tree: ${difference}. Every tree must have the same arrays, object keys (in the same order) and nulls.`);
    }
    return flat.leaves;
  });
  return rebuild<MappedTree<T, R>>(def, leaves.map((leaf, i) => fn(leaf, ...others.map((o) => o[i]))));
}
