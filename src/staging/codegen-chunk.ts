// Long generated programs cut into chunks: V8 optimizes a function only up to a size, so the body
// of a long pure program is split into functions of CHUNK equations (codegen.ts).
import { definedBy, type Equation } from './program.js';
import type { Closure } from './codegen-scalar.js';

/**
 * Equations per generated function. V8 optimizes functions up to about 60 KB of bytecode; past
 * that, straight-line code runs in the interpreter with every double boxed (a 12,500-equation
 * scalar chain ran at about 25 ns per equation unsplit), so long programs are cut into chunks.
 */
export const CHUNK = 1000;

/**
 * Cuts the body of a pure program into functions of CHUNK equations, each called once. A
 * scalar local read in a later chunk goes through a Float64Array register file: stored at the
 * end of the chunk that defines it, loaded at the start of each chunk that reads it.
 */
export function chunk(lines: readonly string[], eqStart: readonly number[], equations: readonly Equation[], pos: readonly number[], local: readonly (string | null)[], closure: Closure): string[] {
  const count = Math.ceil(equations.length / CHUNK);
  // Equation i's code stands at equation pos[i] (a fused loop's members at its last member).
  const chunkOf = (i: number) => Math.floor(pos[i] / CHUNK);
  const defined = new Int32Array(local.length).fill(-1);
  equations.forEach((eq, i) => definedBy(eq).forEach((v) => (defined[v] = chunkOf(i))));
  const register = new Map<number, number>();
  const imports: Set<number>[] = Array.from({ length: count }, () => new Set());
  equations.forEach((eq, i) => {
    for (const u of eq.inputs) {
      if (local[u] !== `v${u}` || defined[u] < 0 || defined[u] === chunkOf(i)) continue;
      if (!register.has(u)) register.set(u, register.size);
      imports[chunkOf(i)].add(u);
    }
  });
  const R = closure.add(new Float64Array(Math.max(1, register.size)));
  const out: string[] = [];
  for (let c = 0; c < count; c++) {
    const from = eqStart[c * CHUNK], to = c + 1 < count ? eqStart[(c + 1) * CHUNK] : lines.length;
    out.push(`(() => {`);
    for (const u of imports[c]) out.push(`const v${u} = ${R}[${register.get(u)}];`);
    out.push(...lines.slice(from, to));
    for (const [u, r] of register) if (defined[u] === c) out.push(`${R}[${r}] = v${u};`);
    out.push('})();');
  }
  return out;
}
