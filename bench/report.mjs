// Renders bench results ({meta, suites: [{id, title, status, rows, ...}]}) as one
// self-contained HTML page: inline CSS and inline SVG charts, no scripts, no external assets.
// Pure string building with no Node imports, so the browser page (bench/browser/) uses it too.
//
// Suites written elsewhere (kernels, checkpoint, sparse) return rows of their own shape; their
// charts pick fields by name: a `ratio`/`speedup` field becomes bars, bytes-like against
// time-like fields becomes a memory-against-time scatter, and every row is in a table.

const colors = { fwd: '#1f77b4', rev: '#d62728', auto: '#2ca02c', dualtape: '#1f77b4', tfjs: '#ff7f0e', jax: '#9467bd', jaxJit: '#8c564b' };
const palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export const reportStyle = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1180px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 36px; border-bottom: 1px solid #ddd; } h3 { font-size: 15px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg { background: #fff; border: 1px solid #e4e4e4; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg .title { font-size: 12px; font-weight: 600; }
table { border-collapse: collapse; font-size: 12px; margin: 8px 0; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: right; } th { background: #f4f4f4; }
td.s, th.s { text-align: left; }
.note { color: #555; } .bad { color: #b00; } .ok { color: #070; }
details { margin: 8px 0; }
`;

export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

export function fmt(v) {
  if (typeof v !== 'number') return v === undefined || v === null ? '' : String(v);
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2).replace('e+', 'e');
  if (Number.isInteger(v)) return String(v);
  return v.toPrecision(a >= 100 ? 4 : 3);
}

// ---------- crossover analysis (shared with the forward-vs-reverse suite) ----------

/**
 * Where forward and reverse cost the same, per test function and input size n: the output
 * size m at which log(fwd/rev) changes sign, interpolated on log m.
 */
export function crossovers(rows) {
  const out = [];
  const byKey = new Map();
  for (const r of rows) {
    if (!Number.isFinite(r.fwdMs) || !Number.isFinite(r.revMs)) continue;
    const key = `${r.fn}|${r.n}`;
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(r);
  }
  for (const list of byKey.values()) {
    list.sort((a, b) => a.m - b.m);
    const { fn, n } = list[0];
    const logRatio = list.map((r) => Math.log(r.fwdMs / r.revMs));
    let m = null;
    for (let i = 0; i + 1 < list.length && m === null; i++) {
      if (logRatio[i] > 0 && logRatio[i + 1] <= 0) {
        const t = logRatio[i] / (logRatio[i] - logRatio[i + 1]);
        m = Math.exp(Math.log(list[i].m) + t * (Math.log(list[i + 1].m) - Math.log(list[i].m)));
      }
    }
    const text = m !== null ? `forward wins from m ≈ ${fmt(m)} (auto switches at m = ${n})`
      : logRatio.every((v) => v <= 0) ? `forward faster at every m measured (${list[0].m} to ${list.at(-1).m})`
        : logRatio.every((v) => v > 0) ? `reverse faster at every m measured (${list[0].m} to ${list.at(-1).m})`
          : 'no single crossover (timings noisy)';
    out.push({ fn, n, m, text });
  }
  return out;
}

// ---------- SVG charts ----------

function extent(values, log) {
  const v = values.filter((x) => Number.isFinite(x) && (!log || x > 0));
  if (v.length === 0) return log ? [1, 10] : [0, 1];
  let lo = Math.min(...v);
  let hi = Math.max(...v);
  if (log) return lo === hi ? [lo / 2, hi * 2] : [lo / 1.25, hi * 1.25];
  if (lo === hi) return [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.05;
  return [lo > 0 && lo - pad < 0 ? 0 : lo - pad, hi + pad];
}

function scale([d0, d1], [r0, r1], log) {
  const f = log ? Math.log10 : (x) => x;
  const a = f(d0);
  const b = f(d1);
  return (x) => r0 + ((f(x) - a) / (b - a || 1)) * (r1 - r0);
}

function ticks([lo, hi], log) {
  if (log) {
    const out = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= lo && v <= hi) out.push({ v, major: m === 1 });
      }
    }
    return out.length > 8 ? out.filter((t) => t.major) : out;
  }
  const step = 10 ** Math.floor(Math.log10((hi - lo) / 5 || 1));
  const nice = [1, 2, 5, 10].map((k) => k * step).find((s) => (hi - lo) / s <= 6) ?? step * 10;
  const out = [];
  for (let v = Math.ceil(lo / nice) * nice; v <= hi + 1e-12; v += nice) out.push({ v: Number(v.toPrecision(12)), major: true });
  return out;
}

const dashArray = (dash) => (dash ? ' stroke-dasharray="5 3"' : '');

/**
 * Lines (or points) over x. series: [{name, color, dash, points: [[x, y, label?]], noLine}];
 * vlines: [{x, color, dash, label}]; hlines: [{y, color, dash, label}].
 */
export function lineChart({ title, series, xLabel = '', yLabel = '', xLog = true, yLog = true, vlines = [], hlines = [], width = 420, height = 250 }) {
  const legendChars = Math.min(28, Math.max(8, ...series.map((x) => x.name.length)));
  const m = { l: 58, r: 30 + 6 * legendChars, t: 24, b: 40 };
  width += m.r - 86;
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).concat(vlines.map((v) => v.x));
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).concat(hlines.map((h) => h.y));
  const xd = extent(xs, xLog);
  const yd = extent(ys, yLog);
  const X = scale(xd, [m.l, width - m.r], xLog);
  const Y = scale(yd, [height - m.b, m.t], yLog);
  const parts = [`<text class="title" x="${m.l}" y="15">${escapeHtml(title)}</text>`];
  for (const t of ticks(xd, xLog)) {
    parts.push(`<line x1="${X(t.v)}" x2="${X(t.v)}" y1="${m.t}" y2="${height - m.b}" stroke="#eee"/>`);
    if (t.major || !xLog) parts.push(`<text x="${X(t.v)}" y="${height - m.b + 13}" text-anchor="middle">${fmt(t.v)}</text>`);
  }
  for (const t of ticks(yd, yLog)) {
    parts.push(`<line x1="${m.l}" x2="${width - m.r}" y1="${Y(t.v)}" y2="${Y(t.v)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.l - 4}" y="${Y(t.v) + 4}" text-anchor="end">${fmt(t.v)}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${width - m.l - m.r}" height="${height - m.t - m.b}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${(m.l + width - m.r) / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(xLabel)}</text>`);
  parts.push(`<text transform="translate(12 ${(m.t + height - m.b) / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(yLabel)}</text>`);
  for (const v of vlines) {
    if (!Number.isFinite(v.x) || (xLog && v.x <= 0)) continue;
    parts.push(`<line x1="${X(v.x)}" x2="${X(v.x)}" y1="${m.t}" y2="${height - m.b}" stroke="${v.color}" stroke-width="1.5"${dashArray(v.dash)}/>`);
    const right = X(v.x) > m.l + 0.6 * (width - m.l - m.r);
    if (v.label) parts.push(`<text x="${X(v.x) + (right ? -3 : 3)}" y="${v.bottom ? height - m.b - 4 : m.t + 11}" text-anchor="${right ? 'end' : 'start'}" style="fill:${v.color}">${escapeHtml(v.label)}</text>`);
  }
  for (const h of hlines) {
    parts.push(`<line x1="${m.l}" x2="${width - m.r}" y1="${Y(h.y)}" y2="${Y(h.y)}" stroke="${h.color}"${dashArray(h.dash)}/>`);
    if (h.label) parts.push(`<text x="${width - m.r - 3}" y="${Y(h.y) - 3}" text-anchor="end" style="fill:${h.color}">${escapeHtml(h.label)}</text>`);
  }
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!xLog || p[0] > 0) && (!yLog || p[1] > 0));
    if (!s.noLine && pts.length > 1) {
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.8"${dashArray(s.dash)} points="${pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ')}"/>`);
    }
    for (const p of pts) {
      parts.push(`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="2.8" fill="${s.color}"><title>${escapeHtml(`${s.name}: ${fmt(p[0])}, ${fmt(p[1])}${p[2] ? ` (${p[2]})` : ''}`)}</title></circle>`);
      if (p[2] && s.labelPoints) parts.push(`<text x="${X(p[0]) + 4}" y="${Y(p[1]) - 4}" style="fill:${s.color}">${escapeHtml(p[2])}</text>`);
    }
    const ly = m.t + i * 14;
    parts.push(`<line x1="${width - m.r + 6}" x2="${width - m.r + 22}" y1="${ly + 6}" y2="${ly + 6}" stroke="${s.color}" stroke-width="2"${dashArray(s.dash)}/>`);
    parts.push(`<text x="${width - m.r + 25}" y="${ly + 10}">${escapeHtml(s.name.slice(0, 28))}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

/**
 * Horizontal grouped bars. groups: [{label, bars: [{name, value, color, note}]}]; `ref` draws
 * a vertical reference line (1 for ratios), `targets` per group label a marker.
 */
export function barChart({ title, groups, xLabel = '', log = false, ref, width = 600 }) {
  const rowH = 16;
  const longest = Math.max(8, ...groups.map((g) => String(g.label).length));
  const m = { l: Math.min(360, 14 + 6.2 * longest), r: 120, t: 24, b: 34 };
  width = Math.max(width, m.l + m.r + 200);
  const nBars = groups.reduce((acc, g) => acc + Math.max(1, g.bars.length), 0);
  const height = m.t + m.b + nBars * rowH + groups.length * 6;
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).concat(groups.map((g) => g.target)).concat(ref === undefined ? [] : [ref]);
  const d = extent(log ? values : values.concat([0]), log);
  const X = scale(d, [m.l, width - m.r], log);
  const x0 = log ? m.l : X(Math.max(0, d[0]));
  const parts = [`<text class="title" x="8" y="15">${escapeHtml(title)}</text>`];
  for (const t of ticks(d, log)) {
    parts.push(`<line x1="${X(t.v)}" x2="${X(t.v)}" y1="${m.t}" y2="${height - m.b}" stroke="#eee"/>`);
    if (t.major || !log) parts.push(`<text x="${X(t.v)}" y="${height - m.b + 13}" text-anchor="middle">${fmt(t.v)}</text>`);
  }
  parts.push(`<text x="${(m.l + width - m.r) / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(xLabel)}</text>`);
  let y = m.t;
  for (const g of groups) {
    const top = y;
    parts.push(`<text x="${m.l - 6}" y="${y + 12}" text-anchor="end">${escapeHtml(g.label)}</text>`);
    for (const b of g.bars) {
      if (Number.isFinite(b.value) && (!log || b.value > 0)) {
        const xv = X(b.value);
        parts.push(`<rect x="${Math.min(x0, xv)}" y="${y + 2}" width="${Math.max(1, Math.abs(xv - x0))}" height="${rowH - 4}" fill="${b.color}"><title>${escapeHtml(`${b.name}: ${fmt(b.value)}`)}</title></rect>`);
        parts.push(`<text x="${Math.max(x0, xv) + 3}" y="${y + 12}">${escapeHtml(`${fmt(b.value)}${b.note ? ` ${b.note}` : ''}`)}</text>`);
      } else {
        parts.push(`<text x="${x0 + 3}" y="${y + 12}" class="bad" style="fill:#b00">${escapeHtml(b.note ?? 'n/a')}</text>`);
      }
      y += rowH;
    }
    if (g.bars.length === 0) y += rowH;
    if (Number.isFinite(g.target)) {
      parts.push(`<line x1="${X(g.target)}" x2="${X(g.target)}" y1="${top}" y2="${y}" stroke="#000" stroke-width="2"><title>target ${fmt(g.target)}</title></line>`);
    }
    y += 6;
  }
  if (ref !== undefined) parts.push(`<line x1="${X(ref)}" x2="${X(ref)}" y1="${m.t}" y2="${height - m.b}" stroke="#555" stroke-dasharray="4 3"/>`);
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${height - m.b}" stroke="#999"/>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

/** Cells colored by log2(fwd/rev) (blue: forward faster); outlined where auto chose the slower mode. */
function ratioHeatmap(title, rows) {
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const ms = [...new Set(rows.map((r) => r.m))].sort((a, b) => a - b);
  const c = 46;
  const m = { l: 58, t: 30, r: 12, b: 40 };
  const width = Math.max(m.l + ms.length * c + m.r, 290);
  const height = m.t + ns.length * c + m.b;
  const parts = [`<text class="title" x="8" y="15">${escapeHtml(title)}</text>`];
  ns.forEach((n, i) => {
    const y = m.t + (ns.length - 1 - i) * c;
    parts.push(`<text x="${m.l - 4}" y="${y + c / 2 + 4}" text-anchor="end">${n}</text>`);
    ms.forEach((mm, j) => {
      const r = rows.find((row) => row.n === n && row.m === mm);
      const x = m.l + j * c;
      if (!r) return;
      const ratio = r.fwdMs / r.revMs;
      const t = Math.max(-1, Math.min(1, Math.log2(ratio) / 3));
      const shade = (v) => Math.round(255 - Math.abs(t) * (255 - v));
      const fill = t < 0 ? `rgb(${shade(31)},${shade(119)},${shade(180)})` : `rgb(${shade(214)},${shade(39)},${shade(40)})`;
      const wrong = r.autoMode !== r.faster;
      parts.push(`<rect x="${x}" y="${y}" width="${c - 2}" height="${c - 2}" fill="${fill}" stroke="${wrong ? '#000' : 'none'}" stroke-width="2"><title>${escapeHtml(`n=${n} m=${mm}: fwd ${fmt(r.fwdMs)} ms, rev ${fmt(r.revMs)} ms, auto chose ${r.autoMode}`)}</title></rect>`);
      parts.push(`<text x="${x + c / 2 - 1}" y="${y + c / 2 + 4}" text-anchor="middle">${fmt(ratio)}</text>`);
    });
  });
  ms.forEach((mm, j) => parts.push(`<text x="${m.l + j * c + c / 2}" y="${height - m.b + 14}" text-anchor="middle">${mm}</text>`));
  parts.push(`<text x="${width / 2}" y="${height - 8}" text-anchor="middle">m (outputs); cell = fwd time / rev time</text>`);
  parts.push(`<text transform="translate(12 ${m.t + (ns.length * c) / 2}) rotate(-90)" text-anchor="middle">n (inputs)</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

// ---------- tables ----------

export function table(rows, columns) {
  if (rows.length === 0) return '<p class="note">no rows</p>';
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const isText = (k) => rows.every((r) => typeof r[k] !== 'number');
  const head = cols.map((k) => `<th class="${isText(k) ? 's' : ''}">${escapeHtml(k)}</th>`).join('');
  const body = rows.map((r) => `<tr>${cols.map((k) => `<td class="${typeof r[k] === 'number' ? '' : 's'}">${escapeHtml(typeof r[k] === 'object' && r[k] !== null ? JSON.stringify(r[k]) : fmt(r[k]))}</td>`).join('')}</tr>`).join('');
  return `<table><tr>${head}</tr>${body}</table>`;
}

// ---------- sections ----------

function forwardVsReverse(suite) {
  const rows = suite.rows.filter((r) => Number.isFinite(r.fwdMs));
  const out = [];
  const cross = crossovers(rows);
  for (const fn of [...new Set(rows.map((r) => r.fn))]) {
    const fr = rows.filter((r) => r.fn === fn);
    const label = fn === 'dense' ? 'dense layer tanh(W x), W m x n' : 'elementwise chain R^n -> R^m';
    const agree = fr.filter((r) => r.autoMode === r.faster).length;
    out.push(`<h3>${escapeHtml(label)}</h3><p class="note">auto chose the faster mode in ${agree} of ${fr.length} cells (outlined cells: it did not).</p>`);
    const charts = [ratioHeatmap(`${fn}: fwd / rev time`, fr)];
    for (const n of [...new Set(fr.map((r) => r.n))].sort((a, b) => a - b)) {
      const nr = fr.filter((r) => r.n === n).sort((a, b) => a.m - b.m);
      const c = cross.find((x) => x.fn === fn && x.n === n);
      charts.push(lineChart({
        title: `${fn}, n = ${n}`, xLabel: 'm (outputs)', yLabel: 'time (ms)',
        series: [
          { name: 'jacfwd', color: colors.fwd, points: nr.map((r) => [r.m, r.fwdMs]) },
          { name: 'jacrev', color: colors.rev, points: nr.map((r) => [r.m, r.revMs]) },
          { name: 'auto', color: colors.auto, dash: true, points: nr.map((r) => [r.m, r.autoMs]) },
        ],
        vlines: [
          ...(c?.m ? [{ x: c.m, color: '#000', label: `crossover ${fmt(c.m)}` }] : []),
          { x: n, color: colors.auto, dash: true, label: 'auto: m = n', bottom: true },
        ],
      }));
    }
    out.push(`<div class="charts">${charts.join('')}</div>`);
    out.push(`<ul>${cross.filter((c) => c.fn === fn).map((c) => `<li>n = ${c.n}: ${escapeHtml(c.text)}</li>`).join('')}</ul>`);
  }
  return out.join('');
}

const ratioTitles = {
  'jvp/f': 'jvp(f) time / f time (black marks: targets)',
  'grad/f': 'valueAndGrad(f) time / f time (black marks: targets)',
  speedup: 'jacfwd: one direction per pass / chunked (black mark: target)',
  time: 'absolute time (black marks: targets)',
  tape: 'tape bytes per recorded op (peakBytes during grad / ops)',
  'per-op': 'time per op, per equation or per kernel call',
  overhead: 'time per op beyond the bare wasm kernel',
  'jit/eager': 'jit time / eager time (below 1: jit faster)',
  'vs-plain': 'time / hand-written plain JS (the physical limit on one core)',
  staging: 'jit: trace, and first call after the trace (memory plan + run)',
  'tape-heap': 'JS heap bytes per recorded op (after gc, inside f; black mark: target)',
  'tape-wasm': 'wasm bytes per recorded op (peak during f)',
  'tape-10M': '10,000,000-op scalar tape under valueAndGrad in the default heap: wall time',
  'tape-10M-rss': '10,000,000-op scalar tape: peak RSS',
};

function ratios(suite) {
  const charts = [];
  const keys = [...new Set(suite.rows.map((r) => `${r.metric}|${r.unit}`))];
  for (const key of keys) {
    const [metric, unit] = key.split('|');
    const sel = suite.rows.filter((r) => r.metric === metric && r.unit === unit);
    charts.push(barChart({
      title: ratioTitles[metric] ?? metric, xLabel: unit === 'x' ? 'ratio' : unit,
      groups: sel.map((r) => ({ label: r.name, target: r.target, bars: [{ name: r.name, value: r.value, color: palette[0], note: unit }] })),
    }));
  }
  return `<div class="charts">${charts.join('')}</div>`;
}

function peers(suite) {
  const status = suite.rows.filter((r) => r.kind === 'peer');
  const cases = suite.rows.filter((r) => r.kind === 'case');
  const notes = status.map((s) => `<li class="${s.status === 'ok' ? 'ok' : 'bad'}">${escapeHtml(`${s.name} ${s.version}: ${s.status}${s.error ? ` (${s.error})` : ''}`)}</li>`).join('');
  const bars = barChart({
    title: 'dualtape time / peer time (left of the dashed line: dualtape faster)', xLabel: 'ratio (log scale)', log: true, ref: 1, width: 620,
    groups: cases.map((r) => ({
      label: r.name,
      bars: [['tfjs', 'vs TensorFlow.js'], ['jax', 'vs jax-js'], ['jaxJit', 'vs jax-js jit']]
        .filter(([k]) => r[`${k}Ms`] !== undefined || r[`${k}Error`])
        .map(([k, name]) => ({ name, color: colors[k], value: r[`vs${k[0].toUpperCase()}${k.slice(1)}`], note: r[`${k}Error`] ? 'failed' : name })),
    })),
  });
  const lse = cases.filter((r) => r.group === 'logsumexp');
  const lseChart = lse.length > 1 ? lineChart({
    title: 'grad of logsumexp', xLabel: 'n', yLabel: 'time (ms)',
    series: [['dualtape', 'dualtape'], ['tfjs', 'TensorFlow.js'], ['jax', 'jax-js']].map(([k, name]) => ({ name, color: colors[k], points: lse.map((r) => [r.size, r[`${k}Ms`]]) })),
  }) : '';
  return `<ul>${notes}</ul><div class="charts">${bars}${lseChart}</div>`;
}

const numericKeys = (rows, re) => [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => re.test(k) && rows.some((r) => typeof r[k] === 'number'));
const sizeKeyPattern = /^(n|size|elements|length|steps)$/i;
const isLabelKey = (k) => !/error|note|unit|file/i.test(k);

/** The row's distinguishing fields as a short label; fields equal in every row are left out. */
function rowLabel(row, constant = new Set()) {
  const parts = [];
  for (const [k, v] of Object.entries(row)) {
    if (constant.has(k)) continue;
    if (typeof v === 'string' && isLabelKey(k)) parts.push(v);
    else if (typeof v === 'number' && /^(n|m|k|size|elements|steps|layers|length|snapshots|budget)$/i.test(k)) parts.push(`${k}=${fmt(v)}`);
  }
  return parts.join(' ') || JSON.stringify(row).slice(0, 40);
}

/** The row's text fields joined: the series a row belongs to when plotting against size. */
const seriesLabel = (row) => Object.entries(row).filter(([k, v]) => typeof v === 'string' && isLabelKey(k)).map(([, v]) => v).join(' ') || 'rows';

/** Charts guessed from field names, for suites whose row shape this file does not define. */
function genericCharts(suite) {
  const rows = suite.rows.filter((r) => r && typeof r === 'object');
  const allKeys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const constant = new Set(rows.length > 1 ? allKeys.filter((k) => rows.every((r) => r[k] === rows[0][k])) : []);
  const label = (r) => rowLabel(r, constant);
  const charts = [];
  const memKey = numericKeys(rows, /bytes|memory|mem/i)[0];
  const timeKeys = numericKeys(rows, /(ms|time|seconds|us)$|^(ms|time|mean)/i);
  const rateKeys = numericKeys(rows, /gflop|gbps|gb.*sec|persec|throughput/i);
  const sizeKey = numericKeys(rows, sizeKeyPattern)[0];
  if (memKey && timeKeys[0]) {
    const groups = [...new Set(rows.map(seriesLabel))];
    charts.push(lineChart({
      title: 'memory against time', xLabel: memKey, yLabel: timeKeys[0], width: 560, height: 320,
      series: groups.map((g, i) => ({
        name: g, color: palette[i % palette.length], labelPoints: rows.length <= 12,
        points: rows.filter((r) => seriesLabel(r) === g).map((r) => [r[memKey], r[timeKeys[0]], label(r)]).sort((a, b) => a[0] - b[0]),
      })),
    }));
  }
  if (sizeKey && !constant.has(sizeKey)) {
    for (const keys of [timeKeys.slice(0, 1), rateKeys].filter((k) => k.length)) {
      const series = [];
      for (const key of keys) {
        for (const g of [...new Set(rows.filter((r) => typeof r[key] === 'number').map(seriesLabel))]) {
          const points = rows.filter((r) => seriesLabel(r) === g && typeof r[key] === 'number' && typeof r[sizeKey] === 'number').map((r) => [r[sizeKey], r[key]]).sort((a, b) => a[0] - b[0]);
          if (points.length) series.push({ name: keys.length > 1 ? `${g} ${key}` : g, color: palette[series.length % palette.length], dash: keys.indexOf(key) > 0, points });
        }
      }
      if (series.length && series.length <= palette.length) {
        charts.push(lineChart({ title: `${keys.join(', ')} against ${sizeKey}`, xLabel: sizeKey, yLabel: keys.join(', '), series, width: 620, height: 300 }));
      }
    }
  }
  const ratioKey = numericKeys(rows, /ratio|speedup/i)[0];
  if (ratioKey) {
    charts.push(barChart({
      title: ratioKey, xLabel: `${ratioKey} (log scale)`, log: true, ref: 1,
      groups: rows.filter((r) => typeof r[ratioKey] === 'number').map((r) => ({ label: label(r), bars: [{ name: ratioKey, value: r[ratioKey], color: palette[0] }] })),
    }));
  }
  return charts.length ? `<div class="charts">${charts.join('')}</div>` : '';
}

/**
 * The field suite: its table (hand-written JS, eager, jit and their ratios, trace + plan time)
 * and the ratios as bars; when the jit suite ran in the same report, its MLP jit/eager rows
 * (the large-kernel case, where eager is at the kernel limit) join the table.
 */
function field(suite, results) {
  const work = suite.rows.filter((r) => r.kind === 'workload');
  const mlp = (results?.suites ?? []).find((s) => s.id === 'jit' && s.status === 'ok')?.rows.filter((r) => r.metric === 'jit/eager' && /^MLP/.test(r.name)) ?? [];
  const ms = (v) => (Number.isFinite(v) ? `${fmt(v)} ms` : '');
  const x = (v) => (Number.isFinite(v) ? `${fmt(v)}x` : '');
  const cells = [
    ...work.map((r) => [r.name, ms(r.manualMs), ms(r.eagerMs), ms(r.jitMs), x(r.jitVsManual), x(r.eagerVsManual), x(r.jitVsEager), r.compileMs === undefined ? '' : `${ms(r.compileMs)} (${r.equations} eq.)`]),
    ...mlp.map((r) => [`${r.name} (jit suite)`, '', ms(r.baseMs), ms(r.ms), '', '', x(r.value), '']),
    ...suite.rows.filter((r) => r.kind === 'compile').map((r) => [r.name, '', '', ms(r.jitMs), '', '', '', `${ms(r.compileMs)} (target < 1000 ms)`]),
  ];
  const head = ['workload', 'hand-written JS', 'eager', 'jit', 'jit / hand', 'eager / hand', 'jit / eager', 'trace + plan'];
  const tableHtml = `<table><tr>${head.map((h, i) => `<th class="${i ? '' : 's'}">${escapeHtml(h)}</th>`).join('')}</tr>${cells.map((c) => `<tr>${c.map((v, i) => `<td class="${i ? '' : 's'}">${escapeHtml(v)}</td>`).join('')}</tr>`).join('')}</table>`;
  const bars = barChart({
    title: 'time / hand-written JS (log scale; dashed line: equal; target for jit: 3x)', xLabel: 'ratio', log: true, ref: 1, width: 640,
    groups: work.map((r) => ({ label: r.name, target: 3, bars: [{ name: 'jit', value: r.jitVsManual, color: colors.dualtape, note: 'jit' }, { name: 'eager', value: r.eagerVsManual, color: colors.tfjs, note: 'eager' }] })),
  });
  return `${tableHtml}<div class="charts">${bars}</div>`;
}

const sectionRenderers = { 'forward-vs-reverse': forwardVsReverse, ratios, jit: ratios, peers, field };

function section(suite, results) {
  const head = `<h2 id="${escapeHtml(suite.id)}">${escapeHtml(suite.title ?? suite.id)}</h2>`;
  if (suite.status !== 'ok') {
    return `${head}<p class="${suite.status === 'missing' ? 'note' : 'bad'}">${escapeHtml(suite.status === 'missing' ? `not run: ${suite.file} is not there yet` : `failed: ${suite.error}`)}</p>`;
  }
  const render = sectionRenderers[suite.id] ?? genericCharts;
  // Renderers take the suite, and the whole report for the few that read another suite's rows.
  const seconds = Number.isFinite(suite.seconds) ? ` in ${suite.seconds.toFixed(1)} s` : '';
  return `${head}<p class="note">${suite.rows.length} rows${seconds}.</p>${render(suite, results)}<details><summary>all rows</summary>${table(suite.rows)}</details>`;
}

/** The report body (no <html> wrapper), for pages that bring their own document. */
export function renderBody(results) {
  const meta = results.meta ?? {};
  const info = Object.entries(meta).filter(([, v]) => typeof v !== 'object').map(([k, v]) => `<b>${escapeHtml(k)}</b>: ${escapeHtml(fmt(v))}`).join(' · ');
  const index = results.suites.map((s) => `<li><a href="#${escapeHtml(s.id)}">${escapeHtml(s.title ?? s.id)}</a>: <span class="${s.status === 'ok' ? 'ok' : s.status === 'missing' ? 'note' : 'bad'}">${escapeHtml(s.status)}</span></li>`).join('');
  return `<h1>dualtape benchmarks</h1><p class="note">${info}</p><ul>${index}</ul>${results.suites.map((s) => section(s, results)).join('')}`;
}

/** A complete, self-contained HTML document. */
export function renderReport(results) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>dualtape benchmarks</title><style>${reportStyle}</style></head><body>${renderBody(results)}</body></html>\n`;
}
