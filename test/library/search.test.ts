// Word search with several words: every word must match (AND), through the full-text index (SQLite FTS5 /
// PostgreSQL tsvector + GIN) kept in the same transaction as each analysis; scoped to what the viewer may see.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { searchPhotos } from '../../src/library/search.js';
import { deletePhoto, ensureOwner, replaceAnalysis, storePhoto } from '../../src/library/store.js';
import { ADMIN, PUBLIC, canSee, ownerViewer } from '../../src/library/viewer.js';
import { backends, facts, miniTaxonomy as tax, MODEL, syntheticAnalysis } from './support.js';

const DOG = 'n02085620'; // Chihuahua, under dog
const RADIO = 'n04041544';
const CAT = 'n02123045';

for (const backend of backends) {
  describe(`word search on ${backend.name}`, () => {
    let ctx: Awaited<ReturnType<typeof backend.open>>;
    const both: number[] = [];
    const dogOnly: number[] = [];
    let ann: number;
    let bob: number;

    before(async () => {
      ctx = await backend.open();
      const db = ctx.lib.db;
      ann = await ensureOwner(db, 'ann');
      bob = await ensureOwner(db, 'bob');
      for (let i = 0; i < 40; i++) {
        const owner = i % 2 ? ann : bob;
        const visibility = i % 3 === 0 ? 'public' : 'private';
        // dog AND radio: confident (>= 0.5 each) for i < 10, weak (0.2..0.5) for the rest of the first 20
        const probs = i < 10 ? { [DOG]: 0.5, [RADIO]: 0.5 } : i < 20 ? { [DOG]: 0.3, [RADIO]: 0.25, [CAT]: 0.45 } : i < 30 ? { [DOG]: 0.9 } : { [RADIO]: 0.6, [DOG]: 0.1 };
        const id = await storePhoto(db, { ownerId: owner, visibility, facts: facts(`w${i}`), analysis: syntheticAnalysis(probs, MODEL, i) });
        if (i < 20) both.push(id);
        else if (i < 30) dogOnly.push(id);
      }
    });
    after(async () => ctx.cleanup());

    it('finds photos matching every word, confident matches first, for each viewer', async () => {
      const db = ctx.lib.db;
      const photos = await db.selectFrom('photos').select(['id', 'owner_id', 'visibility']).execute();
      for (const viewer of [ADMIN, PUBLIC, ownerViewer(ann), ownerViewer(bob)]) {
        const r = await searchPhotos(db, viewer, 'dog radio', { taxonomy: tax, limit: 100 });
        const want = both.filter((id) => canSee(viewer, photos.find((p) => p.id === id)!));
        assert.deepEqual(r.photos.map((p) => p.id).sort((a, b) => a - b), want.sort((a, b) => a - b), JSON.stringify(viewer));
        // confident ones (both words >= 0.5) before weak ones
        const firstWeak = r.photos.findIndex((p) => (p.score ?? 0) < 0.5);
        if (firstWeak >= 0) assert.ok(r.photos.slice(firstWeak).every((p) => (p.score ?? 0) < 0.5));
        for (const p of r.photos) assert.ok((p.score ?? 0) >= 0.2);
      }
      // limit, owner scope, and an unknown word matches nothing
      const page = await searchPhotos(db, ADMIN, 'dog radio', { taxonomy: tax, limit: 5 });
      assert.equal(page.photos.length, 5);
      assert.ok(page.photos.every((p) => (p.score ?? 0) >= 0.5));
      const annOnly = await searchPhotos(db, ADMIN, 'dog radio', { taxonomy: tax, owner: 'ann', limit: 100 });
      assert.ok(annOnly.photos.length > 0 && annOnly.photos.every((p) => p.owner === 'ann'));
      assert.deepEqual((await searchPhotos(db, ADMIN, 'dog xyzzy', { taxonomy: tax })).photos, []);
      // one word still ranks best first from the node-score index
      const dogs = await searchPhotos(db, ADMIN, 'dog', { taxonomy: tax, limit: 100 });
      assert.equal(dogs.photos.length, 30);
      assert.ok(dogs.photos.every((p, i, a) => i === 0 || (a[i - 1]!.score ?? 0) >= (p.score ?? 0)));
    });

    it('follows re-analyses and deletes in the same transaction', async () => {
      const db = ctx.lib.db;
      await replaceAnalysis(db, dogOnly[0]!, syntheticAnalysis({ [DOG]: 0.6, [RADIO]: 0.4 }));
      await replaceAnalysis(db, both[0]!, syntheticAnalysis({ [CAT]: 0.9 }));
      await deletePhoto(db, both[1]!);
      const ids = (await searchPhotos(db, ADMIN, 'dog radio', { taxonomy: tax, limit: 100 })).photos.map((p) => p.id);
      assert.ok(ids.includes(dogOnly[0]!));
      assert.ok(!ids.includes(both[0]!));
      assert.ok(!ids.includes(both[1]!));
      assert.equal(ids.length, 19);
    });
  });
}
