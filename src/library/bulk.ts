// The bulk path: many NEW photos with complete analyses in one transaction per batch, stored set-wise. Photos
// that share an analysis object (copies of one classification, e.g. the scale benchmark's synthetic photos)
// share its rows' content: each distinct analysis (a "template": analysis row fields, node scores, term
// document, tags, count contribution) is staged once per batch, and one INSERT ... SELECT per table joins the
// batch's photos with it on SQLite (PostgreSQL: binary COPY of the rows); a photo may bring its own embedding.
// Counts are aggregated set-wise per (owner, visibility, template) and applied in the same transaction.
// `buildNewLibrary` builds a whole new library this way, marked until done. For imports and the scale benchmark;
// everyday ingest stores one photo per transaction (store.ts).
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { PhotoAnalysis } from './analysis.js';
import { ALL_OWNERS, compareCountKeys, compareCountRows, contributionOf, CountDeltas, storedTags, type Contribution, type CountRow } from './counts.js';
import { BULK_BUILD_KEY, bulkBuildMarker, nowIso, type Library } from './db.js';
import { compactEmbedding, compactEmbeddingInto, compactLength, isCompactEmbedding } from './embedding.js';
import { termsOf } from './terms.js';
import type { PhotoFacts, Visibility } from './store.js';

export interface BulkPhoto {
  ownerId: number;
  visibility: Visibility;
  facts: PhotoFacts;
  /** The analysis. Photos given the same object are copies of it: its rows are staged once per batch. */
  analysis: PhotoAnalysis;
  /**
   * This photo's own embedding instead of the analysis's (a copy that looks a little different): a vector, or
   * its stored compact bytes (`compactEmbedding`) when the caller packed it already.
   */
  embedding?: Float32Array | Uint8Array;
}

/** SQLite page cache during a deferred-index load (KiB). */
const BULK_CACHE_KIB = 512 * 1024;
/** SQLite page cache while building the deferred indexes (KiB): the size of the sorter's runs. */
const INDEX_SORT_CACHE_KIB = 2000;

/** One distinct analysis of a batch, in the form its rows take. */
interface Template {
  analysis: PhotoAnalysis;
  top: { wnid: string; score: number };
  labels: string;
  categories: string;
  embedding: Buffer | null;
  nodes: Array<{ wnid: string; score: number }>;
  terms: string;
  tags: Array<{ id: string; score: number }>;
  /** Its contribution to the counts (`ownerOnly` 1: only under the owner, as 'private'). */
  counts: Array<{ kind: string; key: string; photos: number; score: number; ownerOnly: number }>;
}

function templateOf(a: PhotoAnalysis, needEmbedding: boolean): Template {
  const top = a.labels[0];
  if (!top) throw new Error('an analysis needs at least one label');
  if (a.timeline) throw new Error('the bulk path stores photos; an animation (with a timeline) goes through storePhoto');
  const seen = new Set<string>();
  const nodes = a.nodeScores.filter((n) => Number.isFinite(n.score) && !seen.has(n.wnid) && (seen.add(n.wnid), true));
  const tags = [...storedTags(a.tags)].map(([id, score]) => ({ id, score }));
  return {
    analysis: a,
    top,
    labels: JSON.stringify(a.labels),
    categories: JSON.stringify(a.categories),
    embedding: needEmbedding ? compactEmbedding(a.embedding) : null,
    nodes,
    terms: termsOf(nodes),
    tags,
    counts: contributionOf(a).map((c) => ({ kind: c.kind, key: c.key, photos: c.photos, score: c.score, ownerOnly: c.ownerOnly ? 1 : 0 })),
  };
}

/** The batch in columns: its distinct analyses, and per photo its template, embedding slice and facts. */
interface Staged {
  templates: Template[];
  template: Int32Array;
  /** Per photo: offset and length of its own compact embedding in `embeddings` (length 0: the template's). */
  embOffset: Int32Array;
  embLength: Int32Array;
  embeddings: Buffer;
}

function stage(photos: BulkPhoto[]): Staged {
  const index = new Map<PhotoAnalysis, number>();
  const needs: boolean[] = [];
  const template = new Int32Array(photos.length);
  const embOffset = new Int32Array(photos.length);
  const embLength = new Int32Array(photos.length);
  // the photos' own embeddings packed side by side into one buffer (no buffer per photo)
  let total = 0;
  photos.forEach((p, i) => {
    let t = index.get(p.analysis);
    if (t === undefined) index.set(p.analysis, (t = index.size));
    template[i] = t;
    if (!p.embedding) return void (needs[t] = true);
    const len = p.embedding instanceof Float32Array ? compactLength(p.embedding.length) : packed(p.embedding).length;
    embOffset[i] = total;
    embLength[i] = len;
    total += len;
  });
  const embeddings = Buffer.allocUnsafe(total);
  photos.forEach((p, i) => {
    if (p.embedding instanceof Float32Array) compactEmbeddingInto(p.embedding, embeddings, embOffset[i]!);
    else if (p.embedding) embeddings.set(p.embedding, embOffset[i]!);
  });
  const templates = [...index.keys()].map((a, t) => templateOf(a, needs[t] === true));
  return { templates, template, embOffset, embLength, embeddings };
}

function packed(bytes: Uint8Array): Uint8Array {
  if (!isCompactEmbedding(bytes)) throw new Error('a bulk photo\'s embedding bytes must be compact (compactEmbedding)');
  return bytes;
}

/** The facts of a photo in column order (the photos table after id and owner). */
function factRow(p: BulkPhoto): unknown[] {
  const f = p.facts;
  return [
    f.content_hash, f.original_path, f.file_name, f.size, f.width, f.height, f.format, f.taken_at ?? null, f.camera ?? null,
    f.orientation ?? null, f.gps_lat ?? null, f.gps_lon ?? null, f.thumb_small ?? null, f.thumb_large ?? null,
  ];
}

/** Per-connection staging tables and statements on SQLite. */
type SqliteDb = Extract<Library['raw'], { sqlite: unknown }>['sqlite'];
type Statements = ReturnType<typeof sqliteStatements>;
const prepared = new WeakMap<SqliteDb, Statements>();

function sqliteStatements(sqlite: SqliteDb) {
  sqlite.exec(`
    create temp table if not exists bulk_template (t integer primary key, model_id text, model_sha256 text, top_wnid text, top_score real,
      hedged_wnid text, hedged_name text, hedged_score real, hedged_target real, labels text, categories text, embedding blob, terms text);
    create temp table if not exists bulk_template_node (t integer, wnid text, score real, primary key (t, wnid)) without rowid;
    create temp table if not exists bulk_template_tag (t integer, concept_id text, score real, primary key (t, concept_id)) without rowid;
    create temp table if not exists bulk_template_count_v2 (t integer, kind text, key text, photos integer, score integer, owner_only integer, primary key (t, kind, key)) without rowid;
    create temp table if not exists bulk_photo (id integer primary key, owner_id integer, visibility text, t integer, emb_offset integer, emb_length integer);`);
  return {
    clear: ['bulk_template', 'bulk_template_node', 'bulk_template_tag', 'bulk_template_count_v2', 'bulk_photo'].map((t) => sqlite.prepare(`delete from temp.${t}`)),
    template: sqlite.prepare(
      `insert into temp.bulk_template (t, model_id, model_sha256, top_wnid, top_score, hedged_wnid, hedged_name, hedged_score, hedged_target, labels, categories, embedding, terms)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    node: sqlite.prepare('insert into temp.bulk_template_node (t, wnid, score) values (?, ?, ?)'),
    tag: sqlite.prepare('insert into temp.bulk_template_tag (t, concept_id, score) values (?, ?, ?)'),
    count: sqlite.prepare('insert into temp.bulk_template_count_v2 (t, kind, key, photos, score, owner_only) values (?, ?, ?, ?, ?, ?)'),
    // the next ids (AUTOINCREMENT never reuses an id, so the sequence counts as well)
    nextId: sqlite.prepare(`select max(coalesce((select seq from sqlite_sequence where name = 'photos'), 0), coalesce((select max(id) from photos), 0)) as base`),
    // per photo: [owner, visibility, template, embedding offset, embedding length, ...facts]
    photos: sqlite.prepare(
      `insert into photos (id, owner_id, content_hash, original_path, file_name, size, width, height, format, taken_at, camera, orientation, gps_lat, gps_lon, thumb_small, thumb_large, visibility, created_at)
       select @base + key + 1, value->>0, value->>5, value->>6, value->>7, value->>8, value->>9, value->>10, value->>11, value->>12, value->>13, value->>14,
         value->>15, value->>16, value->>17, value->>18, value->>1, @now
       from json_each(@rows)`,
    ),
    batch: sqlite.prepare(`insert into temp.bulk_photo (id, owner_id, visibility, t, emb_offset, emb_length) select @base + key + 1, value->>0, value->>1, value->>2, value->>3, value->>4 from json_each(@rows)`),
    analyses: sqlite.prepare(
      `insert into analyses (photo_id, model_id, model_sha256, top_wnid, top_score, hedged_wnid, hedged_name, hedged_score, hedged_target, labels, categories, embedding, created_at)
       select b.id, t.model_id, t.model_sha256, t.top_wnid, t.top_score, t.hedged_wnid, t.hedged_name, t.hedged_score, t.hedged_target, t.labels, t.categories,
         case when b.emb_length > 0 then substr(@embeddings, b.emb_offset + 1, b.emb_length) else t.embedding end, @now
       from temp.bulk_photo b cross join temp.bulk_template t where t.t = b.t`,
    ),
    nodes: sqlite.prepare(
      `insert into node_scores (photo_id, owner_id, wnid, score) select b.id, b.owner_id, n.wnid, n.score from temp.bulk_photo b cross join temp.bulk_template_node n where n.t = b.t`,
    ),
    tags: sqlite.prepare(`insert into photo_tags (photo_id, concept_id, score) select b.id, g.concept_id, g.score from temp.bulk_photo b cross join temp.bulk_template_tag g where g.t = b.t`),
    terms: sqlite.prepare(`insert into photo_terms (rowid, terms) select b.id, t.terms from temp.bulk_photo b cross join temp.bulk_template t where t.t = b.t and t.terms <> ''`),
    counts: sqlite.prepare(
      `insert into concept_counts (owner_id, visibility, kind, key, photos, score_micros)
       select * from (${countsSelect('temp.bulk_photo', 'temp.bulk_template_count_v2')}) where true
       on conflict (owner_id, visibility, kind, key) do update set photos = concept_counts.photos + excluded.photos, score_micros = concept_counts.score_micros + excluded.score_micros`,
    ),
  };
}

/**
 * The count changes of a batch, set-wise: photos per (owner, visibility, template), and per (visibility,
 * template) for ALL_OWNERS, times each template's contribution (an owner-only part only under the owner, as
 * 'private'), summed per count row (zero rows left out), in the order rows are always locked in.
 */
function countsSelect(photos: string, contributions: string): string {
  return `select g.owner_id, case when c.owner_only = 1 then 'private' else g.visibility end as visibility, c.kind, c.key,
      sum(g.n * c.photos) as photos, sum(g.n * c.score) as score_micros
    from (select owner_id, visibility, t, count(*) as n, 0 as every from ${photos} group by owner_id, visibility, t
          union all select ${ALL_OWNERS}, visibility, t, count(*), 1 from ${photos} group by visibility, t) g
    join ${contributions} c on c.t = g.t and (c.owner_only = 0 or g.every = 0)
    group by 1, 2, 3, 4
    having sum(g.n * c.photos) <> 0 or sum(g.n * c.score) <> 0
    order by 1, 2, 3, 4`;
}

/**
 * Rows in PostgreSQL's binary COPY format (a header; per row its field count, then each field as its length
 * and bytes, -1 for NULL; -1 at the end), into 1 MiB chunks. Field types must match the columns exactly
 * (int4 integer, float8 double precision, text/bytea as bytes).
 */
class BinaryCopy {
  readonly chunks: Buffer[] = [];
  private buf = Buffer.allocUnsafe(1 << 20);
  private at = 0;
  constructor() {
    this.room(19);
    this.at += this.buf.write('PGCOPY\n\xff\r\n\0', this.at, 'latin1');
    this.at = this.buf.writeInt32BE(0, this.at);
    this.at = this.buf.writeInt32BE(0, this.at);
  }
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    this.chunks.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(Math.max(1 << 20, n));
    this.at = 0;
  }
  row(fields: number): this {
    this.room(2);
    this.at = this.buf.writeInt16BE(fields, this.at);
    return this;
  }
  private none(): this {
    this.room(4);
    this.at = this.buf.writeInt32BE(-1, this.at);
    return this;
  }
  int4(v: number | null): this {
    if (v === null) return this.none();
    this.room(8);
    this.at = this.buf.writeInt32BE(4, this.at);
    this.at = this.buf.writeInt32BE(v, this.at);
    return this;
  }
  float8(v: number | null): this {
    if (v === null) return this.none();
    this.room(12);
    this.at = this.buf.writeInt32BE(8, this.at);
    this.at = this.buf.writeDoubleBE(v, this.at);
    return this;
  }
  text(v: string | null): this {
    if (v === null) return this.none();
    const n = Buffer.byteLength(v);
    this.room(4 + n);
    this.at = this.buf.writeInt32BE(n, this.at);
    this.at += this.buf.write(v, this.at);
    return this;
  }
  bytes(v: Uint8Array | null): this {
    if (v === null) return this.none();
    this.room(4 + v.length);
    this.at = this.buf.writeInt32BE(v.length, this.at);
    this.buf.set(v, this.at);
    this.at += v.length;
    return this;
  }
  end(): Buffer[] {
    this.room(2);
    this.at = this.buf.writeInt16BE(-1, this.at);
    this.chunks.push(this.buf.subarray(0, this.at));
    return this.chunks;
  }
}

async function copyIn(client: pg.PoolClient, target: string, rows: BinaryCopy): Promise<void> {
  await pipeline(Readable.from(rows.end()), client.query(copyFrom(`copy ${target} from stdin (format binary)`)));
}

/** A value in COPY's text format (backslash, tab, newline and carriage return escaped). */
function copyText(v: string): string {
  return v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/**
 * Stores new photos (the (owner, content hash) pairs must not exist yet) with their analyses, node scores,
 * terms, tags and counts in ONE transaction; returns their ids in input order. Inside `buildNewLibrary` the
 * counts are tallied instead and added when the build's load ends.
 */
export async function bulkStorePhotos(lib: Library, photos: BulkPhoto[]): Promise<number[]> {
  if (photos.length === 0) return [];
  const pending = pendingCounts.get(lib);
  const ids = await storeBatch(lib, photos, !pending);
  if (pending) {
    pending.tally(photos);
    if (pending.entries > pending.max) await upsertCounts(lib, pending.take());
  }
  return ids;
}

/** One batch's rows in one transaction; the count upsert too when `counts`. */
async function storeBatch(lib: Library, photos: BulkPhoto[], counts: boolean): Promise<number[]> {
  const s = stage(photos);
  const now = nowIso();
  if ('sqlite' in lib.raw) {
    const sqlite = lib.raw.sqlite;
    // per photo: the staging columns, then its facts in the photos table's column order
    const rows = JSON.stringify(photos.map((p, i) => [p.ownerId, p.visibility, s.template[i], s.embOffset[i], s.embLength[i], ...factRow(p)]));
    let st = prepared.get(sqlite);
    if (!st) prepared.set(sqlite, (st = sqliteStatements(sqlite)));
    const q = st;
    const run = sqlite.transaction(() => {
      for (const c of q.clear) c.run();
      s.templates.forEach((t, i) => {
        const a = t.analysis;
        q.template.run(i, a.model.id, a.model.sha256, t.top.wnid, t.top.score, a.hedged?.wnid ?? null, a.hedged?.name ?? null, a.hedged?.score ?? null, a.hedged?.target ?? null, t.labels, t.categories, t.embedding, t.terms);
        for (const n of t.nodes) q.node.run(i, n.wnid, n.score);
        for (const g of t.tags) q.tag.run(i, g.id, g.score);
        for (const c of t.counts) q.count.run(i, c.kind, c.key, c.photos, c.score, c.ownerOnly);
      });
      const base = Number((q.nextId.get() as { base: number }).base);
      q.photos.run({ base, now, rows });
      q.batch.run({ base, rows });
      q.analyses.run({ now, embeddings: s.embeddings });
      q.nodes.run();
      q.tags.run();
      q.terms.run();
      if (counts) q.counts.run();
      return photos.map((_, i) => base + i + 1);
    });
    return run.immediate();
  }
  const client = await lib.raw.pool.connect();
  try {
    await client.query('begin');
    const ids = (await client.query<{ id: number }>(`select nextval(pg_get_serial_sequence('photos', 'id'))::int as id from generate_series(1, $1)`, [photos.length])).rows.map((r) => r.id);
    const col = <T>(f: (p: BulkPhoto) => T) => photos.map(f);
    const tcol = <T>(f: (t: Template) => T) => s.templates.map(f);
    const facts = photos.map(factRow);
    const template = Array.from(s.template);
    const tids = s.templates.map((_, i) => i);
    // photos, analyses and node scores by binary COPY (rows streamed, no statement per row and no parameter arrays)
    const nowBytes = Buffer.from(now);
    const photoRows = new BinaryCopy();
    photos.forEach((p, i) => {
      const f = p.facts;
      photoRows.row(18).int4(ids[i]!).int4(p.ownerId).text(f.content_hash).text(f.original_path).text(f.file_name).int4(f.size).int4(f.width).int4(f.height).text(f.format)
        .text(f.taken_at ?? null).text(f.camera ?? null).int4(f.orientation ?? null).float8(f.gps_lat ?? null).float8(f.gps_lon ?? null).text(f.thumb_small ?? null)
        .text(f.thumb_large ?? null).text(p.visibility).bytes(nowBytes);
    });
    await copyIn(client, 'photos (id, owner_id, content_hash, original_path, file_name, size, width, height, format, taken_at, camera, orientation, gps_lat, gps_lon, thumb_small, thumb_large, visibility, created_at)', photoRows);
    // a template's fields encoded once
    const enc = (v: string | null | undefined) => (v === null || v === undefined ? null : Buffer.from(v));
    const tfields = s.templates.map((t) => {
      const a = t.analysis;
      return { modelId: enc(a.model.id)!, sha: enc(a.model.sha256)!, top: enc(t.top.wnid)!, hedgedWnid: enc(a.hedged?.wnid), hedgedName: enc(a.hedged?.name), labels: enc(t.labels)!, categories: enc(t.categories)!, nodes: t.nodes.map((n) => ({ wnid: enc(n.wnid)!, score: n.score })) };
    });
    const analysisRows = new BinaryCopy();
    photos.forEach((_, i) => {
      const t = s.templates[s.template[i]!]!;
      const e = tfields[s.template[i]!]!;
      const len = s.embLength[i]!;
      analysisRows.row(13).int4(ids[i]!).bytes(e.modelId).bytes(e.sha).bytes(e.top).float8(t.top.score).bytes(e.hedgedWnid).bytes(e.hedgedName)
        .float8(t.analysis.hedged?.score ?? null).float8(t.analysis.hedged?.target ?? null).bytes(e.labels).bytes(e.categories)
        .bytes(len > 0 ? s.embeddings.subarray(s.embOffset[i]!, s.embOffset[i]! + len) : t.embedding).bytes(nowBytes);
    });
    await copyIn(client, 'analyses (photo_id, model_id, model_sha256, top_wnid, top_score, hedged_wnid, hedged_name, hedged_score, hedged_target, labels, categories, embedding, created_at)', analysisRows);
    const nodeRows = new BinaryCopy();
    photos.forEach((p, i) => {
      for (const n of tfields[s.template[i]!]!.nodes) nodeRows.row(4).int4(ids[i]!).int4(p.ownerId).bytes(n.wnid).float8(n.score);
    });
    await copyIn(client, 'node_scores (photo_id, owner_id, wnid, score)', nodeRows);
    const flat = <R>(f: (t: Template) => R[]) => s.templates.flatMap((t, i) => f(t).map((r) => [i, r] as const));
    const tags = flat((t) => t.tags);
    if (tags.length > 0)
      await client.query(
        `insert into photo_tags (photo_id, concept_id, score)
         select b.id, g.concept_id, g.score from unnest($1::int[], $2::int[]) as b(id, t) join unnest($3::int[], $4::text[], $5::float8[]) as g(t, concept_id, score) on g.t = b.t`,
        [ids, template, tags.map(([t]) => t), tags.map(([, g]) => g.id), tags.map(([, g]) => g.score)],
      );
    // each template's document is parsed once (its tsvector's text form), then copied to its photos
    const docs = (await client.query<{ doc: string | null }>(`select case when terms <> '' then to_tsvector('simple', terms)::text end as doc from unnest($1::text[]) with ordinality as x(terms, i) order by i`, [tcol((t) => t.terms)])).rows.map((r) => (r.doc === null ? null : copyText(r.doc)));
    const termLines: string[] = [];
    photos.forEach((_, i) => {
      const doc = docs[s.template[i]!];
      if (doc !== null && doc !== undefined) termLines.push(`${ids[i]}\t${doc}\n`);
    });
    if (termLines.length > 0) await pipeline(Readable.from([Buffer.from(termLines.join(''))]), client.query(copyFrom('copy photo_terms (photo_id, terms) from stdin')));
    const contributions = flat((t) => t.counts);
    if (counts) await client.query(
      `with b (owner_id, visibility, t) as (select * from unnest($1::int[], $2::text[], $3::int[])),
         c (t, kind, key, photos, score, owner_only) as (select * from unnest($4::int[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::int[]))
       insert into concept_counts (owner_id, visibility, kind, key, photos, score_micros)
       ${countsSelect('b', 'c')}
       on conflict (owner_id, visibility, kind, key) do update set photos = concept_counts.photos + excluded.photos, score_micros = concept_counts.score_micros + excluded.score_micros`,
      [col((p) => p.ownerId), col((p) => p.visibility), template, contributions.map(([t]) => t), contributions.map(([, c]) => c.kind), contributions.map(([, c]) => c.key), contributions.map(([, c]) => c.photos), contributions.map(([, c]) => c.score), contributions.map(([, c]) => c.ownerOnly)],
    );
    await client.query('commit');
    return ids;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The indexes a large load defers: the two node-score indexes and the photos' content-hash index. */
const DEFERRED_INDEXES = ['node_scores_wnid_score_idx', 'node_scores_owner_idx', 'photos_hash_idx'];

/** The named indexes that exist, with the statement that creates each (SQLite: as created; PostgreSQL: as it reads it back). */
export async function indexDefinitions(lib: Library, names: readonly string[]): Promise<Array<{ name: string; def: string }>> {
  const rows =
    lib.dialect === 'sqlite'
      ? await sql<{ name: string; def: string }>`select name, sql as def from sqlite_master where type = 'index' and name in (${sql.join([...names])})`.execute(lib.db)
      : await sql<{ name: string; def: string }>`select indexname as name, indexdef as def from pg_indexes where schemaname = current_schema() and indexname in (${sql.join([...names])})`.execute(lib.db);
  return rows.rows.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
}

/** `CREATE [UNIQUE] INDEX name ...` as `CREATE [UNIQUE] INDEX IF NOT EXISTS name ...`. */
function ifNotExists(def: string): string {
  return def.replace(/^\s*create\s+(unique\s+)?index\s+(?!if\s+not\s+exists\s)/i, (_m, unique: string | undefined) => `CREATE ${unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS `);
}

/**
 * Runs a large load with the node-score indexes `(wnid, score desc, photo_id)` and `(wnid, owner_id, ...)`, the
 * photos' content-hash index (and on PostgreSQL the word-search GIN index) dropped, and builds them once at
 * the end (one sort instead of millions of random index inserts); on PostgreSQL the per-photo tables' foreign keys to
 * photos are dropped as well and added back (validated in one pass). Readers see no index meanwhile: for building
 * a new library (the scale benchmark, an import into an empty library). SQLite also skips the fsync of its
 * checkpoints meanwhile (synchronous = OFF: a killed process loses nothing committed; a power cut during the
 * load may need the load again).
 */
export async function withDeferredIndexes<T>(lib: Library, load: () => Promise<T>): Promise<T> {
  // Each index is built again from its definition as the database holds it (the migrations' DDL, not a copy of
  // it here). PostgreSQL: the word-search GIN index too (built once from the loaded terms).
  const indexes = await indexDefinitions(lib, lib.dialect === 'postgres' ? [...DEFERRED_INDEXES, 'photo_terms_gin'] : DEFERRED_INDEXES);
  for (const i of indexes) await sql`drop index ${sql.id(i.name)}`.execute(lib.db);
  // PostgreSQL: the foreign keys of the tables that take rows per photo (a trigger per row while loading; checked
  // once, set-wise, when added back)
  let foreignKeys: Array<{ table: string; name: string; def: string }> = [];
  if (lib.dialect === 'postgres') {
    foreignKeys = (
      await sql<{ table: string; name: string; def: string }>`select c.conrelid::regclass::text as table, c.conname as name, pg_get_constraintdef(c.oid) as def
        from pg_constraint c where c.contype = 'f' and c.confrelid = 'photos'::regclass
          and c.conrelid in ('analyses'::regclass, 'node_scores'::regclass, 'photo_terms'::regclass, 'photo_tags'::regclass)`.execute(lib.db)
    ).rows;
    for (const k of foreignKeys) await sql`alter table ${sql.id(k.table)} drop constraint ${sql.id(k.name)}`.execute(lib.db);
  }
  // SQLite: a larger page cache while loading and indexing (the photos' unique (owner, hash) index takes random
  // inserts; the index sort runs in it), then the usual one
  const sqlite = 'sqlite' in lib.raw ? lib.raw.sqlite : undefined;
  const cache = sqlite?.pragma('cache_size', { simple: true });
  const sync = sqlite?.pragma('synchronous', { simple: true });
  sqlite?.pragma(`cache_size = ${-BULK_CACHE_KIB}`);
  sqlite?.pragma('synchronous = OFF');
  try {
    return await load();
  } finally {
    // SQLite sorts an index's entries in runs of its page cache's size, then merges them: small runs that stay
    // in the CPU's caches sort ~3x faster than one run the size of the large load cache
    sqlite?.pragma(`cache_size = ${-INDEX_SORT_CACHE_KIB}`);
    for (const i of indexes) await sql.raw(ifNotExists(i.def)).execute(lib.db);
    for (const k of foreignKeys) await sql`alter table ${sql.id(k.table)} add constraint ${sql.id(k.name)} ${sql.raw(k.def)}`.execute(lib.db);
    if (sqlite && typeof sync === 'number') sqlite.pragma(`synchronous = ${sync}`);
    if (sqlite && typeof cache === 'number') sqlite.pragma(`cache_size = ${cache}`);
  }
}


/**
 * Builds a NEW library (no photos yet) in one go: `load` stores its photos through `bulkStorePhotos`, under
 * `withDeferredIndexes`. The library is marked as being built first (SQLite: a `<file>.bulk-build` file beside
 * it; PostgreSQL: a `library_meta` row) and unmarked only when the load and the index build have finished;
 * `openLibrary` refuses a marked library (an interrupted build: incomplete, to be deleted and built again), so
 * a killed build never leaves a library that looks whole. That lets SQLite drop its crash safety for the
 * build: exclusive locking (no shared-memory WAL index), the rollback journal in memory instead of the WAL
 * (each page written once, not to the WAL and again at the checkpoint; a failed batch still rolls back), no
 * foreign-key lookups (the bulk path writes a photo's rows from the batch's own new photo ids), and sorting
 * threads for the index build. Everything is set back when it ends.
 */
export async function buildNewLibrary<T>(lib: Library, load: () => Promise<T>, opts: { pendingCounts?: number } = {}): Promise<T> {
  if (await lib.db.selectFrom('photos').select('id').limit(1).executeTakeFirst()) throw new Error('buildNewLibrary builds a new library: this one has photos already');
  const sqlite = 'sqlite' in lib.raw ? lib.raw.sqlite : undefined;
  const marker = sqlite ? bulkBuildMarker(sqlite.name) : undefined;
  if (marker) {
    const fd = openSync(marker, 'w');
    writeSync(fd, `bulk build started ${nowIso()} by process ${process.pid}\n`);
    fsyncSync(fd);
    closeSync(fd);
  } else await lib.db.insertInto('library_meta').values({ key: BULK_BUILD_KEY, value: nowIso() }).onConflict((oc) => oc.column('key').doUpdateSet({ value: nowIso() })).execute();
  if (sqlite) {
    sqlite.pragma('locking_mode = EXCLUSIVE');
    sqlite.pragma('journal_mode = MEMORY');
    sqlite.pragma('foreign_keys = OFF');
    sqlite.pragma(`threads = ${Math.min(4, availableParallelism())}`);
  }
  // PostgreSQL: every index and key of the per-photo tables (but the photos' primary key, which the foreign keys
  // need) is built after the load too, from sorted input in parallel workers, instead of row by row
  const keys = sqlite ? [] : (await sql<{ table: string; name: string; def: string }>`select c.conrelid::regclass::text as table, c.conname as name, pg_get_constraintdef(c.oid) as def
      from pg_constraint c where c.contype in ('p', 'u') and c.conrelid in ('analyses'::regclass, 'node_scores'::regclass, 'photo_terms'::regclass, 'photo_tags'::regclass, 'photos'::regclass)
        and c.conname <> 'photos_pkey'`.execute(lib.db)).rows;
  const indexes = sqlite ? [] : (await sql<{ name: string; def: string }>`select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as def from pg_index i
      where i.indrelid in ('analyses'::regclass, 'node_scores'::regclass, 'photo_terms'::regclass, 'photo_tags'::regclass, 'photos'::regclass)
        and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)`.execute(lib.db)).rows;
  for (const k of keys) await sql`alter table ${sql.id(k.table)} drop constraint ${sql.id(k.name)}`.execute(lib.db);
  for (const i of indexes) await sql`drop index ${sql.id(i.name)}`.execute(lib.db);
  const pending = new PendingCounts(opts.pendingCounts ?? PENDING_MAX);
  pendingCounts.set(lib, pending);
  let result: T;
  try {
    result = await withDeferredIndexes(lib, async () => {
      const r = await load();
      await upsertCounts(lib, pending.take());
      return r;
    });
  } finally {
    pendingCounts.delete(lib);
  }
  for (const i of indexes) await sql.raw(ifNotExists(i.def)).execute(lib.db);
  for (const k of keys) await sql`alter table ${sql.id(k.table)} add constraint ${sql.id(k.name)} ${sql.raw(k.def)}`.execute(lib.db);
  // PostgreSQL: the rows just copied are not yet marked all-visible, so every index-only scan (category pages, the
  // similar photos' visibility filter) would visit the table until autovacuum gets there: VACUUM them now
  if (!sqlite) await sql`vacuum photos, analyses, node_scores, photo_terms, photo_tags, concept_counts`.execute(lib.db);
  if (sqlite) {
    sqlite.pragma('threads = 0');
    sqlite.pragma('foreign_keys = ON');
    // (normal locking first: entered with exclusive locking, WAL mode would keep its lock until closed)
    sqlite.pragma('locking_mode = NORMAL');
    sqlite.prepare('select count(*) from library_meta').get(); // (normal locking takes effect at the next access)
    if ((sqlite.pragma('journal_mode = WAL', { simple: true }) as string) !== 'wal') throw new Error('the built library could not return to WAL mode');
  }
  if (marker) unlinkSync(marker);
  else await lib.db.deleteFrom('library_meta').where('key', '=', BULK_BUILD_KEY).execute();
  return result;
}

/**
 * Counts during `buildNewLibrary`: photos tallied per (analysis, owner, visibility) as batches commit, turned
 * into count rows and added to the count table at the end (or when the tallies grow past PENDING_MAX, so memory
 * stays bounded). Interned count keys and typed-array sums: a million photos' counts are summed in well under a
 * second. Until then the table lags the photos; the build's marker rejects a library left so.
 */
class PendingCounts {
  private readonly analyses = new Map<PhotoAnalysis, number>();
  private readonly parts: Array<{ keys: Int32Array; photos: Float64Array; score: Float64Array; ownerOnly: Uint8Array }> = [];
  private readonly keyIds = new Map<string, number>();
  private readonly keyNames: Array<{ kind: string; key: string }> = [];
  /** Per scope (owner * 2 + public): photos per analysis. */
  private readonly scopes = new Map<number, Map<number, number>>();
  entries = 0;
  constructor(readonly max: number) {}

  tally(photos: BulkPhoto[]): void {
    for (const p of photos) {
      let a = this.analyses.get(p.analysis);
      if (a === undefined) {
        a = this.parts.length;
        this.analyses.set(p.analysis, a);
        const c = contributionOf(p.analysis);
        this.parts.push({
          keys: Int32Array.from(c, (x) => this.keyId(x.kind, x.key)),
          photos: Float64Array.from(c, (x) => x.photos),
          score: Float64Array.from(c, (x) => x.score),
          ownerOnly: Uint8Array.from(c, (x) => (x.ownerOnly ? 1 : 0)),
        });
      }
      const scope = p.ownerId * 2 + (p.visibility === 'public' ? 1 : 0);
      let s = this.scopes.get(scope);
      if (!s) this.scopes.set(scope, (s = new Map()));
      const n = s.get(a);
      if (n === undefined) this.entries++;
      s.set(a, (n ?? 0) + 1);
    }
  }

  private keyId(kind: string, key: string): number {
    const name = `${kind}\u0000${key}`;
    let id = this.keyIds.get(name);
    if (id === undefined) {
      this.keyIds.set(name, (id = this.keyNames.length));
      this.keyNames.push({ kind, key });
    }
    return id;
  }

  /** The count rows of everything tallied (non-zero, in the order count rows are always locked in); clears it. */
  take(): CountRow[] {
    const k = this.keyNames.length;
    const order = Array.from({ length: k }, (_, i) => i).sort((x, y) => compareCountKeys(this.keyNames[x]!, this.keyNames[y]!));
    const rank = new Int32Array(k);
    order.forEach((id, r) => (rank[id] = r));
    const photos = new Float64Array(k);
    const score = new Float64Array(k);
    const seen = new Uint8Array(k);
    const rows: CountRow[] = [];
    // scopes in (owner, visibility) order; ALL_OWNERS (0) first, summed over every owner per analysis
    const every = new Map<number, Map<number, number>>();
    const custom = new CountDeltas();
    for (const [scope, byAnalysis] of this.scopes)
      for (const [a, n] of byAnalysis) {
        const all = scope % 2;
        let m = every.get(all);
        if (!m) every.set(all, (m = new Map()));
        m.set(a, (m.get(a) ?? 0) + n);
      }
    const emit = (owner: number, visibility: 'private' | 'public', byAnalysis: Map<number, number>, ownerOnly: boolean) => {
      const touched: number[] = [];
      for (const [a, n] of byAnalysis) {
        const part = this.parts[a]!;
        for (let j = 0; j < part.keys.length; j++) {
          if (part.ownerOnly[j]) {
            // an owner's custom tag: under that owner only, as 'private' (rare; summed apart)
            if (ownerOnly) custom.add(owner, visibility, [{ ...this.keyNames[part.keys[j]!]!, kind: this.keyNames[part.keys[j]!]!.kind as Contribution['kind'], photos: part.photos[j]!, score: part.score[j]!, ownerOnly: true }], 1, n);
            continue;
          }
          const id = part.keys[j]!;
          if (!seen[id]) (seen[id] = 1), touched.push(id);
          photos[id] += n * part.photos[j]!;
          score[id] += n * part.score[j]!;
        }
      }
      touched.sort((x, y) => rank[x]! - rank[y]!);
      for (const id of touched) {
        if (photos[id] !== 0 || score[id] !== 0) rows.push({ owner_id: owner, visibility, kind: this.keyNames[id]!.kind, key: this.keyNames[id]!.key, photos: photos[id]!, score_micros: score[id]! });
        photos[id] = 0;
        score[id] = 0;
        seen[id] = 0;
      }
    };
    for (const all of [...every.keys()].sort()) emit(ALL_OWNERS, all ? 'public' : 'private', every.get(all)!, false);
    for (const scope of [...this.scopes.keys()].sort((x, y) => x - y)) emit(Math.floor(scope / 2), scope % 2 ? 'public' : 'private', this.scopes.get(scope)!, true);
    this.scopes.clear();
    this.analyses.clear();
    this.parts.length = 0;
    this.entries = 0;
    // the custom-tag rows merged in (same order)
    const extra = custom.changes();
    if (extra.length === 0) return rows;
    const key = (r: CountRow) => `${r.owner_id}\u0000${r.visibility}\u0000${r.kind}\u0000${r.key}`;
    const merged = new Map(rows.map((r) => [key(r), r]));
    for (const r of extra) {
      const m = merged.get(key(r));
      if (m) (m.photos += r.photos), (m.score_micros += r.score_micros);
      else merged.set(key(r), r);
    }
    return [...merged.values()].filter((r) => r.photos !== 0 || r.score_micros !== 0).sort(compareCountRows);
  }
}

const pendingCounts = new WeakMap<Library, PendingCounts>();
/** Tallied (analysis, owner, visibility) entries that make `buildNewLibrary` add its counts before going on. */
const PENDING_MAX = 500_000;

/** Adds count rows to the count table set-wise, in their order, in one transaction. */
async function upsertCounts(lib: Library, rows: CountRow[]): Promise<void> {
  const CHUNK = 50_000;
  if ('sqlite' in lib.raw) {
    const sqlite = lib.raw.sqlite;
    const st = sqlite.prepare(
      `insert into concept_counts (owner_id, visibility, kind, key, photos, score_micros)
       select value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 from json_each(?) where true
       on conflict (owner_id, visibility, kind, key) do update set photos = concept_counts.photos + excluded.photos, score_micros = concept_counts.score_micros + excluded.score_micros`,
    );
    sqlite.transaction(() => {
      for (let i = 0; i < rows.length; i += CHUNK) st.run(JSON.stringify(rows.slice(i, i + CHUNK).map((r) => [r.owner_id, r.visibility, r.kind, r.key, r.photos, r.score_micros])));
    }).immediate();
    return;
  }
  const client = await lib.raw.pool.connect();
  try {
    await client.query('begin');
    for (let i = 0; i < rows.length; i += CHUNK) {
      const part = rows.slice(i, i + CHUNK);
      await client.query(
        `insert into concept_counts (owner_id, visibility, kind, key, photos, score_micros)
         select o, v, k, y, p, s from unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]) with ordinality as r(o, v, k, y, p, s, i) order by i
         on conflict (owner_id, visibility, kind, key) do update set photos = concept_counts.photos + excluded.photos, score_micros = concept_counts.score_micros + excluded.score_micros`,
        [part.map((r) => r.owner_id), part.map((r) => r.visibility), part.map((r) => r.kind), part.map((r) => r.key), part.map((r) => r.photos), part.map((r) => r.score_micros)],
      );
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
