// scan's inputs: the options (snapshot or byte budgets, the schedule), the sequence it loops
// over (a tree of tensors sharing a leading axis, or {length}) and layout checks for the carry.
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { flatten, type TreeDef } from '../tree.js';

export interface ScanOptions {
  /** Snapshot budget: carry states kept at once by the backward pass (the initial one counts). */
  checkpoints?: number;
  /**
   * Byte budget for the backward pass: snapshots plus one step's tape. A number of bytes or a
   * string such as '64MB' (binary units: KB = 1024 bytes, MB = 1024^2, GB = 1024^3).
   */
  memory?: number | string;
  /** 'revolve' (the default with a budget) or 'uniform': a snapshot every ceil(sqrt(l)) steps. */
  schedule?: 'revolve' | 'uniform';
}

/** Loop `length` times with no per-step input (step receives x = null). */
export interface ScanLength {
  readonly length: number;
}

export type Layout = { shape: readonly number[]; dtype: Tensor['dtype'] };

export function layoutOf(t: Tensor): Layout {
  return { shape: t.shape, dtype: t.dtype };
}

export function describe(l: Layout): string {
  return `${fmtShape(l.shape)} (${l.dtype})`;
}

function isLengthSpec(xs: unknown): xs is ScanLength {
  if (xs === null || typeof xs !== 'object' || Object.getPrototypeOf(xs) !== Object.prototype) return false;
  const keys = Object.keys(xs);
  return keys.length === 1 && keys[0] === 'length' && typeof (xs as ScanLength).length === 'number';
}

export interface Sequence {
  length: number;
  leaves: Tensor[];
  def: TreeDef | null;
}

export function parseXs(op: string, xs: unknown): Sequence {
  if (isLengthSpec(xs)) {
    if (!Number.isInteger(xs.length) || xs.length < 0) throw new ArgumentError(`${op}: {length} must be a non-negative integer, got ${xs.length}.`);
    return { length: xs.length, leaves: [], def: null };
  }
  const { leaves, def } = flatten(xs, `${op}: xs`);
  if (leaves.length === 0) throw new ArgumentError(`${op}: xs holds no tensors; to loop without per-step inputs pass {length: n}.`);
  const tensors = leaves.map((l) => {
    if (!(l instanceof Tensor) || l.ndim === 0) {
      throw new ShapeError(`${op}: every leaf of xs must be a tensor with a leading axis to scan over, got ${l instanceof Tensor ? 'a 0-d tensor' : 'a number'}.`);
    }
    return l;
  });
  const length = tensors[0].shape[0];
  for (const t of tensors) {
    if (t.shape[0] !== length) throw new ShapeError(`${op}: the leaves of xs have leading axes ${tensors.map((s) => s.shape[0]).join(', ')}; they must all have the same length.`);
  }
  return { length, leaves: tensors, def };
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** '64MB' -> 67108864; numbers are bytes. */
function parseBytes(op: string, value: number | string): number {
  let bytes = NaN;
  if (typeof value === 'number') bytes = value;
  else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
    if (m && unit !== undefined) bytes = Math.floor(Number(m[1]) * unit);
  }
  if (!Number.isFinite(bytes) || bytes <= 0) {
    throw new ArgumentError(`${op}: memory must be a positive number of bytes or a string such as '64MB' or '512KB', got ${JSON.stringify(value)}.`);
  }
  return bytes;
}

export type Budget = { kind: 'none' } | { kind: 'snapshots'; count: number } | { kind: 'bytes'; bytes: number; text: string };

export function parseOptions(op: string, options: ScanOptions): { budget: Budget; schedule: 'revolve' | 'uniform' | null } {
  if (options === null || typeof options !== 'object') throw new ArgumentError(`${op}: options must be an object such as {checkpoints: 10}, got ${options === null ? 'null' : typeof options}.`);
  for (const key of Object.keys(options)) {
    if (!['checkpoints', 'memory', 'schedule'].includes(key)) throw new ArgumentError(`${op}: unknown option '${key}'; the options are checkpoints, memory and schedule.`);
  }
  const { checkpoints, memory, schedule } = options;
  if (checkpoints !== undefined && memory !== undefined) throw new ArgumentError(`${op}: give a budget as either {checkpoints} or {memory}, not both.`);
  if (schedule !== undefined && schedule !== 'revolve' && schedule !== 'uniform') {
    throw new ArgumentError(`${op}: schedule must be 'revolve' or 'uniform', got ${JSON.stringify(schedule)}.`);
  }
  let budget: Budget = { kind: 'none' };
  if (checkpoints !== undefined) {
    if (!Number.isInteger(checkpoints) || checkpoints < 1) {
      throw new ArgumentError(`${op}: checkpoints must be an integer >= 1 (the initial state counts as one snapshot), got ${checkpoints}.`);
    }
    budget = { kind: 'snapshots', count: checkpoints };
  } else if (memory !== undefined) {
    budget = { kind: 'bytes', bytes: parseBytes(op, memory), text: String(memory) };
  }
  if (schedule === 'revolve' && budget.kind === 'none') {
    throw new ArgumentError(`${op}: the revolve schedule needs a budget, {checkpoints: n} or {memory: '64MB'}; without one every step is taped.`);
  }
  return { budget, schedule: schedule ?? (budget.kind === 'none' ? null : 'revolve') };
}

/** A step's outputs as leaves, and the tensors its scope created (safe for the scan to free). */
