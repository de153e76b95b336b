// einsum, lowered to the differentiable public ops: diagonal for a label repeated within an
// operand, sum for a label no other operand or the output needs, and for each pair of operands
// one contraction (transpose + reshape into a batched GEMM, matmul; or mul when nothing is
// summed; or mul + sum when both sides keep nothing of their own). Pairs are contracted
// greedily, smallest intermediate first. No rule of its own: grad, jvp, vmap and jit see the
// ops it lowers to.
//
// The lowering depends on the spec and the operands' shapes only, so it is planned once per
// (spec, shapes) into a list of steps over registers and cached: a repeated call parses
// nothing and runs the steps (a few microseconds less per call, measured in bench/kernels/einsum.mjs).
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { coerce, type TensorLike } from './convert.js';
import { mul } from './elementwise.js';
import { matmul } from './matmul.js';
import { diagonal } from './more-shape.js';
import { sum } from './sum.js';
import { reshape, transpose } from './shape.js';

/** One op of a plan: its inputs are registers (the operands first, then each step's output). */
type Step =
  | { op: 'diagonal'; x: number; axis1: number; axis2: number }
  | { op: 'reshape'; x: number; shape: number[] }
  | { op: 'transpose'; x: number; perm: number[] }
  | { op: 'sum'; x: number; axes: number[] }
  | { op: 'mul'; x: number; y: number }
  | { op: 'matmul'; x: number; y: number };

/** A planned value: its register, its shape and the label of each axis. Ellipsis axes get labels '.0', '.1', ... */
interface Term {
  reg: number;
  shape: number[];
  labels: string[];
}

/** Records steps, computing each output's shape as the op would. */
class Planner {
  readonly steps: Step[] = [];
  private next: number;
  constructor(operands: number) {
    this.next = operands;
  }
  private push(step: Step, shape: number[], labels: string[]): Term {
    this.steps.push(step);
    return { reg: this.next++, shape, labels };
  }
  diagonal(t: Term, axis1: number, axis2: number): Term {
    const keep = (_: unknown, j: number) => j !== axis1 && j !== axis2;
    return this.push({ op: 'diagonal', x: t.reg, axis1, axis2 }, [...t.shape.filter(keep), t.shape[axis1]], [...t.labels.filter(keep), t.labels[axis1]]);
  }
  reshape(t: Term, shape: number[], labels: string[]): Term {
    if (shape.length === t.shape.length && shape.every((d, j) => d === t.shape[j])) return { ...t, labels };
    return this.push({ op: 'reshape', x: t.reg, shape }, shape, labels);
  }
  /** t with its axes in the order of `order` (labels). */
  permute(t: Term, order: readonly string[]): Term {
    const perm = order.map((l) => t.labels.indexOf(l));
    if (perm.every((p, j) => p === j)) return t;
    return this.push({ op: 'transpose', x: t.reg, perm }, perm.map((p) => t.shape[p]), [...order]);
  }
  sum(t: Term, axes: number[]): Term {
    const keep = (_: unknown, j: number) => !axes.includes(j);
    return this.push({ op: 'sum', x: t.reg, axes }, t.shape.filter(keep), t.labels.filter(keep));
  }
  mul(a: Term, b: Term, labels: string[]): Term {
    return this.push({ op: 'mul', x: a.reg, y: b.reg }, a.shape.map((d, j) => Math.max(d, b.shape[j])), labels);
  }
  matmul(a: Term, b: Term): Term {
    const r = a.shape.length;
    return this.push({ op: 'matmul', x: a.reg, y: b.reg }, [...a.shape.slice(0, r - 1), b.shape[r - 1]], []);
  }
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

function describeShapes(shapes: readonly (readonly number[])[]): string {
  return shapes.map((shape) => fmtShape(shape)).join(', ');
}

/** Labels per operand and output, and each label's size; checks every rule of the spec. */
function parse(spec: string, shapes: readonly (readonly number[])[]): Parsed {
  const clean = spec.replace(/\s+/g, '');
  const sides = clean.split('->');
  if (sides.length > 2) throw new ArgumentError(`einsum: spec '${spec}' has more than one '->'.`);
  const terms = sides[0].split(',');
  if (terms.length !== shapes.length) {
    throw new ArgumentError(`einsum: spec '${spec}' names ${terms.length} operand(s) but ${shapes.length} were given (shapes ${describeShapes(shapes)}).`);
  }
  const parsed = terms.map((t, i) => parseTerm(spec, t, `operand ${i}`));
  // Ellipsis axes align from the right across operands, as NumPy broadcasting.
  let ellipsisRank = 0;
  parsed.forEach(({ letters, ellipsisAt }, i) => {
    const rank = shapes[i].length - letters.length;
    if (ellipsisAt < 0 ? rank !== 0 : rank < 0) {
      throw new ShapeError(`einsum: operand ${i} of spec '${spec}' has ${letters.length} subscript(s)${ellipsisAt < 0 ? '' : ' and ...'} but shape ${fmtShape(shapes[i])}; give one subscript per axis (shapes ${describeShapes(shapes)}).`);
    }
    ellipsisRank = Math.max(ellipsisRank, rank);
  });
  const ellipsis = Array.from({ length: ellipsisRank }, (_, j) => `.${j}`);
  const inputs = parsed.map(({ letters, ellipsisAt }, i) => {
    if (ellipsisAt < 0) return letters;
    const rank = shapes[i].length - letters.length;
    return [...letters.slice(0, ellipsisAt), ...ellipsis.slice(ellipsisRank - rank), ...letters.slice(ellipsisAt)];
  });
  const sizes = new Map<string, number>();
  const seenIn = new Map<string, number>();
  inputs.forEach((labels, i) => labels.forEach((label, axis) => {
    const size = shapes[i][axis];
    const known = sizes.get(label);
    if (known === undefined || (label.startsWith('.') && known === 1)) {
      sizes.set(label, size);
      seenIn.set(label, i);
    } else if (known !== size && !(label.startsWith('.') && size === 1)) {
      const what = label.startsWith('.') ? 'the broadcast (...) axes' : `subscript '${label}'`;
      const verb = label.startsWith('.') ? 'have' : 'has';
      throw new ShapeError(`einsum: ${what} of spec '${spec}' ${verb} sizes ${known} in operand ${seenIn.get(label)} and ${size} in operand ${i} (shapes ${describeShapes(shapes)}); the sizes must match${label.startsWith('.') ? ' or be 1' : ''}.`);
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
function prepare(p: Planner, term: Term, sizes: Map<string, number>, needed: (label: string) => boolean): Term {
  let t = term;
  for (;;) {
    const i = t.labels.findIndex((l, j) => t.labels.indexOf(l) !== j);
    if (i < 0) break;
    t = p.diagonal(t, t.labels.indexOf(t.labels[i]), i);
  }
  // A size-1 broadcast axis is constant along the label: it leaves the operand (the operand
  // holding the full size carries the label).
  const keep = t.labels.map((l, j) => !(t.shape[j] === 1 && sizes.get(l) !== 1));
  if (keep.includes(false)) t = p.reshape(t, t.shape.filter((_, j) => keep[j]), t.labels.filter((_, j) => keep[j]));
  return sumOut(p, t, needed);
}

function sumOut(p: Planner, t: Term, needed: (label: string) => boolean): Term {
  const axes = t.labels.flatMap((l, j) => (needed(l) ? [] : [j]));
  return axes.length === 0 ? t : p.sum(t, axes);
}

/** a and b contracted over their shared labels that `keep` rejects; the shared ones it keeps are batch axes. */
function contract(p: Planner, a: Term, b: Term, keep: (label: string) => boolean, sizes: Map<string, number>): Term {
  const shared = a.labels.filter((l) => b.labels.includes(l));
  const batch = shared.filter(keep), summed = shared.filter((l) => !keep(l));
  const left = a.labels.filter((l) => !shared.includes(l)), right = b.labels.filter((l) => !shared.includes(l));
  const dims = (ls: readonly string[]) => ls.map((l) => sizes.get(l)!);
  if (summed.length === 0) {
    // An outer product over the batch labels: broadcasting mul.
    const ones = (n: number) => new Array<number>(n).fill(1);
    const xa = p.reshape(p.permute(a, [...batch, ...left]), [...dims(batch), ...dims(left), ...ones(right.length)], []);
    const xb = p.reshape(p.permute(b, [...batch, ...right]), [...dims(batch), ...ones(left.length), ...dims(right)], []);
    return p.mul(xa, xb, [...batch, ...left, ...right]);
  }
  if (left.length === 0 && right.length === 0) {
    // A batch of dot products: one elementwise pass and one reduction.
    const order = [...batch, ...summed];
    return p.sum(p.mul(p.permute(a, order), p.permute(b, order), order), summed.map((_, j) => batch.length + j));
  }
  const [bs, ls, rs, ks] = [batch, left, right, summed].map((group) => sizeOf(dims(group)));
  const lead = batch.length > 0 ? [bs] : [];
  const xa = p.reshape(p.permute(a, [...batch, ...left, ...summed]), [...lead, ls, ks], []);
  const xb = p.reshape(p.permute(b, [...batch, ...summed, ...right]), [...lead, ks, rs], []);
  const labels = [...batch, ...left, ...right];
  return p.reshape(p.matmul(xa, xb), dims(labels), labels);
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

/** The steps computing einsum(spec) of operands with these shapes; the result is the last register. */
function plan(spec: string, shapes: readonly (readonly number[])[]): { steps: Step[]; result: number } {
  const { inputs, output, sizes } = parse(spec, shapes);
  const p = new Planner(shapes.length);
  let terms: Term[] = shapes.map((shape, i) => ({ reg: i, shape: [...shape], labels: inputs[i] }));
  const usedOutside = (skip: readonly number[]) => (label: string) =>
    output.includes(label) || terms.some((t, k) => !skip.includes(k) && t.labels.includes(label));
  terms = terms.map((t, i) => prepare(p, t, sizes, usedOutside([i])));
  while (terms.length > 1) {
    const [i, j] = cheapestPair(terms, (a, b) => usedOutside([a, b]), sizes);
    const keep = usedOutside([i, j]);
    const a = sumOut(p, terms[i], (l) => keep(l) || terms[j].labels.includes(l));
    const b = sumOut(p, terms[j], (l) => keep(l) || terms[i].labels.includes(l));
    terms = [...terms.filter((_, k) => k !== i && k !== j), contract(p, a, b, keep, sizes)];
  }
  return { steps: p.steps, result: p.permute(sumOut(p, terms[0], (l) => output.includes(l)), output).reg };
}

const PLAN_CACHE_SIZE = 256;
const plans = new Map<string, { steps: Step[]; result: number }>();

function cachedPlan(spec: string, shapes: readonly (readonly number[])[]): { steps: Step[]; result: number } {
  const key = `${spec}|${shapes.map((s) => s.join(',')).join(';')}`;
  let found = plans.get(key);
  if (!found) {
    found = plan(spec, shapes);
    if (plans.size >= PLAN_CACHE_SIZE) plans.delete(plans.keys().next().value as string);
    plans.set(key, found);
  }
  return found;
}

function run(step: Step, regs: readonly Tensor[]): Tensor {
  switch (step.op) {
    case 'diagonal': return diagonal(regs[step.x], { axis1: step.axis1, axis2: step.axis2 });
    case 'reshape': return reshape(regs[step.x], step.shape);
    case 'transpose': return transpose(regs[step.x], step.perm);
    case 'sum': return sum(regs[step.x], step.axes);
    case 'mul': return mul(regs[step.x], regs[step.y]);
    case 'matmul': return matmul(regs[step.x], regs[step.y]);
    default: {
      const missing: never = step;
      throw new Error(`einsum: no op for step ${JSON.stringify(missing)}`);
    }
  }
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
  const { steps, result } = cachedPlan(spec, xs.map((x) => x.shape));
  const regs: Tensor[] = [...xs];
  for (const step of steps) regs.push(run(step, regs));
  return regs[result];
}
