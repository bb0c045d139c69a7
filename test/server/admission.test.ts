// Admission by work: the budgets themselves (first come first served, bounded wait, 429 with Retry-After, no
// leaks), and the real server under more concurrent classifications and uploads than its budgets allow.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { connect } from 'node:net';
import { OverloadedError, RefusedDrain, WorkBudget } from '../../src/server/admission.js';
import { createServer } from '../../src/server/app.js';
import { openLibrary, type Library } from '../../src/library/db.js';
import { ensureOwner } from '../../src/library/store.js';
import { createToken } from '../../src/library/tokens.js';
import { loadTaxonomy } from '../../src/taxonomy/analysis.js';
import { Engine } from '../../src/vision/engine.js';
import { calibImages, photosDir, tempHome } from '../support/env.js';
import { multipart } from './images.js';

describe('WorkBudget', () => {
  test('grants in arrival order, refuses after the wait with 429 + Retry-After, never leaks', async () => {
    const b = new WorkBudget('bytes', 'bytes of image bodies', 100, 30, 2);
    const r1 = await b.acquire(60);
    const order: string[] = [];
    const second = b.acquire(50).then((r) => (order.push('second'), r));
    const third = b.acquire(10).then((r) => (order.push('third'), r)); // fits, but waits its turn
    assert.equal(b.stats.waiting, 2);
    r1();
    r1(); // releasing twice gives back once
    const [r2, r3] = await Promise.all([second, third]);
    assert.deepEqual(order, ['second', 'third']);
    assert.equal(b.stats.inUse, 60);
    // Full for longer than the wait: refused.
    const big = b.acquire(100);
    await assert.rejects(big, (err: unknown) => {
      assert.ok(err instanceof OverloadedError);
      assert.equal(err.statusCode, 429);
      assert.equal(err.code, 'overloaded');
      assert.equal(err.headers['retry-after'], '2');
      return true;
    });
    r2();
    r3();
    assert.deepEqual({ inUse: b.stats.inUse, waiting: b.stats.waiting, refused: b.stats.refused }, { inUse: 0, waiting: 0, refused: 1 });
    // More than the whole budget runs alone rather than never.
    const alone = await b.acquire(1e9);
    assert.equal(b.stats.inUse, 100);
    alone();
  });

  test('a refused head of the line lets smaller requests behind it through', async () => {
    const b = new WorkBudget('pixels', 'decoded pixels', 100, 20, 1);
    const held = await b.acquire(50);
    const blocked = b.acquire(100, 10).catch((e: unknown) => e);
    const small = b.acquire(40, 1000);
    assert.ok((await blocked) instanceof OverloadedError);
    (await small)();
    held();
    assert.equal(b.stats.inUse, 0);
  });
});

describe('RefusedDrain', () => {
  test('readers that pause as told never read faster, all together, than the pace (plus its burst)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ reader: fc.nat(7), bytes: fc.integer({ min: 1, max: 256 * 1024 }), gap: fc.integer({ min: 0, max: 50 }) }), { minLength: 1, maxLength: 300 }),
        (chunks) => {
          const rate = 1024 * 1024;
          const pace = new RefusedDrain(rate, 250);
          // each reader reads its next chunk once its pause is over; time only moves forward
          const free = new Array<number>(8).fill(0);
          let now = 0;
          let read = 0;
          for (const c of chunks) {
            now = Math.max(now + c.gap, free[c.reader]!);
            read += c.bytes;
            free[c.reader] = now + pace.take(c.bytes, now);
            // what was read by now is at most the pace's share of the time so far, the burst and one chunk
            // (each reader reads one chunk before it is told to pause)
            assert.ok(read <= (rate * (now + 250)) / 1000 + 8 * 256 * 1024, `${read} bytes by ${now} ms`);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a small refused body is never held', () => {
    const pace = new RefusedDrain(16 * 1024 * 1024);
    assert.equal(pace.take(64 * 1024, 1000), 0);
    assert.equal(pace.take(64 * 1024, 1000), 0);
  });
});

describe('the server under more work than its budgets', () => {
  let home: ReturnType<typeof tempHome>;
  let lib: Library;
  let engine: Engine;
  let app: FastifyInstance;
  let token: string;
  const camera = readFileSync(join(photosDir, 'forensics_christmas-table.jpg')); // 12 MP, 6 MB
  const small = readFileSync(join(calibImages, 'n02085782_Japanese_spaniel.JPEG'));

  before(async () => {
    home = tempHome('pictograph-admission-');
    lib = await openLibrary({ env: { ...home.env, DATABASE_URL: '' } });
    engine = await Engine.load({ env: home.env });
    const taxonomy = await loadTaxonomy({ modelId: engine.model.id, env: home.env });
    // Room for two camera photos' bodies and one camera photo's decode at a time; short waits.
    app = await createServer({
      db: lib.db,
      engine,
      taxonomy,
      env: home.env,
      // (refused bodies read at 2 MiB/s, all together)
      config: { webRoot: null, admission: { maxBodyBytes: 2 * camera.length + 1000, maxDecodePixels: 13_000_000, maxWaitMs: 150, maxUploadDecodeWaitMs: 60_000, refusedDrainBytesPerSecond: 2 * 1024 * 1024, collectEveryBodyBytes: 8 * 1024 * 1024 } },
    });
    await app.ready();
    token = (await createToken(lib.db, { ownerId: await ensureOwner(lib.db, 'alice') })).token;
  });

  after(async () => {
    await app?.close();
    await engine?.close();
    await lib?.close();
    home?.cleanup();
  });

  // first: the refused bodies of the tests after it are read at the same shared pace, and would come before its own
  test('a client that sends its body blind gets its 429 at once; the body is read at the refused pace, and the connection serves on', async () => {
    if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const { bytes } = app.pictograph.admission;
    const hold = await bytes.acquire(bytes.capacity);
    const socket = connect(port, '127.0.0.1');
    const t0 = performance.now();
    let text = '';
    let answeredAt = 0;
    let sentAt = 0;
    let secondAt = 0;
    const responses = new Promise<void>((resolve, reject) => {
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (!answeredAt && text.includes('\r\n\r\n')) answeredAt = performance.now() - t0;
        if ((text.match(/HTTP\/1\.1 /g) ?? []).length === 2 && /\}\s*$/.test(text)) {
          secondAt = performance.now() - t0;
          resolve();
        }
      });
      socket.on('error', (e) => reject(new Error(`${e.message} after ${(performance.now() - t0).toFixed(0)} ms, having read: ${text.slice(0, 300)}`)));
    });
    const head = (n: number) => `POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: ${n}\r\n\r\n`;
    socket.write(head(camera.length));
    socket.write(camera, () => {
      sentAt = performance.now() - t0;
      hold();
      // the same connection, once the refused body is read: the next request is admitted
      socket.write(head(small.length));
      socket.write(small);
    });
    await responses;
    socket.destroy();
    assert.match(text, /^HTTP\/1\.1 429 /);
    assert.match(text, /retry-after: 1/i);
    const second = text.slice(text.indexOf('HTTP/1.1 ', 1));
    assert.match(second, /^HTTP\/1\.1 200 /);
    // The answer came before the body was through. The next request is read only after the whole refused body,
    // which takes at least (6 MB - the 0.5 MB burst) / 2 MiB/s (the kernel's buffers let the client's writes finish
    // sooner: what it sent is not yet what the server read).
    assert.ok(answeredAt < sentAt, `answered at ${answeredAt.toFixed(0)} ms, body sent at ${sentAt.toFixed(0)} ms`);
    assert.ok(secondAt >= 2000, `the refused body was read in ${secondAt.toFixed(0)} ms, faster than its pace`);
    assert.equal(bytes.stats.inUse, 0);
  });

  test('16 concurrent camera photos: each answered 200 or 429 (overloaded, Retry-After), none 5xx, nothing leaks', async () => {
    const results = await Promise.all(
      Array.from({ length: 16 }, () => app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/jpeg' }, payload: camera })),
    );
    const codes = results.map((r) => r.statusCode);
    assert.ok(codes.every((c) => c === 200 || c === 429), `statuses ${codes.join(' ')}`);
    assert.ok(codes.includes(200) && codes.includes(429), `some admitted, some refused: ${codes.join(' ')}`);
    for (const r of results.filter((x) => x.statusCode === 429)) {
      assert.equal(JSON.parse(r.body).error.code, 'overloaded');
      assert.equal(r.headers['retry-after'], '1');
    }
    const { admission } = app.pictograph;
    assert.equal(admission.bytes.stats.inUse, 0, 'every body reservation returned');
    assert.equal(admission.pixels.stats.inUse, 0, 'every decode reservation returned');
    assert.ok(admission.bytes.stats.refused + admission.pixels.stats.refused >= codes.filter((c) => c === 429).length);
    const metrics = await app.inject({ url: '/metrics' });
    assert.match(metrics.body, /pictograph_admission_rejections_total\{budget="(bytes|pixels)"\} [1-9]/);
    // Once the burst is over, the next request is admitted at once.
    const next = await app.inject({ method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/jpeg' }, payload: small });
    assert.equal(next.statusCode, 200);
  });

  test('Expect: 100-continue: a refused client never sends its body; an admitted one gets the go-ahead', async () => {
    if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    // One exchange: headers first, the body only on 100 Continue.
    const post = () =>
      new Promise<{ status: number; continued: boolean; connection?: string; retryAfter?: string; body: string }>((resolve, reject) => {
        let continued = false;
        const req = request({ host: '127.0.0.1', port, path: '/v1/classify', method: 'POST', headers: { 'content-type': 'image/jpeg', 'content-length': camera.length, expect: '100-continue' } });
        req.on('continue', () => {
          continued = true;
          req.end(camera);
        });
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (!req.writableEnded) req.destroy();
            resolve({ status: res.statusCode!, continued, connection: res.headers.connection, retryAfter: res.headers['retry-after'] as string | undefined, body: Buffer.concat(chunks).toString() });
          });
        });
        req.on('error', reject);
        req.flushHeaders();
      });
    const { bytes } = app.pictograph.admission;
    const hold = await bytes.acquire(bytes.capacity); // the body budget is full for longer than a request may wait
    const refused = await post();
    hold();
    assert.equal(refused.status, 429);
    assert.equal(refused.continued, false, 'no go-ahead, so no body was sent');
    assert.equal(refused.connection, 'close');
    assert.equal(refused.retryAfter, '1');
    assert.equal(JSON.parse(refused.body).error.code, 'overloaded');
    const admitted = await post();
    assert.equal(admitted.status, 200, admitted.body);
    assert.equal(admitted.continued, true);
    assert.ok(JSON.parse(admitted.body).concepts.length > 0);
    assert.equal(bytes.stats.inUse, 0);
    // The body streamed to a temporary file, removed once answered.
    assert.deepEqual(readdirSync(join(app.pictograph.mediaDir, 'tmp')), []);
    // A client that leaves while waiting for room: once granted, its reservation comes straight back.
    const hold2 = await bytes.acquire(bytes.capacity);
    const leaving = request({ host: '127.0.0.1', port, path: '/v1/classify', method: 'POST', headers: { 'content-type': 'image/jpeg', 'content-length': camera.length, expect: '100-continue' } });
    leaving.on('error', () => undefined);
    leaving.flushHeaders();
    await new Promise((r) => setTimeout(r, 40));
    leaving.destroy();
    await new Promise((r) => setTimeout(r, 40));
    hold2();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(bytes.stats.inUse, 0, 'nothing held for a client that is gone');
  });

  test('an upload of several camera photos waits for decoding room instead of failing its files', async () => {
    const form = multipart([0, 1, 2].map((i) => ({ name: 'file', filename: `p${i}.jpg`, type: 'image/jpeg', data: i === 0 ? camera : i === 1 ? small : Buffer.concat([camera, Buffer.from([i])]) })));
    const res = await app.inject({ method: 'POST', url: '/v1/photos', headers: { 'content-type': form.contentType, authorization: `Bearer ${token}` }, payload: form.body });
    assert.equal(res.statusCode, 200, res.body);
    const results = JSON.parse(res.body).results as Array<{ photo?: unknown; error?: unknown }>;
    assert.deepEqual(
      results.map((r) => (r.photo ? 'ok' : JSON.stringify(r.error))),
      ['ok', 'ok', 'ok'],
    );
    assert.equal(app.pictograph.admission.pixels.stats.inUse, 0);
    assert.equal(app.pictograph.admission.bytes.stats.inUse, 0);
  });
});
