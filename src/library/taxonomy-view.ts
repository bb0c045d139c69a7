// What the library's queries need from the taxonomy (names, the hierarchy's shape, word lookup), as a small port.

export interface TaxonomyView {
  /** The hierarchy's root synset (WordNet `entity`, n00001740). */
  readonly root: string;
  /** Number of leaves (model labels) in the hierarchy. */
  readonly leafCount: number;
  /** Display name of a synset, if known. */
  name(wnid: string): string | undefined;
  /** Hypernyms inside the hierarchy, primary first; [] for the root or unknown synsets. */
  parents(wnid: string): string[];
  /** Number of leaves under a synset (1 for a leaf; 0 when unknown). */
  leavesUnder(wnid: string): number;
  /** Whether the synset is part of the hierarchy (so node scores may exist for it). */
  has(wnid: string): boolean;
  /**
   * Synsets in the hierarchy a word stands for: its WordNet senses (lemmas and synonyms) that are in the
   * hierarchy, and for senses outside it (e.g. "puppy") their nearest hypernyms inside it.
   */
  lookup(word: string): string[];
  /**
   * For a WordNet synset outside the hierarchy (a concept's anchor, e.g. "beach"): the first synset inside it on
   * its primary-hypernym path; undefined when unknown. Optional (without it such synsets attach at the root).
   */
  nearestInside?(wnid: string): string | undefined;
}

/** Information content of a node in bits: log2(#leaves / #leaves under it) (the DARTS reward). */
export function informationBits(t: TaxonomyView, wnid: string): number {
  const under = t.leavesUnder(wnid);
  if (under <= 0 || t.leafCount <= 0) return 0;
  return Math.log2(t.leafCount / under);
}

/** The primary-hypernym chain from a synset up to the root, the synset first. */
const primaryParents = new WeakMap<TaxonomyView, Map<string, string | null>>();

/** A synset's first parent (memoised per taxonomy view: pages walk the same paths again and again). */
function primaryParent(t: TaxonomyView, wnid: string): string | null {
  let m = primaryParents.get(t);
  if (!m) primaryParents.set(t, (m = new Map()));
  let up = m.get(wnid);
  if (up === undefined) {
    up = t.parents(wnid)[0] ?? null;
    m.set(wnid, up);
  }
  return up;
}

export function primaryPath(t: TaxonomyView, wnid: string): string[] {
  const path = [wnid];
  const seen = new Set(path);
  let cur = wnid;
  for (;;) {
    const up = primaryParent(t, cur);
    if (!up || seen.has(up)) return path;
    path.push(up);
    seen.add(up);
    cur = up;
  }
}
