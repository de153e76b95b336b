// Multi-output fusion groups: the fusion pass (fuse.ts) first makes one group per root (a
// value read outside fusion); here groups over the same elements that are related (one reads
// the other's value, or both read the same full-size input) merge into one group that writes
// all their read-outside values in one pass. A jitted jvp's primal and tangent chains become
// one group that reads x and its tangent once; a jitted gradient's forward values and the
// backward chain that reads them, one group, instead of a pass that writes the forward values
// and another that reads them back.
//
// A merge must keep the program a DAG: the merged group runs where both could, so no path may
// lead from one group to the other through an equation outside them (it would have to run
// after the first and before the second). The groups and the remaining equations are then
// ordered again, each after what it reads.
import { definedBy, type Program } from './program.js';

/** A group of the fusion pass, as the merging sees it. */
export interface Group {
  /** The equations folded into it, ascending. */
  members: number[];
  /** Its equations whose values may be read outside it, ascending. */
  roots: number[];
  /** Elements of its pass: groups merge only over the same count and dtype. */
  n: number;
  dtype: string;
  /** Its sum (the interpreter has one set of accumulators), or -1. */
  sum: number;
}

export interface MergeOptions<C> {
  /** The group's compiled form, or null when it does not fit the kernel's limits. */
  compile(members: number[], outputs: number[]): C | null;
  /** Equations per group. */
  maxOps: number;
  /** Whether a group with a sum may merge. */
  sums: boolean;
  /** Equation readers of each variable, and the variables the program returns. */
  readers: readonly number[][];
  pinned: Uint8Array;
}

/** A step of the rewritten program: an equation kept as it is, or a group with its outputs. */
export type Unit<C> = { readonly index: number; readonly group?: undefined } | { readonly group: Group; readonly compiled: C | null };

/** Nodes visited per acyclicity check before a merge is given up as too costly to prove. */
const SEARCH_BUDGET = 4000;

/**
 * Merges related groups where that keeps the program acyclic and the group fits, and returns
 * the program's steps in an order where each follows what it reads. `compiled[g]` is group g's
 * form unmerged (null for a group of one equation, which stays that equation).
 */
export function mergeGroups<C>(program: Program, groups: Group[], compiled: (C | null)[], options: MergeOptions<C>): Unit<C>[] {
  const { equations, avals } = program;
  const absorbed = new Uint8Array(equations.length);
  for (const g of groups) for (const j of g.members) absorbed[j] = 1;
  // Units: the groups, then the equations outside every group.
  const eqUnit: number[] = [];
  equations.forEach((_, i) => {
    if (!absorbed[i]) eqUnit.push(i);
  });
  const units = groups.length + eqUnit.length;
  const group: (Group | null)[] = [...groups, ...eqUnit.map(() => null)];
  const forms: (C | null)[] = [...compiled, ...eqUnit.map(() => null)];
  const position = [...groups.map((g) => g.members[g.members.length - 1]), ...eqUnit];
  const unitOf = new Int32Array(avals.length).fill(-1);
  groups.forEach((g, u) => {
    for (const r of g.roots) for (const v of definedBy(equations[r])) unitOf[v] = u;
  });
  eqUnit.forEach((i, k) => {
    for (const v of definedBy(equations[i])) unitOf[v] = groups.length + k;
  });
  const inputsOf = (u: number): Set<number> => {
    const g = group[u];
    if (!g) return new Set(equations[eqUnit[u - groups.length]].inputs);
    const inside = new Set(g.members.flatMap((j) => definedBy(equations[j])));
    return new Set(g.members.flatMap((j) => equations[j].inputs).filter((v) => !inside.has(v)));
  };
  const inputs = Array.from({ length: units }, (_, u) => inputsOf(u));
  const pred = inputs.map((ins) => new Set([...ins].map((v) => unitOf[v]).filter((p) => p >= 0)));
  const succ: Set<number>[] = pred.map(() => new Set());
  pred.forEach((ps, u) => {
    for (const p of ps) succ[p].add(u);
  });
  const live = new Uint8Array(units).fill(1);
  const outCount = new Int32Array(units).fill(1);
  // The groups each equation is folded into: groups that both compute a value merge.
  const sharing: number[][] = equations.map(() => []);
  groups.forEach((g, u) => {
    for (const j of g.members) sharing[j].push(u);
  });

  /** A path from `from` to `to` through some other unit. */
  const detour = (from: number, to: number): boolean => {
    const seen = new Set<number>([from]);
    const stack = [...succ[from]].filter((s) => s !== to);
    let budget = SEARCH_BUDGET;
    while (stack.length > 0) {
      const u = stack.pop()!;
      if (u === to) return true;
      if (seen.has(u)) continue;
      seen.add(u);
      if (--budget < 0) return true;
      for (const s of succ[u]) if (!seen.has(s)) stack.push(s);
    }
    return false;
  };
  const sumOut = (g: Group) => (g.sum >= 0 ? definedBy(equations[g.sum])[0] : -1);
  const compatible = (a: number, b: number) => {
    const ga = group[a], gb = group[b];
    return ga !== null && gb !== null && ga.n === gb.n && ga.dtype === gb.dtype && (options.sums || (ga.sum < 0 && gb.sum < 0));
  };
  const feeds = (a: number, b: number) => group[a]!.roots.some((r) => definedBy(equations[r]).some((v) => inputs[b].has(v)));
  // A step towards folding a's values in: none is returned, and every reader is a group it
  // may merge with (a value read by two chains is written and read back until both merge).
  const internalisable = (a: number) =>
    group[a]!.roots.every((r) => definedBy(equations[r]).every((v) => !options.pinned[v])) && [...succ[a]].every((u) => compatible(a, u));

  const tryMerge = (a: number, b: number): boolean => {
    const ga = group[a]!, gb = group[b]!;
    if (!compatible(a, b) || (ga.sum >= 0 && gb.sum >= 0)) return false;
    // A sum's value exists only after the last block: nothing in its group may read it.
    if (inputs[b].has(sumOut(ga)) || inputs[a].has(sumOut(gb))) return false;
    const members = [...new Set([...ga.members, ...gb.members])].sort((x, y) => x - y);
    if (members.length > options.maxOps) return false;
    const inside = new Set(members);
    const roots = [...ga.roots, ...gb.roots].sort((x, y) => x - y);
    // A value is written when something outside the merged group reads it: an equation outside
    // it, or one inside it that a third group also computes (a cheap value folded into both).
    const readOutside = (j: number) => !inside.has(j) || sharing[j].some((u) => u !== a && u !== b && live[u]);
    const outputs = roots.filter((r) => definedBy(equations[r]).some((v) => options.pinned[v] || options.readers[v].some(readOutside)));
    // Only merges that save work (a value no longer written and read back, or equations the
    // two groups both computed) or lead there. A merge that only shares an input's read was slower (the
    // jit(valueAndGrad) chain at 1e5 and 1e6 f64 elements: 261 us against 240, 2.9 ms against
    // 2.7): the chains are compute-bound in cache, and a longer loop with more live values
    // spills registers.
    const saves = members.length < ga.members.length + gb.members.length || outputs.length < outCount[a] + outCount[b];
    if (!saves && !(feeds(a, b) && internalisable(a)) && !(feeds(b, a) && internalisable(b))) return false;
    if (detour(a, b) || detour(b, a)) return false;
    const form = options.compile(members, outputs);
    if (form === null) return false;
    // b joins a.
    group[a] = { members, roots, n: ga.n, dtype: ga.dtype, sum: Math.max(ga.sum, gb.sum) };
    forms[a] = form;
    outCount[a] = outputs.length;
    position[a] = Math.max(position[a], position[b]);
    live[b] = 0;
    for (const r of gb.roots) for (const v of definedBy(equations[r])) unitOf[v] = a;
    for (const j of gb.members) sharing[j] = sharing[j].map((u) => (u === b ? a : u));
    inputs[a] = inputsOf(a);
    for (const p of pred[b]) {
      succ[p].delete(b);
      if (p !== a) succ[p].add(a), pred[a].add(p);
    }
    for (const s of succ[b]) {
      pred[s].delete(b);
      if (s !== a) pred[s].add(a), succ[a].add(s);
    }
    pred[a].delete(b);
    succ[a].delete(b);
    return true;
  };

  const byPosition = options.maxOps > 0 ? groups.map((_, u) => u).sort((x, y) => position[x] - position[y]) : [];
  for (const a of byPosition) {
    let merged = true;
    while (merged && live[a]) {
      merged = false;
      const candidates = new Set<number>([...pred[a], ...succ[a]]);
      for (const j of group[a]!.members) for (const u of sharing[j]) candidates.add(u);
      const related = [...candidates].filter((u) => u !== a && live[u] && group[u] !== null).sort((x, y) => position[x] - position[y]);
      for (const b of related) {
        if (tryMerge(a, b)) {
          merged = true;
          break;
        }
      }
    }
  }

  // Each live unit after the units it reads, otherwise in program order.
  const order: number[] = [];
  const state = new Uint8Array(units);
  const roots = Array.from({ length: units }, (_, u) => u).filter((u) => live[u]).sort((x, y) => position[x] - position[y]);
  for (const start of roots) {
    if (state[start]) continue;
    const stack: [number, number[]][] = [[start, [...pred[start]].sort((x, y) => position[x] - position[y])]];
    state[start] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const next = top[1].shift();
      if (next === undefined) {
        stack.pop();
        order.push(top[0]);
        continue;
      }
      if (state[next]) continue;
      state[next] = 1;
      stack.push([next, [...pred[next]].sort((x, y) => position[x] - position[y])]);
    }
  }
  return order.map((u): Unit<C> => {
    const g = group[u];
    if (!g) return { index: eqUnit[u - groups.length] };
    return { group: g, compiled: forms[u] };
  });
}
