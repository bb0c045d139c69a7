// `pictograph up`: the README's main command ingests a folder for an owner, then serves API and app with a token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { calibImages, repoRoot, tempHome } from '../support/env.js';

test('`up DIR --owner NAME` ingests the folder privately, then serves it to the owner’s token only', async () => {
  const home = tempHome('pictograph-up-');
  const dir = mkdtempSync(join(home.home, 'photos-'));
  const picks = readdirSync(calibImages).filter((f) => /_beagle|_Siamese_cat|_banana/.test(f));
  assert.equal(picks.length, 3);
  for (const f of picks) copyFileSync(join(calibImages, f), join(dir, f));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'up', dir, '--owner', 'me', '--port', '0'], {
    cwd: repoRoot,
    env: home.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const started = Date.now();
    while (!/pgt_\S+/.test(stdout)) {
      if (child.exitCode !== null || Date.now() - started > 120_000) assert.fail(`up did not start serving: ${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(stderr, /ingested for me with mobilenetv2-12-int8: 3 files, 3 classified and stored/);
    const base = /serving me's photos at (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)?.[1];
    assert.ok(base, stdout);
    const token = /pgt_\S+/.exec(stdout)![0];
    while ((await fetch(`${base}/readyz`)).status !== 200) await new Promise((r) => setTimeout(r, 200));
    const mine = (await (await fetch(`${base}/v1/photos`, { headers: { authorization: `Bearer ${token}` } })).json()) as { photos: { owner: string; visibility: string }[] };
    assert.equal(mine.photos.length, 3);
    assert.ok(mine.photos.every((p) => p.owner === 'me' && p.visibility === 'private'));
    const anonymous = (await (await fetch(`${base}/v1/photos`)).json()) as { photos: unknown[] };
    assert.equal(anonymous.photos.length, 0, 'private photos stay hidden from anonymous viewers');
    const dogs = (await (await fetch(`${base}/v1/photos?under=n02084071`, { headers: { authorization: `Bearer ${token}` } })).json()) as { photos: { hedged: { name: string } | null }[] };
    assert.ok(dogs.photos.length >= 1, 'the beagle is found under dog');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    home.cleanup();
  }
});
