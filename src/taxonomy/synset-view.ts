// A synset described for people (the `tree` command): lemmas, gloss, hypernym path to entity, children, senses of a word.
import type { Hierarchy } from './hierarchy.js';
import type { WordNet } from './wordnet.js';

export interface SynsetRef {
  wnid: string;
  name: string;
}

export interface SynsetDescription {
  wnid: string;
  lemmas: string[];
  gloss: string;
  /** All direct parents (hypernyms, then instance hypernyms). */
  hypernyms: SynsetRef[];
  /** Primary-hypernym chain from the synset up to entity (the synset first). */
  path: SynsetRef[];
  children: SynsetRef[];
  /** Model labels under the synset in the given hierarchy (0 when it is outside). */
  labelsUnder: number;
}

export interface TreeResult {
  query: string;
  synset: SynsetDescription;
  /** Every noun sense of the query word, most frequent first (just the synset for a wnid query). */
  senses: Array<SynsetRef & { gloss: string }>;
}

function ref(wn: WordNet, i: number): SynsetRef {
  return { wnid: wn.wnid(i), name: wn.lemmas(i).join(', ') };
}

export function describeSynset(wn: WordNet, i: number, hierarchy?: Hierarchy): SynsetDescription {
  const node = hierarchy?.node(wn.wnid(i));
  return {
    wnid: wn.wnid(i),
    lemmas: wn.lemmas(i),
    gloss: wn.gloss(i),
    hypernyms: wn.parents(i).map((p) => ref(wn, p)),
    path: wn.primaryPath(i).map((p) => ({ wnid: wn.wnid(p), name: wn.name(p) })),
    children: wn.children(i).map((c) => ref(wn, c)).sort((a, b) => a.name.localeCompare(b.name)),
    labelsUnder: node === undefined || !hierarchy ? 0 : hierarchy.leaves[node].length,
  };
}

/**
 * Resolves a word or wnid to a synset: a wnid directly; a word to its `sense`-th noun sense
 * (1 = most frequent). Returns null when WordNet has no such noun.
 */
export function lookupTree(wn: WordNet, query: string, opts: { sense?: number; hierarchy?: Hierarchy } = {}): TreeResult | null {
  const q = query.trim();
  const senses = /^n\d{8}$/.test(q) ? [wn.indexOf(q)].filter((i): i is number => i !== undefined) : wn.lookup(q);
  const pick = senses[(opts.sense ?? 1) - 1];
  if (pick === undefined) return null;
  return {
    query: q,
    synset: describeSynset(wn, pick, opts.hierarchy),
    senses: senses.map((s) => ({ ...ref(wn, s), gloss: wn.gloss(s) })),
  };
}

/** Plain-text rendering of a tree result. */
export function formatTree(result: TreeResult, opts: { maxChildren?: number } = {}): string {
  const s = result.synset;
  const max = opts.maxChildren ?? 40;
  const lines = [`${s.wnid}  ${s.lemmas.join(', ')}`, `  ${s.gloss}`, ''];
  lines.push(`path to entity: ${s.path.map((p) => p.name).join(' → ')}`);
  if (s.hypernyms.length > 1) lines.push(`hypernyms: ${s.hypernyms.map((h) => `${h.name} (${h.wnid})`).join('; ')}`);
  lines.push(`model labels under it: ${s.labelsUnder}`);
  lines.push(`children (${s.children.length}):`);
  for (const c of s.children.slice(0, max)) lines.push(`  ${c.wnid}  ${c.name}`);
  if (s.children.length > max) lines.push(`  … ${s.children.length - max} more`);
  if (result.senses.length > 1) {
    lines.push('', `other senses of '${result.query}' (--sense N):`);
    result.senses.forEach((x, i) => { if (x.wnid !== s.wnid) lines.push(`  ${i + 1}. ${x.wnid}  ${x.name}: ${x.gloss}`); });
  }
  return lines.join('\n');
}
