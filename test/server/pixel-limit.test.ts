// The decoded-pixel limit is the server's to configure (`serve --max-image-mp`): an image over it is refused from
// its header with 422 `too_many_pixels`, one under it is classified.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { openLibrary, type Library } from '../../src/library/db.js';
import { createServer } from '../../src/server/app.js';
import { loadTaxonomy } from '../../src/taxonomy/analysis.js';
import { Engine } from '../../src/vision/engine.js';
import { tempHome } from '../support/env.js';

const home = tempHome('pictograph-pixels-');
let lib: Library;
let engine: Engine;
let app: FastifyInstance;

before(async () => {
  lib = await openLibrary({ env: { ...home.env, DATABASE_URL: '' } });
  engine = await Engine.load({ env: home.env });
  const taxonomy = await loadTaxonomy({ modelId: engine.model.id, env: home.env });
  app = await createServer({ db: lib.db, engine, taxonomy, env: home.env, config: { webRoot: null, maxImagePixels: 1_000_000 } });
  await app.ready();
});

after(async () => {
  await app.close();
  await engine.close();
  await lib.close();
  home.cleanup();
});

const jpeg = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: { r: 90, g: 140, b: 60 } } }).jpeg().toBuffer();

test('an image over the configured pixel limit gets 422 too_many_pixels; one under it is classified', async () => {
  const big = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/jpeg' }, payload: await jpeg(1200, 1000) });
  assert.equal(big.statusCode, 422, big.body);
  assert.equal(JSON.parse(big.body).error.code, 'too_many_pixels');
  assert.match(JSON.parse(big.body).error.message, /1000000/);
  const small = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/jpeg' }, payload: await jpeg(1000, 900) });
  assert.equal(small.statusCode, 200, small.body);
  const spec = JSON.parse((await app.inject({ url: '/openapi.json' })).body);
  assert.match(spec.info.description, /1 megapixels per image/);
});
