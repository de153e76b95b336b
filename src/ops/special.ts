// Special functions as primitives: log1p, expm1, sinh, cosh, asin, acos, atan, erf, atan2, and
// floor, ceil and round (zero derivative, as JAX). Composites of exp and log would lose the
// relative accuracy these exist for (log(1 + x) at x = 1e-10 keeps 6 digits), so each computes
// its value with the Math.* function (log1p, expm1, erf and softplus with SIMD kernels, measured
// in ulp against exact values in test/kernels-special.test.ts), and its rules with the public
// ops, so they are differentiable again.
import * as kernels from '../backend/kernels.js';
import { mapEmit } from '../core/emit.js';
import { definePrimitive, NO_PARAMS, type Aval, type Primitive } from '../core/primitive.js';
import { bind } from '../core/trace.js';
import { readData, writeData } from '../backend/io.js';
import { empty } from '../tensor/create.js';
import { DenseTensor, Tensor } from '../tensor/tensor.js';
import { add, div, exp, mul, neg, reciprocal, sigmoid, sqrt, square, sub } from './elementwise.js';
import { coerce, floatUnlessInteger, toTensor, type TensorLike } from './convert.js';
import { broadcastTo } from './sum.js';
import { broadcastShapes } from '../tensor/shape.js';
import { batchSame } from '../core/batch-axes.js';
import { batchFirstWith } from './batching.js';

type NoParams = Record<string, never>;
const sameAval = ([x]: readonly Aval[]): Aval => x;

type MapName = 'sinh' | 'cosh' | 'asin' | 'acos' | 'atan' | 'floor' | 'ceil' | 'round';

/**
 * out[i] = op(a[i]). One loop per op, each calling its Math.* function directly: a shared loop
 * calling `f` through a parameter is megamorphic and ran 2.4 times slower (log1p at n = 1e6:
 * 22 against 9 ms in plain Node).
 */
function mapInto(name: MapName, a: ArrayLike<number>, v: Float64Array): void {
  const n = v.length;
  switch (name) {
    case 'sinh': for (let i = 0; i < n; i++) v[i] = Math.sinh(a[i]); return;
    case 'cosh': for (let i = 0; i < n; i++) v[i] = Math.cosh(a[i]); return;
    case 'asin': for (let i = 0; i < n; i++) v[i] = Math.asin(a[i]); return;
    case 'acos': for (let i = 0; i < n; i++) v[i] = Math.acos(a[i]); return;
    case 'atan': for (let i = 0; i < n; i++) v[i] = Math.atan(a[i]); return;
    case 'floor': for (let i = 0; i < n; i++) v[i] = Math.floor(a[i]); return;
    case 'ceil': for (let i = 0; i < n; i++) v[i] = Math.ceil(a[i]); return;
    case 'round': for (let i = 0; i < n; i++) v[i] = roundHalfEven(a[i]); return;
    default: {
      // Every MapName has a case: a new name without one does not compile.
      const missing: never = name;
      throw new Error(`special: no loop for '${String(missing)}'`);
    }
  }
}

/** The impl of a unary map: reads x, computes in float64, writes a tensor of x's dtype. */
function mapImpl(name: MapName) {
  return ([x]: DenseTensor[]): DenseTensor => {
    const a = readData(x.liveBuffer(name));
    const out = empty(x.shape, x.dtype, name);
    const values = new Float64Array(out.size);
    mapInto(name, a, values);
    writeData(out.liveBuffer(name), values);
    return out;
  };
}

/** The map in generated JS: the same Math.* call (or function) as mapInto, so bit-equal to impl. */
function mapJs(name: MapName) {
  if (name === 'round') return mapEmit(([x]) => `roundHalfEven(${x})`, true, { roundHalfEven });
  return mapEmit(([x]) => `Math.${name}(${x})`, true);
}

/** A differentiable unary map: out = f(x), d out = slope(x, out) dx. */
function smoothUnary(name: MapName, slope: (x: Tensor, out: Tensor) => Tensor, saves: readonly (0 | 'out')[]): Primitive<NoParams> {
  return definePrimitive<NoParams>({
    name,
    batch: batchSame(),
    impl: mapImpl(name),
    emit: mapJs(name),
    shape: sameAval,
    saves,
    sparsity: 'elementwise',
    jvp: ({ inputs: [x], tangents: [t], out }) => (t ? mul(slope(x, out), t) : null),
    vjp: ({ ct, inputs: [x], out }) => [mul(ct, slope(x, out))],
  });
}

/** A piecewise-constant map: its derivative is zero wherever it exists, and taken as zero at the jumps. */
function stepUnary(name: MapName): Primitive<NoParams> {
  return definePrimitive<NoParams>({
    name,
    batch: batchSame(),
    impl: mapImpl(name),
    emit: mapJs(name),
    shape: sameAval,
    saves: [],
    sparsity: 'none',
    jvp: () => null,
    vjp: () => [null],
  });
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Rounds half to even, as NumPy and JAX (Math.round rounds half up). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * A unary map whose value comes from a SIMD kernel (<name>_f64/f32; f64 within 1.2 ulp of exact
 * values for log1p, expm1 and erf, 1.6 for softplus; f32 correctly rounded but for near-ties),
 * as exp's does: out = op(x), d out = slope(x, out) dx.
 */
function kernelUnary(name: 'log1p' | 'expm1' | 'erf' | 'softplus', slope: (x: Tensor, out: Tensor) => Tensor, saves: readonly (0 | 'out')[]): Primitive<NoParams> {
  const prim: Primitive<NoParams> = definePrimitive<NoParams>({
    name,
    batch: batchSame(),
    impl([x]) {
      const out = empty(x.shape, x.dtype, name);
      kernels.unary(name, out.liveBuffer(name), x.liveBuffer(name));
      return out;
    },
    into: ([x]) => kernels.unaryInto(name, x.dtype),
    // log1p and expm1 have Math.* forms (within the ulp test/codegen.test.ts measures); erf and
    // softplus have none, so generated code calls their kernels.
    emit: name === 'log1p' || name === 'expm1' ? mapEmit(([x]) => `Math.${name}(${x})`, false) : undefined,
    shape: sameAval,
    saves,
    sparsity: 'elementwise',
    jvp: ({ inputs: [x], tangents: [t], out }) => (t ? mul(slope(x, out), t) : null),
    vjp: ({ ct, inputs: [x], out }) => [mul(ct, slope(x, out))],
  });
  return prim;
}

// d log1p(x) = dx / (1 + x)
const log1pP = kernelUnary('log1p', (x) => reciprocal(add(1, x)), [0]);
// d expm1(x) = e^x dx = (expm1(x) + 1) dx
const expm1P = kernelUnary('expm1', (_, out) => add(out, 1), ['out']);
// d sinh(x) = cosh(x) dx
const sinhP = smoothUnary('sinh', (x) => cosh(x), [0]);
// d cosh(x) = sinh(x) dx
const coshP = smoothUnary('cosh', (x) => sinh(x), [0]);
// d asin(x) = dx / sqrt(1 - x^2)
const asinP = smoothUnary('asin', (x) => div(1, sqrt(sub(1, square(x)))), [0]);
// d acos(x) = -dx / sqrt(1 - x^2)
const acosP = smoothUnary('acos', (x) => div(-1, sqrt(sub(1, square(x)))), [0]);
// d atan(x) = dx / (1 + x^2)
const atanP = smoothUnary('atan', (x) => reciprocal(add(1, square(x))), [0]);
// d erf(x) = 2/sqrt(pi) e^(-x^2) dx
const erfP = kernelUnary('erf', (x) => mul(TWO_OVER_SQRT_PI, exp(neg(square(x)))), [0]);
// d softplus(x) = sigmoid(x) dx (JAX's 1/2 at 0, where logaddexp(x, 0) splits the tie)
const softplusP = kernelUnary('softplus', (x) => sigmoid(x), [0]);
const floorP = stepUnary('floor');
const ceilP = stepUnary('ceil');
const roundP = stepUnary('round');

// d atan2(y, x) = (x dy - y dx) / (x^2 + y^2); at (0, 0) the quotient is NaN, as in JAX.
// The operands have one shape: the public op broadcasts them first, so the rules need not.
const atan2P: Primitive<NoParams> = definePrimitive({
  name: 'atan2',
  batch: batchFirstWith(),
  impl([y, x]) {
    const a = readData(y.liveBuffer('atan2')), b = readData(x.liveBuffer('atan2'));
    const out = empty(y.shape, y.dtype, 'atan2');
    const values = new Float64Array(out.size);
    for (let i = 0; i < values.length; i++) values[i] = Math.atan2(a[i], b[i]);
    writeData(out.liveBuffer('atan2'), values);
    return out;
  },
  shape: sameAval,
  saves: [0, 1],
  sparsity: 'elementwise',
  jvp: ({ inputs: [y, x], tangents: [ty, tx] }) => {
    if (!ty && !tx) return null;
    const r2 = add(square(x), square(y));
    const num = ty && tx ? sub(mul(x, ty), mul(y, tx)) : ty ? mul(x, ty) : neg(mul(y, tx!));
    return div(num, r2);
  },
  vjp: ({ ct, inputs: [y, x], wanted }) => {
    const r2 = add(square(x), square(y));
    return [wanted[0] ? mul(ct, div(x, r2)) : null, wanted[1] ? mul(ct, div(neg(y), r2)) : null];
  },
});

function unaryOp(prim: Primitive<NoParams>) {
  return (x: TensorLike): Tensor => bind(prim, [floatUnlessInteger(prim, toTensor(prim.name, x))], NO_PARAMS);
}

/** log(1 + x), accurate for small x. @example log1p(1e-10).item() // 9.999999999500001e-11 */
export const log1p = unaryOp(log1pP);
/** e^x - 1, accurate for small x. @example expm1(1e-10).item() // 1.00000000005e-10 */
export const expm1 = unaryOp(expm1P);
/** Hyperbolic sine. @example sinh(0).item() // 0 */
export const sinh = unaryOp(sinhP);
/** Hyperbolic cosine. @example cosh(0).item() // 1 */
export const cosh = unaryOp(coshP);
/** Arcsine (NaN outside [-1, 1]; the derivative is infinite at ±1). @example asin(1).item() // Math.PI / 2 */
export const asin = unaryOp(asinP);
/** Arccosine (NaN outside [-1, 1]; the derivative is infinite at ±1). @example acos(1).item() // 0 */
export const acos = unaryOp(acosP);
/** Arctangent. @example atan(1).item() // Math.PI / 4 */
export const atan = unaryOp(atanP);
/** The error function, 2/sqrt(pi) times the integral of e^(-t^2) from 0 to x. @example erf(0).item() // 0 */
export const erf = unaryOp(erfP);
/**
 * log(1 + e^x) elementwise, as max(x, 0) + log1p(e^-|x|) (no overflow, full relative accuracy
 * for negative x); its derivative is sigmoid(x).
 * @example softplus(0).item() // Math.LN2
 */
export const softplus = unaryOp(softplusP);
/** Largest integer <= x; derivative zero. @example floor(-1.5).item() // -2 */
export const floor = unaryOp(floorP);
/** Smallest integer >= x; derivative zero. @example ceil(-1.5).item() // -1 */
export const ceil = unaryOp(ceilP);
/** Nearest integer, halves to even (as NumPy and JAX); derivative zero. @example round(2.5).item() // 2 */
export const round = unaryOp(roundP);

/**
 * The angle of the point (x, y) in (-pi, pi], elementwise with broadcasting, as Math.atan2.
 * Its derivative at (0, 0) is NaN (the angle has no limit there), as in JAX.
 * @example atan2(1, -1).item() // 3 * Math.PI / 4
 */
export function atan2(y: TensorLike, x: TensorLike): Tensor {
  const [ty, tx] = coerce('atan2', [y, x]).map((t) => floatUnlessInteger(atan2P, t));
  const shape = broadcastShapes('atan2', ty.shape, tx.shape);
  return bind(atan2P, [broadcastTo(ty, shape), broadcastTo(tx, shape)], NO_PARAMS);
}
