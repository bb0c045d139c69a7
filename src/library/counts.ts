// Maintained photo counts per (owner, visibility, kind, key): kept current in the same transaction that
// stores, re-analyses, changes the visibility of or deletes a photo, so pages read a few rows instead of
// counting millions. `recountAll` recomputes them from the photos (doctor --repair-counts) and reports drift.
import { sql, type Kysely, type Transaction } from 'kysely';
import { readCategoryFile, type CategoryDef } from '../taxonomy/categories.js';
import type { LibraryDb } from './db.js';
import type { Dialect } from './migrations.js';
import type { LibrarySchema } from './schema.js';
import type { Viewer } from './viewer.js';

/**
 * What is counted. `photos` (key '') counts analysed photos; `synset` (key wnid) counts photos whose lifted
 * score is at least SYNSET_MIN and sums their scores; `category` (key category id) does the same for everyday
 * categories at CATEGORY_MIN; `tag` (key concept id) counts the photos carrying a tag (stored tags are the
 * concepts scored at or above their calibrated threshold) and sums their scores. An owner's custom tags
 * ("OWNER/NAME") are counted only under that owner, as 'private' whatever the photo's visibility, and never
 * under ALL_OWNERS: nobody else's counts (public, another owner's, everyone's) can reveal them.
 */
export type CountKind = 'photos' | 'synset' | 'category' | 'tag';

/** A photo is "under" a synset (category tree, synset pages, search counts) at this score. */
export const SYNSET_MIN = 0.5;
/** A photo is in an everyday category (home page) at this score. */
export const CATEGORY_MIN = 0.3;
/** Owner id of the rows that aggregate every owner. */
export const ALL_OWNERS = 0;
/** Scores are summed as integers in millionths so that sums stay exact under any order of updates. */
export const MICROS = 1_000_000;

/** A score as the integer the count table sums (floor(score * 1e6 + 0.5); the same expression in SQL). */
export function micros(score: number): number {
  return Math.floor(score * MICROS + 0.5);
}

/** One photo's contribution to the counts of its (owner, visibility). */
export interface Contribution {
  kind: CountKind;
  key: string;
  photos: number;
  score: number;
  /** Counted only under the photo's owner, as 'private' (an owner's custom tag). */
  ownerOnly?: boolean;
}

/** The analysis fields that are counted. */
export interface Countable {
  nodeScores: ReadonlyArray<{ wnid: string; score: number }>;
  categories: ReadonlyArray<{ id: string; score: number }>;
  /** The photo's tags (concepts at or above their threshold), as stored in `photo_tags`. */
  tags?: ReadonlyArray<{ id: string; score: number }>;
}

/** Whether a tag id is an owner's custom concept ("OWNER/NAME") rather than an everyday one ("beach"). */
export function isCustomTag(id: string): boolean {
  return id.includes('/');
}

/** A photo's tags as stored: the first of each id, finite scores only (store.ts writes exactly these). */
export function storedTags(tags: ReadonlyArray<{ id: string; score: number }> | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of tags ?? []) if (Number.isFinite(t.score) && !out.has(t.id)) out.set(t.id, t.score);
  return out;
}

/** One tag's contribution (a photo carrying it). */
export function tagContribution(id: string, score: number): Contribution {
  const c: Contribution = { kind: 'tag', key: id, photos: 1, score: micros(score) };
  if (isCustomTag(id)) c.ownerOnly = true;
  return c;
}

/** What one analysed photo adds to the counts (each synset and category once). */
export function contributionOf(a: Countable): Contribution[] {
  const out: Contribution[] = [{ kind: 'photos', key: '', photos: 1, score: 0 }];
  const seen = new Set<string>();
  for (const n of a.nodeScores) {
    if (seen.has(n.wnid) || !Number.isFinite(n.score)) continue;
    seen.add(n.wnid);
    out.push({ kind: 'synset', key: n.wnid, photos: n.score >= SYNSET_MIN ? 1 : 0, score: micros(n.score) });
  }
  const cats = new Set<string>();
  for (const c of a.categories) {
    if (cats.has(c.id) || !Number.isFinite(c.score)) continue;
    cats.add(c.id);
    out.push({ kind: 'category', key: c.id, photos: c.score >= CATEGORY_MIN ? 1 : 0, score: micros(c.score) });
  }
  for (const [id, score] of storedTags(a.tags)) out.push(tagContribution(id, score));
  return out;
}

let categoryFile: Map<string, CategoryDef> | undefined;
/** Names and synsets of the everyday categories (the committed data file, read once), by id. */
export function categoryDefinitions(): Map<string, CategoryDef> {
  categoryFile ??= new Map(readCategoryFile().categories.map((c) => [c.id, c]));
  return categoryFile;
}

export interface CountRow {
  owner_id: number;
  visibility: 'private' | 'public';
  kind: string;
  key: string;
  photos: number;
  score_micros: number;
}

/** Changes to apply to the count table, aggregated per row (for one photo or a whole bulk batch). */
export class CountDeltas {
  /** Rows per (owner, visibility) scope, then per kind + key. */
  private readonly scopes = new Map<string, Map<string, CountRow>>();

  /**
   * Adds (sign 1) or removes (sign -1) a photo's contribution under its owner and under ALL_OWNERS (an
   * `ownerOnly` part only under its owner, as 'private'); `copies` photos with the same contribution at once.
   */
  add(ownerId: number, visibility: 'private' | 'public', contribution: Contribution[], sign: 1 | -1, copies = 1): void {
    for (const c of contribution) {
      const targets = c.ownerOnly ? ([[ownerId, 'private']] as const) : ([[ownerId, visibility], [ALL_OWNERS, visibility]] as const);
      for (const [owner, vis] of targets) {
        const scopeId = `${owner}\u0000${vis}`;
        let scope = this.scopes.get(scopeId);
        if (!scope) this.scopes.set(scopeId, (scope = new Map()));
        const id = c.kind === 'synset' ? c.key : `${c.kind}\u0000${c.key}`;
        let row = scope.get(id);
        if (!row) {
          row = { owner_id: owner, visibility: vis, kind: c.kind, key: c.key, photos: 0, score_micros: 0 };
          scope.set(id, row);
        }
        row.photos += sign * copies * c.photos;
        row.score_micros += sign * copies * c.score;
      }
    }
  }

  /** Adds another set of changes to these. */
  merge(other: CountDeltas): void {
    for (const [scopeId, rows] of other.scopes) {
      let scope = this.scopes.get(scopeId);
      if (!scope) this.scopes.set(scopeId, (scope = new Map()));
      for (const [id, r] of rows) {
        const row = scope.get(id);
        if (row) {
          row.photos += r.photos;
          row.score_micros += r.score_micros;
        } else scope.set(id, { ...r });
      }
    }
  }

  /** Non-zero changes in a fixed order (rows are always locked in the same order: no deadlocks). */
  changes(): CountRow[] {
    return [...this.scopes.values()]
      .flatMap((scope) => [...scope.values()])
      .filter((r) => r.photos !== 0 || r.score_micros !== 0)
      .sort(compareCountRows);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The order of count keys within one (owner, visibility) scope: kind, then key, byte-wise. */
export function compareCountKeys(a: { kind: string; key: string }, b: { kind: string; key: string }): number {
  return cmp(a.kind, b.kind) || cmp(a.key, b.key);
}

/** The order count rows are always written (and so locked) in: owner, visibility, kind, key. */
export function compareCountRows(a: CountRow, b: CountRow): number {
  return a.owner_id - b.owner_id || cmp(a.visibility, b.visibility) || compareCountKeys(a, b);
}

const CHUNK = 400;

/** Adds the deltas to the count table (upsert), inside the caller's transaction. */
export async function applyCountDeltas(tx: Kysely<LibrarySchema> | Transaction<LibrarySchema>, deltas: CountDeltas): Promise<void> {
  const rows = deltas.changes();
  for (let i = 0; i < rows.length; i += CHUNK) {
    await tx
      .insertInto('concept_counts')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) =>
        oc.columns(['owner_id', 'visibility', 'kind', 'key']).doUpdateSet({
          photos: sql`concept_counts.photos + excluded.photos`,
          score_micros: sql`concept_counts.score_micros + excluded.score_micros`,
        }),
      )
      .execute();
  }
}

/** The stored contribution of a photo's current analysis (null when it has none), read inside a transaction. */
export async function storedContribution(tx: Kysely<LibrarySchema> | Transaction<LibrarySchema>, photoId: number): Promise<Contribution[] | null> {
  const a = await tx.selectFrom('analyses').select('categories').where('photo_id', '=', photoId).executeTakeFirst();
  if (!a) return null;
  const nodeScores = await tx.selectFrom('node_scores').select(['wnid', 'score']).where('photo_id', '=', photoId).execute();
  const tags = await tx.selectFrom('photo_tags').select(['concept_id as id', 'score']).where('photo_id', '=', photoId).execute();
  return contributionOf({ nodeScores, categories: JSON.parse(a.categories) as Array<{ id: string; score: number }>, tags });
}

/** The (owner, visibility) rows a viewer's counts add up, for all owners or one owner. */
export function countScopes(viewer: Viewer, ownerId?: number): Array<{ owner: number; visibility: 'private' | 'public' }> {
  const both = (owner: number) => [
    { owner, visibility: 'private' as const },
    { owner, visibility: 'public' as const },
  ];
  if (ownerId === undefined) {
    if (viewer.kind === 'admin') return both(ALL_OWNERS);
    if (viewer.kind === 'public') return [{ owner: ALL_OWNERS, visibility: 'public' }];
    return [
      { owner: ALL_OWNERS, visibility: 'public' },
      { owner: viewer.ownerId, visibility: 'private' },
    ];
  }
  if (viewer.kind === 'admin' || (viewer.kind === 'owner' && viewer.ownerId === ownerId)) return both(ownerId);
  return [{ owner: ownerId, visibility: 'public' }];
}

export interface CountTotal {
  key: string;
  photos: number;
  /** Sum of the scores (not millionths). */
  total: number;
}

/**
 * The viewer's counts of one kind (all keys, or only `keys`), summed over the scopes; keys with neither
 * photos nor score are left out.
 */
export async function readCounts(
  db: LibraryDb,
  viewer: Viewer,
  kind: CountKind,
  opts: { ownerId?: number; keys?: string[]; withPhotos?: boolean } = {},
): Promise<CountTotal[]> {
  if (opts.keys && opts.keys.length === 0) return [];
  // One statement: a primary-key range per scope (owner, visibility, kind), summed here. `withPhotos` reads only
  // rows that count photos (the category tree needs no score sums; about half the rows).
  const sums = new Map<string, CountTotal>();
  let q = db
    .selectFrom('concept_counts')
    .select(['key', 'photos', 'score_micros'])
    .where('kind', '=', kind)
    .where((eb) => eb.or(countScopes(viewer, opts.ownerId).map((scope) => eb.and([eb('owner_id', '=', scope.owner), eb('visibility', '=', scope.visibility)]))));
  if (opts.keys) q = q.where('key', 'in', opts.keys);
  if (opts.withPhotos) q = q.where('photos', '<>', 0);
  for (const r of await q.execute()) {
    const t = sums.get(r.key);
    if (t) {
      t.photos += Number(r.photos);
      t.total += Number(r.score_micros);
    } else sums.set(r.key, { key: r.key, photos: Number(r.photos), total: Number(r.score_micros) });
  }
  const out: CountTotal[] = [];
  for (const t of sums.values()) {
    if (t.photos === 0 && t.total === 0) continue;
    t.total /= MICROS;
    out.push(t);
  }
  return out;
}

/** Photos the viewer may see (of one owner when given), from the counts. */
export async function countPhotos(db: LibraryDb, viewer: Viewer, ownerId?: number): Promise<number> {
  const rows = await readCounts(db, viewer, 'photos', { ownerId, keys: [''] });
  return rows[0]?.photos ?? 0;
}

export interface CountDrift {
  owner_id: number;
  visibility: string;
  kind: string;
  key: string;
  stored: { photos: number; score_micros: number };
  expected: { photos: number; score_micros: number };
}

export interface RecountReport {
  rows: number;
  drift: CountDrift[];
  repaired: boolean;
  seconds: number;
}

/** SQL that recomputes every count row from the photos (the same rules as `contributionOf`). */
export function expectedCountsSql(dialect: Dialect) {
  const pg = dialect === 'postgres';
  const m = (col: string) => (pg ? `cast(floor(${col} * ${MICROS} + 0.5) as bigint)` : `cast(${col} * ${MICROS} + 0.5 as integer)`);
  const catScore = pg ? `(c.value->>'score')::double precision` : `json_extract(c.value, '$.score')`;
  const catId = pg ? `c.value->>'id'` : `json_extract(c.value, '$.id')`;
  const catFrom = pg ? `jsonb_array_elements(a.categories::jsonb) as c(value)` : `json_each(a.categories) as c`;
  // `shared`: 0 for an owner's custom tags (counted only under the owner, as 'private'; see CountDeltas.add)
  const custom = `t.concept_id like '%/%'`;
  const per = `
    select p.owner_id as owner_id, p.visibility as visibility, 'photos' as kind, '' as key, 1 as photos, 0 as score_micros, 1 as shared
      from photos p join analyses a on a.photo_id = p.id
    union all
    select p.owner_id, p.visibility, 'synset', ns.wnid, case when ns.score >= ${SYNSET_MIN} then 1 else 0 end, ${m('ns.score')}, 1
      from node_scores ns join photos p on p.id = ns.photo_id
    union all
    select p.owner_id, p.visibility, 'category', ${catId}, case when ${catScore} >= ${CATEGORY_MIN} then 1 else 0 end, ${m(catScore)}, 1
      from photos p join analyses a on a.photo_id = p.id, ${catFrom}
    union all
    select p.owner_id, case when ${custom} then 'private' else p.visibility end, 'tag', t.concept_id, 1, ${m('t.score')},
        case when ${custom} then 0 else 1 end
      from photo_tags t join photos p on p.id = t.photo_id join analyses a on a.photo_id = p.id`;
  return sql<CountRow>`${sql.raw(`
    select owner_id, visibility, kind, key, sum(photos) as photos, sum(score_micros) as score_micros from (${per}) x
      group by owner_id, visibility, kind, key
    union all
    select ${ALL_OWNERS}, visibility, kind, key, sum(photos), sum(score_micros) from (${per}) y where shared = 1
      group by visibility, kind, key`)}`;
}

/**
 * Recomputes every count from the photos and compares with the stored table; with `repair`, replaces the
 * table's content in one transaction. Returns the rows that differed (none when the counts are exact).
 */
export async function recountAll(db: LibraryDb, dialect: Dialect, opts: { repair?: boolean } = {}): Promise<RecountReport> {
  const t0 = performance.now();
  return db.transaction().execute(async (tx) => {
    if (dialect === 'postgres') await sql`lock table concept_counts in exclusive mode`.execute(tx);
    const expected = (await expectedCountsSql(dialect).execute(tx)).rows;
    const stored = await tx.selectFrom('concept_counts').selectAll().execute();
    const id = (r: { owner_id: number; visibility: string; kind: string; key: string }) => `${r.owner_id}\u0000${r.visibility}\u0000${r.kind}\u0000${r.key}`;
    const want = new Map(expected.map((r) => [id(r), { ...r, owner_id: Number(r.owner_id), photos: Number(r.photos), score_micros: Number(r.score_micros) }]));
    const drift: CountDrift[] = [];
    const have = new Set<string>();
    for (const s of stored) {
      const k = id(s);
      have.add(k);
      const w = want.get(k) ?? { photos: 0, score_micros: 0 };
      const sp = Number(s.photos);
      const ss = Number(s.score_micros);
      if (sp !== w.photos || ss !== w.score_micros)
        drift.push({ owner_id: s.owner_id, visibility: s.visibility, kind: s.kind, key: s.key, stored: { photos: sp, score_micros: ss }, expected: { photos: w.photos, score_micros: w.score_micros } });
    }
    for (const [k, w] of want) {
      if (have.has(k) || (w.photos === 0 && w.score_micros === 0)) continue;
      drift.push({ owner_id: w.owner_id, visibility: w.visibility, kind: w.kind, key: w.key, stored: { photos: 0, score_micros: 0 }, expected: { photos: w.photos, score_micros: w.score_micros } });
    }
    if (opts.repair && drift.length > 0) {
      await tx.deleteFrom('concept_counts').execute();
      const rows = [...want.values()].filter((r) => r.photos !== 0 || r.score_micros !== 0);
      for (let i = 0; i < rows.length; i += CHUNK) await tx.insertInto('concept_counts').values(rows.slice(i, i + CHUNK)).execute();
    }
    return { rows: want.size, drift, repaired: opts.repair === true && drift.length > 0, seconds: (performance.now() - t0) / 1000 };
  });
}
