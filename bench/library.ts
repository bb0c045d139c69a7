// The library benchmark: ingest throughput against the engine's own classify throughput (same run, same
// photos), and query latency (p50/p95) of category pages over >= 10,000 stored photos.
import { createHash } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { categoryCounts } from '../src/library/categories.js';
import { dropPgSchema, openLibrary, type Library } from '../src/library/db.js';
import { ingestFiles } from '../src/library/ingest.js';
import { listPhotos, similarPhotos } from '../src/library/photos.js';
import { compareOwners } from '../src/library/profile.js';
import { loadRecognizer } from '../src/library/recognizer.js';
import { ensureOwner, storePhoto } from '../src/library/store.js';
import { bytesToEmbedding } from '../src/library/embedding.js';
import type { PhotoAnalysis } from '../src/library/analysis.js';
import { ADMIN, ownerViewer, type Viewer } from '../src/library/viewer.js';
import { classifyFiles, expandInputs } from '../src/vision/pipeline.js';

export interface LibraryBenchOptions {
  folder: string;
  env?: NodeJS.ProcessEnv;
  /** Photos ingested for the throughput comparison (default 200). */
  ingest?: number;
  /** Photos stored for the query benchmark (default 10,000). */
  stored?: number;
  /** Repetitions per query (default 200). */
  rounds?: number;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function time(rounds: number, f: (i: number) => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  await f(0); // warm-up
  const t: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await f(i);
    t.push(performance.now() - t0);
  }
  return { p50: percentile(t, 50), p95: percentile(t, 95) };
}

// Loads every stored analysis back (to copy under more owners).
async function storedAnalyses(lib: Library): Promise<Array<{ analysis: PhotoAnalysis; facts: Record<string, unknown> }>> {
  const rows = await lib.db.selectFrom('photos as p').innerJoin('analyses as a', 'a.photo_id', 'p.id').selectAll().execute();
  const out = [];
  for (const r of rows) {
    const nodes = await lib.db.selectFrom('node_scores').select(['wnid', 'score']).where('photo_id', '=', r.photo_id).execute();
    out.push({
      analysis: {
        model: { id: r.model_id, sha256: r.model_sha256 },
        labels: JSON.parse(r.labels),
        hedged: r.hedged_wnid === null ? null : { wnid: r.hedged_wnid, name: r.hedged_name ?? '', score: r.hedged_score ?? 0, target: r.hedged_target ?? 0 },
        nodeScores: nodes,
        categories: JSON.parse(r.categories),
        embedding: bytesToEmbedding(r.embedding),
      },
      facts: { width: r.width, height: r.height, format: r.format, orientation: r.orientation, thumb_small: r.thumb_small, thumb_large: r.thumb_large, size: r.size },
    });
  }
  return out;
}

export async function benchLibrary(opts: LibraryBenchOptions): Promise<Record<string, unknown>> {
  const home = mkdtempSync(join(tmpdir(), 'pictograph-bench-library-'));
  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env), PICTOGRAPH_HOME: home };
  env.PICTOGRAPH_MODEL_MIRROR ??= join(opts.folder, '..', '..', '..', 'models');
  const files = (await expandInputs([opts.folder])).slice(0, opts.ingest ?? 200);
  const recognizer = await loadRecognizer({ env });
  // On PostgreSQL (DATABASE_URL set) the bench works in a throwaway schema, dropped at the end.
  const pgUrl = env.DATABASE_URL?.trim() || undefined;
  const pgSchema = pgUrl ? `bench_library_${process.pid}` : undefined;
  const lib = await openLibrary({ env, pgSchema });
  try {
    // 1. the engine alone, on the same photos (decode + batched inference, every core)
    let t0 = performance.now();
    let classified = 0;
    for await (const item of classifyFiles(files, { engine: recognizer.engine })) if ('prediction' in item) classified++;
    const classifyRate = classified / ((performance.now() - t0) / 1000);

    // 2. ingest: hash, EXIF, one decode -> tensor + 256/1024 WebP thumbnails, inference, analysis, one transaction
    t0 = performance.now();
    const s = await ingestFiles(files, { owner: 'bench', recognizer, db: lib.db, env });
    const ingestRate = s.stored / ((performance.now() - t0) / 1000);
    // the same files for a second owner: content already analysed, results copied
    t0 = performance.now();
    const reuse = await ingestFiles(files, { owner: 'bench-2', recognizer, db: lib.db, env });
    const reuseRate = reuse.reused / ((performance.now() - t0) / 1000);

    // 3. grow to >= stored photos: the analyses again under more owners (some public), as distinct photos
    const target = opts.stored ?? 10_000;
    const base = await storedAnalyses(lib);
    t0 = performance.now();
    let n = base.length;
    let copies = 0;
    for (let k = 0; n < target; k++) {
      const ownerId = await ensureOwner(lib.db, `owner-${k}`);
      for (const b of base) {
        if (n >= target) break;
        const hash = createHash('sha256').update(`${k}/${n}`).digest('hex');
        await storePhoto(lib.db, {
          ownerId,
          visibility: n % 3 === 0 ? 'public' : 'private',
          facts: { ...(b.facts as object), content_hash: hash, original_path: `/bench/${k}/${n}.jpg`, file_name: `${n}.jpg`, taken_at: null, camera: null, gps_lat: null, gps_lon: null } as never,
          analysis: b.analysis,
        });
        n++;
        copies++;
      }
    }
    const storeRate = copies / ((performance.now() - t0) / 1000);
    const total = Number((await lib.db.selectFrom('photos').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const nodeRows = Number((await lib.db.selectFrom('node_scores').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

    // 4. query latency: first and deeper pages under broad and narrow synsets, as admin and as one owner
    const rounds = opts.rounds ?? 200;
    const synsets = ['n00015388', 'n02084071', 'n00021939', 'n01503061'];
    const some = ownerViewer(await ensureOwner(lib.db, 'owner-3'));
    const page = (viewer: Viewer, deep: boolean) => async (i: number) => {
      const under = synsets[i % synsets.length];
      let p = await listPhotos(lib.db, viewer, { under, limit: 50 });
      if (deep) for (let j = 0; j < 4 && p.nextCursor; j++) p = await listPhotos(lib.db, viewer, { under, limit: 50, cursor: p.nextCursor });
      return p;
    };
    const first = await time(rounds, page(ADMIN, false));
    const fifth = await time(Math.ceil(rounds / 4), page(ADMIN, true));
    const scoped = await time(rounds, page(some, false));
    const tree = await time(10, () => categoryCounts(lib.db, ADMIN, {}));
    const firstId = (await lib.db.selectFrom('photos').select('id').orderBy('id').limit(1).executeTakeFirstOrThrow()).id;
    const similar = await time(5, () => similarPhotos(lib.db, ADMIN, firstId, { limit: 12 }));
    const compare = await time(5, () => compareOwners(lib.db, ADMIN, 'owner-1', 'owner-2', { taxonomy: recognizer.view }));
    const plan =
      lib.dialect === 'sqlite'
        ? (await sql<{ detail: string }>`explain query plan select ns.photo_id from node_scores ns join photos p on p.id = ns.photo_id where ns.wnid = 'n02084071' order by ns.score desc, ns.photo_id limit 50`.execute(lib.db)).rows
            .map((r) => r.detail)
            .join(' | ')
        : (await sql<{ 'QUERY PLAN': string }>`explain select ns.photo_id from node_scores ns join photos p on p.id = ns.photo_id where ns.wnid = 'n02084071' order by ns.score desc, ns.photo_id limit 50`.execute(lib.db)).rows
            .map((r) => r['QUERY PLAN'].trim())
            .join(' | ');

    return {
      cores: availableParallelism(),
      database: lib.dialect,
      photos_ingested: s.stored,
      classify_photos_per_s: classifyRate,
      ingest_photos_per_s: ingestRate,
      ingest_vs_classify: ingestRate / classifyRate,
      ingest_reuse_photos_per_s: reuseRate,
      bulk_store_photos_per_s: storeRate,
      stored_photos: total,
      node_score_rows: nodeRows,
      page_first_p50_ms: first.p50,
      page_first_p95_ms: first.p95,
      page_fifth_p50_ms: fifth.p50 / 5,
      page_fifth_p95_ms: fifth.p95 / 5,
      page_owner_scoped_p50_ms: scoped.p50,
      page_owner_scoped_p95_ms: scoped.p95,
      category_tree_p50_ms: tree.p50,
      category_tree_p95_ms: tree.p95,
      similar_brute_force_p50_ms: similar.p50,
      embedding_dims: recognizer.engine.model.spec.embedding ? (await lib.db.selectFrom('analyses').select('embedding').limit(1).executeTakeFirstOrThrow()).embedding.byteLength / 4 : 1000,
      compare_owners_p50_ms: compare.p50,
      page_query_plan: plan,
    };
  } finally {
    await recognizer.close();
    await lib.close();
    if (pgUrl && pgSchema) await dropPgSchema(pgUrl, pgSchema);
    rmSync(home, { recursive: true, force: true });
  }
}
