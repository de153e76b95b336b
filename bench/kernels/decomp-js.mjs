// Plain-JS implementations of the decomposition kernels' algorithms (assembly/decomp.ts),
// step for step, over typed arrays: the baseline of bench/kernels/decomp.mjs. That bench
// imports this module once per dtype (under different URLs), so each copy of every function
// sees one typed-array type and V8 optimises it monomorphically, as a single-dtype JS library
// would be.

const EPS = { f64: 2 ** -52, f32: 2 ** -23 };

function pow2Scale(m, single) {
  if (!(m > 0)) return 1;
  const limit = single ? 120 : 1000;
  return 2 ** -Math.min(Math.max(Math.floor(Math.log2(m)) + 1, -limit), limit);
}

function maxAbs(x, n) {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

function needsFlip(x, at, n, single) {
  let big = 0;
  for (let i = 0; i < n; i++) big = Math.max(big, Math.abs(x[at + i]));
  const cut = big * (1 - (single ? 2 ** -12 : 2 ** -26));
  for (let i = 0; i < n; i++) if (Math.abs(x[at + i]) >= cut) return x[at + i] < 0;
  return false;
}

function transposeInto(out, a, rows, cols) {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
}

function hypot(x, y) {
  const ax = Math.abs(x), ay = Math.abs(y);
  const big = Math.max(ax, ay);
  if (big === 0) return 0;
  const r = Math.min(ax, ay) / big;
  return big * Math.sqrt(1 + r * r);
}

// ---- plain-JS implementations, the kernels' algorithms step for step --------------------------

export function jsQr(a, q, r, work, m, n) {
  const k = Math.min(m, n);
  if (k === 0) return;
  const scale = pow2Scale(maxAbs(a, m * n), a instanceof Float32Array);
  for (let i = 0; i < m * n; i++) a[i] *= scale;
  const tau = n;
  for (let j = 0; j < k; j++) {
    const alpha = a[j * n + j];
    let sigma = 0;
    for (let i = j + 1; i < m; i++) sigma += a[i * n + j] * a[i * n + j];
    if (sigma === 0) { work[tau + j] = 0; continue; }
    const norm = Math.sqrt(alpha * alpha + sigma);
    const beta = alpha >= 0 ? -norm : norm;
    const toV = 1 / (alpha - beta);
    for (let i = j + 1; i < m; i++) a[i * n + j] *= toV;
    const t = (beta - alpha) / beta;
    work[tau + j] = t;
    a[j * n + j] = beta;
    for (let c = j + 1; c < n; c++) work[c] = a[j * n + c];
    for (let i = j + 1; i < m; i++) {
      const vi = a[i * n + j];
      if (vi !== 0) for (let c = j + 1; c < n; c++) work[c] += vi * a[i * n + c];
    }
    for (let c = j + 1; c < n; c++) a[j * n + c] -= t * work[c];
    for (let i = j + 1; i < m; i++) {
      const f = t * a[i * n + j];
      if (f !== 0) for (let c = j + 1; c < n; c++) a[i * n + c] -= f * work[c];
    }
  }
  q.fill(0, 0, m * k);
  for (let j = 0; j < k; j++) q[j * k + j] = 1;
  for (let j = k - 1; j >= 0; j--) {
    const t = work[tau + j];
    if (t === 0) continue;
    for (let c = j; c < k; c++) work[c] = q[j * k + c];
    for (let i = j + 1; i < m; i++) {
      const vi = a[i * n + j];
      if (vi !== 0) for (let c = j; c < k; c++) work[c] += vi * q[i * k + c];
    }
    for (let c = j; c < k; c++) q[j * k + c] -= t * work[c];
    for (let i = j + 1; i < m; i++) {
      const f = t * a[i * n + j];
      if (f !== 0) for (let c = j; c < k; c++) q[i * k + c] -= f * work[c];
    }
  }
  for (let j = 0; j < k; j++) {
    let f = 1 / scale;
    if (a[j * n + j] < 0) {
      f = -f;
      for (let i = 0; i < m; i++) q[i * k + j] = -q[i * k + j];
    }
    for (let c = 0; c < n; c++) r[j * n + c] = c < j ? 0 : a[j * n + c] * f;
  }
}

export function jsEigh(a, w, v, work, n) {
  if (n === 0) return 0;
  const single = a instanceof Float32Array;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a[i * n + j] = a[j * n + i];
  const scale = pow2Scale(maxAbs(a, n * n), single);
  for (let i = 0; i < n * n; i++) a[i] *= scale;
  const E = 0, B = n, P = 2 * n;
  for (let k = 0; k < n - 2; k++) {
    const x = k * n + k + 1;
    const len = n - k - 1;
    w[k] = a[k * n + k];
    const alpha = a[x];
    let sigma = 0;
    for (let i = 1; i < len; i++) sigma += a[x + i] * a[x + i];
    if (sigma === 0) { work[B + k] = 0; work[E + k] = alpha; continue; }
    const norm = Math.sqrt(alpha * alpha + sigma);
    const mu = alpha >= 0 ? -norm : norm;
    const v0 = alpha - mu;
    a[x] = v0;
    const beta = 2 / (v0 * v0 + sigma);
    work[B + k] = beta;
    work[E + k] = mu;
    const b0 = (k + 1) * n + k + 1;
    for (let i = 0; i < len; i++) {
      let s = 0;
      for (let c = 0; c < len; c++) s += a[b0 + i * n + c] * a[x + c];
      work[P + i] = beta * s;
    }
    let pv = 0;
    for (let c = 0; c < len; c++) pv += work[P + c] * a[x + c];
    const K = beta * 0.5 * pv;
    for (let c = 0; c < len; c++) work[P + c] -= K * a[x + c];
    for (let i = 0; i < len; i++) {
      const vi = a[x + i], pi = work[P + i];
      const bi = b0 + i * n;
      for (let c = 0; c < len; c++) a[bi + c] -= vi * work[P + c] + pi * a[x + c];
    }
  }
  if (n >= 2) {
    w[n - 2] = a[(n - 2) * n + n - 2];
    work[E + n - 2] = a[(n - 2) * n + n - 1];
  }
  w[n - 1] = a[n * n - 1];
  v.fill(0, 0, n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let k = n - 3; k >= 0; k--) {
    const beta = work[B + k];
    if (beta === 0) continue;
    const x = k * n + k + 1, len = n - k - 1, q0 = (k + 1) * n + k + 1;
    work.fill(0, P, P + len);
    for (let i = 0; i < len; i++) {
      const vi = a[x + i];
      for (let c = 0; c < len; c++) work[P + c] += vi * v[q0 + i * n + c];
    }
    for (let i = 0; i < len; i++) {
      const f = beta * a[x + i];
      for (let c = 0; c < len; c++) v[q0 + i * n + c] -= f * work[P + c];
    }
  }
  transposeInto(a, v, n, n);
  const eps = single ? EPS.f32 : EPS.f64;
  const safe = single ? 1.1754943508222875e-38 : 2.2250738585072014e-308;
  const negligible = (i) => {
    const e = Math.abs(work[E + i]);
    return e <= eps * (Math.abs(w[i]) + Math.abs(w[i + 1])) || e < safe;
  };
  let hi = n - 1, steps = 0;
  while (hi > 0) {
    if (negligible(hi - 1)) { work[E + hi - 1] = 0; hi--; continue; }
    let lo = hi - 1;
    while (lo > 0 && !negligible(lo - 1)) lo--;
    if (lo > 0) work[E + lo - 1] = 0;
    if (++steps > 30 * n) return 1;
    if (hi - lo === 1) {
      const a0 = w[lo], c0 = w[lo + 1], b0 = work[E + lo];
      const sum = a0 + c0;
      const rr = hypot(a0 - c0, 2 * b0);
      const rt1 = sum < 0 ? (sum - rr) * 0.5 : (sum + rr) * 0.5;
      const big = Math.abs(a0) > Math.abs(c0) ? a0 : c0;
      const small = Math.abs(a0) > Math.abs(c0) ? c0 : a0;
      const rt2 = (big / rt1) * small - (b0 / rt1) * b0;
      let x = rt1 - c0, y = b0;
      if (Math.abs(b0) + Math.abs(rt1 - a0) > Math.abs(x) + Math.abs(y)) { x = b0; y = rt1 - a0; }
      const len = hypot(x, y);
      w[lo] = rt1;
      w[lo + 1] = rt2;
      work[E + lo] = 0;
      const c = x / len, s = y / len, r0 = lo * n, r1 = r0 + n;
      for (let i = 0; i < n; i++) {
        const p = a[r0 + i], o = a[r1 + i];
        a[r0 + i] = c * p + s * o;
        a[r1 + i] = c * o - s * p;
      }
      continue;
    }
    const dHi = w[hi], eHi = work[E + hi - 1];
    const delta = (w[hi - 1] - dHi) * 0.5;
    const h = hypot(delta, eHi);
    const mu = dHi - eHi * (eHi / (delta >= 0 ? delta + h : delta - h));
    let x = w[lo] - mu, z = work[E + lo];
    for (let k = lo; k < hi; k++) {
      const rr = hypot(x, z);
      let c = 1, s = 0;
      if (rr !== 0) { c = x / rr; s = z / rr; }
      if (k > lo) work[E + k - 1] = rr;
      const dk = w[k], dk1 = w[k + 1], ek = work[E + k];
      const cs2ek = 2 * c * s * ek;
      w[k] = c * c * dk + cs2ek + s * s * dk1;
      w[k + 1] = s * s * dk - cs2ek + c * c * dk1;
      work[E + k] = c * s * (dk1 - dk) + (c * c - s * s) * ek;
      if (k + 1 < hi) {
        const next = work[E + k + 1];
        z = s * next;
        work[E + k + 1] = c * next;
        x = work[E + k];
      }
      const r0 = k * n, r1 = r0 + n;
      for (let i = 0; i < n; i++) {
        const p = a[r0 + i], o = a[r1 + i];
        a[r0 + i] = c * p + s * o;
        a[r1 + i] = c * o - s * p;
      }
    }
  }
  for (let i = 0; i < n - 1; i++) {
    let best = i;
    for (let j = i + 1; j < n; j++) if (w[j] < w[best]) best = j;
    if (best !== i) {
      [w[i], w[best]] = [w[best], w[i]];
      for (let c = 0; c < n; c++) [a[i * n + c], a[best * n + c]] = [a[best * n + c], a[i * n + c]];
    }
  }
  for (let i = 0; i < n; i++) if (needsFlip(a, i * n, n, single)) for (let c = 0; c < n; c++) a[i * n + c] = -a[i * n + c];
  transposeInto(v, a, n, n);
  for (let i = 0; i < n; i++) w[i] /= scale;
  return 0;
}

export function jsSvd(a, u, s, vt, work, m, n) {
  const k = Math.min(m, n), q = Math.max(m, n);
  if (k === 0) return 0;
  const single = a instanceof Float32Array;
  const scale = pow2Scale(maxAbs(a, m * n), single);
  const G = k * q;
  if (m >= n) transposeInto(work, a, m, n);
  else work.set(a.subarray(0, m * n));
  for (let i = 0; i < m * n; i++) work[i] *= scale;
  work.fill(0, G, G + k * k);
  for (let i = 0; i < k; i++) work[G + i * k + i] = 1;
  const eps = single ? EPS.f32 : EPS.f64;
  const tol = eps * Math.sqrt(q), big = 1 / Math.sqrt(eps);
  let sweeps = 0, rotated = true;
  while (rotated) {
    if (++sweeps > 64) return 1;
    rotated = false;
    for (let i = 0; i < k - 1; i++) {
      const wi = i * q;
      for (let j = i + 1; j < k; j++) {
        const wj = j * q;
        let gamma = 0;
        for (let c = 0; c < q; c++) gamma += work[wi + c] * work[wj + c];
        if (gamma === 0) continue;
        let alpha = 0, beta = 0;
        for (let c = 0; c < q; c++) alpha += work[wi + c] * work[wi + c];
        for (let c = 0; c < q; c++) beta += work[wj + c] * work[wj + c];
        if (Math.abs(gamma) <= tol * Math.sqrt(alpha) * Math.sqrt(beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const az = Math.abs(zeta);
        const t = (zeta >= 0 ? 1 : -1) / (az + (az > big ? az : Math.sqrt(1 + az * az)));
        const c = 1 / Math.sqrt(1 + t * t), sn = c * t;
        for (let p = 0; p < q; p++) {
          const x = work[wi + p], y = work[wj + p];
          work[wi + p] = c * x - sn * y;
          work[wj + p] = c * y + sn * x;
        }
        const gi = G + i * k, gj = G + j * k;
        for (let p = 0; p < k; p++) {
          const x = work[gi + p], y = work[gj + p];
          work[gi + p] = c * x - sn * y;
          work[gj + p] = c * y + sn * x;
        }
      }
    }
  }
  for (let i = 0; i < k; i++) {
    let ss = 0;
    for (let c = 0; c < q; c++) ss += work[i * q + c] * work[i * q + c];
    s[i] = Math.sqrt(ss);
  }
  for (let i = 0; i < k - 1; i++) {
    let best = i;
    for (let j = i + 1; j < k; j++) if (s[j] > s[best]) best = j;
    if (best !== i) {
      [s[i], s[best]] = [s[best], s[i]];
      for (let c = 0; c < q; c++) [work[i * q + c], work[best * q + c]] = [work[best * q + c], work[i * q + c]];
      for (let c = 0; c < k; c++) [work[G + i * k + c], work[G + best * k + c]] = [work[G + best * k + c], work[G + i * k + c]];
    }
  }
  // Random inputs have no zero singular values, so the bench never needs the completion step.
  for (let i = 0; i < k; i++) for (let c = 0; c < q; c++) work[i * q + c] /= s[i];
  for (let i = 0; i < k; i++) {
    if (m >= n ? needsFlip(work, G + i * k, k, single) : needsFlip(work, i * q, q, single)) {
      for (let c = 0; c < q; c++) work[i * q + c] = -work[i * q + c];
      for (let c = 0; c < k; c++) work[G + i * k + c] = -work[G + i * k + c];
    }
  }
  if (m >= n) {
    transposeInto(u, work, k, m);
    vt.set(work.subarray(G, G + k * k));
  } else {
    transposeInto(u, work.subarray(G), k, k);
    vt.set(work.subarray(0, k * q));
  }
  for (let i = 0; i < k; i++) s[i] /= scale;
  return 0;
}
