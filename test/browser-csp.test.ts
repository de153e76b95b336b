// The README's Browser section, checked in headless Chromium: a page without a bundler loads
// dualtape by its bare name through an import map, under a Content-Security-Policy. With
// 'wasm-unsafe-eval' in script-src the kernels compile and grad runs; without it ready()
// rejects with a NotReadyError that names the directive to add.
// Needs dist/ built (npm install does it) and a Chromium (test/helpers/chromium.ts).
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { findChromium } from './helpers/chromium.js';
import { expectClose } from './helpers/check.js';

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/[\\/]$/, '');
const fixture = join(root, 'test/fixtures/browser-csp');
const nonce = "'nonce-dualtape-test'";
const withWasm = `default-src 'none'; script-src 'self' ${nonce} 'wasm-unsafe-eval'`;
const withoutWasm = `default-src 'none'; script-src 'self' ${nonce}`;
const withEval = `default-src 'none'; script-src 'self' ${nonce} 'wasm-unsafe-eval' 'unsafe-eval'`;

interface PageResults {
  ready: boolean;
  grad?: number[];
  leakedBytes?: number;
  errorName?: string;
  errorMessage?: string;
  jitGrad?: number[];
  jitSquare?: number[];
  /** Console warnings the page printed (filled in by the test). */
  warnings: string[];
}

const types: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8' };

/**
 * /node_modules/dualtape/* from the package's dist/ (as an installed package would be laid
 * out), the rest from the fixture; every response carries the policy chosen by ?csp= on the page.
 */
function serve(): Promise<Server> {
  let policy = withWasm;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/' || url.pathname === '/index.html') {
      const csp = url.searchParams.get('csp');
      policy = csp === 'none' ? withoutWasm : csp === 'eval' ? withEval : withWasm;
    }
    const prefix = '/node_modules/dualtape/';
    const [dir, rel] = url.pathname.startsWith(prefix) ? [root, url.pathname.slice(prefix.length)] : [fixture, url.pathname.slice(1) || 'index.html'];
    const file = normalize(join(dir, rel));
    if (!file.startsWith(dir + sep) || !existsSync(file) || (dir === root && !file.startsWith(join(root, 'dist') + sep))) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'content-security-policy': policy });
    res.end(readFileSync(file));
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

let server: Server;
let browser: Browser | undefined;
const results: Record<'with' | 'without' | 'eval', PageResults> = {} as never;

beforeAll(async () => {
  if (!existsSync(join(root, 'dist/browser.mjs'))) {
    throw new Error('browser CSP test: dist/browser.mjs is missing. Build it with: npx tsc -p tsconfig.build.json && npx rollup -c rollup.config.mjs (npm install runs this).');
  }
  const executablePath = findChromium().path;
  server = await serve();
  const { port } = server.address() as AddressInfo;
  browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  for (const [key, csp] of [['with', 'wasm'], ['without', 'none'], ['eval', 'eval']] as const) {
    const page = await browser.newPage();
    const warnings: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'warning') warnings.push(msg.text());
    });
    await page.goto(`http://127.0.0.1:${port}/index.html?csp=${csp}`);
    await page.waitForFunction(() => (window as { __results?: unknown }).__results !== undefined, null, { timeout: 45_000 });
    results[key] = { ...(await page.evaluate(() => (window as unknown as { __results: PageResults }).__results)), warnings };
    await page.close();
  }
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((done) => (server ? server.close(done) : done(undefined)));
});

describe('dualtape in a page with an import map and a Content-Security-Policy', () => {
  it("runs under script-src 'self' 'wasm-unsafe-eval': grad of sum(sin(x)) is cos(x), nothing leaks", () => {
    expect(results.with.errorMessage).toBeUndefined();
    expect(results.with.ready).toBe(true);
    expectClose(results.with.grad!, [Math.cos(0.5), Math.cos(2)], 1e-14);
    expect(results.with.leakedBytes).toBe(0);
  });

  it("without 'unsafe-eval', jit runs scalar programs interpreted and says so once for the page", () => {
    const r = 1 - 1.44;
    expectClose(results.with.jitGrad!, [-2 * 2.2 + 480 * r, 200 * r], 1e-13);
    expect(results.with.jitSquare).toEqual([9, 16]);
    const csp = results.with.warnings.filter((w) => /Content-Security-Policy forbids generated code/.test(w));
    expect(csp).toHaveLength(1);
    expect(csp[0]).toMatch(/interpreted.*'unsafe-eval'/);
  });

  it("with 'unsafe-eval', jit compiles them to generated code: the same values and no warning", () => {
    expect(results.eval.errorMessage).toBeUndefined();
    expect(results.eval.jitGrad).toEqual(results.with.jitGrad);
    expect(results.eval.jitSquare).toEqual([9, 16]);
    expect(results.eval.warnings.filter((w) => /Content-Security-Policy/.test(w))).toEqual([]);
  });

  it("without 'wasm-unsafe-eval', ready() rejects with a NotReadyError naming the directive", () => {
    expect(results.without.ready).toBe(false);
    expect(results.without.errorName).toBe('NotReadyError');
    expect(results.without.errorMessage).toMatch(/Content-Security-Policy.*'wasm-unsafe-eval'/);
  });
});
