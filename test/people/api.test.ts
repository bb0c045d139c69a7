// People over HTTP: uploads detect faces; the owner lists, names and finds their people, gets face crops and
// the faces of a photo; another owner sees none of it (404 / empty); a server without faces stores none.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { openLibrary, type Library } from '../../src/library/db.js';
import { ensureOwner } from '../../src/library/store.js';
import { createToken } from '../../src/library/tokens.js';
import { createServer } from '../../src/server/app.js';
import { loadTaxonomy } from '../../src/taxonomy/analysis.js';
import { Engine } from '../../src/vision/engine.js';
import { FaceDetector } from '../../src/vision/faces/detector.js';
import { multipart } from '../server/images.js';
import { photosDir, tempHome } from '../support/env.js';

const home = tempHome('pictograph-people-api-');
let lib: Library;
let app: FastifyInstance;
let plain: FastifyInstance;
let engine: Engine;
let detector: FaceDetector;
const tokens: Record<string, string> = {};

before(async () => {
  lib = await openLibrary({ env: { ...home.env, DATABASE_URL: '' } });
  engine = await Engine.load({ env: home.env });
  const taxonomy = await loadTaxonomy({ modelId: engine.model.id, env: home.env });
  detector = await FaceDetector.load();
  app = await createServer({ db: lib.db, engine, taxonomy, env: home.env, config: { webRoot: null }, faces: detector });
  plain = await createServer({ db: lib.db, engine, taxonomy, env: home.env, config: { webRoot: null } });
  for (const o of ['alice', 'bob']) tokens[o] = (await createToken(lib.db, { ownerId: await ensureOwner(lib.db, o) })).token;
});
after(async () => {
  await app.close();
  await plain.close();
  await detector.close();
  await engine.close();
  await lib.close();
  home.cleanup();
});

const auth = (o: string) => ({ authorization: `Bearer ${tokens[o]}` });

async function upload(server: FastifyInstance, owner: string, file: string): Promise<number> {
  const form = multipart([{ name: 'file', filename: file, type: 'image/jpeg', data: readFileSync(join(photosDir, file)) }]);
  const res = await server.inject({ method: 'POST', url: '/v1/photos', headers: { ...auth(owner), 'content-type': form.contentType }, payload: form.body });
  assert.equal(res.statusCode, 200, res.body);
  const id = res.json().results[0].photo?.id;
  assert.ok(id, res.body);
  return id;
}

test('upload -> people -> name -> find by name; bob sees nothing of it', async () => {
  const p1 = await upload(app, 'alice', 'kpa_bar-couple-1.jpg');
  const p2 = await upload(app, 'alice', 'kpa_bar-couple-2.jpg');
  const people = (await app.inject({ url: '/v1/people', headers: auth('alice') })).json().people as Array<{ id: number; photos: number; cover: { id: number } }>;
  assert.ok(people.length >= 2);
  const twice = people.find((p) => p.photos === 2);
  assert.ok(twice, JSON.stringify(people));
  const named = await app.inject({ method: 'PATCH', url: `/v1/people/${twice.id}`, headers: auth('alice'), payload: { name: 'Aunt Margaret' } });
  assert.equal(named.statusCode, 200, named.body);
  assert.equal(named.json().name, 'Aunt Margaret');
  const page = (await app.inject({ url: `/v1/people/${twice.id}`, headers: auth('alice') })).json();
  assert.deepEqual(page.photos.map((p: { id: number }) => p.id).sort(), [p1, p2].sort());
  const search = (await app.inject({ url: `/v1/search?q=${encodeURIComponent('aunt margaret')}`, headers: auth('alice') })).json();
  assert.ok([p1, p2].every((id) => search.photos.some((p: { id: number }) => p.id === id)), JSON.stringify(search.photos.map((p: { id: number }) => p.id)));
  const faces = (await app.inject({ url: `/v1/photos/${p1}/faces`, headers: auth('alice') })).json().faces as Array<{ box: number[]; person: { name: string | null } }>;
  assert.ok(faces.some((f) => f.person?.name === 'Aunt Margaret'));
  const crop = await app.inject({ url: `/v1/faces/${twice.cover.id}/thumbnail`, headers: auth('alice') });
  assert.equal(crop.statusCode, 200);
  assert.equal(crop.headers['content-type'], 'image/webp');

  // bob: no people, no faces of alice's private photo, no crops, no renaming, nothing by name.
  assert.deepEqual((await app.inject({ url: '/v1/people', headers: auth('bob') })).json().people, []);
  assert.equal((await app.inject({ url: `/v1/photos/${p1}/faces`, headers: auth('bob') })).statusCode, 404);
  assert.equal((await app.inject({ url: `/v1/faces/${twice.cover.id}/thumbnail`, headers: auth('bob') })).statusCode, 404);
  assert.equal((await app.inject({ method: 'PATCH', url: `/v1/people/${twice.id}`, headers: auth('bob'), payload: { name: 'x' } })).statusCode, 404);
  assert.equal((await app.inject({ url: `/v1/people/${twice.id}`, headers: auth('bob') })).statusCode, 404);
  const bobSearch = (await app.inject({ url: `/v1/search?q=${encodeURIComponent('aunt margaret')}`, headers: auth('bob') })).json();
  assert.equal(bobSearch.photos.length, 0);
  assert.equal((await app.inject({ url: '/v1/people' })).statusCode, 401);

  // "Not this person" over HTTP.
  const rejected = await app.inject({ method: 'POST', url: `/v1/faces/${twice.cover.id}/reject`, headers: auth('alice') });
  assert.equal(rejected.statusCode, 200);
  const after = (await app.inject({ url: `/v1/people/${twice.id}`, headers: auth('alice') })).json();
  assert.equal(after.person.faces, 1);
});

test('a photo stored sideways: its faces are found, outlined on the photo as stored, and their crops come upright', async () => {
  const file = join(photosDir, 'kpa_wayne-sideways.jpg');
  const id = await upload(app, 'alice', 'kpa_wayne-sideways.jpg');
  const faces = (await app.inject({ url: `/v1/photos/${id}/faces`, headers: auth('alice') })).json().faces as Array<{ id: number; box: number[] }>;
  assert.ok(faces.length >= 2, JSON.stringify(faces));
  // The photo as a person would hold it: stored a quarter turn counter-clockwise, so turned a quarter clockwise.
  const upright = sharp(file).rotate(90);
  const tiny = (img: sharp.Sharp) => img.resize(24, 24, { fit: 'fill' }).greyscale().raw().toBuffer();
  for (const f of faces) {
    const [x, y, w, h] = f.box as [number, number, number, number];
    assert.ok(w > 0 && h > 0 && x + w <= 800 + 2 && y + h <= 600 + 2, `box ${f.box} on the 800x600 photo as stored`);
    const crop = await app.inject({ url: `/v1/faces/${f.id}/thumbnail`, headers: auth('alice') });
    assert.equal(crop.statusCode, 200);
    // The same face cut from the upright photo (the box turned with it: x' = 600 - y - h, y' = x).
    const side = Math.round(Math.max(w, h) * 1.2);
    const [cx, cy] = [600 - y - h / 2, x + w / 2];
    const reference = await tiny(upright.clone().extract({ left: Math.round(cx - side / 2), top: Math.round(cy - side / 2), width: side, height: side }));
    // What a person sees: the crop matches the upright face better than any turn of it does.
    const distance = async (turn: number) => {
      const got = await tiny(sharp(await sharp(crop.rawPayload).rotate(turn).toBuffer()));
      let d = 0;
      for (let i = 0; i < got.length; i++) d += Math.abs(got[i]! - reference[i]!);
      return d / got.length;
    };
    const [d0, ...turned] = await Promise.all([0, 90, 180, 270].map(distance));
    assert.ok(turned.every((d) => d0! < d), `face ${f.id}: as served ${d0!.toFixed(1)}, turned ${turned.map((d) => d.toFixed(1))}`);
  }
});

test('a server with faces off (--no-faces) stores no faces', async () => {
  const id = await upload(plain, 'bob', 'kpa_anne-helene-beach.jpg');
  assert.deepEqual((await plain.inject({ url: `/v1/photos/${id}/faces`, headers: auth('bob') })).json().faces, []);
});

test('deleting a photo over HTTP: its faces, people and thumbnails go; another owner cannot; a file two owners hold stays', async () => {
  const mine = await upload(app, 'alice', 'gramps_o3-old-man-hat.jpg');
  const theirs = await upload(app, 'bob', 'gramps_o3-old-man-hat.jpg');
  const faces = (await app.inject({ url: `/v1/photos/${mine}/faces`, headers: auth('alice') })).json().faces as Array<{ id: number }>;
  assert.ok(faces.length >= 1);
  const thumb = await lib.db.selectFrom('photos').select('thumb_small').where('id', '=', mine).executeTakeFirstOrThrow();
  const thumbFile = join(home.home, 'media', thumb.thumb_small!);
  assert.ok(existsSync(thumbFile), thumbFile);

  assert.equal((await app.inject({ method: 'DELETE', url: `/v1/photos/${mine}`, headers: auth('bob') })).statusCode, 404);
  assert.equal((await app.inject({ method: 'DELETE', url: `/v1/photos/${mine}` })).statusCode, 401);
  const gone = await app.inject({ method: 'DELETE', url: `/v1/photos/${mine}`, headers: auth('alice') });
  assert.equal(gone.statusCode, 200, gone.body);
  assert.deepEqual(gone.json(), { id: mine, deleted: true, files_removed: 0 }, 'bob holds the same file: its thumbnails stay');
  assert.ok(existsSync(thumbFile));
  assert.equal((await app.inject({ url: `/v1/photos/${mine}`, headers: auth('alice') })).statusCode, 404);
  assert.equal((await lib.db.selectFrom('faces').select('id').where('photo_id', '=', mine).execute()).length, 0);
  assert.equal((await app.inject({ url: `/v1/faces/${faces[0]!.id}/thumbnail`, headers: auth('alice') })).statusCode, 404);
  assert.equal((await app.inject({ method: 'DELETE', url: `/v1/photos/${mine}`, headers: auth('alice') })).statusCode, 404);

  const last = await app.inject({ method: 'DELETE', url: `/v1/photos/${theirs}`, headers: auth('bob') });
  assert.equal(last.statusCode, 200, last.body);
  assert.ok(last.json().files_removed >= 1, last.body);
  assert.equal(existsSync(thumbFile), false, 'the last photo of that file takes its thumbnails with it');
});
