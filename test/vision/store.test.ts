// The model store: cache -> mirrors (folders, URLs, zoo archives) -> canonical URL, sha256 verification,
// corrupted caches, import, and the errors a user sees when nothing works.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tar from 'tar';
import { modelsDir } from '../../src/config/paths.js';
import { DEFAULT_MODEL_ID, modelSpec } from '../../src/vision/manifest.js';
import { hashFile, importModel, listModels, ModelStoreError, resolveModel, verifyModels } from '../../src/vision/store.js';
import { modelMirror, tempHome } from '../support/env.js';

const spec = modelSpec(DEFAULT_MODEL_ID);
const unreachable = 'http://127.0.0.1:9';

/** An env with its own empty home and only the given mirror; canonical URLs point nowhere. */
function isolated(mirror: string): { env: NodeJS.ProcessEnv; home: string; cleanup: () => void } {
  const h = tempHome('pictograph-store-');
  return { ...h, env: { ...h.env, PICTOGRAPH_MODEL_MIRROR: mirror, PICTOGRAPH_MODEL_SOURCE_BASE: unreachable } };
}

describe('model store', () => {
  const homes: Array<() => void> = [];
  let server: Server;
  let baseUrl: string;
  /** What the HTTP mirror serves for each path (Buffer) or a status code. */
  const served = new Map<string, Buffer | { truncateTo: number; of: Buffer }>();

  before(async () => {
    server = createServer((req, res) => {
      const body = served.get(req.url ?? '');
      if (!body) return void res.writeHead(404).end();
      if (Buffer.isBuffer(body)) return void res.writeHead(200, { 'content-length': body.length }).end(body);
      res.writeHead(200, { 'content-length': body.of.length });
      res.write(body.of.subarray(0, body.truncateTo), () => res.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    homes.forEach((c) => c());
  });
  const home = (mirror: string) => {
    const h = isolated(mirror);
    homes.push(h.cleanup);
    return h;
  };

  test('resolves from a mirror folder into the cache, verified, then from the cache', async () => {
    const h = home(modelMirror);
    const m = await resolveModel(spec.id, { env: h.env });
    assert.equal(m.sha256, spec.sha256);
    assert.equal(m.path, join(modelsDir(h.env), spec.file));
    assert.equal((await hashFile(m.path)).sha256, spec.sha256);
    // Second time: the cache alone (the mirror is gone).
    const again = await resolveModel(spec.id, { env: { ...h.env, PICTOGRAPH_MODEL_MIRROR: '' } });
    assert.equal(again.path, m.path);
    assert.deepEqual(
      (await listModels({ env: h.env })).filter((r) => r.cached).map((r) => r.spec.id),
      [spec.id],
    );
  });

  test('resolves from a zoo .tar.gz in a mirror folder (member extracted and verified)', async () => {
    const shuffle = modelSpec('shufflenet-v2-12-qdq');
    const h = home('');
    const src = join(h.home, 'zoo-src');
    mkdirSync(join(src, 'shufflenet-v2-12-qdq'), { recursive: true });
    copyFileSync(join(modelMirror, shuffle.file), join(src, shuffle.archive!.member));
    const mirror = join(h.home, 'mirror');
    mkdirSync(mirror);
    await tar.c({ gzip: true, cwd: src, file: join(mirror, 'shufflenet-v2-12-qdq.tar.gz') }, ['shufflenet-v2-12-qdq']);
    const m = await resolveModel(shuffle.id, { env: { ...h.env, PICTOGRAPH_MODEL_MIRROR: mirror } });
    assert.equal(m.sha256, shuffle.sha256);
    assert.equal((await hashFile(m.path)).sha256, shuffle.sha256);
  });

  test('downloads from a URL mirror with progress; wrong or truncated bytes are refused', async () => {
    const bytes = readFileSync(join(modelMirror, spec.file));
    served.set(`/good/${spec.file}`, bytes);
    const h = home(`${baseUrl}/good/`);
    const seen: number[] = [];
    const m = await resolveModel(spec.id, { env: h.env, onProgress: (p) => seen.push(p.received) });
    assert.equal(m.sha256, spec.sha256);
    assert.equal(seen.at(-1), bytes.length);

    const wrong = Buffer.from(bytes);
    wrong[1000] ^= 0xff;
    served.set(`/wrong/${spec.file}`, wrong);
    served.set(`/cut/${spec.file}`, { truncateTo: 100_000, of: bytes });
    for (const path of ['wrong', 'cut']) {
      const bad = home(`${baseUrl}/${path}`);
      await assert.rejects(resolveModel(spec.id, { env: bad.env }), (err: unknown) => {
        assert.ok(err instanceof ModelStoreError);
        assert.match(err.message, path === 'wrong' ? /checksum mismatch/ : /truncated|terminated|aborted|socket/i);
        return true;
      });
      assert.deepEqual((await verifyModels({ env: bad.env })).find((r) => r.id === spec.id)?.status, 'missing', 'nothing half-written stays');
    }
  });

  test('with no mirror and no network, a clear error names the model, every place looked and the fix', async () => {
    const h = home('');
    await assert.rejects(resolveModel(spec.id, { env: h.env }), (err: unknown) => {
      assert.ok(err instanceof ModelStoreError);
      assert.equal(err.code, 'unavailable');
      assert.match(err.message, new RegExp(`model "${spec.id}"`));
      assert.ok(err.message.includes(join(modelsDir(h.env), spec.file)), 'names the cache path');
      assert.ok(err.message.includes(`${unreachable}/validated/vision/classification/mobilenet/model/${spec.file}`), 'names the URL');
      assert.match(err.message, /PICTOGRAPH_MODEL_MIRROR=/);
      assert.match(err.message, /pictograph models import FILE/);
      assert.equal(err.attempts.length, 3);
      return true;
    });
  });

  test('verifyModels detects a corrupted cached model, and resolving replaces it', async () => {
    const h = home(modelMirror);
    const m = await resolveModel(spec.id, { env: h.env });
    const bytes = readFileSync(m.path);
    bytes[bytes.length - 10] ^= 0x55;
    writeFileSync(m.path, bytes);
    const row = (await verifyModels({ env: h.env })).find((r) => r.id === spec.id)!;
    assert.equal(row.status, 'corrupt');
    assert.match(row.detail!, /checksum mismatch/);
    const fixed = await resolveModel(spec.id, { env: h.env });
    assert.equal((await hashFile(fixed.path)).sha256, spec.sha256);
    assert.equal((await verifyModels({ env: h.env })).find((r) => r.id === spec.id)!.status, 'ok');
  });

  test('import copies a verified file in, and refuses unknown or damaged files', async () => {
    const h = home('');
    const m = await importModel(join(modelMirror, spec.file), { env: h.env });
    assert.equal(m.spec.id, spec.id);
    assert.equal((await verifyModels({ env: h.env })).find((r) => r.id === spec.id)!.status, 'ok');
    const junk = join(h.home, 'junk.onnx');
    writeFileSync(junk, 'not a model');
    await assert.rejects(importModel(junk, { env: h.env }), /matches no known model/);
    await assert.rejects(importModel(junk, { env: h.env, id: spec.id }), /checksum mismatch/);
  });

  test('a model without a published checksum is refused unless explicitly allowed', async () => {
    const h = home('');
    await assert.rejects(resolveModel('resnet50-v1-12', { env: h.env }), (err: unknown) => {
      assert.ok(err instanceof ModelStoreError);
      assert.equal(err.code, 'unverified');
      assert.match(err.message, /--allow-unverified/);
      return true;
    });
    await assert.rejects(resolveModel('no-such-model', { env: h.env }), /unknown model "no-such-model"/);
  });
});
