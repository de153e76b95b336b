// Vectorised f64 transcendentals: each function maps both f64x2 lanes at once; a vector only
// leaves its straight-line path when a lane needs it (huge, subnormal or special arguments).
//
// exp, expm1 (for tanh) and log reduce through tables (128 and 256 cells, generated with
// 256-bit arithmetic) to short Taylor polynomials, with no division: exp < 0.52 ulp, log
// < 0.75 ulp, tanh and sigmoid < 1.6 ulp. sin, cos, tan and pow are the fdlibm algorithms
// (Sun, 1993), re-derived as straight-line SIMD: each data-dependent branch of the scalar code
// is evaluated on both lanes and chosen with a bitselect, so a lane follows the scalar
// operation sequence exactly (wasm has no fused multiply-add); for sin, cos and tan that is
// V8's own algorithm, so results match Math.* bit for bit below 2^20 pi/2, and huge arguments
// get an exact Payne-Hanek reduction. Every function states its bound and the error measured
// against exact values or Math.*; test/kernels-elementwise.test.ts checks them on 1e5-point
// sweeps per range.
//
// The code is split by family under assembly/math/: lanes.ts (vector helpers and shared
// constants), exp.ts (exp, expm1, tanh, sigmoid), log.ts, trig.ts (sin, cos, tan and the
// Payne-Hanek reduction), pow.ts and erf.ts (erf and softplus). This file is the interface the kernels import.

import { expLanes, expm1Lanes, sigmoidLanes, tanhLanes } from './math/exp';
import { log1pLanes, logLanes } from './math/log';
import { cosLanes, cosOfLast, sinLanes, sincosLanes, tanLanes } from './math/trig';
import { powLanes } from './math/pow';
import { erfLanes, softplusLanes } from './math/erf';

// ---- exports -----------------------------------------------------------------------------
// Thin @inline wrappers: AssemblyScript warns about v128 in the signature of any exported
// function that is not inlined, even one that never leaves the module.

@inline export function exp_f64x2(x: v128): v128 { return expLanes(x); }
@inline export function log_f64x2(x: v128): v128 { return logLanes(x); }
@inline export function expm1_f64x2(x: v128): v128 { return expm1Lanes(x); }
@inline export function log1p_f64x2(x: v128): v128 { return log1pLanes(x); }
@inline export function tanh_f64x2(x: v128): v128 { return tanhLanes(x); }
@inline export function sigmoid_f64x2(x: v128): v128 { return sigmoidLanes(x); }
@inline export function sin_f64x2(x: v128): v128 { return sinLanes(x); }
@inline export function cos_f64x2(x: v128): v128 { return cosLanes(x); }
@inline export function sincos_f64x2(x: v128): v128 { return sincosLanes(x); }
@inline export function cos_of_last_f64x2(): v128 { return cosOfLast; }
@inline export function tan_f64x2(x: v128): v128 { return tanLanes(x); }
@inline export function pow_f64x2(x: v128, y: v128): v128 { return powLanes(x, y); }
@inline export function erf_f64x2(x: v128): v128 { return erfLanes(x); }
@inline export function softplus_f64x2(x: v128): v128 { return softplusLanes(x); }
