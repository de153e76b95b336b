// Elementwise primitives: unary maps, broadcasting binary maps, comparisons and where.
// Each primitive's impl, jvp and vjp sit together; rules use the public ops, so they are
// differentiable again. Non-differentiable points follow JAX: abs'(0) = 0, sign' = 0,
// maximum/minimum split the derivative evenly at ties, comparisons have zero derivative.
import * as k from '../backend/kernels.js';
import { definePrimitive, type DualImpl, type Primitive } from '../core/primitive.js';
import { fusedKernels } from '../core/fusion.js';
import { bind } from '../core/trace.js';
import { empty } from '../tensor/create.js';
import { broadcastShapes, shapesEqual } from '../tensor/shape.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { astype, coerce, toTensor, type TensorLike } from './convert.js';

type Unary = Primitive<Record<string, never>>;

// Ops whose primal and tangent come out of one kernel (assembly/dual.ts) on concrete values.
const fusedUnary = new Set(['exp', 'log', 'sin', 'cos', 'tan', 'tanh', 'sigmoid', 'sqrt', 'square', 'reciprocal', 'abs']);

/** The fused forward pass of unary op `name`: out = op(x) and op'(x) t over all k directions. */
function unaryDual(name: string): DualImpl<Record<string, never>> | undefined {
  if (!fusedUnary.has(name)) return undefined;
  return ([x], [t], chunk) => {
    if (!t || t.size !== chunk * x.size) return null;
    const out = empty(x.shape, x.dtype, name);
    const tangent = empty([chunk, ...x.shape], x.dtype, name);
    k.unaryDual(name, out.data_(name), tangent.data_(name), x.data_(name), t.data_(name));
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
 * The fused cotangent of unary op `name`: ct * op'(x) over all k rows of ct in one kernel, on
 * concrete values (under an outer transform the rule runs, so it stays differentiable). exp's
 * rule, mul(ct, out), is already one kernel.
 */
function unaryCotangent(name: string, ct: Tensor, x: Tensor, out: Tensor): Tensor | null {
  if (!fusedKernels.enabled || name === 'exp' || !fusedUnary.has(name)) return null;
  if (!(ct instanceof DenseTensor && x instanceof DenseTensor && out instanceof DenseTensor)) return null;
  if (ct.dtype !== x.dtype || ct.ndim !== x.ndim + 1 || !shapesEqual(ct.shape.slice(1), x.shape)) return null;
  const result = empty(ct.shape, ct.dtype, name);
  k.unaryCotangent(name, result.data_(name), x.data_(name), out.data_(name), ct.data_(name));
  fusedKernels.calls++;
  return result;
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
    k.binaryDual(name, out.data_(name), tangent.data_(name), a.data_(name), b.data_(name), ta && ta.data_(name), tb && tb.data_(name), scalar);
    return [out, tangent];
  };
}

/** A unary map whose derivative is `deriv(x, out)` (null: identically zero). */
function unaryPrim(name: string, deriv: (x: Tensor, out: Tensor) => Tensor | null): Unary {
  return definePrimitive({
    name,
    dual: unaryDual(name),
    impl([x]) {
      const out = empty(x.shape, x.dtype, name);
      k.unary(name, out.data_(name), x.data_(name));
      return out;
    },
    jvp([x], [t], out) {
      const d = deriv(x, out);
      return d && t ? mul(d, t) : null;
    },
    vjp(ct, [x], out) {
      const fused = unaryCotangent(name, ct, x, out);
      if (fused) return [fused];
      const d = deriv(x, out);
      return [d ? mul(ct, d) : null];
    },
  });
}

// d(-x) = -dx
const negP = unaryPrim('neg', () => null);
// Linear primitives need their own rules: the derivative is not a coefficient.
const negLinear: Unary = { ...negP, jvp: (_, [t]) => (t ? neg(t) : null), vjp: (ct) => [neg(ct)] };
// d exp(x) = exp(x) dx
const expP = unaryPrim('exp', (_, out) => out);
// d log(x) = dx / x
const logP = unaryPrim('log', (x) => reciprocal(x));
// d sin(x) = cos(x) dx
const sinP = unaryPrim('sin', (x) => cos(x));
// d cos(x) = -sin(x) dx
const cosP = unaryPrim('cos', (x) => neg(sin(x)));
// d tan(x) = (1 + tan(x)^2) dx
const tanP = unaryPrim('tan', (_, out) => add(1, square(out)));
// d tanh(x) = (1 - tanh(x)^2) dx
const tanhP = unaryPrim('tanh', (_, out) => sub(1, square(out)));
// d sigmoid(x) = sigmoid(x) (1 - sigmoid(x)) dx
const sigmoidP = unaryPrim('sigmoid', (_, out) => mul(out, sub(1, out)));
// d sqrt(x) = dx / (2 sqrt(x))
const sqrtP = unaryPrim('sqrt', (_, out) => div(0.5, out));
// d x^2 = 2x dx
const squareP = unaryPrim('square', (x) => mul(2, x));
// d (1/x) = -dx / x^2
const reciprocalP = unaryPrim('reciprocal', (_, out) => neg(square(out)));
// d |x| = sign(x) dx (0 at 0, as JAX)
const absP = unaryPrim('abs', (x) => sign(x));
// d sign(x) = 0
const signP = unaryPrim('sign', () => null);

function unaryOp(prim: Unary) {
  return (x: TensorLike): Tensor => bind(prim, [toTensor(prim.name, x)], {});
}

/** -x, elementwise. @example neg(array([1, -2])) // [-1, 2] */
export const neg = unaryOp(negLinear);
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

function binaryPrim(name: string, jvp: Binary['jvp'], vjp: Binary['vjp'], dual?: Binary['dual']): Binary {
  return definePrimitive({
    name,
    broadcasts: true,
    dual,
    impl([a, b]) {
      const shape = broadcastShapes(name, a.shape, b.shape);
      const out = empty(shape, a.dtype, name);
      k.binary(name, out.data_(name), a.data_(name), b.data_(name), shape, a.shape, b.shape);
      return out;
    },
    jvp,
    vjp,
  });
}

/** Sums the tangent terms that are not symbolic zeros. */
function addTerms(...terms: (Tensor | null)[]): Tensor | null {
  let acc: Tensor | null = null;
  for (const t of terms) if (t) acc = acc ? add(acc, t) : t;
  return acc;
}

// d(a + b) = da + db
const addP = binaryPrim('add', (_, [ta, tb]) => addTerms(ta, tb), (ct) => [ct, ct]);
// d(a - b) = da - db
const subP = binaryPrim('sub', (_, [ta, tb]) => addTerms(ta, tb && neg(tb)), (ct, _, __, ___, wanted) => [ct, wanted[1] ? neg(ct) : null], binaryDual('sub'));
// d(a b) = da b + a db
const mulP = binaryPrim('mul',
  ([a, b], [ta, tb]) => addTerms(ta && mul(ta, b), tb && mul(a, tb)),
  (ct, [a, b], _, __, wanted) => [wanted[0] ? mul(ct, b) : null, wanted[1] ? mul(ct, a) : null],
  binaryDual('mul'));
// d(a / b) = da / b - (a / b) db / b
const divP = binaryPrim('div',
  ([, b], [ta, tb], out) => addTerms(ta && div(ta, b), tb && neg(div(mul(out, tb), b))),
  (ct, [, b], out, _, wanted) => [wanted[0] ? div(ct, b) : null, wanted[1] ? neg(div(mul(ct, out), b)) : null],
  binaryDual('div'));

// d(a^b) = b a^(b-1) da + log(a) a^b db; the first term is 0 where b = 0 (so 0^0 has slope 0)
// and the second is 0 where a = 0 (the limit for b > 0), as JAX has them.
function powBaseSlope(a: Tensor, b: Tensor): Tensor {
  return where(equal(b, 0), 0, mul(b, pow(a, sub(b, 1))));
}
function powExpSlope(a: Tensor, out: Tensor): Tensor {
  const zero = equal(a, 0);
  return where(zero, 0, mul(log(where(zero, 1, a)), out));
}
const powP = binaryPrim('pow',
  ([a, b], [ta, tb], out) => addTerms(ta && mul(ta, powBaseSlope(a, b)), tb && mul(tb, powExpSlope(a, out))),
  (ct, [a, b], out, _, wanted) => [wanted[0] ? mul(ct, powBaseSlope(a, b)) : null, wanted[1] ? mul(ct, powExpSlope(a, out)) : null],
  binaryDual('pow'));

// d max(a, b) = da where a > b, db where b > a, (da + db)/2 at ties (JAX's convention).
function pickWeights(name: 'maximum' | 'minimum', a: Tensor, b: Tensor): [Tensor, Tensor] {
  const wins = name === 'maximum' ? greater(a, b) : less(a, b);
  const ties = mul(equal(a, b), 0.5);
  const wa = add(wins, ties);
  return [wa, sub(1, wa)];
}
function extremumPrim(name: 'maximum' | 'minimum'): Binary {
  return binaryPrim(name,
    ([a, b], [ta, tb]) => {
      const [wa, wb] = pickWeights(name, a, b);
      return addTerms(ta && mul(ta, wa), tb && mul(tb, wb));
    },
    (ct, [a, b]) => {
      const [wa, wb] = pickWeights(name, a, b);
      return [mul(ct, wa), mul(ct, wb)];
    },
    binaryDual(name));
}
const maximumP = extremumPrim('maximum');
const minimumP = extremumPrim('minimum');

// Comparisons return 1/0 masks in the operands' dtype; their derivative is zero.
const compare = (name: string) => binaryPrim(name, () => null, () => [null, null]);
const greaterP = compare('greater');
const lessP = compare('less');
const equalP = compare('equal');
const greaterEqualP = compare('greater_equal');
const lessEqualP = compare('less_equal');

function binaryOp(prim: Binary) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    const [x, y] = coerce(prim.name, [a, b]);
    broadcastShapes(prim.name, x.shape, y.shape);
    return bind(prim, [x, y], {});
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
  broadcasts: true,
  impl([c, a, b]) {
    const shape = broadcastShapes('where', c.shape, a.shape, b.shape);
    const out = empty(shape, a.dtype, 'where');
    k.where(out.data_('where'), c.data_('where'), a.data_('where'), b.data_('where'), shape, [c.shape, a.shape, b.shape]);
    return out;
  },
  jvp([c], [, ta, tb]) {
    if (!ta && !tb) return null;
    return where(c, ta ?? 0, tb ?? 0);
  },
  vjp: (ct, [c]) => [null, where(c, ct, 0), where(c, 0, ct)],
});

/**
 * Picks `a` where `cond` is non-zero and `b` elsewhere, broadcasting all three.
 * @example where(greater(x, 0), x, 0) // relu
 */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = coerce('where', [a, b]);
  const c = toTensor('where', cond, x.dtype);
  const cc = c.dtype === x.dtype ? c : astype(c, x.dtype);
  broadcastShapes('where', cc.shape, x.shape, y.shape);
  return bind(whereP, [cc, x, y], {});
}
