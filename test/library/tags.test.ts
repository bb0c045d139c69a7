// Tags in the one hierarchy, on SQLite and (when configured) PostgreSQL: the maintained `tag` counts stay exact
// through stores, re-stores, re-analyses, visibility changes, deletes, the bulk path and custom-concept teach /
// delete (a brute-force count over photo_tags per viewer, and a recount finds no drift); tags hang under their
// synsets in the category tree; a tag's page lists its photos best first, per viewer; an owner's custom concept is
// never in another owner's, the public's or everyone's counts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PhotoAnalysis } from '../../src/library/analysis.js';
import { bulkStorePhotos } from '../../src/library/bulk.js';
import { categoryCounts, type CategoryNode } from '../../src/library/categories.js';
import { deleteConcept, ownerEmbeddings, teachConcept } from '../../src/library/concepts.js';
import { recountAll } from '../../src/library/counts.js';
import { libraryMigrations } from '../../src/library/migrations.js';
import { listPhotos } from '../../src/library/photos.js';
import { ensureOwner } from '../../src/library/store.js';
import { tagCounts, tagInfo } from '../../src/library/tags.js';
import { ADMIN, PUBLIC, canSee, ownerViewer, type Viewer } from '../../src/library/viewer.js';
import { backends, facts, LEAVES, miniTaxonomy as tax, MODEL, randomChanges, syntheticAnalysis } from './support.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const NAMES = ['ann', 'bob', 'cy'];
const EVERYDAY = ['dog', 'beach', 'sunset', 'object'];

/** A random analysis with random tags: everyday ones and the owner's own custom concept ("ann/pebbles"). */
function tagged(r: () => number, owner: string, seed: number): PhotoAnalysis {
  const probs: Record<string, number> = { [LEAVES[Math.floor(r() * LEAVES.length)]!]: 0.6 };
  const tags = EVERYDAY.filter(() => r() < 0.4).map((id) => ({ id, name: id, score: 0.3 + Math.round(r() * 700) / 1000 }));
  if (r() < 0.5) tags.push({ id: `${owner}/pebbles`, name: 'pebbles', score: 0.5 + Math.round(r() * 500) / 1000 });
  return { ...syntheticAnalysis(probs, MODEL, seed), tags };
}

function findTag(n: CategoryNode, id: string, parent: CategoryNode | null = null): { node: CategoryNode; parent: CategoryNode | null } | null {
  if (n.tag === id) return { node: n, parent };
  for (const c of n.children) {
    const hit = findTag(c, id, n);
    if (hit) return hit;
  }
  return null;
}

for (const backend of backends) {
  describe(`tags in the hierarchy on ${backend.name}`, () => {
    let ctx: Awaited<ReturnType<typeof backend.open>>;
    const owners: number[] = [];

    before(async () => {
      ctx = await backend.open();
      for (const name of NAMES) owners.push(await ensureOwner(ctx.lib.db, name));
      // each owner's "pebbles" concept (only its name and parent are read here)
      const now = new Date().toISOString();
      for (const id of owners) {
        await ctx.lib.db.insertInto('concepts').values({ owner_id: id, name: 'pebbles', wnid: null, head: '{}', report: '{}', examples: '{}', created_at: now, updated_at: now }).execute();
      }
    });
    after(async () => ctx.cleanup());

    /** Every viewer's tag counts (all owners and each owner) equal a brute-force count over photo_tags. */
    async function checkCounts(label: string) {
      const db = ctx.lib.db;
      const photos = await db.selectFrom('photos as p').innerJoin('analyses as a', 'a.photo_id', 'p.id').select(['p.id', 'p.owner_id', 'p.visibility']).execute();
      const byId = new Map(photos.map((p) => [p.id, p]));
      const tags = await db.selectFrom('photo_tags').select(['photo_id', 'concept_id']).execute();
      for (const viewer of [ADMIN, PUBLIC, ...owners.map(ownerViewer)] as Viewer[]) {
        for (const owner of [undefined, ...owners]) {
          const want = new Map<string, number>();
          for (const t of tags) {
            const p = byId.get(t.photo_id);
            if (!p || !canSee(viewer, p) || (owner !== undefined && p.owner_id !== owner)) continue;
            if (t.concept_id.includes('/')) {
              // a custom tag: only its owner, or an admin looking at that owner
              const mine = viewer.kind === 'owner' && viewer.ownerId === p.owner_id;
              if (!(mine || (viewer.kind === 'admin' && owner !== undefined))) continue;
            }
            want.set(t.concept_id, (want.get(t.concept_id) ?? 0) + 1);
          }
          const name = owner === undefined ? undefined : NAMES[owners.indexOf(owner)];
          const got = await categoryCounts(db, viewer, { owner: name, taxonomy: tax });
          assert.deepEqual(new Map(got.tags.map((t) => [t.id, t.count])), want, `${label}: ${JSON.stringify(viewer)} owner ${name}`);
        }
      }
      assert.deepEqual((await recountAll(db, ctx.lib.dialect)).drift, [], label);
    }

    it('tag counts stay exact through stores, re-stores, re-analyses, visibility changes, deletes and the bulk path', async () => {
      const db = ctx.lib.db;
      const r = rng(7);
      await randomChanges(db, r, 120, owners, (owner, i) => tagged(r, NAMES[owners.indexOf(owner)]!, i), 't');
      await checkCounts('after single stores');
      const batch = Array.from({ length: 40 }, (_, k) => {
        const o = Math.floor(r() * owners.length);
        return { ownerId: owners[o]!, visibility: (r() < 0.4 ? 'public' : 'private') as 'public' | 'private', facts: facts(`tb${k}`), analysis: tagged(r, NAMES[o]!, 500 + k) };
      });
      const ids = await bulkStorePhotos(ctx.lib, batch);
      const stored = await db.selectFrom('photo_tags').select('photo_id').where('photo_id', 'in', ids).execute();
      assert.ok(stored.length > 20, 'the bulk path stores the tags');
      await checkCounts('after the bulk path');
    });

    it('migration 0010_issue10_tag_counts counts the tags a library already stored', async () => {
      const db = ctx.lib.db;
      await db.deleteFrom('concept_counts').where('kind', '=', 'tag').execute();
      assert.ok((await recountAll(db, ctx.lib.dialect)).drift.length > 0);
      await libraryMigrations(ctx.lib.dialect)['0010_issue10_tag_counts']!.up(db as never);
      assert.deepEqual((await recountAll(db, ctx.lib.dialect)).drift, []);
    });

    it('an owner’s custom concept is counted for that owner only, through teach and delete', async () => {
      const db = ctx.lib.db;
      const [ann] = owners as [number];
      const stored = await ownerEmbeddings(db, ann, MODEL);
      const positives = stored.slice(0, 4).map((p) => ({ embedding: p.embedding, hash: p.hash }));
      const { concept } = await teachConcept(db, { owner: 'ann', name: 'my dogs', model: MODEL, positives, parent: 'n02084071' });
      assert.ok(concept.photos > 0);
      const mine = await tagCounts(db, ownerViewer(ann));
      assert.equal(mine.find((t) => t.id === 'ann/my dogs')?.count, concept.photos);
      assert.deepEqual(mine.find((t) => t.id === 'ann/my dogs'), { id: 'ann/my dogs', name: 'my dogs', wnid: 'n02084071', owner: 'ann', count: concept.photos, total: mine.find((t) => t.id === 'ann/my dogs')!.total });
      for (const viewer of [PUBLIC, ownerViewer(owners[1]!), ADMIN]) {
        assert.ok(!(await tagCounts(db, viewer)).some((t) => t.owner === 'ann'), `${JSON.stringify(viewer)} sees none of ann's concepts`);
      }
      assert.ok(!(await tagCounts(db, ownerViewer(owners[1]!), { owner: 'ann' }).catch(() => [])).some((t) => t.owner === 'ann'));
      assert.ok((await tagCounts(db, ADMIN, { owner: 'ann' })).some((t) => t.id === 'ann/my dogs'), 'an admin looking at ann sees them');
      // in ann's tree, under dog (its parent synset), with its own name
      const tree = (await categoryCounts(db, ownerViewer(ann), { taxonomy: tax })).tree!;
      const hit = findTag(tree, 'ann/my dogs');
      assert.equal(hit?.node.name, 'my dogs');
      assert.equal(hit?.parent?.wnid, 'n02084071');
      assert.equal(findTag((await categoryCounts(db, ADMIN, { taxonomy: tax })).tree!, 'ann/my dogs'), null);
      await checkCounts('after teach');
      // retrain with fewer positives: the count follows the re-scored photos
      await teachConcept(db, { owner: 'ann', name: 'my dogs', model: MODEL, positives: positives.slice(0, 2), parent: 'n02084071' });
      await checkCounts('after retrain');
      await deleteConcept(db, 'ann', 'my dogs');
      assert.ok(!(await tagCounts(db, ownerViewer(ann))).some((t) => t.id === 'ann/my dogs'));
      await checkCounts('after delete');
    });

    it('everyday tags hang under their synsets with a person’s name; a tag page lists its photos best first, per viewer', async () => {
      const db = ctx.lib.db;
      const tree = (await categoryCounts(db, ADMIN, { taxonomy: tax })).tree!;
      const dog = findTag(tree, 'dog');
      assert.equal(dog?.node.wnid, 'tag:dog');
      assert.equal(dog?.node.name, 'dog');
      assert.equal(dog?.parent?.wnid, 'n02084071', 'the dog tag is under the dog synset');
      // beach attaches outside this small hierarchy: at the root, never lost
      assert.ok(findTag(tree, 'beach'));
      for (const viewer of [ADMIN, PUBLIC, ownerViewer(owners[0]!)] as Viewer[]) {
        const want = await db
          .selectFrom('photo_tags as t')
          .innerJoin('photos as p', 'p.id', 't.photo_id')
          .select(['p.id', 'p.owner_id', 'p.visibility', 't.score'])
          .where('t.concept_id', '=', 'sunset')
          .execute();
        const visible = want.filter((p) => canSee(viewer, p)).sort((a, b) => b.score - a.score || a.id - b.id);
        const got: Array<{ id: number; score?: number }> = [];
        let cursor: string | undefined;
        do {
          const page = await listPhotos(db, viewer, { tag: 'sunset', limit: 7, cursor });
          got.push(...page.photos);
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        assert.deepEqual(got.map((p) => p.id), visible.map((p) => p.id), JSON.stringify(viewer));
        const count = (await tagCounts(db, viewer)).find((t) => t.id === 'sunset')?.count ?? 0;
        assert.equal(count, visible.length, 'the page lists what the count says');
      }
      await assert.rejects(listPhotos(db, ADMIN, { tag: 'sunset', limit: 5, cursor: (await listPhotos(db, ADMIN, { under: 'n02084071', limit: 1 })).nextCursor! }), /cursor/);
    });

    it('a custom tag is found only by its owner (or an admin); an unknown tag is not found', async () => {
      const db = ctx.lib.db;
      const ann = owners[0]!;
      assert.equal((await tagInfo(db, ownerViewer(ann), 'ann/pebbles')).name, 'pebbles');
      await assert.rejects(tagInfo(db, ownerViewer(owners[1]!), 'ann/pebbles'), /no tag/);
      await assert.rejects(tagInfo(db, PUBLIC, 'ann/pebbles'), /no tag/);
      await assert.rejects(tagInfo(db, ADMIN, 'nosuch'), /no tag/);
      assert.equal((await tagInfo(db, PUBLIC, 'beach')).name, 'beach');
    });
  });
}
