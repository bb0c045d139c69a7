// Search-as-you-type over WordNet noun lemmas: exact lemma matches first, then prefix matches, synsets the
// model's hierarchy knows (so photos can be under them) before others, then WordNet's sense order.
import type { WordNet } from '../taxonomy/wordnet.js';

/** Synset indexes whose lemmas start with `prefix` (case-insensitive, spaces as underscores), best first. */
export function searchSynsetsByPrefix(
  wordnet: WordNet,
  prefix: string,
  limit: number,
  inHierarchy: (wnid: string) => boolean,
): number[] {
  const p = prefix.trim().toLowerCase().replace(/[\s-]+/g, '_');
  if (p === '') return [];
  type Hit = { synset: number; exact: boolean; known: boolean; length: number; sense: number; order: number };
  const hits = new Map<number, Hit>();
  let order = 0;
  for (const e of wordnet.lemmasFrom(p)) {
    if (order >= 5000) break;
    e.synsets.forEach((s, sense) => {
      const hit: Hit = { synset: s, exact: e.lemma === p, known: inHierarchy(wordnet.wnid(s)), length: e.lemma.length, sense, order: order++ };
      const prev = hits.get(s);
      if (!prev || better(hit, prev)) hits.set(s, hit);
    });
  }
  return [...hits.values()].sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0)).slice(0, limit).map((h) => h.synset);

  function better(a: Hit, b: Hit): boolean {
    if (a.exact !== b.exact) return a.exact;
    if (a.known !== b.known) return a.known;
    if (a.length !== b.length) return a.length < b.length;
    if (a.sense !== b.sense) return a.sense < b.sense;
    return a.order < b.order;
  }
}
