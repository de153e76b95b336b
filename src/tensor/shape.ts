// Shape rules shared by ops: NumPy broadcasting and axis normalisation.
import { AxisError, ShapeError, fmtShape } from '../errors.js';

/** The NumPy broadcast of the given shapes, or a ShapeError naming `op` and every shape. */
export function broadcastShapes(op: string, ...shapes: (readonly number[])[]): number[] {
  if (shapes.length === 2) {
    // The common cases allocate nothing: equal shapes, or a 0-d operand.
    const [a, b] = shapes;
    if (b.length === 0 || shapesEqual(a, b)) return a as number[];
    if (a.length === 0) return b as number[];
  }
  let ndim = 0;
  for (const s of shapes) if (s.length > ndim) ndim = s.length;
  return broadcastSlow(op, ndim, shapes);
}

function broadcastSlow(op: string, ndim: number, shapes: (readonly number[])[]): number[] {
  const out = new Array<number>(ndim).fill(1);
  for (const shape of shapes) {
    const offset = ndim - shape.length;
    for (let i = 0; i < shape.length; i++) {
      const d = shape[i];
      const o = out[offset + i];
      if (d === o || d === 1) continue;
      if (o === 1) out[offset + i] = d;
      else {
        throw new ShapeError(`${op}: shapes ${shapes.map(fmtShape).join(' and ')} cannot be broadcast together (axis ${offset + i - ndim} has sizes ${o} and ${d}). Sizes must be equal or 1 on every trailing axis; reshape or broadcastTo one operand first.`);
      }
    }
  }
  return out;
}

export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Most axes a tensor may have; shapes, nested arrays and reshapes beyond it are refused. */
export const MAX_NDIM = 2048;

/** The element count; 0 whenever an axis is 0, even if the other axes overflow (2^1100 * 0). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (d === 0) return 0;
    n *= d;
  }
  return n;
}

/** Normalises one axis into [0, ndim). */
export function normalizeAxis(op: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    if (ndim === 0) throw new AxisError(`${op}: axis ${axis} is out of range: a 0-d tensor has no axes; reshape it to [1] or reduce over no axes.`);
    throw new AxisError(`${op}: axis ${axis} is out of range for a tensor with ${ndim} dimension${ndim === 1 ? '' : 's'}; expected an integer in [${-ndim}, ${ndim - 1}].`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/** Normalises `axes` (undefined: all) to a sorted list of distinct axes in [0, ndim). */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined | null, ndim: number): number[] {
  if (axes === undefined || axes === null) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => normalizeAxis(op, a, ndim));
  if (new Set(out).size !== out.length) {
    throw new AxisError(`${op}: axes [${list.join(', ')}] repeat an axis; give each axis once.`);
  }
  return out.sort((a, b) => a - b);
}

export function checkShape(op: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    const shown = Array.isArray(shape) ? `[${shape.map((d) => (typeof d === 'string' ? JSON.stringify(d) : String(d))).join(', ')}]` : String(JSON.stringify(shape));
    throw new ShapeError(`${op}: shape ${shown} is not a list of non-negative integers.`);
  }
  checkRank(op, shape.length);
  return [...shape];
}

/** Refuses more than MAX_NDIM axes with a ShapeError naming `op`. */
export function checkRank(op: string, ndim: number): void {
  if (ndim > MAX_NDIM) {
    throw new ShapeError(`${op}: ${ndim} axes is more than the ${MAX_NDIM} a dualtape tensor may have; reshape to fewer axes (size-1 axes can be dropped with squeeze).`);
  }
}
