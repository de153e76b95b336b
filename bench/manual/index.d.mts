// Types of the hand-written baselines (bench/manual/*.mjs), for the tests that check them.
export function logsumexp(x: Float64Array): number;
export function logsumexpValueAndGrad(x: Float64Array, grad: Float64Array): number;
export function odePrimal(x: Float64Array, s: number, out?: Float64Array): Float64Array;
export function odeValueAndGrad(x: Float64Array, s: number, grad: Float64Array): number;
export function lstmObjective(l: number, c: number, b: number, main: Float64Array, extra: Float64Array, state: Float64Array, seq: Float64Array): number;
export function lstmValueAndGrad(l: number, c: number, b: number, main: Float64Array, extra: Float64Array, state: Float64Array, seq: Float64Array, mainGrad: Float64Array, extraGrad: Float64Array): number;
export function detPrimal(A: Float64Array, ell: number): number;
export function detValueAndGrad(A: Float64Array, ell: number, grad: Float64Array): number;
export function lotkaVolterra(p: readonly number[], x0: number, y0: number, h: number, steps: number): number;
export function lotkaVolterraValueAndGrad(p: readonly number[], x0: number, y0: number, h: number, steps: number, grad: Float64Array): number;
export const LV: { p: number[]; x0: number; y0: number; h: number; steps: number };
export function rosenbrock(x: number, y: number): number;
export function rosenbrockGrad(x: number, y: number, out: Float64Array): Float64Array;
export function rosenbrockValueAndGrad(x: number, y: number, grad: Float64Array): number;
