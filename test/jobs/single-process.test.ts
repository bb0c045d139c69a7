// Without DATABASE_URL nothing changes: `ingest` classifies and stores in this process (SQLite), uploads are
// ingested at once (200 with the photos), there is no queue to see, and the queue commands say why they need one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { openLibrary } from '../../src/library/db.js';
import { loadRecognizer, type LoadedRecognizer } from '../../src/library/recognizer.js';
import { ensureOwner } from '../../src/library/store.js';
import { createToken } from '../../src/library/tokens.js';
import { createServer } from '../../src/server/app.js';
import { calibImages, repoRoot, tempHome } from '../support/env.js';
import { multipart } from '../server/images.js';

const exec = promisify(execFile);
const cli = join(repoRoot, 'src', 'cli', 'main.ts');

describe('single-process mode (no DATABASE_URL)', () => {
  const h = tempHome('pictograph-single-');
  const env = { ...h.env, DATABASE_URL: '', PICTOGRAPH_MODEL_SERVERS: '' };
  let recognizer: LoadedRecognizer;
  const run = async (...args: string[]) => {
    try {
      const r = await exec(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: repoRoot, env });
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, out: x.stdout, err: x.stderr };
    }
  };
  before(async () => {
    recognizer = await loadRecognizer({ env });
  });
  after(async () => {
    await recognizer?.close();
    h.cleanup();
  });

  it('ingest stores in this process; the queue commands explain that they need PostgreSQL', async () => {
    const files = readdirSync(calibImages).sort().slice(0, 3).map((f) => join(calibImages, f));
    const r = await run('ingest', ...files, '--owner', 'ann', '--json');
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out) as { stored: number; failed: number };
    assert.deepEqual([s.stored, s.failed], [3, 0]);
    for (const args of [['ingest', files[0]!, '--owner', 'ann', '--queue'], ['jobs'], ['worker'], ['reindex', '--queue']]) {
      const q = await run(...args);
      assert.equal(q.code, 1, args.join(' '));
      assert.match(q.err, /needs PostgreSQL: set DATABASE_URL/);
    }
  });

  it('uploads are ingested at once and answer with the photos; GET /v1/jobs says there is no queue', async () => {
    const lib = await openLibrary({ env });
    const app = await createServer({ db: lib.db, engine: recognizer.engine, taxonomy: recognizer.taxonomy, env, config: { webRoot: null } });
    try {
      const owner = await ensureOwner(lib.db, 'bob');
      const token = (await createToken(lib.db, { ownerId: owner })).token;
      const name = readdirSync(calibImages).sort()[5]!;
      const form = multipart([{ name: 'file', filename: name, type: 'image/jpeg', data: readFileSync(join(calibImages, name)) }]);
      const res = await app.inject({ method: 'POST', url: '/v1/photos', headers: { authorization: `Bearer ${token}`, 'content-type': form.contentType }, payload: form.body });
      assert.equal(res.statusCode, 200, res.body);
      const results = (res.json() as { results: Array<{ photo?: { id: number } }> }).results;
      assert.ok(results[0]?.photo?.id);
      const jobs = await app.inject({ method: 'GET', url: '/v1/jobs', headers: { authorization: `Bearer ${token}` } });
      assert.equal(jobs.statusCode, 404);
      assert.equal((jobs.json() as { error: { code: string } }).error.code, 'no_queue');
    } finally {
      await app.close();
      await lib.close();
    }
  });
});
