// Similar photos through an approximate-nearest-neighbour index (usearch HNSW), one per model: embeddings are
// projected to a small principal subspace and quantised to int8 (projection.ts), so the index holds a few
// hundred bytes per photo. Candidates are over-fetched, then filtered by the viewer's access IN SQL and re-ranked
// by exact cosine on the stored embeddings, so a result never includes a photo the viewer may not see.
// The index is saved beside the database, rebuilt from it when missing or stale, and catches up with photos
// added since (by photo id) before answering.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import usearch, { type Index as UsearchIndex } from 'usearch';
import type { LibraryDb } from './db.js';
import { bytesToEmbedding, cosine } from './embedding.js';
import { learnProjection, projectInt8, projectionFromJson, projectionToJson, type Projection } from './projection.js';
import { dialectOf } from './terms.js';
import { canSee, visibleTo, type Viewer } from './viewer.js';

export interface SimilarIndexOptions {
  /** Folder for the saved indexes (null: memory only). */
  dir: string | null;
  /** Projected dimensions (default 128). */
  dims?: number;
  /** HNSW links per node (default 16). */
  connectivity?: number;
  /**
   * Candidates weighed when a photo is linked into the graph (HNSW efConstruction; default 128, usearch's own
   * default). 64 left clusters of near-duplicates badly linked: recall@12 at 1,000,000 photos 0.92-0.94 against
   * 0.97 with 128 (96 queries).
   */
  expansionAdd?: number;
  /**
   * Candidates a search keeps while walking the graph (HNSW ef; default 512; a search asking for more uses that
   * many). Over the 240 candidates of 12 photos at 1,000,000: recall@12 0.978-0.990 with 128, 0.986-0.994 with
   * 512 (three indexes, 96 queries), ~0.2 ms more a search.
   */
  expansionSearch?: number;
  /** Photos sampled to learn the projection (default 1500). */
  sample?: number;
  /** Re-read the database for new photos at most this often (default 1000 ms; 0 = before every search). */
  syncEveryMs?: number;
  /** Candidates the index proposes per photo asked for, re-ranked exactly (default 20, at least 100 in all). */
  overFetch?: number;
}

interface ModelIndex {
  modelId: string;
  index: UsearchIndex;
  projection: Projection;
  /** Highest photo id indexed. */
  watermark: number;
  /** Photos added to the index (stale entries included). */
  added: number;
  syncedAt: number;
  unsaved: number;
}

export interface SimilarHit {
  id: number;
  similarity: number;
}

const BATCH = 2000;
/** Most candidates one search asks the index for (the search's own expansion then follows it). */
const WIDEST = 4096;

/** The library's identity (kept in the database), so that saved indexes never mix two libraries. */
async function libraryId(db: LibraryDb): Promise<string> {
  const row = await db.selectFrom('library_meta').select('value').where('key', '=', 'library_id').executeTakeFirst();
  if (row) return row.value;
  await db.insertInto('library_meta').values({ key: 'library_id', value: randomBytes(8).toString('hex') }).onConflict((oc) => oc.column('key').doNothing()).execute();
  return (await db.selectFrom('library_meta').select('value').where('key', '=', 'library_id').executeTakeFirstOrThrow()).value;
}

export class SimilarIndex {
  private readonly models = new Map<string, Promise<ModelIndex>>();
  private libId: string | undefined;
  private readonly opts: Required<Omit<SimilarIndexOptions, 'dir'>> & { dir: string | null };

  constructor(
    private readonly db: LibraryDb,
    opts: SimilarIndexOptions,
  ) {
    this.opts = { dims: 128, connectivity: 16, expansionAdd: 128, expansionSearch: 512, sample: 1500, syncEveryMs: 1000, overFetch: 20, ...opts };
  }

  /** The photos most similar to `photoId` that `viewer` may see (of `ownerId` when given), best first. */
  async search(viewer: Viewer, photoId: number, modelId: string, query: Float32Array, limit: number, ownerId?: number): Promise<SimilarHit[]> {
    const m = await this.ready(modelId);
    const total = m.index.size();
    const q = projectInt8(m.projection, query);
    // the query photo is in the index (under its own id) unless re-analysed since the last sync
    const selfIndexed = m.index.contains(BigInt(photoId)) === true;
    // Over-fetch, keep only what the viewer may see, re-rank exactly; widen while too few survive.
    for (let k = Math.max(this.opts.overFetch * limit, 100); ; k *= 4) {
      const want = Math.min(k + 1, total);
      if (want === 0) return [];
      let keys = Array.from(m.index.search(q, want, 1).keys, (key) => Number(key));
      // A search that does not find the query photo itself got lost in the graph (its greedy descent ended in
      // another cluster of near-duplicates, and the neighbours it proposes are then mostly wrong): search again
      // with the widest expansion and keep its first `want` (1,000,000 photos: 1-3 of 96 queries, each otherwise
      // finding 0-2 of its 12 neighbours).
      if (selfIndexed && want < Math.min(WIDEST, total) && !keys.includes(photoId)) keys = Array.from(m.index.search(q, Math.min(WIDEST, total), 1).keys, (key) => Number(key)).slice(0, want);
      const ids = keys.filter((id) => id !== photoId);
      // (re-ranking only the index's first few visible candidates loses recall: PCA-128 order is only rough)
      const hits = await this.rerank(modelId, query, await this.visibleOf(viewer, ids, ownerId));
      if (hits.length >= limit || want >= total) return hits.slice(0, limit);
      if (k * 4 > WIDEST) break;
    }
    // a viewer who may see only a few of the model's photos: exact search over those
    return bruteForceSimilar(this.db, viewer, photoId, modelId, query, limit, ownerId);
  }

  /** Brings the model's index up to date (building it when missing or stale) and saves it; its size. */
  async refresh(modelId: string): Promise<{ photos: number; fileBytes: number | null }> {
    const m = await this.ready(modelId, true);
    this.save(m);
    return { photos: m.index.size(), fileBytes: this.savedBytes(m.modelId) };
  }

  /** Size in bytes of the saved index of a model (vectors, links and the projection side file), if saved. */
  savedBytes(modelId: string): number | null {
    if (!this.opts.dir || !this.libId) return null;
    const file = this.file(modelId);
    try {
      return statSync(file).size + statSync(`${file}.json`).size;
    } catch {
      return null;
    }
  }

  private file(modelId: string): string {
    const safe = modelId.replace(/[^A-Za-z0-9._-]/g, '_');
    return join(this.opts.dir!, `${this.libId}-${safe}.usearch`);
  }

  private ready(modelId: string, forceSync = false): Promise<ModelIndex> {
    let p = this.models.get(modelId);
    if (!p) {
      p = this.open(modelId);
      this.models.set(modelId, p);
      p.catch(() => this.models.delete(modelId));
      return p;
    }
    return p.then(async (m) => {
      if (forceSync || Date.now() - m.syncedAt >= this.opts.syncEveryMs) await this.sync(m);
      return m;
    });
  }

  private newIndex(dims: number): UsearchIndex {
    return new usearch.Index({ dimensions: dims, metric: usearch.MetricKind.L2sq, quantization: usearch.ScalarKind.I8, connectivity: this.opts.connectivity, expansion_add: this.opts.expansionAdd, expansion_search: this.opts.expansionSearch, multi: false });
  }

  /** Loads the saved index when it is fresh enough, else builds one from the database. */
  private async open(modelId: string): Promise<ModelIndex> {
    this.libId ??= await libraryId(this.db);
    await this.warmAccess();
    const stats = await this.db
      .selectFrom('analyses')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('photo_id').as('maxId')])
      .where('model_id', '=', modelId)
      .executeTakeFirstOrThrow();
    const count = Number(stats.n);
    const maxId = Number(stats.maxId ?? 0);
    if (this.opts.dir) {
      const file = this.file(modelId);
      if (existsSync(file) && existsSync(`${file}.json`)) {
        try {
          const meta = JSON.parse(readFileSync(`${file}.json`, 'utf8')) as { watermark: number; added: number; projection: Parameters<typeof projectionFromJson>[0] };
          // stale: the database was rebuilt (ids went back), or many indexed photos are gone or re-analysed away
          if (meta.watermark <= maxId && meta.added <= count * 1.2 + 100) {
            const projection = projectionFromJson(meta.projection);
            const index = this.newIndex(projection.dims);
            index.load(file);
            const m: ModelIndex = { modelId, index, projection, watermark: meta.watermark, added: meta.added, syncedAt: 0, unsaved: 0 };
            await this.sync(m);
            // stale too: many photos of this model are not in it (e.g. re-analysed from another model under old ids)
            if (count <= m.index.size() * 1.05 + 10) return m;
          }
        } catch {
          // unreadable: rebuilt below
        }
      }
    }
    return this.build(modelId);
  }

  private async build(modelId: string): Promise<ModelIndex> {
    // learn the projection from a sample spread over the library
    const count = Number((await this.db.selectFrom('analyses').select((eb) => eb.fn.countAll<number>().as('n')).where('model_id', '=', modelId).executeTakeFirstOrThrow()).n);
    const every = Math.max(1, Math.floor(count / this.opts.sample));
    const sampleRows = await this.db
      .selectFrom('analyses')
      .select('embedding')
      .where('model_id', '=', modelId)
      .where(sql<boolean>`photo_id % ${every} = 0`)
      .limit(this.opts.sample)
      .execute();
    let samples = sampleRows.map((r) => bytesToEmbedding(r.embedding));
    if (samples.length < Math.min(count, 50)) {
      samples = (await this.db.selectFrom('analyses').select('embedding').where('model_id', '=', modelId).limit(this.opts.sample).execute()).map((r) => bytesToEmbedding(r.embedding));
    }
    const dims = samples[0]?.length ?? 1;
    const projection = samples.length > 0 ? learnProjection(samples, Math.min(this.opts.dims, dims), { iterations: 3 }) : learnProjection([new Float32Array(dims)], 1);
    const m: ModelIndex = { modelId, index: this.newIndex(projection.dims), projection, watermark: 0, added: 0, syncedAt: 0, unsaved: 0 };
    await this.sync(m);
    this.save(m);
    return m;
  }

  /** Adds the photos of this model stored since the watermark (incremental: new photos only). */
  private async sync(m: ModelIndex): Promise<void> {
    m.syncedAt = Date.now();
    for (;;) {
      const rows = await this.db
        .selectFrom('analyses')
        .select(['photo_id', 'embedding'])
        .where('photo_id', '>', m.watermark)
        .where('model_id', '=', m.modelId)
        .orderBy('photo_id')
        .limit(BATCH)
        .execute();
      if (rows.length === 0) break;
      const keys = new BigUint64Array(rows.length);
      const vectors = new Int8Array(rows.length * m.projection.dims);
      rows.forEach((r, i) => {
        keys[i] = BigInt(r.photo_id);
        vectors.set(projectInt8(m.projection, bytesToEmbedding(r.embedding)), i * m.projection.dims);
      });
      // a photo re-analysed under the same id is replaced
      const present = m.index.contains(keys) as boolean[] | boolean;
      const again = Array.isArray(present) ? keys.filter((_, i) => present[i]) : present ? keys : new BigUint64Array(0);
      if (again.length > 0) m.index.remove(again);
      m.index.add(keys, vectors, availableParallelism());
      m.watermark = rows[rows.length - 1]!.photo_id;
      m.added += rows.length;
      m.unsaved += rows.length;
      if (rows.length < BATCH) break;
    }
    if (m.unsaved >= 5000) this.save(m);
  }

  private save(m: ModelIndex): void {
    if (!this.opts.dir || m.unsaved === 0) return;
    const file = this.file(m.modelId);
    mkdirSync(this.opts.dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      m.index.save(tmp);
      writeFileSync(`${tmp}.json`, JSON.stringify({ watermark: m.watermark, added: m.added, projection: projectionToJson(m.projection) }));
      renameSync(tmp, file);
      renameSync(`${tmp}.json`, `${file}.json`);
      m.unsaved = 0;
    } catch {
      // the index stays in memory; saving is retried after the next changes
      rmSync(tmp, { force: true });
      rmSync(`${tmp}.json`, { force: true });
    }
  }

  /** Of `ids` (in index order), those the viewer may see (of `ownerId` when given), in the same order. */
  private async visibleOf(viewer: Viewer, ids: number[], ownerId?: number): Promise<number[]> {
    // an admin sees every photo (a deleted one has no analysis left: the re-rank drops it)
    if (viewer.kind === 'admin' && ownerId === undefined) return ids;
    const ok = new Set<number>();
    const sqlite = dialectOf(this.db) === 'sqlite';
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      if (sqlite) {
        // from the photo access index (kept warm: see warmAccess), never the photos table's pages
        const rows = await sql<{ id: number; owner_id: number; visibility: string }>`select id, owner_id, visibility from photos indexed by photos_access_idx where id in (${sql.join(chunk)})`.execute(this.db);
        for (const r of rows.rows) if (canSee(viewer, r) && (ownerId === undefined || r.owner_id === ownerId)) ok.add(r.id);
        continue;
      }
      let q = this.db.selectFrom('photos as p').select('p.id').where('p.id', 'in', chunk).where(visibleTo(viewer, 'p'));
      if (ownerId !== undefined) q = q.where('p.owner_id', '=', ownerId);
      for (const r of await q.execute()) ok.add(r.id);
    }
    return ids.filter((id) => ok.has(id));
  }

  /**
   * SQLite: reads the photo access index through once (13 MB at 1,000,000 photos, one sequential pass), so that the
   * visibility checks of the first searches find it cached rather than reading its pages at random.
   */
  private async warmAccess(): Promise<void> {
    if (dialectOf(this.db) !== 'sqlite') return;
    // (a sum over a column of the index: SQLite answers count(*) from its smallest index, whatever INDEXED BY says)
    await sql`select sum(owner_id) as n from photos indexed by photos_access_idx`.execute(this.db);
  }

  /** Candidates (already checked for the viewer) still analysed by the model, with exact cosine, best first. */
  private async rerank(modelId: string, query: Float32Array, ids: number[]): Promise<SimilarHit[]> {
    const out: SimilarHit[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db.selectFrom('analyses').select(['photo_id', 'embedding']).where('photo_id', 'in', ids.slice(i, i + 500)).where('model_id', '=', modelId).execute();
      for (const r of rows) out.push({ id: r.photo_id, similarity: cosine(query, bytesToEmbedding(r.embedding)) });
    }
    return out.sort((x, y) => y.similarity - x.similarity || x.id - y.id);
  }
}

/** Exact similar photos by cosine over every visible photo of the model (id-ordered batches, bounded memory). */
export async function bruteForceSimilar(db: LibraryDb, viewer: Viewer, photoId: number, modelId: string, query: Float32Array, limit: number, ownerId?: number): Promise<SimilarHit[]> {
  let q = db
    .selectFrom('photos as p')
    .innerJoin('analyses as a', 'a.photo_id', 'p.id')
    .select(['p.id', 'a.embedding'])
    .where('a.model_id', '=', modelId)
    .where('p.id', '<>', photoId)
    .where(visibleTo(viewer, 'p'));
  if (ownerId !== undefined) q = q.where('p.owner_id', '=', ownerId);
  const best: SimilarHit[] = [];
  for (let afterId = 0; ; ) {
    // (the bound on both sides of the join: PostgreSQL's merge join otherwise reads the analyses from the first
    // one on every batch, quadratic in the library size)
    const batch = await q.where('p.id', '>', afterId).where('a.photo_id', '>', afterId).orderBy('p.id', 'asc').limit(1000).execute();
    for (const r of batch) {
      const sim = cosine(query, bytesToEmbedding(r.embedding));
      if (best.length < limit || sim > best[best.length - 1]!.similarity) {
        best.push({ id: r.id, similarity: sim });
        best.sort((x, y) => y.similarity - x.similarity || x.id - y.id);
        if (best.length > limit) best.pop();
      }
    }
    if (batch.length < 1000) break;
    afterId = batch[batch.length - 1]!.id;
  }
  return best;
}
