// People in the library: faces found in an owner's photos (stored with the photo, deleted with it), grouped
// incrementally into people per owner (never across owners), named and corrected by the owner.
import type { Transaction } from 'kysely';
import type { PeopleEvidence } from '../taxonomy/people.js';
import { nowIso, type LibraryDb } from './db.js';
import { bytesToEmbedding, embeddingToBytes } from './embedding.js';
import { LibraryError } from './errors.js';
import { CLUSTER_RULES, clusterIncrementally, type ClusterRules, type PersonFaces } from './face-clusters.js';
import type { LibrarySchema } from './schema.js';
import { deletePhoto as deleteStoredPhoto } from './store.js';
import { visibleTo, type Viewer } from './viewer.js';
import { mediaOfPhoto, removeUnsharedMedia } from './media.js';

/** What face detection found in one photo, ready to store. */
export interface FaceScan {
  detector: string;
  evidence: PeopleEvidence;
}

/** Writes a photo's face scan (replacing an earlier one) inside the photo's transaction. */
export async function writeFaceScan(tx: Transaction<LibrarySchema> | LibraryDb, photoId: number, ownerId: number, scan: FaceScan): Promise<void> {
  const at = nowIso();
  await tx.deleteFrom('faces').where('photo_id', '=', photoId).execute();
  await tx.deleteFrom('face_scans').where('photo_id', '=', photoId).execute();
  await tx
    .insertInto('face_scans')
    .values({ photo_id: photoId, detector: scan.detector, people: scan.evidence.count, person_score: scan.evidence.person, tags: JSON.stringify(scan.evidence.tags), at })
    .execute();
  for (const f of scan.evidence.faces) {
    await tx
      .insertInto('faces')
      .values({
        photo_id: photoId,
        owner_id: ownerId,
        x: f.box[0],
        y: f.box[1],
        w: f.box[2],
        h: f.box[3],
        score: Math.round(((f.boxScore + f.meshScore) / 2) * 1e4) / 1e4,
        landmarks: JSON.stringify(f.landmarks),
        embedding: f.embedding ? embeddingToBytes(f.embedding) : null,
        person_id: null,
        created_at: at,
      })
      .execute();
  }
}

/** A stored face's landmarks (`faces.landmarks`, written by writeFaceScan as [[x, y], ...] JSON); none when unreadable. */
export function storedLandmarks(text: string): Array<[number, number]> {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((p): p is [number, number] => Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number') : [];
  } catch {
    return [];
  }
}

/** Whether face detection is on for an owner (and whether their public photos show names). */
export async function ownerFaceSettings(db: LibraryDb, ownerId: number): Promise<{ enabled: boolean; public: boolean }> {
  const row = await db.selectFrom('owners').select(['faces_enabled', 'faces_public']).where('id', '=', ownerId).executeTakeFirst();
  if (!row) throw new LibraryError('unknown_owner', `no owner with id ${ownerId}`);
  return { enabled: row.faces_enabled !== 0, public: row.faces_public !== 0 };
}

export async function setOwnerFaceSettings(db: LibraryDb, ownerId: number, s: { enabled?: boolean; public?: boolean }): Promise<void> {
  const set: { faces_enabled?: number; faces_public?: number } = {};
  if (s.enabled !== undefined) set.faces_enabled = s.enabled ? 1 : 0;
  if (s.public !== undefined) set.faces_public = s.public ? 1 : 0;
  if (Object.keys(set).length > 0) await db.updateTable('owners').set(set).where('id', '=', ownerId).execute();
  // Turning detection off forgets what it found: faces, people and scans of this owner.
  if (s.enabled === false) {
    await db.deleteFrom('faces').where('owner_id', '=', ownerId).execute();
    await db.deleteFrom('people').where('owner_id', '=', ownerId).execute();
    await db.deleteFrom('face_scans').where('photo_id', 'in', db.selectFrom('photos').select('id').where('owner_id', '=', ownerId)).execute();
  }
}

async function peopleFaces(db: LibraryDb, ownerId: number): Promise<PersonFaces[]> {
  const rows = await db
    .selectFrom('faces as f')
    .innerJoin('people as pe', 'pe.id', 'f.person_id')
    .select(['f.person_id', 'f.embedding', 'pe.name'])
    .where('f.owner_id', '=', ownerId)
    .where('f.embedding', 'is not', null)
    .execute();
  const byPerson = new Map<number, PersonFaces>();
  for (const r of rows) {
    const id = r.person_id!;
    let p = byPerson.get(id);
    if (!p) byPerson.set(id, (p = { personId: id, named: r.name !== null, embeddings: [] }));
    p.embeddings.push(bytesToEmbedding(r.embedding!));
  }
  return [...byPerson.values()];
}

/**
 * Gives every face of the owner that has no person yet a person: an existing one it resembles, or a new one.
 * Incremental: placed faces never move. Returns how many faces were placed and how many people were created.
 */
export async function clusterNewFaces(db: LibraryDb, ownerId: number, rules: ClusterRules = CLUSTER_RULES): Promise<{ placed: number; created: number }> {
  const fresh = await db
    .selectFrom('faces')
    .select(['id', 'embedding'])
    .where('owner_id', '=', ownerId)
    .where('person_id', 'is', null)
    .where('embedding', 'is not', null)
    .orderBy('id')
    .execute();
  if (fresh.length === 0) return { placed: 0, created: 0 };
  const rejections = await db
    .selectFrom('face_rejections as r')
    .innerJoin('faces as f', 'f.id', 'r.face_id')
    .select(['r.face_id', 'r.person_id'])
    .where('f.owner_id', '=', ownerId)
    .execute();
  const rejected = new Map<number, Set<number>>();
  for (const r of rejections) (rejected.get(r.face_id) ?? rejected.set(r.face_id, new Set()).get(r.face_id)!).add(r.person_id);
  const people = await peopleFaces(db, ownerId);
  const assignment = clusterIncrementally(
    fresh.map((f) => ({ faceId: f.id, embedding: bytesToEmbedding(f.embedding!), rejected: rejected.get(f.id) })),
    people,
    rules,
  );
  let created = 0;
  await db.transaction().execute(async (tx) => {
    const made = new Map<number, number>();
    for (const [faceId, personId] of assignment) {
      let id = personId;
      if (id < 0) {
        id = made.get(personId) ?? (await createPerson(tx, ownerId));
        if (!made.has(personId)) created++;
        made.set(personId, id);
      }
      await tx.updateTable('faces').set({ person_id: id, assigned_by: 'auto' }).where('id', '=', faceId).where('person_id', 'is', null).execute();
    }
  });
  return { placed: assignment.size, created };
}

async function createPerson(tx: Transaction<LibrarySchema> | LibraryDb, ownerId: number, name: string | null = null): Promise<number> {
  const row = await tx.insertInto('people').values({ owner_id: ownerId, name, created_at: nowIso() }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export interface FaceSummary {
  id: number;
  photoId: number;
  /** [x, y, w, h] in the photo's original pixels (after EXIF orientation). */
  box: [number, number, number, number];
  score: number;
}

export interface PersonSummary {
  id: number;
  name: string | null;
  faces: number;
  photos: number;
  /** The face shown for the person: their most confident one. */
  cover: FaceSummary | null;
}

/** The owner's people, most photographed first (people without faces left out). */
export async function listPeople(db: LibraryDb, ownerId: number): Promise<PersonSummary[]> {
  const rows = await db
    .selectFrom('faces as f')
    .innerJoin('people as pe', 'pe.id', 'f.person_id')
    .select(['pe.id', 'pe.name', 'f.id as face_id', 'f.photo_id', 'f.x', 'f.y', 'f.w', 'f.h', 'f.score'])
    .where('pe.owner_id', '=', ownerId)
    .where('f.owner_id', '=', ownerId)
    .orderBy('f.id')
    .execute();
  const byPerson = new Map<number, PersonSummary & { photoSet: Set<number> }>();
  for (const r of rows) {
    let p = byPerson.get(r.id);
    if (!p) byPerson.set(r.id, (p = { id: r.id, name: r.name, faces: 0, photos: 0, cover: null, photoSet: new Set() }));
    p.faces++;
    p.photoSet.add(r.photo_id);
    const face: FaceSummary = { id: r.face_id, photoId: r.photo_id, box: [r.x, r.y, r.w, r.h], score: r.score };
    if (!p.cover || face.score > p.cover.score) p.cover = face;
  }
  return [...byPerson.values()]
    .map(({ photoSet, ...p }) => ({ ...p, photos: photoSet.size }))
    .sort((a, b) => b.photos - a.photos || b.faces - a.faces || a.id - b.id);
}

async function ownPerson(db: LibraryDb, ownerId: number, personId: number): Promise<{ id: number; name: string | null }> {
  const row = await db.selectFrom('people').select(['id', 'name']).where('id', '=', personId).where('owner_id', '=', ownerId).executeTakeFirst();
  // Someone else's person reads exactly like a missing one.
  if (!row) throw new LibraryError('not_found', `no person ${personId}`);
  return row;
}

/** Names (or, with null, unnames) a person; their faces become the owner's confirmed faces. */
export async function namePerson(db: LibraryDb, ownerId: number, personId: number, name: string | null): Promise<void> {
  await ownPerson(db, ownerId, personId);
  const clean = name === null ? null : name.trim().replace(/\s+/g, ' ');
  if (clean !== null && (clean.length === 0 || clean.length > 200 || /[\u0000-\u001f]/.test(clean))) {
    throw new LibraryError('bad_request', 'a name is 1 to 200 printable characters');
  }
  await db.transaction().execute(async (tx) => {
    await tx.updateTable('people').set({ name: clean }).where('id', '=', personId).execute();
    await tx.updateTable('faces').set({ assigned_by: 'owner' }).where('person_id', '=', personId).execute();
  });
}

/** Moves every face of `from` into `into` and deletes `from`. */
export async function mergePeople(db: LibraryDb, ownerId: number, into: number, from: number): Promise<void> {
  if (into === from) throw new LibraryError('bad_request', 'cannot merge a person into themselves');
  const a = await ownPerson(db, ownerId, into);
  const b = await ownPerson(db, ownerId, from);
  await db.transaction().execute(async (tx) => {
    await tx.updateTable('faces').set({ person_id: into, assigned_by: 'owner' }).where('person_id', '=', from).execute();
    // Rejections of the merged person now hold for the surviving one.
    const rej = await tx.selectFrom('face_rejections').select('face_id').where('person_id', '=', from).execute();
    for (const r of rej) {
      await tx.insertInto('face_rejections').values({ face_id: r.face_id, person_id: into }).onConflict((oc) => oc.columns(['face_id', 'person_id']).doNothing()).execute();
    }
    if (a.name === null && b.name !== null) await tx.updateTable('people').set({ name: b.name }).where('id', '=', into).execute();
    await tx.deleteFrom('people').where('id', '=', from).execute();
  });
}

async function ownFace(db: LibraryDb, ownerId: number, faceId: number) {
  const row = await db.selectFrom('faces').select(['id', 'person_id']).where('id', '=', faceId).where('owner_id', '=', ownerId).executeTakeFirst();
  if (!row) throw new LibraryError('not_found', `no face ${faceId}`);
  return row;
}

/** Moves faces of a person into a new person of their own (the owner's split); returns the new person's id. */
export async function splitPerson(db: LibraryDb, ownerId: number, personId: number, faceIds: number[], name: string | null = null): Promise<number> {
  await ownPerson(db, ownerId, personId);
  if (faceIds.length === 0) throw new LibraryError('bad_request', 'name at least one face to split off');
  for (const id of faceIds) {
    const f = await ownFace(db, ownerId, id);
    if (f.person_id !== personId) throw new LibraryError('bad_request', `face ${id} is not a face of person ${personId}`);
  }
  return db.transaction().execute(async (tx) => {
    const fresh = await createPerson(tx, ownerId, name);
    for (const id of faceIds) {
      await tx.updateTable('faces').set({ person_id: fresh, assigned_by: 'owner' }).where('id', '=', id).execute();
      await tx.insertInto('face_rejections').values({ face_id: id, person_id: personId }).onConflict((oc) => oc.columns(['face_id', 'person_id']).doNothing()).execute();
    }
    return fresh;
  });
}

/** "Not this person": the face leaves its person for good and is clustered again without them. */
export async function rejectFace(db: LibraryDb, ownerId: number, faceId: number): Promise<void> {
  const f = await ownFace(db, ownerId, faceId);
  await db.transaction().execute(async (tx) => {
    if (f.person_id !== null) {
      await tx.insertInto('face_rejections').values({ face_id: faceId, person_id: f.person_id }).onConflict((oc) => oc.columns(['face_id', 'person_id']).doNothing()).execute();
    }
    await tx.updateTable('faces').set({ person_id: null, assigned_by: 'auto' }).where('id', '=', faceId).execute();
  });
  await clusterNewFaces(db, ownerId);
  await deleteEmptyPeople(db, ownerId);
}

async function deleteEmptyPeople(db: LibraryDb, ownerId: number): Promise<void> {
  await db
    .deleteFrom('people')
    .where('owner_id', '=', ownerId)
    .where('id', 'not in', db.selectFrom('faces').select('person_id').where('owner_id', '=', ownerId).where('person_id', 'is not', null).$narrowType<{ person_id: number }>())
    .execute();
}

/** People ids of an owner whose name contains each of the words (case-insensitive). */
export async function findPeopleByName(db: LibraryDb, ownerId: number, words: string): Promise<Array<{ id: number; name: string }>> {
  const needle = words.trim().toLowerCase();
  if (needle === '') return [];
  const rows = await db.selectFrom('people').select(['id', 'name']).where('owner_id', '=', ownerId).where('name', 'is not', null).execute();
  return rows.filter((r) => r.name!.toLowerCase().includes(needle)).map((r) => ({ id: r.id, name: r.name! }));
}

export interface PhotoFace extends FaceSummary {
  person: { id: number; name: string | null } | null;
}

/**
 * The faces of one photo as `viewer` may see them: the owner sees boxes, people and names; anyone else sees
 * nothing unless the owner opted in (`faces_public`), and then boxes and names of named people only.
 */
export async function photoFaces(db: LibraryDb, viewer: Viewer, photoId: number): Promise<PhotoFace[]> {
  const photo = await db
    .selectFrom('photos as p')
    .innerJoin('owners as o', 'o.id', 'p.owner_id')
    .select(['p.id', 'p.owner_id', 'o.faces_public'])
    .where('p.id', '=', photoId)
    .where(visibleTo(viewer, 'p'))
    .executeTakeFirst();
  if (!photo) throw new LibraryError('not_found', `no photo ${photoId}`);
  const own = viewer.kind === 'admin' || (viewer.kind === 'owner' && viewer.ownerId === photo.owner_id);
  if (!own && photo.faces_public === 0) return [];
  const rows = await db
    .selectFrom('faces as f')
    .leftJoin('people as pe', 'pe.id', 'f.person_id')
    .select(['f.id', 'f.photo_id', 'f.x', 'f.y', 'f.w', 'f.h', 'f.score', 'pe.id as person_id', 'pe.name'])
    .where('f.photo_id', '=', photoId)
    .orderBy('f.x')
    .execute();
  return rows
    .filter((r) => own || r.name !== null)
    .map((r) => ({
      id: r.id,
      photoId: r.photo_id,
      box: [r.x, r.y, r.w, r.h],
      score: r.score,
      person: r.person_id === null ? null : own ? { id: r.person_id, name: r.name } : { id: 0, name: r.name },
    }));
}

/** Photo ids (newest first) of the owner's person, or of every person of the owner matching a name. */
export async function photosOfPerson(db: LibraryDb, ownerId: number, person: number | string, limit = 500): Promise<number[]> {
  let ids: number[];
  if (typeof person === 'number') ids = [(await ownPerson(db, ownerId, person)).id];
  else {
    ids = (await findPeopleByName(db, ownerId, person)).map((p) => p.id);
    if (ids.length === 0) return [];
  }
  const rows = await db
    .selectFrom('faces')
    .select('photo_id')
    .distinct()
    .where('owner_id', '=', ownerId)
    .where('person_id', 'in', ids)
    .orderBy('photo_id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => r.photo_id);
}

/** The person tags (person / group / portrait) decided for a photo by face detection, if it was scanned. */
export async function photoPeopleTags(db: LibraryDb, photoId: number): Promise<Array<{ id: string; score: number }> | null> {
  const row = await db.selectFrom('face_scans').select('tags').where('photo_id', '=', photoId).executeTakeFirst();
  return row ? JSON.parse(row.tags) : null;
}

/**
 * Deletes a photo of the owner; its faces, scan and analysis go with it (foreign keys cascade), people left
 * without faces too, and, given the media folder, its thumbnails and uploaded original unless another photo
 * shares them. Returns the media files removed.
 */
export async function deletePhoto(db: LibraryDb, ownerId: number, photoId: number, opts: { media?: string } = {}): Promise<{ filesRemoved: number }> {
  const own = await db.selectFrom('photos').select('id').where('id', '=', photoId).where('owner_id', '=', ownerId).executeTakeFirst();
  const files = own && opts.media ? await mediaOfPhoto(db, opts.media, photoId) : undefined;
  if (!own || !(await deleteStoredPhoto(db, photoId))) throw new LibraryError('not_found', `no photo ${photoId}`);
  await deleteEmptyPeople(db, ownerId);
  return { filesRemoved: files ? await removeUnsharedMedia(db, files) : 0 };
}
