// Adapts the taxonomy's Hierarchy (WordNet DAG above the model's labels) to the library's TaxonomyView port.
import type { Hierarchy } from '../taxonomy/hierarchy.js';
import type { TaxonomyView } from './taxonomy-view.js';

export function hierarchyView(h: Hierarchy): TaxonomyView {
  const wn = h.wordnet;
  const node = (wnid: string) => h.node(wnid);
  // Nearest synsets inside the hierarchy above a WordNet synset (breadth-first, stopping at the first hits).
  const nearestInside = (start: number): string[] => {
    const found: string[] = [];
    const seen = new Set<number>([start]);
    let frontier = [start];
    for (let depth = 0; frontier.length > 0 && found.length === 0 && depth < 20; depth++) {
      const next: number[] = [];
      for (const s of frontier) {
        for (const p of wn.parents(s)) {
          if (seen.has(p)) continue;
          seen.add(p);
          const w = wn.wnid(p);
          if (node(w) !== undefined) found.push(w);
          else next.push(p);
        }
      }
      frontier = next;
    }
    return found;
  };
  return {
    root: h.wnids[h.root],
    leafCount: h.labelCount,
    name: (wnid) => {
      const n = node(wnid);
      if (n !== undefined) return h.names[n];
      const i = wn.indexOf(wnid); // any other WordNet noun (e.g. a concept named in feedback)
      return i === undefined ? undefined : wn.name(i);
    },
    parents: (wnid) => {
      const n = node(wnid);
      return n === undefined ? [] : h.parents[n].map((p) => h.wnids[p]);
    },
    leavesUnder: (wnid) => {
      const n = node(wnid);
      return n === undefined ? 0 : h.leaves[n].length;
    },
    has: (wnid) => node(wnid) !== undefined,
    nearestInside: (wnid) => {
      const i = wn.indexOf(wnid);
      if (i === undefined) return undefined;
      return wn.primaryPath(i).map((p) => wn.wnid(p)).find((w) => node(w) !== undefined);
    },
    lookup: (word) => {
      const senses = wn.lookup(word);
      const inside = senses.map((s) => wn.wnid(s)).filter((w) => node(w) !== undefined);
      if (inside.length > 0) return inside;
      // A word for something the model has no label under (e.g. "puppy"): its most frequent sense's nearest
      // hypernyms, unless they are so general (over half of all labels) that they would match almost anything.
      const general = (w: string) => h.leaves[node(w) as number].length > h.labelCount / 2;
      return senses.length > 0 ? nearestInside(senses[0]).filter((w) => !general(w)) : [];
    },
  };
}
