// The package as a consumer gets it: `npm pack` (the `files` list), installed offline into a
// temp copy of test/fixtures/consumer, then used through the exports map from ESM, CommonJS,
// TypeScript and a rollup bundle (Node and browser conditions), each run with node and its
// printed numbers checked. Needs dist/ built (npm install does it).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memory } from './helpers/api.js';
import { expectClose } from './helpers/check.js';

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/[\\/]$/, '');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
const buildCommand = 'npx tsc -p tsconfig.build.json && npx rollup -c rollup.config.mjs';

let dir: string;
let packed: string[];
let memoryBefore = 0;

function run(command: string, args: string[], cwd = dir): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', timeout: 45_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

const node = (...args: string[]) => run(process.execPath, args);

interface Printed {
  grad: number[];
  jvp: number;
  jacobian: number[][];
  leakedBytes: number;
}

function expectNumbers(out: string): void {
  const printed = JSON.parse(out.trim().split('\n').at(-1)!) as Printed;
  expectClose(printed.grad, [0.5, 1, 2].map((x) => Math.cos(x) * x + Math.sin(x)), 1e-14, 1e-15);
  expectClose(printed.jvp, 1 - Math.tanh(2) ** 2, 1e-14);
  expect(printed.jacobian).toEqual([[2, 0, 0], [0, 4, 0], [0, 0, 6]]);
  expect(printed.leakedBytes).toBe(0);
}

beforeAll(() => {
  memoryBefore = memory().bytesInUse;
  for (const file of ['dist/index.mjs', 'dist/index.cjs', 'dist/browser.mjs']) {
    if (!existsSync(join(root, file))) throw new Error(`consumer test: ${file} is missing. Build it with: ${buildCommand} (npm install runs this).`);
  }
  dir = mkdtempSync(join(tmpdir(), 'dualtape-consumer-'));
  cpSync(join(root, 'test/fixtures/consumer'), dir, { recursive: true });
  renameSync(join(dir, 'types.ts.in'), join(dir, 'types.ts'));
  // --ignore-scripts: packing must not rebuild (prepare), the test packs what dist holds.
  const [info] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root)) as { filename: string; files: { path: string }[] }[];
  packed = info.files.map((f) => f.path);
  renameSync(join(dir, info.filename), join(dir, 'dualtape.tgz'));
  // The tarball has no dependencies, so this installs with no network.
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts']);
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  expect(memory().bytesInUse).toBe(memoryBefore);
});

describe('a consumer project using the packed package', () => {
  it('packs every file the exports map names, and no sources', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const targets = new Set<string>([pkg.main, pkg.module, pkg.types]);
    const collect = (v: unknown): void => {
      if (typeof v === 'string') targets.add(v);
      else if (v && typeof v === 'object') Object.values(v).forEach(collect);
    };
    collect(pkg.exports);
    for (const target of targets) expect(packed, target).toContain(target.replace(/^\.\//, ''));
    expect(packed.filter((p) => /^(src|assembly|test|bench|build)\//.test(p))).toEqual([]);
  }, 30_000);

  it('imports dualtape from ESM through the "import" entry', () => {
    expectNumbers(node('index.mjs'));
    const resolved = node('--input-type=module', '-e', "console.log(import.meta.resolve('dualtape'))").trim();
    expect(resolved).toMatch(/node_modules\/dualtape\/dist\/index\.mjs$/);
    const browser = node('--input-type=module', '-e', "console.log(import.meta.resolve('dualtape/browser'))").trim();
    expect(browser).toMatch(/node_modules\/dualtape\/dist\/browser\.mjs$/);
  }, 30_000);

  it('requires dualtape from CommonJS through the "require" entry', () => {
    const out = JSON.parse(node('cjs.cjs')) as { resolved: string; grad: number };
    expect(out.resolved).toMatch(/node_modules\/dualtape\/dist\/index\.cjs$/);
    expect(out.grad).toBe(12); // d/dx x^3 at 2
  }, 30_000);

  it('keeps paths outside the exports map private', () => {
    expect(() => node('--input-type=module', '-e', "await import('dualtape/dist/index.mjs')")).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  }, 30_000);

  it('type-checks a TypeScript consumer through the "types" entry', () => {
    run(bin('tsc'), ['-p', 'tsconfig.json']);
  }, 30_000);

  it('keeps internal members (buffer, scope, toTopLevel, ...) out of the published Tensor types', () => {
    const dts = readFileSync(join(dir, 'node_modules/dualtape/dist/types/src/tensor/tensor.d.ts'), 'utf8');
    expect(dts).toMatch(/class Tensor/);
    for (const member of ['buffer', 'scope', 'toTopLevel', 'data_', 'readData', 'registered', 'dense']) {
      expect(dts, member).not.toMatch(new RegExp(`^\\s*(private\\s+|abstract\\s+)?${member}\\b`, 'm'));
    }
  });

  it('bundles with rollup for Node and for browsers, and the bundles run', () => {
    run(bin('rollup'), ['-c', 'rollup.config.mjs', '--silent']);
    for (const bundle of ['out/node.mjs', 'out/browser.mjs']) {
      const code = readFileSync(join(dir, bundle), 'utf8');
      expect(code, `${bundle} still imports the package instead of inlining it`).not.toMatch(/from ['"]dualtape/);
      expectNumbers(node(bundle));
    }
  }, 30_000);
});
