// The bulk path: many NEW photos with complete analyses in one transaction per batch (prepared statements on
// SQLite, unnest() arrays on PostgreSQL), counts aggregated over the batch and applied in the same transaction.
// For imports and the scale benchmark; everyday ingest stores one photo per transaction (store.ts).
import { sql } from 'kysely';
import type { PhotoAnalysis } from './analysis.js';
import { contributionOf, CountDeltas, storedTags } from './counts.js';
import { nowIso, type Library } from './db.js';
import { compactEmbedding } from './embedding.js';
import { termsOf } from './terms.js';
import type { PhotoFacts, Visibility } from './store.js';

export interface BulkPhoto {
  ownerId: number;
  visibility: Visibility;
  facts: PhotoFacts;
  analysis: PhotoAnalysis;
}

/** SQLite page cache during a deferred-index load (KiB). */
const BULK_CACHE_KIB = 512 * 1024;

/** Node-score rows per multi-row INSERT on SQLite. */
const NODE_ROWS = 64;

interface Prepared {
  photo: BulkPhoto;
  top: { wnid: string; score: number };
  labels: string;
  categories: string;
  embedding: Buffer;
  nodes: Array<{ wnid: string; score: number }>;
  terms: string;
  /** The photo's tags (photo_tags rows), as contributionOf counts them. */
  tags: Array<[string, number]>;
}

function prepare(photos: BulkPhoto[]): { rows: Prepared[]; deltas: CountDeltas } {
  const deltas = new CountDeltas();
  const rows = photos.map((photo) => {
    const a = photo.analysis;
    const top = a.labels[0];
    if (!top) throw new Error('an analysis needs at least one label');
    const seen = new Set<string>();
    const nodes = a.nodeScores.filter((n) => Number.isFinite(n.score) && !seen.has(n.wnid) && (seen.add(n.wnid), true));
    deltas.add(photo.ownerId, photo.visibility, contributionOf(a), 1);
    return { photo, top, labels: JSON.stringify(a.labels), categories: JSON.stringify(a.categories), embedding: compactEmbedding(a.embedding), nodes, terms: termsOf(nodes), tags: [...storedTags(a.tags)] };
  });
  return { rows, deltas };
}

/**
 * Stores new photos (the (owner, content hash) pairs must not exist yet) with their analyses, node scores
 * and counts in ONE transaction; returns their ids in input order.
 */
export async function bulkStorePhotos(lib: Library, photos: BulkPhoto[]): Promise<number[]> {
  if (photos.length === 0) return [];
  const { rows, deltas } = prepare(photos);
  const now = nowIso();
  if ('sqlite' in lib.raw) {
    const sqlite = lib.raw.sqlite;
    const insPhoto = sqlite.prepare(
      `insert into photos (owner_id, content_hash, original_path, file_name, size, width, height, format, taken_at, camera, orientation, gps_lat, gps_lon, thumb_small, thumb_large, visibility, created_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insAnalysis = sqlite.prepare(
      `insert into analyses (photo_id, model_id, model_sha256, top_wnid, top_score, hedged_wnid, hedged_name, hedged_score, hedged_target, labels, categories, embedding, created_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // node scores: many rows per statement (one native call per NODE_ROWS rows)
    const nodeInsert = (rows: number) => sqlite.prepare(`insert into node_scores (photo_id, owner_id, wnid, score) values ${Array(rows).fill('(?, ?, ?, ?)').join(', ')}`);
    const insNodes = nodeInsert(NODE_ROWS);
    const insNode = nodeInsert(1);
    const insTerms = sqlite.prepare('insert into photo_terms (rowid, terms) values (?, ?)');
    const insTag = sqlite.prepare('insert into photo_tags (photo_id, concept_id, score) values (?, ?, ?)');
    const upCount = sqlite.prepare(
      `insert into concept_counts (owner_id, visibility, kind, key, photos, score_micros) values (?, ?, ?, ?, ?, ?)
       on conflict (owner_id, visibility, kind, key) do update set photos = concept_counts.photos + excluded.photos, score_micros = concept_counts.score_micros + excluded.score_micros`,
    );
    const run = sqlite.transaction(() => {
      const ids: number[] = [];
      const nodeValues: Array<number | string> = [];
      for (const r of rows) {
        const { photo: p, top } = r;
        const f = p.facts;
        const a = p.analysis;
        const id = Number(
          insPhoto.run(
            p.ownerId, f.content_hash, f.original_path, f.file_name, f.size, f.width, f.height, f.format, f.taken_at ?? null, f.camera ?? null,
            f.orientation ?? null, f.gps_lat ?? null, f.gps_lon ?? null, f.thumb_small ?? null, f.thumb_large ?? null, p.visibility, now,
          ).lastInsertRowid,
        );
        insAnalysis.run(
          id, a.model.id, a.model.sha256, top.wnid, top.score, a.hedged?.wnid ?? null, a.hedged?.name ?? null, a.hedged?.score ?? null,
          a.hedged?.target ?? null, r.labels, r.categories, r.embedding, now,
        );
        for (const n of r.nodes) {
          nodeValues.push(id, p.ownerId, n.wnid, n.score);
          if (nodeValues.length === NODE_ROWS * 4) {
            insNodes.run(nodeValues);
            nodeValues.length = 0;
          }
        }
        if (r.terms !== '') insTerms.run(id, r.terms);
        for (const [concept, score] of r.tags) insTag.run(id, concept, score);
        ids.push(id);
      }
      for (let i = 0; i < nodeValues.length; i += 4) insNode.run(nodeValues.slice(i, i + 4));
      for (const c of deltas.changes()) upCount.run(c.owner_id, c.visibility, c.kind, c.key, c.photos, c.score_micros);
      return ids;
    });
    return run.immediate();
  }
  const client = await lib.raw.pool.connect();
  try {
    await client.query('begin');
    const ids = (await client.query<{ id: number }>(`select nextval(pg_get_serial_sequence('photos', 'id'))::int as id from generate_series(1, $1)`, [rows.length])).rows.map((r) => r.id);
    const col = <T>(f: (r: Prepared) => T) => rows.map(f);
    await client.query(
      `insert into photos (id, owner_id, content_hash, original_path, file_name, size, width, height, format, taken_at, camera, orientation, gps_lat, gps_lon, thumb_small, thumb_large, visibility, created_at)
       select *, $17::text from unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::text[], $10::text[], $11::text[], $12::int[], $13::float8[], $14::float8[], $15::text[], $16::text[], $18::text[])`,
      [
        ids, col((r) => r.photo.ownerId), col((r) => r.photo.facts.content_hash), col((r) => r.photo.facts.original_path), col((r) => r.photo.facts.file_name),
        col((r) => r.photo.facts.size), col((r) => r.photo.facts.width), col((r) => r.photo.facts.height), col((r) => r.photo.facts.format),
        col((r) => r.photo.facts.taken_at ?? null), col((r) => r.photo.facts.camera ?? null), col((r) => r.photo.facts.orientation ?? null),
        col((r) => r.photo.facts.gps_lat ?? null), col((r) => r.photo.facts.gps_lon ?? null), col((r) => r.photo.facts.thumb_small ?? null),
        col((r) => r.photo.facts.thumb_large ?? null), now, col((r) => r.photo.visibility),
      ],
    );
    await client.query(
      `insert into analyses (photo_id, model_id, model_sha256, top_wnid, top_score, hedged_wnid, hedged_name, hedged_score, hedged_target, labels, categories, embedding, created_at)
       select *, $13::text from unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[], $7::text[], $8::float8[], $9::float8[], $10::text[], $11::text[], $12::bytea[])`,
      [
        ids, col((r) => r.photo.analysis.model.id), col((r) => r.photo.analysis.model.sha256), col((r) => r.top.wnid), col((r) => r.top.score),
        col((r) => r.photo.analysis.hedged?.wnid ?? null), col((r) => r.photo.analysis.hedged?.name ?? null), col((r) => r.photo.analysis.hedged?.score ?? null),
        col((r) => r.photo.analysis.hedged?.target ?? null), col((r) => r.labels), col((r) => r.categories), col((r) => r.embedding), now,
      ],
    );
    const nodeIds: number[] = [];
    const nodeOwners: number[] = [];
    const nodeWnids: string[] = [];
    const nodeScores: number[] = [];
    rows.forEach((r, i) => {
      for (const n of r.nodes) {
        nodeIds.push(ids[i]!);
        nodeOwners.push(r.photo.ownerId);
        nodeWnids.push(n.wnid);
        nodeScores.push(n.score);
      }
    });
    await client.query('insert into node_scores (photo_id, owner_id, wnid, score) select * from unnest($1::int[], $2::int[], $3::text[], $4::float8[])', [nodeIds, nodeOwners, nodeWnids, nodeScores]);
    const withTerms = rows.flatMap((r, i) => (r.terms === '' ? [] : [i]));
    await client.query(`insert into photo_terms (photo_id, terms) select id, to_tsvector('simple', t) from unnest($1::int[], $2::text[]) as x(id, t)`, [
      withTerms.map((i) => ids[i]!),
      withTerms.map((i) => rows[i]!.terms),
    ]);
    const tagged = rows.flatMap((r, i) => r.tags.map(([concept, score]) => ({ id: ids[i]!, concept, score })));
    if (tagged.length > 0) {
      await client.query('insert into photo_tags (photo_id, concept_id, score) select * from unnest($1::int[], $2::text[], $3::float8[])', [
        tagged.map((t) => t.id),
        tagged.map((t) => t.concept),
        tagged.map((t) => t.score),
      ]);
    }
    const c = deltas.changes();
    await client.query(
      `insert into concept_counts (owner_id, visibility, kind, key, photos, score_micros)
       select * from unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
       on conflict (owner_id, visibility, kind, key) do update set photos = concept_counts.photos + excluded.photos, score_micros = concept_counts.score_micros + excluded.score_micros`,
      [c.map((x) => x.owner_id), c.map((x) => x.visibility), c.map((x) => x.kind), c.map((x) => x.key), c.map((x) => x.photos), c.map((x) => x.score_micros)],
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
 * Runs a large load with the node-score indexes `(wnid, score desc, photo_id)` and `(wnid, owner_id, ...)` (and on PostgreSQL
 * the word-search GIN index) dropped, and builds them once at the
 * end (one sort instead of millions of random index inserts). Readers see no index meanwhile: for building a
 * new library (the scale benchmark, an import into an empty library).
 */
export async function withDeferredIndexes<T>(lib: Library, load: () => Promise<T>): Promise<T> {
  await sql`drop index if exists node_scores_wnid_score_idx`.execute(lib.db);
  await sql`drop index if exists node_scores_owner_idx`.execute(lib.db);
  // PostgreSQL: the word-search GIN index too (built once from the loaded terms)
  if (lib.dialect === 'postgres') await sql`drop index if exists photo_terms_gin`.execute(lib.db);
  // SQLite: a larger page cache while loading and indexing (the photos' hash indexes take random inserts; the
  // index sort runs in it), then the usual one
  const sqlite = 'sqlite' in lib.raw ? lib.raw.sqlite : undefined;
  const cache = sqlite?.pragma('cache_size', { simple: true });
  sqlite?.pragma(`cache_size = ${-BULK_CACHE_KIB}`);
  try {
    return await load();
  } finally {
    await sql`create index if not exists node_scores_wnid_score_idx on node_scores (wnid, score desc, photo_id)`.execute(lib.db);
    await sql`create index if not exists node_scores_owner_idx on node_scores (wnid, owner_id, score desc, photo_id)`.execute(lib.db);
    if (lib.dialect === 'postgres') await sql`create index if not exists photo_terms_gin on photo_terms using gin (terms)`.execute(lib.db);
    if (sqlite && typeof cache === 'number') sqlite.pragma(`cache_size = ${cache}`);
  }
}
