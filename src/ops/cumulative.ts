// Running sums and products along an axis. cumsum is linear: its transpose is the running sum in
// the other direction, so one primitive with a `reverse` flag carries both rules, as JAX's
// cumsum; cumprod is a scan of multiplications.
import { readData, writeData } from '../backend/io.js';
import { defineLinear, type Primitive } from '../core/primitive.js';
import { bind } from '../core/trace.js';
import { empty, ones } from '../tensor/create.js';
import { normalizeAxis, sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { toTensor, type TensorLike } from './convert.js';
import { mul } from './elementwise.js';
import { flip } from './more-shape.js';
import { concat, slice } from './shape.js';
import { batchInPlace, valueAxis } from '../core/batch-axes.js';

interface CumParams {
  axis: number;
  reverse: boolean;
}

/** Calls visit(offset, stride, length) for every run along `axis` of a row-major `shape`. */
function forEachRun(shape: readonly number[], axis: number, visit: (offset: number, stride: number, length: number) => void): void {
  const length = shape[axis];
  const inner = sizeOf(shape.slice(axis + 1));
  const outer = sizeOf(shape.slice(0, axis));
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) visit(o * length * inner + i, inner, length);
}

// d cumsum(x) = cumsum(dx); its transpose sums from the other end.
const cumsumP: Primitive<CumParams> = defineLinear<CumParams>({
  name: 'cumsum',
  batch: batchInPlace((p, b) => ({ ...p, axis: valueAxis(p.axis, b) })),
  shape: ([x]) => x,
  sparsity: (algebra, { inputs: [x], params: { axis, reverse } }) => {
    const size = sizeOf(x.shape);
    const sources: number[][] = new Array(size);
    forEachRun(x.shape, axis, (offset, stride, length) => {
      for (let j = 0; j < length; j++) {
        const from = reverse ? j : 0, to = reverse ? length - 1 : j;
        sources[offset + j * stride] = Array.from({ length: to - from + 1 }, (_, m) => offset + (from + m) * stride);
      }
    });
    return algebra.build(size, (e, add) => {
      if (x.deps) for (const s of sources[e]) add(x.deps, s);
    });
  },
  apply: ([t], { params: { axis, reverse } }) => t && bind(cumsumP, [t], { axis: axis + 1, reverse }),
  transpose: (ct, { params: { axis, reverse } }) => [bind(cumsumP, [ct], { axis: axis + 1, reverse: !reverse })],
  impl([x], { axis, reverse }) {
    const data = readData(x.liveBuffer('cumsum'));
    const out = empty(x.shape, x.dtype, 'cumsum');
    const values = new Float64Array(data.length);
    // Accumulate in float64 and round once per element, also for float32 inputs.
    forEachRun(x.shape, axis, (offset, stride, length) => {
      let acc = 0;
      for (let j = 0; j < length; j++) {
        const e = offset + (reverse ? length - 1 - j : j) * stride;
        acc += data[e];
        values[e] = acc;
      }
    });
    writeData(out.liveBuffer('cumsum'), values);
    return out;
  },
});

export interface CumulativeOptions {
  /** Accumulate from the end of the axis towards its start (default false). */
  reverse?: boolean;
}

/**
 * Running sum along `axis` (default: the last): out[i] = x[0] + ... + x[i].
 * @example cumsum(array([1, 2, 3])) // [1, 3, 6]
 * @example cumsum(array([1, 2, 3]), 0, { reverse: true }) // [6, 5, 3]
 */
export function cumsum(x: TensorLike, axis = -1, options: CumulativeOptions = {}): Tensor {
  const t = toTensor('cumsum', x);
  if (t.ndim === 0) return t;
  return bind(cumsumP, [t], { axis: normalizeAxis('cumsum', axis, t.ndim), reverse: options.reverse ?? false });
}

/**
 * Running product along `axis` (default: the last): out[i] = x[0] * ... * x[i]. Built as a
 * log-depth scan of multiplications (step s multiplies each element by the one s places back,
 * s = 1, 2, 4, ...), so its derivative is exact at zeros in the input, where the quotient
 * out / x would divide by zero, and it is differentiable to any order.
 * @example cumprod(array([1, 2, 3])) // [1, 2, 6]
 */
export function cumprod(x: TensorLike, axis = -1, options: CumulativeOptions = {}): Tensor {
  const t = toTensor('cumprod', x);
  if (t.ndim === 0) return t;
  const a = normalizeAxis('cumprod', axis, t.ndim);
  if (options.reverse) return flip(cumprod(flip(t, a), a), a);
  const n = t.shape[a];
  let y = t;
  for (let s = 1; s < n; s *= 2) {
    const begin = t.shape.map(() => 0);
    const kept = slice(y, begin, t.shape.map((d, i) => (i === a ? n - s : d)));
    const lead = ones(t.shape.map((d, i) => (i === a ? s : d)), { dtype: t.dtype });
    y = mul(y, concat([lead, kept], a));
  }
  return y;
}
