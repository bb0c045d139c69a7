// Model servers (`serve --role model`) with the real models: answers identical to the in-process recognizer,
// /readyz naming model id + sha256, draining (503 on /readyz and to new work while work in flight finishes),
// rollouts: one server at a time, aborted and rolled back when a model fails to load; and admission by work
// (429 + Retry-After past its limits, which the library's client waits out).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { loadRecognizer, type LoadedRecognizer } from '../../src/library/recognizer.js';
import { remoteRecognizer, retryAfterMs } from '../../src/library/remote-recognizer.js';
import { createModelServer, defaultModelLoader, type ModelHost } from '../../src/server/model-server.js';
import { rollout, serverStatus } from '../../src/server/rollout.js';
import { calibImages, photosDir, repoRoot, tempHome } from '../support/env.js';
import type { AdmissionConfig } from '../../src/server/admission.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { openLibrary } from '../../src/library/db.js';
import { ensureOwner } from '../../src/library/store.js';
import { createToken } from '../../src/library/tokens.js';
import { createServer } from '../../src/server/app.js';
import { multipart } from './images.js';

const exec = promisify(execFile);
const photos = readdirSync(calibImages).sort().slice(0, 4).map((f) => readFileSync(join(calibImages, f)));

async function startModelServer(env: NodeJS.ProcessEnv, opts: { batch?: { maxWaitMs?: number; maxBatch?: number }; refuse?: string; admission?: Partial<AdmissionConfig>; maxImageBytes?: number } = {}) {
  const load = defaultModelLoader(env);
  const { app, host } = await createModelServer({
    env,
    batch: opts.batch,
    admission: opts.admission,
    maxImageBytes: opts.maxImageBytes,
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
      // Every model server busy: the person classifying hears so at once (429 + Retry-After), not after a minute.
      const hold = await a.host.admission.bytes.acquire(a.host.admission.bytes.capacity);
      try {
        const t0 = performance.now();
        const busy = await app.inject({ method: 'POST', url: '/v1/classify?top=3', headers: { 'content-type': 'image/jpeg' }, payload: photos[1]! });
        assert.equal(busy.statusCode, 429, busy.body);
        assert.equal(busy.headers['retry-after'], '1');
        assert.equal(busy.json().error.code, 'overloaded');
        assert.ok(performance.now() - t0 < 5000, `answered after ${(performance.now() - t0).toFixed(0)} ms`);
      } finally {
        hold();
      }
      const owner = await ensureOwner(lib.db, 'dee');
      const token = (await createToken(lib.db, { ownerId: owner })).token;
      const form = multipart([{ name: 'file', filename: 'x.jpg', type: 'image/jpeg', data: photos[2]! }]);
      const { pixels } = app.pictograph.admission;
      const before = pixels.stats.admitted;
      const up = await app.inject({ method: 'POST', url: '/v1/photos', headers: { authorization: `Bearer ${token}`, 'content-type': form.contentType }, payload: form.body });
      assert.equal(up.statusCode, 200, up.body);
      // The upload's own decode (its thumbnails) went through this server's pixel budget.
      assert.equal(pixels.stats.admitted, before + 1);
      assert.equal(pixels.stats.inUse, 0);
      const stored = await lib.db.selectFrom('analyses').select('model_id').execute();
      assert.deepEqual(stored.map((r) => r.model_id), ['shufflenet-v2-12-qdq']);
    } finally {
      await app.close();
      await lib.close();
    }
  });

  it('admits by work: past its limits 429 with Retry-After, none 5xx, nothing leaks; the client waits out a busy server', async () => {
    const camera = readFileSync(join(photosDir, 'forensics_christmas-table.jpg')); // 12 MP, 6 MB
    // Room for two camera photos' bodies and one camera photo's decode at a time; short waits.
    const s = await startModelServer(h.env, { admission: { maxBodyBytes: 2 * camera.length + 1000, maxDecodePixels: 13_000_000, maxWaitMs: 150 } });
    servers.push(s);
    const codes: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        const r = await post(`${s.url}/v1/analyze`, camera);
        codes.push(r.status);
        const body = (await r.json()) as { error?: { code: string } };
        if (r.status === 429) {
          assert.equal(body.error?.code, 'overloaded');
          assert.equal(r.headers.get('retry-after'), '1');
        }
      }),
    );
    assert.ok(codes.every((c) => c === 200 || c === 429), `statuses ${codes.join(' ')}`);
    assert.ok(codes.includes(200) && codes.includes(429), `some admitted, some refused: ${codes.join(' ')}`);
    const st = (await serverStatus(s.url)) as { admission: Record<'bytes' | 'pixels', { inUse: number; refused: number }> };
    assert.deepEqual([st.admission.bytes.inUse, st.admission.pixels.inUse], [0, 0], 'every reservation returned');
    assert.ok(st.admission.bytes.refused + st.admission.pixels.refused >= codes.filter((c) => c === 429).length);

    // A busy server (its body budget held for 2.5 s): the client waits as Retry-After says and gets its answer,
    // where three quick rounds (1.5 s) would have failed the photo.
    const remote = await remoteRecognizer({ urls: [s.url] });
    const hold = await s.host.admission.bytes.acquire(s.host.admission.bytes.capacity);
    const released = new Promise<void>((r) => setTimeout(() => (hold(), r()), 2500));
    const t0 = performance.now();
    const seen = await remote.recognize(photos[0]!);
    assert.ok(performance.now() - t0 >= 2000, `answered after ${(performance.now() - t0).toFixed(0)} ms, while the server was busy`);
    assert.deepEqual(seen.analysis, (await local.recognize(photos[0]!)).analysis);
    await released;
    // ... but not past the photo's deadline: then it fails with the servers' answer.
    const impatient = await remoteRecognizer({ urls: [s.url], timeoutMs: 1200 });
    const hold2 = await s.host.admission.bytes.acquire(s.host.admission.bytes.capacity);
    try {
      await assert.rejects(impatient.recognize(photos[0]!), (e: Error & { code?: string }) => e.code === 'model_unavailable' && /429 overloaded/.test(e.message));
    } finally {
      hold2();
    }
  });

  it('reads Retry-After as seconds or an HTTP date, 1 s when absent or unreadable, at most 30 s', () => {
    const now = Date.parse('2026-12-05T12:00:00Z');
    assert.deepEqual(
      [null, '', '2', '0', 'soon', '3600', 'Sat, 05 Dec 2026 12:00:05 GMT', 'Sat, 05 Dec 2026 11:00:00 GMT'].map((h) => retryAfterMs(h, now)),
      [1000, 1000, 2000, 0, 1000, 30_000, 5000, 0],
    );
  });

  it('streams bodies to temporary files it removes (and sweeps a dead process\'s at start); chunked bodies; 413 over the limit', async () => {
    // a body a killed model server left behind (its pid long gone)
    const tmp = join(h.home, 'media', 'tmp');
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'classify.99999999-abcdef.00112233.tmp'), 'left over');
    const s = await startModelServer(h.env, { maxImageBytes: 200_000 });
    servers.push(s);
    assert.deepEqual(readdirSync(tmp), [], 'the left-over was swept at start');
    const bytes = photos[1]!;
    assert.ok(bytes.length < 200_000);
    const whole = (await (await post(`${s.url}/v1/analyze`, bytes)).json()) as unknown;
    // a stream body: fetch sends it chunked (no Content-Length)
    const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000, 70_000), bytes.subarray(70_000)];
    const stream = new ReadableStream({ pull: (c) => (chunks.length ? c.enqueue(chunks.shift()!) : c.close()) });
    const chunked = await fetch(`${s.url}/v1/analyze`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: stream, duplex: 'half' } as RequestInit);
    assert.equal(chunked.status, 200);
    assert.deepEqual(await chunked.json(), whole);
    const big = readFileSync(join(photosDir, 'forensics_christmas-table.jpg'));
    for (const res of [await post(`${s.url}/v1/analyze`, big), await fetch(`${s.url}/v1/analyze`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: new Blob([big]).stream(), duplex: 'half' } as RequestInit)]) {
      assert.equal(res.status, 413);
      const text = await res.text();
      assert.equal((JSON.parse(text) as { error: { code: string } }).error?.code, 'payload_too_large', text);
    }
    assert.equal((await post(`${s.url}/v1/analyze`, bytes)).status, 200);
    assert.deepEqual(readdirSync(tmp), [], 'every received body removed once answered');
  });
});
