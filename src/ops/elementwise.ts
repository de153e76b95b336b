// Elementwise primitives: unary maps, broadcasting binary maps, comparisons and where.
// Each primitive's impl, jvp and vjp sit together; rules use the public ops, so they are
// differentiable again. Non-differentiable points follow JAX: abs'(0) = 0, sign' = 0,
// maximum/minimum split the derivative evenly at ties, comparisons have zero derivative.
import * as kernels from '../backend/kernels.js';
import { mapEmit } from '../core/emit.js';
import { NO_PARAMS, defineLinear, definePrimitive, type Aval, type CotangentImpl, type DualImpl, type Primitive, type Saves, type Sparsity } from '../core/primitive.js';
import { bind } from '../core/trace.js';
import { empty } from '../tensor/create.js';
import { broadcastShapes, shapesEqual } from '../tensor/shape.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { batchSame } from '../core/batch-axes.js';
import { batchBroadcasting } from './batching.js';
import { astype, coerce, floatUnlessInteger, toTensor, type TensorLike } from './convert.js';

type Unary = Primitive<Record<string, never>>;

/** Which value a unary op's derivative is computed from: its input or its output. */
type SlopeFrom = 'x' | 'out';

/** The fused forward pass of a unary op: out = op(x) and op'(x) t over all k directions. */
function unaryDual(name: string): DualImpl<Record<string, never>> {
  return ([x], [t], chunk) => {
    if (!t || t.size !== chunk * x.size) return null;
    const out = empty(x.shape, x.dtype, name);
    const tangent = empty([chunk, ...x.shape], x.dtype, name);
    kernels.unaryDual(name, out.liveBuffer(name), tangent.liveBuffer(name), x.liveBuffer(name), t.liveBuffer(name));
    return [out, tangent];
  };
}

type FusedBinary = 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';

/**
 * Whether the fused kernel beats impl + rule. Where the rule is one cheap kernel (da b, a db,
 * da / b, da, -db), two streaming kernels run faster than the fused one, which keeps five
 * arrays in flight: mul with da alone took 136 us fused against 97 us for two kernels at
 * n = 1e5 (f64, measured on the raw kernels).
 */
function worthFusing(name: FusedBinary, hasA: boolean, hasB: boolean): boolean {
  if (name === 'mul' || name === 'sub') return hasA && hasB;
  if (name === 'div') return hasB;
  return true;
}

/**
 * The fused cotangent of a unary op: ct * op'(x) over all k rows of ct in one kernel, on
 * concrete values (under an outer transform the rule runs, so it stays differentiable). The
 * kernel reads only the value the op's slope comes from, which is the one the tape saved.
 */
function unaryCotangent(name: string, from: SlopeFrom): CotangentImpl<Record<string, never>> {
  return ({ ct, inputs: [x], out }) => {
    const saved = from === 'x' ? x : out;
    if (!(ct instanceof DenseTensor && saved instanceof DenseTensor)) return null;
    if (ct.dtype !== saved.dtype || ct.ndim !== saved.ndim + 1 || !shapesEqual(ct.shape.slice(1), saved.shape)) return null;
    const result = empty(ct.shape, ct.dtype, name);
    const buffer = saved.liveBuffer(name);
    kernels.unaryCotangent(name, result.liveBuffer(name), buffer, buffer, ct.liveBuffer(name));
    return [result];
  };
}

/**
 * The fused forward pass of a binary op on same-shape operands, or with one operand a single
 * element that has no tangent (x ** 3, maximum(x, 0), 1 / x). Other broadcasts take the rules,
 * and so do the cases where the rule costs no more (see worthFusing).
 */
function binaryDual(name: FusedBinary): DualImpl<Record<string, never>> {
  return ([a, b], [ta, tb], chunk) => {
    let scalar: 0 | 1 | 2 = 0;
    if (!shapesEqual(a.shape, b.shape)) {
      if (a.size === 1 && !ta && a.ndim <= b.ndim) scalar = 1;
      else if (b.size === 1 && !tb && b.ndim <= a.ndim) scalar = 2;
      else return null;
    }
    if (!worthFusing(name, ta !== null, tb !== null)) return null;
    const like = scalar === 1 ? b : a;
    if ((ta && ta.size !== chunk * like.size) || (tb && tb.size !== chunk * like.size)) return null;
    const out = empty(like.shape, a.dtype, name);
    const tangent = empty([chunk, ...like.shape], a.dtype, name);
    kernels.binaryDual(name, out.liveBuffer(name), tangent.liveBuffer(name), a.liveBuffer(name), b.liveBuffer(name), ta && ta.liveBuffer(name), tb && tb.liveBuffer(name), scalar);
    return [out, tangent];
  };
}

const sameAval = ([x]: readonly Aval[]): Aval => x;

const unaryInto = (name: string) => ([x]: readonly Aval[]) => kernels.unaryInto(name, x.dtype);
const binaryInto = (name: string) => ([a, b]: readonly Aval[]) => kernels.binaryInto(name, a.dtype, broadcastShapes(name, a.shape, b.shape), a.shape, b.shape);

function unaryImpl(name: string) {
  return ([x]: DenseTensor[]): DenseTensor => {
    const out = empty(x.shape, x.dtype, name);
    kernels.unary(name, out.liveBuffer(name), x.liveBuffer(name));
    return out;
  };
}

interface UnarySpec {
  /** The derivative op'(x) from the value named by `from` (x or out = op(x)). */
  slope: (v: Tensor) => Tensor;
  from: SlopeFrom;
  /** Which fused kernels (assembly/dual.ts) the op has: op and tangent in one pass, and the cotangent. */
  fused: 'both' | 'forward';
  /** Stays in the integers on int32 (abs, square); the others promote int32 to float64. */
  integer?: boolean;
  /** The op in generated JS (src/core/emit.ts): an expression of x, and whether it equals the kernel to the bit. */
  js: { expr: (x: string) => string; exact: boolean; fns?: Record<string, (x: number) => number> };
}

/** A differentiable unary map: out = op(x), d out = slope(x or out) dx. */
function unaryPrim(name: string, { slope, from, fused, integer, js }: UnarySpec): Unary {
  const pick = (x: Tensor | undefined, out: Tensor) => (from === 'x' ? x! : out);
  return definePrimitive({
    name,
    integer,
    impl: unaryImpl(name),
    shape: sameAval,
    saves: [from === 'x' ? 0 : 'out'],
    sparsity: 'elementwise',
    batch: batchSame(),
    dual: unaryDual(name),
    cotangent: fused === 'both' ? unaryCotangent(name, from) : undefined,
    into: unaryInto(name),
    emit: mapEmit(([x]) => js.expr(x), js.exact, js.fns),
    fusion: { map: name },
    jvp: ({ inputs: [x], tangents: [t], out }) => (t ? mul(slope(pick(x, out)), t) : null),
    vjp: ({ ct, inputs: [x], out }) => [mul(ct, slope(pick(x, out)))],
  });
}

// d(-x) = -dx
const negP: Unary = defineLinear<Record<string, never>>({
  name: 'neg',
  batch: batchSame(),
  integer: true,
  impl: unaryImpl('neg'),
  into: unaryInto('neg'),
  emit: mapEmit(([x]) => `(-${x})`, true),
  fusion: { map: 'neg' },
  shape: sameAval,
  sparsity: 'elementwise',
  apply: ([t]) => t && neg(t),
  transpose: (ct) => [neg(ct)],
});
// d exp(x) = exp(x) dx; its cotangent, mul(ct, out), is already one kernel.
const expP = unaryPrim('exp', { js: { expr: (x) => `Math.exp(${x})`, exact: false }, from: 'out', slope: (out) => out, fused: 'forward' });
// d log(x) = dx / x
const logP = unaryPrim('log', { js: { expr: (x) => `Math.log(${x})`, exact: false }, from: 'x', slope: (x) => reciprocal(x), fused: 'both' });
// d sin(x) = cos(x) dx
const sinP = unaryPrim('sin', { js: { expr: (x) => `Math.sin(${x})`, exact: false }, from: 'x', slope: (x) => cos(x), fused: 'both' });
// d cos(x) = -sin(x) dx
const cosP = unaryPrim('cos', { js: { expr: (x) => `Math.cos(${x})`, exact: false }, from: 'x', slope: (x) => neg(sin(x)), fused: 'both' });
// d tan(x) = (1 + tan(x)^2) dx
const tanP = unaryPrim('tan', { js: { expr: (x) => `Math.tan(${x})`, exact: false }, from: 'out', slope: (out) => add(1, square(out)), fused: 'both' });
// d tanh(x) = (1 - tanh(x)^2) dx
const tanhP = unaryPrim('tanh', { js: { expr: (x) => `Math.tanh(${x})`, exact: false }, from: 'out', slope: (out) => sub(1, square(out)), fused: 'both' });
// d sigmoid(x) = sigmoid(x) (1 - sigmoid(x)) dx
const sigmoidP = unaryPrim('sigmoid', { js: { expr: (x) => `sigmoid(${x})`, exact: false, fns: { sigmoid: sigmoidScalar } }, from: 'out', slope: (out) => mul(out, sub(1, out)), fused: 'both' });
// d sqrt(x) = dx / (2 sqrt(x))
const sqrtP = unaryPrim('sqrt', { js: { expr: (x) => `Math.sqrt(${x})`, exact: true }, from: 'out', slope: (out) => div(0.5, out), fused: 'both' });
// d x^2 = 2x dx
const squareP = unaryPrim('square', { js: { expr: (x) => `(${x} * ${x})`, exact: true }, from: 'x', slope: (x) => mul(2, x), fused: 'both', integer: true });
// d (1/x) = -dx / x^2
const reciprocalP = unaryPrim('reciprocal', { js: { expr: (x) => `(1 / ${x})`, exact: true }, from: 'out', slope: (out) => neg(square(out)), fused: 'both' });
// d |x| = sign(x) dx (0 at 0, as JAX)
const absP = unaryPrim('abs', { js: { expr: (x) => `Math.abs(${x})`, exact: true }, from: 'x', slope: (x) => sign(x), fused: 'both', integer: true });
// d sign(x) = 0
const signP: Unary = definePrimitive<Record<string, never>>({
  name: 'sign',
  batch: batchSame(),
  integer: true,
  impl: unaryImpl('sign'),
  into: unaryInto('sign'),
  emit: mapEmit(([x]) => `Math.sign(${x})`, true),
  fusion: { map: 'sign' },
  shape: sameAval,
  saves: [],
  sparsity: 'none',
  jvp: () => null,
  vjp: () => [null],
});

/**
 * The sigmoid kernel's formula (assembly/math/exp.ts) with Math.exp for its exp: e = exp(-|x|),
 * 1 + e split exactly into d + dd, and the quotient corrected to first order in dd.
 */
function sigmoidScalar(x: number): number {
  const e = Math.exp(-Math.abs(x));
  const positive = x >= 0;
  const d = 1 + e;
  const dd = (1 - d) + e;
  const q = (positive ? 1 : e) / d;
  return q - q * dd * (positive ? q : 1 - q);
}

// int32 operands of ops that leave the integers (exp, sqrt, div, pow, ...) become float64
// first, as in JAX (jnp.exp(int) is a float); neg, abs, sign, square stay int32.
function unaryOp(prim: Unary) {
  return (x: TensorLike): Tensor => bind(prim, [floatUnlessInteger(prim, toTensor(prim.name, x))], NO_PARAMS);
}


/** -x, elementwise. @example neg(array([1, -2])) // [-1, 2] */
export const neg = unaryOp(negP);
/** e^x, elementwise. @example exp(0).item() // 1 */
export const exp = unaryOp(expP);
/** Natural logarithm, elementwise. @example log(Math.E).item() // 1 */
export const log = unaryOp(logP);
/** @example sin(0).item() // 0 */
export const sin = unaryOp(sinP);
/** @example cos(0).item() // 1 */
export const cos = unaryOp(cosP);
/** @example tan(0).item() // 0 */
export const tan = unaryOp(tanP);
/** @example tanh(2).item() // 0.9640275800758169 */
export const tanh = unaryOp(tanhP);
/** 1 / (1 + e^-x), elementwise. @example sigmoid(0).item() // 0.5 */
export const sigmoid = unaryOp(sigmoidP);
/** @example sqrt(4).item() // 2 */
export const sqrt = unaryOp(sqrtP);
/** x * x, elementwise. @example square(3).item() // 9 */
export const square = unaryOp(squareP);
/** 1 / x, elementwise. @example reciprocal(4).item() // 0.25 */
export const reciprocal = unaryOp(reciprocalP);
/** |x|, elementwise. @example abs(-3).item() // 3 */
export const abs = unaryOp(absP);
/** -1, 0 or 1 by the sign of x (NaN stays NaN). @example sign(-2).item() // -1 */
export const sign = unaryOp(signP);

type Binary = Primitive<Record<string, never>>;

interface BinarySpec {
  jvp: Binary['jvp'];
  vjp: Binary['vjp'];
  saves: Saves;
  sparsity?: Sparsity<Record<string, never>>;
  dual?: Binary['dual'];
  /** Stays in the integers on int32 operands (see unaryOp). */
  integer?: boolean;
  /** The op in generated JS: an expression of the two operands, and whether it is bit-equal to the kernel. */
  js: { expr: (a: string, b: string) => string; exact: boolean };
}

const broadcastAval = (name: string) => ([a, b]: readonly Aval[]): Aval => ({ shape: broadcastShapes(name, a.shape, b.shape), dtype: a.dtype });

function binaryImpl(name: string) {
  return ([a, b]: DenseTensor[]): DenseTensor => {
    const shape = broadcastShapes(name, a.shape, b.shape);
    const out = empty(shape, a.dtype, name);
    kernels.binary(name, out.liveBuffer(name), a.liveBuffer(name), b.liveBuffer(name), shape, a.shape, b.shape);
    return out;
  };
}

function binaryPrim(name: string, spec: BinarySpec): Binary {
  return definePrimitive({
    name,
    broadcasts: true,
    batch: batchBroadcasting(),
    integer: spec.integer,
    impl: binaryImpl(name),
    into: binaryInto(name),
    emit: mapEmit(([a, b]) => spec.js.expr(a, b), spec.js.exact),
    fusion: { map: name },
    shape: broadcastAval(name),
    sparsity: spec.sparsity ?? 'elementwise',
    saves: spec.saves,
    dual: spec.dual,
    jvp: spec.jvp,
    vjp: spec.vjp,
  });
}

/** Sums the tangent terms that are not symbolic zeros. */
function addTerms(...terms: (Tensor | null)[]): Tensor | null {
  let acc: Tensor | null = null;
  for (const t of terms) if (t) acc = acc ? add(acc, t) : t;
  return acc;
}

// d(a + b) = da + db
const addP: Binary = defineLinear<Record<string, never>>({
  name: 'add',
  batch: batchBroadcasting(),
  integer: true,
  broadcasts: true,
  impl: binaryImpl('add'),
  into: binaryInto('add'),
  emit: mapEmit(([a, b]) => `(${a} + ${b})`, true),
  fusion: { map: 'add' },
  shape: broadcastAval('add'),
  sparsity: 'elementwise',
  apply: ([ta, tb]) => addTerms(ta, tb),
  transpose: (ct) => [ct, ct],
});
// d(a - b) = da - db
const subP: Binary = defineLinear({
  name: 'sub',
  batch: batchBroadcasting(),
  integer: true,
  broadcasts: true,
  impl: binaryImpl('sub'),
  into: binaryInto('sub'),
  emit: mapEmit(([a, b]) => `(${a} - ${b})`, true),
  fusion: { map: 'sub' },
  shape: broadcastAval('sub'),
  sparsity: 'elementwise',
  apply: ([ta, tb]) => addTerms(ta, tb && neg(tb)),
  transpose: (ct) => [ct, neg(ct)],
  dual: binaryDual('sub'),
});

/** A constant operand's zeros cut the dependence through the other factor: d(c x) = c dx. */
const productSparsity: Sparsity<Record<string, never>> = (algebra, { inputs: [a, b], out }) => {
  const size = out.shape.reduce((n, d) => n * d, 1);
  const zeroAt = (other: typeof a) => {
    if (other.deps) return undefined;
    const v = other.value.data();
    if (!v.includes(0)) return undefined;
    const m = algebra.broadcastMap(other.shape, out.shape);
    return (e: number) => v[m ? m[e] : e] !== 0;
  };
  const parts = [];
  if (a.deps) parts.push({ deps: a.deps, map: algebra.broadcastMap(a.shape, out.shape), when: zeroAt(b) });
  if (b.deps) parts.push({ deps: b.deps, map: algebra.broadcastMap(b.shape, out.shape), when: zeroAt(a) });
  return algebra.union(parts, size);
};

// d(a b) = da b + a db
const mulP = binaryPrim('mul', {
  integer: true,
  js: { expr: (a, b) => `(${a} * ${b})`, exact: true },
  saves: [0, 1],
  sparsity: productSparsity,
  dual: binaryDual('mul'),
  jvp: ({ inputs: [a, b], tangents: [ta, tb] }) => addTerms(ta && mul(ta, b), tb && mul(a, tb)),
  vjp: ({ ct, inputs: [a, b], wanted }) => [wanted[0] ? mul(ct, b) : null, wanted[1] ? mul(ct, a) : null],
});
// d(a / b) = da / b - (a / b) db / b
const divP = binaryPrim('div', {
  js: { expr: (a, b) => `(${a} / ${b})`, exact: true },
  saves: [1, 'out'],
  dual: binaryDual('div'),
  jvp: ({ inputs: [, b], tangents: [ta, tb], out }) => addTerms(ta && div(ta, b), tb && neg(div(mul(out, tb), b))),
  vjp: ({ ct, inputs: [, b], out, wanted }) => [wanted[0] ? div(ct, b) : null, wanted[1] ? neg(div(mul(ct, out), b)) : null],
});

// d(a^b) = b a^(b-1) da + log(a) a^b db; the first term is 0 where b = 0 (so 0^0 has slope 0)
// and the second is 0 where a = 0 (the limit for b > 0), as JAX has them.
function powBaseSlope(a: Tensor, b: Tensor): Tensor {
  return where(equal(b, 0), 0, mul(b, pow(a, sub(b, 1))));
}
function powExpSlope(a: Tensor, out: Tensor): Tensor {
  const zero = equal(a, 0);
  return where(zero, 0, mul(log(where(zero, 1, a)), out));
}
const powP = binaryPrim('pow', {
  js: { expr: (a, b) => `Math.pow(${a}, ${b})`, exact: false },
  saves: [0, 1, 'out'],
  dual: binaryDual('pow'),
  jvp: ({ inputs: [a, b], tangents: [ta, tb], out }) => addTerms(ta && mul(ta, powBaseSlope(a, b)), tb && mul(tb, powExpSlope(a, out))),
  vjp: ({ ct, inputs: [a, b], out, wanted }) => [wanted[0] ? mul(ct, powBaseSlope(a, b)) : null, wanted[1] ? mul(ct, powExpSlope(a, out)) : null],
});

// d max(a, b) = da where a > b, db where b > a, (da + db)/2 at ties (JAX's convention).
function pickWeights(name: 'maximum' | 'minimum', a: Tensor, b: Tensor): [Tensor, Tensor] {
  const wins = name === 'maximum' ? greater(a, b) : less(a, b);
  const ties = mul(equal(a, b), 0.5);
  const wa = add(wins, ties);
  return [wa, sub(1, wa)];
}
function extremumPrim(name: 'maximum' | 'minimum'): Binary {
  return binaryPrim(name, {
    integer: true,
    js: { expr: (a, b) => `Math.${name === 'maximum' ? 'max' : 'min'}(${a}, ${b})`, exact: true },
    saves: [0, 1],
    dual: binaryDual(name),
    jvp: ({ inputs: [a, b], tangents: [ta, tb] }) => {
      const [wa, wb] = pickWeights(name, a, b);
      return addTerms(ta && mul(ta, wa), tb && mul(tb, wb));
    },
    vjp: ({ ct, inputs: [a, b] }) => {
      const [wa, wb] = pickWeights(name, a, b);
      return [mul(ct, wa), mul(ct, wb)];
    },
  });
}
const maximumP = extremumPrim('maximum');
const minimumP = extremumPrim('minimum');

// Comparisons return 1/0 masks in the operands' dtype; their derivative is zero.
const compare = (name: string, op: string) => binaryPrim(name, { integer: true, js: { expr: (a, b) => `(${a} ${op} ${b} ? 1 : 0)`, exact: true }, saves: [], sparsity: 'none', jvp: () => null, vjp: () => [null, null] });
const greaterP = compare('greater', '>');
const lessP = compare('less', '<');
const equalP = compare('equal', '===');
const greaterEqualP = compare('greater_equal', '>=');
const lessEqualP = compare('less_equal', '<=');

function binaryOp(prim: Binary) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    const [x, y] = coerce(prim.name, [a, b]);
    broadcastShapes(prim.name, x.shape, y.shape);
    return bind(prim, [floatUnlessInteger(prim, x), floatUnlessInteger(prim, y)], NO_PARAMS);
  };
}

/** a + b with NumPy broadcasting. @example add(array([1, 2]), 10) // [11, 12] */
export const add = binaryOp(addP);
/** a - b with broadcasting. @example sub(5, array([1, 2])) // [4, 3] */
export const sub = binaryOp(subP);
/** a * b with broadcasting. @example mul(array([1, 2]), array([[1], [2]])) // [[1, 2], [2, 4]] */
export const mul = binaryOp(mulP);
/** a / b with broadcasting. @example div(1, array([2, 4])) // [0.5, 0.25] */
export const div = binaryOp(divP);
/** a ** b with broadcasting, as Math.pow. @example pow(array([2, 3]), 2) // [4, 9] */
export const pow = binaryOp(powP);
/** Elementwise larger value (NaN propagates). @example maximum(array([1, 5]), 3) // [3, 5] */
export const maximum = binaryOp(maximumP);
/** Elementwise smaller value (NaN propagates). @example minimum(array([1, 5]), 3) // [1, 3] */
export const minimum = binaryOp(minimumP);
/** 1 where a > b else 0. @example greater(array([1, 5]), 3) // [0, 1] */
export const greater = binaryOp(greaterP);
/** 1 where a < b else 0. */
export const less = binaryOp(lessP);
/** 1 where a == b else 0. */
export const equal = binaryOp(equalP);
/** 1 where a >= b else 0. */
export const greaterEqual = binaryOp(greaterEqualP);
/** 1 where a <= b else 0. */
export const lessEqual = binaryOp(lessEqualP);

// d where(c, a, b) = where(c, da, db); c is a mask and gets no derivative.
const whereP = definePrimitive({
  name: 'where',
  batch: batchBroadcasting<Record<string, never>>(),
  integer: true,
  broadcasts: true,
  impl([c, a, b]) {
    const shape = broadcastShapes('where', c.shape, a.shape, b.shape);
    const out = empty(shape, a.dtype, 'where');
    kernels.where(out.liveBuffer('where'), c.liveBuffer('where'), a.liveBuffer('where'), b.liveBuffer('where'), shape, [c.shape, a.shape, b.shape]);
    return out;
  },
  into([c, a, b]) {
    const shape = broadcastShapes('where', c.shape, a.shape, b.shape);
    const shapes = [c.shape, a.shape, b.shape];
    return (out, [cb, ab, bb]) => kernels.where(out, cb, ab, bb, shape, shapes);
  },
  emit: mapEmit(([c, a, b]) => `(${c} !== 0 ? ${a} : ${b})`, true),
  fusion: { map: 'where' },
  shape: ([c, a, b]) => ({ shape: broadcastShapes('where', c.shape, a.shape, b.shape), dtype: a.dtype }),
  saves: [0],
  // A constant condition selects per element; a traced one may select either branch.
  sparsity(algebra, { inputs: [c, a, b], out }) {
    const size = out.shape.reduce((n, d) => n * d, 1);
    let pick: ((e: number) => boolean) | undefined;
    if (!c.deps) {
      const v = c.value.data(), m = algebra.broadcastMap(c.shape, out.shape);
      pick = (e) => v[m ? m[e] : e] !== 0;
    }
    const parts = [];
    if (a.deps) parts.push({ deps: a.deps, map: algebra.broadcastMap(a.shape, out.shape), when: pick });
    if (b.deps) parts.push({ deps: b.deps, map: algebra.broadcastMap(b.shape, out.shape), when: pick && ((e: number) => !pick!(e)) });
    return algebra.union(parts, size);
  },
  jvp({ inputs: [c], tangents: [, ta, tb] }) {
    if (!ta && !tb) return null;
    return where(c, ta ?? 0, tb ?? 0);
  },
  vjp: ({ ct, inputs: [c] }) => [null, where(c, ct, 0), where(c, 0, ct)],
});

/**
 * Picks `a` where `cond` is non-zero and `b` elsewhere, broadcasting all three.
 * @example where(greater(x, 0), x, 0) // relu
 */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = coerce('where', [a, b]);
  const c = toTensor('where', cond, x.dtype);
  // A float condition for int32 branches becomes its nonzero mask first (a cast would
  // truncate 0.5 to 0).
  const cc = c.dtype === x.dtype ? c : astype(x.dtype === 'int32' ? equal(equal(c, 0), 0) : c, x.dtype);
  broadcastShapes('where', cc.shape, x.shape, y.shape);
  return bind(whereP, [cc, x, y], NO_PARAMS);
}
