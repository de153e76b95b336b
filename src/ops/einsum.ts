// einsum, lowered to the differentiable public ops: diagonal for a label repeated within an
// operand, sum for a label no other operand or the output needs, and for each pair of operands
// one contraction (transpose + reshape into a batched GEMM, matmul; or mul when nothing is
// summed; or mul + sum when both sides keep nothing of their own). Pairs are contracted
// greedily, smallest intermediate first. No rule of its own: grad, jvp, vmap and jit see the
// ops it lowers to.
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { coerce, type TensorLike } from './convert.js';
import { mul } from './elementwise.js';
import { matmul } from './matmul.js';
import { diagonal } from './more-shape.js';
import { sum } from './sum.js';
import { reshape, squeeze, transpose } from './shape.js';

/** A tensor and the label of each of its axes. Ellipsis axes get labels '.0', '.1', ... */
interface Term {
  x: Tensor;
  labels: string[];
}

interface Parsed {
  inputs: string[][];
  output: string[];
  sizes: Map<string, number>;
}

const LETTER = /^[a-zA-Z]$/;

/** One operand's (or the output's) subscripts: letters, at most one '...'. */
function parseTerm(spec: string, term: string, where: string): { letters: string[]; ellipsisAt: number } {
  const parts = term.split('...');
  if (parts.length > 2) throw new ArgumentError(`einsum: spec '${spec}' has more than one '...' in ${where}; use at most one per operand.`);
  const letters: string[] = [];
  for (const ch of parts.join('')) {
    if (!LETTER.test(ch)) throw new ArgumentError(`einsum: spec '${spec}' has '${ch}' in ${where}; subscripts are letters a-z, A-Z, with '...' for broadcast axes, ',' between operands and '->' before the output.`);
    letters.push(ch);
  }
  return { letters, ellipsisAt: parts.length === 2 ? parts[0].length : -1 };
}

function describeShapes(xs: readonly Tensor[]): string {
  return xs.map((x) => fmtShape(x.shape)).join(', ');
}

/** Labels per operand and output, and each label's size; checks every rule of the spec. */
function parse(spec: string, xs: readonly Tensor[]): Parsed {
  const clean = spec.replace(/\s+/g, '');
  const sides = clean.split('->');
  if (sides.length > 2) throw new ArgumentError(`einsum: spec '${spec}' has more than one '->'.`);
  const terms = sides[0].split(',');
  if (terms.length !== xs.length) {
    throw new ArgumentError(`einsum: spec '${spec}' names ${terms.length} operand(s) but ${xs.length} were given (shapes ${describeShapes(xs)}).`);
  }
  const parsed = terms.map((t, i) => parseTerm(spec, t, `operand ${i}`));
  // Ellipsis axes align from the right across operands, as NumPy broadcasting.
  let ellipsisRank = 0;
  parsed.forEach(({ letters, ellipsisAt }, i) => {
    const rank = xs[i].ndim - letters.length;
    if (ellipsisAt < 0 ? rank !== 0 : rank < 0) {
      throw new ShapeError(`einsum: operand ${i} of spec '${spec}' has ${letters.length} subscript(s)${ellipsisAt < 0 ? '' : ' and ...'} but shape ${fmtShape(xs[i].shape)}; give one subscript per axis (shapes ${describeShapes(xs)}).`);
    }
    ellipsisRank = Math.max(ellipsisRank, rank);
  });
  const ellipsis = Array.from({ length: ellipsisRank }, (_, j) => `.${j}`);
  const inputs = parsed.map(({ letters, ellipsisAt }, i) => {
    if (ellipsisAt < 0) return letters;
    const rank = xs[i].ndim - letters.length;
    return [...letters.slice(0, ellipsisAt), ...ellipsis.slice(ellipsisRank - rank), ...letters.slice(ellipsisAt)];
  });
  const sizes = new Map<string, number>();
  const seenIn = new Map<string, number>();
  inputs.forEach((labels, i) => labels.forEach((label, axis) => {
    const size = xs[i].shape[axis];
    const known = sizes.get(label);
    if (known === undefined || (label.startsWith('.') && known === 1)) {
      sizes.set(label, size);
      seenIn.set(label, i);
    } else if (known !== size && !(label.startsWith('.') && size === 1)) {
      const what = label.startsWith('.') ? 'the broadcast (...) axes' : `subscript '${label}'`;
      const verb = label.startsWith('.') ? 'have' : 'has';
      throw new ShapeError(`einsum: ${what} of spec '${spec}' ${verb} sizes ${known} in operand ${seenIn.get(label)} and ${size} in operand ${i} (shapes ${describeShapes(xs)}); the sizes must match${label.startsWith('.') ? ' or be 1' : ''}.`);
    }
  }));
  let output: string[];
  if (sides.length === 2) {
    const { letters, ellipsisAt } = parseTerm(spec, sides[1], 'the output');
    output = ellipsisAt < 0 ? letters : [...letters.slice(0, ellipsisAt), ...ellipsis, ...letters.slice(ellipsisAt)];
    const seen = new Set<string>();
    for (const label of letters) {
      if (seen.has(label)) throw new ArgumentError(`einsum: spec '${spec}' repeats '${label}' in the output; an output subscript appears once.`);
      if (!sizes.has(label)) throw new ArgumentError(`einsum: output subscript '${label}' of spec '${spec}' appears in no operand.`);
      seen.add(label);
    }
  } else {
    // Implicit output: the broadcast axes, then the letters used exactly once, in ASCII order.
    const counts = new Map<string, number>();
    for (const labels of inputs) for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    const once = [...counts].filter(([l, c]) => c === 1 && !l.startsWith('.')).map(([l]) => l).sort();
    output = [...ellipsis, ...once];
  }
  return { inputs, output, sizes };
}

/** Merges repeated labels into diagonals, drops broadcast size-1 axes, sums labels nothing else needs. */
function prepare(term: Term, sizes: Map<string, number>, needed: (label: string) => boolean): Term {
  let { x, labels } = term;
  for (;;) {
    const i = labels.findIndex((l, j) => labels.indexOf(l) !== j);
    if (i < 0) break;
    const first = labels.indexOf(labels[i]);
    x = diagonal(x, { axis1: first, axis2: i });
    labels = [...labels.filter((_, j) => j !== first && j !== i), labels[i]];
  }
  // A size-1 broadcast axis is constant along the label: it leaves the operand (the operand
  // holding the full size carries the label).
  const flat = labels.flatMap((l, j) => (x.shape[j] === 1 && sizes.get(l) !== 1 ? [j] : []));
  if (flat.length > 0) {
    x = squeeze(x, flat);
    labels = labels.filter((_, j) => !flat.includes(j));
  }
  return sumOut({ x, labels }, needed);
}

function sumOut(term: Term, needed: (label: string) => boolean): Term {
  const axes = term.labels.flatMap((l, j) => (needed(l) ? [] : [j]));
  if (axes.length === 0) return term;
  return { x: sum(term.x, axes), labels: term.labels.filter((_, j) => !axes.includes(j)) };
}

function permuted(term: Term, order: readonly string[]): Tensor {
  const perm = order.map((l) => term.labels.indexOf(l));
  return perm.every((p, j) => p === j) ? term.x : transpose(term.x, perm);
}

/** a and b contracted over their shared labels that `keep` rejects; the shared ones it keeps are batch axes. */
function contract(a: Term, b: Term, keep: (label: string) => boolean, sizes: Map<string, number>): Term {
  const shared = a.labels.filter((l) => b.labels.includes(l));
  const batch = shared.filter(keep), summed = shared.filter((l) => !keep(l));
  const left = a.labels.filter((l) => !shared.includes(l)), right = b.labels.filter((l) => !shared.includes(l));
  const dims = (ls: readonly string[]) => ls.map((l) => sizes.get(l)!);
  if (summed.length === 0) {
    // An outer product over the batch labels: broadcasting mul.
    const labels = [...batch, ...left, ...right];
    const ones = (n: number) => new Array<number>(n).fill(1);
    const xa = reshape(permuted(a, [...batch, ...left]), [...dims(batch), ...dims(left), ...ones(right.length)]);
    const xb = reshape(permuted(b, [...batch, ...right]), [...dims(batch), ...ones(left.length), ...dims(right)]);
    return { x: mul(xa, xb), labels };
  }
  if (left.length === 0 && right.length === 0) {
    // A batch of dot products: one elementwise pass and one reduction.
    const order = [...batch, ...summed];
    return { x: sum(mul(permuted(a, order), permuted(b, order)), summed.map((_, j) => batch.length + j)), labels: batch };
  }
  const [bs, ls, rs, ks] = [batch, left, right, summed].map((ls) => sizeOf(dims(ls)));
  const lead = batch.length > 0 ? [bs] : [];
  const xa = reshape(permuted(a, [...batch, ...left, ...summed]), [...lead, ls, ks]);
  const xb = reshape(permuted(b, [...batch, ...summed, ...right]), [...lead, ks, rs]);
  return { x: reshape(matmul(xa, xb), dims([...batch, ...left, ...right])), labels: [...batch, ...left, ...right] };
}

/** The pair whose contraction gives the smallest intermediate (ties: the first pair). */
function cheapestPair(terms: readonly Term[], keepFor: (i: number, j: number) => (label: string) => boolean, sizes: Map<string, number>): [number, number] {
  let best: [number, number] = [0, 1], bestSize = Infinity;
  for (let i = 0; i < terms.length; i++) {
    for (let j = i + 1; j < terms.length; j++) {
      const keep = keepFor(i, j);
      const labels = new Set([...terms[i].labels, ...terms[j].labels].filter(keep));
      const size = [...labels].reduce((acc, l) => acc * sizes.get(l)!, 1);
      if (size < bestSize) {
        bestSize = size;
        best = [i, j];
      }
    }
  }
  return best;
}

/**
 * Einstein summation over up to four (or more) operands, as numpy.einsum: `spec` names each
 * operand's axes by letters ('ij,jk->ik'); a letter repeated within an operand takes a
 * diagonal, letters missing from the output are summed, and '...' stands for broadcast axes.
 * Without '->' the output is the broadcast axes, then the letters used once, in ASCII order.
 * It lowers to transposes, reshapes, diagonals, sums and matrix products (several operands are
 * contracted pairwise, smallest intermediate first), so it differentiates, jits and vmaps as
 * those ops do.
 * @example einsum('ij,jk->ik', a, b) // matmul(a, b)
 * @example einsum('ii', array([[1, 2], [3, 4]])).item() // 5 (the trace)
 * @example einsum('b...i,i->b...', x, w) // x contracted with w on its last axis
 */
export function einsum(spec: string, ...operands: TensorLike[]): Tensor {
  if (operands.length === 0) throw new ArgumentError(`einsum: spec '${spec}' was given no operands; pass one tensor per comma-separated term.`);
  const xs = coerce('einsum', operands);
  const { inputs, output, sizes } = parse(spec, xs);
  let terms: Term[] = xs.map((x, i) => ({ x, labels: inputs[i] }));
  const usedOutside = (skip: readonly number[]) => (label: string) =>
    output.includes(label) || terms.some((t, k) => !skip.includes(k) && t.labels.includes(label));
  terms = terms.map((t, i) => prepare(t, sizes, usedOutside([i])));
  while (terms.length > 1) {
    const [i, j] = cheapestPair(terms, (p, q) => usedOutside([p, q]), sizes);
    const keep = usedOutside([i, j]);
    const joined = contract(sumOut(terms[i], (l) => keep(l) || terms[j].labels.includes(l)), sumOut(terms[j], (l) => keep(l) || terms[i].labels.includes(l)), keep, sizes);
    terms = [...terms.filter((_, k) => k !== i && k !== j), joined];
  }
  return permuted(sumOut(terms[0], (l) => output.includes(l)), output);
}
