// Owner profiles (sum of node scores over their visible photos, top categories) and comparing two owners.
import type { CategoryScore } from './analysis.js';
import { compareCategoryShares, compareProfiles, type CategoryComparison, type Comparison, type Profile, type ScoredSynset } from './compare.js';
import { categoryDefinitions, countPhotos, readCounts } from './counts.js';
import type { LibraryDb } from './db.js';
import { resolveOwner } from './photos.js';
import { tagCounts } from './tags.js';
import { informationBits, type TaxonomyView } from './taxonomy-view.js';
import type { Viewer } from './viewer.js';

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
  /**
   * Tags (everyday, and the owner's own custom concepts when the owner is looking) by photos carrying them, most
   * first; `mean` is the share of the owner's photos.
   */
  topTags: TagTotal[];
}

export interface TagTotal {
  id: string;
  name: string;
  wnid: string;
  /** Photos carrying the tag. */
  count: number;
  /** count / photos. */
  mean: number;
}

async function tagTotals(db: LibraryDb, viewer: Viewer, ownerId: number, n: number, everydayOnly = false): Promise<TagTotal[]> {
  return (await tagCounts(db, viewer, { ownerId }))
    .filter((t) => !everydayOnly || t.owner === null)
    .map((t) => ({ id: t.id, name: t.name, wnid: t.wnid, count: t.count, mean: n > 0 ? t.count / n : 0 }));
}

async function profileRows(db: LibraryDb, viewer: Viewer, ownerId: number) {
  // Both from the maintained counts: score sums are kept in millionths, so both databases agree exactly.
  const n = await countPhotos(db, viewer, ownerId);
  const sums = (await readCounts(db, viewer, 'synset', { ownerId })).map((s) => ({ wnid: s.key, total: s.total }));
  return { n, sums };
}

async function categoryTotals(db: LibraryDb, viewer: Viewer, ownerId: number, n: number): Promise<CategoryTotal[]> {
  const defs = categoryDefinitions();
  const out = (await readCounts(db, viewer, 'category', { ownerId })).map((r) => {
    const def = defs.get(r.key);
    return { id: r.key, name: def?.name ?? r.key, wnid: def?.wnids[0] ?? '', total: r.total, mean: n > 0 ? r.total / n : 0 };
  });
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
  return {
    owner: ownerName.trim(),
    photos: n,
    nodes,
    topSynsets,
    topCategories: (await categoryTotals(db, viewer, ownerId, n)).slice(0, top),
    topTags: (await tagTotals(db, viewer, ownerId, n)).slice(0, top),
  };
}

export interface OwnerComparison extends Comparison {
  a: { owner: string; photos: number };
  b: { owner: string; photos: number };
  /** The same comparison in everyday categories (what people call things). */
  categories: CategoryComparison;
  /** And in everyday tags (shares of each owner's photos carrying the tag; custom concepts are private). */
  tags: CategoryComparison;
}

/** Compares two owners' profiles (per-photo means, so collection sizes do not matter) over what `viewer` may see. */
export async function compareOwners(
  db: LibraryDb,
  viewer: Viewer,
  a: string,
  b: string,
  opts: { taxonomy?: TaxonomyView; top?: number; categoryParent?: (id: string) => string | undefined } = {},
): Promise<OwnerComparison> {
  // the two owners' reads side by side (two pooled connections on PostgreSQL; one after the other on SQLite)
  const [ida, idb] = [await resolveOwner(db, a, viewer), await resolveOwner(db, b, viewer)];
  const [ra, rb] = await Promise.all([profileRows(db, viewer, ida), profileRows(db, viewer, idb)]);
  const toProfile = (r: { n: number; sums: { wnid: string; total: number }[] }): Profile =>
    new Map(r.sums.map((s) => [s.wnid, r.n > 0 ? s.total / r.n : 0]));
  const cmp = compareProfiles(toProfile(ra), toProfile(rb), opts.taxonomy, opts.top ?? 10);
  const [ca, cb, ta, tb] = await Promise.all([
    categoryTotals(db, viewer, ida, ra.n),
    categoryTotals(db, viewer, idb, rb.n),
    tagTotals(db, viewer, ida, ra.n, true),
    tagTotals(db, viewer, idb, rb.n, true),
  ]);
  const categories = compareCategoryShares(ca, cb, { top: opts.top ?? 10, parentOf: opts.categoryParent });
  const tags = compareCategoryShares(ta, tb, { top: opts.top ?? 10 });
  return { a: { owner: a.trim(), photos: ra.n }, b: { owner: b.trim(), photos: rb.n }, ...cmp, categories, tags };
}
