// Search-as-you-type over WordNet noun lemmas: exact lemma matches first, then prefix matches, synsets the
// model's hierarchy knows (so photos can be under them) before others, then WordNet's sense order.
import type { WordNet } from '../taxonomy/wordnet.js';

interface LemmaEntry {
  lemma: string;
  synsets: number[];
}

const indexes = new WeakMap<WordNet, LemmaEntry[]>();

/** Every lemma of WordNet's noun index, sorted (built once per WordNet). */
function lemmaIndex(wordnet: WordNet): LemmaEntry[] {
  let entries = indexes.get(wordnet);
  if (!entries) {
    entries = [];
    for (const line of wordnet.data.index.split('\n')) {
      const space = line.indexOf(' ');
      if (space <= 0) continue;
      entries.push({ lemma: line.slice(0, space), synsets: line.slice(space + 1).split(',').map(Number) });
    }
    entries.sort((a, b) => (a.lemma < b.lemma ? -1 : a.lemma > b.lemma ? 1 : 0));
    indexes.set(wordnet, entries);
  }
  return entries;
}

/** Synset indexes whose lemmas start with `prefix` (case-insensitive, spaces as underscores), best first. */
export function searchSynsetsByPrefix(
  wordnet: WordNet,
  prefix: string,
  limit: number,
  inHierarchy: (wnid: string) => boolean,
): number[] {
  const p = prefix.trim().toLowerCase().replace(/[\s-]+/g, '_');
  if (p === '') return [];
  const entries = lemmaIndex(wordnet);
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid]!.lemma < p) lo = mid + 1;
    else hi = mid;
  }
  type Hit = { synset: number; exact: boolean; known: boolean; length: number; sense: number; order: number };
  const hits = new Map<number, Hit>();
  let order = 0;
  for (let i = lo; i < entries.length && entries[i]!.lemma.startsWith(p) && order < 5000; i++) {
    const e = entries[i]!;
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
