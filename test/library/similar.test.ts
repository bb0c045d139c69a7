// Similar photos through the ANN index (usearch, projected + int8), on SQLite and (when configured)
// PostgreSQL: results never include a photo the viewer may not see (other owners' private photos, even
// near-duplicates of the query), agree with exact search, follow new photos, visibility changes and deletes,
// and the saved index is reloaded, or rebuilt when missing.
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bytesToEmbedding, embeddingToBytes, isCompactEmbedding } from '../../src/library/embedding.js';
import { libraryMigrations } from '../../src/library/migrations.js';
import { similarPhotos } from '../../src/library/photos.js';
import { learnProjection, projectFloat } from '../../src/library/projection.js';
import { SimilarIndex } from '../../src/library/similar-index.js';
import { deletePhoto, ensureOwner, setVisibility, storePhoto } from '../../src/library/store.js';
import { ADMIN, PUBLIC, canSee, ownerViewer, type Viewer } from '../../src/library/viewer.js';
import { backends, facts, MODEL, syntheticAnalysis } from './support.js';

const DIMS = 32;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Embeddings near a few "subjects" (a low-dimensional structure like real ones). */
function embeddings(n: number, seed: number): Float32Array[] {
  const r = rng(seed);
  const bases = Array.from({ length: 6 }, () => Float32Array.from({ length: DIMS }, () => r()));
  return Array.from({ length: n }, () => {
    const a = bases[Math.floor(r() * bases.length)]!;
    const b = bases[Math.floor(r() * bases.length)]!;
    const w = r();
    return Float32Array.from({ length: DIMS }, (_, d) => a[d]! + w * b[d]! + 0.05 * r());
  });
}

describe('projection', () => {
  it('keeps distances of vectors that lie in a subspace of its size', () => {
    const r = rng(3);
    const basis = Array.from({ length: 4 }, () => Float32Array.from({ length: 20 }, () => r() - 0.5));
    const xs = Array.from({ length: 200 }, () => {
      const c = [r(), r(), r(), r()];
      return Float32Array.from({ length: 20 }, (_, d) => 1 + c.reduce((s, ci, i) => s + ci * basis[i]![d]!, 0));
    });
    // unit vectors of points on a 4-d affine subspace lie in a 5-d linear one
    const p = learnProjection(xs, 5, { iterations: 6 });
    const unit = (x: Float32Array) => {
      const n = Math.hypot(...x);
      return x.map((v) => v / n);
    };
    for (let i = 0; i < 50; i++) {
      const [a, b] = [xs[i]!, xs[199 - i]!];
      const exact = Math.hypot(...unit(a).map((v, d) => v - unit(b)[d]!));
      const pa = projectFloat(p, a);
      const pb = projectFloat(p, b);
      const approx = Math.hypot(...pa.map((v, d) => v - pb[d]!));
      assert.ok(Math.abs(exact - approx) < 1e-3 * (1 + exact), `${exact} vs ${approx}`);
    }
  });
});

for (const backend of backends) {
  describe(`similar photos through the ANN index on ${backend.name}`, () => {
    let ctx: Awaited<ReturnType<typeof backend.open>>;
    const ids: number[] = [];
    let ann: number;
    let bob: number;
    let cy: number;
    let dir: string;
    const newIndex = () => new SimilarIndex(ctx.lib.db, { dir, dims: 12, connectivity: 8, syncEveryMs: 0 });

    before(async () => {
      ctx = await backend.open();
      dir = join(ctx.home, 'similar');
      ann = await ensureOwner(ctx.lib.db, 'ann');
      bob = await ensureOwner(ctx.lib.db, 'bob');
      cy = await ensureOwner(ctx.lib.db, 'cy');
      const es = embeddings(400, 7);
      const r = rng(9);
      for (let i = 0; i < es.length; i++) {
        // cy has only 3 photos, all private: a viewer who sees few of the model's photos
        const owner = i < 3 ? cy : r() < 0.5 ? ann : bob;
        const visibility = owner === cy ? 'private' : r() < 0.3 ? 'public' : 'private';
        const analysis = { ...syntheticAnalysis({ n02085620: 0.6 }, MODEL, i), embedding: es[i]! };
        ids.push(await storePhoto(ctx.lib.db, { ownerId: owner, visibility, facts: facts(`s${i}`), analysis }));
      }
    });
    after(async () => ctx.cleanup());

    async function check(index: SimilarIndex, viewer: Viewer, queries: number[], owner?: string): Promise<number> {
      const photos = new Map((await ctx.lib.db.selectFrom('photos').select(['id', 'owner_id', 'visibility']).execute()).map((p) => [p.id, p]));
      let found = 0;
      let wanted = 0;
      for (const q of queries) {
        const fast = await similarPhotos(ctx.lib.db, viewer, q, { limit: 12, index, owner });
        const exact = await similarPhotos(ctx.lib.db, viewer, q, { limit: 12, owner });
        for (const s of fast) {
          const p = photos.get(s.id)!;
          assert.ok(p && canSee(viewer, p), `photo ${s.id} (owner ${p?.owner_id}, ${p?.visibility}) shown to ${JSON.stringify(viewer)}`);
          assert.notEqual(s.id, q);
        }
        const got = new Set(fast.map((s) => s.id));
        found += exact.filter((s) => got.has(s.id)).length;
        wanted += exact.length;
        assert.equal(fast.length, exact.length);
      }
      return wanted === 0 ? 1 : found / wanted;
    }

    it('never shows a viewer a photo they may not see, and agrees with exact search', async () => {
      const index = newIndex();
      const viewers: Viewer[] = [ADMIN, PUBLIC, ownerViewer(ann), ownerViewer(bob), ownerViewer(cy)];
      for (const viewer of viewers) {
        const visible = (await ctx.lib.db.selectFrom('photos').select(['id', 'owner_id', 'visibility']).execute()).filter((p) => canSee(viewer, p)).map((p) => p.id);
        const recall = await check(index, viewer, visible.filter((_, i) => i % 9 === 0));
        assert.ok(recall >= 0.9, `recall@12 ${recall} for ${JSON.stringify(viewer)}`);
      }
      // owner-scoped, and cy (3 photos of 400) sees only their own and public ones
      const bobSees = (await ctx.lib.db.selectFrom('photos').select(['id', 'owner_id', 'visibility']).execute()).filter((p) => canSee(ownerViewer(bob), p));
      assert.ok((await check(index, ownerViewer(bob), bobSees.filter((_, i) => i % 20 === 0).map((p) => p.id), 'ann')) >= 0.9);
      const cyOwn = await similarPhotos(ctx.lib.db, ownerViewer(cy), ids[0]!, { limit: 12, index, owner: 'cy' });
      assert.deepEqual(cyOwn.map((s) => s.id).sort(), [ids[1]!, ids[2]!].sort());
    });

    if (backend.name === 'sqlite')
      it('checks who may see each candidate from the photo access index alone (the photos table stays unread)', async () => {
        const plan = await sql<{ detail: string }>`explain query plan select id, owner_id, visibility from photos indexed by photos_access_idx where id in (${sql.join(ids.slice(0, 5))})`.execute(ctx.lib.db);
        assert.ok(plan.rows.some((r) => /USING COVERING INDEX photos_access_idx/.test(r.detail)), JSON.stringify(plan.rows));
        // and its warm-up as the index opens reads that index (count(*) would read the smallest one instead)
        const warm = await sql<{ detail: string }>`explain query plan select sum(owner_id) as n from photos indexed by photos_access_idx`.execute(ctx.lib.db);
        assert.ok(warm.rows.some((r) => /SCAN photos USING COVERING INDEX photos_access_idx/.test(r.detail)), JSON.stringify(warm.rows));
      });

    it('a near-duplicate private photo of another owner is never returned, even as the best match', async () => {
      const index = newIndex();
      const [query] = embeddings(1, 99);
      const pub = await storePhoto(ctx.lib.db, { ownerId: bob, visibility: 'public', facts: facts('dup-public'), analysis: { ...syntheticAnalysis({ n02085620: 0.6 }), embedding: query! } });
      const twin = await storePhoto(ctx.lib.db, { ownerId: ann, visibility: 'private', facts: facts('dup-private'), analysis: { ...syntheticAnalysis({ n02085620: 0.6 }), embedding: query!.map((v) => v * 1.0001) } });
      const asBob = await similarPhotos(ctx.lib.db, ownerViewer(bob), pub, { limit: 12, index });
      assert.ok(!asBob.some((s) => s.id === twin), 'ann’s private twin shown to bob');
      const asAnn = await similarPhotos(ctx.lib.db, ownerViewer(ann), pub, { limit: 12, index });
      assert.equal(asAnn[0]?.id, twin, 'ann sees her own twin first');
      // made public: now bob sees it; made private again: gone at once (the filter is the database's)
      await setVisibility(ctx.lib.db, twin, 'public');
      assert.equal((await similarPhotos(ctx.lib.db, ownerViewer(bob), pub, { limit: 12, index }))[0]?.id, twin);
      await setVisibility(ctx.lib.db, twin, 'private');
      assert.ok(!(await similarPhotos(ctx.lib.db, ownerViewer(bob), pub, { limit: 12, index })).some((s) => s.id === twin));
      assert.ok(!(await similarPhotos(ctx.lib.db, PUBLIC, pub, { limit: 12, index })).some((s) => s.id === twin));
      await deletePhoto(ctx.lib.db, twin);
      assert.ok(!(await similarPhotos(ctx.lib.db, ADMIN, pub, { limit: 12, index })).some((s) => s.id === twin));
    });

    it('is saved, reloaded, caught up with new photos, and rebuilt when its file is missing', async () => {
      const first = newIndex();
      await first.refresh(MODEL.id);
      const files = readdirSync(dir).filter((f) => f.endsWith('.usearch'));
      assert.equal(files.length, 1);
      // a photo stored after the save is found by a fresh instance that loads the file
      const [e] = embeddings(1, 1234);
      const late = await storePhoto(ctx.lib.db, { ownerId: ann, visibility: 'public', facts: facts('late'), analysis: { ...syntheticAnalysis({ n02085620: 0.6 }), embedding: e! } });
      const near = await storePhoto(ctx.lib.db, { ownerId: bob, visibility: 'public', facts: facts('late-twin'), analysis: { ...syntheticAnalysis({ n02085620: 0.6 }), embedding: e!.map((v) => v * 0.999) } });
      const second = newIndex();
      assert.equal((await similarPhotos(ctx.lib.db, PUBLIC, late, { limit: 3, index: second }))[0]?.id, near);
      rmSync(join(dir, files[0]!));
      assert.ok(!existsSync(join(dir, files[0]!)));
      const third = newIndex();
      assert.equal((await similarPhotos(ctx.lib.db, PUBLIC, near, { limit: 3, index: third }))[0]?.id, late);
      const stats = await third.refresh(MODEL.id);
      assert.ok(stats.photos >= 400);
      assert.ok(existsSync(join(dir, files[0]!)), 'rebuilt and saved again');
    });

    it('stores embeddings compact; float32 rows of older libraries are read as they are and converted by the migration', async () => {
      const id = ids[5]!;
      const stored = async () => (await ctx.lib.db.selectFrom('analyses').select('embedding').where('photo_id', '=', id).executeTakeFirstOrThrow()).embedding;
      const compact = await stored();
      assert.ok(isCompactEmbedding(compact) && compact.byteLength < DIMS * 4);
      const before = await similarPhotos(ctx.lib.db, ADMIN, id, { limit: 12 });
      // an older library's row: plain float32
      const old = bytesToEmbedding(compact);
      await ctx.lib.db.updateTable('analyses').set({ embedding: embeddingToBytes(old) }).where('photo_id', '=', id).execute();
      assert.ok(!isCompactEmbedding(await stored()));
      assert.deepEqual((await similarPhotos(ctx.lib.db, ADMIN, id, { limit: 12 })).map((p) => p.id), before.map((p) => p.id));
      await libraryMigrations(ctx.lib.dialect)['0012_issue12_to_int8_embeddings']!.up(ctx.lib.db as never);
      assert.deepEqual(Buffer.from(await stored()), Buffer.from(compact), 'converted back to the same compact bytes');
      assert.deepEqual(await similarPhotos(ctx.lib.db, ADMIN, id, { limit: 12 }), before);
    });
  });
}
