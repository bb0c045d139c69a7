// The word-search index: per photo, a document of terms — the wnid of every synset it is under with at least
// TERM_MIN (e.g. "n02084071"), and again with an `h` prefix at SYNSET_MIN or more ("hn02084071", a confident
// match). Words resolve to synsets through WordNet (search.ts); several words are ANDed in the full-text engine:
// SQLite FTS5 (contentless, rowid = photo id) or a PostgreSQL tsvector with a GIN index. Kept in the same
// transaction as the analysis. Later kinds (tags, person names) add their own prefixed terms.
import { sql, SqliteAdapter, type Kysely } from 'kysely';
import { SYNSET_MIN } from './counts.js';
import type { Dialect } from './migrations.js';
import type { LibrarySchema } from './schema.js';

/** A photo is found by a word from this score of the word's synset (the search floor). */
export const TERM_MIN = 0.2;

type Db = Kysely<LibrarySchema>;

export function dialectOf(db: Kysely<any>): Dialect {
  return db.getExecutor().adapter instanceof SqliteAdapter ? 'sqlite' : 'postgres';
}

/** The term document of one analysis. */
export function termsOf(nodeScores: ReadonlyArray<{ wnid: string; score: number }>): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const n of nodeScores) {
    if (!(n.score >= TERM_MIN) || seen.has(n.wnid) || !/^n\d{8}$/.test(n.wnid)) continue;
    seen.add(n.wnid);
    out.push(n.wnid);
    if (n.score >= SYNSET_MIN) out.push(`h${n.wnid}`);
  }
  return out.join(' ');
}

/** Replaces a photo's terms (inside the caller's transaction). */
export async function writeTerms(db: Db, photoId: number, terms: string): Promise<void> {
  if (dialectOf(db) === 'sqlite') {
    await sql`delete from photo_terms where rowid = ${photoId}`.execute(db);
    if (terms !== '') await sql`insert into photo_terms (rowid, terms) values (${photoId}, ${terms})`.execute(db);
  } else {
    await sql`delete from photo_terms where photo_id = ${photoId}`.execute(db);
    if (terms !== '') await sql`insert into photo_terms (photo_id, terms) values (${photoId}, to_tsvector('simple', ${terms}))`.execute(db);
  }
}

export async function deleteTerms(db: Db, photoId: number): Promise<void> {
  if (dialectOf(db) === 'sqlite') await sql`delete from photo_terms where rowid = ${photoId}`.execute(db);
  else await sql`delete from photo_terms where photo_id = ${photoId}`.execute(db);
}

/** The full-text query: every group (a word's synsets) must match one of its synsets; `confident` uses h-terms. */
export function matchQuery(groups: string[][], confident: boolean, dialect: Dialect): string {
  const term = (w: string) => (confident ? `h${w}` : w);
  const or = dialect === 'sqlite' ? ' OR ' : ' | ';
  const and = dialect === 'sqlite' ? ' AND ' : ' & ';
  return groups.map((g) => `(${g.filter((w) => /^n\d{8}$/.test(w)).map(term).join(or)})`).join(and);
}

/** SQL creating the terms table (and backfilling it from stored node scores). */
export async function createTermsTable(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect === 'sqlite') {
    await sql`create virtual table photo_terms using fts5(terms, content='', contentless_delete=1)`.execute(db);
    await sql`insert into photo_terms (rowid, terms)
      select photo_id, group_concat(wnid || case when score >= ${sql.lit(SYNSET_MIN)} then ' h' || wnid else '' end, ' ')
      from node_scores where score >= ${sql.lit(TERM_MIN)} group by photo_id`.execute(db);
  } else {
    await sql`create table photo_terms (photo_id integer primary key references photos(id) on delete cascade, terms tsvector not null)`.execute(db);
    await sql`create index photo_terms_gin on photo_terms using gin (terms)`.execute(db);
    await sql`insert into photo_terms (photo_id, terms)
      select photo_id, to_tsvector('simple', string_agg(wnid || case when score >= ${sql.lit(SYNSET_MIN)} then ' h' || wnid else '' end, ' '))
      from node_scores where score >= ${sql.lit(TERM_MIN)} group by photo_id`.execute(db);
  }
}
