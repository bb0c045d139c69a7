// Category counts: how many visible photos fall under each synset (node score >= a threshold), as a tree, with
// the tags (everyday and the viewer's own custom concepts) attached under their synsets.
import { countPhotos, readCounts, SYNSET_MIN } from './counts.js';
import type { LibraryDb } from './db.js';
import { resolveOwner } from './photos.js';
import { attachPoint, tagCounts, tagNodeId, type TagCount } from './tags.js';
import { primaryPath, type TaxonomyView } from './taxonomy-view.js';
import { visibleTo, type Viewer } from './viewer.js';

export interface CategoryCount {
  wnid: string;
  name?: string;
  /** Photos whose score for this synset is at least the threshold. */
  count: number;
}

export interface CategoryNode extends CategoryCount {
  /** A tag's node: the tag id (its `wnid` is "tag:ID", its name the concept's). */
  tag?: string;
  children: CategoryNode[];
}

export interface CategoryCounts {
  /** Photos counted (visible, and of the owner when one is given). */
  photos: number;
  minScore: number;
  /** Every synset with a non-zero count, by count descending. */
  counts: CategoryCount[];
  /** Tags the viewer may see with their photo counts (at each concept's calibrated threshold). */
  tags: TagCount[];
  /** The same counts nested by primary hypernym under the root, tags under their synsets (null without a taxonomy). */
  tree: CategoryNode | null;
}

/**
 * Counts photos under each synset. A photo is "under" a synset when its lifted score there is at least
 * `minScore` (default 0.5: more likely than not). Scoped to `viewer`, optionally to one owner.
 */
export async function categoryCounts(
  db: LibraryDb,
  viewer: Viewer,
  opts: { owner?: string; minScore?: number; taxonomy?: TaxonomyView } = {},
): Promise<CategoryCounts> {
  const minScore = opts.minScore ?? SYNSET_MIN;
  const ownerId = opts.owner !== undefined ? await resolveOwner(db, opts.owner, viewer) : undefined;
  const t = opts.taxonomy;
  if (minScore === SYNSET_MIN) {
    // The maintained counts: a few thousand rows whatever the library's size.
    const counts: CategoryCount[] = (await readCounts(db, viewer, 'synset', { ownerId, withPhotos: true }))
      .filter((r) => r.photos > 0)
      .map((r) => {
        const c: CategoryCount = { wnid: r.key, count: r.photos };
        const name = t?.name(r.key);
        if (name !== undefined) c.name = name;
        return c;
      })
      .sort((x, y) => y.count - x.count || (x.wnid < y.wnid ? -1 : 1));
    const photos = await countPhotos(db, viewer, ownerId);
    const tags = await tagCounts(db, viewer, { ownerId });
    return { photos, minScore, counts, tags, tree: t ? buildTree(counts, t, photos, tags) : null };
  }
  // Any other threshold: counted from the node scores.
  let total = db
    .selectFrom('photos as p')
    .innerJoin('analyses as a', 'a.photo_id', 'p.id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where(visibleTo(viewer, 'p'));
  let q = db
    .selectFrom('node_scores as ns')
    .innerJoin('photos as p', 'p.id', 'ns.photo_id')
    .select(['ns.wnid', (eb) => eb.fn.countAll<number>().as('n')])
    .where('ns.score', '>=', minScore)
    .where(visibleTo(viewer, 'p'));
  if (ownerId !== undefined) {
    total = total.where('p.owner_id', '=', ownerId);
    q = q.where('p.owner_id', '=', ownerId);
  }
  const rows = await q.groupBy('ns.wnid').execute();
  const counts: CategoryCount[] = rows
    .map((r) => {
      const c: CategoryCount = { wnid: r.wnid, count: Number(r.n) };
      const name = t?.name(r.wnid);
      if (name !== undefined) c.name = name;
      return c;
    })
    .sort((x, y) => y.count - x.count || (x.wnid < y.wnid ? -1 : 1));
  const photos = Number((await total.executeTakeFirstOrThrow()).n);
  const tags = await tagCounts(db, viewer, { ownerId });
  return { photos, minScore, counts, tags, tree: t ? buildTree(counts, t, photos, tags) : null };
}

/**
 * Nests counted synsets under their nearest counted primary ancestor, below the taxonomy's root; each tag under
 * its anchor synset, or the anchor's nearest counted ancestor ("beach" under "shore" when only that is counted).
 */
export function buildTree(counts: CategoryCount[], t: TaxonomyView, rootCount: number, tags: readonly TagCount[] = []): CategoryNode {
  const nodes = new Map<string, CategoryNode>();
  for (const c of counts) nodes.set(c.wnid, { ...c, children: [] });
  let root = nodes.get(t.root);
  if (!root) {
    root = { wnid: t.root, count: rootCount, children: [] };
    const name = t.name(t.root);
    if (name !== undefined) root.name = name;
    nodes.set(t.root, root);
  }
  for (const node of nodes.values()) {
    if (node === root) continue;
    const up = primaryPath(t, node.wnid).slice(1).find((w) => nodes.has(w));
    (nodes.get(up ?? t.root) ?? root).children.push(node);
  }
  for (const tag of tags) {
    const up = primaryPath(t, attachPoint(t, tag.wnid)).find((w) => nodes.has(w));
    (nodes.get(up ?? t.root) ?? root).children.push({ wnid: tagNodeId(tag.id), name: tag.name, count: tag.count, tag: tag.id, children: [] });
  }
  const sort = (n: CategoryNode) => {
    n.children.sort((x, y) => y.count - x.count || (x.wnid < y.wnid ? -1 : 1));
    n.children.forEach(sort);
  };
  sort(root);
  return root;
}
