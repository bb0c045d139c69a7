// Ingest with the real model and taxonomy: the calib set twice (dedupe), dog pages identical on both databases,
// compare of an animal and an artefact photographer, bad files recorded, reindex to another model.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hierarchyView } from '../../src/library/hierarchy-view.js';
import { ingestFiles, type PhotoRecognizer, type RecognizedPhoto } from '../../src/library/ingest.js';
import { listPhotos, type PhotoSummary } from '../../src/library/photos.js';
import { compareOwners } from '../../src/library/profile.js';
import { loadRecognizer, type LoadedRecognizer } from '../../src/library/recognizer.js';
import { reindexPhotos } from '../../src/library/reindex.js';
import { searchPhotos } from '../../src/library/search.js';
import { libraryStats } from '../../src/library/stats.js';
import type { TaxonomyView } from '../../src/library/taxonomy-view.js';
import { ADMIN } from '../../src/library/viewer.js';
import { calibImages, calibLabels, tempHome } from '../support/env.js';
import { backends } from './support.js';

const DOG = 'n02084071';
const ANIMAL = 'n00015388';
const ARTIFACT = 'n00021939';

function isUnder(t: TaxonomyView, wnid: string, top: string): boolean {
  const stack = [wnid];
  const seen = new Set<string>();
  while (stack.length) {
    const w = stack.pop() as string;
    if (w === top) return true;
    if (seen.has(w)) continue;
    seen.add(w);
    stack.push(...t.parents(w));
  }
  return false;
}

// The real recognizer, remembering each result so the second database sees the very same analyses.
function caching(inner: PhotoRecognizer): PhotoRecognizer & { calls: number } {
  const memo = new Map<string, Promise<RecognizedPhoto>>();
  const r = {
    model: inner.model,
    calls: 0,
    recognize(bytes: Buffer) {
      const key = bytes.toString('base64', 0, Math.min(bytes.length, 4096)) + bytes.length;
      let p = memo.get(key);
      if (!p) {
        r.calls++;
        p = inner.recognize(bytes);
        memo.set(key, p);
      }
      return p;
    },
  };
  return r;
}

const truth = new Map(
  readFileSync(calibLabels, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .map(([file, wnid]) => [file, wnid]),
);

describe('ingest with the real model', () => {
  let real: LoadedRecognizer;
  let rec: ReturnType<typeof caching>;
  let tax: TaxonomyView;
  const dogPages: Record<string, unknown> = {};
  const home = tempHome('pictograph-ingest-');

  before(async () => {
    real = await loadRecognizer({ env: home.env });
    rec = caching(real);
    tax = hierarchyView(real.taxonomy.hierarchy);
  });
  after(async () => {
    await real.close();
    home.cleanup();
  });

  for (const backend of backends) {
    describe(`on ${backend.name}`, () => {
      let ctx: Awaited<ReturnType<typeof backend.open>>;
      before(async () => {
        ctx = await backend.open();
      });
      after(async () => ctx.cleanup());

      it('ingesting the calib set twice leaves exactly 500 complete photos', async () => {
        // the first time as `pictograph ingest` does, with blocking file calls, into folders that do not exist yet
        const first = await ingestFiles([calibImages], { owner: 'ann', recognizer: rec, db: ctx.lib.db, env: ctx.env, blockingFileIo: true });
        assert.equal(first.total, 500);
        assert.equal(first.stored, 500, JSON.stringify(first.errors.slice(0, 3)));
        assert.equal(first.failed, 0);
        const second = await ingestFiles([calibImages], { owner: 'ann', recognizer: rec, db: ctx.lib.db, env: ctx.env });
        assert.equal(second.skipped, 500);
        assert.equal(second.stored + second.reused, 0);
        const stats = await libraryStats(ctx.lib.db, ADMIN);
        assert.equal(stats.photos, 500);
        assert.deepEqual(stats.models, [{ id: real.model.id, sha256: real.model.sha256, photos: 500 }]);
        const incomplete = await ctx.lib.db
          .selectFrom('photos as p')
          .leftJoin('analyses as a', 'a.photo_id', 'p.id')
          .select('p.id')
          .where((eb) => eb.or([eb('a.photo_id', 'is', null), eb.not(eb.exists(eb.selectFrom('node_scores as n').select('n.photo_id').whereRef('n.photo_id', '=', 'p.id')))]))
          .execute();
        assert.deepEqual(incomplete, []);
        const one = await ctx.lib.db.selectFrom('photos').selectAll().orderBy('id').limit(1).executeTakeFirstOrThrow();
        assert.ok(one.thumb_small && existsSync(join(ctx.home, 'media', one.thumb_small)), 'thumbnail on disk');
        // ImageNet photos are smaller than the large thumbnail: none is made (the original serves instead).
        assert.ok(Math.max(one.width, one.height) <= 1024);
        assert.equal(one.thumb_large, null);
      });

      it('photos under dog: every photo whose hedged or top label is a dog, best first', async () => {
        const all: PhotoSummary[] = [];
        let cursor: string | undefined;
        do {
          const page = await listPhotos(ctx.lib.db, ADMIN, { under: DOG, limit: 100, cursor, taxonomy: tax });
          all.push(...page.photos);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        const ids = new Set(all.map((p) => p.id));
        assert.equal(ids.size, all.length);
        for (let i = 1; i < all.length; i++) assert.ok((all[i - 1].score ?? 0) >= (all[i].score ?? 0));
        const everything: PhotoSummary[] = [];
        cursor = undefined;
        do {
          const page = await listPhotos(ctx.lib.db, ADMIN, { limit: 500, cursor });
          everything.push(...page.photos);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        const dogs = everything.filter((p) => isUnder(tax, p.labels[0].wnid, DOG) || (p.hedged && isUnder(tax, p.hedged.wnid, DOG)));
        assert.ok(dogs.length >= 50, `${dogs.length} dogs`);
        for (const d of dogs) assert.ok(ids.has(d.id), `${d.file} (${d.labels[0].name}) missing under dog`);
        // Photo ids follow completion order of the concurrent ingest, so compare by file (ties by file name).
        dogPages[backend.name] = all
          .map((p) => [p.file, p.score, p.hedged?.wnid ?? null, p.labels[0].wnid] as const)
          .sort((x, y) => (y[1] ?? 0) - (x[1] ?? 0) || (x[0] < y[0] ? -1 : 1));
        const search = await searchPhotos(ctx.lib.db, ADMIN, 'puppy', { taxonomy: tax, limit: 500 });
        assert.deepEqual(search.synsets.map((s) => s.wnid), [DOG]);
        assert.ok(search.photos.length >= dogs.length * 0.9);
        for (const words of ['seashore', 'sea shore']) {
          const shore = await searchPhotos(ctx.lib.db, ADMIN, words, { taxonomy: tax, limit: 20 });
          assert.deepEqual(shore.synsets.map((s) => s.wnid), ['n09428293']);
          const under = await listPhotos(ctx.lib.db, ADMIN, { under: 'n09428293', limit: 20, taxonomy: tax });
          assert.deepEqual(shore.photos.map((p) => p.id), under.photos.filter((p) => (p.score ?? 0) >= 0.2).map((p) => p.id));
          assert.ok(shore.photos.length > 0);
        }
        const animal = await searchPhotos(ctx.lib.db, ADMIN, 'animal', { taxonomy: tax, limit: 500 });
        assert.ok(animal.photos.length > 150 && animal.photos.every((p) => (p.score ?? 0) >= 0.2));
      });

      it('compare: an animal photographer and an artefact photographer', async () => {
        const animals: string[] = [];
        const things: string[] = [];
        for (const [file, wnid] of truth) {
          if (isUnder(tax, wnid, ANIMAL) && animals.length < 60) animals.push(join(calibImages, file));
          else if (isUnder(tax, wnid, ARTIFACT) && things.length < 60) things.push(join(calibImages, file));
        }
        const a = await ingestFiles(animals, { owner: 'zoe', recognizer: rec, db: ctx.lib.db, env: ctx.env });
        assert.equal(a.reused, 60); // same content as ann's photos: analysis copied, not recomputed
        await ingestFiles(things, { owner: 'max', recognizer: rec, db: ctx.lib.db, env: ctx.env });
        const cmp = await compareOwners(ctx.lib.db, ADMIN, 'zoe', 'max', { taxonomy: tax });
        assert.ok(cmp.moreA.length >= 3 && cmp.moreA.slice(0, 3).every((s) => isUnder(tax, s.wnid, ANIMAL)), JSON.stringify(cmp.moreA.slice(0, 3)));
        assert.ok(cmp.moreB.length >= 3 && cmp.moreB.slice(0, 3).every((s) => isUnder(tax, s.wnid, ARTIFACT)), JSON.stringify(cmp.moreB.slice(0, 3)));
      });

      it('records bad files as failed with the reason and carries on', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'pictograph-bad-'));
        try {
          writeFileSync(join(dir, 'empty.jpg'), '');
          writeFileSync(join(dir, 'text.jpg'), 'this is not a photo');
          writeFileSync(join(dir, 'truncated.jpg'), readFileSync(join(calibImages, 'n01440764_tench.JPEG')).subarray(0, 2000));
          writeFileSync(join(dir, 'shark.jpg'), readFileSync(join(calibImages, 'n01484850_great_white_shark.JPEG')));
          const s = await ingestFiles([dir], { owner: 'eve', recognizer: rec, db: ctx.lib.db, env: ctx.env });
          assert.equal(s.total, 4);
          assert.equal(s.failed, 3, JSON.stringify(s.errors));
          assert.equal(s.reused, 1);
          assert.deepEqual(s.errors.map((e) => e.code).sort(), ['empty_file', 'truncated', 'unsupported_format']);
          assert.ok(s.errors.every((e) => e.message.length > 0));
          const failures = await ctx.lib.db.selectFrom('failures').selectAll().execute();
          assert.equal(failures.length, 3);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('reindex replaces only the photos analysed by another model', async () => {
        const other = { id: 'other-model', sha256: 'f'.repeat(64) };
        const renamed: PhotoRecognizer = {
          model: other,
          recognize: async (b) => {
            const r = await rec.recognize(b);
            return { ...r, analysis: { ...r.analysis, model: other } };
          },
        };
        const before = (await libraryStats(ctx.lib.db, ADMIN)).photos;
        const s = await reindexPhotos(ctx.lib.db, { recognizer: renamed });
        assert.equal(s.total, before);
        assert.equal(s.replaced, before);
        const again = await reindexPhotos(ctx.lib.db, { recognizer: renamed });
        assert.equal(again.total, 0);
        const stats = await libraryStats(ctx.lib.db, ADMIN);
        assert.deepEqual(stats.models.map((m) => [m.id, m.photos]), [['other-model', before]]);
      });
    });
  }

  it('gives identical dog pages on SQLite and PostgreSQL', (t) => {
    if (!dogPages.postgres) return t.skip('PICTOGRAPH_TEST_DATABASE_URL not set');
    assert.deepEqual(dogPages.postgres, dogPages.sqlite);
  });
});
