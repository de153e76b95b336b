// Fused programs against unfused ones, to the bit.
import { expect } from 'vitest';
import { jit, type Tensor } from './api.js';
import { fusedCodegen } from '../../src/backend/fused-wasm.js';

type Fn = (...xs: Tensor[]) => Tensor | Tensor[];

/** Every element of every output of a and b has the same bits (NaN equals NaN). */
export function expectSameBits(a: Tensor | Tensor[], b: Tensor | Tensor[]): void {
  const as = [a].flat(Infinity) as Tensor[], bs = [b].flat(Infinity) as Tensor[];
  expect(as.length).toBe(bs.length);
  as.forEach((t, i) => {
    expect(t.shape).toEqual(bs[i].shape);
    const x = t.data(), y = bs[i].data();
    for (let j = 0; j < x.length; j++) if (!Object.is(x[j], y[j])) expect(`${j}: ${x[j]}`).toBe(`${j}: ${y[j]}`);
  });
}

/** f jitted with and without fusion, on the interpreter and the generated wasm: all agree to the bit. */
export function expectFusedEqualsUnfused(f: Fn, args: Tensor[]): void {
  const unfused = jit(f, { fuse: false })(...args);
  expectSameBits(jit(f)(...args), unfused);
  fusedCodegen.enabled = false;
  try {
    expectSameBits(jit(f)(...args), unfused);
  } finally {
    fusedCodegen.enabled = true;
  }
}
