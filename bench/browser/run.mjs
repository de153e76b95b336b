// npm run bench:browser [-- --full] [--serve]
//
// Serves the repository root on 127.0.0.1 (a free port) and runs bench/browser/index.html in
// Debian's headless Chromium (/usr/bin/chromium, through playwright-core), echoing the page's
// progress lines, then writes bench/results/browser.json and bench/results/browser-report.html.
// --serve only serves and prints the page's address, for opening in any local browser.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderReport } from '../report.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/[\\/]$/, '');
const chromiumPath = '/usr/bin/chromium';
const types = { '.html': 'text/html; charset=utf-8', '.mjs': 'text/javascript', '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };

function serve() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const file = normalize(join(root, path));
    if (!file.startsWith(root + sep) || !existsSync(file) || !extname(file)) {
      res.writeHead(404).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

async function main() {
  const args = process.argv.slice(2);
  if (!existsSync(join(root, 'dist/browser.mjs'))) {
    console.error('bench:browser: dist/browser.mjs is missing. Build it: npx tsc -p tsconfig.build.json && npx rollup -c rollup.config.mjs');
    process.exit(1);
  }
  const server = await serve();
  const url = `http://127.0.0.1:${server.address().port}/bench/browser/index.html${args.includes('--full') ? '?full' : ''}`;
  if (args.includes('--serve')) {
    console.log(`serving the repository; open ${url} (Ctrl-C to stop)`);
    return;
  }
  if (!existsSync(chromiumPath)) {
    console.error(`bench:browser: ${chromiumPath} is missing (apt-get install chromium), or use --serve and open the page yourself.`);
    process.exit(1);
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (msg) => console.log(msg.text()));
    page.on('pageerror', (err) => console.error(`page error: ${err}`));
    await page.goto(url);
    await page.waitForFunction(() => window.__benchResults !== undefined, null, { timeout: 15 * 60_000, polling: 500 });
    const results = await page.evaluate(() => window.__benchResults);
    if (results.error) throw new Error(`the page failed: ${results.error}`);
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    writeFileSync(join(root, 'bench/results/browser.json'), `${JSON.stringify(results, null, 1)}\n`);
    writeFileSync(join(root, 'bench/results/browser-report.html'), renderReport(results));
    console.log(`bench:browser: done in ${results.meta.seconds} s in ${results.meta.browser}`);
    console.log('wrote bench/results/browser.json and bench/results/browser-report.html');
  } finally {
    await browser.close();
    server.close();
  }
}

await main();
