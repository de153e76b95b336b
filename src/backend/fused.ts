// The fused elementwise interpreter's interface (assembly/fused.ts): its op codes, its limits,
// and the bound kernel that runs one compiled chain. The bytecode is built by jit's fusion
// pass (src/staging/fuse.ts) once per program; a call copies it into the scratch block with
// the inputs' pointers and makes one kernel call.
import type { DataBuffer, DType } from './buffer.js';
import { compileFused } from './fused-wasm.js';
import type { BoundKernel } from './kernels.js';
import { SCRATCH_BYTES, allocPinned, scratchPtr, viewI32 } from './memory.js';
import { kernels } from './wasm.js';

/** Op codes of the interpreter (the same numbers as in assembly/fused.ts). */
export const FUSED = {
  SPLAT: 0,
  GATHER: 1,
  SUM: 2,
  WHERE: 50,
} as const;

/** The interpreter's code for each elementwise kernel op it evaluates, by the kernel's name. */
const MAPS: ReadonlyMap<string, number> = new Map([
  ['neg', 10], ['abs', 11], ['sign', 12], ['sqrt', 13], ['square', 14], ['reciprocal', 15],
  ['exp', 16], ['expm1', 17], ['log', 18], ['log1p', 19], ['sin', 20], ['cos', 21], ['tan', 22],
  ['tanh', 23], ['sigmoid', 24],
  ['add', 30], ['sub', 31], ['mul', 32], ['div', 33], ['maximum', 34], ['minimum', 35],
  ['greater', 36], ['less', 37], ['equal', 38], ['greater_equal', 39], ['less_equal', 40], ['pow', 41],
  ['where', 50],
]);

/** Codes of the ops that cost tens of cycles per element (recomputing them is not free). */
const COSTLY = new Set([16, 17, 18, 19, 20, 21, 22, 23, 24, 41]);

/** The op code of elementwise kernel `op`, or undefined when the interpreter lacks it. */
export function fusedOpCode(op: string): number | undefined {
  return MAPS.get(op);
}

export function isCostly(code: number): boolean {
  return COSTLY.has(code);
}

/** Elements per block of the interpreter (its registers are 2048 bytes). */
export function blockElements(dtype: DType): number {
  return dtype === 'float64' ? 256 : 512;
}

/** Limits of the interpreter: registers of static memory, and bytecode that fits the scratch block. */
export const FUSED_LIMITS = {
  registers: 64,
  inputs: 64,
  gatherNdim: 16,
  words: SCRATCH_BYTES / 4,
} as const;

/**
 * Header words (inputs, outputs, prologue, body, block) before the (pointer, staging register)
 * pairs of the inputs, then the (pointer, register) pairs of the outputs.
 */
export const FUSED_HEADER = 5;

/** A fused group's kernel: one pass over the inputs writes every output. */
export type FusedKernel = (outs: readonly DataBuffer[], ins: readonly DataBuffer[]) => void;

/**
 * The kernel of one fused group over `n` elements of `dtype`: a wasm module compiled from it
 * (fused-wasm.ts) where that applies, else the interpreter. `words` is the interpreter's
 * bytecode with zeros where the pointers go (word FUSED_HEADER + 2 i for input i, then
 * FUSED_HEADER + 2 (inputs + k) for output k).
 */
export function fusedKernel(words: Int32Array, dtype: DType, n: number): FusedKernel {
  const compiled = compileFused(words, dtype, n);
  if (compiled) return compiled;
  const run = kernels()[dtype === 'float64' ? 'fused_f64' : 'fused_f32'];
  const inputs = words[0], outputs = words[1];
  return (outs, ins) => {
    const ptr = scratchPtr();
    const view = viewI32();
    const at = ptr >>> 2;
    view.set(words, at);
    for (let i = 0; i < inputs; i++) view[at + FUSED_HEADER + 2 * i] = ins[i].ptr;
    for (let k = 0; k < outputs; k++) view[at + FUSED_HEADER + 2 * (inputs + k)] = outs[k].ptr;
    run(ptr, n, registerFile());
  };
}

/** The kernel of a fused group with one output, as a bound kernel. */
export function fusedInto(words: Int32Array, dtype: DType, n: number): BoundKernel {
  const kernel = fusedKernel(words, dtype, n);
  return (out, ins) => kernel([out], ins);
}

let registers = 0;

/** The interpreter's registers: one pinned block, made on first use (never freed, not counted as in use). */
function registerFile(): number {
  if (registers === 0) registers = allocPinned(FUSED_LIMITS.registers * 2048);
  return registers;
}
