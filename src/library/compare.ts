// Pure math over owner profiles: shared interests (elementwise product lifted through the tree) and asymmetries.
import { informationBits, type TaxonomyView } from './taxonomy-view.js';

/** An owner's profile: mean node score per synset over their photos (sum of node scores / photo count). */
export type Profile = Map<string, number>;

export interface ScoredSynset {
  wnid: string;
  name?: string;
  /** The quantity itself (shared mass, or difference of means). */
  value: number;
  /** value weighted by the synset's information content: how the list is ranked. */
  weight: number;
}

export interface Comparison {
  /** Synsets both owners photograph, most telling first. */
  shared: ScoredSynset[];
  /** What A photographs much more than B (per photo), most telling first. */
  moreA: ScoredSynset[];
  /** What B photographs much more than A (per photo), most telling first. */
  moreB: ScoredSynset[];
  /** Cosine similarity of the two leaf-level profiles (0..1). */
  similarity: number;
}

// Every ancestor of a synset in the DAG (itself included), each once.
function ancestors(t: TaxonomyView, wnid: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const stack = [wnid];
  while (stack.length) {
    const w = stack.pop() as string;
    if (seen.has(w)) continue;
    seen.add(w);
    out.push(w);
    for (const p of t.parents(w)) stack.push(p);
  }
  return out;
}

function rank(values: Map<string, number>, t: TaxonomyView | undefined, top: number, minValue: number): ScoredSynset[] {
  // A node holding (almost) the same value as one of its children says the same thing less specifically
  // ("organism" over "animal" when every organism is an animal): keep the child only.
  const redundant = new Set<string>();
  if (t) {
    for (const [wnid, value] of values) {
      if (!(value > minValue)) continue;
      for (const p of t.parents(wnid)) {
        const up = values.get(p);
        if (up !== undefined && up - value <= 0.02 * up) redundant.add(p);
      }
    }
  }
  const out: ScoredSynset[] = [];
  for (const [wnid, value] of values) {
    if (!(value > minValue) || redundant.has(wnid)) continue;
    const bits = t ? informationBits(t, wnid) : 1;
    if (t && bits <= 0) continue; // the root says nothing
    const item: ScoredSynset = { wnid, value, weight: value * bits };
    const name = t?.name(wnid);
    if (name !== undefined) item.name = name;
    out.push(item);
  }
  out.sort((x, y) => y.weight - x.weight || (x.wnid < y.wnid ? -1 : 1));
  return out.slice(0, top);
}

/**
 * Compares two profiles as the seed report describes: the elementwise product of the two owners' leaf
 * profiles, normalised to sum 1 and lifted through the hierarchy (each node = sum over the leaves under it),
 * gives what both photograph; the difference of the (per-photo) profiles gives the asymmetries. Lists are
 * ranked by value x information bits so that `entity` and other near-universal nodes do not dominate.
 * Without a taxonomy the product is taken node by node.
 */
export function compareProfiles(a: Profile, b: Profile, t?: TaxonomyView, top = 10): Comparison {
  const shared = new Map<string, number>();
  let dot = 0;
  let na = 0;
  let nb = 0;
  const isLeaf = (w: string) => (t ? t.leavesUnder(w) === 1 && t.has(w) : true);
  const norm = (p: Profile) => [...p.keys()].sort().reduce((acc, w) => (isLeaf(w) ? acc + (p.get(w) as number) ** 2 : acc), 0);
  na = norm(a);
  nb = norm(b);
  // Canonical (sorted) order, so that comparing A with B and B with A add up exactly the same way.
  for (const w of [...a.keys()].sort()) {
    const x = a.get(w) as number;
    const y = b.get(w);
    if (y === undefined || !isLeaf(w)) continue;
    const p = x * y;
    dot += p;
    if (t) for (const up of ancestors(t, w)) shared.set(up, (shared.get(up) ?? 0) + p);
    else shared.set(w, p);
  }
  if (dot > 0) for (const [w, v] of shared) shared.set(w, v / dot);
  const diffA = new Map<string, number>();
  const diffB = new Map<string, number>();
  for (const w of new Set([...a.keys(), ...b.keys()])) {
    const d = (a.get(w) ?? 0) - (b.get(w) ?? 0);
    if (d > 0) diffA.set(w, d);
    else if (d < 0) diffB.set(w, -d);
  }
  return {
    shared: rank(shared, t, top, 0),
    moreA: rank(diffA, t, top, 0.01),
    moreB: rank(diffB, t, top, 0.01),
    similarity: na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0,
  };
}

/** One everyday category's share of each owner's photos (mean category score per photo). */
export interface CategoryShare {
  id: string;
  name: string;
  wnid: string;
  a: number;
  b: number;
}

export interface CategoryComparison {
  /** Categories both photograph (each at least `minShared` of their photos), the most balanced-and-large first. */
  shared: CategoryShare[];
  /** Categories A photographs more than B by at least `minGap` of their photos, biggest gap first. */
  moreA: CategoryShare[];
  moreB: CategoryShare[];
}

/**
 * Compares two owners in everyday categories ("Dog 53% vs 18%") rather than WordNet synsets. A broad category
 * whose gap the narrower ones of the list already explain (Animal over Dog + Fish, 75% or more) is left out.
 */
export function compareCategoryShares(
  a: Array<{ id: string; name: string; wnid: string; mean: number }>,
  b: Array<{ id: string; name: string; wnid: string; mean: number }>,
  opts: { top?: number; minGap?: number; minShared?: number; parentOf?: (id: string) => string | undefined } = {},
): CategoryComparison {
  const top = opts.top ?? 8;
  const minGap = opts.minGap ?? 0.03;
  const minShared = opts.minShared ?? 0.05;
  const all = new Map<string, CategoryShare>();
  for (const c of a) all.set(c.id, { id: c.id, name: c.name, wnid: c.wnid, a: c.mean, b: 0 });
  for (const c of b) {
    const x = all.get(c.id);
    if (x) x.b = c.mean;
    else all.set(c.id, { id: c.id, name: c.name, wnid: c.wnid, a: 0, b: c.mean });
  }
  const byId = (x: CategoryShare, y: CategoryShare) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
  const gaps = (side: 'a' | 'b') => {
    const other = side === 'a' ? 'b' : 'a';
    const gap = (c: CategoryShare) => c[side] - c[other];
    const list = [...all.values()].filter((c) => gap(c) >= minGap);
    const listed = new Set(list.map((c) => c.id));
    // Each listed category's gap counts towards its nearest listed ancestor; an ancestor whose gap its listed
    // descendants account for (75% or more) says nothing they do not.
    const fromBelow = new Map<string, number>();
    for (const c of list) {
      let p = opts.parentOf?.(c.id);
      while (p !== undefined && !listed.has(p)) p = opts.parentOf?.(p);
      if (p !== undefined) fromBelow.set(p, (fromBelow.get(p) ?? 0) + gap(c));
    }
    const explained = (c: CategoryShare) => (fromBelow.get(c.id) ?? 0) >= 0.75 * gap(c);
    return list.filter((c) => !explained(c)).sort((x, y) => gap(y) - gap(x) || byId(x, y)).slice(0, top);
  };
  const shared = [...all.values()]
    .filter((c) => Math.min(c.a, c.b) >= minShared)
    .sort((x, y) => Math.min(y.a, y.b) - Math.min(x.a, x.b) || byId(x, y))
    .slice(0, top);
  return { shared, moreA: gaps('a'), moreB: gaps('b') };
}
