// Runs the forward-vs-reverse and ratios suites in the page against the browser bundle and
// draws the report with the same renderer as `npm run bench`. The peer suite stays in Node
// (it loads TensorFlow.js and jax-js through Node's resolver); so do the kernel suites, which
// read build/*.wasm from disk.
import * as dt from '/dist/browser.mjs';
import { renderBody, reportStyle } from '../report.mjs';

const suites = [
  { id: 'forward-vs-reverse', file: '../suites/forward-vs-reverse.mjs' },
  { id: 'ratios', file: '../suites/ratios.mjs' },
];

const quick = !new URLSearchParams(location.search).has('full');
const logEl = document.getElementById('log');
const status = document.getElementById('status');
const log = (line = '') => {
  logEl.textContent += `${line}\n`;
  logEl.scrollTop = logEl.scrollHeight;
  console.log(line);
};

async function main() {
  const start = performance.now();
  await dt.ready();
  const results = [];
  for (const suite of suites) {
    status.textContent = `running ${suite.id}${quick ? ' (quick)' : ''}…`;
    log(`== ${suite.id}`);
    const t0 = performance.now();
    try {
      const mod = await import(suite.file);
      const rows = await mod.run({ quick, lib: dt, log });
      results.push({ id: suite.id, title: `${mod.title} (browser)`, file: `bench/${suite.file.slice(3)}`, status: 'ok', seconds: (performance.now() - t0) / 1e3, rows });
    } catch (err) {
      log(`== ${suite.id} FAILED: ${err?.stack ?? err}`);
      results.push({ id: suite.id, title: suite.id, status: 'error', error: String(err?.message ?? err), rows: [] });
    }
  }
  const report = {
    meta: {
      date: new Date().toISOString(),
      browser: navigator.userAgent,
      cores: navigator.hardwareConcurrency,
      quick,
      seconds: Number(((performance.now() - start) / 1e3).toFixed(1)),
    },
    suites: results,
  };
  const style = document.createElement('style');
  style.textContent = reportStyle;
  document.head.append(style);
  document.getElementById('report').innerHTML = renderBody(report);
  status.textContent = `done in ${report.meta.seconds} s`;
  window.__benchResults = report;
}

main().catch((err) => {
  status.textContent = `failed: ${err?.message ?? err}`;
  window.__benchResults = { error: String(err?.stack ?? err) };
});
