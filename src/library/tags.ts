// Tags in the one hierarchy: every everyday concept (data/everyday-concepts.json) and every owner's custom concept
// attaches under a WordNet synset (its anchor), so the category tree, tag pages, search, profiles and compare
// include them. Counts come from the maintained `tag` counts (photos whose stored tag score reached the concept's
// calibrated threshold); an owner's custom concepts are visible only to that owner (and admins).
import { readEverydayVocabulary } from '../concepts/everyday.js';
import { isCustomTag, readCounts } from './counts.js';
import type { LibraryDb } from './db.js';
import { LibraryError } from './errors.js';
import { resolveOwner } from './photos.js';
import { findOwnerId } from './store.js';
import type { TaxonomyView } from './taxonomy-view.js';
import type { Viewer } from './viewer.js';

/** WordNet's `entity`: where a custom concept taught without a parent attaches. */
export const ENTITY = 'n00001740';

export interface TagInfo {
  /** Everyday id ("beach") or "OWNER/NAME". */
  id: string;
  /** What a person reads ("beach", "group of people", a custom concept's own name). */
  name: string;
  /** The WordNet synset the concept attaches under. */
  wnid: string;
  /** The owner of a custom concept; null for everyday concepts. */
  owner: string | null;
}

export interface TagCount extends TagInfo {
  /** Photos carrying the tag (score at or above the concept's threshold when it was stored). */
  count: number;
  /** Sum of their tag scores. */
  total: number;
}

let everyday: Map<string, TagInfo> | undefined;
/** The everyday concepts as tags, by id (the committed vocabulary, read once). */
export function everydayTags(): Map<string, TagInfo> {
  everyday ??= new Map(readEverydayVocabulary().map((c) => [c.id, { id: c.id, name: c.name.toLowerCase(), wnid: c.wnid, owner: null }]));
  return everyday;
}

/** Splits "OWNER/NAME" (concept names have no '/'; owner names may). */
function splitCustom(id: string): { owner: string; name: string } {
  const at = id.lastIndexOf('/');
  return { owner: id.slice(0, at), name: id.slice(at + 1) };
}

/** The custom concepts among `ids` (all "OWNER/NAME"), as tags. */
async function customTags(db: LibraryDb, ids: string[]): Promise<Map<string, TagInfo>> {
  const out = new Map<string, TagInfo>();
  if (ids.length === 0) return out;
  const rows = await db
    .selectFrom('concepts as c')
    .innerJoin('owners as o', 'o.id', 'c.owner_id')
    .select(['o.name as owner', 'c.name', 'c.wnid'])
    .where('c.owner_id', 'in', db.selectFrom('owners').select('id').where('name', 'in', [...new Set(ids.map((id) => splitCustom(id).owner))]))
    .execute();
  const wanted = new Set(ids);
  for (const r of rows) {
    const id = `${r.owner}/${r.name}`;
    if (wanted.has(id)) out.set(id, { id, name: r.name, wnid: r.wnid ?? ENTITY, owner: r.owner });
  }
  return out;
}

/**
 * The tag `id` if the viewer may see it: everyday tags always; a custom concept only by its owner or an admin.
 * Anything else is `not_found` (another owner's concept looks exactly like one that does not exist).
 */
export async function tagInfo(db: LibraryDb, viewer: Viewer, id: string): Promise<TagInfo> {
  const missing = () => new LibraryError('not_found', `no tag ${JSON.stringify(id)}`);
  if (!isCustomTag(id)) {
    const t = everydayTags().get(id);
    if (!t) throw missing();
    return t;
  }
  const { owner } = splitCustom(id);
  if (viewer.kind !== 'admin') {
    const ownerId = await findOwnerId(db, owner);
    if (viewer.kind !== 'owner' || ownerId === undefined || viewer.ownerId !== ownerId) throw missing();
  }
  const t = (await customTags(db, [id])).get(id);
  if (!t) throw missing();
  return t;
}

/**
 * Tags with the number of photos carrying them that the viewer may see (of one owner when given), most photos
 * first. Read from the maintained counts: a custom concept's tags are counted only in its owner's private scope,
 * so they appear for that owner (and an admin looking at that owner) and nobody else.
 */
export async function tagCounts(db: LibraryDb, viewer: Viewer, opts: { owner?: string; ownerId?: number } = {}): Promise<TagCount[]> {
  const ownerId = opts.ownerId ?? (opts.owner !== undefined ? await resolveOwner(db, opts.owner, viewer) : undefined);
  const rows = (await readCounts(db, viewer, 'tag', { ownerId, withPhotos: true })).filter((r) => r.photos > 0);
  const custom = await customTags(db, rows.filter((r) => isCustomTag(r.key)).map((r) => r.key));
  const out: TagCount[] = [];
  for (const r of rows) {
    const info = isCustomTag(r.key) ? custom.get(r.key) : everydayTags().get(r.key);
    if (info) out.push({ ...info, count: r.photos, total: r.total });
  }
  return out.sort((a, b) => b.count - a.count || (a.id < b.id ? -1 : 1));
}

/** The synset inside the hierarchy a tag's node hangs from: its anchor, or the anchor's nearest hypernym inside. */
export function attachPoint(t: TaxonomyView, wnid: string): string {
  if (t.has(wnid)) return wnid;
  return t.nearestInside?.(wnid) ?? t.root;
}

/** A tag's node id in the category tree (tree nodes are keyed by `wnid`; a tag's is "tag:ID"). */
export function tagNodeId(id: string): string {
  return `tag:${id}`;
}

/**
 * Tags a search query names (the whole query, case-insensitive): everyday concepts by id or name ("sunset",
 * "other animal") and the viewer's own custom concepts by name.
 */
export async function tagsNamed(db: LibraryDb, viewer: Viewer, query: string): Promise<TagInfo[]> {
  const q = query.trim().toLowerCase().replace(/\s+/g, ' ');
  if (q === '') return [];
  const out = [...everydayTags().values()].filter((t) => t.id === q || t.name === q || t.id.replace(/-/g, ' ') === q);
  if (viewer.kind === 'owner') {
    const rows = await db
      .selectFrom('concepts as c')
      .innerJoin('owners as o', 'o.id', 'c.owner_id')
      .select(['o.name as owner', 'c.name', 'c.wnid'])
      .where('c.owner_id', '=', viewer.ownerId)
      .execute();
    for (const r of rows) if (r.name.toLowerCase() === q) out.push({ id: `${r.owner}/${r.name}`, name: r.name, wnid: r.wnid ?? ENTITY, owner: r.owner });
  }
  return out;
}
