// Animations in the library and the API, on SQLite and PostgreSQL: an animation is a photo with a timeline
// (migration 0015_issue15_timeline), its keyframe thumbnails are on disk, its scenes' concepts put it on
// their Fathom pages and in search, identical content for another owner reuses the timeline, and the photo
// API returns the timeline with keyframe thumbnail URLs.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer } from '../../src/server/app.js';
import { mediaDir } from '../../src/config/paths.js';
import { hierarchyView } from '../../src/library/hierarchy-view.js';
import { ingestFiles } from '../../src/library/ingest.js';
import { listPhotos, photoDetail } from '../../src/library/photos.js';
import { loadRecognizer, type LoadedRecognizer } from '../../src/library/recognizer.js';
import { searchPhotos } from '../../src/library/search.js';
import { createToken } from '../../src/library/tokens.js';
import { ADMIN } from '../../src/library/viewer.js';
import { photosDir, tempHome } from '../support/env.js';
import { buildAnimation } from '../support/photo-animations.js';
import { backends } from './support.js';

describe('animations in the library', () => {
  let rec: LoadedRecognizer;
  const home = tempHome('pictograph-anim-');
  let file: string;

  before(async () => {
    rec = await loadRecognizer({ env: home.env });
    const built = await buildAnimation(
      [
        { photo: join(photosDir, 'faces_penguin.jpg'), delaysMs: [400, 400, 400] },
        { photo: join(photosDir, 'faces_mount-fuji.jpg'), delaysMs: [100, 100, 100, 100] },
        { photo: join(photosDir, 'faces_bass-guitar.jpg'), delaysMs: [2000] },
      ],
      'webp',
    );
    file = join(home.home, 'clip.webp');
    writeFileSync(file, built.bytes);
  });
  after(async () => {
    await rec.close();
    home.cleanup();
  });

  for (const backend of backends) {
    it(`is stored as a photo with a timeline, found on its scenes' pages and in search (${backend.name})`, async () => {
      const ctx = await backend.open();
      try {
        const db = ctx.lib.db;
        const tax = hierarchyView(rec.taxonomy.hierarchy);
        const first = await ingestFiles([file], { owner: 'ann', visibility: 'public', recognizer: rec, db, env: ctx.env });
        assert.equal(first.stored, 1, JSON.stringify(first.errors));
        const id = first.photoIds[0]!;
        const detail = await photoDetail(db, ADMIN, id, { taxonomy: tax });
        const t = detail.timeline;
        assert.ok(t, 'the animation has a timeline');
        assert.equal(detail.format, 'webp');
        assert.deepEqual(
          t.segments.map((s) => [s.start_ms, s.end_ms, s.labels[0]!.name]),
          [
            [0, 1200, 'king penguin'],
            [1200, 1600, 'volcano'],
            [1600, 3600, 'electric guitar'],
          ],
        );
        assert.equal(t.frames, 8);
        for (const k of t.keyframes) assert.ok(k.thumb && existsSync(join(mediaDir(ctx.env), k.thumb)), `keyframe ${k.frame} thumbnail on disk`);
        // every scene's concept finds the animation: Fathom category pages and word search
        for (const [wnid, words] of [
          ['n02056570', 'penguin'],
          ['n09472597', 'volcano'],
          ['n03272010', 'electric guitar'],
        ] as const) {
          const page = await listPhotos(db, ADMIN, { under: wnid, minScore: 0.2, taxonomy: tax });
          assert.ok(page.photos.some((p) => p.id === id), `on the ${wnid} page`);
          const found = await searchPhotos(db, ADMIN, words, { taxonomy: tax });
          assert.ok(found.photos.some((p) => p.id === id), `found by "${words}"`);
        }
        // the same file for another owner: analysis and timeline reused, not recomputed
        const second = await ingestFiles([file], { owner: 'bob', recognizer: rec, db, env: ctx.env });
        assert.equal(second.reused, 1);
        const copy = await photoDetail(db, ADMIN, second.photoIds[0]!);
        assert.deepEqual(copy.timeline, t);

        // the photo API: timeline with keyframe thumbnail URLs that serve WebP
        const app = await createServer({ db, engine: rec.engine, taxonomy: rec.taxonomy, env: ctx.env, config: { webRoot: null } });
        try {
          await app.ready();
          const admin = (await createToken(db, { ownerId: null, admin: true })).token;
          const res = await app.inject({ url: `/v1/photos/${id}`, headers: { authorization: `Bearer ${admin}` } });
          assert.equal(res.statusCode, 200);
          const body = res.json();
          assert.equal(body.timeline.segments.length, 3);
          assert.deepEqual(body.timeline.segments[1].tags, []);
          assert.equal(body.timeline.keyframes[0].thumbnail, `/v1/photos/${id}/keyframes/0`);
          const thumb = await app.inject({ url: body.timeline.keyframes[1].thumbnail, headers: { authorization: `Bearer ${admin}` } });
          assert.equal(thumb.statusCode, 200);
          assert.equal(thumb.headers['content-type'], 'image/webp');
          const missing = await app.inject({ url: `/v1/photos/${id}/keyframes/99`, headers: { authorization: `Bearer ${admin}` } });
          assert.equal(missing.statusCode, 404);
          // POST /v1/classify: an animation's timeline, nothing stored
          const { readFileSync } = await import('node:fs');
          const cls = await app.inject({ method: 'POST', url: '/v1/classify', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/octet-stream' }, payload: readFileSync(file) });
          assert.equal(cls.statusCode, 200, cls.body);
          assert.deepEqual(
            cls.json().timeline.segments.map((s: { start_ms: number }) => s.start_ms),
            [0, 1200, 1600],
          );
          // still photos have timeline null
          const still = await ingestFiles([join(photosDir, 'faces_puppy.jpg')], { owner: 'ann', recognizer: rec, db, env: ctx.env });
          const stillRes = await app.inject({ url: `/v1/photos/${still.photoIds[0]}`, headers: { authorization: `Bearer ${admin}` } });
          assert.equal(stillRes.json().timeline, null);
        } finally {
          await app.close();
        }
      } finally {
        await ctx.cleanup();
      }
    });
  }
});
