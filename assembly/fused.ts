// The fused elementwise interpreter: one pass over the data evaluates a whole chain of
// elementwise ops (jit's fusion, src/staging/fuse.ts), block by block, with every intermediate
// in a register: a BLOCK_BYTES scratch area of static memory that stays in L1. Each
// instruction is a tight SIMD loop over one block, so the dispatch (one br_table per op and
// block) costs nothing next to the loop, and memory is read once per input and written once.
//
// Every op is the kernels' own (unaryOp, binaryOp, whereOp in ops.ts), applied lane by lane to
// the same rounded values, so a fused chain returns the bits of the unfused kernels. The sum a
// chain may end in adds in the order of reduce.ts's sumRow (four f64x2 accumulators over
// 8-element chunks, then pairs, then a scalar tail), for the same bits again.
//
// ABI: fused_<dt>(prog, n, regs) over n elements, registers at regs (64 x 2048 bytes); prog -> i32 words:
//   [inputs, outputs, prologue, body, block, (pointer, staging) x inputs, (pointer, register) x outputs,
//    instructions x 5 words, metas]
// An output's register holds its value at the end of each block (copied to its pointer), or is
// -1 for the output a SUM writes: [SUM, 0, a, rows, output] (at most one per program): rows 0
// sums everything into out[0]; rows > 0 sums each run of `rows` elements into out[row] (a sum
// over trailing axes). block: elements per block (a multiple of rows when rows fit in one, so
// each row is summed by sumRow itself), 0 for the default.
// An instruction is [op, dst, a, b, c]; a source s >= 0 is
// register s, s < 0 is contiguous input -1 - s, read in place (staged through its register in
// the last, partial block, so nothing reads past an input's end). The prologue runs once
// (SPLAT fills a register with a scalar input); the body runs per block.
import { sumRow } from './sum-row';
import {
  NEG, ABS, SIGN, SQRT, SQUARE, RECIPROCAL, EXP, EXPM1, LOG, LOG1P, SIN, COS, TAN, TANH, SIGMOID,
  ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, GREATER, LESS, EQUAL, GREATER_EQUAL, LESS_EQUAL, POW,
  binaryOp, cheap, unaryOp, whereOp,
} from './ops';

// Op codes (src/backend/fused.ts has the same numbers).
const SPLAT: i32 = 0;
const GATHER: i32 = 1;
const SUM: i32 = 2;
const OP_NEG: i32 = 10;
const OP_ABS: i32 = 11;
const OP_SIGN: i32 = 12;
const OP_SQRT: i32 = 13;
const OP_SQUARE: i32 = 14;
const OP_RECIPROCAL: i32 = 15;
const OP_EXP: i32 = 16;
const OP_EXPM1: i32 = 17;
const OP_LOG: i32 = 18;
const OP_LOG1P: i32 = 19;
const OP_SIN: i32 = 20;
const OP_COS: i32 = 21;
const OP_TAN: i32 = 22;
const OP_TANH: i32 = 23;
const OP_SIGMOID: i32 = 24;
const OP_ADD: i32 = 30;
const OP_SUB: i32 = 31;
const OP_MUL: i32 = 32;
const OP_DIV: i32 = 33;
const OP_MAXIMUM: i32 = 34;
const OP_MINIMUM: i32 = 35;
const OP_GREATER: i32 = 36;
const OP_LESS: i32 = 37;
const OP_EQUAL: i32 = 38;
const OP_GREATER_EQUAL: i32 = 39;
const OP_LESS_EQUAL: i32 = 40;
const OP_POW: i32 = 41;
const OP_WHERE: i32 = 50;

const BLOCK_BYTES: usize = 2048;
const MAX_REGISTERS: i32 = 64;
const MAX_INPUTS: i32 = 64;
const MAX_GATHER_NDIM: i32 = 16;
// The registers (MAX_REGISTERS blocks) are a pinned block the JS allocator hands over, not
// static data: 128 KB of static memory would move the heap every other test's layout sees.
let registers: usize = 0;
const INPUT_AT: usize = memory.data(MAX_INPUTS * 4, 16); // per contiguous input, its block's address
const SUMS: usize = memory.data(80, 16); // the four f64x2 accumulators of SUM, then the row position
const HEADER: i32 = 5;
const DIGITS: usize = memory.data(MAX_GATHER_NDIM * 4, 16);

@inline function word(p: usize, i: i32): i32 { return load<i32>(p + (<usize>i << 2)); }
@inline function register(r: i32): usize { return registers + <usize>r * BLOCK_BYTES; }
@inline function source(s: i32): usize { return s >= 0 ? register(s) : load<usize>(INPUT_AT + (<usize>(-1 - s) << 2)); }

// ---- one instruction over one block (`bytes`: the block rounded up to 64 bytes) -----------
// Not inlined: each op's loop is a function of its own, so V8 compiles the transcendental ones
// with their own register allocation instead of as part of one huge dispatch function.

function map1<T, OP>(d: usize, a: usize, bytes: usize): void {
  if (cheap<OP>()) {
    for (let o: usize = 0; o < bytes; o += 64) {
      v128.store(d + o, unaryOp<T, OP>(v128.load(a + o)));
      v128.store(d + o + 16, unaryOp<T, OP>(v128.load(a + o + 16)));
      v128.store(d + o + 32, unaryOp<T, OP>(v128.load(a + o + 32)));
      v128.store(d + o + 48, unaryOp<T, OP>(v128.load(a + o + 48)));
    }
  } else {
    for (let o: usize = 0; o < bytes; o += 16) v128.store(d + o, unaryOp<T, OP>(v128.load(a + o)));
  }
}

function map2<T, OP>(d: usize, a: usize, b: usize, bytes: usize): void {
  if (cheap<OP>()) {
    for (let o: usize = 0; o < bytes; o += 64) {
      v128.store(d + o, binaryOp<T, OP>(v128.load(a + o), v128.load(b + o)));
      v128.store(d + o + 16, binaryOp<T, OP>(v128.load(a + o + 16), v128.load(b + o + 16)));
      v128.store(d + o + 32, binaryOp<T, OP>(v128.load(a + o + 32), v128.load(b + o + 32)));
      v128.store(d + o + 48, binaryOp<T, OP>(v128.load(a + o + 48), v128.load(b + o + 48)));
    }
  } else {
    for (let o: usize = 0; o < bytes; o += 16) v128.store(d + o, binaryOp<T, OP>(v128.load(a + o), v128.load(b + o)));
  }
}

function map3<T>(d: usize, c: usize, a: usize, b: usize, bytes: usize): void {
  for (let o: usize = 0; o < bytes; o += 16) v128.store(d + o, whereOp<T>(v128.load(c + o), v128.load(a + o), v128.load(b + o)));
}

/** Register d = the broadcast input at `p` for elements [start, start + len) of the output. */
function gather<T>(d: usize, p: usize, meta: usize, start: i32, len: i32): void {
  const ndim = word(meta, 0);
  let rest = start;
  let offset = 0;
  for (let k = ndim - 1; k >= 0; k--) {
    const extent = word(meta, 1 + k);
    const digit = rest % extent;
    rest /= extent;
    store<i32>(DIGITS + (<usize>k << 2), digit);
    offset += digit * word(meta, 1 + ndim + k);
  }
  const last = ndim - 1;
  const lastExtent = word(meta, 1 + last);
  const lastStride = word(meta, 1 + ndim + last);
  let digit = load<i32>(DIGITS + (<usize>last << 2));
  for (let j = 0; j < len; j++) {
    store<T>(d + (<usize>j << alignof<T>()), load<T>(p + (<usize>offset << alignof<T>())));
    digit++;
    offset += lastStride;
    if (digit < lastExtent) continue;
    // Carry into the outer digits.
    offset -= lastStride * lastExtent;
    digit = 0;
    for (let k = last - 1; k >= 0; k--) {
      const at = DIGITS + (<usize>k << 2);
      const extent = word(meta, 1 + k);
      const stride = word(meta, 1 + ndim + k);
      const next = load<i32>(at) + 1;
      if (next < extent) {
        store<i32>(at, next);
        offset += stride;
        break;
      }
      store<i32>(at, 0);
      offset -= stride * (extent - 1);
    }
  }
  store<i32>(DIGITS + (<usize>last << 2), digit);
}

/** SUM's accumulators += a block of `len` elements (whole 8-element chunks; see sumRow). */
function sumChunks<T>(a: usize, len: i32): i32 {
  let s0 = v128.load(SUMS);
  let s1 = v128.load(SUMS, 16);
  let s2 = v128.load(SUMS, 32);
  let s3 = v128.load(SUMS, 48);
  let i = 0;
  if (sizeof<T>() == 8) {
    for (; i + 8 <= len; i += 8) {
      const p = a + (<usize>i << 3);
      s0 = f64x2.add(s0, v128.load(p));
      s1 = f64x2.add(s1, v128.load(p, 16));
      s2 = f64x2.add(s2, v128.load(p, 32));
      s3 = f64x2.add(s3, v128.load(p, 48));
    }
  } else {
    for (; i + 8 <= len; i += 8) {
      const p = a + (<usize>i << 2);
      const v0 = v128.load(p);
      const v1 = v128.load(p, 16);
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v0));
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(i32x4.shuffle(v0, v0, 2, 3, 2, 3)));
      s2 = f64x2.add(s2, f64x2.promote_low_f32x4(v1));
      s3 = f64x2.add(s3, f64x2.promote_low_f32x4(i32x4.shuffle(v1, v1, 2, 3, 2, 3)));
    }
  }
  v128.store(SUMS, s0);
  v128.store(SUMS, s1, 16);
  v128.store(SUMS, s2, 32);
  v128.store(SUMS, s3, 48);
  return i;
}

/** The last block: sumRow's pairs (f64), the accumulators combined, then its scalar tail. */
@inline function sumFinish<T>(a: usize, len: i32): f64 {
  let i = sumChunks<T>(a, len);
  let s0 = v128.load(SUMS);
  if (sizeof<T>() == 8) {
    for (; i + 2 <= len; i += 2) s0 = f64x2.add(s0, v128.load(a + (<usize>i << 3)));
  }
  const s = f64x2.add(f64x2.add(s0, v128.load(SUMS, 16)), f64x2.add(v128.load(SUMS, 32), v128.load(SUMS, 48)));
  let total = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < len; i++) total += <f64>load<T>(a + (<usize>i * sizeof<T>()));
  return total;
}

/**
 * out[r] = the sum of row r (`rows` elements) for the rows in this block. Rows that fit in a
 * block lie whole in it (the block is a multiple of them) and go to sumRow itself; longer rows
 * (a multiple of 8 elements, so sumRow's chunks never straddle a block) stream through the
 * accumulators, with the position in the current row kept in SUMS + 64.
 */
function sumRows<T>(a: usize, rows: i32, start: i32, len: i32, out: usize): void {
  if (rows <= len) {
    for (let j = 0; j < len; j += rows) {
      store<T>(out + (<usize>((start + j) / rows) << alignof<T>()), <T>sumRow<T>(a + (<usize>j << alignof<T>()), rows));
    }
    return;
  }
  let at = load<i32>(SUMS + 64);
  let j = 0;
  while (j < len) {
    const take = min(rows - at, len - j);
    sumChunks<T>(a + (<usize>j << alignof<T>()), take);
    j += take;
    at += take;
    if (at == rows) {
      const s = f64x2.add(f64x2.add(v128.load(SUMS), v128.load(SUMS, 16)), f64x2.add(v128.load(SUMS, 32), v128.load(SUMS, 48)));
      store<T>(out + (<usize>((start + j - 1) / rows) << alignof<T>()), <T>(f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1)));
      v128.store(SUMS, i64x2.splat(0));
      v128.store(SUMS, i64x2.splat(0), 16);
      v128.store(SUMS, i64x2.splat(0), 32);
      v128.store(SUMS, i64x2.splat(0), 48);
      at = 0;
    }
  }
  store<i32>(SUMS + 64, at);
}

// ---- the interpreter ----------------------------------------------------------------------

/** Runs `count` instructions from `code` on the block [start, start + len). */
@inline function step<T>(prog: usize, code: usize, count: i32, start: i32, len: i32, last: bool): void {
  const bytes = ((<usize>len << alignof<T>()) + 63) & ~(<usize>63);
  for (let k = 0; k < count; k++) {
    const ins = code + <usize>k * 20;
    const op = load<i32>(ins);
    const d = register(load<i32>(ins, 4));
    const sa = load<i32>(ins, 8);
    if (op == SPLAT) {
      const p = <usize>word(prog, HEADER + 2 * sa);
      const v = v128.splat<T>(load<T>(p));
      for (let o: usize = 0; o < BLOCK_BYTES; o += 16) v128.store(d + o, v);
      continue;
    }
    if (op == GATHER) {
      gather<T>(d, <usize>word(prog, HEADER + 2 * sa), prog + (<usize>load<i32>(ins, 12) << 2), start, len);
      continue;
    }
    const a = source(sa);
    if (op == SUM) {
      const rows = load<i32>(ins, 12);
      const out = <usize>word(prog, HEADER + 2 * (word(prog, 0) + load<i32>(ins, 16)));
      if (rows > 0) sumRows<T>(a, rows, start, len, out);
      else if (last) store<T>(out, <T>sumFinish<T>(a, len));
      else sumChunks<T>(a, len);
      continue;
    }
    const b = source(load<i32>(ins, 12));
    switch (op) {
      case OP_NEG: map1<T, NEG>(d, a, bytes); break;
      case OP_ABS: map1<T, ABS>(d, a, bytes); break;
      case OP_SIGN: map1<T, SIGN>(d, a, bytes); break;
      case OP_SQRT: map1<T, SQRT>(d, a, bytes); break;
      case OP_SQUARE: map1<T, SQUARE>(d, a, bytes); break;
      case OP_RECIPROCAL: map1<T, RECIPROCAL>(d, a, bytes); break;
      case OP_EXP: map1<T, EXP>(d, a, bytes); break;
      case OP_EXPM1: map1<T, EXPM1>(d, a, bytes); break;
      case OP_LOG: map1<T, LOG>(d, a, bytes); break;
      case OP_LOG1P: map1<T, LOG1P>(d, a, bytes); break;
      case OP_SIN: map1<T, SIN>(d, a, bytes); break;
      case OP_COS: map1<T, COS>(d, a, bytes); break;
      case OP_TAN: map1<T, TAN>(d, a, bytes); break;
      case OP_TANH: map1<T, TANH>(d, a, bytes); break;
      case OP_SIGMOID: map1<T, SIGMOID>(d, a, bytes); break;
      case OP_ADD: map2<T, ADD>(d, a, b, bytes); break;
      case OP_SUB: map2<T, SUB>(d, a, b, bytes); break;
      case OP_MUL: map2<T, MUL>(d, a, b, bytes); break;
      case OP_DIV: map2<T, DIV>(d, a, b, bytes); break;
      case OP_MAXIMUM: map2<T, MAXIMUM>(d, a, b, bytes); break;
      case OP_MINIMUM: map2<T, MINIMUM>(d, a, b, bytes); break;
      case OP_GREATER: map2<T, GREATER>(d, a, b, bytes); break;
      case OP_LESS: map2<T, LESS>(d, a, b, bytes); break;
      case OP_EQUAL: map2<T, EQUAL>(d, a, b, bytes); break;
      case OP_GREATER_EQUAL: map2<T, GREATER_EQUAL>(d, a, b, bytes); break;
      case OP_LESS_EQUAL: map2<T, LESS_EQUAL>(d, a, b, bytes); break;
      case OP_POW: map2<T, POW>(d, a, b, bytes); break;
      case OP_WHERE: map3<T>(d, a, b, source(load<i32>(ins, 16)), bytes); break;
      default: unreachable();
    }
  }
}

@inline function fused<T>(prog: usize, n: i32): void {
  const inputs = word(prog, 0);
  const outputs = word(prog, 1);
  const prologue = word(prog, 2);
  const body = word(prog, 3);
  const outAt = HEADER + 2 * inputs;
  const code = prog + (<usize>(outAt + 2 * outputs) << 2);
  const bodyCode = code + <usize>prologue * 20;
  const blockWords = word(prog, 4);
  const block = blockWords > 0 ? blockWords : <i32>(BLOCK_BYTES >> alignof<T>());
  store<i32>(SUMS + 64, 0);
  v128.store(SUMS, i64x2.splat(0));
  v128.store(SUMS, i64x2.splat(0), 16);
  v128.store(SUMS, i64x2.splat(0), 32);
  v128.store(SUMS, i64x2.splat(0), 48);
  step<T>(prog, code, prologue, 0, block, false);
  for (let start = 0; start < n; start += block) {
    const len = min(block, n - start);
    const last = start + len == n;
    const offset = <usize>start << alignof<T>();
    for (let i = 0; i < inputs; i++) {
      const staging = word(prog, HEADER + 1 + 2 * i);
      if (staging < 0) continue;
      const p = <usize>word(prog, HEADER + 2 * i) + offset;
      let at = p;
      if (len < block) {
        at = register(staging);
        memory.copy(at, p, <usize>len << alignof<T>());
      }
      store<usize>(INPUT_AT + (<usize>i << 2), at);
    }
    step<T>(prog, bodyCode, body, start, len, last);
    for (let k = 0; k < outputs; k++) {
      const result = word(prog, outAt + 2 * k + 1);
      if (result >= 0) memory.copy(<usize>word(prog, outAt + 2 * k) + offset, register(result), <usize>len << alignof<T>());
    }
  }
}

// regs: MAX_REGISTERS * BLOCK_BYTES bytes of scratch, 16-byte aligned.
export function fused_f64(prog: usize, n: i32, regs: usize): void { registers = regs; fused<f64>(prog, n); }
export function fused_f32(prog: usize, n: i32, regs: usize): void { registers = regs; fused<f32>(prog, n); }
