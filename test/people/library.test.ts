// People in the library on both databases: faces stored with their photo, incremental clustering, naming and
// corrections steering later clustering, owner isolation, face settings, and delete cascades. Face scans are
// synthetic here (embeddings around a few "identities"); detection on real photos is in detect.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { listPhotos } from '../../src/library/photos.js';
import {
  clusterNewFaces,
  deletePhoto,
  listPeople,
  mergePeople,
  namePerson,
  ownerFaceSettings,
  photoFaces,
  photosOfPerson,
  rejectFace,
  setOwnerFaceSettings,
  splitPerson,
  type FaceScan,
} from '../../src/library/people.js';
import { searchPhotos } from '../../src/library/search.js';
import { ensureOwner, storePhoto } from '../../src/library/store.js';
import { ownerViewer, PUBLIC } from '../../src/library/viewer.js';
import type { PeopleEvidence } from '../../src/taxonomy/people.js';
import type { DetectedFace } from '../../src/vision/faces/evidence.js';
import { backends, facts, miniTaxonomy, syntheticAnalysis } from '../library/support.js';
import type { Library } from '../../src/library/db.js';

// Deterministic unit vectors: identity i is a random direction, its faces small perturbations of it.
function rng(seed: number) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
}
const DIM = 64;
function identity(i: number): Float32Array {
  const r = rng(1000 + i);
  return Float32Array.from({ length: DIM }, r);
}
function faceOf(i: number, k: number): Float32Array {
  const base = identity(i);
  const r = rng(i * 100 + k + 7);
  const v = Float32Array.from(base, (x) => x + 0.25 * r());
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
function face(embedding: Float32Array, x = 10): DetectedFace {
  return { box: [x, 20, 50, 50], boxScore: 0.9, meshScore: 1, landmarks: [], pose: { yaw: 0, pitch: 0, roll: 0 }, personScore: 0.8, embedding };
}
function scan(...faces: DetectedFace[]): FaceScan {
  const evidence: PeopleEvidence = { faces, bodies: [], count: faces.length, person: faces.length ? 0.95 : 0, tags: faces.length ? [{ id: 'person', score: 0.95 }] : [] };
  return { detector: 'test', evidence };
}

for (const backend of backends) {
  describe(`people on ${backend.name}`, () => {
    let lib: Library;
    let cleanup: () => Promise<void>;
    let ann: number;
    let bob: number;
    const annPhotos: number[] = [];
    let bobPhoto: number;

    before(async () => {
      ({ lib, cleanup } = await backend.open());
      ann = await ensureOwner(lib.db, 'ann');
      bob = await ensureOwner(lib.db, 'bob');
      // ann: identity 0 in photos 0-3, identity 1 in photos 2-5 (photos 2 and 3 show both).
      for (let p = 0; p < 6; p++) {
        const faces: DetectedFace[] = [];
        if (p <= 3) faces.push(face(faceOf(0, p), 10));
        if (p >= 2) faces.push(face(faceOf(1, p), 200));
        annPhotos.push(
          await storePhoto(lib.db, { ownerId: ann, visibility: p === 0 ? 'public' : 'private', facts: facts(`ann-${p}`), analysis: syntheticAnalysis({ n02085620: 0.9 }), faces: scan(...faces) }),
        );
      }
      // bob: the same identity 0 (same person, other owner): must never join ann's people.
      bobPhoto = await storePhoto(lib.db, { ownerId: bob, visibility: 'private', facts: facts('bob-0'), analysis: syntheticAnalysis({ n02085620: 0.9 }), faces: scan(face(faceOf(0, 9))) });
    });
    after(async () => cleanup());

    test('new faces cluster into people per owner, incrementally', async () => {
      const a = await clusterNewFaces(lib.db, ann);
      assert.deepEqual(a, { placed: 8, created: 2 });
      const b = await clusterNewFaces(lib.db, bob);
      assert.deepEqual(b, { placed: 1, created: 1 });
      assert.deepEqual(await clusterNewFaces(lib.db, ann), { placed: 0, created: 0 }, 'placed faces never move');
      const people = await listPeople(lib.db, ann);
      assert.deepEqual(people.map((p) => [p.faces, p.photos]), [[4, 4], [4, 4]]);
      for (const p of people) assert.ok(p.cover && annPhotos.includes(p.cover.photoId));
      const bobs = await listPeople(lib.db, bob);
      assert.equal(bobs.length, 1);
      assert.ok(!people.some((p) => p.id === bobs[0].id));
    });

    test('naming: photos --person and word search find the person; other owners never do', async () => {
      const [first] = await listPeople(lib.db, ann);
      await namePerson(lib.db, ann, first.id, '  Aunt   Margaret ');
      const named = (await listPeople(lib.db, ann)).find((p) => p.id === first.id)!;
      assert.equal(named.name, 'Aunt Margaret');
      const ids = await photosOfPerson(lib.db, ann, 'aunt margaret');
      assert.equal(ids.length, 4);
      const page = await listPhotos(lib.db, ownerViewer(ann), { person: 'Margaret' });
      assert.deepEqual(page.photos.map((p) => p.id).sort(), [...ids].sort());
      const found = await searchPhotos(lib.db, ownerViewer(ann), 'Aunt Margaret', { taxonomy: miniTaxonomy });
      assert.ok(ids.every((id) => found.photos.some((p) => p.id === id)));
      // bob cannot see, find or rename ann's person; ann's public photo shows bob no faces or names.
      assert.equal((await listPhotos(lib.db, ownerViewer(bob), { person: 'Margaret' })).photos.length, 0);
      assert.equal((await searchPhotos(lib.db, ownerViewer(bob), 'Aunt Margaret', { taxonomy: miniTaxonomy })).people.length, 0);
      await assert.rejects(namePerson(lib.db, bob, first.id, 'x'), { code: 'not_found' });
      assert.deepEqual(await photoFaces(lib.db, PUBLIC, annPhotos[0]), []);
      assert.deepEqual(await photoFaces(lib.db, ownerViewer(bob), annPhotos[0]), []);
      await assert.rejects(photoFaces(lib.db, ownerViewer(bob), annPhotos[1]), { code: 'not_found' });
      const own = await photoFaces(lib.db, ownerViewer(ann), annPhotos[0]);
      assert.equal(own[0].person?.name, 'Aunt Margaret');
      // Opting in shows names (never embeddings) on public photos.
      await setOwnerFaceSettings(lib.db, ann, { public: true });
      const shown = await photoFaces(lib.db, PUBLIC, annPhotos[0]);
      assert.deepEqual(shown.map((f) => f.person?.name), ['Aunt Margaret']);
      assert.ok(!JSON.stringify(shown).includes('embedding'));
      await setOwnerFaceSettings(lib.db, ann, { public: false });
    });

    test('a new face of a named person joins them; reject-face keeps it out for good', async () => {
      const margaret = (await listPeople(lib.db, ann)).find((p) => p.name === 'Aunt Margaret')!;
      const p = await storePhoto(lib.db, { ownerId: ann, visibility: 'private', facts: facts('ann-new'), analysis: syntheticAnalysis({ n02085620: 0.9 }), faces: scan(face(faceOf(0, 42))) });
      annPhotos.push(p);
      await clusterNewFaces(lib.db, ann);
      const [f] = await photoFaces(lib.db, ownerViewer(ann), p);
      assert.equal(f.person?.id, margaret.id);
      await rejectFace(lib.db, ann, f.id);
      const [g] = await photoFaces(lib.db, ownerViewer(ann), p);
      assert.notEqual(g.person?.id, margaret.id, 'not this person');
      assert.ok(g.person, 'the rejected face gets a person of its own');
    });

    test('merge and split', async () => {
      const people = await listPeople(lib.db, ann);
      const margaret = people.find((p) => p.name === 'Aunt Margaret')!;
      const other = people.find((p) => p.faces === 4 && p.name === null)!;
      await mergePeople(lib.db, ann, margaret.id, other.id);
      const merged = (await listPeople(lib.db, ann)).find((p) => p.id === margaret.id)!;
      assert.equal(merged.faces, 8);
      const faces = (await photoFaces(lib.db, ownerViewer(ann), annPhotos[5])).map((f) => f.id);
      const fresh = await splitPerson(lib.db, ann, margaret.id, faces, 'Uncle Bob');
      const after = await listPeople(lib.db, ann);
      assert.equal(after.find((p) => p.id === fresh)?.name, 'Uncle Bob');
      assert.equal(after.find((p) => p.id === margaret.id)?.faces, 7);
      await assert.rejects(mergePeople(lib.db, ann, margaret.id, (await listPeople(lib.db, bob))[0].id), { code: 'not_found' });
    });

    test('deleting a photo deletes its faces; turning faces off deletes them all', async () => {
      const before = (await photoFaces(lib.db, ownerViewer(ann), annPhotos[2])).length;
      assert.equal(before, 2);
      const count = async (owner: number) => Number((await lib.db.selectFrom('faces').select((eb) => eb.fn.countAll().as('n')).where('owner_id', '=', owner).executeTakeFirstOrThrow()).n);
      const total = await count(ann);
      await deletePhoto(lib.db, ann, annPhotos[2]);
      assert.equal(await count(ann), total - 2);
      assert.equal((await lib.db.selectFrom('face_scans').select('photo_id').where('photo_id', '=', annPhotos[2]).execute()).length, 0);
      await assert.rejects(deletePhoto(lib.db, bob, annPhotos[3]), { code: 'not_found' });
      await setOwnerFaceSettings(lib.db, ann, { enabled: false });
      assert.deepEqual(await ownerFaceSettings(lib.db, ann), { enabled: false, public: false });
      assert.equal(await count(ann), 0);
      assert.deepEqual(await listPeople(lib.db, ann), []);
      assert.equal(await count(bob), 1, "bob's faces stay");
      assert.ok(bobPhoto > 0);
    });
  });
}
