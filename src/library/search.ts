// Word search: words -> synsets (everyday words first, then WordNet lemmas, synonyms, nearest hypernyms in the
// hierarchy) -> visible photos, with "did you mean" senses for ambiguous words.
import type { LibraryDb } from './db.js';
import { LibraryError } from './errors.js';
import { sql } from 'kysely';
import { checkLimit, listPhotos, photoSummaries, resolveOwner, type PhotoSummary } from './photos.js';
import { tagsNamed, type TagInfo } from './tags.js';
import { dialectOf, matchQuery, TERM_MIN } from './terms.js';
import type { TaxonomyView } from './taxonomy-view.js';
import { visibleTo, type Viewer } from './viewer.js';

export interface SearchResult {
  query: string;
  /** The synsets the words resolved to. */
  synsets: { wnid: string; name?: string }[];
  /**
   * "Did you mean": when one word has several unrelated senses the model knows (crane: the bird, the machine),
   * each with a hint (its broader concept), so the searcher can pick one; photos cover them all.
   */
  senses: { wnid: string; name?: string; hint?: string }[];
  /** Everyday words the model has no concept or tag for (e.g. "sunrise"), so nothing was guessed for them. */
  unknown: string[];
  /** People (named by their owner, visible to the viewer) whose name matched the words; their photos come first. */
  people: { name: string }[];
  /** Tags the query names ("sunset", the viewer's own "my dogs"); their photos (best tag score first) come next. */
  tags: TagInfo[];
  /** Matching photos, best first (score = best score over the synsets), at least `minScore`. */
  photos: PhotoSummary[];
}

/** Everyday words (lower case) -> synsets, consulted before WordNet; an empty list = no concept for it. */
export type WordAliases = ReadonlyMap<string, readonly string[]>;

/**
 * A query as groups of synsets, ANDed: everyday words first ("beach" -> seashore, sandbar), then the whole phrase
 * as one lemma ("sea shore") or the words joined ("seashore"), else one group per word (a word nothing knows
 * matches nothing). `wnids` is the union of the groups; `unknown` lists everyday words the model has no concept for.
 */
export function resolveQuery(t: TaxonomyView, query: string, aliases: WordAliases = new Map()): { groups: string[][]; wnids: string[]; unknown: string[] } {
  const words = query.toLowerCase().split(/[\s,]+/).filter((w) => w !== '');
  if (words.length === 0) return { groups: [], wnids: [], unknown: [] };
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
  if (phrase.length > 0 || words.length === 1) return { groups: [phrase], wnids: phrase, unknown };
  const joined = t.lookup(words.join('')); // "sea shore" -> "seashore"
  if (joined.length > 0) return { groups: [joined], wnids: joined, unknown };
  const groups = words.map((w) => one(w).slice(0, 8));
  const out: string[] = [];
  for (const g of groups) for (const s of g) if (!out.includes(s)) out.push(s);
  return { groups, wnids: out, unknown };
}

/** The query's synset groups, one per word, ANDed (see resolveQuery). */
export function resolveGroups(t: TaxonomyView, query: string, aliases?: WordAliases): string[][] {
  return resolveQuery(t, query, aliases).groups;
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
  const minScore = opts.minScore ?? TERM_MIN;
  if (query.trim() === '') throw new LibraryError('bad_request', 'search needs at least one word');
  const t = opts.taxonomy;
  const aliases = opts.aliases ?? new Map<string, readonly string[]>();
  const resolved = resolveQuery(t, query, aliases);
  const groups = resolved.groups.map((g) => g.slice(0, 8));
  const wnids = [...new Set(groups.flat())];
  const synsets = wnids.map((w) => {
    const s: { wnid: string; name?: string } = { wnid: w };
    const name = t.name(w);
    if (name !== undefined) s.name = name;
    return s;
  });
  // A named person matches with full score: "Aunt Margaret" finds her photos, first.
  const named = (await listPhotos(db, viewer, { person: query, owner: opts.owner, limit, taxonomy: t, newestFirst: true })).photos.map((p) => ({ ...p, score: 1 }));
  const people = named.length > 0 ? [{ name: query.trim() }] : [];
  // A tag named by the query: photos carrying it (at its calibrated threshold), best first.
  const tags = await tagsNamed(db, viewer, query);
  const tagged: PhotoSummary[] = [];
  for (const tag of tags) tagged.push(...(await listPhotos(db, viewer, { tag: tag.id, owner: opts.owner, limit })).photos);
  tagged.sort((x, y) => (y.score ?? 0) - (x.score ?? 0) || x.id - y.id);
  const tagWords = new Set(tags.flatMap((g) => [g.id, g.name]));
  const unknown = resolved.unknown.filter((w) => !tagWords.has(w.toLowerCase()));
  const answer = (found: PhotoSummary[]): SearchResult => {
    const seen = new Set<number>();
    const photos = [...named, ...tagged, ...found].filter((p) => !seen.has(p.id) && (seen.add(p.id), true)).slice(0, limit);
    return { query, synsets, senses: senseChoices(t, query, wnids, aliases), unknown, people, tags, photos };
  };
  if (groups.length === 0 || groups.some((g) => g.length === 0)) return answer([]);
  if (groups.length > 1 && minScore >= TERM_MIN) return answer(await searchAll(db, viewer, groups, { owner: opts.owner, limit, minScore }));
  // One word: merge the best-first pages of its synsets (index range scans); a photo keeps its best score.
  const best = new Map<number, PhotoSummary>();
  for (const w of groups[0]!) {
    const page = await listPhotos(db, viewer, { under: w, owner: opts.owner, limit, taxonomy: t });
    for (const p of page.photos) {
      if ((p.score ?? 0) < minScore) break;
      const prev = best.get(p.id);
      if (!prev || (prev.score ?? 0) < (p.score ?? 0)) best.set(p.id, p);
    }
  }
  const photos = [...best.values()].sort((x, y) => (y.score ?? 0) - (x.score ?? 0) || x.id - y.id).slice(0, limit);
  return answer(photos);
}

/**
 * Several words: photos under a synset of EVERY word, found in the full-text index — confident matches
 * (every word at SYNSET_MIN or more) first, then the rest, newest first within each; each photo's score is its
 * weakest word's best synset score.
 */
async function searchAll(db: LibraryDb, viewer: Viewer, groups: string[][], opts: { owner?: string; limit: number; minScore: number }): Promise<PhotoSummary[]> {
  const dialect = dialectOf(db);
  const ownerId = opts.owner !== undefined ? await resolveOwner(db, opts.owner, viewer) : undefined;
  const ids: number[] = [];
  for (const confident of [true, false]) {
    const match = matchQuery(groups, confident, dialect);
    const owner = ownerId !== undefined ? sql`and p.owner_id = ${ownerId}` : sql``;
    const not = ids.length > 0 ? sql`and p.id not in (${sql.join(ids)})` : sql``;
    const rows =
      dialect === 'sqlite'
        ? await sql<{ id: number }>`select p.id from photo_terms t join photos p on p.id = t.rowid
            where photo_terms match ${match} and ${visibleTo(viewer, 'p')} ${owner} ${not} order by t.rowid desc limit ${opts.limit - ids.length}`.execute(db)
        : await sql<{ id: number }>`select p.id from photo_terms t join photos p on p.id = t.photo_id
            where t.terms @@ to_tsquery('simple', ${match}) and ${visibleTo(viewer, 'p')} ${owner} ${not} order by t.photo_id desc limit ${opts.limit - ids.length}`.execute(db);
    ids.push(...rows.rows.map((r) => r.id));
    if (ids.length >= opts.limit) break;
  }
  if (ids.length === 0) return [];
  const scores = await db.selectFrom('node_scores').select(['photo_id', 'wnid', 'score']).where('photo_id', 'in', ids).where('wnid', 'in', groups.flat()).execute();
  const byPhoto = new Map<number, Map<string, number>>();
  for (const s of scores) {
    let m = byPhoto.get(s.photo_id);
    if (!m) byPhoto.set(s.photo_id, (m = new Map()));
    m.set(s.wnid, s.score);
  }
  const summaries = new Map((await photoSummaries(db, viewer, ids)).map((p) => [p.id, p]));
  const out: PhotoSummary[] = [];
  for (const id of ids) {
    const p = summaries.get(id);
    const m = byPhoto.get(id);
    if (!p || !m) continue;
    const score = Math.min(...groups.map((g) => Math.max(0, ...g.map((w) => m.get(w) ?? 0))));
    if (score >= opts.minScore) out.push({ ...p, score });
  }
  return out;
}
