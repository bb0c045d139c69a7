// Library test fixtures: fresh databases (SQLite always, PostgreSQL when PICTOGRAPH_TEST_DATABASE_URL is set)
// and synthetic analyses over a small, real piece of the WordNet hierarchy.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { PhotoAnalysis } from '../../src/library/analysis.js';
import { dropPgSchema, openLibrary, type Library } from '../../src/library/db.js';
import assert from 'node:assert/strict';
import type { LibraryDb } from '../../src/library/db.js';
import { deletePhoto, replaceAnalysis, setVisibility, storePhoto, type PhotoFacts } from '../../src/library/store.js';
import type { TaxonomyView } from '../../src/library/taxonomy-view.js';
import { tempHome } from '../support/env.js';

export const pgUrl = process.env.PICTOGRAPH_TEST_DATABASE_URL?.trim() || undefined;

export interface Backend {
  name: 'sqlite' | 'postgres';
  open(): Promise<{ lib: Library; home: string; env: NodeJS.ProcessEnv; cleanup: () => Promise<void> }>;
}

/** The databases every library test case runs on. */
export const backends: Backend[] = [
  {
    name: 'sqlite',
    async open() {
      const h = tempHome('pictograph-lib-');
      const lib = await openLibrary({ env: { ...h.env, DATABASE_URL: '' } });
      return { lib, home: h.home, env: { ...h.env, DATABASE_URL: '' }, cleanup: async () => { await lib.close(); h.cleanup(); } };
    },
  },
  ...(pgUrl
    ? [
        {
          name: 'postgres' as const,
          async open() {
            const h = tempHome('pictograph-lib-');
            const schema = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
            const lib = await openLibrary({ databaseUrl: pgUrl, pgSchema: schema, env: h.env });
            return {
              lib,
              home: h.home,
              env: { ...h.env, DATABASE_URL: pgUrl },
              cleanup: async () => {
                await lib.close();
                await dropPgSchema(pgUrl, schema);
                h.cleanup();
              },
            };
          },
        },
      ]
    : []),
];

// A real fragment of WordNet: entity > physical entity > object > whole > {living thing > organism > animal >
// ... > dog > {Chihuahua, beagle}, cat > tabby}, {artifact > instrumentality > device > ... > {radio, iPod}}.
const TREE: Record<string, { name: string; parents: string[] }> = {
  n00001740: { name: 'entity', parents: [] },
  n00001930: { name: 'physical entity', parents: ['n00001740'] },
  n00002684: { name: 'object', parents: ['n00001930'] },
  n00003553: { name: 'whole', parents: ['n00002684'] },
  n00004258: { name: 'living thing', parents: ['n00003553'] },
  n00004475: { name: 'organism', parents: ['n00004258'] },
  n00015388: { name: 'animal', parents: ['n00004475'] },
  n02084071: { name: 'dog', parents: ['n00015388'] },
  n02085620: { name: 'Chihuahua', parents: ['n02084071'] },
  n02088364: { name: 'beagle', parents: ['n02084071'] },
  n02121620: { name: 'cat', parents: ['n00015388'] },
  n02123045: { name: 'tabby', parents: ['n02121620'] },
  n00021939: { name: 'artifact', parents: ['n00003553'] },
  n03575240: { name: 'instrumentality', parents: ['n00021939'] },
  n03183080: { name: 'device', parents: ['n03575240'] },
  n04041544: { name: 'radio', parents: ['n03183080'] },
  n03584254: { name: 'iPod', parents: ['n03183080'] },
};
export const LEAVES = ['n02085620', 'n02088364', 'n02123045', 'n04041544', 'n03584254'];

function ancestors(w: string): string[] {
  const out: string[] = [];
  for (let cur: string | undefined = w; cur; cur = TREE[cur]?.parents[0]) out.push(cur);
  return out;
}

/** A TaxonomyView over the fragment above. */
export const miniTaxonomy: TaxonomyView = {
  root: 'n00001740',
  leafCount: LEAVES.length,
  name: (w) => TREE[w]?.name,
  parents: (w) => TREE[w]?.parents ?? [],
  leavesUnder: (w) => LEAVES.filter((l) => ancestors(l).includes(w)).length,
  has: (w) => w in TREE,
  lookup: (word) => {
    const hits = Object.entries(TREE).filter(([, s]) => s.name.toLowerCase() === word.toLowerCase()).map(([w]) => w);
    if (hits.length) return hits;
    return word === 'puppy' ? ['n02084071'] : [];
  },
};

export const MODEL = { id: 'test-model', sha256: 'a'.repeat(64) };

/** A synthetic analysis: probability mass over the fragment's leaves, lifted with the `sum` rule. */
export function syntheticAnalysis(probs: Record<string, number>, model = MODEL, seed = 1): PhotoAnalysis {
  const node = new Map<string, number>();
  for (const [leaf, p] of Object.entries(probs)) for (const a of ancestors(leaf)) node.set(a, (node.get(a) ?? 0) + p);
  const labels = Object.entries(probs)
    .sort((a, b) => b[1] - a[1])
    .map(([wnid, score]) => ({ wnid, index: LEAVES.indexOf(wnid), name: TREE[wnid].name, score }));
  const top = labels[0];
  const embedding = new Float32Array(8);
  let s = seed;
  for (let i = 0; i < embedding.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    embedding[i] = (probs[LEAVES[i % LEAVES.length]] ?? 0) + (s / 2147483648) * 0.1;
  }
  return {
    model,
    labels,
    hedged: { wnid: top.wnid, name: top.name, score: top.score, target: 0.9 },
    nodeScores: [...node.entries()].filter(([, v]) => v >= 0.01).map(([wnid, score]) => ({ wnid, score })).sort((a, b) => b.score - a.score),
    categories: node.has('n02084071') ? [{ id: 'dog', name: 'dog', wnid: 'n02084071', score: node.get('n02084071') ?? 0 }] : [],
    embedding,
  };
}

/** Photo facts for a synthetic photo whose content is the string `key`. */
export function facts(key: string, name = `${key}.jpg`): PhotoFacts {
  return {
    content_hash: createHash('sha256').update(key).digest('hex'),
    original_path: join('/photos', name),
    file_name: name,
    size: 1000,
    width: 640,
    height: 480,
    format: 'jpeg',
    taken_at: null,
    camera: null,
    orientation: 1,
    gps_lat: null,
    gps_lon: null,
    thumb_small: null,
    thumb_large: null,
  };
}

/**
 * A random sequence of `steps` library changes for the count tests: new photos, the same content stored again
 * (its analysis replaced, still one photo), re-analyses, visibility changes and deletes (deleting twice is a
 * no-op). `analysis` gives each stored or re-analysed photo its analysis. Returns the photos still there and how
 * many changes of each kind were made (each kind at least 4 times).
 */
export async function randomChanges(
  db: LibraryDb,
  r: () => number,
  steps: number,
  owners: readonly number[],
  analysis: (ownerId: number, step: number, change: 'store' | 'restore' | 'reanalyse') => PhotoAnalysis,
  prefix = 'p',
): Promise<{ live: number[]; ops: Record<string, number> }> {
  const live: number[] = [];
  const ops: Record<string, number> = { store: 0, restore: 0, reanalyse: 0, visibility: 0, delete: 0 };
  const pick = (): number => live[Math.floor(r() * live.length)]!;
  for (let i = 0; i < steps; i++) {
    const x = r();
    if (x < 0.45 || live.length < 5) {
      const owner = owners[Math.floor(r() * owners.length)]!;
      live.push(await storePhoto(db, { ownerId: owner, visibility: r() < 0.4 ? 'public' : 'private', facts: facts(`${prefix}${i}`), analysis: analysis(owner, i, 'store') }));
      ops.store!++;
    } else if (x < 0.55) {
      const id = pick();
      const p = await db.selectFrom('photos').select(['owner_id', 'content_hash', 'visibility']).where('id', '=', id).executeTakeFirstOrThrow();
      const f = { ...facts('again'), content_hash: p.content_hash };
      assert.equal(await storePhoto(db, { ownerId: p.owner_id, visibility: p.visibility, facts: f, analysis: analysis(p.owner_id, i, 'restore') }), id);
      ops.restore!++;
    } else if (x < 0.7) {
      const id = pick();
      const p = await db.selectFrom('photos').select('owner_id').where('id', '=', id).executeTakeFirstOrThrow();
      await replaceAnalysis(db, id, analysis(p.owner_id, i, 'reanalyse'));
      ops.reanalyse!++;
    } else if (x < 0.88) {
      await setVisibility(db, pick(), r() < 0.5 ? 'public' : 'private');
      ops.visibility!++;
    } else {
      const [id] = live.splice(Math.floor(r() * live.length), 1);
      assert.equal(await deletePhoto(db, id!), true);
      assert.equal(await deletePhoto(db, id!), false, 'deleting twice is a no-op');
      ops.delete!++;
    }
  }
  assert.ok(Object.values(ops).every((n) => n > 3), JSON.stringify(ops));
  return { live, ops };
}

