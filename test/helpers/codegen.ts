// Generated code against the interpreter: the same function jitted with codegen on and off.
import { expect } from 'vitest';
import { codegenControl, compiledOf, jit, tidy, type Tensor } from './api.js';

type Fn = (...xs: Tensor[]) => Tensor | Tensor[];

/**
 * f run by a fresh jit with generated code on (compiled, fused loops as `mode` says) and off
 * (interpreted): the outputs' data, the generated source and its loop functions' sources.
 */
export function runBoth(f: Fn, args: Tensor[], mode: 'auto' | 'always' = 'auto'): { compiled: number[][]; interpreted: number[][]; source: string; loops: readonly string[] } {
  const collect = (out: Tensor | Tensor[]) => [out].flat().map((t) => Array.from(t.data()));
  codegenControl.fusedLoops = mode;
  try {
    const jc = jit(f);
    const program = jc.program(...args);
    const c = compiledOf(program);
    if (!c) throw new Error(`expected the program to compile:\n${program}`);
    const compiled = tidy(() => collect(jc(...args)));
    codegenControl.enabled = false;
    return { compiled, interpreted: tidy(() => collect(jit(f)(...args))), source: c.source, loops: c.loops };
  } finally {
    codegenControl.enabled = true;
    codegenControl.fusedLoops = 'auto';
  }
}

/** Bit equality, element by element (NaN equals NaN, -0 differs from +0). */
export function expectBitEqual(got: number[][], want: number[][], what: string): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, k) => g.forEach((x, i) => {
    if (!Object.is(x, want[k][i])) throw new Error(`${what}: output ${k} element ${i}: compiled ${x}, interpreted ${want[k][i]}`);
  }));
}
