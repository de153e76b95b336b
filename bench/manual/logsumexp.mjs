// Hand-written logsumexp and its gradient on a Float64Array (the "manual" baseline of the
// field suite). With m = max_i x_i and s = sum_i exp(x_i - m):
//   lse(x) = m + log(s),   d lse / d x_i = exp(x_i - m) / s = exp(x_i - lse(x)).

/** log(sum(exp(x))), shifted by the max so that no exp overflows. */
export function logsumexp(x) {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - m);
  return m + Math.log(s);
}

/** The value, with the gradient (the softmax of x) written into `grad` (same length as x). */
export function logsumexpValueAndGrad(x, grad) {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.exp(x[i] - m);
    grad[i] = e;
    s += e;
  }
  const inv = 1 / s;
  for (let i = 0; i < x.length; i++) grad[i] *= inv;
  return m + Math.log(s);
}
