// Crash safety for real: spawn `pictograph ingest`, kill -9 it mid-run several times, re-run, and check that
// every photo is stored exactly once with complete results (analysis, node scores, thumbnails on disk), and the
// media folder holds exactly the thumbnails stored photos reference (no `.tmp` files, no orphans).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { libraryStats } from '../../src/library/stats.js';
import { mediaDoctor } from '../../src/library/media.js';
import { ADMIN } from '../../src/library/viewer.js';
import { calibImages, repoRoot } from '../support/env.js';
import { backends, pgUrl } from './support.js';

// Enough photos that five kills land mid-run even when ingest is fast (each kill commits a few more).
const N = 40;
const cli = join(repoRoot, 'src', 'cli', 'main.ts');

function run(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; out: string; err: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, out, err })),
  );
  return { child, done };
}

for (const backend of backends) {
  describe(`kill -9 during ingest (${backend.name})`, () => {
    let ctx: Awaited<ReturnType<typeof backend.open>>;
    let env: NodeJS.ProcessEnv;
    let dir: string;

    before(async () => {
      ctx = await backend.open();
      dir = join(ctx.home, 'incoming');
      mkdirSync(dir);
      for (const f of readdirSync(calibImages).sort().slice(0, N)) copyFileSync(join(calibImages, f), join(dir, f));
      env = { ...ctx.env };
      if (backend.name === 'postgres' && pgUrl) {
        // the child uses the same fresh schema as this test (search_path via the connection string)
        const schema = (await ctx.lib.db.selectNoFrom((eb) => eb.fn<string>('current_schema', []).as('s')).executeTakeFirstOrThrow()).s;
        const u = new URL(pgUrl);
        u.searchParams.set('options', `-c search_path=${schema}`);
        env.DATABASE_URL = u.toString();
      }
    });
    after(async () => ctx.cleanup());

    it('is killed mid-run five times, then a re-run leaves every photo stored once and complete', async () => {
      const count = async () => (await libraryStats(ctx.lib.db, ADMIN)).photos;
      const kills: number[] = [];
      for (let k = 0; k < 5; k++) {
        const before = await count();
        if (before >= N - 6) break; // too few photos left to be sure of killing mid-run
        // kill once a random number of further photos has been committed, plus a random delay
        const target = Math.min(N - 1, before + 1 + Math.floor(Math.random() * 4));
        const delay = Math.floor(Math.random() * 150);
        const { child, done } = run(['ingest', dir, '--owner', 'kim', '--json', '--concurrency', '2'], env);
        const started = Date.now();
        while ((await count()) < target && child.exitCode === null && Date.now() - started < 60_000) await sleep(20);
        await sleep(delay);
        child.kill('SIGKILL');
        const r = await done;
        const n = await count();
        kills.push(n);
        if (process.env.KILL_DEBUG) console.error(`kill ${k}: ${Date.now() - started} ms, ${n} stored`);
        if (r.signal !== 'SIGKILL') assert.fail(`ingest ended before it was killed: ${r.code} ${r.err}`);
      }
      assert.ok(kills[0] > 0 && kills[0] < N, `first kill landed mid-run (${kills.join(', ')})`);
      // the maintained counts were committed with each photo: a full recount after the kills finds no drift
      const check = await run(['doctor', '--repair-counts', '--json'], env).done;
      assert.equal(check.code, 0, check.err);
      const doctor = JSON.parse(check.out.trim());
      assert.equal(doctor.counts.drift, 0, JSON.stringify(doctor.counts.examples));
      assert.equal(doctor.counts.repaired, false);
      const { done } = run(['ingest', dir, '--owner', 'kim', '--json'], env);
      const r = await done;
      assert.equal(r.code, 0, r.err);
      const summary = JSON.parse(r.out.trim().split('\n').pop() as string);
      assert.equal(summary.total, N);
      assert.equal(summary.failed, 0);
      assert.equal(summary.stored + summary.skipped, N);
      assert.equal(summary.skipped, kills[kills.length - 1], 'what the killed runs committed is kept and skipped');

      const db = ctx.lib.db;
      assert.equal(await count(), N);
      const final = await run(['doctor', '--json'], env).done;
      assert.equal(final.code, 0, final.err);
      assert.equal(JSON.parse(final.out.trim()).counts.drift, 0);
      const photos = await db.selectFrom('photos').selectAll().execute();
      assert.equal(new Set(photos.map((p) => p.content_hash)).size, N);
      const analyses = await db.selectFrom('analyses').select(['photo_id', 'labels']).execute();
      assert.equal(analyses.length, N);
      for (const a of analyses) assert.ok(JSON.parse(a.labels).length > 0);
      const nodes = await db.selectFrom('node_scores').select((eb) => ['photo_id', eb.fn.countAll<number>().as('n')]).groupBy('photo_id').execute();
      assert.equal(nodes.length, N);
      assert.ok(nodes.every((x) => Number(x.n) > 5));
      for (const p of photos) {
        assert.ok(p.thumb_small && existsSync(join(ctx.home, 'media', p.thumb_small)), `${p.file_name} small thumbnail`);
        if (Math.max(p.width, p.height) > 1024) assert.ok(p.thumb_large && existsSync(join(ctx.home, 'media', p.thumb_large)), `${p.file_name} large thumbnail`);
        else assert.equal(p.thumb_large, null, `${p.file_name}: no large copy of a small photo`);
      }
      const media = await mediaDoctor(db, join(ctx.home, 'media'));
      assert.deepEqual(
        { orphans: media.orphans, temporary: [...media.staleTemporary, ...media.liveTemporary], missing: media.missing },
        { orphans: [], temporary: [], missing: [] },
        'the media folder holds exactly the stored photos’ thumbnails',
      );
    });
  });
}
