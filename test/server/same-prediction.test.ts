// One preprocessing path: the same file gives the same prediction through `classify` (classifyFiles + the CLI's
// record), `ingest` (what the library stores), an upload (POST /v1/photos) and POST /v1/classify. Real model,
// real photos (12-20 MP camera JPEGs, an EXIF-rotated one, a panorama, small ImageNet photos), real database.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { classificationRecord } from '../../src/cli/classify.js';
import { dropPgSchema, openLibrary, type Library } from '../../src/library/db.js';
import { ingestFiles } from '../../src/library/ingest.js';
import { recognizerFor } from '../../src/library/recognizer.js';
import { ensureOwner } from '../../src/library/store.js';
import { createToken } from '../../src/library/tokens.js';
import { createServer } from '../../src/server/app.js';
import { analyzePrediction, loadTaxonomy, type Taxonomy } from '../../src/taxonomy/analysis.js';
import { Engine } from '../../src/vision/engine.js';
import { classifyFiles } from '../../src/vision/pipeline.js';
import { calibImages, photosDir, tempHome } from '../support/env.js';
import { multipart } from './images.js';

// Files where the old tensor-only decode and the decode with thumbnails disagreed (shrink-on-load vs a
// full decode), and where `classify` and `ingest` gave different top-1 labels.
const FILES = [
  join(photosDir, 'forensics_christmas-table.jpg'), // 12 MP, 6 MB
  join(photosDir, 'zoph_pink-dahlia.jpg'), // 18 MP
  join(photosDir, 'forensics_white-dog-tiles.jpg'), // 12 MP, EXIF orientation 3
  join(photosDir, 'dlib_road-panorama.jpg'),
  join(photosDir, 'gcompris_bison.jpg'),
  join(photosDir, 'backstretch_coffee-grinder.jpg'),
  join(calibImages, 'n02085782_Japanese_spaniel.JPEG'),
];

interface Seen {
  labels: Array<{ wnid: string; score: number }>;
  hedged: { wnid: string; score: number } | null;
}

const TOLERANCE = 1e-6;

function assertSame(what: string, file: string, got: Seen, want: Seen): void {
  const name = `${basename(file)} via ${what}`;
  assert.deepEqual(
    got.labels.map((l) => l.wnid),
    want.labels.map((l) => l.wnid),
    `${name}: labels`,
  );
  got.labels.forEach((l, i) => assert.ok(Math.abs(l.score - want.labels[i]!.score) <= TOLERANCE, `${name}: ${l.wnid} ${l.score} vs ${want.labels[i]!.score}`));
  assert.equal(got.hedged?.wnid ?? null, want.hedged?.wnid ?? null, `${name}: hedged label`);
  if (got.hedged && want.hedged) assert.ok(Math.abs(got.hedged.score - want.hedged.score) <= TOLERANCE, `${name}: hedged score`);
}

describe('the same file gives the same prediction on every path', () => {
  let home: ReturnType<typeof tempHome>;
  let lib: Library;
  let engine: Engine;
  let taxonomy: Taxonomy;
  let app: FastifyInstance;
  let token: string;
  const pgUrl = process.env.PICTOGRAPH_TEST_DATABASE_URL;
  const pgSchema = pgUrl ? `same_prediction_${process.pid}_${Date.now()}` : undefined;
  /** The reference: `pictograph classify` (classifyFiles, in a batch with the other files). */
  const reference = new Map<string, Seen>();

  before(async () => {
    home = tempHome('pictograph-same-');
    lib = await openLibrary({ env: { ...home.env, DATABASE_URL: '' }, databaseUrl: pgUrl, pgSchema });
    engine = await Engine.load({ env: home.env });
    taxonomy = await loadTaxonomy({ modelId: engine.model.id, env: home.env });
    app = await createServer({ db: lib.db, engine, taxonomy, env: home.env, config: { webRoot: null } });
    await app.ready();
    token = (await createToken(lib.db, { ownerId: await ensureOwner(lib.db, 'uploader') })).token;
    for await (const item of classifyFiles(FILES, { engine })) {
      assert.ok('prediction' in item, `classify failed: ${JSON.stringify(item)}`);
      const record = classificationRecord(item.file, item.prediction, engine, 5, taxonomy);
      const analysis = analyzePrediction(item.prediction, { ...taxonomy, top: 5 });
      reference.set(item.file, { labels: analysis.labels, hedged: record.hedged });
    }
  });

  after(async () => {
    await app?.close();
    await engine?.close();
    await lib?.close();
    if (pgUrl && pgSchema) await dropPgSchema(pgUrl, pgSchema);
    home?.cleanup();
  });

  test('POST /v1/classify (raw body and multipart)', async () => {
    for (const file of FILES) {
      const bytes = readFileSync(file);
      const raw = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/jpeg' }, payload: bytes });
      assert.equal(raw.statusCode, 200, raw.body);
      const body = JSON.parse(raw.body);
      const seen = { labels: body.concepts.map((c: { id: string; value: number }) => ({ wnid: c.id, score: c.value })), hedged: body.hedged };
      assertSame('POST /v1/classify', file, seen, reference.get(file)!);
      const form = multipart([{ name: 'file', filename: basename(file), type: 'image/jpeg', data: bytes }]);
      const res = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': form.contentType }, payload: form.body });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(JSON.parse(res.body).concepts, body.concepts, 'multipart = raw body');
    }
  });

  const stored = async (photoId: number): Promise<Seen> => {
    const a = await lib.db.selectFrom('analyses').selectAll().where('photo_id', '=', photoId).executeTakeFirstOrThrow();
    return {
      labels: JSON.parse(a.labels),
      hedged: a.hedged_wnid === null ? null : { wnid: a.hedged_wnid, score: a.hedged_score ?? NaN },
    };
  };

  test('upload (POST /v1/photos): the response and the stored analysis', async () => {
    const form = multipart(FILES.map((file) => ({ name: 'file', filename: basename(file), type: 'image/jpeg', data: readFileSync(file) })));
    const res = await app.inject({ method: 'POST', url: '/v1/photos', headers: { 'content-type': form.contentType, authorization: `Bearer ${token}` }, payload: form.body });
    assert.equal(res.statusCode, 200, res.body);
    const results = JSON.parse(res.body).results as Array<{ file: string; photo: { id: number; labels: Seen['labels']; hedged: Seen['hedged'] } }>;
    assert.equal(results.length, FILES.length);
    for (const [i, file] of FILES.entries()) {
      const r = results[i]!;
      assert.ok(r.photo, JSON.stringify(r));
      assertSame('upload response', file, { labels: r.photo.labels, hedged: r.photo.hedged }, reference.get(file)!);
      assertSame('upload, stored', file, await stored(r.photo.id), reference.get(file)!);
    }
    // The camera photo's large thumbnail is a 1024 px JPEG; the small ImageNet photo's is its original.
    const auth = { authorization: `Bearer ${token}` };
    const large = await app.inject({ url: `/v1/photos/${results[0]!.photo.id}/thumbnail?size=1024`, headers: auth });
    assert.equal(large.headers['content-type'], 'image/jpeg');
    const m = await sharp(large.rawPayload).metadata();
    assert.equal(Math.max(m.width!, m.height!), 1024);
    const small = await app.inject({ url: `/v1/photos/${results.at(-1)!.photo.id}/thumbnail?size=1024`, headers: auth });
    assert.ok(small.rawPayload.equals(readFileSync(FILES.at(-1)!)), 'the original itself');
  });

  test('ingest (what the library stores), recognised afresh', async () => {
    const recognizer = recognizerFor(engine, taxonomy);
    try {
      // reuse: false, so the analyses stored by the upload test are not copied but recomputed.
      const summary = await ingestFiles(FILES, { owner: 'cli', recognizer, db: lib.db, env: home.env, reuse: false });
      assert.equal(summary.stored, FILES.length, JSON.stringify(summary.errors));
      const rows = await lib.db.selectFrom('photos').select(['id', 'original_path']).where('id', 'in', summary.photoIds).execute();
      for (const row of rows) assertSame('ingest', row.original_path, await stored(row.id), reference.get(row.original_path)!);
    } finally {
      await recognizer.batcher.drain();
    }
  });
});
