// The continuous adjoint (optimise-then-discretise), as jax.experimental.ode.odeint computes
// its gradient: a custom reverse rule that integrates the augmented system backwards from each
// output time to the one before it,
//   dy/dt = f(y, t, p),  da/dt = -a^T df/dy,  dp_bar/dt = -a^T df/dp,  dt0_bar/dt = -a^T df/dt,
// (in s = -t, so the integrator always runs forwards), adding the output cotangent to a at each
// output time. Each output time's own cotangent is f(y_i, t_i) . ct_i; the first time's is what
// the backward integration leaves in t0_bar. Its accuracy is that of the backward solve, not
// the exact gradient of the forward one: it agrees with reverse mode through the steps to the
// integration tolerance.
import { topTrace } from '../core/trace.js';
import { DifferentiationError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { zeros } from '../tensor/create.js';
import { add, neg, sub, mul } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { concat, reshape, slice, stack } from '../ops/shape.js';
import { customVjp } from '../transforms/custom.js';
import { vjp } from '../transforms/grad.js';
import { TapeTrace } from '../transforms/reverse.js';
import { at, dopri5, type StepControl } from './dopri5.js';

/** The right-hand side over the flat param leaves. */
export type LeafRhs = (y: Tensor, t: Tensor, leaves: Tensor[]) => Tensor;

/** Row i of a tensor with a leading axis. */
const rowOf = (x: Tensor, i: number): Tensor => reshape(slice(x, [i, ...x.shape.slice(1).map(() => 0)], [1, ...x.shape.slice(1)]), x.shape.slice(1));

const flat = (x: Tensor): Tensor => reshape(x, [x.size]);

/** Packs tensors into one vector and back: the integrator's state is one tensor. */
function packer(shapes: readonly (readonly number[])[]) {
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  return {
    pack: (xs: Tensor[]): Tensor => concat(xs.map(flat), 0),
    unpack: (v: Tensor): Tensor[] => shapes.map((s, i) => reshape(slice(v, [offsets[i]], [sizes[i]]), s)),
  };
}

/**
 * ys = odeint(f, y0, ts, leaves) whose reverse rule is the continuous adjoint. Forward mode
 * (jvp) differentiates the forward integration itself.
 */
export function adjointOdeint(op: string, f: LeafRhs, y0: Tensor, ts: Tensor, leaves: Tensor[], control: StepControl): Tensor {
  const solve = (y: Tensor, times: Tensor, ...ls: Tensor[]): Tensor => {
    const ys = dopri5(op, (yy, t) => f(yy, t, ls), y, times, control).ys;
    refuseClosure(op, ys, [y, times, ...ls]);
    return ys;
  };
  const withAdjoint = customVjp(
    solve,
    (y, times, ...ls) => {
      const ys = solve(y, times, ...ls);
      return [ys, { ys, ts: times, leaves: ls }];
    },
    (res, ct) => backward(op, f, res, ct, control),
  );
  return withAdjoint(y0, ts, ...leaves);
}

/**
 * The adjoint differentiates only y0, ts and params: a solution that depends on a value a tape
 * is differentiating and the inputs do not carry (f closed over it) would get no cotangent for
 * it, silently.
 */
function refuseClosure(op: string, ys: Tensor, inputs: Tensor[]): void {
  const top = topTrace(op, [ys]);
  const below = topTrace(op, inputs)?.level ?? -1;
  if (top instanceof TapeTrace && top.level > below) {
    throw new DifferentiationError(`${op}: with gradient: 'adjoint', f closes over a value being differentiated; the adjoint differentiates only y0, ts and params. Pass that value in params, or use gradient: 'discretize', which differentiates everything f reads.`);
  }
}

interface Residuals {
  ys: Tensor;
  ts: Tensor;
  leaves: Tensor[];
}

/** [y0_bar, ts_bar, ...leaf_bars] by integrating the augmented system from ts[-1] back to ts[0]. */
function backward(op: string, f: LeafRhs, { ys, ts, leaves }: Residuals, ct: Tensor, control: StepControl): Tensor[] {
  const nt = ts.size;
  const yShape = ys.shape.slice(1);
  const { pack, unpack } = packer([yShape, yShape, [], ...leaves.map((l) => l.shape)]);
  // The augmented dynamics in s = -t: d/ds [y, a, t0_bar, p_bar] = [-f, a^T f_y, a^T f_t, a^T f_p].
  const augmented = (state: Tensor, s: Tensor): Tensor => {
    const [y, a] = unpack(state);
    const [fy, pullback] = vjp((yy: Tensor, t: Tensor, ...ls: Tensor[]) => f(yy, t, ls), y, neg(s), ...leaves);
    const bars = (pullback(a) as (Tensor | null)[]).map((b, i) => b ?? zeros(i === 0 ? yShape : i === 1 ? [] : leaves[i - 2].shape, { dtype: y.dtype }));
    return pack([neg(fy as Tensor), ...bars]);
  };
  let yBar = rowOf(ct, nt - 1);
  let t0Bar: Tensor = zeros([], { dtype: ys.dtype });
  let leafBars = leaves.map((l) => zeros(l.shape, { dtype: l.dtype }));
  const tBars: Tensor[] = [];
  for (let i = nt - 1; i >= 1; i--) {
    const yi = rowOf(ys, i);
    const ti = at(ts, i);
    // Moving output time i moves ys[i] along f.
    const tBar = sum(mul(f(yi, ti, leaves), rowOf(ct, i)));
    tBars.push(tBar);
    t0Bar = sub(t0Bar, tBar);
    const span = neg(stack([ti, at(ts, i - 1)]));
    const end = rowOf(dopri5(`${op} (adjoint, backwards)`, augmented, pack([yi, yBar, t0Bar, ...leafBars]), span, control).ys, 1);
    const parts = unpack(end);
    yBar = add(parts[1], rowOf(ct, i - 1));
    t0Bar = parts[2];
    leafBars = parts.slice(3);
  }
  const tsBar = concat([reshape(t0Bar, [1]), ...tBars.reverse().map((b) => reshape(b, [1]))], 0);
  return [yBar, tsBar, ...leafBars];
}
