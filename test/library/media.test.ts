// The media folder's lifecycle on both databases: staged files of dead writers are moved into place when a
// committed photo references them and removed otherwise, live writers' files are left alone, and the doctor
// (library function and `pictograph doctor`) finds and removes orphans and reports missing files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mediaDoctor, parseTemporary, stagedPath, sweepMedia } from '../../src/library/media.js';
import { ensureOwner, storePhoto } from '../../src/library/store.js';
import { thumbnailName } from '../../src/library/thumbnails.js';
import { repoRoot } from '../support/env.js';
import { backends, facts, pgUrl, syntheticAnalysis } from './support.js';

/** A pid no process has now (a child that has exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

function put(file: string, data = 'x'): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
  return file;
}

for (const backend of backends) {
  describe(`media folder lifecycle (${backend.name})`, () => {
    let ctx: Awaited<ReturnType<typeof backend.open>>;
    let media: string;
    before(async () => {
      ctx = await backend.open();
      media = join(ctx.home, 'media');
    });
    after(async () => ctx.cleanup());

    it('sweeps, diagnoses and fixes', async () => {
      const db = ctx.lib.db;
      const owner = await ensureOwner(db, 'mo');
      const a = facts('photo-a');
      const b = facts('photo-b');
      const uploaded = join(media, 'originals', b.content_hash.slice(0, 2), b.content_hash, 'b.jpg');
      const names = {
        aSmall: thumbnailName(a.content_hash, 256),
        aLarge: thumbnailName(a.content_hash, 1024),
        bSmall: thumbnailName(b.content_hash, 256),
        bLarge: thumbnailName(b.content_hash, 1024),
      };
      await storePhoto(db, { ownerId: owner, visibility: 'private', facts: { ...a, thumb_small: names.aSmall, thumb_large: names.aLarge }, analysis: syntheticAnalysis({ n02085620: 0.9 }) });
      await storePhoto(db, {
        ownerId: owner,
        visibility: 'private',
        facts: { ...b, original_path: uploaded, thumb_small: names.bSmall, thumb_large: names.bLarge },
        analysis: syntheticAnalysis({ n02123045: 0.8 }),
      });
      const dead = deadPid();
      const deadStaged = (target: string) => `${target}.${dead}-abcdef.1234abcd.tmp`;
      // a: both thumbnails in place. b: committed, then killed before the rename (staged files of a dead writer).
      put(join(media, names.aSmall));
      put(join(media, names.aLarge));
      put(deadStaged(join(media, names.bSmall)));
      put(deadStaged(join(media, names.bLarge)));
      put(deadStaged(uploaded));
      // Left-overs: an uncommitted thumbnail of a dead writer, an upload's temp file, an old-style temp original,
      // an orphan thumbnail; and a file being written right now by this process.
      put(deadStaged(join(media, thumbnailName('c'.repeat(64), 256))));
      put(deadStaged(join(media, 'tmp', 'upload')));
      put(join(media, 'originals', 'ff', 'f'.repeat(64), '.tmp-0123456789ab'));
      put(join(media, thumbnailName('d'.repeat(64), 1024)), 'orphan');
      const live = put(stagedPath(join(media, thumbnailName('e'.repeat(64), 256))));
      assert.ok(parseTemporary(live));
      assert.equal(parseTemporary(join(media, names.aSmall)), undefined);

      const dry = await mediaDoctor(db, media);
      assert.equal(dry.fixed, false);
      assert.deepEqual(dry.orphans, [thumbnailName('d'.repeat(64), 1024)]);
      assert.equal(dry.staleTemporary.length, 6);
      assert.equal(dry.liveTemporary.length, 1);
      assert.equal(dry.missing.length, 3, 'b’s thumbnails and original are not in place yet');

      // `pictograph doctor --dry-run --json` says the same (and exits 1: there is something to fix).
      const env = { ...ctx.env };
      if (backend.name === 'postgres' && pgUrl) {
        // the child uses this test's fresh schema (search_path via the connection string)
        const schema = (await db.selectNoFrom((eb) => eb.fn<string>('current_schema', []).as('s')).executeTakeFirstOrThrow()).s;
        const u = new URL(pgUrl);
        u.searchParams.set('options', `-c search_path=${schema}`);
        env.DATABASE_URL = u.toString();
      }
      const cli = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), 'doctor', '--dry-run', '--json'], {
        cwd: repoRoot,
        env,
        encoding: 'utf8',
      });
      assert.equal(cli.status, 1, cli.stderr);
      const fromCli = JSON.parse(cli.stdout.trim().split('\n').pop()!);
      assert.deepEqual([fromCli.orphans, fromCli.missing.length, fromCli.staleTemporary.length], [dry.orphans, 3, 6]);

      const swept = await sweepMedia(db, media);
      assert.deepEqual(swept, { completed: 3, removed: 3 });
      for (const f of [names.bSmall, names.bLarge]) assert.ok(existsSync(join(media, f)), `${f} moved into place`);
      assert.ok(existsSync(uploaded), 'the committed upload’s original moved into place');
      assert.ok(existsSync(live), 'a live writer’s file is left alone');

      const fixed = await mediaDoctor(db, media, { fix: true });
      assert.deepEqual(fixed.missing, []);
      assert.equal(fixed.orphans.length, 1);
      const clean = await mediaDoctor(db, media);
      assert.deepEqual({ orphans: clean.orphans, stale: clean.staleTemporary, missing: clean.missing }, { orphans: [], stale: [], missing: [] });
      assert.deepEqual(clean.liveTemporary, [live.slice(media.length + 1)]);
    });
  });
}
