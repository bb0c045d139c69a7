// The nginx file in deploy/ with two real model servers: round-robin, a draining or busy (429) server's requests go
// to the other, and a rollout under load (drain, finish, load, ready, next) loses no request.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createModelServer, defaultModelLoader, type ModelHost } from '../../src/server/model-server.js';
import { rollout } from '../../src/server/rollout.js';
import { calibImages, tempHome } from '../support/env.js';
import { NGINX, freePort, startNginx, type RunningNginx } from '../support/nginx.js';

const photos = readdirSync(calibImages).sort().slice(0, 8).map((f) => readFileSync(join(calibImages, f)));

describe('nginx in front of model servers', { skip: NGINX ? false : 'nginx is not installed' }, () => {
  const h = tempHome('pictograph-nginx-');
  const servers: Array<{ app: FastifyInstance; host: ModelHost; url: string }> = [];
  let nginx: RunningNginx;

  before(async () => {
    for (let i = 0; i < 2; i++) {
      const { app, host } = await createModelServer({ env: h.env, load: defaultModelLoader(h.env) });
      const url = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
      for (let j = 0; j < 600 && host.state === 'loading'; j++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(host.state, 'ready', host.lastError ?? '');
      servers.push({ app, host, url });
    }
    nginx = await startNginx(servers.map((s) => new URL(s.url).host), await freePort());
  });
  after(async () => {
    await nginx?.stop();
    for (const s of servers) await s.app.close();
    h.cleanup();
  });

  const classify = async (bytes: Buffer) => {
    const r = await fetch(`${nginx.url}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: bytes });
    const body = (await r.json()) as { model?: { id: string } };
    return { status: r.status, by: r.headers.get('x-served-by') ?? '', model: body.model?.id ?? '' };
  };

  it('balances round-robin, and sends a draining server\'s share to the other', async () => {
    const seen: string[] = [];
    for (const p of photos) seen.push((await classify(p)).by);
    const counts = [...new Set(seen)].map((s) => seen.filter((x) => x === s).length);
    assert.deepEqual(counts, [4, 4], seen.join(' '));

    assert.equal((await fetch(`${servers[0]!.url}/admin/drain`, { method: 'POST' })).status, 200);
    const drained = await Promise.all(photos.map(classify));
    assert.deepEqual(drained.map((r) => r.status), photos.map(() => 200));
    assert.equal(new Set(drained.map((r) => r.by)).size, 1);
    await fetch(`${servers[0]!.url}/admin/resume`, { method: 'POST' });
    assert.equal(new Set((await Promise.all(photos.map(classify))).map((r) => r.by)).size, 2);
  });

  it('sends a busy server\'s requests (429) to the other; when both are busy the client gets the 429 and its Retry-After', async () => {
    const hold = async (i: number) => servers[i]!.host.admission.bytes.acquire(servers[i]!.host.admission.bytes.capacity);
    const release0 = await hold(0);
    try {
      const busy = await Promise.all(photos.slice(0, 4).map(classify));
      assert.deepEqual(busy.map((r) => r.status), [200, 200, 200, 200]);
      assert.equal(new Set(busy.map((r) => r.by)).size, 1, 'all answered by the server with room');
      const release1 = await hold(1);
      try {
        const r = await fetch(`${nginx.url}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: photos[0]! });
        assert.equal(r.status, 429);
        assert.equal(r.headers.get('retry-after'), '1');
        assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'overloaded');
      } finally {
        release1();
      }
    } finally {
      release0();
    }
    assert.equal(new Set((await Promise.all(photos.map(classify))).map((r) => r.by)).size, 2);
  });

  it('loses no request during a rollout under load', async () => {
    let stop = false;
    const results: Array<{ status: number; model: string }> = [];
    const client = async (k: number) => {
      for (let i = k; !stop; i++) results.push(await classify(photos[i % photos.length]!));
    };
    const clients = Array.from({ length: 4 }, (_, k) => client(k));
    await new Promise((r) => setTimeout(r, 500));
    const r = await rollout({ servers: servers.map((s) => s.url), model: 'shufflenet-v2-12-qdq' });
    await new Promise((res) => setTimeout(res, 500));
    stop = true;
    await Promise.all(clients);
    assert.equal(r.ok, true, r.error);
    assert.deepEqual(results.filter((x) => x.status !== 200), []);
    assert.equal(results.at(-1)!.model, 'shufflenet-v2-12-qdq');
    assert.ok(results.some((x) => x.model === 'mobilenetv2-12-int8'));
  });
});
