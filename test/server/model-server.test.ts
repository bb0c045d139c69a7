// Model servers (`serve --role model`) with the real models: answers identical to the in-process recognizer,
// /readyz naming model id + sha256, draining (503 on /readyz and to new work while work in flight finishes),
// and rollouts: one server at a time, aborted and rolled back when a model fails to load.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { loadRecognizer, type LoadedRecognizer } from '../../src/library/recognizer.js';
import { remoteRecognizer } from '../../src/library/remote-recognizer.js';
import { createModelServer, defaultModelLoader, type ModelHost } from '../../src/server/model-server.js';
import { rollout, serverStatus } from '../../src/server/rollout.js';
import { calibImages, repoRoot, tempHome } from '../support/env.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { openLibrary } from '../../src/library/db.js';
import { ensureOwner } from '../../src/library/store.js';
import { createToken } from '../../src/library/tokens.js';
import { createServer } from '../../src/server/app.js';
import { multipart } from './images.js';

const exec = promisify(execFile);
const photos = readdirSync(calibImages).sort().slice(0, 4).map((f) => readFileSync(join(calibImages, f)));

async function startModelServer(env: NodeJS.ProcessEnv, opts: { batch?: { maxWaitMs?: number; maxBatch?: number }; refuse?: string } = {}) {
  const load = defaultModelLoader(env);
  const { app, host } = await createModelServer({
    env,
    batch: opts.batch,
    load: async (id) => {
      if (id !== undefined && id === opts.refuse) throw new Error(`${id}: checksum mismatch (a broken file)`);
      return load(id);
    },
  });
  const url = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
  for (let i = 0; i < 600 && host.state === 'loading'; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(host.state, 'ready', host.lastError ?? '');
  return { app, host, url };
}

const post = (url: string, body: Buffer) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body });

describe('model server', () => {
  const h = tempHome('pictograph-model-server-');
  const servers: Array<{ app: FastifyInstance; host: ModelHost; url: string }> = [];
  let local: LoadedRecognizer;

  before(async () => {
    local = await loadRecognizer({ env: h.env });
  });
  after(async () => {
    for (const s of servers) await s.app.close();
    await local?.close();
    h.cleanup();
  });

  it('answers exactly what the in-process recognizer computes; /readyz names the model id and sha256', async () => {
    const s = await startModelServer(h.env);
    servers.push(s);
    const ready = await fetch(`${s.url}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { model: { id: string; sha256: string }; role: string };
    assert.deepEqual(body.model, local.model);
    assert.equal(body.role, 'model');
    const remote = await remoteRecognizer({ urls: [s.url] });
    assert.deepEqual(remote.model, local.model);
    for (const bytes of photos) {
      const a = await local.recognize(bytes);
      const b = await remote.recognize(bytes);
      assert.deepEqual(b.analysis, a.analysis);
      assert.deepEqual([b.width, b.height, b.format, b.thumbnails.map((t) => t.size)], [a.width, a.height, a.format, a.thumbnails.map((t) => t.size)]);
    }
    // A bad photo is the caller's error (4xx with the decoder's code), not a server failure.
    const bad = await post(`${s.url}/v1/analyze`, Buffer.from('not an image'));
    assert.ok(bad.status >= 400 && bad.status < 500, String(bad.status));
  });

  it('while draining, /readyz and new work answer 503 and the work in flight finishes', async () => {
    // Batches wait up to 1.5 s for companions, so the requests are surely in flight when the drain starts.
    const s = await startModelServer(h.env, { batch: { maxWaitMs: 1500, maxBatch: 64 } });
    servers.push(s);
    const inflight = photos.map((p) => post(`${s.url}/v1/classify`, p));
    for (let i = 0; i < 200 && s.host.inflight < photos.length; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.host.inflight, photos.length);
    assert.equal((await fetch(`${s.url}/admin/drain`, { method: 'POST' })).status, 200);
    const during = await fetch(`${s.url}/readyz`);
    assert.equal(during.status, 503);
    const st = (await during.json()) as { state: string; inflight: number; model: { id: string } };
    assert.equal(st.state, 'draining');
    assert.ok(st.inflight > 0, 'work still in flight while /readyz says 503');
    const refused = await post(`${s.url}/v1/classify`, photos[0]!);
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'draining');
    const done = await Promise.all(inflight);
    assert.deepEqual(done.map((r) => r.status), photos.map(() => 200));
    for (const r of done) assert.equal(((await r.json()) as { model: { id: string } }).model.id, st.model.id);
    const afterwards = (await serverStatus(s.url)) as { inflight: number; state: string };
    assert.deepEqual([afterwards.state, afterwards.inflight], ['draining', 0]);
    assert.equal((await fetch(`${s.url}/admin/resume`, { method: 'POST' })).status, 200);
    assert.equal((await fetch(`${s.url}/readyz`)).status, 200);
  });

  it('rolls a model onto servers one at a time, and aborts (keeping the old model) when it fails to load', async () => {
    const a = await startModelServer(h.env);
    const b = await startModelServer(h.env, { refuse: 'shufflenet-v2-12-qdq' });
    servers.push(a, b);
    const old = a.host.model()!;

    // An unknown model fails on the first server: it keeps serving the old one; the second is never touched.
    const unknown = await rollout({ servers: [a.url, b.url], model: 'no-such-model' });
    assert.equal(unknown.ok, false);
    assert.equal(unknown.steps.length, 1);
    assert.match(unknown.error ?? '', /no-such-model/);
    for (const s of [a, b]) {
      const st = await serverStatus(s.url);
      assert.equal(st.ready, true);
      assert.deepEqual(st.model, old);
    }

    // The same through the command line: exit code 1, the reason in the JSON result.
    const cli = await exec(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), 'rollout', '--model', 'no-such-model', '--servers', `${a.url},${b.url}`, '--json'], { cwd: repoRoot, env: h.env }).then(
      () => ({ code: 0, out: '' }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    assert.equal(cli.code, 1);
    const parsed = JSON.parse(cli.out) as { ok: boolean; steps: Array<{ ok: boolean; from: string }> };
    assert.deepEqual([parsed.ok, parsed.steps.length, parsed.steps[0]!.from], [false, 1, old.id]);
    assert.deepEqual((await serverStatus(a.url)).model, old);

    // The first server takes the new model, the second cannot load it: the first is rolled back.
    const partial = await rollout({ servers: [a.url, b.url], model: 'shufflenet-v2-12-qdq' });
    assert.equal(partial.ok, false);
    assert.deepEqual(partial.steps.map((s) => s.ok), [true, false]);
    assert.deepEqual(partial.rolledBack.map((s) => [s.server, s.to, s.ok]), [[a.url, old.id, true]]);
    for (const s of [a, b]) assert.deepEqual((await serverStatus(s.url)).model, old);
    const answer = await post(`${a.url}/v1/classify`, photos[0]!);
    assert.equal(((await answer.json()) as { model: { id: string } }).model.id, old.id);

    // A good rollout moves every server.
    const good = await rollout({ servers: [a.url], model: 'shufflenet-v2-12-qdq' });
    assert.equal(good.ok, true, good.error);
    const st = await serverStatus(a.url);
    assert.equal(st.model?.id, 'shufflenet-v2-12-qdq');
    const after = await post(`${a.url}/v1/classify`, photos[0]!);
    assert.equal(((await after.json()) as { model: { id: string } }).model.id, 'shufflenet-v2-12-qdq');
  });

  it('a library server with model servers classifies and ingests uploads through them', async () => {
    // The rollout above left this server on shufflenet; the library server's own model is mobilenet.
    const a = servers.find((s) => s.host.model()?.id === 'shufflenet-v2-12-qdq')!;
    assert.ok(a);
    const env = { ...h.env, DATABASE_URL: '' };
    const lib = await openLibrary({ env });
    const app = await createServer({ db: lib.db, engine: local.engine, taxonomy: local.taxonomy, env, config: { webRoot: null }, modelServers: await remoteRecognizer({ urls: [a.url] }) });
    try {
      const res = await app.inject({ method: 'POST', url: '/v1/classify?top=3', headers: { 'content-type': 'image/jpeg' }, payload: photos[1]! });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { model: { id: string }; concepts: unknown[] };
      assert.equal(body.model.id, 'shufflenet-v2-12-qdq');
      assert.equal(body.concepts.length, 3);
      const direct = await (await post(`${a.url}/v1/classify?top=3`, photos[1]!)).json();
      assert.deepEqual(body, direct);
      const owner = await ensureOwner(lib.db, 'dee');
      const token = (await createToken(lib.db, { ownerId: owner })).token;
      const form = multipart([{ name: 'file', filename: 'x.jpg', type: 'image/jpeg', data: photos[2]! }]);
      const up = await app.inject({ method: 'POST', url: '/v1/photos', headers: { authorization: `Bearer ${token}`, 'content-type': form.contentType }, payload: form.body });
      assert.equal(up.statusCode, 200, up.body);
      const stored = await lib.db.selectFrom('analyses').select('model_id').execute();
      assert.deepEqual(stored.map((r) => r.model_id), ['shufflenet-v2-12-qdq']);
    } finally {
      await app.close();
      await lib.close();
    }
  });
});
