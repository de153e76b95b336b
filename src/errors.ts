// Error classes. Every message names the op, what was given, what was expected and the fix,
// so that a user reading only the message knows what to change.

/** Base class of every error dualtape throws on purpose. */
export class DualtapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Operand shapes that do not fit the op (broadcasting, matmul inner sizes, reshape sizes). */
export class ShapeError extends DualtapeError {}

/** A dtype the op does not accept, or operands whose dtypes cannot be combined. */
export class DTypeError extends DualtapeError {}

/** An axis outside [-ndim, ndim) or repeated. */
export class AxisError extends DualtapeError {}

/** A tensor used after `dispose()` or after the `tidy` scope that owned it ended. */
export class DisposedError extends DualtapeError {}

/**
 * A tensor used where JavaScript needs a number (`x * 2`, `x > 0`, `+x`, `Math.tanh(x)`):
 * read one value with `item()`, or keep the arithmetic on tensors (`mul`, `greater`, `tanh`).
 */
export class ConversionError extends DualtapeError {}

/** The wasm linear memory cannot hold the allocation. Live tensors are left intact. */
export class OutOfMemoryError extends DualtapeError {}

/** An argument of the wrong kind (not a tensor, a bad option, a function of the wrong shape). */
export class ArgumentError extends DualtapeError {}

/** The wasm module was used before `await ready()` in an environment that loads it async. */
export class NotReadyError extends DualtapeError {}

/** A transform met a value or a primitive it cannot differentiate. */
export class DifferentiationError extends DualtapeError {}

/** A matrix the op cannot factor: singular (solve, inv) or not positive definite (cholesky). */
export class LinAlgError extends DualtapeError {}

/** An iterative solver (rootFind, fixedPoint) stopped without meeting its tolerance. */
export class ConvergenceError extends DualtapeError {}

/** Formats a shape the way messages show it: [2, 3]. */
/** A traced value was read as a concrete one (inside jit): item(), data(), if (x > 0), ... */
export class ConcretizationError extends DualtapeError {}

export function fmtShape(shape: readonly number[]): string {
  // A shape with hundreds of axes would bury the message: show its ends and the rank.
  if (Array.isArray(shape) && shape.length > 16) {
    return `[${shape.slice(0, 8).join(', ')}, ..., ${shape.slice(-4).join(', ')}] (${shape.length} axes)`;
  }
  return `[${shape.join(', ')}]`;
}

/** An index outside its axis (take, takeAlongAxis, scatterAdd, oneHot): never wrapped, never read. */
export class IndexError extends DualtapeError {}
