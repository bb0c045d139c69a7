// Writes to the library: owners, one photo with its complete analysis in one transaction, reindex, failures.
import { sql, type Transaction } from 'kysely';
import type { PhotoAnalysis } from './analysis.js';
import { applyCountDeltas, contributionOf, CountDeltas, storedContribution, storedTags } from './counts.js';
import { nowIso, type LibraryDb } from './db.js';
import { compactEmbedding } from './embedding.js';
import { LibraryError } from './errors.js';
import { deleteTerms, dialectOf, termsOf, writeTerms } from './terms.js';
import { writeFaceScan, type FaceScan } from './people.js';
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
  /** What face detection found (stored in the same transaction); absent when detection did not run. */
  faces?: FaceScan;
}

/**
 * Stores one photo and its complete analysis (analysis row + node scores) in ONE transaction, so a crash
 * leaves either nothing or everything. If the photo already exists for this owner its analysis is replaced.
 * Returns the photo id.
 */
export async function storePhoto(db: LibraryDb, input: StorePhotoInput): Promise<number> {
  return db.transaction().execute((tx) => storePhotoIn(tx, input));
}

/**
 * Stores several photos as `storePhoto` does each, and says per photo whether it was stored. On SQLite they share
 * ONE transaction, each photo in its own savepoint (a photo that fails is rolled back alone, the others commit):
 * the commit was half of ingest's database time on the main thread (2.2 of 4.3 ms a photo, WAL pages written per
 * commit). A crash still leaves each photo complete or absent. On PostgreSQL each photo keeps its own transaction,
 * run side by side on the pool: one transaction over several photos would take their count rows in no fixed
 * order, and two writers could deadlock.
 */
export async function storePhotos(db: LibraryDb, inputs: StorePhotoInput[]): Promise<Array<PromiseSettledResult<number>>> {
  if (dialectOf(db) !== 'sqlite' || inputs.length === 1) return Promise.allSettled(inputs.map((input) => storePhoto(db, input)));
  return db.transaction().execute(async (tx) => {
    const out: Array<PromiseSettledResult<number>> = [];
    // The group's count changes are added up and written once at the end (photos of one owner share most of
    // their synsets' rows); a photo rolled back to its savepoint adds nothing.
    const counts = new CountDeltas();
    for (const input of inputs) {
      await sql`savepoint store_photo`.execute(tx);
      try {
        const photo = new CountDeltas();
        out.push({ status: 'fulfilled', value: await storePhotoIn(tx, input, photo) });
        await sql`release savepoint store_photo`.execute(tx);
        counts.merge(photo);
      } catch (reason) {
        await sql`rollback to savepoint store_photo`.execute(tx);
        await sql`release savepoint store_photo`.execute(tx);
        out.push({ status: 'rejected', reason });
      }
    }
    await applyCountDeltas(tx, counts);
    return out;
  });
}

/** `counts`: where the photo's count changes go (the caller writes them); written with the photo when absent. */
async function storePhotoIn(tx: Transaction<LibrarySchema>, input: StorePhotoInput, counts?: CountDeltas): Promise<number> {
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
  // A photo this statement inserted is locked by it already and has nothing stored under it yet (its rows
  // cascade with any earlier photo of the same id).
  const photo = inserted ? { id: photoId, owner_id: input.ownerId, visibility: input.visibility } : await lockPhoto(tx, photoId);
  await writeAnalysis(tx, photo, input.analysis, { fresh: inserted !== undefined, counts });
  if (input.faces) await writeFaceScan(tx, photoId, input.ownerId, input.faces);
  await tx.deleteFrom('failures').where('owner_id', '=', input.ownerId).where('path', '=', input.facts.original_path).execute();
  return photoId;
}

/** Replaces a photo's analysis (e.g. with another model's) in one transaction; the old one stays readable until commit. */
export async function replaceAnalysis(
  db: LibraryDb,
  photoId: number,
  analysis: PhotoAnalysis,
  /** More writes of the same photo that must commit with the analysis (a face scan). */
  also?: (tx: Transaction<LibrarySchema>, photo: { id: number; owner_id: number }) => Promise<void>,
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const photo = await lockPhoto(tx, photoId);
    await writeAnalysis(tx, photo, analysis);
    await also?.(tx, photo);
  });
}

interface LockedPhoto {
  id: number;
  owner_id: number;
  visibility: Visibility;
}

/**
 * Locks a photo's row for the rest of the transaction (PostgreSQL: a no-op update takes the row lock, so
 * concurrent writers of the same photo keep its counts exact; SQLite: transactions are serial anyway).
 */
async function lockPhoto(tx: Transaction<LibrarySchema>, photoId: number): Promise<LockedPhoto> {
  const row = await tx
    .updateTable('photos')
    .set((eb) => ({ visibility: eb.ref('visibility') }))
    .where('id', '=', photoId)
    .returning(['id', 'owner_id', 'visibility'])
    .executeTakeFirst();
  if (!row) throw new LibraryError('not_found', `no photo ${photoId}`);
  return row;
}

const NODE_CHUNK = 300;

/**
 * Writes a photo's analysis in place of the one stored. `fresh`: the photo was inserted by this transaction
 * (nothing to read back or delete). `counts`: collects the count changes for the caller to write; else they are
 * written here.
 */
async function writeAnalysis(tx: Transaction<LibrarySchema>, photo: LockedPhoto, a: PhotoAnalysis, opts: { fresh?: boolean; counts?: CountDeltas } = {}): Promise<void> {
  const top = a.labels[0];
  if (!top) throw new Error('an analysis needs at least one label');
  const photoId = photo.id;
  const deltas = opts.counts ?? new CountDeltas();
  if (!opts.fresh) {
    const old = await storedContribution(tx, photoId);
    if (old) deltas.add(photo.owner_id, photo.visibility, old, -1);
    await tx.deleteFrom('node_scores').where('photo_id', '=', photoId).execute();
    await tx.deleteFrom('photo_tags').where('photo_id', '=', photoId).execute();
    await tx.deleteFrom('timelines').where('photo_id', '=', photoId).execute();
    await tx.deleteFrom('analyses').where('photo_id', '=', photoId).execute();
  }
  deltas.add(photo.owner_id, photo.visibility, contributionOf(a), 1);
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
      embedding: compactEmbedding(a.embedding),
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
  const rows: { photo_id: number; owner_id: number; wnid: string; score: number }[] = [];
  for (const n of a.nodeScores) {
    if (seen.has(n.wnid) || !Number.isFinite(n.score)) continue;
    seen.add(n.wnid);
    rows.push({ photo_id: photoId, owner_id: photo.owner_id, wnid: n.wnid, score: n.score });
  }
  for (let i = 0; i < rows.length; i += NODE_CHUNK) {
    await tx.insertInto('node_scores').values(rows.slice(i, i + NODE_CHUNK)).execute();
  }
  await writeTerms(tx, photoId, termsOf(a.nodeScores));
  if (!opts.counts) await applyCountDeltas(tx, deltas);
  // the same tags contributionOf counted (first of each id, finite scores)
  const tags = storedTags(a.tags);
  if (tags.size > 0) {
    await tx
      .insertInto('photo_tags')
      .values([...tags].map(([concept_id, score]) => ({ photo_id: photoId, concept_id, score })))
      .execute();
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

/** Changes a photo's visibility, moving its counts from one visibility to the other in the same transaction. */
export async function setVisibility(db: LibraryDb, photoId: number, visibility: Visibility): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const changed = await tx
      .updateTable('photos')
      .set({ visibility })
      .where('id', '=', photoId)
      .where('visibility', '<>', visibility)
      .returning('owner_id')
      .executeTakeFirst();
    if (!changed) return;
    const c = await storedContribution(tx, photoId);
    if (!c) return;
    const deltas = new CountDeltas();
    deltas.add(changed.owner_id, visibility === 'public' ? 'private' : 'public', c, -1);
    deltas.add(changed.owner_id, visibility, c, 1);
    await applyCountDeltas(tx, deltas);
  });
}

/** Deletes a photo with its analysis, node scores and tags, and takes it out of the counts, in one transaction. */
export async function deletePhoto(db: LibraryDb, photoId: number): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const photo = await tx
      .updateTable('photos')
      .set((eb) => ({ visibility: eb.ref('visibility') }))
      .where('id', '=', photoId)
      .returning(['id', 'owner_id', 'visibility'])
      .executeTakeFirst();
    if (!photo) return false;
    const c = await storedContribution(tx, photoId);
    await deleteTerms(tx, photoId);
    await tx.deleteFrom('photo_tags').where('photo_id', '=', photoId).execute();
    await tx.deleteFrom('node_scores').where('photo_id', '=', photoId).execute();
    await tx.deleteFrom('analyses').where('photo_id', '=', photoId).execute();
    await tx.deleteFrom('photos').where('id', '=', photoId).execute();
    if (c) {
      const deltas = new CountDeltas();
      deltas.add(photo.owner_id, photo.visibility, c, -1);
      await applyCountDeltas(tx, deltas);
    }
    return true;
  });
}
