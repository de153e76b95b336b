// Hand-written objective and gradient of GradBench's "lstm" eval (from ADBench): l layers of an
// LSTM cell with diagonal weights over a sequence of c one-hot-like vectors of size b (the
// hidden size). Flat Float64Array layouts, as GradBench's C++ reads them:
//   main  [l][8][b]: per layer the weights (forget, ingate, outgate, change), then their biases;
//   extra [3][b]:    input weight, output weight, output bias;
//   state [l][2][b]: per layer the initial hidden and cell (not differentiated);
//   seq   [c][b].
// One cell, per entry i, with input u (ADBench's quirk: forget and outgate read the input,
// ingate and change read the layer's previous hidden h):
//   f = sig(u Wf + bf), g = sig(h Wi + bi), o = sig(u Wo + bo), k = tanh(h Wc + bc),
//   c' = c f + g k,  h' = o tanh(c').
// Each step t < c-1: u_0 = seq[t] * inW; layer j's input is layer j-1's new hidden;
// y = h'_{l-1} * outW + outB; lse = log(sum_i exp(y_i) + 2) (ADBench adds 2);
// total += sum_i seq[t+1]_i (y_i - lse).  Objective: -total / ((c-1) b).
//
// Gradient by hand (reverse sweep over t; bars are cotangents, s = -1/((c-1) b), G = sum gold):
//   ybar_i = s (gold_i - G exp(y_i) / (sum exp(y) + 2));
//   outWbar += ybar h'_{l-1}, outBbar += ybar, h'bar_{l-1} += ybar outW;
//   per layer, top down, with h'bar and c'bar (carried from step t+1 plus this step's):
//   tc = tanh(c'): obar = h'bar tc, c'bar += h'bar o (1 - tc^2);
//   fbar = c'bar c, gbar = c'bar k, kbar = c'bar g, cbar = c'bar f;
//   af = fbar f (1 - f): Wfbar += af u, bfbar += af, ubar += af Wf;  (o likewise with u)
//   ag = gbar g (1 - g): Wibar += ag h, bibar += ag, hbar += ag Wi;  (k: ak = kbar (1 - k^2))
//   ubar goes to the layer below's h'bar; for layer 0, inWbar += ubar seq[t].
//   hbar and cbar are the cotangents carried to step t-1's h' and c'.

const sigmoid = (v) => 1 / (1 + Math.exp(-v));

/** The objective alone. */
export function lstmObjective(l, c, b, main, extra, state, seq) {
  const hidden = new Float64Array(l * b);
  const cell = new Float64Array(l * b);
  for (let j = 0; j < l; j++) {
    hidden.set(state.subarray(2 * b * j, 2 * b * j + b), j * b);
    cell.set(state.subarray(2 * b * j + b, 2 * b * (j + 1)), j * b);
  }
  const u = new Float64Array(b);
  const y = new Float64Array(b);
  let total = 0;
  for (let t = 0; t < c - 1; t++) {
    for (let i = 0; i < b; i++) u[i] = seq[t * b + i] * extra[i];
    for (let j = 0; j < l; j++) {
      const p = 8 * b * j;
      for (let i = 0; i < b; i++) {
        const h = hidden[j * b + i];
        const f = sigmoid(u[i] * main[p + i] + main[p + 4 * b + i]);
        const g = sigmoid(h * main[p + b + i] + main[p + 5 * b + i]);
        const o = sigmoid(u[i] * main[p + 2 * b + i] + main[p + 6 * b + i]);
        const k = Math.tanh(h * main[p + 3 * b + i] + main[p + 7 * b + i]);
        const cn = cell[j * b + i] * f + g * k;
        cell[j * b + i] = cn;
        const hn = o * Math.tanh(cn);
        hidden[j * b + i] = hn;
        u[i] = hn;
      }
    }
    let sum = 0;
    for (let i = 0; i < b; i++) {
      y[i] = u[i] * extra[b + i] + extra[2 * b + i];
      sum += Math.exp(y[i]);
    }
    const lse = Math.log(sum + 2);
    for (let i = 0; i < b; i++) total += seq[(t + 1) * b + i] * (y[i] - lse);
  }
  return -total / ((c - 1) * b);
}

/**
 * The objective, with its gradient with respect to main (written into mainGrad, length 8 l b)
 * and extra (extraGrad, length 3 b). The forward sweep keeps each cell's gates and states.
 */
export function lstmValueAndGrad(l, c, b, main, extra, state, seq, mainGrad, extraGrad) {
  const steps = c - 1;
  const per = steps * l * b;
  // Per (t, layer, i): input u, previous h and c, gates f g o k, new c' and tanh(c').
  const U = new Float64Array(per), H = new Float64Array(per), C = new Float64Array(per);
  const F = new Float64Array(per), Gt = new Float64Array(per), O = new Float64Array(per);
  const K = new Float64Array(per), CN = new Float64Array(per), TC = new Float64Array(per);
  const HN = new Float64Array(steps * b); // the top layer's new hidden, per step
  const Y = new Float64Array(steps * b);
  const SUM = new Float64Array(steps);
  const hidden = new Float64Array(l * b);
  const cell = new Float64Array(l * b);
  for (let j = 0; j < l; j++) {
    hidden.set(state.subarray(2 * b * j, 2 * b * j + b), j * b);
    cell.set(state.subarray(2 * b * j + b, 2 * b * (j + 1)), j * b);
  }
  const u = new Float64Array(b);
  let total = 0;
  for (let t = 0; t < steps; t++) {
    for (let i = 0; i < b; i++) u[i] = seq[t * b + i] * extra[i];
    for (let j = 0; j < l; j++) {
      const p = 8 * b * j;
      const q = (t * l + j) * b;
      for (let i = 0; i < b; i++) {
        const h = hidden[j * b + i];
        const f = sigmoid(u[i] * main[p + i] + main[p + 4 * b + i]);
        const g = sigmoid(h * main[p + b + i] + main[p + 5 * b + i]);
        const o = sigmoid(u[i] * main[p + 2 * b + i] + main[p + 6 * b + i]);
        const k = Math.tanh(h * main[p + 3 * b + i] + main[p + 7 * b + i]);
        const cn = cell[j * b + i] * f + g * k;
        const tc = Math.tanh(cn);
        U[q + i] = u[i]; H[q + i] = h; C[q + i] = cell[j * b + i];
        F[q + i] = f; Gt[q + i] = g; O[q + i] = o; K[q + i] = k; CN[q + i] = cn; TC[q + i] = tc;
        cell[j * b + i] = cn;
        const hn = o * tc;
        hidden[j * b + i] = hn;
        u[i] = hn;
      }
    }
    let sum = 0;
    for (let i = 0; i < b; i++) {
      HN[t * b + i] = u[i];
      const yi = u[i] * extra[b + i] + extra[2 * b + i];
      Y[t * b + i] = yi;
      sum += Math.exp(yi);
    }
    SUM[t] = sum;
    const lse = Math.log(sum + 2);
    for (let i = 0; i < b; i++) total += seq[(t + 1) * b + i] * (Y[t * b + i] - lse);
  }
  const scale = -1 / (steps * b);

  mainGrad.fill(0);
  extraGrad.fill(0);
  const hbar = new Float64Array(l * b); // carried to step t-1's new hidden, per layer
  const cbar = new Float64Array(l * b);
  const down = new Float64Array(b); // h'bar of the current layer, then ubar going down
  for (let t = steps - 1; t >= 0; t--) {
    let gold = 0;
    for (let i = 0; i < b; i++) gold += seq[(t + 1) * b + i];
    const denom = SUM[t] + 2;
    for (let i = 0; i < b; i++) {
      const ybar = scale * (seq[(t + 1) * b + i] - (gold * Math.exp(Y[t * b + i])) / denom);
      extraGrad[b + i] += ybar * HN[t * b + i];
      extraGrad[2 * b + i] += ybar;
      down[i] = ybar * extra[b + i];
    }
    for (let j = l - 1; j >= 0; j--) {
      const p = 8 * b * j;
      const q = (t * l + j) * b;
      for (let i = 0; i < b; i++) {
        const r = j * b + i;
        const hb = down[i] + hbar[r];
        const o = O[q + i], tc = TC[q + i], f = F[q + i], g = Gt[q + i], k = K[q + i];
        const ob = hb * tc;
        const cb = cbar[r] + hb * o * (1 - tc * tc);
        const af = cb * C[q + i] * f * (1 - f);
        const ag = cb * k * g * (1 - g);
        const ao = ob * o * (1 - o);
        const ak = cb * g * (1 - k * k);
        const ui = U[q + i], hi = H[q + i];
        mainGrad[p + i] += af * ui;
        mainGrad[p + b + i] += ag * hi;
        mainGrad[p + 2 * b + i] += ao * ui;
        mainGrad[p + 3 * b + i] += ak * hi;
        mainGrad[p + 4 * b + i] += af;
        mainGrad[p + 5 * b + i] += ag;
        mainGrad[p + 6 * b + i] += ao;
        mainGrad[p + 7 * b + i] += ak;
        hbar[r] = ag * main[p + b + i] + ak * main[p + 3 * b + i];
        cbar[r] = cb * f;
        down[i] = af * main[p + i] + ao * main[p + 2 * b + i];
      }
    }
    for (let i = 0; i < b; i++) extraGrad[i] += down[i] * seq[t * b + i];
  }
  return scale * total;
}
