// Writes to the library: owners, one photo with its complete analysis in one transaction, reindex, failures.
import type { Transaction } from 'kysely';
import type { PhotoAnalysis } from './analysis.js';
import { nowIso, type LibraryDb } from './db.js';
import { embeddingToBytes } from './embedding.js';
import type { LibrarySchema, NewPhoto } from './schema.js';

export type Visibility = 'private' | 'public';

/** The owner's id, creating the owner when new. */
export async function ensureOwner(db: LibraryDb, name: string): Promise<number> {
  const clean = name.trim();
  if (clean === '') throw new Error('owner name must not be empty');
  await db.insertInto('owners').values({ name: clean, created_at: nowIso() }).onConflict((oc) => oc.column('name').doNothing()).execute();
  const row = await db.selectFrom('owners').select('id').where('name', '=', clean).executeTakeFirstOrThrow();
  return row.id;
}

export async function findOwnerId(db: LibraryDb, name: string): Promise<number | undefined> {
  const row = await db.selectFrom('owners').select('id').where('name', '=', name.trim()).executeTakeFirst();
  return row?.id;
}

/** What is stored for (owner, content hash): the photo id and the model of its analysis. */
export async function photoState(db: LibraryDb, ownerId: number, contentHash: string): Promise<{ photoId: number; modelId: string | null } | undefined> {
  const row = await db
    .selectFrom('photos as p')
    .leftJoin('analyses as a', 'a.photo_id', 'p.id')
    .select(['p.id', 'a.model_id'])
    .where('p.owner_id', '=', ownerId)
    .where('p.content_hash', '=', contentHash)
    .executeTakeFirst();
  return row ? { photoId: row.id, modelId: row.model_id } : undefined;
}

/** Photo metadata everything but the owner-specific fields. */
export type PhotoFacts = Omit<NewPhoto, 'id' | 'owner_id' | 'visibility' | 'created_at'>;

export interface StorePhotoInput {
  ownerId: number;
  visibility: Visibility;
  facts: PhotoFacts;
  analysis: PhotoAnalysis;
}

/**
 * Stores one photo and its complete analysis (analysis row + node scores) in ONE transaction, so a crash
 * leaves either nothing or everything. If the photo already exists for this owner its analysis is replaced.
 * Returns the photo id.
 */
export async function storePhoto(db: LibraryDb, input: StorePhotoInput): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const inserted = await tx
      .insertInto('photos')
      .values({ ...input.facts, owner_id: input.ownerId, visibility: input.visibility, created_at: nowIso() })
      .onConflict((oc) => oc.columns(['owner_id', 'content_hash']).doNothing())
      .returning('id')
      .executeTakeFirst();
    const photoId =
      inserted?.id ??
      (
        await tx
          .selectFrom('photos')
          .select('id')
          .where('owner_id', '=', input.ownerId)
          .where('content_hash', '=', input.facts.content_hash)
          .executeTakeFirstOrThrow()
      ).id;
    await writeAnalysis(tx, photoId, input.analysis);
    await tx.deleteFrom('failures').where('owner_id', '=', input.ownerId).where('path', '=', input.facts.original_path).execute();
    return photoId;
  });
}

/** Replaces a photo's analysis (e.g. with another model's) in one transaction; the old one stays readable until commit. */
export async function replaceAnalysis(db: LibraryDb, photoId: number, analysis: PhotoAnalysis): Promise<void> {
  await db.transaction().execute((tx) => writeAnalysis(tx, photoId, analysis));
}

const NODE_CHUNK = 300;

async function writeAnalysis(tx: Transaction<LibrarySchema>, photoId: number, a: PhotoAnalysis): Promise<void> {
  const top = a.labels[0];
  if (!top) throw new Error('an analysis needs at least one label');
  await tx.deleteFrom('node_scores').where('photo_id', '=', photoId).execute();
  await tx.deleteFrom('timelines').where('photo_id', '=', photoId).execute();
  await tx.deleteFrom('analyses').where('photo_id', '=', photoId).execute();
  await tx
    .insertInto('analyses')
    .values({
      photo_id: photoId,
      model_id: a.model.id,
      model_sha256: a.model.sha256,
      top_wnid: top.wnid,
      top_score: top.score,
      hedged_wnid: a.hedged?.wnid ?? null,
      hedged_name: a.hedged?.name ?? null,
      hedged_score: a.hedged?.score ?? null,
      hedged_target: a.hedged?.target ?? null,
      labels: JSON.stringify(a.labels),
      categories: JSON.stringify(a.categories),
      embedding: embeddingToBytes(a.embedding),
      created_at: nowIso(),
    })
    .execute();
  if (a.timeline) {
    const t = a.timeline;
    await tx
      .insertInto('timelines')
      .values({
        photo_id: photoId,
        duration_ms: Math.round(t.duration_ms),
        frames: t.frames,
        declared_frames: t.declared_frames,
        notice: t.notice,
        keyframes: JSON.stringify(t.keyframes),
        segments: JSON.stringify(t.segments),
      })
      .execute();
  }
  const seen = new Set<string>();
  const rows: { photo_id: number; wnid: string; score: number }[] = [];
  for (const n of a.nodeScores) {
    if (seen.has(n.wnid) || !Number.isFinite(n.score)) continue;
    seen.add(n.wnid);
    rows.push({ photo_id: photoId, wnid: n.wnid, score: n.score });
  }
  for (let i = 0; i < rows.length; i += NODE_CHUNK) {
    await tx.insertInto('node_scores').values(rows.slice(i, i + NODE_CHUNK)).execute();
  }
}

/** Records (or updates) a file that could not be ingested, with the reason. */
export async function recordFailure(db: LibraryDb, ownerId: number, path: string, code: string, reason: string): Promise<void> {
  const at = nowIso();
  await db
    .insertInto('failures')
    .values({ owner_id: ownerId, path, code, reason, at })
    .onConflict((oc) => oc.columns(['owner_id', 'path']).doUpdateSet({ code, reason, at }))
    .execute();
}

export async function setVisibility(db: LibraryDb, photoId: number, visibility: Visibility): Promise<void> {
  await db.updateTable('photos').set({ visibility }).where('id', '=', photoId).execute();
}
