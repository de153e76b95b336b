// Fused chains compiled to wasm: a small module generated from a fused group's bytecode (the
// interpreter's, assembly/fused.ts), importing the library's memory, whose one loop reads each
// input vector once, keeps every intermediate in a wasm local (a machine register) and stores
// the result once. The interpreter keeps its intermediates in L1 blocks, a load and a store per
// op; here an op is one SIMD instruction, so an arithmetic chain runs several times faster.
//
// Only cheap ops (arithmetic, comparisons, where, max/min, sqrt) over contiguous and scalar
// operands, and a sum over all elements (in sumRow's order), are compiled, each as the very
// instruction sequence ops.ts or sum-row.ts uses, so the bits agree with the kernels; chains
// with transcendentals (the interpreter shares the kernels' math there), broadcast gathers or a
// sum over trailing axes stay interpreted. A group with several outputs stores each from its
// register in the same loop. Where the page forbids compiling generated code (a
// Content-Security-Policy without 'wasm-unsafe-eval'), everything runs interpreted: the first
// refusal is reported once and the interpreter takes over.
import type { DataBuffer, DType } from './buffer.js';
import { kernels } from './wasm.js';

type Compiled = (outs: readonly DataBuffer[], ins: readonly DataBuffer[]) => void;

const cache = new Map<string, WebAssembly.Instance>();
/** Compiled chains kept; past this the cache starts again (programs keep their bound kernels). */
const CACHE_LIMIT = 512;
// Browsers compile a module synchronously only up to 4 KB on the main thread; Node has no limit.
const SYNC_COMPILE_LIMIT = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ? 1 << 20 : 4000;

/** @internal Whether the fused chains compile to wasm; tests turn it off to compare with the interpreter. */
export const fusedCodegen = { enabled: true, compiled: 0, refused: false };

// SIMD op codes (the 0xFD prefix), per dtype: [f64x2, f32x4].
const SIMD = {
  add: [0xf0, 0xe4], sub: [0xf1, 0xe5], mul: [0xf2, 0xe6], div: [0xf3, 0xe7], min: [0xf4, 0xe8], max: [0xf5, 0xe9],
  neg: [0xed, 0xe1], abs: [0xec, 0xe0], sqrt: [0xef, 0xe3], eq: [0x47, 0x41], ne: [0x48, 0x42], lt: [0x49, 0x43],
  gt: [0x4a, 0x44], le: [0x4b, 0x45], ge: [0x4c, 0x46], splat: [0x14, 0x13],
} as const;
const V128_LOAD = 0x00, V128_STORE = 0x0b, V128_CONST = 0x0c, V128_AND = 0x4e, V128_OR = 0x50, BITSELECT = 0x52;
const LOAD_ZERO = [0x5d, 0x5c], STORE_LANE = [0x5b, 0x5a];
const F64X2_ADD = 0xf0, F64X2_EXTRACT = 0x21, F32X4_EXTRACT = 0x1f, PROMOTE_LOW = 0x5f, SHUFFLE = 0x0d;

function leb(out: number[], v: number): void {
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

function sleb(out: number[], v: number): void {
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/**
 * Vectors run side by side: 8 for chains of up to 24 ops (20-op chains of add/mul/div/max ran
 * 1.4x faster than with 4 at n = 1e5), 4 for longer ones, whose 8 copies of every live value
 * no longer fit the machine's registers (a 40-op backward chain ran 1.1x slower with 8).
 */
const unrollFor = (ops: number) => (ops <= 24 ? 8 : 4);
/** Header words of the bytecode before the inputs (fused.ts's FUSED_HEADER). */
const HEADER = 5;

const SUM = 2;
/** The op codes the compiler handles (the interpreter's numbers, assembly/fused.ts). */
const CHEAP = new Set([10, 11, 12, 13, 14, 15, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 50]);

/**
 * The compiled kernel for interpreter bytecode `words` over `n` elements of `dtype`, or null
 * when the chain is not compiled (see the file comment).
 */
export function compileFused(words: Int32Array, dtype: DType, n: number): Compiled | null {
  if (!fusedCodegen.enabled || fusedCodegen.refused) return null;
  const inputs = words[0], outputs = words[1], prologue = words[2], count = words[3];
  const codeAt = HEADER + 2 * (inputs + outputs);
  for (let k = 0; k < prologue + count; k++) {
    const op = words[codeAt + 5 * k];
    // A sum over all elements is compiled; one over trailing axes stays interpreted.
    if (op === SUM && words[codeAt + 5 * k + 3] === 0) continue;
    if (k < prologue ? op !== 0 : !CHEAP.has(op)) return null;
  }
  const bytes = generate(words, dtype, n);
  if (bytes.length > SYNC_COMPILE_LIMIT) return null;
  const key = `${dtype}:${n}:${words.join(',')}`;
  let instance = cache.get(key);
  if (!instance) {
    try {
      instance = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes)), { env: { memory: kernels().memory } });
    } catch (e) {
      fusedCodegen.refused = true;
      console.warn(`dualtape: jit could not compile a fused elementwise chain to WebAssembly (${(e as Error).message}); fused chains run on the interpreter in the library's module instead (same results, slower). A Content-Security-Policy without 'wasm-unsafe-eval' causes this.`);
      return null;
    }
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, instance);
    fusedCodegen.compiled++;
  }
  const run = instance.exports.f as (...args: number[]) => void;
  const args = new Array<number>(outputs + inputs);
  return (outs, ins) => {
    for (let k = 0; k < outputs; k++) args[k] = outs[k].ptr;
    for (let i = 0; i < inputs; i++) args[outputs + i] = ins[i].ptr;
    run(...args);
  };
}

/** The module's bytes: one function f(out_0, ..., out_m-1, in_0, ..., in_k-1) over the n elements. */
function generate(words: Int32Array, dtype: DType, n: number): number[] {
  const t = dtype === 'float64' ? 0 : 1;
  const size = dtype === 'float64' ? 8 : 4;
  const align = dtype === 'float64' ? 3 : 2;
  const inputs = words[0], outputs = words[1], prologue = words[2], count = words[3];
  const codeAt = HEADER + 2 * (inputs + outputs);
  const UNROLL = unrollFor(count);
  let registers = 0;
  for (let k = 0; k < prologue + count; k++) registers = Math.max(registers, words[codeAt + 5 * k + 1] + 1);
  // Locals: params 0..outputs-1 (the outputs) and the inputs; then the byte offset o, then UNROLL v128s per
  // register: the main loop runs UNROLL independent vectors through the chain side by side,
  // so their latencies overlap (one vector's chain is a dependency chain of every op).
  const o = outputs + inputs;
  const inputParam = (i: number) => outputs + i;
  const reg = (r: number, u = 0) => o + 1 + r * UNROLL + u;
  const body: number[] = [];
  const simd = (code: number) => {
    body.push(0xfd);
    leb(body, code);
  };
  const get = (l: number) => (body.push(0x20), leb(body, l));
  const set = (l: number) => (body.push(0x21), leb(body, l));
  const constant = (lanes: number[]) => {
    simd(V128_CONST);
    const buf = new Uint8Array(16);
    if (t === 0) new Float64Array(buf.buffer).set(lanes);
    else new Uint32Array(buf.buffer).set(lanes);
    body.push(...buf);
  };
  const one = () => constant(t === 0 ? [1, 1] : [0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000]);
  const zero = () => constant(t === 0 ? [0, 0] : [0, 0, 0, 0]);
  const address = (p: number) => {
    get(p);
    get(o);
    body.push(0x6a); // i32.add
  };
  // Splats, once.
  for (let k = 0; k < prologue; k++) {
    const at = codeAt + 5 * k;
    get(inputParam(words[at + 2]));
    body.push(t === 0 ? 0x2b : 0x2a, align, 0); // f64.load / f32.load
    simd(SIMD.splat[t]);
    for (let u = 0; u < UNROLL; u++) {
      if (u > 0) get(reg(words[at + 1]));
      set(reg(words[at + 1], u));
    }
  }
  const splats = new Set<number>();
  for (let k = 0; k < prologue; k++) splats.add(words[codeAt + 5 * k + 1]);
  // Each contiguous input is loaded once per vector, into a local of its own.
  const loaded = (i: number, u: number) => o + 1 + (registers + i) * UNROLL + u;
  // A sum over all elements adds in sumRow's order (assembly/sum-row.ts), for its bits: four
  // f64x2 accumulators, each 8-element chunk's vector q into accumulator q (f32: each vector's
  // low and high halves widened, into 2q and 2q + 1), then (f64) pairs into the first, then the
  // accumulators combined, then the last elements one by one into the scalar total.
  const vlocals = (registers + inputs) * UNROLL;
  const acc = (q: number) => o + 1 + vlocals + q;
  const total = o + 1 + vlocals + 4;
  let pairs = false;
  const accumulate = (u: number, tail: boolean, operand: () => void) => {
    if (tail) {
      get(total);
      operand();
      simd(t === 0 ? F64X2_EXTRACT : F32X4_EXTRACT);
      body.push(0);
      if (t === 1) body.push(0xbb); // f64.promote_f32
      body.push(0xa0); // f64.add
      return set(total);
    }
    if (t === 0) {
      const q = pairs ? 0 : u % 4;
      get(acc(q));
      operand();
      simd(F64X2_ADD);
      return set(acc(q));
    }
    for (const half of [0, 1]) {
      const q = 2 * (u % 2) + half;
      get(acc(q));
      operand();
      if (half === 1) {
        operand();
        simd(SHUFFLE);
        body.push(8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
      }
      simd(PROMOTE_LOW);
      simd(F64X2_ADD);
      set(acc(q));
    }
  };
  const read = new Set<number>();
  for (let k = prologue; k < prologue + count; k++) for (let m = 2; m < 5; m++) if (words[codeAt + 5 * k + m] < 0) read.add(-1 - words[codeAt + 5 * k + m]);
  /** The chain on `vectors` vectors side by side (lane 0 only in the tail). */
  const chain = (vectors: number, tail: boolean) => {
    for (const i of read) {
      for (let u = 0; u < vectors; u++) {
        address(inputParam(i));
        simd(tail ? LOAD_ZERO[t] : V128_LOAD);
        body.push(tail ? align : 4);
        leb(body, 16 * u);
        set(loaded(i, u));
      }
    }
    for (let k = prologue; k < prologue + count; k++) {
      const at = codeAt + 5 * k;
      const op = words[at], a = words[at + 2], b = words[at + 3], c = words[at + 4];
      for (let u = 0; u < vectors; u++) {
        const operand = (s: number) => get(s >= 0 ? reg(s, splats.has(s) ? 0 : u) : loaded(-1 - s, u));
        if (op === SUM) {
          accumulate(u, tail, () => operand(a));
          continue;
        }
        emitOp(op, a, b, c, operand);
        set(reg(words[at + 1], u));
      }
    }
    for (let k = 0; k < outputs; k++) {
      const result = words[HEADER + 2 * (inputs + k) + 1];
      if (result < 0) continue;
      for (let u = 0; u < vectors; u++) {
        address(k);
        get(reg(result, u));
        simd(tail ? STORE_LANE[t] : V128_STORE);
        body.push(tail ? align : 4);
        leb(body, 16 * u);
        if (tail) body.push(0);
      }
    }
  };
  const emitOp = (op: number, a: number, b: number, c: number, operand: (s: number) => void) => {
    const binary = (code: number) => (operand(a), operand(b), simd(code));
    const mask = (code: number) => (binary(code), one(), simd(V128_AND));
    switch (op) {
      case 10: return operand(a), simd(SIMD.neg[t]);
      case 11: return operand(a), simd(SIMD.abs[t]);
      case 12: {
        // Math.sign: +-1 with x's sign where x is nonzero and not NaN, else x (ops.ts).
        one();
        operand(a);
        constant(t === 0 ? [-0, -0] : [0x80000000, 0x80000000, 0x80000000, 0x80000000]);
        simd(V128_AND);
        simd(V128_OR);
        operand(a);
        operand(a);
        zero();
        simd(SIMD.ne[t]);
        operand(a);
        operand(a);
        simd(SIMD.eq[t]);
        simd(V128_AND);
        return simd(BITSELECT);
      }
      case 13: return operand(a), simd(SIMD.sqrt[t]);
      case 14: return operand(a), operand(a), simd(SIMD.mul[t]);
      case 15: return one(), operand(a), simd(SIMD.div[t]);
      case 30: return binary(SIMD.add[t]);
      case 31: return binary(SIMD.sub[t]);
      case 32: return binary(SIMD.mul[t]);
      case 33: return binary(SIMD.div[t]);
      case 34: return binary(SIMD.max[t]);
      case 35: return binary(SIMD.min[t]);
      case 36: return mask(SIMD.gt[t]);
      case 37: return mask(SIMD.lt[t]);
      case 38: return mask(SIMD.eq[t]);
      case 39: return mask(SIMD.ge[t]);
      case 40: return mask(SIMD.le[t]);
      case 50: return operand(b), operand(c), operand(a), zero(), simd(SIMD.ne[t]), simd(BITSELECT);
      default: throw new Error(`dualtape internal error: fused op ${op} has no compiled form`);
    }
  };
  const lanes = 16 / size;
  const vectorEnd = Math.floor(n / lanes) * 16;
  const blockEnd = Math.floor(n / (lanes * UNROLL)) * 16 * UNROLL;
  // UNROLL vectors at a time, then one vector at a time, then one element at a time (lane 0).
  const loop = (end: number, step: number, vectors: number, tail: boolean) => {
    body.push(0x02, 0x40, 0x03, 0x40); // block, loop
    get(o);
    body.push(0x41);
    sleb(body, end);
    body.push(0x4f, 0x0d, 1); // i32.ge_u, br_if 1
    chain(vectors, tail);
    get(o);
    body.push(0x41);
    sleb(body, step);
    body.push(0x6a);
    set(o);
    body.push(0x0c, 0, 0x0b, 0x0b); // br 0, end, end
  };
  loop(blockEnd, 16 * UNROLL, UNROLL, false);
  const sumOutput = Array.from({ length: outputs }, (_, k) => k).find((k) => words[HEADER + 2 * (inputs + k) + 1] < 0);
  if (sumOutput === undefined) {
    loop(vectorEnd, 16, 1, false);
    loop(n * size, size, 1, true);
  } else {
    // n is fixed: the rest after the main loop is straight-line code, chunk by chunk as sumRow.
    const advance = (bytes: number) => (get(o), body.push(0x41), sleb(body, bytes), body.push(0x6a), set(o));
    let rest = n - blockEnd / size;
    for (; rest >= 8; rest -= 8) chain(8 / lanes, false), advance(8 * size);
    pairs = true;
    if (t === 0) for (; rest >= 2; rest -= 2) chain(1, false), advance(16);
    for (let q = 0; q < 4; q += 2) get(acc(q)), get(acc(q + 1)), simd(F64X2_ADD);
    simd(F64X2_ADD);
    set(acc(0));
    get(acc(0)), simd(F64X2_EXTRACT), body.push(0), get(acc(0)), simd(F64X2_EXTRACT), body.push(1), body.push(0xa0);
    set(total);
    for (; rest > 0; rest--) chain(1, true), advance(size);
    get(sumOutput);
    get(total);
    if (t === 1) body.push(0xb6); // f32.demote_f64
    body.push(t === 0 ? 0x39 : 0x38, align, 0); // f64.store / f32.store
  }
  body.push(0x0b);
  const func: number[] = [];
  leb(func, 3); // local groups: one i32, the v128 registers and sum accumulators, the sum's total
  func.push(1, 0x7f);
  leb(func, vlocals + 4);
  func.push(0x7b);
  func.push(1, 0x7c);
  func.push(...body);
  const section = (id: number, content: number[]) => {
    const s = [id];
    leb(s, content.length);
    return s.concat(content);
  };
  const vec = (items: number[][]) => {
    const v: number[] = [];
    leb(v, items.length);
    for (const i of items) v.push(...i);
    return v;
  };
  const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  const params = new Array<number>(outputs + inputs).fill(0x7f);
  const type = [0x60, ...vec(params.map((p) => [p])), 0];
  const sized: number[] = [];
  leb(sized, func.length);
  return [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([type])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name('f'), 0x00, 0]])),
    ...section(10, vec([[...sized, ...func]])),
  ];
}
