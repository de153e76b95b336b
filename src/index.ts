// The public API: re-exports only.
import './ops/methods.js';

export { ready } from './backend/wasm.js';
export type { MemoryInfo } from './backend/memory.js';
export { Tensor } from './tensor/tensor.js';
export type { DType, NestedArray } from './tensor/tensor.js';
export { array, scalar, zeros, ones, full, eye, arange, linspace, randn, uniform, bernoulli } from './tensor/create.js';
export { astype, stopGradient } from './ops/convert.js';
export type { TensorLike } from './ops/convert.js';
export {
  neg, exp, log, sin, cos, tan, tanh, sigmoid, sqrt, square, reciprocal, abs, sign,
  add, sub, mul, div, pow, maximum, minimum, greater, less, equal, greaterEqual, lessEqual, where,
} from './ops/elementwise.js';
export { sum, mean, max, min, logsumexp, softmax } from './ops/reduce.js';
export { log1p, expm1, sinh, cosh, asin, acos, atan, atan2, erf, floor, ceil, round } from './ops/special.js';
export { clip, logaddexp, softplus, variance, variance as var, std, norm } from './ops/numerics.js';
export type { MomentOptions, NormOptions, NormOrd } from './ops/numerics.js';
export { cumsum, cumprod } from './ops/cumulative.js';
export type { CumulativeOptions } from './ops/cumulative.js';
export { flip, roll, tile, split, diagonal, trace, diag, triu, tril } from './ops/more-shape.js';
export type { DiagonalOptions } from './ops/more-shape.js';
export type { ReduceOptions } from './ops/reduce.js';
export { reshape, transpose, slice, pad, concat, stack, expandDims, squeeze } from './ops/shape.js';
export { broadcastTo } from './ops/sum.js';
export { matmul, dot } from './ops/matmul.js';
export { einsum } from './ops/einsum.js';
export { solve, inv, det, logdet, cholesky, triangularSolve } from './ops/linalg.js';
export type { TriangularSolveOptions } from './ops/linalg.js';
export { qr, eigh, svd } from './ops/decomp.js';
export { lstsq } from './ops/lstsq.js';
export type { LstsqOptions } from './ops/lstsq.js';
export { jvp, jacfwd } from './transforms/jvp.js';
export type { JacOptions } from './transforms/jvp.js';
export { vjp, grad, valueAndGrad, jacrev } from './transforms/grad.js';
export type { GradOptions } from './transforms/grad.js';
export { jacobian, hessian, hvp, chooseJacobianMode, jacobianCost, jacobianCostModel } from './transforms/jacobian.js';
export type { JacobianOptions, JacobianMode, JacobianCost } from './transforms/jacobian.js';
export { customJvp, customVjp } from './transforms/custom.js';
export { vmap } from './transforms/vmap.js';
export type { VmapOptions, AxisSpec } from './transforms/vmap.js';
export { checkpoint, name, saveNothing, saveAll, saveOnly, type CheckpointPolicy, type CheckpointValue } from './checkpoint/checkpoint.js';
export { scan } from './checkpoint/scan.js';
export type { ScanOptions, ScanLength } from './checkpoint/scan-options.js';
export { optimalAdvances, revolveSchedule, uniformSchedule, scheduleStats, type ScheduleAction, type ScheduleStats } from './checkpoint/revolve.js';
export { rootFind } from './solve/root.js';
export type { RootFindOptions, TensorTree } from './solve/root.js';
export { fixedPoint } from './solve/fixed-point.js';
export type { FixedPointOptions } from './solve/fixed-point.js';
export { finiteDiff } from './check/finite-diff.js';
export type { FiniteDiffOptions, Stencil } from './check/finite-diff.js';
export { gradCheck } from './check/grad-check.js';
export type { GradCheckOptions, GradCheckResult, GradCheckFailure, CheckMode } from './check/grad-check.js';
export { sparsityPattern, sparseJacobian, colorColumns, colorRows } from './sparse/sparse.js';
export type { SparsityPattern, PatternLike, Coloring, SparseJacobian, SparseJacobianOptions } from './sparse/sparse.js';
export { jit } from './staging/jit.js';
export type { JitOptions, JitStats, Jitted } from './staging/jit.js';
export { Program } from './staging/program.js';
export { evalShape } from './staging/trace.js';
export { cond } from './staging/control.js';
export { fori, whileLoop, type LoopOptions } from './checkpoint/loops.js';
export { OnlineSchedule, backwardPlan, onlineCost, offlineCalls, type OnlineCost } from './checkpoint/online.js';
export { sgd, momentum, adam, OptimizerState } from './optim/optimizers.js';
export type { Optimizer, LearningRate, SgdOptions, MomentumOptions, AdamOptions } from './optim/optimizers.js';
export { minimize } from './optim/minimize.js';
export type { MinimizeMethod, MinimizeOptions, MinimizeProgress, MinimizeResult } from './optim/minimize.js';
export { odeint, odeintWithStats } from './ode/odeint.js';
export type { OdeintOptions, OdeFunction, OdeArray } from './ode/odeint.js';
export type { Dopri5Result } from './ode/dopri5.js';
export type { Argnums, Gradient, GradientOf, Gradients, IsTree, Jacobian, NotATree, Scalar, TensorLikes, Tensors, TreeArgs } from './transforms/types.js';
export type { AuxOf, ScalarFunction, ScalarAuxFunction } from './transforms/grad.js';
export { tidy, memory } from './tidy.js';
export { flatten, unflatten, treeMap } from './tree.js';
export type { Tree, Leaf, TreeDef, MappedTree } from './tree.js';
export {
  DualtapeError, ShapeError, DTypeError, AxisError, DisposedError, OutOfMemoryError, ConversionError,
  ArgumentError, NotReadyError, DifferentiationError, LinAlgError, ConvergenceError, ConcretizationError,
} from './errors.js';
export { IndexError } from './errors.js';
export { take, takeAlongAxis, scatterAdd, oneHot, argmax, argmin, argsort, sort } from './ops/indexing.js';
export { randint, permutation } from './ops/random.js';
export type { Indices } from './ops/indexing.js';
