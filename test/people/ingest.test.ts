// Ingest with faces: real photos through the real recognizer and detector store faces and person tags in the
// photo's transaction and cluster them into people; `--no-faces` (no face stage) and an owner's "faces off"
// store none.
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openLibrary, type Library } from '../../src/library/db.js';
import { faceStage, type FaceStage } from '../../src/library/face-stage.js';
import { ingestFiles, rescanFaces } from '../../src/library/ingest.js';
import { listPeople, setOwnerFaceSettings } from '../../src/library/people.js';
import { loadRecognizer, type LoadedRecognizer } from '../../src/library/recognizer.js';
import { ensureOwner } from '../../src/library/store.js';
import { PERSON_WNID } from '../../src/taxonomy/people.js';
import { photosDir, tempHome } from '../support/env.js';

const files = ['kpa_bar-couple-1.jpg', 'kpa_bar-couple-2.jpg', 'faces_cat.jpg'].map((f) => join(photosDir, f));
const home = tempHome('pictograph-faces-ingest-');
let lib: Library;
let recognizer: LoadedRecognizer;
let faces: FaceStage;
let close: () => Promise<void>;

before(async () => {
  const { FaceDetector } = await import('../../src/vision/faces/detector.js');
  const detector = await FaceDetector.load();
  recognizer = await loadRecognizer({ env: home.env });
  faces = faceStage(detector, recognizer.taxonomy.hierarchy);
  lib = await openLibrary({ env: { ...home.env, DATABASE_URL: '' } });
  close = async () => {
    await detector.close();
    await recognizer.close();
    await lib.close();
  };
});
after(async () => {
  await close();
  home.cleanup();
});

const scans = (owner: string) =>
  lib.db.selectFrom('face_scans as s').innerJoin('photos as p', 'p.id', 's.photo_id').innerJoin('owners as o', 'o.id', 'p.owner_id').select(['p.file_name', 's.tags']).where('o.name', '=', owner).execute();

test('faces on: faces, tags and people stored; the same couple in two photos is one person twice', async () => {
  const s = await ingestFiles(files, { owner: 'ann', recognizer, db: lib.db, env: home.env, faces });
  assert.equal(s.failed, 0);
  assert.ok(s.faces >= 4, `${s.faces} faces`);
  const rows = await scans('ann');
  assert.equal(rows.length, 3);
  const tags = new Map(rows.map((r) => [r.file_name, (JSON.parse(r.tags) as Array<{ id: string }>).map((t) => t.id)]));
  assert.ok(tags.get('kpa_bar-couple-2.jpg')?.includes('person'));
  assert.deepEqual(tags.get('faces_cat.jpg'), []);
  const people = await listPeople(lib.db, (await ensureOwner(lib.db, 'ann')));
  assert.ok(people.some((p) => p.photos === 2), `people: ${JSON.stringify(people.map((p) => [p.faces, p.photos]))}`);
});

test('a photo whose classification rules people out is not looked at (scanned by the cues); rescan --all looks at it', async () => {
  const landscape = join(photosDir, 'lomiri_aitzgorri.jpg');
  const s = await ingestFiles([landscape, files[0]!], { owner: 'eve', recognizer, db: lib.db, env: home.env, faces });
  assert.equal(s.failed, 0);
  const detectors = async () =>
    new Map(
      (await lib.db.selectFrom('face_scans as s').innerJoin('photos as p', 'p.id', 's.photo_id').select(['p.file_name', 's.detector']).where('p.owner_id', '=', await ensureOwner(lib.db, 'eve')).execute()).map((r) => [r.file_name, r.detector]),
    );
  const before = await detectors();
  assert.match(before.get('lomiri_aitzgorri.jpg') ?? '', /\/cues$/, 'the mountain landscape is decided by its classification');
  assert.doesNotMatch(before.get('kpa_bar-couple-1.jpg') ?? '', /\/cues$/, 'the couple is looked at');
  const again = await rescanFaces(lib.db, await ensureOwner(lib.db, 'eve'), faces, { all: true });
  assert.equal(again.scanned, 2);
  assert.doesNotMatch((await detectors()).get('lomiri_aitzgorri.jpg') ?? '', /\/cues$/, '--all looks at every photo');
});

test('--no-faces and an owner with faces off store no faces', async () => {
  await ingestFiles(files.slice(0, 1), { owner: 'bob', recognizer, db: lib.db, env: home.env });
  assert.deepEqual(await scans('bob'), []);
  await setOwnerFaceSettings(lib.db, await ensureOwner(lib.db, 'cy'), { enabled: false });
  const s = await ingestFiles(files.slice(0, 1), { owner: 'cy', recognizer, db: lib.db, env: home.env, faces });
  assert.equal(s.faces, 0);
  assert.deepEqual(await scans('cy'), []);
});

test('rescan: photos stored without faces get them later (person lifted, people clustered); a second rescan has nothing to do; a lost original is reported', async () => {
  const copy = join(home.home, 'gone.jpg');
  copyFileSync(files[2]!, copy);
  await ingestFiles([...files.slice(0, 2), copy], { owner: 'dee', recognizer, db: lib.db, env: home.env });
  assert.deepEqual(await scans('dee'), []);
  rmSync(copy);
  const dee = await ensureOwner(lib.db, 'dee');
  const first = await rescanFaces(lib.db, dee, faces);
  assert.equal(first.scanned, 2);
  assert.ok(first.faces >= 4, `${first.faces} faces`);
  assert.ok(first.people >= 2);
  assert.deepEqual(first.failed.map((f) => f.error.code), ['original_missing']);
  const couple = await lib.db.selectFrom('photos').select('id').where('owner_id', '=', dee).where('file_name', '=', 'kpa_bar-couple-2.jpg').executeTakeFirstOrThrow();
  const person = await lib.db.selectFrom('node_scores').select('score').where('photo_id', '=', couple.id).where('wnid', '=', PERSON_WNID).executeTakeFirst();
  assert.ok(person && person.score >= 0.8, 'the person synset is lifted into the stored analysis');
  const again = await rescanFaces(lib.db, dee, faces);
  assert.equal(again.scanned, 0);
  assert.equal(again.failed.length, 1, 'only the lost original is tried again');
  await setOwnerFaceSettings(lib.db, dee, { enabled: false });
  await assert.rejects(rescanFaces(lib.db, dee, faces), { code: 'faces_off' });
});
