// The API document that clients generate from: it validates (swagger-parser), and a TypeScript client generated
// from it (openapi-typescript) type-checks against the server's real responses.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import openapiTS, { astToString } from 'openapi-typescript';
import { calibImages, repoRoot } from '../support/env.js';
import { bearer, createFixture, type Fixture } from './fixture.js';

let f: Fixture;
let doc: Record<string, any>;

before(async () => {
  f = await createFixture({}, { perGroup: 2 });
  const res = await f.app.inject({ url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  doc = JSON.parse(res.body);
});

after(async () => {
  await f.close();
});

test('/openapi.json passes swagger-parser validate and declares one OpenAPI version', async () => {
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  await SwaggerParser.validate(structuredClone(doc) as any); // throws with every error it finds
});

test('a generated TypeScript client type-checks against real responses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pictograph-openapi-'));
  try {
    writeFileSync(join(dir, 'api.d.ts'), astToString(await openapiTS(doc as any)));
    const photo = f.photos.alicePrivate[0]!;
    const spaniel = readFileSync(join(calibImages, 'n02085782_Japanese_spaniel.JPEG'));
    // [path as documented, method, status, request]
    const calls: Array<[string, string, number, Parameters<Fixture['app']['inject']>[0]]> = [
      ['/healthz', 'get', 200, { url: '/healthz' }],
      ['/v1/classify', 'post', 200, { method: 'POST', url: '/v1/classify', headers: { 'content-type': 'image/jpeg' }, payload: spaniel }],
      ['/v1/photos', 'get', 200, { url: '/v1/photos?under=n02084071', headers: bearer(f.tokens.alice) }],
      ['/v1/photos/{id}', 'get', 200, { url: `/v1/photos/${photo}`, headers: bearer(f.tokens.alice) }],
      ['/v1/categories', 'get', 200, { url: '/v1/categories', headers: bearer(f.tokens.alice) }],
      ['/v1/categories/tree', 'get', 200, { url: '/v1/categories/tree', headers: bearer(f.tokens.alice) }],
      ['/v1/synsets/{wnid}', 'get', 200, { url: '/v1/synsets/n02084071' }],
      ['/v1/synsets', 'get', 200, { url: '/v1/synsets?q=golden&limit=5' }],
      ['/v1/search', 'get', 200, { url: '/v1/search?q=dog', headers: bearer(f.tokens.alice) }],
      ['/v1/me', 'get', 200, { url: '/v1/me', headers: bearer(f.tokens.alice) }],
      ['/v1/owners', 'get', 200, { url: '/v1/owners', headers: bearer(f.tokens.admin) }],
      ['/v1/owners/{name}/profile', 'get', 200, { url: '/v1/owners/alice/profile', headers: bearer(f.tokens.alice) }],
      ['/v1/compare', 'get', 200, { url: '/v1/compare?a=alice&b=bob', headers: bearer(f.tokens.alice) }],
      ['/v1/feedback/summary', 'get', 200, { url: '/v1/feedback/summary', headers: bearer(f.tokens.alice) }],
    ];
    const lines = [`import type { paths } from './api.js';`];
    for (const [i, [path, method, status, req]] of calls.entries()) {
      const res = await f.app.inject(req);
      assert.equal(res.statusCode, status, `${method} ${path}: ${res.body.slice(0, 300)}`);
      lines.push(`export const r${i}: paths[${JSON.stringify(path)}][${JSON.stringify(method)}]['responses'][${status}]['content']['application/json'] = ${res.body};`);
    }
    // An error body has the documented shape too.
    const bad = await f.app.inject({ url: '/v1/synsets/n99999999' });
    lines.push(`export const e: paths['/v1/synsets/{wnid}']['get']['responses']['4XX']['content']['application/json'] = ${bad.body};`);
    writeFileSync(join(dir, 'responses.ts'), lines.join('\n') + '\n');
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', join(dir, 'responses.ts')];
    try {
      execFileSync(process.execPath, [tsc, ...args], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      assert.fail(`generated client does not type-check against real responses:\n${(err as { stdout?: string }).stdout ?? err}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
