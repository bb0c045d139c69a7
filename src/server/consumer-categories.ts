// Counts for the concept pages: everyday categories ("dog", "food", "beach") with how many visible photos
// fall in each and a cover photo (from each photo's stored categories), and photo counts under given synsets.
import type { CategoryScore } from '../library/analysis.js';
import type { LibraryDb } from '../library/db.js';
import { resolveOwner } from '../library/photos.js';
import { sql } from 'kysely';
import { CATEGORY_MIN, categoryDefinitions, readCounts, SYNSET_MIN } from '../library/counts.js';
import { dialectOf } from '../library/terms.js';
import { visibleTo, type Viewer } from '../library/viewer.js';

const COVER_CHOICES = 4;

export interface ConsumerCategoryCount {
  id: string;
  name: string;
  wnid: string;
  count: number;
  /** The photo that fits the category best (its id), for a cover thumbnail. */
  coverPhotoId: number;
}

/**
 * Counts visible photos per consumer category (a photo counts in each stored category scoring at least
 * `minScore`), by count descending. Scans the visible photos' analyses in id-ordered batches.
 */
export async function consumerCategoryCounts(
  db: LibraryDb,
  viewer: Viewer,
  opts: { owner?: string; minScore?: number } = {},
): Promise<ConsumerCategoryCount[]> {
  const minScore = opts.minScore ?? CATEGORY_MIN;
  const ownerId = opts.owner !== undefined ? await resolveOwner(db, opts.owner, viewer) : undefined;
  if (minScore === CATEGORY_MIN) return maintainedCategoryCounts(db, viewer, ownerId);
  // Per category, its few best photos: covers are then chosen so that nested categories (animal, mammal, dog)
  // do not all show the same photo.
  const totals = new Map<string, ConsumerCategoryCount & { best: Array<{ id: number; score: number }> }>();
  const BATCH = 2000;
  for (let afterId = 0; ; ) {
    let q = db
      .selectFrom('photos as p')
      .innerJoin('analyses as a', 'a.photo_id', 'p.id')
      .select(['p.id', 'a.categories'])
      .where(visibleTo(viewer, 'p'))
      .where('p.id', '>', afterId);
    if (ownerId !== undefined) q = q.where('p.owner_id', '=', ownerId);
    const rows = await q.orderBy('p.id').limit(BATCH).execute();
    for (const r of rows) {
      for (const c of JSON.parse(r.categories) as CategoryScore[]) {
        if (!(c.score >= minScore)) continue;
        const t = totals.get(c.id);
        if (!t) totals.set(c.id, { id: c.id, name: c.name, wnid: c.wnid, count: 1, coverPhotoId: r.id, best: [{ id: r.id, score: c.score }] });
        else {
          t.count++;
          if (t.best.length < COVER_CHOICES || c.score > t.best[t.best.length - 1]!.score) {
            t.best.push({ id: r.id, score: c.score });
            t.best.sort((x, y) => y.score - x.score || x.id - y.id);
            t.best.length = Math.min(t.best.length, COVER_CHOICES);
          }
        }
      }
    }
    if (rows.length < BATCH) break;
    afterId = rows[rows.length - 1]!.id;
  }
  const ordered = [...totals.values()].sort((a, b) => b.count - a.count || (a.id < b.id ? -1 : 1));
  const covers = new Set<number>();
  for (const c of ordered) {
    c.coverPhotoId = (c.best.find((p) => !covers.has(p.id)) ?? c.best[0]!).id;
    covers.add(c.coverPhotoId);
  }
  return ordered.map(({ best: _best, ...c }) => c);
}

/**
 * The same from the maintained counts; each cover is one of the best-scoring visible photos under the
 * category's synsets (an index range scan per category, a few rows each).
 */
async function maintainedCategoryCounts(db: LibraryDb, viewer: Viewer, ownerId: number | undefined): Promise<ConsumerCategoryCount[]> {
  const defs = categoryDefinitions();
  const ordered = (await readCounts(db, viewer, 'category', { ownerId, withPhotos: true }))
    .filter((r) => r.photos > 0 && defs.has(r.key))
    .sort((a, b) => b.photos - a.photos || (a.key < b.key ? -1 : 1));
  // Each category's few best visible photos: one statement of index probes, one per (category, synset), each
  // a range scan of (wnid, score desc) that stops after a few visible rows.
  // SQLite: CROSS JOIN keeps node_scores outermost (its planner might otherwise walk every public photo)
  const join = dialectOf(db) === 'sqlite' ? sql.raw('cross join') : sql.raw('join');
  const probes = ordered.flatMap((r, i) =>
    defs.get(r.key)!.wnids.map((wnid, j) => {
      const owner = ownerId !== undefined ? sql`and p.owner_id = ${ownerId} and ns.owner_id = ${ownerId}` : sql``;
      return sql`select * from (select ${i} as c, ns.photo_id, ns.score from node_scores ns ${join} photos p on p.id = ns.photo_id
        where ns.wnid = ${wnid} and ${visibleTo(viewer, 'p')} ${owner} order by ns.score desc, ns.photo_id limit ${sql.lit(COVER_CHOICES)}) ${sql.raw(`q${i}_${j}`)}`;
    }),
  );
  const best = new Map<number, Array<{ photo_id: number; score: number }>>();
  const batches: Array<Array<{ c: number; photo_id: number; score: number }>> = [];
  if (dialectOf(db) === 'postgres') {
    // PostgreSQL: one lateral probe per (category, synset) pair in a single small plan (planning a union of a
    // hundred subqueries costs more than running it)
    const pairs = ordered.flatMap((r, i) => defs.get(r.key)!.wnids.map((wnid) => ({ i, wnid })));
    const owner = ownerId !== undefined ? sql`and p.owner_id = ${ownerId} and ns.owner_id = ${ownerId}` : sql``;
    const rows = await sql<{ c: number; photo_id: number; score: number }>`select q.c, x.photo_id, x.score
      from unnest(${pairs.map((x) => x.i)}::int[], ${pairs.map((x) => x.wnid)}::text[]) as q(c, wnid)
      cross join lateral (select ns.photo_id, ns.score from node_scores ns join photos p on p.id = ns.photo_id
        where ns.wnid = q.wnid and ${visibleTo(viewer, 'p')} ${owner} order by ns.score desc, ns.photo_id limit ${sql.lit(COVER_CHOICES)}) x`.execute(db);
    batches.push(rows.rows);
  } else
    for (let i = 0; i < probes.length; i += 100) batches.push((await sql<{ c: number; photo_id: number; score: number }>`${sql.join(probes.slice(i, i + 100), sql` union all `)}`.execute(db)).rows);
  for (const rows of batches) {
    for (const r of rows) {
      const list = best.get(Number(r.c)) ?? [];
      if (!list.some((x) => x.photo_id === r.photo_id)) list.push(r);
      best.set(Number(r.c), list);
    }
  }
  const covers = new Set<number>();
  const out: ConsumerCategoryCount[] = [];
  ordered.forEach((r, i) => {
    const def = defs.get(r.key)!;
    const list = (best.get(i) ?? []).sort((x, y) => y.score - x.score || x.photo_id - y.photo_id);
    const cover = list.find((b) => !covers.has(b.photo_id)) ?? list[0];
    if (!cover) return;
    covers.add(cover.photo_id);
    out.push({ id: r.key, name: def.name, wnid: def.wnids[0]!, count: r.photos, coverPhotoId: cover.photo_id });
  });
  return out;
}

/**
 * Visible photos under each of the given synsets (score at least `minScore`, the library's category-tree
 * rule), by index range scans on (wnid, score) rather than a scan of every node score.
 */
export async function countsUnder(
  db: LibraryDb,
  viewer: Viewer,
  wnids: string[],
  opts: { owner?: string; minScore?: number } = {},
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (wnids.length === 0) return out;
  const ownerId = opts.owner !== undefined ? await resolveOwner(db, opts.owner, viewer) : undefined;
  if ((opts.minScore ?? SYNSET_MIN) === SYNSET_MIN) {
    for (const r of await readCounts(db, viewer, 'synset', { ownerId, keys: wnids, withPhotos: true })) if (r.photos > 0) out.set(r.key, r.photos);
    return out;
  }
  for (let i = 0; i < wnids.length; i += 200) {
    let q = db
      .selectFrom('node_scores as ns')
      .innerJoin('photos as p', 'p.id', 'ns.photo_id')
      .select(['ns.wnid', sql<number>`count(*)`.as('n')])
      .where('ns.wnid', 'in', wnids.slice(i, i + 200))
      .where('ns.score', '>=', opts.minScore ?? 0.5)
      .where(visibleTo(viewer, 'p'));
    if (ownerId !== undefined) q = q.where('p.owner_id', '=', ownerId);
    for (const r of await q.groupBy('ns.wnid').execute()) out.set(r.wnid, Number(r.n));
  }
  return out;
}
