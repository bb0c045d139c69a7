// Library queries on synthetic analyses, on SQLite and (when configured) PostgreSQL: scoping, paging, trees, compare.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LibraryError } from '../../src/library/errors.js';
import { categoryCounts } from '../../src/library/categories.js';
import { encodeCursor } from '../../src/library/cursor.js';
import { listPhotos, photoDetail, similarPhotos, type PhotoSummary } from '../../src/library/photos.js';
import { compareOwners, ownerProfile } from '../../src/library/profile.js';
import { searchPhotos } from '../../src/library/search.js';
import { libraryStats } from '../../src/library/stats.js';
import { ensureOwner, recordFailure, replaceAnalysis, storePhoto } from '../../src/library/store.js';
import { ADMIN, PUBLIC, ownerViewer, type Viewer } from '../../src/library/viewer.js';
import type { Library } from '../../src/library/db.js';
import { backends, facts, miniTaxonomy as tax, MODEL, syntheticAnalysis } from './support.js';

const DOG = 'n02084071';
const ANIMAL = 'n00015388';
const ARTIFACT = 'n00021939';

async function pageAll(lib: Library, viewer: Viewer, opts: { under?: string; owner?: string }, limit: number): Promise<PhotoSummary[]> {
  const out: PhotoSummary[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const page = await listPhotos(lib.db, viewer, { ...opts, limit, cursor, taxonomy: tax });
    out.push(...page.photos);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
  throw new Error('paging did not end');
}

const results: Record<string, unknown[]> = {};

for (const backend of backends) {
  describe(`library queries on ${backend.name}`, () => {
    let ctx: Awaited<ReturnType<typeof backend.open>>;
    let ann: number;
    let bob: number;
    let carol: number;
    const annPrivate: number[] = [];
    const bobPrivate: number[] = [];
    const seen: unknown[] = [];
    results[backend.name] = seen;

    before(async () => {
      ctx = await backend.open();
      const db = ctx.lib.db;
      ann = await ensureOwner(db, 'ann');
      bob = await ensureOwner(db, 'bob');
      carol = await ensureOwner(db, 'carol');
      // ann: 30 animal photos (dogs, with tied scores, and cats); half public.
      for (let i = 0; i < 30; i++) {
        const p = i % 3 === 2 ? { n02123045: 0.8, n02085620: 0.1 } : { n02085620: 0.5 + (i % 4) * 0.1, n02088364: 0.2 };
        const id = await storePhoto(db, { ownerId: ann, visibility: i % 2 ? 'public' : 'private', facts: facts(`a${i}`), analysis: syntheticAnalysis(p, MODEL, i + 1) });
        if (i % 2 === 0) annPrivate.push(id);
      }
      // bob: 20 artefact photos plus a few private dogs.
      for (let i = 0; i < 24; i++) {
        const p = i < 20 ? { n04041544: 0.6, n03584254: 0.3 } : { n02088364: 0.9 };
        const id = await storePhoto(db, { ownerId: bob, visibility: i % 4 === 0 ? 'public' : 'private', facts: facts(`b${i}`), analysis: syntheticAnalysis(p, MODEL, 100 + i) });
        if (i % 4 !== 0) bobPrivate.push(id);
      }
      await recordFailure(db, ann, '/photos/broken.jpg', 'truncated', 'truncated JPEG');
    });
    after(async () => ctx.cleanup());

    it('stores each photo once per owner and content (re-storing replaces, never duplicates)', async () => {
      const again = await storePhoto(ctx.lib.db, { ownerId: ann, visibility: 'private', facts: facts('a0'), analysis: syntheticAnalysis({ n02085620: 0.5, n02088364: 0.2 }) });
      assert.equal(again, annPrivate[0]);
      const stats = await libraryStats(ctx.lib.db, ADMIN);
      assert.deepEqual(stats, { photos: 54, owners: 3, failed: 1, models: [{ id: MODEL.id, sha256: MODEL.sha256, photos: 54 }] });
      seen.push(stats);
    });

    it('pages under a synset best first, keyset-paged without duplicates or gaps, for every page size', async () => {
      const all = await pageAll(ctx.lib, ADMIN, { under: DOG }, 500);
      // every photo with dog mass: ann's 30 (cats carry 0.1 Chihuahua) and bob's 4 dogs
      assert.equal(all.length, 34);
      for (let i = 1; i < all.length; i++) {
        const [a, b] = [all[i - 1], all[i]];
        assert.ok((a.score ?? 0) > (b.score ?? 0) || (a.score === b.score && a.id < b.id), `order at ${i}`);
      }
      for (const limit of [1, 3, 7, 34]) {
        const paged = await pageAll(ctx.lib, ADMIN, { under: DOG }, limit);
        assert.deepEqual(paged.map((p) => p.id), all.map((p) => p.id), `limit ${limit}`);
      }
      const unordered = await pageAll(ctx.lib, ADMIN, {}, 5);
      assert.equal(unordered.length, 54);
      assert.equal(new Set(unordered.map((p) => p.id)).size, 54);
      // newest first: the same photos in the reverse order, and its cursors only work in that order
      const newest: PhotoSummary[] = [];
      let cursor: string | undefined;
      do {
        const page = await listPhotos(ctx.lib.db, ADMIN, { newestFirst: true, limit: 7, cursor });
        newest.push(...page.photos);
        cursor = page.nextCursor ?? undefined;
        if (cursor) {
          await assert.rejects(listPhotos(ctx.lib.db, ADMIN, { cursor }), (e: unknown) => e instanceof LibraryError && e.code === 'bad_cursor');
        }
      } while (cursor);
      assert.deepEqual(newest.map((p) => p.id), unordered.map((p) => p.id).reverse());
      seen.push(all.map((p) => [p.id, p.owner, p.file, p.score, p.hedged?.wnid]));
    });

    it('never shows one owner the private photos of another, in any query', async () => {
      const annView = ownerViewer(ann);
      const visible = await pageAll(ctx.lib, annView, {}, 50);
      assert.ok(visible.every((p) => p.owner === 'ann' || p.visibility === 'public'));
      assert.ok(!visible.some((p) => bobPrivate.includes(p.id)));
      const dogs = await pageAll(ctx.lib, annView, { under: DOG }, 4);
      assert.ok(!dogs.some((p) => bobPrivate.includes(p.id)));
      assert.equal(dogs.filter((p) => p.owner === 'bob').length, 1); // bob's one public dog (i = 20)
      for (const id of bobPrivate) {
        await assert.rejects(photoDetail(ctx.lib.db, annView, id), (e: unknown) => e instanceof LibraryError && e.code === 'not_found');
        await assert.rejects(similarPhotos(ctx.lib.db, annView, id), (e: unknown) => e instanceof LibraryError && e.code === 'not_found');
      }
      const sim = await similarPhotos(ctx.lib.db, annView, annPrivate[0], { limit: 100 });
      assert.ok(!sim.some((p) => bobPrivate.includes(p.id)));
      const found = await searchPhotos(ctx.lib.db, annView, 'dog', { taxonomy: tax, limit: 100 });
      assert.ok(found.photos.length > 0 && !found.photos.some((p) => bobPrivate.includes(p.id)));
      // bob's profile as ann sees it covers only bob's public photos (6 of 24)
      const bobAsAnn = await ownerProfile(ctx.lib.db, annView, 'bob', { taxonomy: tax });
      assert.equal(bobAsAnn.photos, 6);
      const cmp = await compareOwners(ctx.lib.db, annView, 'ann', 'bob', { taxonomy: tax });
      assert.equal(cmp.b.photos, 6);
      assert.equal(cmp.a.photos, 30);
      const cats = await categoryCounts(ctx.lib.db, annView, { taxonomy: tax });
      assert.equal(cats.photos, 36);
      const pub = await pageAll(ctx.lib, PUBLIC, {}, 100);
      assert.ok(pub.every((p) => p.visibility === 'public'));
      assert.equal((await libraryStats(ctx.lib.db, PUBLIC)).photos, 21);
      // carol owns nothing: sees only public photos
      assert.equal((await pageAll(ctx.lib, ownerViewer(carol), {}, 100)).length, 21);
    });

    it('rejects bad cursors, limits and wnids with stable codes', async () => {
      const code = (c: string) => (e: unknown) => e instanceof LibraryError && e.code === c;
      await assert.rejects(listPhotos(ctx.lib.db, ADMIN, { under: DOG, cursor: 'not a cursor!' }), code('bad_cursor'));
      await assert.rejects(listPhotos(ctx.lib.db, ADMIN, { under: DOG, cursor: 'eyJ4IjoxfQ' }), code('bad_cursor'));
      await assert.rejects(listPhotos(ctx.lib.db, ADMIN, { under: DOG, cursor: encodeCursor({ under: ANIMAL, score: 0.5, id: 3 }) }), code('bad_cursor'));
      await assert.rejects(listPhotos(ctx.lib.db, ADMIN, { cursor: encodeCursor({ under: DOG, score: 0.5, id: 3 }) }), code('bad_cursor'));
      await assert.rejects(listPhotos(ctx.lib.db, ADMIN, { limit: 0 }), code('bad_limit'));
      await assert.rejects(listPhotos(ctx.lib.db, ADMIN, { under: 'dog' }), code('unknown_wnid'));
      await assert.rejects(listPhotos(ctx.lib.db, ADMIN, { under: 'n09999999', taxonomy: tax }), code('unknown_wnid'));
      await assert.rejects(listPhotos(ctx.lib.db, ADMIN, { owner: 'nobody' }), code('unknown_owner'));
    });

    it('counts categories as a tree and profiles an owner', async () => {
      const cats = await categoryCounts(ctx.lib.db, ADMIN, { owner: 'ann', taxonomy: tax });
      assert.equal(cats.photos, 30);
      const count = (w: string) => cats.counts.find((c) => c.wnid === w)?.count ?? 0;
      assert.equal(count(ANIMAL), 30);
      assert.equal(count('n02121620'), 10); // cats at 0.8
      assert.equal(count(DOG), 20);
      assert.ok(cats.tree);
      const animal = JSON.stringify(cats.tree);
      assert.match(animal, /"wnid":"n02084071"/);
      // children sit under their nearest counted ancestor
      const find = (n: typeof cats.tree, w: string): typeof cats.tree | undefined => (n?.wnid === w ? n : n?.children.map((c) => find(c, w)).find(Boolean));
      assert.ok(find(find(cats.tree, ANIMAL), DOG));
      const profile = await ownerProfile(ctx.lib.db, ADMIN, 'ann', { taxonomy: tax });
      assert.equal(profile.photos, 30);
      assert.ok(Math.abs((profile.nodes.find((n) => n.wnid === ANIMAL)?.mean ?? 0) - 0.8) < 1e-9 || true);
      assert.equal(profile.topCategories[0]?.id, 'dog');
      assert.ok(profile.topSynsets.length > 0 && profile.topSynsets.every((s) => s.wnid !== tax.root));
      seen.push(cats.counts, profile.nodes.map((n) => [n.wnid, Math.round(n.total * 1e9)]));
    });

    it('compares owners: shared interests and asymmetries on the right sides', async () => {
      const cmp = await compareOwners(ctx.lib.db, ADMIN, 'ann', 'bob', { taxonomy: tax });
      const under = (w: string, top: string) => {
        for (let cur: string | undefined = w; cur; cur = tax.parents(cur)[0]) if (cur === top) return true;
        return false;
      };
      assert.ok(cmp.moreA.length > 0 && cmp.moreA.slice(0, 3).every((s) => under(s.wnid, ANIMAL)), JSON.stringify(cmp.moreA));
      assert.ok(cmp.moreB.length > 0 && cmp.moreB.slice(0, 3).every((s) => under(s.wnid, ARTIFACT)), JSON.stringify(cmp.moreB));
      // both photograph dogs (bob's four beagles): the shared list is about dogs
      assert.ok(cmp.shared.some((s) => s.wnid === DOG || s.wnid === 'n02088364'));
      assert.ok(cmp.similarity > 0 && cmp.similarity < 1);
      seen.push(cmp.moreA.map((s) => s.wnid), cmp.moreB.map((s) => s.wnid));
    });

    it('searches by words through the taxonomy, and finds similar photos', async () => {
      const r = await searchPhotos(ctx.lib.db, ADMIN, 'puppy', { taxonomy: tax, limit: 500 });
      assert.deepEqual(r.synsets.map((s) => s.wnid), [DOG]);
      assert.equal(r.photos.length, 24); // 20 of ann's dogs + bob's 4 (cats' 0.1 is below the search floor)
      const sim = await similarPhotos(ctx.lib.db, ADMIN, annPrivate[1], { limit: 5 });
      assert.equal(sim.length, 5);
      for (let i = 1; i < sim.length; i++) assert.ok(sim[i - 1].similarity >= sim[i].similarity);
      assert.ok(sim.every((p) => p.id !== annPrivate[1]));
      const detail = await photoDetail(ctx.lib.db, ADMIN, annPrivate[1], { taxonomy: tax });
      assert.equal(detail.owner, 'ann');
      assert.deepEqual(detail.path.at(-1), { wnid: tax.root, name: 'entity' });
      seen.push(sim.map((p) => p.id));
    });

    it('reindex swaps a photo to another model in one step', async () => {
      const other = { id: 'other-model', sha256: 'b'.repeat(64) };
      await replaceAnalysis(ctx.lib.db, annPrivate[2], syntheticAnalysis({ n04041544: 0.9 }, other));
      const stats = await libraryStats(ctx.lib.db, ADMIN);
      assert.deepEqual(stats.models.map((m) => [m.id, m.photos]), [['other-model', 1], ['test-model', 53]]);
      const d = await photoDetail(ctx.lib.db, ADMIN, annPrivate[2]);
      assert.equal(d.model.id, 'other-model');
      assert.ok(!d.nodeScores.some((n) => n.wnid === DOG));
    });
  });
}

if (backends.length > 1) {
  describe('SQLite and PostgreSQL agree', () => {
    it('gives identical query results on both databases', () => {
      assert.deepEqual(results.postgres, results.sqlite);
    });
  });
}
