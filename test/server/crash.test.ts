// Crash safety of uploads: `pictograph serve` is killed with SIGKILL five times while photos are being uploaded,
// then restarted; the database never holds a half-ingested photo, re-uploading completes the set exactly once,
// and after every restart the media folder holds exactly the files stored photos reference.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { openLibrary } from '../../src/library/db.js';
import { ensureOwner } from '../../src/library/store.js';
import { createToken } from '../../src/library/tokens.js';
import { mediaDir } from '../../src/config/paths.js';
import { mediaDoctor } from '../../src/library/media.js';
import { repoRoot, tempHome } from '../support/env.js';
import { calibPhotos } from './fixture.js';

const home = tempHome('pictograph-crash-');
const env = { ...home.env, DATABASE_URL: '' };
let child: ChildProcess | null = null;

after(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  home.cleanup();
});

/** Starts `pictograph serve` on a free port; resolves with its base URL once it is ready. */
async function startServer(): Promise<{ proc: ChildProcess; base: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--host', '127.0.0.1', '--no-web'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const base = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (line) => {
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${stderr}`)));
  });
  for (;;) {
    const res = await fetch(`${base}/readyz`).catch(() => null);
    if (res?.status === 200) break;
    if (proc.exitCode !== null) throw new Error(`serve exited: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, base };
}

async function upload(base: string, token: string, file: string): Promise<number | null> {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(file)], { type: 'image/jpeg' }), basename(file));
  const res = await fetch(`${base}/v1/photos`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  if (res.status !== 200) return null;
  const body = (await res.json()) as { results: Array<{ photo?: { id: number } }> };
  return body.results[0]?.photo?.id ?? null;
}

/** Every stored photo is complete: one analysis, node scores, thumbnails on disk; no duplicate content. */
async function checkComplete(): Promise<number> {
  const lib = await openLibrary({ env });
  try {
    const photos = await lib.db.selectFrom('photos').select(['id', 'content_hash', 'thumb_small', 'thumb_large', 'original_path', 'width', 'height']).execute();
    const analyses = await lib.db.selectFrom('analyses').select('photo_id').execute();
    const scored = await lib.db.selectFrom('node_scores').select('photo_id').distinct().execute();
    const analysed = new Set(analyses.map((a) => a.photo_id));
    const withScores = new Set(scored.map((s) => s.photo_id));
    assert.equal(new Set(photos.map((p) => p.content_hash)).size, photos.length, 'no photo stored twice');
    for (const p of photos) {
      assert.ok(analysed.has(p.id), `photo ${p.id} has its analysis`);
      assert.ok(withScores.has(p.id), `photo ${p.id} has node scores`);
      assert.ok(p.thumb_small && existsSync(join(mediaDir(env), p.thumb_small)), `photo ${p.id} has its small thumbnail`);
      // A photo no larger than 1024 px has no large copy (its original serves instead).
      if (Math.max(p.width, p.height) > 1024) assert.ok(p.thumb_large && existsSync(join(mediaDir(env), p.thumb_large)), `photo ${p.id} has its large thumbnail`);
      else assert.equal(p.thumb_large, null);
      assert.ok(existsSync(p.original_path), `photo ${p.id} has its original`);
    }
    assert.equal(analyses.length, photos.length, 'no analysis without a photo');
    return photos.length;
  } finally {
    await lib.close();
  }
}

/** No orphan, no temporary file, nothing missing: the media folder is exactly what the photos reference. */
async function checkMediaExact(label: string): Promise<void> {
  const lib = await openLibrary({ env });
  try {
    const r = await mediaDoctor(lib.db, mediaDir(env));
    assert.deepEqual(
      { orphans: r.orphans, temporary: [...r.staleTemporary, ...r.liveTemporary], missing: r.missing },
      { orphans: [], temporary: [], missing: [] },
      `media folder ${label}`,
    );
  } finally {
    await lib.close();
  }
}

test('kill -9 during uploads (5 times) leaves no half-ingested photo and no stray file; re-upload completes the set', async () => {
  const files = calibPhotos().slice(0, 25).map((p) => p.file);
  const lib = await openLibrary({ env });
  const token = (await createToken(lib.db, { ownerId: await ensureOwner(lib.db, 'uploader') })).token;
  await lib.close();

  const confirmed = new Set<number>();
  for (let round = 0; round < 5; round++) {
    const { proc, base } = await startServer();
    // The start-up sweep has resolved what the previous kill left (moved into place or removed), so every photo
    // the killed run committed is complete now. (Not before the restart: a kill between a photo's commit and the
    // rename of its staged thumbnails into place leaves them for this sweep to finish.)
    if (round > 0) {
      await checkMediaExact(`after restart ${round}`);
      assert.ok((await checkComplete()) >= confirmed.size, 'every confirmed upload is stored');
    }
    const exited = new Promise((r) => proc.once('exit', r));
    let next = round * 5;
    let ok = 0;
    // Two clients upload in parallel; the server is killed at a random moment after a few uploads.
    const killAfter = 2 + Math.floor(Math.random() * 3);
    const client = async () => {
      while (next < files.length && proc.exitCode === null) {
        const id = await upload(base, token, files[next++]!).catch(() => null);
        if (id !== null) {
          confirmed.add(id);
          if (++ok === killAfter) setTimeout(() => proc.kill('SIGKILL'), Math.floor(Math.random() * 40));
        }
      }
    };
    await Promise.all([client(), client()]);
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await exited;
  }

  // Restart, upload everything again: each photo ends up stored exactly once, complete.
  const { proc, base } = await startServer();
  await checkMediaExact('after the last restart');
  assert.ok((await checkComplete()) >= confirmed.size, 'every confirmed upload is stored');
  for (const file of files) assert.notEqual(await upload(base, token, file), null, `re-upload of ${basename(file)}`);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  proc.kill('SIGTERM');
  assert.equal(await exited, 0, 'SIGTERM shuts down cleanly');
  assert.equal(await checkComplete(), files.length);
  await checkMediaExact('at the end');
  const lib2 = await openLibrary({ env });
  try {
    const ids = new Set((await lib2.db.selectFrom('photos').select('id').execute()).map((p) => p.id));
    for (const id of confirmed) assert.ok(ids.has(id), `confirmed photo ${id} survived the crashes`);
  } finally {
    await lib2.close();
  }
});
