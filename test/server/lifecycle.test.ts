// Load shedding and shutdown: a full inference queue answers 429 with Retry-After (and the server keeps
// serving); closing the server lets requests in flight finish and refuses new connections.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { AddressInfo } from 'node:net';
import { createServer } from '../../src/server/app.js';
import type { Engine, Prediction } from '../../src/vision/engine.js';
import { openLibrary, type Library } from '../../src/library/db.js';
import { loadTaxonomy, type Taxonomy } from '../../src/taxonomy/analysis.js';
import { Engine as RealEngine } from '../../src/vision/engine.js';
import { ensureOwner } from '../../src/library/store.js';
import { createToken } from '../../src/library/tokens.js';
import { calibImages, tempHome } from '../support/env.js';
import { multipart } from './images.js';

const jpeg = readFileSync(`${calibImages}/n02085782_Japanese_spaniel.JPEG`);
const home = tempHome('pictograph-lifecycle-');
let lib: Library;
let engine: RealEngine;
let taxonomy: Taxonomy;
let token: string;

before(async () => {
  lib = await openLibrary({ env: { ...home.env, DATABASE_URL: '' } });
  engine = await RealEngine.load({ env: home.env });
  taxonomy = await loadTaxonomy({ modelId: engine.model.id, env: home.env });
  token = (await createToken(lib.db, { ownerId: await ensureOwner(lib.db, 'uploader') })).token;
});

after(async () => {
  await engine.close();
  await lib.close();
  home.cleanup();
});

/** An engine whose runs wait for `open()`; `started` resolves when the first run begins. */
function gatedEngine(real: RealEngine) {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const runs: number[] = [];
  const wrapper = {
    model: real.model,
    labels: real.labels,
    async run(tensors: Float32Array[]): Promise<Prediction[]> {
      runs.push(tensors.length);
      started();
      await gate;
      return real.run(tensors);
    },
    async close() {},
  } as unknown as Engine;
  return { engine: wrapper, open, running, runs };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setImmediate(r));
}

test('a full queue answers 429 with Retry-After, then the server recovers', async () => {
  const gated = gatedEngine(engine);
  const app = await createServer({
    db: lib.db,
    engine: gated.engine,
    taxonomy,
    env: home.env,
    config: { webRoot: null, batch: { maxQueue: 2, maxBatch: 1, maxWaitMs: 0 }, retryAfterSeconds: 2 },
  });
  try {
    const post = () => app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/jpeg' }, payload: jpeg });
    const first = post();
    await gated.running; // the first image is in the engine, held there
    const queued = [post(), post()];
    const batcher = app.pictograph.runtime.current().batcher;
    await until(() => batcher.stats.queueDepth === 2);
    const refused = await Promise.all([post(), post(), post()]);
    for (const res of refused) {
      assert.equal(res.statusCode, 429, res.body);
      assert.equal(JSON.parse(res.body).error.code, 'queue_full');
      assert.equal(res.headers['retry-after'], '2');
    }
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'health answers while saturated');
    const form = multipart([{ name: 'file', filename: 'dog.jpg', type: 'image/jpeg', data: jpeg }]);
    const upload = await app.inject({
      method: 'POST',
      url: '/v1/photos',
      headers: { 'content-type': form.contentType, authorization: `Bearer ${token}` },
      payload: form.body,
    });
    assert.equal(upload.statusCode, 429, upload.body);
    assert.equal(upload.headers['retry-after'], '2');
    assert.equal(await lib.db.selectFrom('photos').select('id').executeTakeFirst(), undefined, 'nothing half-stored');
    const metrics = await app.inject({ url: '/metrics' });
    assert.match(metrics.body, /pictograph_inference_queue_depth\{model="mobilenetv2-12-int8"\} 3/);
    assert.match(metrics.body, /pictograph_inference_queue_rejections_total\{model="mobilenetv2-12-int8"\} 4/);
    gated.open();
    for (const res of [await first, ...(await Promise.all(queued))]) assert.equal(res.statusCode, 200, res.body);
    assert.equal((await post()).statusCode, 200, 'accepts work again once drained');
    assert.ok(gated.runs.every((n) => n === 1));
  } finally {
    gated.open();
    await app.close();
  }
});

test('close() lets requests in flight finish and refuses new ones', async () => {
  const gated = gatedEngine(engine);
  const app = await createServer({ db: lib.db, engine: gated.engine, taxonomy, env: home.env, config: { webRoot: null } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const inFlight = fetch(`${base}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: jpeg });
  await gated.running;
  let closed = false;
  const closing = app.close().then(() => {
    closed = true;
  });
  await new Promise((r) => setImmediate(r));
  await assert.rejects(fetch(`${base}/healthz`), 'a new connection is refused while closing');
  assert.equal(closed, false, 'close waits for the request in flight');
  gated.open();
  const res = await inFlight;
  assert.equal(res.status, 200);
  const body = (await res.json()) as { concepts: Array<{ id: string }> };
  assert.equal(body.concepts[0]!.id, 'n02085782');
  await closing;
  assert.equal(closed, true);
});

test('serves the built web app with SPA fallback, and JSON 404s under /v1', async () => {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const web = join(home.home, 'web');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>Pictograph</title>');
  writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
  const app = await createServer({ db: lib.db, engine, taxonomy, env: home.env, config: { webRoot: web } });
  try {
    const index = await app.inject({ url: '/' });
    assert.equal(index.statusCode, 200);
    assert.match(index.body, /<title>Pictograph<\/title>/);
    const asset = await app.inject({ url: '/assets/app.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(asset.headers['content-type'] as string, /javascript/);
    const deep = await app.inject({ url: '/photos/12?x=1' });
    assert.equal(deep.statusCode, 200);
    assert.match(deep.headers['content-type'] as string, /text\/html/);
    assert.match(deep.body, /<title>Pictograph<\/title>/);
    const api = await app.inject({ url: '/v1/nope' });
    assert.equal(api.statusCode, 404);
    assert.equal(JSON.parse(api.body).error.code, 'not_found');
    assert.equal((await app.inject({ method: 'POST', url: '/somewhere' })).statusCode, 404);
  } finally {
    await app.close();
  }
});
