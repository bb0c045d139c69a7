// Owner profiles (sum of node scores over their visible photos, top categories) and comparing two owners.
import type { CategoryScore } from './analysis.js';
import { compareCategoryShares, compareProfiles, type CategoryComparison, type Comparison, type Profile, type ScoredSynset } from './compare.js';
import type { LibraryDb } from './db.js';
import { resolveOwner } from './photos.js';
import { informationBits, type TaxonomyView } from './taxonomy-view.js';
import { visibleTo, type Viewer } from './viewer.js';

export interface CategoryTotal {
  id: string;
  name: string;
  wnid: string;
  /** Sum of the category's score over the photos. */
  total: number;
  /** total / photo count. */
  mean: number;
}

export interface OwnerProfile {
  owner: string;
  /** Photos of this owner the viewer may see (the profile is over these only). */
  photos: number;
  /** Sum and mean node score per synset, by total descending. */
  nodes: { wnid: string; name?: string; total: number; mean: number }[];
  /** The most telling synsets (mean x information bits), best first. */
  topSynsets: ScoredSynset[];
  /** Consumer categories by total score, best first. */
  topCategories: CategoryTotal[];
}

async function profileRows(db: LibraryDb, viewer: Viewer, ownerId: number) {
  const count = await db
    .selectFrom('photos as p')
    .innerJoin('analyses as a', 'a.photo_id', 'p.id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('p.owner_id', '=', ownerId)
    .where(visibleTo(viewer, 'p'))
    .executeTakeFirstOrThrow();
  const sums = await db
    .selectFrom('node_scores as ns')
    .innerJoin('photos as p', 'p.id', 'ns.photo_id')
    .select(['ns.wnid', (eb) => eb.fn.sum<number>('ns.score').as('total')])
    .where('p.owner_id', '=', ownerId)
    .where(visibleTo(viewer, 'p'))
    .groupBy('ns.wnid')
    .execute();
  // Sums are rounded to 1e-9 so that both databases (which add in different orders) give identical results.
  return { n: Number(count.n), sums: sums.map((s) => ({ wnid: s.wnid, total: Math.round(Number(s.total) * 1e9) / 1e9 })) };
}

async function categoryTotals(db: LibraryDb, viewer: Viewer, ownerId: number, n: number): Promise<CategoryTotal[]> {
  const totals = new Map<string, CategoryTotal>();
  for (let afterId = 0; ; ) {
    const rows = await db
      .selectFrom('photos as p')
      .innerJoin('analyses as a', 'a.photo_id', 'p.id')
      .select(['p.id', 'a.categories'])
      .where('p.owner_id', '=', ownerId)
      .where(visibleTo(viewer, 'p'))
      .where('p.id', '>', afterId)
      .orderBy('p.id')
      .limit(2000)
      .execute();
    for (const r of rows) {
      for (const c of JSON.parse(r.categories) as CategoryScore[]) {
        const t = totals.get(c.id) ?? { id: c.id, name: c.name, wnid: c.wnid, total: 0, mean: 0 };
        t.total += c.score;
        totals.set(c.id, t);
      }
    }
    if (rows.length < 2000) break;
    afterId = rows[rows.length - 1].id;
  }
  const out = [...totals.values()];
  for (const t of out) t.mean = n > 0 ? t.total / n : 0;
  return out.sort((x, y) => y.total - x.total || (x.id < y.id ? -1 : 1));
}

/** An owner's profile over the photos of theirs that `viewer` may see. */
export async function ownerProfile(db: LibraryDb, viewer: Viewer, ownerName: string, opts: { taxonomy?: TaxonomyView; top?: number } = {}): Promise<OwnerProfile> {
  const ownerId = await resolveOwner(db, ownerName, viewer);
  const top = opts.top ?? 10;
  const t = opts.taxonomy;
  const { n, sums } = await profileRows(db, viewer, ownerId);
  const nodes = sums
    .map((s) => {
      const item: OwnerProfile['nodes'][number] = { wnid: s.wnid, total: s.total, mean: n > 0 ? s.total / n : 0 };
      const name = t?.name(s.wnid);
      if (name !== undefined) item.name = name;
      return item;
    })
    .sort((x, y) => y.total - x.total || (x.wnid < y.wnid ? -1 : 1));
  const topSynsets = nodes
    .map((x) => {
      const bits = t ? informationBits(t, x.wnid) : 1;
      const s: ScoredSynset = { wnid: x.wnid, value: x.mean, weight: x.mean * bits };
      if (x.name !== undefined) s.name = x.name;
      return s;
    })
    .filter((s) => s.weight > 0)
    .sort((x, y) => y.weight - x.weight || (x.wnid < y.wnid ? -1 : 1))
    .slice(0, top);
  return { owner: ownerName.trim(), photos: n, nodes, topSynsets, topCategories: (await categoryTotals(db, viewer, ownerId, n)).slice(0, top) };
}

export interface OwnerComparison extends Comparison {
  a: { owner: string; photos: number };
  b: { owner: string; photos: number };
  /** The same comparison in everyday categories (what people call things). */
  categories: CategoryComparison;
}

/** Compares two owners' profiles (per-photo means, so collection sizes do not matter) over what `viewer` may see. */
export async function compareOwners(
  db: LibraryDb,
  viewer: Viewer,
  a: string,
  b: string,
  opts: { taxonomy?: TaxonomyView; top?: number; categoryParent?: (id: string) => string | undefined } = {},
): Promise<OwnerComparison> {
  const [ida, idb] = [await resolveOwner(db, a, viewer), await resolveOwner(db, b, viewer)];
  const [ra, rb] = [await profileRows(db, viewer, ida), await profileRows(db, viewer, idb)];
  const toProfile = (r: { n: number; sums: { wnid: string; total: number }[] }): Profile =>
    new Map(r.sums.map((s) => [s.wnid, r.n > 0 ? s.total / r.n : 0]));
  const cmp = compareProfiles(toProfile(ra), toProfile(rb), opts.taxonomy, opts.top ?? 10);
  const [ca, cb] = [await categoryTotals(db, viewer, ida, ra.n), await categoryTotals(db, viewer, idb, rb.n)];
  const categories = compareCategoryShares(ca, cb, { top: opts.top ?? 10, parentOf: opts.categoryParent });
  return { a: { owner: a.trim(), photos: ra.n }, b: { owner: b.trim(), photos: rb.n }, ...cmp, categories };
}
