// Every API endpoint via inject on a real library (SQLite, or PostgreSQL when PICTOGRAPH_TEST_DATABASE_URL is
// set) with the real model: shapes, access rules between two owners, and every bad input with its stable code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createServer } from '../../src/server/app.js';
import { Engine } from '../../src/vision/engine.js';
import { calibImages, sharedDir } from '../support/env.js';
import { bearer, calibPhotos, createFixture, type Fixture } from './fixture.js';
import { multipart, pngBomb, truncated } from './images.js';

let f: Fixture;
const bodies: string[] = [];
const spaniel = readFileSync(`${calibImages}/n02085782_Japanese_spaniel.JPEG`);

async function call(opts: InjectOptions & { as?: 'alice' | 'bob' | 'admin' }): Promise<LightMyRequestResponse> {
  const { as, ...rest } = opts;
  const headers = { ...(rest.headers ?? {}), ...(as ? bearer(f.tokens[as]) : {}) };
  const res = await f.app.inject({ ...rest, headers });
  bodies.push(res.body);
  return res;
}

function json(res: LightMyRequestResponse): any {
  return JSON.parse(res.body);
}

function expectError(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, `expected ${status} ${code}, got ${res.statusCode}: ${res.body}`);
  const body = json(res);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
}

async function allIds(as: 'alice' | 'bob' | 'admin' | undefined, query = ''): Promise<number[]> {
  const ids: number[] = [];
  let cursor: string | null = null;
  do {
    const res = await call({ url: `/v1/photos?limit=3${query}${cursor ? `&cursor=${cursor}` : ''}`, as });
    assert.equal(res.statusCode, 200, res.body);
    const body = json(res);
    ids.push(...body.photos.map((p: { id: number }) => p.id));
    cursor = body.next_cursor;
  } while (cursor);
  return ids;
}

before(async () => {
  f = await createFixture();
});

after(async () => {
  // No response, good or bad, may reveal where files live on the server.
  for (const body of bodies) {
    assert.ok(!body.includes(f.home), `a response leaked the home folder: ${body.slice(0, 200)}`);
    assert.ok(!body.includes(sharedDir), `a response leaked a source path: ${body.slice(0, 200)}`);
    assert.ok(!/"(original_path|originalPath|path)":"\//.test(body), `a response has a file path: ${body.slice(0, 200)}`);
  }
  await f.close();
});

describe('operations', () => {
  test('healthz, readyz, metrics, openapi, docs', async () => {
    assert.deepEqual(json(await call({ url: '/healthz' })), { ok: true });
    const ready = await call({ url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.equal(json(ready).ready, true);
    await call({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/jpeg' }, payload: spaniel });
    const metrics = await call({ url: '/metrics' });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.headers['content-type'] as string, /text\/plain/);
    assert.match(metrics.body, /pictograph_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/);
    assert.match(metrics.body, /pictograph_http_request_duration_seconds_bucket/);
    assert.match(metrics.body, /pictograph_inference_batch_size_count\{model="mobilenetv2-12-int8"\} [1-9]/);
    assert.match(metrics.body, /pictograph_inference_queue_depth\{model="mobilenetv2-12-int8"\} 0/);
    const spec = json(await call({ url: '/openapi.json' }));
    assert.equal(spec.openapi, '3.1.0');
    for (const path of ['/v1/classify', '/v1/photos', '/v1/photos/{id}', '/v1/photos/{id}/feedback', '/v1/compare', '/v1/synsets/{wnid}']) {
      assert.ok(spec.paths[path], `openapi lists ${path}`);
    }
    const docs = await call({ url: '/docs' });
    assert.ok(docs.statusCode === 200 || docs.statusCode === 302, `docs: ${docs.statusCode}`);
  });

  test('unknown routes answer a JSON 404', async () => {
    expectError(await call({ url: '/v1/nothing-here' }), 404, 'not_found');
  });

  test('readyz is 503 until the model has loaded', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const app = await createServer({
      db: f.lib.db,
      env: f.env,
      config: { webRoot: null },
      load: async () => {
        await gate;
        // The runtime closes an engine it loaded itself, so this one is its own.
        return { engine: await Engine.load({ env: f.env }), taxonomy: f.taxonomy };
      },
    });
    try {
      const before = await app.inject({ url: '/readyz' });
      assert.equal(before.statusCode, 503);
      assert.equal(JSON.parse(before.body).error.code, 'not_ready');
      const classify = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/jpeg' }, payload: spaniel });
      assert.equal(classify.statusCode, 503);
      assert.equal(JSON.parse(classify.body).error.code, 'not_ready');
      assert.ok(classify.headers['retry-after']);
      assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
      release();
      await app.pictograph.runtime.whenSettled();
      assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
    } finally {
      release();
      await app.close();
    }
  });
});

describe('classify', () => {
  test('raw body: concepts, hedged, path, categories, model', async () => {
    const res = await call({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/jpeg' }, payload: spaniel });
    assert.equal(res.statusCode, 200, res.body);
    const body = json(res);
    assert.equal(body.model.id, 'mobilenetv2-12-int8');
    assert.match(body.model.sha256, /^[0-9a-f]{64}$/);
    assert.equal(body.concepts.length, 5);
    assert.deepEqual(Object.keys(body.concepts[0]).sort(), ['id', 'name', 'value']);
    assert.equal(body.concepts[0].id, 'n02085782');
    for (let i = 1; i < body.concepts.length; i++) assert.ok(body.concepts[i - 1].value >= body.concepts[i].value);
    assert.ok(Array.isArray(body.path));
    if (body.hedged) {
      assert.equal(body.path[0].wnid, body.hedged.wnid);
      assert.equal(body.path[body.path.length - 1].wnid, 'n00001740');
    }
    assert.ok(body.categories.some((c: { id: string }) => c.id === 'dog'), JSON.stringify(body.categories));
  });

  test('octet-stream and multipart bodies, top=', async () => {
    const raw = await call({ method: 'POST', url: '/v1/classify?top=2', headers: { 'content-type': 'application/octet-stream' }, payload: spaniel });
    assert.equal(raw.statusCode, 200);
    assert.equal(json(raw).concepts.length, 2);
    const form = multipart([{ name: 'file', filename: 'dog.jpg', type: 'image/jpeg', data: spaniel }]);
    const res = await call({ method: 'POST', url: '/v1/classify?top=1', headers: { 'content-type': form.contentType }, payload: form.body });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(json(res).concepts.length, 1);
    assert.equal(json(res).concepts[0].id, 'n02085782');
  });

  test('bad inputs get stable codes and the server keeps serving', async () => {
    const post = (payload: Buffer | string, type?: string, url = '/v1/classify') =>
      call({ method: 'POST', url, headers: type ? { 'content-type': type } : {}, payload });
    expectError(await post('hello', 'text/plain'), 415, 'unsupported_media_type');
    expectError(await post('{"a":1}', 'application/json'), 415, 'unsupported_media_type');
    expectError(await post(Buffer.alloc(0), 'image/jpeg'), 400, 'empty_body');
    expectError(await post(''), 400, 'empty_body');
    expectError(await post(Buffer.alloc(33 * 1024 * 1024, 1), 'image/jpeg'), 413, 'payload_too_large');
    expectError(await post(Buffer.from('this is not an image at all'), 'image/jpeg'), 422, 'unsupported_format');
    const cut = await post(truncated(spaniel), 'image/jpeg');
    assert.equal(cut.statusCode, 422, cut.body);
    assert.ok(['truncated', 'decode_failed'].includes(json(cut).error.code), cut.body);
    expectError(await post(pngBomb(), 'image/png'), 422, 'too_many_pixels');
    expectError(await post(spaniel, 'image/jpeg', '/v1/classify?top=abc'), 400, 'bad_request');
    expectError(await post(spaniel, 'image/jpeg', '/v1/classify?target=2'), 400, 'bad_request');
    expectError(await post(spaniel, 'image/jpeg', '/v1/classify?model=resnet-9000'), 404, 'unknown_model');
    expectError(await post(spaniel, 'image/jpeg', '/v1/classify?target=0.7321'), 400, 'uncalibrated_target');
    assert.equal((await post(spaniel, 'image/jpeg', '/v1/classify?target=0.9')).statusCode, 200);
    const empty = multipart([{ name: 'other', value: 'x' }]);
    expectError(await post(empty.body, empty.contentType), 400, 'empty_body');
    const big = multipart([{ name: 'file', filename: 'big.jpg', type: 'image/jpeg', data: Buffer.alloc(33 * 1024 * 1024, 1) }]);
    expectError(await post(big.body, big.contentType), 413, 'payload_too_large');
    // Still serving.
    assert.equal((await call({ url: '/healthz' })).statusCode, 200);
    assert.equal((await post(spaniel, 'image/jpeg')).statusCode, 200);
  });

  test('token-only classification when configured', async () => {
    const app = await createServer({ db: f.lib.db, engine: f.engine, taxonomy: f.taxonomy, env: f.env, config: { webRoot: null, classifyAccess: 'token' } });
    try {
      const anon = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/jpeg' }, payload: spaniel });
      assert.equal(anon.statusCode, 401);
      assert.equal(JSON.parse(anon.body).error.code, 'unauthorized');
      const signed = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/jpeg', ...bearer(f.tokens.bob) }, payload: spaniel });
      assert.equal(signed.statusCode, 200);
    } finally {
      await app.close();
    }
  });
});

describe('auth', () => {
  test('me: anonymous, owner, admin; bad tokens are 401', async () => {
    assert.deepEqual(json(await call({ url: '/v1/me' })), { owner: null, admin: false });
    assert.deepEqual(json(await call({ url: '/v1/me', as: 'alice' })), { owner: 'alice', admin: false });
    assert.deepEqual(json(await call({ url: '/v1/me', as: 'admin' })), { owner: null, admin: true });
    expectError(await call({ url: '/v1/me', headers: { authorization: 'Bearer pgt_nope' } }), 401, 'invalid_token');
    expectError(await call({ url: '/v1/photos', headers: { authorization: 'Basic abc' } }), 401, 'invalid_token');
  });

  test('admin creates owners and tokens; others may not', async () => {
    const body = JSON.stringify({ name: 'dave' });
    const headers = { 'content-type': 'application/json' };
    expectError(await call({ method: 'POST', url: '/v1/owners', headers, payload: body }), 401, 'unauthorized');
    expectError(await call({ method: 'POST', url: '/v1/owners', headers, payload: body, as: 'alice' }), 403, 'forbidden');
    const created = await call({ method: 'POST', url: '/v1/owners', headers, payload: body, as: 'admin' });
    assert.equal(created.statusCode, 201, created.body);
    expectError(await call({ method: 'POST', url: '/v1/owners', headers, payload: '{"name":"../x"}', as: 'admin' }), 400, 'bad_request');
    expectError(await call({ method: 'POST', url: '/v1/owners', headers: { 'content-type': 'text/plain' }, payload: 'dave', as: 'admin' }), 415, 'unsupported_media_type');
    expectError(await call({ method: 'POST', url: '/v1/tokens', headers, payload: '{"owner":"dave"}', as: 'bob' }), 403, 'forbidden');
    expectError(await call({ method: 'POST', url: '/v1/tokens', headers, payload: '{"owner":"nobody"}', as: 'admin' }), 404, 'unknown_owner');
    const tok = await call({ method: 'POST', url: '/v1/tokens', headers, payload: '{"owner":"dave"}', as: 'admin' });
    assert.equal(tok.statusCode, 201, tok.body);
    const token = json(tok).token as string;
    assert.match(token, /^pgt_/);
    const stored = await f.lib.db.selectFrom('tokens').select('token_hash').execute();
    assert.ok(stored.every((t) => t.token_hash !== token && !t.token_hash.includes(token)), 'tokens are stored hashed');
    assert.deepEqual(json(await call({ url: '/v1/me', headers: bearer(token) })), { owner: 'dave', admin: false });
  });
});

describe('photos and access rules', () => {
  test('anonymous sees public photos only; owners see their own plus public; never others\' private', async () => {
    const { alicePublic, alicePrivate, bobPublic, bobPrivate } = f.photos;
    const anon = await allIds(undefined);
    assert.deepEqual(new Set(anon), new Set([...alicePublic, ...bobPublic]));
    const alice = await allIds('alice');
    assert.deepEqual(new Set(alice), new Set([...alicePublic, ...alicePrivate, ...bobPublic]));
    const bob = await allIds('bob');
    assert.deepEqual(new Set(bob), new Set([...bobPublic, ...bobPrivate, ...alicePublic]));
    const admin = await allIds('admin');
    assert.equal(admin.length, alicePublic.length + alicePrivate.length + bobPublic.length + bobPrivate.length);
    assert.equal(new Set(alice).size, alice.length, 'paging has no duplicates');
    assert.deepEqual(alice, [...alice].sort((x, y) => y - x), 'newest first');
    const onlyBob = await allIds('alice', '&owner=bob');
    assert.deepEqual(new Set(onlyBob), new Set(bobPublic));
  });

  test('under a synset: best first, keyset-paged, scoped', async () => {
    const dog = 'n02084071';
    const one = json(await call({ url: `/v1/photos?under=${dog}&limit=100`, as: 'alice' }));
    assert.ok(one.photos.length >= 5);
    for (let i = 1; i < one.photos.length; i++) assert.ok(one.photos[i - 1].score >= one.photos[i].score);
    const paged = await allIds('alice', `&under=${dog}`);
    assert.deepEqual(paged, one.photos.map((p: { id: number }) => p.id));
    const bobDogs = new Set(f.photos.bobPrivate);
    assert.ok(paged.every((id) => !bobDogs.has(id)), 'bob’s private dogs stay hidden from alice');
    const bobSees = await allIds('bob', `&under=${dog}`);
    assert.ok(bobSees.some((id) => bobDogs.has(id)), 'bob sees his own private dogs');
    const p = one.photos[0];
    assert.deepEqual(Object.keys(p).sort(), ['hedged', 'height', 'id', 'labels', 'owner', 'score', 'thumbnail', 'thumbnail_large', 'visibility', 'width']);
    assert.equal(p.thumbnail, `/v1/photos/${p.id}/thumbnail?size=256`);
    assert.ok(p.labels.length <= 5 && p.labels.length > 0);
    // A category page keeps photos scoring at least 0.2 under the synset unless asked for less.
    assert.ok(one.photos.every((x: { score: number }) => x.score >= 0.2), 'the default floor of a category page');
    const everything = json(await call({ url: `/v1/photos?under=${dog}&limit=200&min_score=0`, as: 'alice' }));
    assert.ok(everything.photos.length >= one.photos.length);
    assert.deepEqual(everything.photos.slice(0, one.photos.length).map((x: { id: number }) => x.id), one.photos.map((x: { id: number }) => x.id));
    expectError(await call({ url: `/v1/photos?under=${dog}&min_score=2` }), 400, 'bad_request');
  });

  test('bad paging and filters', async () => {
    expectError(await call({ url: '/v1/photos?cursor=not-a-cursor' }), 400, 'bad_cursor');
    expectError(await call({ url: '/v1/photos?cursor=%25%25' }), 400, 'bad_cursor');
    const page = json(await call({ url: '/v1/photos?limit=1', as: 'alice' }));
    assert.ok(page.next_cursor);
    expectError(await call({ url: `/v1/photos?under=n02084071&cursor=${page.next_cursor}` }), 400, 'bad_cursor');
    expectError(await call({ url: '/v1/photos?under=n99999999' }), 404, 'unknown_synset');
    expectError(await call({ url: '/v1/photos?under=dog' }), 400, 'bad_request');
    expectError(await call({ url: '/v1/photos?limit=0' }), 400, 'bad_request');
    expectError(await call({ url: '/v1/photos?limit=many' }), 400, 'bad_request');
    expectError(await call({ url: '/v1/photos?owner=nobody' }), 404, 'unknown_owner');
  });

  test('detail: own private yes, others\' private 404 (not 403), public for all', async () => {
    const mine = f.photos.alicePrivate[0]!;
    const res = await call({ url: `/v1/photos/${mine}`, as: 'alice' });
    assert.equal(res.statusCode, 200, res.body);
    const d = json(res);
    for (const key of ['taken_at', 'camera', 'model', 'path', 'categories', 'similar', 'original', 'feedback']) assert.ok(key in d, key);
    assert.equal(d.original, `/v1/photos/${mine}/original`);
    assert.ok(d.similar.length > 0 && d.similar.length <= 8);
    const visible = new Set([...f.photos.alicePublic, ...f.photos.alicePrivate, ...f.photos.bobPublic]);
    assert.ok(d.similar.every((s: { id: number }) => visible.has(s.id)), 'similar photos are scoped');
    expectError(await call({ url: `/v1/photos/${mine}`, as: 'bob' }), 404, 'photo_not_found');
    expectError(await call({ url: `/v1/photos/${mine}` }), 404, 'photo_not_found');
    assert.equal((await call({ url: `/v1/photos/${mine}`, as: 'admin' })).statusCode, 200);
    assert.equal((await call({ url: `/v1/photos/${f.photos.bobPublic[0]}` })).statusCode, 200);
    expectError(await call({ url: '/v1/photos/999999' }), 404, 'photo_not_found');
    expectError(await call({ url: '/v1/photos/abc' }), 400, 'bad_request');
  });

  test('thumbnails and originals follow the same rules', async () => {
    const mine = f.photos.alicePrivate[1]!;
    const small = await call({ url: `/v1/photos/${mine}/thumbnail?size=256`, as: 'alice' });
    assert.equal(small.statusCode, 200);
    assert.equal(small.headers['content-type'], 'image/jpeg');
    assert.deepEqual([...small.rawPayload.subarray(0, 3)], [0xff, 0xd8, 0xff]);
    // An ImageNet photo is smaller than 1024 px: its original serves as the large thumbnail.
    const large = await call({ url: `/v1/photos/${mine}/thumbnail?size=1024`, as: 'alice' });
    assert.equal(large.statusCode, 200);
    assert.equal(large.headers['content-type'], 'image/jpeg');
    const again = await call({ url: `/v1/photos/${mine}/thumbnail?size=256`, as: 'alice', headers: { 'if-none-match': small.headers.etag as string } });
    assert.equal(again.statusCode, 304);
    expectError(await call({ url: `/v1/photos/${mine}/thumbnail?size=500`, as: 'alice' }), 400, 'bad_request');
    expectError(await call({ url: `/v1/photos/${mine}/thumbnail`, as: 'bob' }), 404, 'photo_not_found');
    expectError(await call({ url: `/v1/photos/${mine}/original` }), 404, 'photo_not_found');
    const original = await call({ url: `/v1/photos/${mine}/original`, as: 'alice' });
    assert.equal(original.statusCode, 200);
    assert.equal(original.headers['content-type'], 'image/jpeg');
    const row = await f.lib.db.selectFrom('photos').select('original_path').where('id', '=', mine).executeTakeFirstOrThrow();
    assert.ok(original.rawPayload.equals(readFileSync(row.original_path)));
  });

  test('upload: signed in only; each file ingested or refused with a reason; visibility', async () => {
    const files = calibPhotos().filter((p) => p.index >= 300 && p.index < 320).slice(0, 2);
    const form = multipart([
      { name: 'file', filename: 'first.jpg', type: 'image/jpeg', data: readFileSync(files[0]!.file) },
      { name: 'file', filename: 'notes.jpg', type: 'image/jpeg', data: Buffer.from('not a photo') },
      { name: 'file', filename: 'second.JPEG', type: 'image/jpeg', data: readFileSync(files[1]!.file) },
      { name: 'visibility', value: 'public' },
    ]);
    const headers = { 'content-type': form.contentType };
    expectError(await call({ method: 'POST', url: '/v1/photos', headers, payload: form.body }), 401, 'unauthorized');
    const res = await call({ method: 'POST', url: '/v1/photos', headers, payload: form.body, as: 'bob' });
    assert.equal(res.statusCode, 200, res.body);
    const { results } = json(res);
    assert.deepEqual(results.map((r: { file: string }) => r.file), ['first.jpg', 'notes.jpg', 'second.JPEG']);
    assert.equal(results[0].photo.owner, 'bob');
    assert.equal(results[0].photo.visibility, 'public');
    assert.equal(results[1].error.code, 'unsupported_format');
    assert.ok(!results[1].photo);
    const id = results[0].photo.id as number;
    assert.equal((await call({ url: `/v1/photos/${id}` })).statusCode, 200, 'public upload visible to all');
    const original = await call({ url: `/v1/photos/${id}/original` });
    assert.ok(original.rawPayload.equals(readFileSync(files[0]!.file)));
    // The same upload again is the same photo (deduplicated), now made private.
    const again = multipart([{ name: 'visibility', value: 'private' }, { name: 'file', filename: 'first.jpg', type: 'image/jpeg', data: readFileSync(files[0]!.file) }]);
    const res2 = await call({ method: 'POST', url: '/v1/photos', headers: { 'content-type': again.contentType }, payload: again.body, as: 'bob' });
    assert.equal(json(res2).results[0].photo.id, id);
    assert.equal(json(res2).results[0].photo.visibility, 'private');
    expectError(await call({ url: `/v1/photos/${id}`, as: 'alice' }), 404, 'photo_not_found');
    expectError(await call({ method: 'POST', url: '/v1/photos', headers: { 'content-type': 'image/jpeg' }, payload: spaniel, as: 'bob' }), 415, 'unsupported_media_type');
    const bad = multipart([{ name: 'visibility', value: 'everyone' }, { name: 'file', filename: 'x.jpg', data: spaniel }]);
    expectError(await call({ method: 'POST', url: '/v1/photos', headers: { 'content-type': bad.contentType }, payload: bad.body, as: 'bob' }), 400, 'bad_request');
    const none = multipart([{ name: 'visibility', value: 'public' }]);
    expectError(await call({ method: 'POST', url: '/v1/photos', headers: { 'content-type': none.contentType }, payload: none.body, as: 'bob' }), 400, 'empty_body');
  });

  test('visibility: owner or admin may change it', async () => {
    const id = f.photos.alicePrivate[3]!;
    const headers = { 'content-type': 'application/json' };
    expectError(await call({ method: 'PATCH', url: `/v1/photos/${id}`, headers, payload: '{"visibility":"public"}', as: 'bob' }), 404, 'photo_not_found');
    expectError(await call({ method: 'PATCH', url: `/v1/photos/${id}`, headers, payload: '{"visibility":"everyone"}', as: 'alice' }), 400, 'bad_request');
    const res = await call({ method: 'PATCH', url: `/v1/photos/${id}`, headers, payload: '{"visibility":"public"}', as: 'alice' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(json(res).visibility, 'public');
    assert.equal((await call({ url: `/v1/photos/${id}`, as: 'bob' })).statusCode, 200);
    expectError(await call({ method: 'PATCH', url: `/v1/photos/${id}`, headers, payload: '{"visibility":"private"}', as: 'bob' }), 403, 'forbidden');
    assert.equal((await call({ method: 'PATCH', url: `/v1/photos/${id}`, headers, payload: '{"visibility":"private"}', as: 'admin' })).statusCode, 200);
    expectError(await call({ url: `/v1/photos/${id}`, as: 'bob' }), 404, 'photo_not_found');
  });

  test('reclassify: owner or admin only', async () => {
    const mine = f.photos.alicePrivate[2]!;
    const res = await call({ method: 'POST', url: `/v1/photos/${mine}/reclassify`, as: 'alice' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(json(res).id, mine);
    assert.equal((await call({ method: 'POST', url: `/v1/photos/${mine}/reclassify`, as: 'admin' })).statusCode, 200);
    expectError(await call({ method: 'POST', url: `/v1/photos/${mine}/reclassify`, as: 'bob' }), 404, 'photo_not_found');
    expectError(await call({ method: 'POST', url: `/v1/photos/${f.photos.bobPublic[0]}/reclassify`, as: 'alice' }), 403, 'forbidden');
    expectError(await call({ method: 'POST', url: `/v1/photos/${mine}/reclassify` }), 401, 'unauthorized');
  });
});

describe('feedback', () => {
  test('stored with who and which model; never on photos you cannot see', async () => {
    const headers = { 'content-type': 'application/json' };
    const mine = f.photos.alicePublic[0]!;
    const res = await call({ method: 'POST', url: `/v1/photos/${mine}/feedback`, headers, payload: '{"correct":true}', as: 'alice' });
    assert.equal(res.statusCode, 201, res.body);
    const fb = json(res).feedback;
    assert.equal(fb.photo, mine);
    assert.equal(fb.correct, true);
    assert.equal(fb.owner, 'alice');
    assert.equal(fb.model, 'mobilenetv2-12-int8');
    const wrong = await call({ method: 'POST', url: `/v1/photos/${f.photos.bobPublic[0]}/feedback`, headers, payload: '{"correct":false,"wnid":"n02084071"}', as: 'alice' });
    assert.equal(wrong.statusCode, 201, wrong.body);
    assert.equal(json(wrong).feedback.wnid, 'n02084071');
    assert.equal(json(wrong).feedback.name, 'dog', 'the named concept comes back with its name');
    await call({ method: 'POST', url: `/v1/photos/${mine}/feedback`, headers, payload: '{"correct":false}', as: 'bob' });
    expectError(await call({ method: 'POST', url: `/v1/photos/${f.photos.bobPrivate[0]}/feedback`, headers, payload: '{"correct":true}', as: 'alice' }), 404, 'photo_not_found');
    expectError(await call({ method: 'POST', url: `/v1/photos/${mine}/feedback`, headers, payload: '{"correct":"yes"}', as: 'alice' }), 400, 'bad_request');
    expectError(await call({ method: 'POST', url: `/v1/photos/${mine}/feedback`, headers, payload: '{}', as: 'alice' }), 400, 'bad_request');
    expectError(await call({ method: 'POST', url: `/v1/photos/${mine}/feedback`, headers, payload: '{"correct":false,"wnid":"n99999999"}', as: 'alice' }), 404, 'unknown_synset');
    expectError(await call({ method: 'POST', url: `/v1/photos/${mine}/feedback`, headers, payload: '{bad json', as: 'alice' }), 400, 'bad_json');
    expectError(await call({ method: 'POST', url: `/v1/photos/${mine}/feedback`, headers: { 'content-type': 'text/plain' }, payload: 'yes', as: 'alice' }), 415, 'unsupported_media_type');
    expectError(await call({ method: 'POST', url: `/v1/photos/${mine}/feedback`, as: 'alice' }), 400, 'empty_body');
    // The detail shows the viewer's own feedback only.
    const detail = json(await call({ url: `/v1/photos/${mine}`, as: 'alice' }));
    assert.equal(detail.feedback.length, 1);
    assert.equal(detail.feedback[0].owner, 'alice');
    const summary = json(await call({ url: '/v1/feedback/summary', as: 'alice' }));
    const model = summary.models.find((m: { model: string }) => m.model === 'mobilenetv2-12-int8');
    assert.deepEqual({ judged: model.judged, correct: model.correct }, { judged: 3, correct: 1 });
    assert.ok(Math.abs(model.accuracy - 1 / 3) < 1e-9);
    assert.ok(summary.categories.length >= 1);
    assert.equal(summary.categories.reduce((n: number, c: { judged: number }) => n + c.judged, 0), 3);
    // A concept outside the model's labels (any WordNet noun) is named too.
    const other = await call({ method: 'POST', url: `/v1/photos/${f.photos.bobPublic[0]}/feedback`, headers, payload: '{"correct":false,"wnid":"n09217230"}', as: 'alice' });
    assert.equal(json(other).feedback.name, 'beach');
    const named = json(await call({ url: `/v1/photos/${f.photos.bobPublic[0]}`, as: 'alice' })).feedback;
    // One judgement per caller and photo: alice's second answer replaced her first.
    assert.deepEqual(named.map((x: { name: string | null }) => x.name), ['beach']);
  });
});

describe('concepts, owners, compare', () => {
  test('categories and the category tree are counted over visible photos', async () => {
    const anon = json(await call({ url: '/v1/categories' })).categories;
    const bob = json(await call({ url: '/v1/categories', as: 'bob' })).categories;
    const dogs = (list: Array<{ id: string; count: number }>) => list.find((c) => c.id === 'dog')?.count ?? 0;
    assert.ok(dogs(anon) >= 4, JSON.stringify(anon));
    assert.ok(dogs(bob) > dogs(anon), 'bob’s private dogs count for bob only');
    // Nested categories (animal ⊃ mammal ⊃ dog) get different cover photos when they have several.
    const cover = (id: string) => anon.find((c: { id: string }) => c.id === id)?.thumbnail;
    const covers = ['animal', 'mammal', 'dog'].map(cover);
    assert.ok(covers.every(Boolean), JSON.stringify(anon));
    assert.equal(new Set(covers).size, 3, JSON.stringify(covers));
    const cat = anon.find((c: { id: string }) => c.id === 'dog');
    assert.match(cat.thumbnail, /^\/v1\/photos\/\d+\/thumbnail\?size=256$/);
    const aliceOnly = json(await call({ url: '/v1/categories?owner=alice' })).categories;
    assert.ok(dogs(aliceOnly) >= 4);
    const tree = json(await call({ url: '/v1/categories/tree' }));
    assert.equal(tree.wnid, 'n00001740');
    assert.ok(tree.children.length > 0);
    const treeAlice = json(await call({ url: '/v1/categories/tree?owner=alice', as: 'alice' }));
    assert.ok(treeAlice.count > json(await call({ url: '/v1/categories/tree?owner=alice' })).count);
    expectError(await call({ url: '/v1/categories?owner=nobody' }), 404, 'unknown_owner');
  });

  test('synsets: detail with visible children, unknown 404, search-as-you-type', async () => {
    const dog = json(await call({ url: '/v1/synsets/n02084071' }));
    assert.equal(dog.name, 'dog');
    assert.deepEqual(dog.lemmas.slice(0, 3), ['dog', 'domestic dog', 'Canis familiaris']);
    assert.equal(dog.path[dog.path.length - 1].wnid, 'n00001740');
    assert.ok(dog.count >= 4);
    assert.ok(dog.children.length > 0 && dog.children.every((c: { count: number }) => c.count > 0));
    const find = (n: any, w: string): any => (n.wnid === w ? n : n.children.map((c: any) => find(c, w)).find(Boolean));
    const tree = json(await call({ url: '/v1/categories/tree' }));
    assert.equal(find(tree, 'n02084071')?.count, dog.count, 'synset page and tree count alike');
    expectError(await call({ url: '/v1/synsets/n99999999' }), 404, 'unknown_synset');
    expectError(await call({ url: '/v1/synsets/dog' }), 404, 'unknown_synset');
    const q = json(await call({ url: '/v1/synsets?q=golden&limit=5' }));
    assert.ok(q.synsets.length > 0 && q.synsets.length <= 5);
    assert.ok(q.synsets.some((s: { wnid: string }) => s.wnid === 'n02099601'), 'golden retriever');
    expectError(await call({ url: '/v1/synsets' }), 400, 'bad_request');
  });

  test('word search resolves through WordNet and stays scoped', async () => {
    const res = json(await call({ url: '/v1/search?q=puppy', as: 'alice' }));
    assert.ok(res.synsets.length > 0);
    assert.ok(res.photos.length > 0);
    const hidden = new Set(f.photos.bobPrivate);
    assert.ok(res.photos.every((p: { id: number }) => !hidden.has(p.id)));
    const bob = json(await call({ url: '/v1/search?q=dog', as: 'bob' }));
    assert.ok(bob.photos.some((p: { id: number }) => hidden.has(p.id)));
    expectError(await call({ url: '/v1/search' }), 400, 'bad_request');
  });

  test('owners, profiles and compare only count what the viewer may see', async () => {
    const anon = json(await call({ url: '/v1/owners' })).owners;
    const count = (list: Array<{ name: string; photos: number }>, name: string) => list.find((o) => o.name === name)?.photos;
    assert.equal(count(anon, 'alice'), f.photos.alicePublic.length);
    assert.equal(count(anon, 'carol'), undefined, 'owners without visible photos are not listed');
    assert.equal(count(json(await call({ url: '/v1/owners', as: 'alice' })).owners, 'alice'), f.photos.alicePublic.length + f.photos.alicePrivate.length);
    const profile = json(await call({ url: '/v1/owners/bob/profile', as: 'alice' }));
    assert.equal(profile.owner, 'bob');
    assert.ok(profile.photos >= f.photos.bobPublic.length && profile.photos < f.photos.bobPublic.length + f.photos.bobPrivate.length);
    const hidden = new Set(f.photos.bobPrivate);
    for (const c of profile.top_categories) for (const e of c.examples) assert.ok(!hidden.has(e.id));
    assert.ok(profile.profile.length > 0);
    const own = json(await call({ url: '/v1/owners/alice/profile', as: 'alice' }));
    assert.ok(own.top_categories.some((c: { id: string }) => c.id === 'dog' || c.id === 'animal'));
    expectError(await call({ url: '/v1/owners/nobody/profile' }), 404, 'unknown_owner');

    const cmp = json(await call({ url: '/v1/compare?a=alice&b=bob', as: 'alice' }));
    assert.equal(cmp.a, 'alice');
    assert.ok(cmp.b_photos < f.photos.bobPublic.length + f.photos.bobPrivate.length, 'bob’s private photos are not compared into');
    const animalSide = (w: string) => ['n00015388', 'n02084071', 'n01886756', 'n01861778', 'n02083346', 'n01471682', 'n01466257'].includes(w);
    assert.ok(cmp.a_more.slice(0, 5).some((s: { wnid: string }) => animalSide(s.wnid)), JSON.stringify(cmp.a_more.slice(0, 5)));
    assert.ok(!cmp.b_more.slice(0, 5).some((s: { wnid: string }) => animalSide(s.wnid)), JSON.stringify(cmp.b_more.slice(0, 5)));
    for (const s of cmp.a_more) assert.ok(s.a >= s.b);
    const asBob = json(await call({ url: '/v1/compare?a=alice&b=bob', as: 'bob' }));
    assert.ok(asBob.b_photos > cmp.b_photos);
    expectError(await call({ url: '/v1/compare?a=alice' }), 400, 'bad_request');
    expectError(await call({ url: '/v1/compare?a=alice&b=nobody' }), 404, 'unknown_owner');
  });
});
