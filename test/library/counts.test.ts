// Maintained counts stay exact: a random sequence of stores, re-stores, re-analyses, visibility changes and
// deletes for three owners, on SQLite and (when configured) PostgreSQL; after it, every viewer's category tree,
// profile and photo count equal a brute-force count over the stored rows, and a full recount finds no drift.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bulkStorePhotos, buildNewLibrary, indexDefinitions, withDeferredIndexes } from '../../src/library/bulk.js';
import { bulkBuildMarker, openLibrary, type Library } from '../../src/library/db.js';
import { categoryCounts } from '../../src/library/categories.js';
import { compactEmbedding, isCompactEmbedding } from '../../src/library/embedding.js';
import { listPhotos } from '../../src/library/photos.js';
import { searchPhotos } from '../../src/library/search.js';
import { countPhotos, recountAll, SYNSET_MIN } from '../../src/library/counts.js';
import { ownerProfile } from '../../src/library/profile.js';
import { ensureOwner, storePhotos } from '../../src/library/store.js';
import { ADMIN, PUBLIC, canSee, ownerViewer, type Viewer } from '../../src/library/viewer.js';
import { repoRoot, tempHome } from '../support/env.js';
import { backends, facts, LEAVES, miniTaxonomy as tax, MODEL, randomChanges, syntheticAnalysis } from './support.js';

/** A small deterministic random source (the sequence is the same on both databases). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomProbs(r: () => number): Record<string, number> {
  const probs: Record<string, number> = {};
  let left = 1;
  for (const leaf of LEAVES) {
    if (r() < 0.5) continue;
    const p = Math.round(r() * left * 1000) / 1000;
    if (p <= 0) continue;
    probs[leaf] = p;
    left -= p;
  }
  if (Object.keys(probs).length === 0) probs[LEAVES[Math.floor(r() * LEAVES.length)]!] = 0.42;
  return probs;
}

for (const backend of backends) {
  describe(`maintained counts on ${backend.name}`, () => {
    let ctx: Awaited<ReturnType<typeof backend.open>>;
    const owners: number[] = [];

    before(async () => {
      ctx = await backend.open();
      for (const name of ['ann', 'bob', 'cy']) owners.push(await ensureOwner(ctx.lib.db, name));
    });
    after(async () => ctx.cleanup());

    it('stay exact through stores, re-stores, re-analyses, visibility changes and deletes', async () => {
      const db = ctx.lib.db;
      const r = rng(12);
      const other = { id: 'other-model', sha256: 'b'.repeat(64) };
      await randomChanges(db, r, 160, owners, (_owner, i, change) => syntheticAnalysis(randomProbs(r), change === 'reanalyse' ? other : MODEL, i));

      // brute force from the stored rows
      const photos = await db.selectFrom('photos').select(['id', 'owner_id', 'visibility']).execute();
      const nodes = await db.selectFrom('node_scores').select(['photo_id', 'wnid', 'score']).execute();
      const viewers: Viewer[] = [ADMIN, PUBLIC, ...owners.map(ownerViewer)];
      for (const viewer of viewers) {
        for (const owner of [undefined, ...owners]) {
          const visible = new Map(photos.filter((p) => canSee(viewer, p) && (owner === undefined || p.owner_id === owner)).map((p) => [p.id, p]));
          const want = new Map<string, number>();
          const sums = new Map<string, number>();
          for (const n of nodes) {
            if (!visible.has(n.photo_id)) continue;
            if (n.score >= SYNSET_MIN) want.set(n.wnid, (want.get(n.wnid) ?? 0) + 1);
            sums.set(n.wnid, (sums.get(n.wnid) ?? 0) + n.score);
          }
          const name = owner === undefined ? undefined : ['ann', 'bob', 'cy'][owners.indexOf(owner)];
          const got = await categoryCounts(db, viewer, { owner: name, taxonomy: tax });
          const label = `${JSON.stringify(viewer)} owner ${name}`;
          assert.equal(got.photos, visible.size, label);
          assert.equal(await countPhotos(db, viewer, owner), visible.size, label);
          assert.deepEqual(new Map(got.counts.map((c) => [c.wnid, c.count])), want, label);
          // any other threshold is counted live: the same rule gives the same numbers
          const liveCounts = await categoryCounts(db, viewer, { owner: name, minScore: SYNSET_MIN - 1e-9 });
          assert.deepEqual(new Map(liveCounts.counts.map((c) => [c.wnid, c.count])), want, `${label} (live)`);
          if (name !== undefined) {
            const prof = await ownerProfile(db, viewer, name, { taxonomy: tax });
            assert.equal(prof.photos, visible.size);
            for (const n of prof.nodes) assert.ok(Math.abs(n.total - (sums.get(n.wnid) ?? 0)) < 1e-5 * (1 + visible.size), `${label} ${n.wnid}`);
            assert.equal(prof.nodes.length, sums.size, label);
          }
        }
      }
      const report = await recountAll(db, ctx.lib.dialect);
      assert.deepEqual(report.drift, []);
      assert.ok(report.rows > 10);
    });

    it('stay exact through the bulk path (deferred indexes), and bulk photos are found like stored ones', async () => {
      const db = ctx.lib.db;
      const r = rng(99);
      const batch = (from: number, n: number) =>
        Array.from({ length: n }, (_, k) => ({
          ownerId: owners[Math.floor(r() * owners.length)]!,
          visibility: (r() < 0.4 ? 'public' : 'private') as 'public' | 'private',
          facts: facts(`bulk${from + k}`),
          analysis: syntheticAnalysis(randomProbs(r), MODEL, from + k),
        }));
      const ids: number[] = [];
      // PostgreSQL: the load drops the per-photo tables' foreign keys and adds the same ones back
      const foreignKeys = async () =>
        ctx.lib.dialect === 'postgres'
          ? (await sql<{ k: string }>`select conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) as k from pg_constraint where contype = 'f' order by 1`.execute(db)).rows.map((r) => r.k)
          : [];
      const keysBefore = await foreignKeys();
      // the deferred indexes come back exactly as the migrations made them
      const deferred = ['node_scores_wnid_score_idx', 'node_scores_owner_idx', 'photos_hash_idx', 'photo_terms_gin'];
      const indexesBefore = await indexDefinitions(ctx.lib, deferred);
      assert.equal(indexesBefore.length, ctx.lib.dialect === 'postgres' ? 4 : 3);
      await withDeferredIndexes(ctx.lib, async () => {
        assert.deepEqual(await indexDefinitions(ctx.lib, deferred), [], 'no deferred index while loading');
        ids.push(...(await bulkStorePhotos(ctx.lib, batch(0, 70))));
        ids.push(...(await bulkStorePhotos(ctx.lib, batch(70, 90))));
      });
      assert.deepEqual(await foreignKeys(), keysBefore);
      const indexesAfter = await indexDefinitions(ctx.lib, deferred);
      assert.deepEqual(indexesAfter.map((i) => i.name), indexesBefore.map((i) => i.name));
      // (SQLite keeps the statement as written: the IF NOT EXISTS of the rebuild; PostgreSQL reads it back)
      assert.deepEqual(indexesAfter.map((i) => i.def.replace(/ IF NOT EXISTS/i, '')), indexesBefore.map((i) => i.def));
      ids.push(...(await bulkStorePhotos(ctx.lib, batch(160, 25))));
      assert.equal(new Set(ids).size, 185);
      assert.deepEqual((await recountAll(db, ctx.lib.dialect)).drift, []);
      const rows = await db.selectFrom('analyses').select(['photo_id', 'embedding']).where('photo_id', 'in', ids).execute();
      assert.equal(rows.length, 185);
      assert.ok(rows.every((row) => isCompactEmbedding(row.embedding)));
      // a bulk photo is under its synsets on the category pages and in word search
      const dogs = await listPhotos(db, ADMIN, { under: 'n02084071', limit: 500, minScore: SYNSET_MIN });
      const stored = await db.selectFrom('node_scores').select('photo_id').where('wnid', '=', 'n02084071').where('score', '>=', SYNSET_MIN).execute();
      assert.deepEqual(dogs.photos.map((p) => p.id).sort((a, b) => a - b), stored.map((x) => x.photo_id).sort((a, b) => a - b));
      assert.ok(dogs.photos.some((p) => ids.includes(p.id)));
      // one owner's page under a synset: exactly that owner's photos there (node scores carry the photo's owner)
      const annDogs = await listPhotos(db, ADMIN, { under: 'n02084071', owner: 'ann', limit: 500, minScore: SYNSET_MIN });
      const annIds = new Set((await db.selectFrom('photos').select('id').where('owner_id', '=', owners[0]!).execute()).map((p) => p.id));
      assert.deepEqual(
        annDogs.photos.map((p) => p.id).sort((a, b) => a - b),
        stored.map((x) => x.photo_id).filter((id) => annIds.has(id)).sort((a, b) => a - b),
      );
      assert.ok(annDogs.photos.length > 0 && annDogs.photos.every((p) => p.owner === 'ann'));
      const found = await searchPhotos(db, ADMIN, 'dog animal', { taxonomy: tax, limit: 500 });
      assert.ok(found.photos.some((p) => ids.includes(p.id)));
    });

    it('storePhotos (group commit): a photo that fails is rolled back alone, the others are stored with exact counts', async () => {
      const db = ctx.lib.db;
      const bad = { ...syntheticAnalysis({ n02085620: 0.7 }, MODEL, 901), labels: [] }; // no label: writeAnalysis refuses it
      const inputs = [
        { ownerId: owners[0]!, visibility: 'public' as const, facts: facts('group-a'), analysis: syntheticAnalysis({ n02085620: 0.8 }, MODEL, 900) },
        { ownerId: owners[0]!, visibility: 'public' as const, facts: facts('group-bad'), analysis: bad },
        { ownerId: owners[1]!, visibility: 'private' as const, facts: facts('group-b'), analysis: syntheticAnalysis({ n02123045: 0.9 }, MODEL, 902) },
      ];
      const results = await storePhotos(db, inputs);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
      assert.match(String((results[1] as PromiseRejectedResult).reason), /at least one label/);
      const hashes = (await db.selectFrom('photos').select('content_hash').where('content_hash', 'in', inputs.map((i) => i.facts.content_hash)).execute()).map((r) => r.content_hash);
      assert.deepEqual(hashes.sort(), [inputs[0]!.facts.content_hash, inputs[2]!.facts.content_hash].sort());
      const ids = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      assert.equal((await db.selectFrom('analyses').select('photo_id').where('photo_id', 'in', ids).execute()).length, 2);
      // the failed photo left no rows behind: no node scores, and the maintained counts equal a full recount
      assert.deepEqual((await recountAll(db, ctx.lib.dialect)).drift, []);
    });

    it('stay exact when a bulk batch copies a few analyses (own embeddings, tags), and the copies store each analysis in full', async () => {
      const db = ctx.lib.db;
      const r = rng(7);
      const templates = Array.from({ length: 5 }, (_, t) => ({ ...syntheticAnalysis(randomProbs(r), MODEL, 500 + t), tags: t % 2 === 0 ? [{ id: 'beach', name: 'beach', score: 0.8 }, { id: 'ann/cat', name: 'cat', score: 0.6 }] : [] }));
      const photos = Array.from({ length: 60 }, (_, k) => {
        const analysis = templates[k % templates.length]!;
        const own = k % 3 === 0 ? Float32Array.from(analysis.embedding, (x, d) => x + (d === k % 8 ? 0.5 : 0)) : undefined;
        return { ownerId: owners[Math.floor(r() * owners.length)]!, visibility: (r() < 0.5 ? 'public' : 'private') as 'public' | 'private', facts: facts(`copy${k}`), analysis, embedding: own };
      });
      const ids = await bulkStorePhotos(ctx.lib, photos);
      assert.deepEqual((await recountAll(db, ctx.lib.dialect)).drift, []);
      const stored = new Map((await db.selectFrom('analyses').select(['photo_id', 'labels', 'embedding']).where('photo_id', 'in', ids).execute()).map((a) => [a.photo_id, a]));
      const nodes = await db.selectFrom('node_scores').select(['photo_id', 'owner_id', 'wnid', 'score']).where('photo_id', 'in', ids).execute();
      const tags = await db.selectFrom('photo_tags').select(['photo_id', 'concept_id']).where('photo_id', 'in', ids).execute();
      ids.forEach((id, k) => {
        const p = photos[k]!;
        const a = stored.get(id)!;
        assert.equal(a.labels, JSON.stringify(p.analysis.labels));
        assert.deepEqual(Buffer.from(a.embedding), compactEmbedding(p.embedding ?? p.analysis.embedding), `embedding of copy ${k}`);
        const mine = nodes.filter((n) => n.photo_id === id);
        assert.equal(mine.length, p.analysis.nodeScores.length);
        assert.ok(mine.every((n) => n.owner_id === p.ownerId));
        assert.equal(tags.filter((g) => g.photo_id === id).length, p.analysis.tags!.length);
      });
    });

    it('a recount finds drift, repairs it, and then finds none', async () => {
      const db = ctx.lib.db;
      await db.updateTable('concept_counts').set({ photos: 999 }).where('kind', '=', 'synset').where('key', '=', 'n02084071').where('owner_id', '=', 0).execute();
      await db.insertInto('concept_counts').values({ owner_id: 77, visibility: 'public', kind: 'synset', key: 'n02084071', photos: 3, score_micros: 5 }).execute();
      const found = await recountAll(db, ctx.lib.dialect);
      assert.ok(found.drift.length >= 2, JSON.stringify(found.drift));
      assert.equal(found.repaired, false);
      const repaired = await recountAll(db, ctx.lib.dialect, { repair: true });
      assert.equal(repaired.repaired, true);
      assert.deepEqual((await recountAll(db, ctx.lib.dialect)).drift, []);
    });
  });
}

for (const backend of backends) {
  describe(`a new library built in one go on ${backend.name}`, () => {
    const schemaState = async (lib: Library) =>
      lib.dialect === 'postgres'
        ? (await sql<{ k: string }>`select conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) as k from pg_constraint where connamespace = current_schema()::regnamespace
            union all select indexdef from pg_indexes where schemaname = current_schema() order by 1`.execute(lib.db)).rows.map((r) => r.k)
        : // (an index re-created after the load is spelled without quotes)
          (await sql<{ k: string }>`select type || ' ' || name || ' ' || coalesce(sql, '') as k from sqlite_master order by 1`.execute(lib.db)).rows.map((r) => r.k.replaceAll('"', '').toLowerCase());
    const reopen = async (lib: Library) =>
      lib.dialect === 'postgres'
        ? openLibrary({ databaseUrl: process.env.PICTOGRAPH_TEST_DATABASE_URL, pgSchema: (await sql<{ s: string }>`select current_schema() as s`.execute(lib.db)).rows[0]!.s })
        : openLibrary({ sqlitePath: lib.location, env: { DATABASE_URL: '' } });

    it('has exact counts (also when they are added part-way), every key and index back, and refuses a library with photos', async () => {
      const ctx = await backend.open();
      try {
        const owners = [await ensureOwner(ctx.lib.db, 'ann'), await ensureOwner(ctx.lib.db, 'bob'), await ensureOwner(ctx.lib.db, 'cy')];
        const r = rng(31);
        const templates = Array.from({ length: 7 }, (_, t) => ({ ...syntheticAnalysis(randomProbs(r), MODEL, 700 + t), tags: t % 3 === 0 ? [{ id: 'beach', name: 'beach', score: 0.8 }, { id: 'ann/cat', name: 'cat', score: 0.6 }] : [] }));
        const batch = (from: number, n: number) =>
          Array.from({ length: n }, (_, k) => {
            const analysis = r() < 0.3 ? syntheticAnalysis(randomProbs(r), MODEL, 800 + from + k) : templates[Math.floor(r() * templates.length)]!;
            return { ownerId: owners[Math.floor(r() * owners.length)]!, visibility: (r() < 0.4 ? 'public' : 'private') as 'public' | 'private', facts: facts(`new${from + k}`), analysis, embedding: k % 2 ? Float32Array.from(analysis.embedding, (x) => x * 0.5) : undefined };
          });
        const before = await schemaState(ctx.lib);
        const ids: number[] = [];
        // a small tally bound: the counts are added part-way through as well as at the end
        await buildNewLibrary(
          ctx.lib,
          async () => {
            for (let b = 0; b < 4; b++) ids.push(...(await bulkStorePhotos(ctx.lib, batch(b * 50, 50))));
          },
          { pendingCounts: 20 },
        );
        assert.equal(new Set(ids).size, 200);
        assert.deepEqual((await recountAll(ctx.lib.db, ctx.lib.dialect)).drift, []);
        assert.deepEqual(await schemaState(ctx.lib), before);
        if (ctx.lib.dialect === 'postgres') {
          // the node scores' distinct photos stay a fixed share of the rows through the build and ANALYZE (the
          // planner's own estimate falls far short when a photo's node scores lie together)
          await sql`analyze node_scores`.execute(ctx.lib.db);
          const stats = await sql<{ n: string }>`select n_distinct::text as n from pg_stats where schemaname = current_schema() and tablename = 'node_scores' and attname = 'photo_id'`.execute(ctx.lib.db);
          assert.equal(Number(stats.rows[0]?.n), -0.036);
        }
        if ('sqlite' in ctx.lib.raw) {
          assert.equal(ctx.lib.raw.sqlite.pragma('journal_mode', { simple: true }), 'wal');
          assert.equal(ctx.lib.raw.sqlite.pragma('foreign_keys', { simple: true }), 1);
          assert.equal(existsSync(bulkBuildMarker(ctx.lib.location)), false);
        }
        const again = await reopen(ctx.lib);
        assert.equal((await again.db.selectFrom('photos').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n.toString(), '200');
        await again.close();
        await assert.rejects(buildNewLibrary(ctx.lib, async () => undefined), /has photos already/);
      } finally {
        await ctx.cleanup();
      }
    });

    it('leaves a library whose build was interrupted marked, and openLibrary refuses it', async () => {
      const ctx = await backend.open();
      try {
        const owner = await ensureOwner(ctx.lib.db, 'ann');
        const photos = Array.from({ length: 30 }, (_, k) => ({ ownerId: owner, visibility: 'public' as const, facts: facts(`cut${k}`), analysis: syntheticAnalysis({ n02085620: 0.8 }, MODEL, 900 + k) }));
        await assert.rejects(
          buildNewLibrary(ctx.lib, async () => {
            await bulkStorePhotos(ctx.lib, photos);
            throw new Error('killed');
          }),
          /killed/,
        );
        await assert.rejects(reopen(ctx.lib), /bulk build of this library was interrupted/);
      } finally {
        await ctx.cleanup();
      }
    });
  });
}

describe('kill -9 during a new-library build (sqlite: its in-memory journal may leave the file half-written)', () => {
  it('leaves the library marked, and openLibrary refuses it', async () => {
    const h = tempHome('pictograph-bulk-kill-');
    try {
      const file = join(h.home, 'built.db');
      // a child builds a library batch after batch until it is killed
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', `
          const { openLibrary } = await import(${JSON.stringify(join(repoRoot, 'src/library/db.ts'))});
          const { buildNewLibrary, bulkStorePhotos } = await import(${JSON.stringify(join(repoRoot, 'src/library/bulk.ts'))});
          const { ensureOwner } = await import(${JSON.stringify(join(repoRoot, 'src/library/store.ts'))});
          const { facts, MODEL, syntheticAnalysis } = await import(${JSON.stringify(join(repoRoot, 'test/library/support.ts'))});
          const lib = await openLibrary({ sqlitePath: ${JSON.stringify(file)}, env: { DATABASE_URL: '' } });
          const owner = await ensureOwner(lib.db, 'ann');
          const analysis = syntheticAnalysis({ n02085620: 0.8 }, MODEL, 1);
          await buildNewLibrary(lib, async () => {
            for (let b = 0; ; b++) {
              await bulkStorePhotos(lib, Array.from({ length: 500 }, (_, k) => ({ ownerId: owner, visibility: 'public', facts: facts('kill' + b + '-' + k), analysis })));
              process.stdout.write('stored\\n');
            }
          });`],
        { cwd: repoRoot, env: { ...h.env, DATABASE_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const exited = new Promise((resolve) => child.on('exit', resolve));
      await new Promise<void>((resolve, reject) => {
        let seen = 0;
        child.stdout.on('data', (d: Buffer) => (seen += d.toString().split('stored').length - 1) >= 3 && resolve());
        child.on('exit', () => reject(new Error(`the child ended before it was killed: ${err}`)));
      });
      child.kill('SIGKILL');
      await exited;
      assert.equal(existsSync(bulkBuildMarker(file)), true);
      await assert.rejects(openLibrary({ sqlitePath: file, env: { DATABASE_URL: '' } }), /bulk build of this library was interrupted/);
    } finally {
      h.cleanup();
    }
  });
});
