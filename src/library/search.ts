// Word search: words -> synsets (everyday words first, then WordNet lemmas, synonyms, nearest hypernyms in the
// hierarchy) -> visible photos, with "did you mean" senses for ambiguous words.
import type { LibraryDb } from './db.js';
import { LibraryError } from './errors.js';
import { checkLimit, listPhotos, type PhotoSummary } from './photos.js';
import type { TaxonomyView } from './taxonomy-view.js';
import type { Viewer } from './viewer.js';

export interface SearchResult {
  query: string;
  /** The synsets the words resolved to. */
  synsets: { wnid: string; name?: string }[];
  /**
   * "Did you mean": when one word has several unrelated senses the model knows (crane: the bird, the machine),
   * each with a hint (its broader concept), so the searcher can pick one; photos cover them all.
   */
  senses: { wnid: string; name?: string; hint?: string }[];
  /** Everyday words the model has no concept for (e.g. "sunset"), so nothing was guessed for them. */
  unknown: string[];
  /** Matching photos, best first (score = best score over the synsets), at least `minScore`. */
  photos: PhotoSummary[];
}

/** Everyday words (lower case) -> synsets, consulted before WordNet; an empty list = no concept for it. */
export type WordAliases = ReadonlyMap<string, readonly string[]>;

/**
 * Synsets for a query: everyday words first ("beach" -> seashore, sandbar), then the whole phrase as one lemma
 * ("sea shore"), else each word's synsets. `unknown` lists everyday words the model has no concept for.
 */
export function resolveQuery(t: TaxonomyView, query: string, aliases: WordAliases = new Map()): { wnids: string[]; unknown: string[] } {
  const words = query.toLowerCase().split(/[\s,]+/).filter((w) => w !== '');
  if (words.length === 0) return { wnids: [], unknown: [] };
  const unknown: string[] = [];
  const one = (word: string): string[] => {
    const alias = aliases.get(word) ?? (word.endsWith('s') ? aliases.get(word.slice(0, -1)) : undefined);
    if (alias !== undefined) {
      if (alias.length === 0) unknown.push(word);
      return alias.filter((w) => t.has(w));
    }
    return t.lookup(word);
  };
  const phrase = aliases.has(words.join(' ')) ? one(words.join(' ')) : one(words.join('_'));
  if (phrase.length > 0 || words.length === 1) return { wnids: phrase, unknown };
  const joined = t.lookup(words.join('')); // "sea shore" -> "seashore"
  if (joined.length > 0) return { wnids: joined, unknown };
  const out: string[] = [];
  for (const w of words) for (const s of one(w)) if (!out.includes(s)) out.push(s);
  return { wnids: out, unknown };
}

/** Synsets for a query (see resolveQuery). */
export function resolveWords(t: TaxonomyView, query: string, aliases?: WordAliases): string[] {
  return resolveQuery(t, query, aliases).wnids;
}

/** Whether `a` lies under `b` in the hierarchy. */
function isUnder(t: TaxonomyView, a: string, b: string): boolean {
  const stack = [a];
  const seen = new Set<string>();
  while (stack.length) {
    const w = stack.pop()!;
    if (w === b) return true;
    if (seen.has(w)) continue;
    seen.add(w);
    stack.push(...t.parents(w));
  }
  return false;
}

/** Senses to offer as "did you mean": a one-word WordNet query's synsets when none lies under another. */
function senseChoices(t: TaxonomyView, query: string, wnids: string[], aliases: WordAliases): SearchResult['senses'] {
  const words = query.toLowerCase().split(/[\s,]+/).filter((w) => w !== '');
  if (words.length !== 1 || aliases.has(words[0]!) || wnids.length < 2) return [];
  for (const a of wnids) for (const b of wnids) if (a !== b && isUnder(t, a, b)) return [];
  return wnids.map((w) => {
    const s: SearchResult['senses'][number] = { wnid: w };
    const name = t.name(w);
    if (name !== undefined) s.name = name;
    const up = t.parents(w)[0];
    const hint = up !== undefined ? t.name(up) : undefined;
    if (hint !== undefined) s.hint = hint;
    return s;
  });
}

export async function searchPhotos(
  db: LibraryDb,
  viewer: Viewer,
  query: string,
  opts: { taxonomy: TaxonomyView; owner?: string; limit?: number; minScore?: number; aliases?: WordAliases },
): Promise<SearchResult> {
  const limit = checkLimit(opts.limit, 50);
  const minScore = opts.minScore ?? 0.2;
  if (query.trim() === '') throw new LibraryError('bad_request', 'search needs at least one word');
  const t = opts.taxonomy;
  const aliases = opts.aliases ?? new Map<string, readonly string[]>();
  const resolved = resolveQuery(t, query, aliases);
  const wnids = resolved.wnids.slice(0, 8);
  const synsets = wnids.map((w) => {
    const s: { wnid: string; name?: string } = { wnid: w };
    const name = t.name(w);
    if (name !== undefined) s.name = name;
    return s;
  });
  // Merge the best-first pages of each synset; a photo keeps its best score.
  const best = new Map<number, PhotoSummary>();
  for (const w of wnids) {
    const page = await listPhotos(db, viewer, { under: w, owner: opts.owner, limit, taxonomy: t });
    for (const p of page.photos) {
      if ((p.score ?? 0) < minScore) break;
      const prev = best.get(p.id);
      if (!prev || (prev.score ?? 0) < (p.score ?? 0)) best.set(p.id, p);
    }
  }
  const photos = [...best.values()].sort((x, y) => (y.score ?? 0) - (x.score ?? 0) || x.id - y.id).slice(0, limit);
  return { query, synsets, senses: senseChoices(t, query, wnids, aliases), unknown: resolved.unknown, photos };
}
