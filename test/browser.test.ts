// The dist browser bundle in a real browser: Debian's Chromium, headless, driven by
// playwright-core, loads test/fixtures/browser/index.html over http from 127.0.0.1. The page
// imports /dist/browser.mjs from a plain <script type="module"> (no bundler) and computes
// grad, jvp, jacobian, a long chain, seeded random numbers (compared with Node's), and
// checkpoint and scan when dist exports them; here
// the numbers are checked against closed forms.
// Needs dist/ built (npm install does it) and a Chromium: /usr/bin/chromium when present, else
// the one in the devDependency @sparticuz/chromium (test/helpers/chromium.ts; DUALTAPE_CHROMIUM=npm
// forces it). Without either, this file fails with a message saying what to do; it never skips.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { argsort, array, bernoulli, memory, permutation, randint, randn, tidy, uniform } from './helpers/api.js';
import { findChromium } from './helpers/chromium.js';
import { expectClose } from './helpers/check.js';

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/[\\/]$/, '');
const buildCommand = 'npx tsc -p tsconfig.build.json && npx rollup -c rollup.config.mjs';

interface PageResults {
  exports: string[];
  isNode: boolean;
  beforeReady?: string;
  grad?: number[];
  tanhPrime?: number;
  jvp?: { y: number[]; dy: number[] };
  jacobian?: Record<'auto' | 'fwd' | 'rev', { shape: number[]; data: number[] }>;
  longChain?: number[];
  checkpoint?: number[];
  scan?: number[];
  random?: Record<'uniform' | 'uniform32' | 'bernoulli' | 'randn' | 'randint' | 'permutation' | 'argsort', number[]>;
  leakedBytes?: number;
  error?: string;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** Serves `/dist/*` from dist/ and everything else from the fixture folder, nothing outside them. */
function serve(mounts: [prefix: string, dir: string][]): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const [prefix, dir] = mounts.find(([p]) => path.startsWith(p))!;
    const file = normalize(join(dir, path.slice(prefix.length) || 'index.html'));
    if (!file.startsWith(dir + sep) || !existsSync(file)) {
      res.writeHead(404).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'content-type': contentTypes[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

// Closed forms, computed in plain JS.
const tanhPrime = (x: number) => 1 - Math.tanh(x) ** 2;
function chainDerivative(x: number, steps: number): number {
  let y = x;
  let d = 1;
  for (let k = 0; k < steps; k++) {
    d *= 1 + 0.01 * Math.cos(y);
    y += 0.01 * Math.sin(y);
  }
  return d;
}

let server: Server;
let browser: Browser | undefined;
let results: PageResults;
let consoleErrors: string[] = [];
let memoryBefore = 0;

beforeAll(async () => {
  memoryBefore = memory().bytesInUse;
  if (!existsSync(join(root, 'dist/browser.mjs'))) {
    throw new Error(`browser test: dist/browser.mjs is missing. Build it with: ${buildCommand} (npm install runs this).`);
  }
  const chromiumPath = findChromium().path;
  server = await serve([['/dist/', join(root, 'dist')], ['/', join(root, 'test/fixtures/browser')]]);
  const { port } = server.address() as AddressInfo;
  // launch() runs Chromium on a fresh temporary profile, removed on close.
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(String(err)));
  page.on('response', (res) => {
    if (res.status() >= 400) consoleErrors.push(`${res.status()} for ${res.url()}`);
  });
  await page.goto(`http://127.0.0.1:${port}/index.html`);
  await page.waitForFunction(() => (window as { __results?: unknown }).__results !== undefined, null, { timeout: 45_000 });
  results = await page.evaluate(() => (window as unknown as { __results: PageResults }).__results);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((done) => (server ? server.close(done) : done(undefined)));
  expect(memory().bytesInUse).toBe(memoryBefore);
});

describe('the dist browser bundle in headless Chromium', () => {
  it('loads from a plain module script and runs without errors', () => {
    expect(results.error).toBeUndefined();
    expect(consoleErrors).toEqual([]);
    expect(results.isNode).toBe(false);
    expect(results.exports).toEqual(expect.arrayContaining(['ready', 'grad', 'jvp', 'jacobian', 'tidy', 'memory']));
  });

  it('throws NotReadyError for an op before ready() resolves', () => {
    expect(results.beforeReady).toBe('NotReadyError');
  });

  it('computes grad: d/dx sum(sin(x) x) = cos(x) x + sin(x), and tanh\'(2)', () => {
    expectClose(results.grad!, [0.5, 1, 2].map((x) => Math.cos(x) * x + Math.sin(x)), 1e-14, 1e-15);
    expectClose(results.tanhPrime!, tanhPrime(2), 1e-14);
    expect(results.tanhPrime!.toFixed(4)).toBe('0.0707');
  });

  it('computes jvp: d(exp(x) x) = (exp(x) + x exp(x)) v', () => {
    const x = [0.3, -1.2];
    const v = [1, 2];
    expectClose(results.jvp!.y, x.map((xi) => Math.exp(xi) * xi), 1e-14, 1e-15);
    expectClose(results.jvp!.dy, x.map((xi, i) => (Math.exp(xi) + xi * Math.exp(xi)) * v[i]), 1e-14, 1e-15);
  });

  it('computes jacobian of tanh(W x) = diag(1 - tanh(W x)^2) W in auto, fwd and rev modes', () => {
    const W = [[1, -2, 0.5], [0.25, 3, -1]];
    const x = [0.1, 0.2, -0.3];
    const expected = W.flatMap((row) => {
      const s = tanhPrime(row.reduce((acc, w, j) => acc + w * x[j], 0));
      return row.map((w) => s * w);
    });
    for (const mode of ['auto', 'fwd', 'rev'] as const) {
      expect(results.jacobian![mode].shape).toEqual([2, 3]);
      expectClose(results.jacobian![mode].data, expected, 1e-13, 1e-15);
    }
  });

  it('differentiates a 6000-op chain: d/dx of y <- y + 0.01 sin(y) is the product of (1 + 0.01 cos(y_k))', () => {
    expectClose(results.longChain!, [0.3, 1.1].map((x) => chainDerivative(x, 2000)), 1e-10, 1e-300);
  });

  it('differentiates through checkpoint when dist exports it: d sin(sin(x)) = cos(sin(x)) cos(x)', () => {
    expect(results.checkpoint !== undefined).toBe(results.exports.includes('checkpoint'));
    if (!results.checkpoint) {
      console.warn('browser test: dist does not export checkpoint yet; the long chain above stands in for it');
      return;
    }
    expectClose(results.checkpoint, [0.4, -1.3].map((x) => Math.cos(Math.sin(x)) * Math.cos(x)), 1e-14, 1e-15);
  });

  it('differentiates a checkpointed scan when dist exports scan: dh/dh0 = prod cos(h_k)', () => {
    expect(results.scan !== undefined).toBe(results.exports.includes('scan'));
    if (!results.scan) {
      console.warn('browser test: dist does not export scan yet');
      return;
    }
    const xs = Array.from({ length: 400 }, (_, i) => 0.5 * Math.sin(i));
    const expected = [0.2, -0.7].map((h0, j) => {
      let h = h0;
      let d = 1;
      for (let k = 0; k < 200; k++) {
        d *= Math.cos(h);
        h = Math.sin(h) + xs[2 * k + j];
      }
      return d;
    });
    expectClose(results.scan, expected, 1e-10, 1e-300);
  });

  it('gives the same uniform and bernoulli values as Node for the same seed, bit for bit', () => {
    const node = tidy(() => ({
      uniform: Array.from(uniform([64], { seed: 2026, low: -2, high: 3 }).data()),
      uniform32: Array.from(uniform([64], { seed: 7, dtype: 'float32' }).data()),
      bernoulli: Array.from(bernoulli([64], 0.3, { seed: 99 }).data()),
    }));
    expect(results.random?.uniform).toEqual(node.uniform);
    expect(results.random?.uniform32).toEqual(node.uniform32);
    expect(results.random?.bernoulli).toEqual(node.bernoulli);
  });

  it('gives the same randint, permutation and argsort (int32) as Node for the same seed', () => {
    const node = tidy(() => ({
      randint: Array.from(randint([64], -1000, 1000, { seed: 13 }).data()),
      permutation: Array.from(permutation(64, { seed: 17 }).data()),
      argsort: Array.from(argsort(array([3, 1, 2, 1, NaN, -0, 0])).data()),
    }));
    expect(results.random?.randint).toEqual(node.randint);
    expect(results.random?.permutation).toEqual(node.permutation);
    expect(results.random?.argsort).toEqual(node.argsort);
  });

  it('gives randn values equal to Node\'s to rounding (Math.log, cos and sin may differ by an ulp across engines)', () => {
    const node = tidy(() => Array.from(randn([64], { seed: 5 }).data()));
    expectClose(results.random!.randn, node, 1e-14, 1e-15);
  });

  it('frees everything the page computed inside tidy', () => {
    expect(results.leakedBytes).toBe(0);
  });
});
