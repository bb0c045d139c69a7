// Word search: words -> WordNet synsets (lemmas, synonyms, nearest hypernyms in the hierarchy) -> visible photos.
import type { LibraryDb } from './db.js';
import { LibraryError } from './errors.js';
import { checkLimit, listPhotos, type PhotoSummary } from './photos.js';
import type { TaxonomyView } from './taxonomy-view.js';
import type { Viewer } from './viewer.js';

export interface SearchResult {
  query: string;
  /** The synsets the words resolved to. */
  synsets: { wnid: string; name?: string }[];
  /** Matching photos, best first (score = best score over the synsets), at least `minScore`. */
  photos: PhotoSummary[];
}

/** Synsets for a query: the whole phrase as one lemma first ("sea shore"), else each word's synsets. */
export function resolveWords(t: TaxonomyView, query: string): string[] {
  const words = query.toLowerCase().split(/[\s,]+/).filter((w) => w !== '');
  if (words.length === 0) return [];
  const phrase = t.lookup(words.join('_'));
  if (phrase.length > 0 || words.length === 1) return phrase;
  const joined = t.lookup(words.join('')); // "sea shore" -> "seashore"
  if (joined.length > 0) return joined;
  const out: string[] = [];
  for (const w of words) for (const s of t.lookup(w)) if (!out.includes(s)) out.push(s);
  return out;
}

export async function searchPhotos(
  db: LibraryDb,
  viewer: Viewer,
  query: string,
  opts: { taxonomy: TaxonomyView; owner?: string; limit?: number; minScore?: number },
): Promise<SearchResult> {
  const limit = checkLimit(opts.limit, 50);
  const minScore = opts.minScore ?? 0.2;
  if (query.trim() === '') throw new LibraryError('bad_request', 'search needs at least one word');
  const t = opts.taxonomy;
  const wnids = resolveWords(t, query).slice(0, 8);
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
  return { query, synsets, photos };
}
