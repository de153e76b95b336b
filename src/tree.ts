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

/** Leaves in depth-first order (object keys in insertion order) and the structure to rebuild. */
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

export function unflatten<T = Tree>(def: TreeDef, leaves: readonly unknown[]): T {
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
  return unflatten<T>(def, leaves.map(fn));
}
