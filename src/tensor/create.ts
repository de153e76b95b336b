// Creation functions: every tensor a user makes from JS data starts here.
import { allocBlock, type DType } from '../backend/buffer.js';
import { writeAt, writeData } from '../backend/io.js';
import * as kernels from '../backend/kernels.js';
import { ArgumentError, DTypeError, OutOfMemoryError, ShapeError, fmtShape } from '../errors.js';
import { MAX_NDIM, checkShape, sizeOf } from './shape.js';
import { DenseTensor, Tensor, isForeignTensor, type NestedArray } from './tensor.js';

export interface DTypeOption {
  dtype?: DType;
}

export type ArrayData = number | NestedArray | Float64Array | Float32Array | Int32Array | readonly number[];

/** `options` as given, or {} when omitted; anything but an object is an ArgumentError naming `op`. */
function optionsOf<T extends object>(op: string, options: T | undefined): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ArgumentError(`${op}: options must be an object such as {dtype: 'float32'}, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}.`);
  }
  return options;
}

export function checkDType(op: string, dtype: unknown): DType {
  if (dtype === 'float64' || dtype === 'float32' || dtype === 'int32') return dtype;
  throw new DTypeError(`${op}: dtype ${JSON.stringify(dtype)} is not supported; use 'float64' (the default), 'float32' or 'int32'.`);
}

/** A float dtype, for ops whose values are not integers (randn, uniform, linspace, ...). */
export function checkFloatDType(op: string, dtype: unknown): 'float64' | 'float32' {
  const d = checkDType(op, dtype);
  if (d === 'int32') throw new DTypeError(`${op}: dtype 'int32' is not supported here (its values are not integers); use 'float64' or 'float32'${op === 'uniform' ? ', or randint for integers' : ''}.`);
  return d;
}

/**
 * A JS number as an int32 value, as astype converts floats: truncated toward zero. NaN,
 * infinities and values outside the int32 range are an ArgumentError naming `op` (NumPy
 * raises on out-of-range integers too).
 */
export function toInt32(op: string, v: number): number {
  const t = Math.trunc(v);
  if (!(t >= -0x80000000 && t <= 0x7fffffff)) {
    throw new ArgumentError(`${op}: ${v} is not an int32 value (integers from -2147483648 to 2147483647; fractions are truncated toward zero); use a float dtype for it.`);
  }
  return t;
}

/** @internal an uninitialised tensor; kernels fill it. `op` names the caller in errors. */
export function empty(shape: readonly number[], dtype: DType, op?: string): DenseTensor {
  const size = sizeOf(shape);
  if (size * 8 > MAX_TENSOR_BYTES) checkFits(op ?? 'alloc', shape, dtype);
  let ptr: number;
  try {
    ptr = allocBlock(dtype, size);
  } catch (e) {
    if (!(e instanceof OutOfMemoryError)) throw e;
    throw new OutOfMemoryError(`${op ?? 'alloc'}: no room for a ${dtype} tensor of shape ${fmtShape(shape)}: ${e.message}`);
  }
  return new DenseTensor(ptr, dtype, shape, false, size);
}

/** The largest wasm32 memory, 4 GiB: no tensor can be larger. */
const MAX_TENSOR_BYTES = 2 ** 32;

/**
 * Refuses, before any JS or wasm allocation, a shape whose data cannot fit in wasm memory
 * (randn and linspace fill a JS array first, which would throw a RangeError).
 */
export function checkFits(op: string, shape: readonly number[], dtype: DType): void {
  const bytes = sizeOf(shape) * (dtype === 'float64' ? 8 : 4);
  if (!(bytes <= MAX_TENSOR_BYTES)) {
    throw new OutOfMemoryError(`${op}: no room for a ${dtype} tensor of shape ${fmtShape(shape)}: it needs ${bytes} bytes, more than the WebAssembly 32-bit memory limit of ${MAX_TENSOR_BYTES} bytes. Live tensors are intact; use smaller shapes${dtype === 'float64' ? ' or float32' : ''}.`);
  }
}

function inferShape(op: string, data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0 || shape.length > MAX_NDIM) break;
    level = level[0];
  }
  if (shape.length > MAX_NDIM) {
    let depth = shape.length - 1;
    for (let node: unknown = level; Array.isArray(node); node = node.length > 0 ? node[0] : undefined) depth++;
    throw new ShapeError(`${op}: the nested array is ${depth} levels deep, which would make ${depth} axes, more than the ${MAX_NDIM} a dualtape tensor may have; flatten it (a Float64Array with {shape}) or nest less.`);
  }
  const check = (node: NestedArray, axis: number, path: string): void => {
    if (axis === shape.length) {
      if (typeof node !== 'number') {
        throw new ShapeError(`${op}: ragged nested array: element ${path} is ${Array.isArray(node) ? 'an array' : typeof node} where a number was expected (inferred shape ${fmtShape(shape)}).`);
      }
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[axis]) {
      throw new ShapeError(`${op}: ragged nested array: element ${path || 'at the top'} has ${Array.isArray(node) ? `length ${node.length}` : 'no length'} but the inferred shape ${fmtShape(shape)} expects ${shape[axis]} on axis ${axis}.`);
    }
    // A plain loop, not forEach: forEach skips the holes of a sparse array ([1, , 3]).
    for (let i = 0; i < node.length; i++) {
      if (!(i in node)) {
        throw new ShapeError(`${op}: element ${path}[${i}] is a hole (an empty slot of a sparse array, as in [1, , 3]); give every element a number.`);
      }
      check(node[i], axis + 1, `${path}[${i}]`);
    }
  };
  check(data, 0, '');
  return shape;
}

/**
 * A tensor from numbers, nested arrays or a typed array.
 * @example
 * const x = array([[1, 2], [3, 4]]);          // float64, shape [2, 2]
 * const y = array(new Float32Array([1, 2]));  // float32, shape [2]
 */
export function array(data: ArrayData | Tensor, options: DTypeOption & { shape?: readonly number[] } = {}): Tensor {
  options = optionsOf('array', options);
  if (data instanceof Tensor) {
    const d = data.dense();
    const dtype = options.dtype ? checkDType('array', options.dtype) : d.dtype;
    const out = empty(d.shape, dtype, 'array');
    kernels.cast(out.liveBuffer('array'), d.liveBuffer('array'));
    return out;
  }
  if (isForeignTensor(data)) {
    // A tensor of another copy of dualtape: its values are readable, its memory is not ours.
    return array(data.data(), { dtype: options.dtype ?? data.dtype, shape: data.shape });
  }
  const isTyped = data instanceof Float64Array || data instanceof Float32Array || data instanceof Int32Array;
  const dtype = checkDType('array', options.dtype ?? (data instanceof Float32Array ? 'float32' : data instanceof Int32Array ? 'int32' : 'float64'));
  let shape: number[];
  let flat: ArrayLike<number>;
  if (typeof data === 'number') {
    shape = [];
    flat = [data];
  } else if (isTyped) {
    flat = data as Float64Array | Float32Array | Int32Array;
    shape = [flat.length];
  } else if (Array.isArray(data)) {
    shape = inferShape('array', data as NestedArray);
    flat = shape.length <= 1 ? (data as number[]) : (data as NestedArray[]).flat(Infinity as 1) as number[];
  } else {
    const what = data === null ? 'null' : typeof data === 'object' ? ((data as object).constructor?.name ?? 'object') : typeof data;
    throw new ArgumentError(`array: cannot make a tensor from ${what}; give a number, a (nested) array of numbers, a Float64Array, a Float32Array or an Int32Array.`);
  }
  if (options.shape) {
    const target = checkShape('array', options.shape);
    if (sizeOf(target) !== flat.length) {
      throw new ShapeError(`array: ${flat.length} values cannot fill shape ${fmtShape(target)} (${sizeOf(target)} elements).`);
    }
    shape = target;
  }
  if (dtype === 'int32' && !(data instanceof Int32Array)) flat = Array.from(flat, (v) => toInt32('array', v));
  const out = empty(shape, dtype, 'array');
  writeData(out.liveBuffer('array'), flat);
  return out;
}

/** A 0-d tensor. @example scalar(2.5).item() // 2.5 */
export function scalar(value: number, options: DTypeOption = {}): Tensor {
  options = optionsOf('scalar', options);
  if (typeof value !== 'number') throw new ArgumentError(`scalar: expected a number, got ${typeof value}.`);
  const dtype = checkDType('scalar', options.dtype ?? 'float64');
  const out = empty([], dtype, 'scalar');
  writeAt(out.liveBuffer('scalar'), 0, dtype === 'int32' ? toInt32('scalar', value) : value);
  return out;
}

/** A tensor of `shape` filled with `value`. @example full([2, 3], 7) */
export function full(shape: readonly number[], value: number, options: DTypeOption = {}): Tensor {
  options = optionsOf('full', options);
  if (typeof value !== 'number') throw new ArgumentError(`full: the fill value must be a number, got ${value === null ? 'null' : typeof value}.`);
  return filled('full', shape, value, options);
}

function filled(op: string, shape: readonly number[], value: number, options: DTypeOption): Tensor {
  const dtype = checkDType(op, options.dtype ?? 'float64');
  if (dtype === 'int32') value = toInt32(op, value);
  const out = empty(checkShape(op, shape), dtype, op);
  kernels.fill(out.liveBuffer(op), value);
  return out;
}

/** @example zeros([2, 2]) */
export function zeros(shape: readonly number[], options: DTypeOption = {}): Tensor {
  options = optionsOf('zeros', options);
  return filled('zeros', shape, 0, options);
}

/** @example ones([3]) */
export function ones(shape: readonly number[], options: DTypeOption = {}): Tensor {
  options = optionsOf('ones', options);
  return filled('ones', shape, 1, options);
}

/** The n x n identity. @example eye(3) */
export function eye(n: number, options: DTypeOption = {}): Tensor {
  options = optionsOf('eye', options);
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`eye: n must be a non-negative integer, got ${n}.`);
  const out = empty([n, n], checkDType('eye', options.dtype ?? 'float64'), 'eye');
  kernels.eye(out.liveBuffer('eye'), n);
  return out;
}

/**
 * Evenly spaced values in [start, stop), as NumPy's arange: arange(stop), arange(start, stop)
 * or arange(start, stop, step).
 * @example arange(5).toArray() // [0, 1, 2, 3, 4]
 */
export function arange(start: number, stop?: number, step = 1, options: DTypeOption = {}): Tensor {
  options = optionsOf('arange', options);
  if (stop === undefined) [start, stop] = [0, start];
  for (const [name, v] of [['start', start], ['stop', stop]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError(`arange: ${name} must be a finite number, got ${typeof v === 'number' ? v : typeof v}.`);
  }
  if (typeof step !== 'number' || step === 0 || !Number.isFinite(step)) throw new ArgumentError(`arange: step must be a finite non-zero number, got ${step}.`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = checkDType('arange', options.dtype ?? 'float64');
  if (dtype === 'int32' && n > 0) {
    toInt32('arange', start);
    toInt32('arange', start + (n - 1) * step);
  }
  const out = empty([n], dtype, 'arange');
  kernels.arange(out.liveBuffer('arange'), start, step);
  return out;
}

/** n evenly spaced values from a to b inclusive. @example linspace(0, 1, 5) */
export function linspace(a: number, b: number, n: number, options: DTypeOption = {}): Tensor {
  options = optionsOf('linspace', options);
  if (!Number.isInteger(n) || n < 0) throw new ArgumentError(`linspace: n must be a non-negative integer, got ${n}.`);
  const dtype = checkFloatDType('linspace', options.dtype ?? 'float64');
  checkFits('linspace', [n], dtype);
  const values = new Float64Array(n);
  const step = n > 1 ? (b - a) / (n - 1) : 0;
  for (let i = 0; i < n; i++) values[i] = a + i * step;
  if (n > 1) values[n - 1] = b;
  return array(values, { dtype });
}

/**
 * Standard normal samples from a seeded generator: sfc32 (seeded through splitmix32) gives
 * 53-bit uniform doubles, turned into normals by the Box-Muller transform. The same seed gives
 * the same values on every platform.
 * @example randn([2, 3], {seed: 42})
 */
export function randn(shape: readonly number[], options: DTypeOption & { seed?: number } = {}): Tensor {
  options = optionsOf('randn', options);
  const dims = checkShape('randn', shape);
  const dtype = checkFloatDType('randn', options.dtype ?? 'float64');
  const seed = seedOf('randn', options.seed);
  checkFits('randn', dims, dtype);
  const n = sizeOf(dims);
  const uniform = seededUniform(seed);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    let u1 = uniform();
    while (u1 === 0) u1 = uniform();
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    values[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) values[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return array(values, { dtype, shape: dims });
}

/** The seed option: an integer (default 0); only its low 32 bits seed the generator. */
export function seedOf(op: string, seed: unknown): number {
  if (seed === undefined) return 0;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new ArgumentError(`${op}: seed must be an integer, got ${typeof seed === 'number' ? seed : typeof seed}.`);
  }
  return seed;
}

const bits64 = new DataView(new ArrayBuffer(8));

/** The float64 or float32 value next to `x` (finite) towards +Infinity (`up`) or -Infinity. */
function nextTo(x: number, up: boolean, dtype: 'float64' | 'float32'): number {
  if (x === 0) return (up ? 1 : -1) * (dtype === 'float64' ? Number.MIN_VALUE : 2 ** -149);
  const away = (x > 0) === up;
  if (dtype === 'float32') {
    bits64.setFloat32(0, x);
    bits64.setUint32(0, bits64.getUint32(0) + (away ? 1 : -1));
    return bits64.getFloat32(0);
  }
  bits64.setFloat64(0, x);
  bits64.setBigUint64(0, bits64.getBigUint64(0) + (away ? 1n : -1n));
  return bits64.getFloat64(0);
}

/**
 * Uniform samples in [low, high) from the seeded generator of randn (sfc32 seeded by
 * splitmix32, 53-bit uniform doubles u, then low + (high - low) u). Every value is a number of
 * the dtype in [low, high): one that rounds onto high (or, in float32, below low) is moved to
 * the nearest value of the dtype inside. Only exact IEEE arithmetic is involved, so the same
 * seed gives the same values in Node and every browser.
 * @example uniform([2, 3], {seed: 7, low: -1, high: 1})
 */
export function uniform(shape: readonly number[], options: DTypeOption & { seed?: number; low?: number; high?: number } = {}): Tensor {
  options = optionsOf('uniform', options);
  const dims = checkShape('uniform', shape);
  const dtype = checkFloatDType('uniform', options.dtype ?? 'float64');
  const seed = seedOf('uniform', options.seed);
  const low = options.low ?? 0;
  const high = options.high ?? 1;
  for (const [name, v] of [['low', low], ['high', high]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError(`uniform: ${name} must be a finite number, got ${typeof v === 'number' ? v : typeof v}.`);
  }
  const width = high - low;
  if (!(width > 0) || !Number.isFinite(width)) {
    throw new ArgumentError(`uniform: needs low < high with high - low finite, got low = ${low} and high = ${high}; swap them or narrow the range.`);
  }
  const round = dtype === 'float32' ? Math.fround : (v: number) => v;
  let least = round(low);
  if (least < low) least = nextTo(least, true, dtype);
  let most = round(high);
  if (most >= high) most = nextTo(most, false, dtype);
  if (least > most) {
    throw new ArgumentError(`uniform: no ${dtype} number lies in [${low}, ${high}); widen the range${dtype === 'float32' ? ' or use float64' : ''}.`);
  }
  checkFits('uniform', dims, dtype);
  const n = sizeOf(dims);
  const next = seededUniform(seed);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = round(low + width * next());
    values[i] = v < least ? least : v > most ? most : v;
  }
  return array(values, { dtype, shape: dims });
}

/**
 * Samples of a Bernoulli distribution: 1 with probability p and 0 otherwise, as a float
 * tensor (1 where the seeded uniform double u of uniform() is below p, so p = 0 gives only
 * zeros and p = 1 only ones). p is a number or a tensor of probabilities that broadcasts to
 * `shape` (per-element probabilities, read as values: not differentiated). The same seed gives
 * the same values everywhere.
 * @example bernoulli([4], 0.25, {seed: 3}) // a dropout mask: 1 for about a quarter of the entries
 * @example bernoulli([2, 3], array([[0.1], [0.9]]), {seed: 3}) // row 0 mostly 0, row 1 mostly 1
 */
export function bernoulli(shape: readonly number[], p: number | Tensor, options: DTypeOption & { seed?: number } = {}): Tensor {
  options = optionsOf('bernoulli', options);
  const dims = checkShape('bernoulli', shape);
  const dtype = checkFloatDType('bernoulli', options.dtype ?? 'float64');
  const seed = seedOf('bernoulli', options.seed);
  const probability = probabilities(dims, p);
  checkFits('bernoulli', dims, dtype);
  const n = sizeOf(dims);
  const next = seededUniform(seed);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = next() < probability(i) ? 1 : 0;
  return array(values, { dtype, shape: dims });
}

/** bernoulli's p as a function of the output element: a number, or a tensor broadcast to `dims`. */
function probabilities(dims: readonly number[], p: number | Tensor): (i: number) => number {
  if (typeof p === 'number' && p >= 0 && p <= 1) return () => p;
  if (!(p instanceof Tensor)) {
    throw new ArgumentError(`bernoulli: p must be a probability, a number in [0, 1], got ${typeof p === 'number' ? p : typeof p}; per-element probabilities go in a tensor.`);
  }
  if (p.ndim > dims.length || p.shape.some((d, j) => d !== 1 && d !== dims[dims.length - p.ndim + j])) {
    throw new ShapeError(`bernoulli: p of shape ${fmtShape(p.shape)} does not broadcast to the shape ${fmtShape(dims)}.`);
  }
  const values = p.data();
  for (const v of values) {
    if (!(v >= 0 && v <= 1)) throw new ArgumentError(`bernoulli: p must hold probabilities in [0, 1], got ${v}.`);
  }
  const strides = kernels.broadcastStrides(p.shape, dims);
  const at = new Array<number>(dims.length).fill(0);
  return (i) => {
    let offset = 0;
    for (let d = dims.length - 1, rest = i; d >= 0; d--) {
      at[d] = rest % dims[d];
      rest = Math.floor(rest / dims[d]);
      offset += at[d] * strides[d];
    }
    return values[offset];
  };
}

/** Uniform doubles in [0, 1) from sfc32, seeded by splitmix32. */
export function seededUniform(seed: number): () => number {
  let s = seed >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix(), b = splitmix(), c = splitmix(), d = splitmix();
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
}
