// erf and softplus on f64x2 lanes (see ../mathf64.ts for bounds).

import { F, K, ONE, add, mul, sel, signOf, sub } from './lanes';
import { expLanes } from './exp';
import { log1pLanes } from './log';

// The polynomials below were fitted with mpmath at 50 digits by test/fixtures/fit-erf.py
// (Chebyshev interpolation, coefficients rounded to f64); its output, unchanged:
// Q, lowest degree first (max error 1.3e-19)
const ERF_SMALL: usize = memory.data<f64>([0.1283791670955126, -0.3761263890318375, 0.11283791670954879, -0.026866170645076792, 0.0052239776248180145, -0.000854832698083379, 0.0001205533111164271, -1.4925595266831182e-05, 1.6461000484121368e-06, -1.6350312701054695e-07, 1.4659775274047436e-08, -1.1372848856791674e-09, 5.957176147748911e-11], 16);
// g per interval, 14 coefficients each, lowest degree first (max relative error 7.42e-19)
const ERFC_TABLE: usize = memory.data<f64>([
  0.3678229164523611, -0.20882187596460985, 0.10679557149659845, -0.05021827439590747, 0.022011364250946238, -0.009081627632959959, 0.003553109894683297, -0.0013257829272368543, 0.0004739707006153454, -0.00016296012111131222, 5.404491508514403e-05, -1.7341459254977562e-05, 5.501701839828387e-06, -1.6610767030625112e-06,
  0.2849722347374364, -0.1309763455144852, 0.05576363008708723, -0.022259995241388317, 0.008404319207340187, -0.0030209746514281146, 0.001039204521356914, -0.00034353335318474803, 0.0001095053381684006, -3.375536830552878e-05, 1.0085518680104132e-05, -2.92763224927802e-06, 8.406449608561853e-07, -2.3131132443809953e-07,
  0.23108725873039188, -0.08848650280874916, 0.031992627410706256, -0.011002060756440045, 0.0036189953543597905, -0.0011437284836541604, 0.0003485354218814771, -0.00010272108111777696, 2.9353254863530408e-05, -8.150285053705488e-06, 2.2028461470983834e-06, -5.805909757132036e-07, 1.5147418685283685e-07, -3.8093997572624824e-08,
  0.1936620962790687, -0.06323763756063484, 0.019758592987322864, -0.005934337896997976, 0.001719581885289515, -0.0004821950849811217, 0.00013118180050158485, -3.469860957140213e-05, 8.940157366119897e-06, -2.2473737254695783e-06, 5.519449177126979e-07, -1.3261857188670576e-07, 3.1568164431976944e-08, -7.279738484278512e-09,
  0.16633534842682188, -0.047199402321170376, 0.012937290883018157, -0.003435471300907574, 0.0008860045775343321, -0.00022238256956848873, 5.442040880644052e-05, -1.3004640264149419e-05, 3.0388322525197412e-06, -6.952081224454215e-07, 1.558749388297477e-07, -3.4288600060257634e-08, 7.478692856076797e-09, -1.586936266709577e-09,
  0.14558972127503855, -0.03645625753272353, 0.008878755527325298, -0.00210728287016911, 0.00048822238209558116, -0.00011057957492429544, 2.4516325375175097e-05, -5.326672789022946e-06, 1.1353256642536615e-06, -2.3760040556954934e-07, 4.8863416523494246e-08, -9.882877201280105e-09, 1.983538604342367e-09, -3.886928977136085e-10,
  0.12934527478598792, -0.028944331414615332, 0.006331866273872749, -0.0013559331671040983, 0.0002845751568401692, -5.8595500213358165e-05, 1.1848093644133921e-05, -2.3546006354783887e-06, 4.602602510051801e-07, -8.855436560091711e-08, 1.678048346916335e-08, -3.1337186685536493e-09, 5.811724586030923e-10, -1.0555257375577111e-10,
  0.11630270721024731, -0.02350344859816315, 0.00466132636897234, -0.0009080988970296905, 0.00017392830404065597, -3.277578113463187e-05, 6.081114550292908e-06, -1.1115677200716773e-06, 2.002919741920613e-07, -3.5595747942067336e-08, 6.242335630900769e-09, -1.0807446894693348e-09, 1.859478945996065e-10, -3.141135105048579e-11,
  0.1056127354688918, -0.01944544467214865, 0.003524150940111397, -0.0006291014910425433, 0.00011068405606902267, -1.920407867207035e-05, 3.287547680190039e-06, -5.55558100260598e-07, 9.271691472357647e-08, -1.52876234438342e-08, 2.4913485679760037e-09, -4.0142946040380724e-10, 6.432031515574242e-11, -1.0140384592111234e-11,
  0.09669877816971392, -0.016343218143802483, 0.002725273842849635, -0.00044859569827805586, 7.2924288875407e-05, -1.1712414897786451e-05, 1.8593010710359471e-06, -2.918382112209443e-07, 4.5307839541466324e-08, -6.959585888416656e-09, 1.0580344538295682e-09, -1.5924080266529063e-10, 2.384598604374149e-11, -3.5200073691581453e-12,
], 16);

const ERFC_DEGREE = 13; // 14 coefficients per interval
const ERFC_ROW_BYTES: i32 = (ERFC_DEGREE + 1) * 8;
// Keeps the top 26 significant bits of x in [1, 6], so x_hi * x_hi is exact.
const HIGH_26: usize = memory.data<u64>([0xFFFFFFFFF8000000, 0xFFFFFFFFF8000000], 16);

/** Q(z) by Horner (its terms decay slowly at z = 1, where Horner's rounding is the smaller). */
@inline function smallPoly(z: v128): v128 {
  let p = f64x2.splat(load<f64>(ERF_SMALL + 12 * 8));
  for (let i = 11; i >= 0; i--) p = add(mul(p, z), f64x2.splat(load<f64>(ERF_SMALL + (<usize>i << 3))));
  return p;
}

/**
 * g on each lane's interval (pairAt: c_2i + c_2i+1 s), degree 13 in s, by Estrin's scheme: its chain is 4 multiply-adds
 * deep where Horner's is 13, and the coefficient pairs (c_2i, c_2i+1) it starts from come in
 * one 16-byte load per lane (rows r0, r1 in bytes), split by shuffles, as exp's table rows.
 */
@inline function pairAt(row0: usize, row1: usize, i: usize, s: v128): v128 {
  const a = v128.load(row0 + (i << 4)), b = v128.load(row1 + (i << 4));
  return add(i64x2.shuffle(a, b, 0, 2), mul(i64x2.shuffle(a, b, 1, 3), s));
}

@inline function erfcPoly(s: v128, r0: usize, r1: usize): v128 {
  const s2 = mul(s, s), s4 = mul(s2, s2), s8 = mul(s4, s4);
  const row0 = ERFC_TABLE + r0, row1 = ERFC_TABLE + r1;
  const q0 = add(pairAt(row0, row1, 0, s), mul(pairAt(row0, row1, 1, s), s2));
  const q1 = add(pairAt(row0, row1, 2, s), mul(pairAt(row0, row1, 3, s), s2));
  const q2 = add(pairAt(row0, row1, 4, s), mul(pairAt(row0, row1, 5, s), s2));
  const r = add(q0, mul(q1, s4)), t = add(q2, mul(pairAt(row0, row1, 6, s), s4));
  return add(r, mul(t, s8));
}

/** erf on a = |x| < 1: a + a Q(a^2). */
@inline function erfSmall(a: v128): v128 { return add(a, mul(a, smallPoly(mul(a, a)))); }

/** erf on a >= 1 (and NaN): 1 - e^(-a^2) g(a), 1 from 6 on. */
@inline function erfLarge(a: v128): v128 {
  const b = f64x2.pmin(f64x2.pmax(a, K(ONE)), F(5.999999999999999));
  // Interval i = floor(2 (b - 1)), 0..9; trunc_sat keeps a NaN lane at row 0 (it stays NaN).
  const idx = i32x4.trunc_sat_f64x2_s_zero(mul(sub(b, K(ONE)), F(2.0)));
  const i0 = i32x4.extract_lane(idx, 0), i1 = i32x4.extract_lane(idx, 1);
  const centre = f64x2.replace_lane(f64x2.splat(1.25 + 0.5 * <f64>i0), 1, 1.25 + 0.5 * <f64>i1);
  const g = erfcPoly(sub(b, centre), <usize>(i0 * ERFC_ROW_BYTES), <usize>(i1 * ERFC_ROW_BYTES));
  const h = v128.and(b, K(HIGH_26));
  const d = mul(sub(h, b), add(b, h));
  const ed = add(K(ONE), add(d, mul(mul(d, d), F(0.5))));
  const erfc = mul(expLanes(f64x2.neg(mul(h, h))), mul(g, ed));
  return sel(K(ONE), sub(K(ONE), erfc), f64x2.ge(a, F(6.0)));
}

/**
 * erf x, odd, from a = |x|:
 *  - a < 1: a + a Q(a^2) (Q ~ 0.128 at 0, so the final sum dominates the rounding);
 *  - 1 <= a < 6: 1 - erfc a with erfc a = e^(-a^2) g(a), g from the interval's polynomial in
 *    s = a - centre, and e^(-a^2) = e^(-h^2) e^d with h the top 26 bits of a (h^2 exact) and
 *    d = (h - a)(a + h), |d| < 2^-22, so e^d = 1 + d + d^2/2 to 2^-68: the only rounded
 *    exponent is exact, which a plain e^(-a^2) (error ~a^2 ulp) is not;
 *  - a >= 6 (Infinity included): 1, since erfc 6 < 2^-55. NaN propagates.
 * A vector with lanes on both sides runs both branches and bitselect chooses. Error: fits < 2^-62; measured max
 * 1.11 ulp (f64) against mpmath values on 20000 points, bound 1.2 in test/kernels-special.test.ts.
 */
@inline export function erfLanes(x: v128): v128 {
  const a = f64x2.abs(x);
  const isSmall = f64x2.lt(a, K(ONE));
  // A vector whose lanes agree runs one branch (a NaN lane counts as large: it stays NaN there).
  let r: v128;
  if (i64x2.all_true(isSmall)) r = erfSmall(a);
  else if (!v128.any_true(isSmall)) r = erfLarge(a);
  else r = sel(erfSmall(a), erfLarge(a), isSmall);
  return v128.or(r, signOf(x));
}

/**
 * softplus x = ln(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow, and for x < 0 the value
 * keeps its relative accuracy (e^x tiny gives log1p(e^x) ~ e^x). exp < 0.52 ulp and log1p's
 * condition number here below 1 bound the error by about 2 ulp; measured max 1.50 ulp on
 * 20000 points, bound 1.6 in test/kernels-special.test.ts. softplus(-Infinity) = 0, softplus(Infinity) = Infinity.
 */
@inline export function softplusLanes(x: v128): v128 {
  const tail = log1pLanes(expLanes(f64x2.neg(f64x2.abs(x))));
  return add(f64x2.pmax(x, F(0.0)), tail);
}
