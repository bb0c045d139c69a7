// Photo queries: pages of photos (optionally under a synset, best first, keyset-paged), one photo's detail, similar photos.
import { sql, type SqlBool } from 'kysely';
import type { CategoryScore, HedgedLabel, Label, ModelRef } from './analysis.js';
import type { Timeline } from '../taxonomy/timeline.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { LibraryDb } from './db.js';
import { bytesToEmbedding } from './embedding.js';
import { LibraryError } from './errors.js';
import { bruteForceSimilar, type SimilarIndex } from './similar-index.js';
import { findOwnerId } from './store.js';
import { primaryPath, type TaxonomyView } from './taxonomy-view.js';
import { visibleTo, type Viewer } from './viewer.js';

export interface PhotoSummary {
  id: number;
  owner: string;
  /** The file's name (no folders). */
  file: string;
  /** Where the file was ingested from, on the ingesting machine (the server must not expose it). */
  originalPath: string;
  visibility: 'private' | 'public';
  width: number;
  height: number;
  takenAt: string | null;
  model: ModelRef;
  hedged: HedgedLabel | null;
  labels: Label[];
  /** Thumbnail file names relative to the media dir. */
  thumbnails: { small: string | null; large: string | null };
  /** Score of the synset the listing is under (absent for unordered listings). */
  score?: number;
}

export interface PhotoPage {
  photos: PhotoSummary[];
  /** Cursor for the next page, null at the end. */
  nextCursor: string | null;
}

export interface ListPhotosOptions {
  /** Only photos under this synset (descendants included), best first. */
  under?: string;
  /** Only this owner's photos (by name). */
  owner?: string;
  limit?: number;
  cursor?: string;
  taxonomy?: TaxonomyView;
  /** With `under`: only photos scoring at least this for the synset (default: every stored score, floor 0.01). */
  minScore?: number;
  /** Without `under`: newest (highest id) first instead of oldest first (cursors remember the order). */
  newestFirst?: boolean;
  /** Only photos showing a person whose name contains this (case-insensitive; see `personPhotoIds`). */
  person?: string;
  /**
   * Only photos carrying this tag (an everyday concept id or "OWNER/NAME"), best tag score first; the caller
   * checks the viewer may see the tag (`tagInfo`). Not combined with `under`.
   */
  tag?: string;
}

export const MAX_PAGE = 500;

export function checkWnid(wnid: string, taxonomy?: TaxonomyView): void {
  if (!/^n\d{8}$/.test(wnid)) throw new LibraryError('unknown_wnid', `not a WordNet noun id: ${JSON.stringify(wnid)} (expected e.g. n02084071)`);
  if (taxonomy && !taxonomy.has(wnid)) throw new LibraryError('unknown_wnid', `synset ${wnid} is not in the model's hierarchy`);
}

export function checkLimit(limit: number | undefined, fallback = 50): number {
  const n = limit ?? fallback;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_PAGE) throw new LibraryError('bad_limit', `limit must be an integer from 1 to ${MAX_PAGE}`);
  return n;
}

/**
 * The id of the owner named `name` as `viewer` may know it. Admins know every owner and an owner knows
 * themselves; anyone else knows an owner only through a photo they may see. "No such owner" and "an owner with
 * nothing visible to you" are the same error, so owner names cannot be probed.
 */
export async function resolveOwner(db: LibraryDb, name: string, viewer: Viewer): Promise<number> {
  const id = await findOwnerId(db, name);
  const known =
    id !== undefined &&
    (viewer.kind === 'admin' ||
      (viewer.kind === 'owner' && viewer.ownerId === id) ||
      (await db
        .selectFrom('photos as p')
        .innerJoin('analyses as a', 'a.photo_id', 'p.id')
        .select('p.id')
        .where('p.owner_id', '=', id)
        .where(visibleTo(viewer, 'p'))
        .limit(1)
        .executeTakeFirst()) !== undefined);
  if (!known) throw new LibraryError('unknown_owner', `no owner named ${JSON.stringify(name)} with photos you may see`);
  return id;
}

interface SummaryRow {
  id: number;
  owner: string;
  file_name: string;
  original_path: string;
  visibility: 'private' | 'public';
  width: number;
  height: number;
  taken_at: string | null;
  thumb_small: string | null;
  thumb_large: string | null;
  model_id: string;
  model_sha256: string;
  hedged_wnid: string | null;
  hedged_name: string | null;
  hedged_score: number | null;
  hedged_target: number | null;
  labels: string;
  score?: number;
}

function baseQuery(db: LibraryDb) {
  return db
    .selectFrom('photos as p')
    .innerJoin('owners as o', 'o.id', 'p.owner_id')
    .innerJoin('analyses as a', 'a.photo_id', 'p.id')
    .select([
      'p.id',
      'o.name as owner',
      'p.file_name',
      'p.original_path',
      'p.visibility',
      'p.width',
      'p.height',
      'p.taken_at',
      'p.thumb_small',
      'p.thumb_large',
      'a.model_id',
      'a.model_sha256',
      'a.hedged_wnid',
      'a.hedged_name',
      'a.hedged_score',
      'a.hedged_target',
      'a.labels',
    ]);
}

function toSummary(r: SummaryRow): PhotoSummary {
  const s: PhotoSummary = {
    id: r.id,
    owner: r.owner,
    file: r.file_name,
    originalPath: r.original_path,
    visibility: r.visibility,
    width: r.width,
    height: r.height,
    takenAt: r.taken_at,
    model: { id: r.model_id, sha256: r.model_sha256 },
    hedged:
      r.hedged_wnid === null
        ? null
        : { wnid: r.hedged_wnid, name: r.hedged_name ?? r.hedged_wnid, score: r.hedged_score ?? 0, target: r.hedged_target ?? 0 },
    labels: JSON.parse(r.labels) as Label[],
    thumbnails: { small: r.thumb_small, large: r.thumb_large },
  };
  if (r.score !== undefined) s.score = r.score;
  return s;
}

/** Summaries of the given photos that `viewer` may see (in no particular order). */
export async function photoSummaries(db: LibraryDb, viewer: Viewer, ids: number[]): Promise<PhotoSummary[]> {
  if (ids.length === 0) return [];
  return (await baseQuery(db).where('p.id', 'in', ids).where(visibleTo(viewer, 'p')).execute()).map(toSummary);
}

/**
 * Ids of photos showing a person named like `name` (substring, case-insensitive), as a subquery. People are
 * per owner: an owner matches only their own people; others match only people of owners who made names public.
 */
export function personPhotoIds(db: LibraryDb, viewer: Viewer, name: string) {
  const needle = `%${name.trim().toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c)}%`;
  let q = db
    .selectFrom('faces as f')
    .innerJoin('people as pe', 'pe.id', 'f.person_id')
    .innerJoin('owners as fo', 'fo.id', 'pe.owner_id')
    .select('f.photo_id')
    .where(sql<SqlBool>`lower(pe.name) like ${needle} escape '\\'`);
  if (viewer.kind === 'owner') q = q.where((eb) => eb.or([eb('pe.owner_id', '=', viewer.ownerId), eb('fo.faces_public', '=', 1)]));
  else if (viewer.kind === 'public') q = q.where('fo.faces_public', '=', 1);
  return q;
}

/** A page of the photos `viewer` may see: all of them by id, or those under a synset by score then id. */
export async function listPhotos(db: LibraryDb, viewer: Viewer, opts: ListPhotosOptions = {}): Promise<PhotoPage> {
  const limit = checkLimit(opts.limit);
  if (opts.tag !== undefined) {
    if (opts.under !== undefined) throw new LibraryError('bad_request', 'list photos under a synset or with a tag, not both');
    return listTagPhotos(db, viewer, opts.tag, opts, limit);
  }
  const under = opts.under ?? null;
  if (under !== null) checkWnid(under, opts.taxonomy);
  const newest = under === null && opts.newestFirst === true;
  const after = opts.cursor ? decodeCursor(opts.cursor, under, newest) : null;
  const ownerId = opts.owner !== undefined ? await resolveOwner(db, opts.owner, viewer) : undefined;

  let rows: SummaryRow[];
  const person = opts.person !== undefined ? personPhotoIds(db, viewer, opts.person) : undefined;
  if (under === null) {
    let q = baseQuery(db).where(visibleTo(viewer, 'p'));
    if (person) q = q.where('p.id', 'in', person);
    if (ownerId !== undefined) q = q.where('p.owner_id', '=', ownerId);
    if (after) q = q.where('p.id', newest ? '<' : '>', after.id);
    rows = await q.orderBy('p.id', newest ? 'desc' : 'asc').limit(limit + 1).execute();
  } else {
    let q = baseQuery(db)
      .innerJoin('node_scores as ns', 'ns.photo_id', 'p.id')
      .select('ns.score')
      .where('ns.wnid', '=', under)
      .where(visibleTo(viewer, 'p'));
    if (opts.minScore !== undefined) {
      if (!Number.isFinite(opts.minScore)) throw new LibraryError('bad_request', 'minScore must be a number');
      q = q.where('ns.score', '>=', opts.minScore);
    }
    // (the node score's owner is its photo's: filtering the photo's owner as well made PostgreSQL count the two as
    // independent, expect a handful of rows and sort all of an owner's photos under a broad synset, 146-488 ms at 1M)
    if (ownerId !== undefined) q = q.where('ns.owner_id', '=', ownerId);
    if (person) q = q.where('p.id', 'in', person);
    if (after && after.score !== null) {
      const s = after.score;
      const id = after.id;
      q = q.where((eb) => eb.or([eb('ns.score', '<', s), eb.and([eb('ns.score', '=', s), eb('ns.photo_id', '>', id)])]));
    }
    rows = await q.orderBy('ns.score', 'desc').orderBy('ns.photo_id', 'asc').limit(limit + 1).execute();
  }
  const more = rows.length > limit;
  const page = rows.slice(0, limit).map(toSummary);
  const last = page[page.length - 1];
  const nextCursor = more && last ? encodeCursor({ under, score: under === null ? null : (last.score ?? 0), id: last.id, newest }) : null;
  return { photos: page, nextCursor };
}

/** Photos carrying a tag (stored tags are at or above the concept's calibrated threshold), best first. */
async function listTagPhotos(db: LibraryDb, viewer: Viewer, tag: string, opts: ListPhotosOptions, limit: number): Promise<PhotoPage> {
  const key = `tag:${tag}`;
  const after = opts.cursor ? decodeCursor(opts.cursor, key) : null;
  const ownerId = opts.owner !== undefined ? await resolveOwner(db, opts.owner, viewer) : undefined;
  let q = baseQuery(db)
    .innerJoin('photo_tags as t', 't.photo_id', 'p.id')
    .select('t.score as score')
    .where('t.concept_id', '=', tag)
    .where(visibleTo(viewer, 'p'));
  if (ownerId !== undefined) q = q.where('p.owner_id', '=', ownerId);
  if (opts.person !== undefined) q = q.where('p.id', 'in', personPhotoIds(db, viewer, opts.person));
  if (after && after.score !== null) {
    const s = after.score;
    const id = after.id;
    q = q.where((eb) => eb.or([eb('t.score', '<', s), eb.and([eb('t.score', '=', s), eb('t.photo_id', '>', id)])]));
  }
  const rows: SummaryRow[] = await q.orderBy('t.score', 'desc').orderBy('t.photo_id', 'asc').limit(limit + 1).execute();
  const more = rows.length > limit;
  const page = rows.slice(0, limit).map(toSummary);
  const last = page[page.length - 1];
  return { photos: page, nextCursor: more && last ? encodeCursor({ under: key, score: last.score ?? 0, id: last.id }) : null };
}

export interface PhotoDetail extends PhotoSummary {
  contentHash: string;
  size: number;
  format: string;
  camera: string | null;
  orientation: number | null;
  gps: { lat: number; lon: number } | null;
  categories: CategoryScore[];
  /** The hedged label's primary hypernym chain up to the root (needs the taxonomy). */
  path: { wnid: string; name: string }[];
  /** Highest node scores, best first. */
  nodeScores: { wnid: string; score: number }[];
  analyzedAt: string;
  /** Animations: keyframes and scenes (null for a still photo). */
  timeline: Timeline | null;
}

/** A photo's stored timeline, or null when it is not an animation. */
export async function timelineOf(db: LibraryDb, photoId: number): Promise<Timeline | null> {
  const row = await db.selectFrom('timelines').selectAll().where('photo_id', '=', photoId).executeTakeFirst();
  if (!row) return null;
  return {
    duration_ms: row.duration_ms,
    frames: row.frames,
    declared_frames: row.declared_frames,
    notice: row.notice,
    keyframes: JSON.parse(row.keyframes) as Timeline['keyframes'],
    segments: JSON.parse(row.segments) as Timeline['segments'],
  };
}

/** One photo, if `viewer` may see it; otherwise `not_found` (never "forbidden"). */
export async function photoDetail(db: LibraryDb, viewer: Viewer, photoId: number, opts: { taxonomy?: TaxonomyView; nodes?: number } = {}): Promise<PhotoDetail> {
  if (!Number.isSafeInteger(photoId) || photoId < 1) throw new LibraryError('not_found', `no photo ${photoId}`);
  const row = await baseQuery(db)
    .select(['p.content_hash', 'p.size', 'p.format', 'p.camera', 'p.orientation', 'p.gps_lat', 'p.gps_lon', 'a.categories', 'a.created_at as analyzed_at'])
    .where('p.id', '=', photoId)
    .where(visibleTo(viewer, 'p'))
    .executeTakeFirst();
  if (!row) throw new LibraryError('not_found', `no photo ${photoId}`);
  const nodes = await db
    .selectFrom('node_scores')
    .select(['wnid', 'score'])
    .where('photo_id', '=', photoId)
    .orderBy('score', 'desc')
    .orderBy('wnid', 'asc')
    .limit(opts.nodes ?? 25)
    .execute();
  const t = opts.taxonomy;
  const summary = toSummary(row);
  return {
    ...summary,
    contentHash: row.content_hash,
    size: row.size,
    format: row.format,
    camera: row.camera,
    orientation: row.orientation,
    gps: row.gps_lat !== null && row.gps_lon !== null ? { lat: row.gps_lat, lon: row.gps_lon } : null,
    categories: JSON.parse(row.categories) as CategoryScore[],
    path: t && summary.hedged ? primaryPath(t, summary.hedged.wnid).map((w) => ({ wnid: w, name: t.name(w) ?? w })) : [],
    nodeScores: nodes.map((n) => ({ wnid: n.wnid, score: n.score })),
    analyzedAt: row.analyzed_at,
    timeline: await timelineOf(db, photoId),
  };
}

export interface SimilarPhoto extends PhotoSummary {
  similarity: number;
}

/**
 * Photos most similar to one photo by embedding cosine, among the visible photos analysed by the same model
 * (embeddings of different models are not comparable): through the ANN `index` when given, else exactly.
 */
export async function similarPhotos(db: LibraryDb, viewer: Viewer, photoId: number, opts: { limit?: number; owner?: string; index?: SimilarIndex } = {}): Promise<SimilarPhoto[]> {
  const limit = checkLimit(opts.limit, 12);
  if (!Number.isSafeInteger(photoId) || photoId < 1) throw new LibraryError('not_found', `no photo ${photoId}`);
  const target = await db
    .selectFrom('photos as p')
    .innerJoin('analyses as a', 'a.photo_id', 'p.id')
    .select(['a.embedding', 'a.model_id'])
    .where('p.id', '=', photoId)
    .where(visibleTo(viewer, 'p'))
    .executeTakeFirst();
  if (!target) throw new LibraryError('not_found', `no photo ${photoId}`);
  const ownerId = opts.owner !== undefined ? await resolveOwner(db, opts.owner, viewer) : undefined;
  const query = bytesToEmbedding(target.embedding);
  const best = opts.index
    ? await opts.index.search(viewer, photoId, target.model_id, query, limit, ownerId)
    : await bruteForceSimilar(db, viewer, photoId, target.model_id, query, limit, ownerId);
  if (best.length === 0) return [];
  const rows = await baseQuery(db)
    .where(
      'p.id',
      'in',
      best.map((b) => b.id),
    )
    .where(visibleTo(viewer, 'p'))
    .execute();
  const byId = new Map(rows.map((r) => [r.id, toSummary(r)]));
  return best.flatMap((b) => {
    const s = byId.get(b.id);
    return s ? [{ ...s, similarity: b.similarity }] : [];
  });
}
