// The library's commands end to end (photos, paging, --as scoping, stats, categories, profile, compare, search,
// similar) over a seeded SQLite library, through the real CLI entry point.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ensureOwner, storePhoto } from '../../src/library/store.js';
import { repoRoot } from '../support/env.js';
import { backends, facts, syntheticAnalysis } from './support.js';

const exec = promisify(execFile);
const cli = join(repoRoot, 'src', 'cli', 'main.ts');

describe('library CLI', () => {
  let ctx: Awaited<ReturnType<(typeof backends)[0]['open']>>;
  const run = async (...args: string[]) => {
    try {
      const r = await exec(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: repoRoot, env: ctx.env });
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, out: x.stdout, err: x.stderr };
    }
  };
  const lines = (s: string) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

  before(async () => {
    ctx = await backends[0].open();
    const db = ctx.lib.db;
    const ann = await ensureOwner(db, 'ann');
    const bob = await ensureOwner(db, 'bob');
    for (let i = 0; i < 12; i++) {
      await storePhoto(db, { ownerId: ann, visibility: i < 2 ? 'public' : 'private', facts: facts(`ann${i}`), analysis: syntheticAnalysis({ n02085620: 0.5 + i * 0.02, n02088364: 0.3 }, undefined, i + 1) });
      await storePhoto(db, { ownerId: bob, visibility: i < 3 ? 'public' : 'private', facts: facts(`bob${i}`), analysis: syntheticAnalysis({ n04041544: 0.6, n03584254: 0.3 }, undefined, 50 + i) });
    }
    await ctx.lib.close(); // the CLI opens the database itself
  });
  after(async () => ctx.cleanup().catch(() => undefined));

  it('photos --under dog --json: one object per photo, best first, paged with --cursor', async () => {
    const first = await run('photos', '--under', 'n02084071', '--limit', '5', '--json');
    assert.equal(first.code, 0, first.err);
    const page1 = lines(first.out);
    assert.equal(page1.length, 5);
    assert.deepEqual(Object.keys(page1[0]).sort(), ['file', 'hedged', 'id', 'labels', 'owner', 'score', 'visibility']);
    const cursor = /--cursor (\S+)/.exec(first.err)?.[1];
    assert.ok(cursor, first.err);
    const second = lines((await run('photos', '--under', 'n02084071', '--limit', '50', '--cursor', cursor, '--json')).out);
    const all = [...page1, ...second];
    assert.equal(all.length, 12);
    assert.equal(new Set(all.map((p) => p.id)).size, 12);
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].score >= all[i].score);
    // without --limit: every photo, across pages; --min-score keeps the strong ones only
    const every = lines((await run('photos', '--under', 'n02084071', '--json')).out);
    assert.deepEqual(every.map((p) => p.id), all.map((p) => p.id));
    const strong = lines((await run('photos', '--under', 'n02084071', '--min-score', '0.95', '--json')).out);
    assert.ok(strong.length > 0 && strong.length < 12 && strong.every((p) => p.score >= 0.95));
    const bad = await run('photos', '--under', 'n02084071', '--cursor', 'garbage!', '--json');
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /invalid paging cursor/);
  });

  it('--as OWNER sees their own photos and public ones only', async () => {
    const asBob = lines((await run('photos', '--as', 'bob', '--limit', '100', '--json')).out);
    assert.equal(asBob.length, 12 + 2);
    assert.ok(asBob.every((p) => p.owner === 'bob' || p.visibility === 'public'));
    const stats = JSON.parse((await run('stats', '--json')).out);
    assert.equal(stats.photos, 24);
    assert.equal(stats.owners, 2);
    assert.equal(stats.failed, 0);
    assert.equal(stats.models[0].photos, 24);
  });

  it('categories, profile, compare, search and similar print JSON', async () => {
    const [cats, profile, cmp, search, similar] = await Promise.all([
      run('categories', '--owner', 'ann', '--json'),
      run('profile', 'ann', '--json'),
      run('compare', 'ann', 'bob', '--json'),
      run('search', 'puppy', '--json'),
      run('similar', '1', '--json', '--limit', '3'),
    ]);
    for (const r of [cats, profile, cmp, search, similar]) assert.equal(r.code, 0, r.err);
    const c = JSON.parse(cats.out);
    assert.equal(c.photos, 12);
    assert.equal(c.tree.wnid, 'n00001740');
    assert.equal(c.counts.find((x: { wnid: string }) => x.wnid === 'n02084071').count, 12);
    assert.equal(JSON.parse(profile.out).photos, 12);
    const k = JSON.parse(cmp.out);
    assert.ok(k.moreA.some((s: { wnid: string }) => s.wnid === 'n02084071'), JSON.stringify(k.moreA));
    assert.ok(k.moreB.length > 0);
    const s = JSON.parse(search.out);
    assert.deepEqual(s.synsets.map((x: { wnid: string }) => x.wnid), ['n02084071']);
    assert.equal(s.photos.length, 12);
    assert.equal(JSON.parse(similar.out).length, 3);
  });

  it('categories, profile and compare speak everyday words; WordNet detail behind --wordnet', async () => {
    const [cats, profile, cmp, cmpWn] = await Promise.all([
      run('categories', '--owner', 'ann'),
      run('profile', 'ann'),
      run('compare', 'ann', 'bob'),
      run('compare', 'ann', 'bob', '--wordnet'),
    ]);
    for (const r of [cats, profile, cmp, cmpWn]) assert.equal(r.code, 0, r.err);
    assert.match(cats.out, /^12 photos\n[Dd]og: 12\n$/);
    assert.match(profile.out, /photographs most: dog \d+\.\d%/i);
    assert.doesNotMatch(profile.out, /WordNet|synset/);
    assert.match(cmp.out, /ann photographs more: dog \d+\.\d% vs 0\.0%/i);
    assert.match(cmp.out, /bob photographs more: nothing stands out/);
    assert.doesNotMatch(cmp.out, /WordNet/);
    assert.match(cmpWn.out, /WordNet synsets, more ann: .*\+/);
  });
});
