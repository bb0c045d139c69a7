// `pictograph up`: the README's main command ingests a folder for an owner, then serves API and app with a one-time
// sign-in link (and `pictograph signin` prints a fresh one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { calibImages, repoRoot, tempHome } from '../support/env.js';

test('`up DIR --owner NAME` ingests the folder privately, then serves it to the owner’s sign-in link only', async () => {
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
    while (!/signin#code=pgc_\S+/.test(stdout)) {
      if (child.exitCode !== null || Date.now() - started > 120_000) assert.fail(`up did not start serving: ${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(stderr, /ingested for me with mobilenetv2-12-int8: 3 files, 3 classified and stored/);
    const base = /serving me's photos at (http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)?.[1];
    assert.ok(base, stdout);
    const link = /(http:\/\/127\.0\.0\.1:\d+\/signin#code=(pgc_\S+))/.exec(stdout)!;
    assert.equal(new URL(link[1]!).origin, base);
    while ((await fetch(`${base}/readyz`)).status !== 200) await new Promise((r) => setTimeout(r, 200));
    // What the web app does with the link: trade the code for the session cookie (once).
    const redeem = (code: string) =>
      fetch(`${base}/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-pictograph-csrf': '1', origin: base },
        body: JSON.stringify({ code }),
      });
    const signedIn = await redeem(decodeURIComponent(link[2]!));
    assert.equal(signedIn.status, 200);
    const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!;
    assert.equal((await redeem(decodeURIComponent(link[2]!))).status, 401, 'the link works once');
    const mine = (await (await fetch(`${base}/v1/photos`, { headers: { cookie } })).json()) as { photos: { id: number; owner: string; visibility: string }[] };
    assert.equal(mine.photos.length, 3);
    assert.ok(mine.photos.every((p) => p.owner === 'me' && p.visibility === 'private'));
    assert.equal((await fetch(`${base}/v1/photos/${mine.photos[0]!.id}/thumbnail`, { headers: { cookie } })).status, 200);
    assert.equal((await fetch(`${base}/v1/photos/${mine.photos[0]!.id}/thumbnail`)).status, 404);
    const anonymous = (await (await fetch(`${base}/v1/photos`)).json()) as { photos: unknown[] };
    assert.equal(anonymous.photos.length, 0, 'private photos stay hidden from anonymous viewers');
    const dogs = (await (await fetch(`${base}/v1/photos?under=n02084071`, { headers: { cookie } })).json()) as { photos: { hedged: { name: string } | null }[] };
    assert.ok(dogs.photos.length >= 1, 'the beagle is found under dog');
    // A fresh link later, from another process on the same library (run asynchronously: a blocked event loop
    // would miss the server closing idle keep-alive sockets, and the next fetch would reuse a dead one).
    const signin = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'signin', '--owner', 'me', '--url', base, '--json'], {
      cwd: repoRoot,
      env: home.env,
      encoding: 'utf8',
    });
    const fresh = JSON.parse(signin.stdout) as { url: string; expires_at: string };
    assert.ok(fresh.url.startsWith(`${base}/signin#code=pgc_`));
    assert.equal((await redeem(decodeURIComponent(fresh.url.split('#code=')[1]!))).status, 200);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    home.cleanup();
  }
});
