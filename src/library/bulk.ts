// The bulk path: many NEW photos with complete analyses in one transaction per batch, stored set-wise. Photos
// that share an analysis object (copies of one classification, e.g. the scale benchmark's synthetic photos)
// share its rows' content: each distinct analysis (a "template": analysis row fields, node scores, term
// document, tags, count contribution) is staged once per batch, and one INSERT ... SELECT per table joins the
// batch's photos with it; a photo may bring its own embedding. Counts are aggregated set-wise per (owner,
// visibility, template) and applied in the same transaction. For imports and the scale benchmark; everyday
// ingest stores one photo per transaction (store.ts).
import { sql } from 'kysely';
import type { PhotoAnalysis } from './analysis.js';
import { ALL_OWNERS, contributionOf, storedTags } from './counts.js';
import { nowIso, type Library } from './db.js';
import { compactEmbedding, isCompactEmbedding } from './embedding.js';
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
  const own: Uint8Array[] = [];
  let offset = 0;
  photos.forEach((p, i) => {
    let t = index.get(p.analysis);
    if (t === undefined) index.set(p.analysis, (t = index.size));
    template[i] = t;
    if (p.embedding) {
      const b = p.embedding instanceof Float32Array ? compactEmbedding(p.embedding) : packed(p.embedding);
      own.push(b);
      embOffset[i] = offset;
      embLength[i] = b.length;
      offset += b.length;
    } else needs[t] = true;
  });
  const templates = [...index.keys()].map((a, t) => templateOf(a, needs[t] === true));
  return { templates, template, embOffset, embLength, embeddings: Buffer.concat(own, offset) };
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
 * Stores new photos (the (owner, content hash) pairs must not exist yet) with their analyses, node scores,
 * terms, tags and counts in ONE transaction; returns their ids in input order.
 */
export async function bulkStorePhotos(lib: Library, photos: BulkPhoto[]): Promise<number[]> {
  if (photos.length === 0) return [];
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
      q.counts.run();
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
    await client.query(
      `insert into photos (id, owner_id, content_hash, original_path, file_name, size, width, height, format, taken_at, camera, orientation, gps_lat, gps_lon, thumb_small, thumb_large, visibility, created_at)
       select *, $17::text from unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::text[], $10::text[], $11::text[], $12::int[], $13::float8[], $14::float8[], $15::text[], $16::text[], $18::text[])`,
      [ids, col((p) => p.ownerId), ...Array.from({ length: 14 }, (_, k) => facts.map((f) => f[k])), now, col((p) => p.visibility)],
    );
    await client.query(
      `insert into analyses (photo_id, model_id, model_sha256, top_wnid, top_score, hedged_wnid, hedged_name, hedged_score, hedged_target, labels, categories, embedding, created_at)
       select b.id, t.model_id, t.model_sha256, t.top_wnid, t.top_score, t.hedged_wnid, t.hedged_name, t.hedged_score, t.hedged_target, t.labels, t.categories,
         case when b.len > 0 then substring($5::bytea from b.off + 1 for b.len) else t.embedding end, $6::text
       from unnest($1::int[], $2::int[], $3::int[], $4::int[]) as b(id, t, off, len)
       join unnest($7::int[], $8::text[], $9::text[], $10::text[], $11::float8[], $12::text[], $13::text[], $14::float8[], $15::float8[], $16::text[], $17::text[], $18::bytea[])
         as t(t, model_id, model_sha256, top_wnid, top_score, hedged_wnid, hedged_name, hedged_score, hedged_target, labels, categories, embedding) on t.t = b.t`,
      [
        ids, template, Array.from(s.embOffset), Array.from(s.embLength), s.embeddings, now,
        tids, tcol((t) => t.analysis.model.id), tcol((t) => t.analysis.model.sha256), tcol((t) => t.top.wnid), tcol((t) => t.top.score),
        tcol((t) => t.analysis.hedged?.wnid ?? null), tcol((t) => t.analysis.hedged?.name ?? null), tcol((t) => t.analysis.hedged?.score ?? null),
        tcol((t) => t.analysis.hedged?.target ?? null), tcol((t) => t.labels), tcol((t) => t.categories), tcol((t) => t.embedding),
      ],
    );
    const flat = <R>(f: (t: Template) => R[]) => s.templates.flatMap((t, i) => f(t).map((r) => [i, r] as const));
    const nodes = flat((t) => t.nodes);
    await client.query(
      `insert into node_scores (photo_id, owner_id, wnid, score)
       select b.id, b.owner_id, n.wnid, n.score from unnest($1::int[], $2::int[], $3::int[]) as b(id, owner_id, t) join unnest($4::int[], $5::text[], $6::float8[]) as n(t, wnid, score) on n.t = b.t`,
      [ids, col((p) => p.ownerId), template, nodes.map(([t]) => t), nodes.map(([, n]) => n.wnid), nodes.map(([, n]) => n.score)],
    );
    const tags = flat((t) => t.tags);
    if (tags.length > 0)
      await client.query(
        `insert into photo_tags (photo_id, concept_id, score)
         select b.id, g.concept_id, g.score from unnest($1::int[], $2::int[]) as b(id, t) join unnest($3::int[], $4::text[], $5::float8[]) as g(t, concept_id, score) on g.t = b.t`,
        [ids, template, tags.map(([t]) => t), tags.map(([, g]) => g.id), tags.map(([, g]) => g.score)],
      );
    // each template's document is parsed once
    await client.query(
      `with d as materialized (select t, to_tsvector('simple', terms) as terms from unnest($3::int[], $4::text[]) as x(t, terms) where terms <> '')
       insert into photo_terms (photo_id, terms) select b.id, d.terms from unnest($1::int[], $2::int[]) as b(id, t) join d on d.t = b.t`,
      [ids, template, tids, tcol((t) => t.terms)],
    );
    const counts = flat((t) => t.counts);
    await client.query(
      `with b (owner_id, visibility, t) as (select * from unnest($1::int[], $2::text[], $3::int[])),
         c (t, kind, key, photos, score, owner_only) as (select * from unnest($4::int[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::int[]))
       insert into concept_counts (owner_id, visibility, kind, key, photos, score_micros)
       ${countsSelect('b', 'c')}
       on conflict (owner_id, visibility, kind, key) do update set photos = concept_counts.photos + excluded.photos, score_micros = concept_counts.score_micros + excluded.score_micros`,
      [col((p) => p.ownerId), col((p) => p.visibility), template, counts.map(([t]) => t), counts.map(([, c]) => c.kind), counts.map(([, c]) => c.key), counts.map(([, c]) => c.photos), counts.map(([, c]) => c.score), counts.map(([, c]) => c.ownerOnly)],
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
  await sql`drop index if exists node_scores_wnid_score_idx`.execute(lib.db);
  await sql`drop index if exists node_scores_owner_idx`.execute(lib.db);
  await sql`drop index if exists photos_hash_idx`.execute(lib.db);
  // PostgreSQL: the word-search GIN index too (built once from the loaded terms), and the foreign keys of the
  // tables that take rows per photo (a trigger per row while loading; checked once, set-wise, when added back)
  let foreignKeys: Array<{ table: string; name: string; def: string }> = [];
  if (lib.dialect === 'postgres') {
    await sql`drop index if exists photo_terms_gin`.execute(lib.db);
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
    await sql`create index if not exists node_scores_wnid_score_idx on node_scores (wnid, score desc, photo_id)`.execute(lib.db);
    await sql`create index if not exists node_scores_owner_idx on node_scores (wnid, owner_id, score desc, photo_id)`.execute(lib.db);
    await sql`create index if not exists photos_hash_idx on photos (content_hash)`.execute(lib.db);
    if (lib.dialect === 'postgres') {
      await sql`create index if not exists photo_terms_gin on photo_terms using gin (terms)`.execute(lib.db);
      for (const k of foreignKeys) await sql`alter table ${sql.id(k.table)} add constraint ${sql.id(k.name)} ${sql.raw(k.def)}`.execute(lib.db);
    }
    if (sqlite && typeof sync === 'number') sqlite.pragma(`synchronous = ${sync}`);
    if (sqlite && typeof cache === 'number') sqlite.pragma(`cache_size = ${cache}`);
  }
}
