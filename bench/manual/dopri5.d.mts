// Types of the plain-JS Dormand-Prince reference (bench/manual/dopri5.mjs), for the tests.
export interface Dopri5PlainOptions {
  rtol?: number;
  atol?: number;
  maxSteps?: number;
  safety?: number;
  minFactor?: number;
  maxFactor?: number;
  beta?: number;
}
export function dopri5Plain(
  f: (y: Float64Array, t: number, dy: Float64Array) => void, y0: ArrayLike<number>, ts: ArrayLike<number>, options?: Dopri5PlainOptions,
): { ys: Float64Array[]; accepted: number; rejected: number; evaluations: number };
