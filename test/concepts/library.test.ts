// Custom concepts in the library, on every test database: teach -> stored head + re-scored photos, owner
// isolation, bad input (nothing stored), delete, retrain determinism; tags stored with photos.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deleteConcept, listConcepts, ownerEmbeddings, recordConceptFeedback, retrainConcept, showConcept, teachConcept } from '../../src/library/concepts.js';
import { LibraryError } from '../../src/library/errors.js';
import { ensureOwner, storePhoto } from '../../src/library/store.js';
import { backends, facts, MODEL, syntheticAnalysis } from '../library/support.js';

for (const backend of backends) {
  describe(`custom concepts (${backend.name})`, () => {
    let ctx: Awaited<ReturnType<typeof backend.open>>;
    let ann: number;
    before(async () => {
      ctx = await backend.open();
      const db = ctx.lib.db;
      ann = await ensureOwner(db, 'ann');
      const bob = await ensureOwner(db, 'bob');
      for (let i = 0; i < 10; i++) {
        // ann: 5 dog photos, 5 radio photos; bob: dog photos too.
        const dog = i < 5;
        const analysis = syntheticAnalysis(dog ? { n02085620: 0.7, n02088364: 0.2 } : { n04041544: 0.7, n03584254: 0.2 }, undefined, i + 1);
        await storePhoto(db, { ownerId: ann, visibility: 'private', facts: facts(`ann${i}`), analysis: { ...analysis, tags: [{ id: dog ? 'dog' : 'object', name: dog ? 'Dog' : 'Object', score: 0.9 }] } });
        await storePhoto(db, { ownerId: bob, visibility: 'public', facts: facts(`bob${i}`), analysis: syntheticAnalysis({ n02085620: 0.8 }, undefined, 40 + i) });
      }
    });
    after(async () => ctx.cleanup());

    it('stores everyday tags with the photo', async () => {
      const rows = await ctx.lib.db.selectFrom('photo_tags').selectAll().where('concept_id', '=', 'dog').execute();
      assert.equal(rows.length, 5);
    });

    it('teaches from positives (negatives: the owner’s other photos) and tags the owner’s stored photos', async () => {
      const db = ctx.lib.db;
      const stored = await ownerEmbeddings(db, ann, MODEL);
      const positives = stored.slice(0, 4).map((p) => ({ embedding: p.embedding, hash: p.hash }));
      const { concept } = await teachConcept(db, { owner: 'ann', name: 'my dogs', model: MODEL, positives, parent: 'n02084071' });
      assert.equal(concept.id, 'ann/my dogs');
      assert.equal(concept.positives, 4);
      assert.equal(concept.negatives, 6); // hashes of the positives are not negatives
      assert.ok(concept.report.curve.step.length > 2 && concept.report.curve.validation.length === concept.report.curve.step.length);
      assert.ok(concept.report.diagnosis.some((d) => d.startsWith('too few examples')), concept.report.diagnosis.join('; '));
      const tagged = await db.selectFrom('photo_tags').select(['photo_id']).where('concept_id', '=', 'ann/my dogs').orderBy('photo_id').execute();
      const dogIds = stored.slice(0, 5).map((p) => p.photoId);
      assert.deepEqual(tagged.map((t) => t.photo_id), dogIds, 'the 5th dog (not an example) is found too; no radio');
      assert.equal(concept.photos, 5);
    });

    it('retraining on the same examples is deterministic', async () => {
      const db = ctx.lib.db;
      const stored = await ownerEmbeddings(db, ann, MODEL);
      const positives = stored.slice(0, 4).map((p) => ({ embedding: p.embedding, hash: p.hash }));
      const before = await db.selectFrom('concepts').select('head').where('name', '=', 'my dogs').executeTakeFirstOrThrow();
      await teachConcept(db, { owner: 'ann', name: 'my dogs', model: MODEL, positives, parent: 'n02084071' });
      const after = await db.selectFrom('concepts').select('head').where('name', '=', 'my dogs').executeTakeFirstOrThrow();
      const strip = (h: string) => ({ ...JSON.parse(h), createdAt: null });
      assert.deepEqual(strip(after.head), strip(before.head));
    });

    it('concepts are private to their owner', async () => {
      const db = ctx.lib.db;
      assert.deepEqual((await listConcepts(db, 'ann')).map((c) => c.id), ['ann/my dogs']);
      assert.deepEqual(await listConcepts(db, 'bob'), []);
      await assert.rejects(showConcept(db, 'bob', 'my dogs'), (e: unknown) => e instanceof LibraryError && e.code === 'not_found');
      await assert.rejects(deleteConcept(db, 'bob', 'my dogs'), (e: unknown) => e instanceof LibraryError && e.code === 'not_found');
      const bobTagged = await db
        .selectFrom('photo_tags as t')
        .innerJoin('photos as p', 'p.id', 't.photo_id')
        .innerJoin('owners as o', 'o.id', 'p.owner_id')
        .select('t.concept_id')
        .where('o.name', '=', 'bob')
        .execute();
      assert.deepEqual(bobTagged, []);
    });

    it('bad input: clear errors and nothing stored', async () => {
      const db = ctx.lib.db;
      const count = async () => (await db.selectFrom('concepts').selectAll().execute()).length;
      const n = await count();
      await assert.rejects(teachConcept(db, { owner: 'ann', name: 'empty', model: MODEL, positives: [] }), /at least one positive/);
      await assert.rejects(teachConcept(db, { owner: 'nobody', name: 'x', model: MODEL, positives: [{ embedding: new Float32Array(8) }] }), (e: unknown) => e instanceof LibraryError && e.code === 'unknown_owner');
      await assert.rejects(teachConcept(db, { owner: 'ann', name: 'a/b', model: MODEL, positives: [{ embedding: new Float32Array(8) }] }), /concept name/);
      const carol = await ensureOwner(db, 'carol');
      void carol;
      await assert.rejects(teachConcept(db, { owner: 'carol', name: 'x', model: MODEL, positives: [{ embedding: new Float32Array(8) }] }), /needs negative examples/);
      await assert.rejects(showConcept(db, 'ann', 'unknown concept'), (e: unknown) => e instanceof LibraryError && e.code === 'not_found');
      assert.equal(await count(), n);
    });

    it('delete removes the concept and its tags', async () => {
      const db = ctx.lib.db;
      await deleteConcept(db, 'ann', 'my dogs');
      assert.deepEqual(await listConcepts(db, 'ann'), []);
      assert.equal((await db.selectFrom('photo_tags').selectAll().where('concept_id', '=', 'ann/my dogs').execute()).length, 0);
      assert.equal((await db.selectFrom('photo_tags').selectAll().where('concept_id', '=', 'dog').execute()).length, 5);
    });
  });
}

for (const backend of backends) {
  describe(`feedback -> retrain (${backend.name})`, () => {
    let ctx: Awaited<ReturnType<typeof backend.open>>;
    before(async () => {
      ctx = await backend.open();
      const ann = await ensureOwner(ctx.lib.db, 'ann');
      for (let i = 0; i < 12; i++) {
        const dog = i % 2 === 0;
        await storePhoto(ctx.lib.db, { ownerId: ann, visibility: 'private', facts: facts(`p${i}`), analysis: syntheticAnalysis(dog ? { n02085620: 0.7, n02088364: 0.2 } : { n04041544: 0.7, n03584254: 0.2 }, undefined, 100 + i) });
      }
    });
    after(async () => ctx.cleanup());

    it('answers become examples; retrain reports validation F1 before and after; feedback is counted once', async () => {
      const db = ctx.lib.db;
      const ann = (await db.selectFrom('owners').select('id').where('name', '=', 'ann').executeTakeFirstOrThrow()).id;
      const stored = await ownerEmbeddings(db, ann, MODEL);
      const dogs = stored.filter((_, i) => i % 2 === 0);
      const radios = stored.filter((_, i) => i % 2 === 1);
      await teachConcept(db, { owner: 'ann', name: 'dogs', model: MODEL, positives: dogs.slice(0, 2).map((p) => ({ embedding: p.embedding, hash: p.hash })) });
      await assert.rejects(recordConceptFeedback(db, 'ann', 'nope', dogs[2].photoId, true), (e: unknown) => e instanceof LibraryError && e.code === 'not_found');
      for (const d of dogs.slice(2)) await recordConceptFeedback(db, 'ann', 'dogs', d.photoId, true);
      await recordConceptFeedback(db, 'ann', 'dogs', radios[0].photoId, false);
      const r = await retrainConcept(db, 'ann', 'dogs');
      assert.deepEqual(r.added, { positives: 4, negatives: 1 });
      assert.equal(r.concept.positives, 6);
      assert.equal(r.concept.negatives, 6, 'default negatives: the radios (answered-right dogs are not negatives)');
      assert.ok(Number.isFinite(r.before) && Number.isFinite(r.after));
      const again = await retrainConcept(db, 'ann', 'dogs');
      assert.equal(again.concept.positives, 6, 'the same answers are not added twice');
      const tagged = await db.selectFrom('photo_tags').select('photo_id').where('concept_id', '=', 'ann/dogs').orderBy('photo_id').execute();
      assert.deepEqual(tagged.map((t) => t.photo_id), dogs.map((d) => d.photoId));
    });
  });
}
