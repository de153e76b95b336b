// The source layout DESIGN.md draws: dependencies point one way (backend <- tensor <- core <-
// ops <- transforms, staging <- checkpoint, sparse, check, solve, optim <- index), and no
// files import each other, directly or around a longer cycle.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of every source file (type-only imports included: they still couple files). */
const graph = new Map<string, string[]>();
for (const file of files(src)) {
  const text = readFileSync(file, 'utf8');
  const targets = [...text.matchAll(/(?:import|export)[^'"]*?from '(\.[^']+)'/g)].map((m) => relative(src, resolve(dirname(file), m[1].replace(/\.js$/, '.ts'))));
  graph.set(relative(src, file), targets);
}

const layers: Record<string, number> = {
  'errors.ts': 0, backend: 1, tensor: 2, 'tree.ts': 3, 'tidy.ts': 6, core: 4, ops: 5, transforms: 6, staging: 6,
  checkpoint: 7, sparse: 7, check: 7, solve: 7, optim: 7, ode: 7, 'index.ts': 8,
};
const layerOf = (file: string) => layers[file.split('/')[0]];

describe('source layout', () => {
  it('every file belongs to a layer', () => {
    for (const file of graph.keys()) expect(layerOf(file), file).toBeDefined();
  });

  it('imports point down the layers (or stay within one)', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      for (const t of targets) if (layerOf(t) > layerOf(file)) upward.push(`${file} -> ${t}`);
    }
    expect(upward).toEqual([]);
  });

  it('has no import cycles', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const t of graph.get(file) ?? []) visit(t, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
