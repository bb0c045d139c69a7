// The scale benchmark: `npm run bench -- --only scale --photos N` builds an N-photo library (SQLite, or
// PostgreSQL with DATABASE_URL) from real classifications of sample photos, copied under synthetic owners with
// their own tastes and visibility, through the bulk path; then times every page's query (p50/p95).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import usearch from 'usearch';
import type { PhotoAnalysis } from '../src/library/analysis.js';
import type { LibraryDb } from '../src/library/db.js';
import { bytesToEmbedding, cosine } from '../src/library/embedding.js';
import { mulberry32 } from '../src/concepts/metrics.js';
import { bulkStorePhotos, buildNewLibrary, type BulkPhoto } from '../src/library/bulk.js';
import { categoryCounts } from '../src/library/categories.js';
import { bulkBuildMarker, dropPgSchema, openLibrary, type Library } from '../src/library/db.js';
import { listPhotos, photoDetail, similarPhotos } from '../src/library/photos.js';
import { searchPhotos } from '../src/library/search.js';
import { SimilarIndex } from '../src/library/similar-index.js';
import { compareOwners, ownerProfile } from '../src/library/profile.js';
import { loadRecognizer } from '../src/library/recognizer.js';
import { ensureOwner, type PhotoFacts } from '../src/library/store.js';
import { ADMIN, ownerViewer, visibleTo, type Viewer } from '../src/library/viewer.js';
import { consumerCategoryCounts } from '../src/server/consumer-categories.js';
import { expandInputs } from '../src/vision/pipeline.js';

export interface ScaleBenchOptions {
  folder: string;
  outDir: string;
  photos?: number;
  env?: NodeJS.ProcessEnv;
  /** Real photos classified for the analyses that are copied (default 300). */
  sample?: number;
  /** Repetitions per query (default 100). */
  rounds?: number;
}

export interface SampleItem {
  analysis: PhotoAnalysis;
  width: number;
  height: number;
  format: string;
}

const prng = mulberry32;
/** Photos whose similar photos are checked against exact search (recall@12). */
const RECALL_QUERIES = 96;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function time(rounds: number, f: (i: number) => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  await f(rounds); // warm-up
  const t: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await f(i);
    t.push(performance.now() - t0);
  }
  return { p50: round(percentile(t, 50)), p95: round(percentile(t, 95)) };
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Real classifications of sample photos (cached per model in the output folder). */
export async function realSample(opts: ScaleBenchOptions, env: NodeJS.ProcessEnv): Promise<{ items: SampleItem[]; view: Awaited<ReturnType<typeof loadRecognizer>>['view'] }> {
  const recognizer = await loadRecognizer({ env });
  try {
    const cache = join(opts.outDir, `scale-sample-${recognizer.engine.model.id}.json`);
    const want = opts.sample ?? 300;
    if (existsSync(cache)) {
      const raw = JSON.parse(readFileSync(cache, 'utf8')) as Array<SampleItem & { embedding: string }>;
      if (raw.length >= want)
        return {
          view: recognizer.view,
          items: raw.slice(0, want).map((r) => ({ ...r, analysis: { ...r.analysis, embedding: new Float32Array(new Uint8Array(Buffer.from(r.embedding, 'base64')).buffer) } })),
        };
    }
    const files = (await expandInputs([opts.folder])).slice(0, want);
    const items: SampleItem[] = [];
    for (const f of files) {
      const seen = await recognizer.recognize(readFileSync(f));
      items.push({ analysis: seen.analysis, width: seen.width, height: seen.height, format: seen.format });
    }
    writeFileSync(cache, JSON.stringify(items.map((i) => ({ ...i, embedding: Buffer.from(i.analysis.embedding.buffer, i.analysis.embedding.byteOffset, i.analysis.embedding.byteLength).toString('base64'), analysis: { ...i.analysis, embedding: undefined } }))));
    return { items, view: recognizer.view };
  } finally {
    await recognizer.close();
  }
}

/**
 * Synthetic photo `i`: a copy of the analysis of one real photo (owners favour their own few subjects; the
 * bulk path stores each copied analysis set-wise), with its own embedding mixed from that photo's and two
 * others' (so that neighbours are a continuum, not exact copies).
 */
export function synthesize(items: SampleItem[], owners: Array<{ id: number; taste: number[]; publicShare: number }>, pickOwner: () => number, r: () => number, i: number): BulkPhoto {
  const owner = owners[pickOwner()]!;
  const base = r() < 0.75 ? owner.taste[Math.floor(r() * owner.taste.length)]! : Math.floor(r() * items.length);
  const s = items[base]!;
  const j = items[Math.floor(r() * items.length)]!.analysis.embedding;
  const k = items[Math.floor(r() * items.length)]!.analysis.embedding;
  const e = s.analysis.embedding;
  const wj = r() * 0.5;
  const wk = r() * 0.3;
  const out = new Float32Array(e.length);
  let norm = 0;
  for (let d = 0; d < e.length; d++) {
    const v = e[d]! + wj * j[d]! + wk * k[d]!;
    out[d] = v;
    norm += v * v;
  }
  norm = Math.sqrt(norm) || 1;
  for (let d = 0; d < out.length; d++) out[d]! /= norm;
  const facts: PhotoFacts = {
    content_hash: createHash('sha256').update(`scale/${i}`).digest('hex'),
    original_path: `/scale/${owner.id}/${i}.jpg`,
    file_name: `${i}.jpg`,
    size: 100_000 + Math.floor(r() * 4_000_000),
    width: s.width,
    height: s.height,
    format: s.format,
    taken_at: null,
    camera: null,
    orientation: 1,
    gps_lat: null,
    gps_lon: null,
    thumb_small: null,
    thumb_large: null,
  };
  return { ownerId: owner.id, visibility: r() < owner.publicShare ? 'public' : 'private', facts, analysis: s.analysis, embedding: out };
}

/**
 * The exact `k` most similar photos (cosine on the stored embeddings, as the index's re-rank and the exact search
 * compute it; an admin's view: every photo of the model but the query itself) of MANY query photos in one pass
 * over the stored embeddings: each batch of rows is brute-forced against all queries at once (usearch's SIMD
 * exact search proposes a few more than `k` per batch, then JavaScript's `cosine` decides, so ties and rounding
 * are those of the product). A million photos: one read of the analyses, not one per query.
 */
export async function exactNeighbours(db: LibraryDb, modelId: string, queryIds: number[], k: number, batchRows = 10_000): Promise<Map<number, Array<{ id: number; similarity: number }>>> {
  const rows = await db.selectFrom('analyses').select(['photo_id', 'embedding']).where('photo_id', 'in', queryIds).where('model_id', '=', modelId).execute();
  const queries = rows.map((r) => ({ id: r.photo_id, e: bytesToEmbedding(r.embedding) }));
  const out = new Map(queries.map((q) => [q.id, [] as Array<{ id: number; similarity: number }>]));
  if (queries.length === 0) return out;
  const d = queries[0]!.e.length;
  const qm = new Float32Array(queries.length * d);
  queries.forEach((q, i) => qm.set(q.e, i * d));
  const propose = k + 8;
  for (let after = 0; ; ) {
    const batch = await db.selectFrom('analyses').select(['photo_id', 'embedding']).where('model_id', '=', modelId).where('photo_id', '>', after).orderBy('photo_id').limit(batchRows).execute();
    if (batch.length === 0) break;
    const vecs = batch.map((r) => bytesToEmbedding(r.embedding));
    const data = new Float32Array(batch.length * d);
    vecs.forEach((v, i) => data.set(v.length === d ? v : new Float32Array(d), i * d));
    const found = usearch.exactSearch(data, qm, d, Math.min(propose, batch.length), usearch.MetricKind.Cos, 1);
    queries.forEach((q, qi) => {
      const m = queries.length === 1 ? (found as InstanceType<typeof usearch.Matches>) : (found as InstanceType<typeof usearch.BatchMatches>).get(qi);
      const best = out.get(q.id)!;
      for (const key of m.keys) {
        const row = Number(key);
        const id = batch[row]!.photo_id;
        if (id === q.id) continue;
        const sim = cosine(q.e, vecs[row]!);
        if (best.length < k || sim > best[best.length - 1]!.similarity) {
          best.push({ id, similarity: sim });
          best.sort((x, y) => y.similarity - x.similarity || x.id - y.id);
          if (best.length > k) best.pop();
        }
      }
    });
    if (batch.length < batchRows) break;
    after = batch[batch.length - 1]!.photo_id;
  }
  return out;
}

async function databaseBytes(lib: Library, file: string): Promise<number> {
  if (lib.dialect === 'sqlite') return [file, `${file}-wal`].filter(existsSync).reduce((n, f) => n + statSync(f).size, 0);
  const r = await sql<{ n: number }>`select sum(pg_total_relation_size(c.oid))::bigint as n from pg_class c join pg_namespace s on s.oid = c.relnamespace where s.nspname = current_schema() and c.relkind = 'r'`.execute(lib.db);
  return Number(r.rows[0]?.n ?? 0);
}

export async function benchScale(opts: ScaleBenchOptions): Promise<Record<string, unknown>> {
  const n = opts.photos ?? 100_000;
  // PICTOGRAPH_SCALE_HOME=DIR keeps the built library there and reuses it on the next run of the same size
  // (SQLite file, or PostgreSQL schema bench_scale_keep_N): for working on the queries without rebuilding each time.
  const keep = opts.env?.PICTOGRAPH_SCALE_HOME ?? process.env.PICTOGRAPH_SCALE_HOME;
  const home = keep ? (mkdirSync(keep, { recursive: true }), keep) : mkdtempSync(join(tmpdir(), 'pictograph-bench-scale-'));
  const pgUrl0 = (opts.env ?? process.env).DATABASE_URL?.trim() || undefined;
  const buildFile = join(home, `build-${pgUrl0 ? 'pg-' : ''}${n}.json`);
  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env), PICTOGRAPH_HOME: home };
  env.PICTOGRAPH_MODEL_MIRROR ??= join(opts.folder, '..', '..', '..', 'models');
  const { items, view } = await realSample(opts, env);
  const pgUrl = env.DATABASE_URL?.trim() || undefined;
  const pgSchema = pgUrl ? (keep ? `bench_scale_keep_${n}` : `bench_scale_${process.pid}`) : undefined;
  const sqlitePath = join(home, `pictograph-${n}.db`);
  const reuse = !!keep && existsSync(buildFile) && (!!pgUrl || existsSync(sqlitePath));
  if (keep && !reuse) {
    // a half-built library of an interrupted run is started over
    if (pgUrl && pgSchema) await dropPgSchema(pgUrl, pgSchema);
    for (const f of [sqlitePath, `${sqlitePath}-wal`, `${sqlitePath}-shm`, bulkBuildMarker(sqlitePath)]) rmSync(f, { force: true });
    rmSync(join(home, 'similar'), { recursive: true, force: true });
  }
  const lib = await openLibrary({ env, pgSchema, sqlitePath });
  try {
    // owners: sizes roughly Zipf, each with a few favourite subjects and their own share of public photos
    const r = prng(2026);
    const ownerCount = Math.max(4, Math.round(n / 500));
    const owners: Array<{ id: number; name: string; taste: number[]; publicShare: number }> = [];
    for (let o = 0; o < ownerCount; o++) {
      const name = `owner-${o}`;
      owners.push({ id: await ensureOwner(lib.db, name), name, taste: Array.from({ length: 12 }, () => Math.floor(r() * items.length)), publicShare: r() * 0.6 });
    }
    const weights = owners.map((_, o) => 1 / (o + 1) ** 0.8);
    const cumulative: number[] = [];
    weights.reduce((acc, w, o) => (cumulative[o] = acc + w), 0);
    const totalWeight = cumulative[cumulative.length - 1]!;
    const pickOwner = () => {
      const x = r() * totalWeight;
      let lo = 0;
      let hi = cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid]! < x) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };

    // photos arrive in upload sessions: each owner's photos (sizes as drawn above) in runs of 1-400 (an album, a
    // day), the sessions of all owners shuffled
    const arrivalOrder = (): Int32Array => {
      const sizes = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const o = pickOwner();
        sizes.set(o, (sizes.get(o) ?? 0) + 1);
      }
      const sessions: Array<[number, number]> = [];
      for (const [o, size] of sizes)
        for (let left = size; left > 0; ) {
          const len = Math.min(left, 1 + Math.floor(r() * 400));
          sessions.push([o, len]);
          left -= len;
        }
      for (let i = sessions.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [sessions[i], sessions[j]] = [sessions[j]!, sessions[i]!];
      }
      const order = new Int32Array(n);
      let k = 0;
      for (const [o, len] of sessions) order.fill(o, k, (k += len));
      return order;
    };

    // 1. build through the bulk path, one transaction per batch
    let built: Record<string, number>;
    let t0 = 0;
    if (reuse) {
      built = JSON.parse(readFileSync(buildFile, 'utf8')) as Record<string, number>;
    } else {
    // (a batch's staged embeddings stay under glibc's 32 MB mmap threshold, so its buffers are reused, not
    // faulted in afresh each batch)
    const BATCH = 20_000;
    let storeSeconds = 0;
    let storeCpu = 0;
    let synthSeconds = 0;
    let synthCpu = 0;
    const order = arrivalOrder();
    let arrived = 0;
    const nextOwner = () => order[arrived++]!;
    const buildStart = performance.now();
    const buildCpu0 = process.cpuUsage();
    await buildNewLibrary(lib, async () => {
    for (let i = 0; i < n; i += BATCH) {
      t0 = performance.now();
      const s0 = process.cpuUsage();
      const batch: BulkPhoto[] = [];
      for (let k = i; k < Math.min(n, i + BATCH); k++) batch.push(synthesize(items, owners, nextOwner, r, k));
      const sc = process.cpuUsage(s0);
      synthCpu += (sc.user + sc.system) / 1e6;
      synthSeconds += (performance.now() - t0) / 1000;
      t0 = performance.now();
      const c0 = process.cpuUsage();
      await bulkStorePhotos(lib, batch);
      const c = process.cpuUsage(c0);
      storeCpu += (c.user + c.system) / 1e6;
      storeSeconds += (performance.now() - t0) / 1000;
      if ((i / BATCH) % 5 === 0) process.stderr.write(`scale: ${i + batch.length} photos stored\n`);
    }
    });
    // (after the batches: the counts summed over the build, the deferred indexes and keys, the foreign keys)
    const indexSeconds = (performance.now() - buildStart) / 1000 - storeSeconds - synthSeconds;
    const buildCpu = process.cpuUsage(buildCpu0);
    // (this process's CPU, SQLite's sorting threads included; the synthesis of the photos left out)
    const indexCpu = (buildCpu.user + buildCpu.system) / 1e6 - storeCpu - synthCpu;
    t0 = performance.now();
    await sql`analyze`.execute(lib.db);
    built = {
      bulk_photos_per_s: Math.round(n / storeSeconds),
      bulk_photos_per_cpu_s: lib.dialect === 'sqlite' ? Math.round(n / storeCpu) : NaN,
      index_build_seconds: round(indexSeconds),
      analyze_seconds: round((performance.now() - t0) / 1000),
      synthesis_seconds: round(synthSeconds),
      build_seconds: round(storeSeconds + indexSeconds),
      bulk_with_indexes_photos_per_s: Math.round(n / (storeSeconds + indexSeconds)),
      // SQLite does all of it in this process: photos per CPU-second of rows + counts + indexes, which other work
      // on the same cores does not change (wall seconds do)
      bulk_with_indexes_photos_per_cpu_s: lib.dialect === 'sqlite' ? Math.round(n / (storeCpu + indexCpu)) : NaN,
      build_with_analyze_seconds: round(storeSeconds + indexSeconds + (performance.now() - t0) / 1000),
      // the machine's 1-minute load average when the build ended (other work on the same cores slows the build)
      build_load_average: round(loadavg()[0]!),
    };
    if (keep) writeFileSync(buildFile, JSON.stringify(built));
    }

    // 2. the similar-photos index, built from the database (projection learned on a sample, then every photo)
    const modelId = items[0]!.analysis.model.id;
    const similar = new SimilarIndex(lib.db, { dir: join(home, 'similar') });
    t0 = performance.now();
    const ann = await similar.refresh(modelId);
    const annSeconds = (performance.now() - t0) / 1000;

    // 3. queries
    const rounds = opts.rounds ?? 100;
    const big = owners.slice(0, 2);
    const mid = owners[Math.min(owners.length - 1, 7)]!;
    const ownerView = ownerViewer(big[0]!.id);
    const synsets = ['n00015388', 'n02084071', 'n00021939', 'n01503061', 'n07555863', 'n03405725'];
    const maxId = Number((await lib.db.selectFrom('photos').select((eb) => eb.fn.max('id').as('m')).executeTakeFirstOrThrow()).m);
    const sampleIds = Array.from({ length: 400 }, (_, i) => 1 + Math.floor(prng(i + 7)() * maxId));
    const ownerVisible = (await lib.db.selectFrom('photos as p').select('p.id').where('p.id', 'in', sampleIds).where(visibleTo(ownerView, 'p')).execute()).map((p) => p.id);
    // the fifth page is timed alone (the client holds the cursor of the fourth)
    const cursors = new Map<string, string | undefined>();
    for (const under of synsets)
      for (const [viewer, owner] of [[ADMIN, undefined], [ownerView, mid.name]] as const) {
        let p = await listPhotos(lib.db, viewer, { under, limit: 50, owner });
        for (let j = 0; j < 3 && p.nextCursor; j++) p = await listPhotos(lib.db, viewer, { under, limit: 50, owner, cursor: p.nextCursor });
        cursors.set(`${under}/${owner}`, p.nextCursor ?? undefined);
      }
    const page = (viewer: Viewer, deep: boolean, owner?: string) => async (i: number) => {
      const under = synsets[i % synsets.length]!;
      return listPhotos(lib.db, viewer, { under, limit: 50, owner, cursor: deep ? cursors.get(`${under}/${owner}`) : undefined });
    };
    const q = {
      home_tree_admin: await time(rounds, () => categoryCounts(lib.db, ADMIN, { taxonomy: view })),
      home_tree_owner: await time(rounds, () => categoryCounts(lib.db, ownerView, { taxonomy: view })),
      home_categories_owner: await time(rounds, () => consumerCategoryCounts(lib.db, ownerView)),
      treemap_owner: await time(rounds, (i) => categoryCounts(lib.db, ownerView, { owner: owners[i % owners.length]!.name, taxonomy: view })),
      profile: await time(rounds, (i) => ownerProfile(lib.db, ownerView, owners[i % Math.min(8, owners.length)]!.name, { taxonomy: view, top: 20 })),
      compare: await time(rounds, () => compareOwners(lib.db, ownerView, big[1]!.name, mid.name, { taxonomy: view, top: 15 })),
      page_first_admin: await time(rounds, page(ADMIN, false)),
      page_fifth_admin: await time(rounds, page(ADMIN, true)),
      page_first_owner_scoped: await time(rounds, page(ownerView, false, mid.name)),
      page_fifth_owner_scoped: await time(rounds, page(ownerView, true, mid.name)),
      search_1_word: await time(rounds, () => searchPhotos(lib.db, ownerView, 'dog', { taxonomy: view, limit: 50 })),
      search_2_words: await time(rounds, (i) => searchPhotos(lib.db, ownerView, ['animal dog', 'dog grass', 'bird water', 'car street'][i % 4]!, { taxonomy: view, limit: 50 })),
      similar_admin: await time(rounds, (i) => similarPhotos(lib.db, ADMIN, 1 + Math.floor(prng(i)() * maxId), { limit: 12, index: similar })),
      // (of photos the owner may see: their own and public ones)
      similar_owner: await time(rounds, async (i) => similarPhotos(lib.db, ownerView, ownerVisible[i % ownerVisible.length]!, { limit: 12, index: similar })),
      photo_detail: await time(rounds, async (i) => {
        const id = 1 + Math.floor(prng(i)() * maxId);
        return photoDetail(lib.db, ADMIN, id, { taxonomy: view }).catch(() => null);
      }),
    };
    // recall@12 of the index against exact search, on a sample of photos (the exact neighbours of all of them in
    // one pass over the stored embeddings: ~2 minutes at 1,000,000 photos, where one exact search costs ~20 s)
    t0 = performance.now();
    const recallIds = [...new Set(Array.from({ length: Math.min(n, RECALL_QUERIES) }, (_, i) => 1 + Math.floor(prng(1000 + i)() * maxId)))];
    const exactAll = await exactNeighbours(lib.db, modelId, recallIds, 12);
    const exactSeconds = (performance.now() - t0) / 1000;
    let found = 0;
    let wanted = 0;
    const perQuery: number[] = [];
    for (const [id, exact] of exactAll) {
      const fast = new Set((await similarPhotos(lib.db, ADMIN, id, { limit: 12, index: similar })).map((p) => p.id));
      const hit = exact.filter((p) => fast.has(p.id)).length;
      perQuery.push(hit);
      found += hit;
      wanted += exact.length;
    }
    const dbBytes = await databaseBytes(lib, sqlitePath);
    const report: Record<string, unknown> = {
      cores: availableParallelism(),
      database: lib.dialect,
      photos: n,
      owners: ownerCount,
      sample_real_analyses: items.length,
      embedding_dims: items[0]?.analysis.embedding.length ?? 0,
      ...built,
      bulk_photos_per_cpu_s: Number.isNaN(built.bulk_photos_per_cpu_s) ? null : built.bulk_photos_per_cpu_s,
      bulk_with_indexes_photos_per_cpu_s: Number.isNaN(built.bulk_with_indexes_photos_per_cpu_s) ? null : (built.bulk_with_indexes_photos_per_cpu_s ?? null),
      db_bytes_per_photo: Math.round(dbBytes / n),
      ann_build_seconds: round(annSeconds),
      // end to end: rows + counts + indexes + ANALYZE + the ANN index built from the database (not the synthesis
      // of the benchmark's photos); not on a reused library, whose ANN index may have been loaded
      build_end_to_end_photos_per_s: reuse ? null : Math.round(n / (built.build_with_analyze_seconds! + annSeconds)),
      ann_bytes_per_photo: ann.fileBytes !== null ? Math.round(ann.fileBytes / n) : null,
      similar_recall_at_12: round(wanted > 0 ? found / wanted : 1),
      similar_recall_queries: exactAll.size,
      // the queries finding the fewest of their 12 exact neighbours (where recall is lost: a few queries or all)
      similar_recall_worst: perQuery.sort((a, b) => a - b).slice(0, 5),
      similar_exact_pass_seconds: round(exactSeconds),
    };
    for (const [k, v] of Object.entries(q)) {
      report[`${k}_p50_ms`] = v.p50;
      report[`${k}_p95_ms`] = v.p95;
    }
    report.rss_mb = Math.round(process.memoryUsage().rss / 2 ** 20);
    return report;
  } finally {
    await lib.close();
    if (pgUrl && pgSchema && !keep) await dropPgSchema(pgUrl, pgSchema);
    if (!keep) rmSync(home, { recursive: true, force: true });
  }
}
