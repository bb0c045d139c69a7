// An owner's custom concepts in the library: teach (train from example embeddings, store the head, re-score the
// owner's stored photos from their stored embeddings — no decoding), list, show, delete, and the heads to tag with.
import { Head, type HeadFile, type ModelId } from '../concepts/head.js';
import { teachHead, type TeachReport } from '../concepts/teach.js';
import { mulberry32 } from '../concepts/metrics.js';
import { applyCountDeltas, CountDeltas, isCustomTag, tagContribution } from './counts.js';
import { nowIso, type LibraryDb } from './db.js';
import { bytesToEmbedding } from './embedding.js';
import { LibraryError } from './errors.js';
import { findOwnerId } from './store.js';

export interface ConceptSummary {
  /** "OWNER/NAME": the tag id. */
  id: string;
  name: string;
  owner: string;
  wnid: string | null;
  threshold: number;
  positives: number;
  negatives: number;
  photos: number;
  updatedAt: string;
}

export interface ConceptDetail extends ConceptSummary {
  model: ModelId;
  report: TeachReport;
}

const NAME = /^[\p{L}\p{N}][\p{L}\p{N} _.-]{0,63}$/u;

export function checkConceptName(name: string): string {
  const clean = name.trim();
  if (!NAME.test(clean)) throw new LibraryError('bad_request', `concept name ${JSON.stringify(name)}: use 1-64 letters, digits, spaces, '_', '-' or '.', starting with a letter or digit`);
  return clean;
}

async function ownerIdOrThrow(db: LibraryDb, owner: string): Promise<number> {
  const id = await findOwnerId(db, owner);
  if (id === undefined) throw new LibraryError('unknown_owner', `no owner named ${owner}`);
  return id;
}

/** Embeddings of the owner's stored photos analysed by `model`, with photo ids and content hashes. */
export async function ownerEmbeddings(db: LibraryDb, ownerId: number, model: ModelId): Promise<Array<{ photoId: number; hash: string; embedding: Float32Array }>> {
  const rows = await db
    .selectFrom('photos as p')
    .innerJoin('analyses as a', 'a.photo_id', 'p.id')
    .select(['p.id', 'p.content_hash', 'a.embedding'])
    .where('p.owner_id', '=', ownerId)
    .where('a.model_id', '=', model.id)
    .where('a.model_sha256', '=', model.sha256)
    .orderBy('p.id')
    .execute();
  return rows.map((r) => ({ photoId: r.id, hash: r.content_hash, embedding: bytesToEmbedding(r.embedding) }));
}

/**
 * Re-scores every stored photo of the owner with a concept's head; returns how many carry the tag. The tag's
 * maintained count (kind `tag`, the owner's private scope only) changes in the same transaction.
 */
export async function rescoreOwnerPhotos(db: LibraryDb, ownerId: number, head: Head): Promise<number> {
  const concept = head.concepts[0];
  const photos = await ownerEmbeddings(db, ownerId, head.model);
  const rows: Array<{ photo_id: number; concept_id: string; score: number }> = [];
  for (const p of photos) {
    if (p.embedding.length !== head.dim) continue;
    const s = head.score(p.embedding, head.model)[0];
    if (s >= concept.threshold) rows.push({ photo_id: p.photoId, concept_id: concept.id, score: s });
  }
  await db.transaction().execute(async (tx) => {
    await lockConceptTags(tx, ownerId, concept.id);
    const deltas = new CountDeltas();
    const old = await ownerTagRows(tx, ownerId, concept.id);
    deltas.add(ownerId, 'private', old.map((r) => tagContribution(concept.id, r.score)), -1);
    deltas.add(ownerId, 'private', rows.map((r) => tagContribution(concept.id, r.score)), 1);
    await tx
      .deleteFrom('photo_tags')
      .where('concept_id', '=', concept.id)
      .where('photo_id', 'in', tx.selectFrom('photos').select('id').where('owner_id', '=', ownerId))
      .execute();
    for (let i = 0; i < rows.length; i += 500) await tx.insertInto('photo_tags').values(rows.slice(i, i + 500)).execute();
    await applyCountDeltas(tx, deltas);
  });
  return rows.length;
}

type Tx = Parameters<Parameters<ReturnType<LibraryDb['transaction']>['execute']>[0]>[0];

/**
 * Serialises writers of one custom concept's tags (PostgreSQL: a no-op update takes the concept row's lock; SQLite:
 * transactions are serial anyway), so its count stays exact.
 */
async function lockConceptTags(tx: Tx, ownerId: number, conceptId: string): Promise<void> {
  const name = conceptId.slice(conceptId.indexOf('/') + 1);
  await tx.updateTable('concepts').set((eb) => ({ name: eb.ref('name') })).where('owner_id', '=', ownerId).where('name', '=', name).execute();
}

/** The stored rows of a custom tag on the owner's photos (whose photo has an analysis: what the counts hold). */
async function ownerTagRows(tx: Tx, ownerId: number, conceptId: string): Promise<Array<{ score: number }>> {
  return tx
    .selectFrom('photo_tags as t')
    .innerJoin('photos as p', 'p.id', 't.photo_id')
    .innerJoin('analyses as a', 'a.photo_id', 't.photo_id')
    .select('t.score')
    .where('t.concept_id', '=', conceptId)
    .where('p.owner_id', '=', ownerId)
    .execute();
}

/** Default negatives beyond this many are a seeded sample (training time stays in seconds for big libraries). */
export const MAX_DEFAULT_NEGATIVES = 2000;

function sampleNegatives<T>(all: T[]): T[] {
  if (all.length <= MAX_DEFAULT_NEGATIVES) return all;
  const rand = mulberry32(10);
  const copy = [...all];
  for (let i = 0; i < MAX_DEFAULT_NEGATIVES; i++) {
    const j = i + Math.floor(rand() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, MAX_DEFAULT_NEGATIVES);
}

export interface TeachInput {
  owner: string;
  name: string;
  model: ModelId;
  /** Embeddings of the positive examples (by `model`), with their content hashes when known. */
  positives: Array<{ embedding: Float32Array; hash?: string }>;
  /** Explicit negatives; default: the owner's other stored photos. */
  negatives?: Array<{ embedding: Float32Array; hash?: string }>;
  parent?: string;
}

/**
 * Trains (or retrains) the owner's concept and stores it, then re-scores the owner's stored photos. Nothing is
 * stored when training cannot start (no positives, no negatives, unknown owner).
 */
export async function teachConcept(db: LibraryDb, input: TeachInput): Promise<{ concept: ConceptDetail; seconds: { train: number; rescore: number } }> {
  const name = checkConceptName(input.name);
  const ownerId = await ownerIdOrThrow(db, input.owner);
  if (input.positives.length === 0) throw new LibraryError('bad_request', 'a concept needs at least one positive example');
  const id = `${input.owner}/${name}`;
  let negatives = input.negatives;
  if (!negatives || negatives.length === 0) {
    const positiveHashes = new Set(input.positives.map((p) => p.hash).filter((h): h is string => h !== undefined));
    negatives = sampleNegatives((await ownerEmbeddings(db, ownerId, input.model)).filter((p) => !positiveHashes.has(p.hash)));
  }
  if (negatives.length === 0) {
    throw new LibraryError('bad_request', `concept ${id} needs negative examples: pass --negative photos, or ingest other photos for ${input.owner} first`);
  }
  const t0 = performance.now();
  const { head, report } = teachHead(
    { id, name, wnid: input.parent ?? 'n00001740' },
    input.model,
    input.positives.map((p) => p.embedding),
    negatives.map((p) => p.embedding),
  );
  const t1 = performance.now();
  const now = nowIso();
  const examples = {
    positives: input.positives.map((p) => packEmbedding(p.embedding)),
    positiveHashes: input.positives.map((p) => p.hash ?? null),
    negatives: input.negatives && input.negatives.length > 0 ? input.negatives.map((p) => packEmbedding(p.embedding)) : null,
  };
  const values = { head: JSON.stringify(head.toFile(now)), report: JSON.stringify(report), examples: JSON.stringify(examples), wnid: input.parent ?? null, updated_at: now };
  await db
    .insertInto('concepts')
    .values({ owner_id: ownerId, name, created_at: now, ...values })
    .onConflict((oc) => oc.columns(['owner_id', 'name']).doUpdateSet(values))
    .execute();
  const photos = await rescoreOwnerPhotos(db, ownerId, head);
  const t2 = performance.now();
  return {
    concept: { id, name, owner: input.owner, wnid: input.parent ?? null, threshold: head.concepts[0].threshold, positives: report.positives, negatives: report.negatives, photos, updatedAt: now, model: head.model, report },
    seconds: { train: (t1 - t0) / 1000, rescore: (t2 - t1) / 1000 },
  };
}

async function conceptRows(db: LibraryDb, ownerId: number, name?: string) {
  let q = db.selectFrom('concepts').selectAll().where('owner_id', '=', ownerId);
  if (name !== undefined) q = q.where('name', '=', name);
  return q.orderBy('name').execute();
}

async function tagCount(db: LibraryDb, id: string): Promise<number> {
  const r = await db.selectFrom('photo_tags').select((eb) => eb.fn.countAll<number>().as('n')).where('concept_id', '=', id).executeTakeFirst();
  return Number(r?.n ?? 0);
}

function detail(owner: string, row: { name: string; wnid: string | null; head: string; report: string; updated_at: string }, photos: number): ConceptDetail {
  const head = JSON.parse(row.head) as HeadFile;
  const report = JSON.parse(row.report) as TeachReport;
  return {
    id: `${owner}/${row.name}`,
    name: row.name,
    owner,
    wnid: row.wnid,
    threshold: head.concepts[0].threshold,
    positives: report.positives,
    negatives: report.negatives,
    photos,
    updatedAt: row.updated_at,
    model: head.model,
    report,
  };
}

export async function listConcepts(db: LibraryDb, owner: string): Promise<ConceptSummary[]> {
  const ownerId = await ownerIdOrThrow(db, owner);
  const rows = await conceptRows(db, ownerId);
  return Promise.all(
    rows.map(async (r) => {
      const { model: _m, report: _r, ...summary } = detail(owner, r, await tagCount(db, `${owner}/${r.name}`));
      return summary;
    }),
  );
}

export async function showConcept(db: LibraryDb, owner: string, name: string): Promise<ConceptDetail> {
  const ownerId = await ownerIdOrThrow(db, owner);
  const [row] = await conceptRows(db, ownerId, name.trim());
  if (!row) throw new LibraryError('not_found', `${owner} has no concept named ${JSON.stringify(name)}`);
  return detail(owner, row, await tagCount(db, `${owner}/${row.name}`));
}

/** Deletes the concept and its tags (and their count). */
export async function deleteConcept(db: LibraryDb, owner: string, name: string): Promise<void> {
  const ownerId = await ownerIdOrThrow(db, owner);
  const clean = name.trim();
  const [row] = await conceptRows(db, ownerId, clean);
  if (!row) throw new LibraryError('not_found', `${owner} has no concept named ${JSON.stringify(name)}`);
  const id = `${owner}/${clean}`;
  await db.transaction().execute(async (tx) => {
    await lockConceptTags(tx, ownerId, id);
    const deltas = new CountDeltas();
    deltas.add(ownerId, 'private', (await ownerTagRows(tx, ownerId, id)).map((r) => tagContribution(id, r.score)), -1);
    await tx.deleteFrom('photo_tags').where('concept_id', '=', id).where('photo_id', 'in', tx.selectFrom('photos').select('id').where('owner_id', '=', ownerId)).execute();
    await tx.deleteFrom('concepts').where('id', '=', row.id).execute();
    await applyCountDeltas(tx, deltas);
  });
}

/** The owner's concept heads for `model` (to tag new photos with). */
export async function ownerHeads(db: LibraryDb, owner: string, model: ModelId): Promise<Head[]> {
  const ownerId = await findOwnerId(db, owner);
  if (ownerId === undefined) return [];
  const heads = (await conceptRows(db, ownerId)).map((r) => Head.fromFile(JSON.parse(r.head) as HeadFile));
  return heads.filter((h) => h.model.id === model.id && h.model.sha256 === model.sha256);
}

const packEmbedding = (e: Float32Array): string => Buffer.from(e.buffer, e.byteOffset, e.byteLength).toString('base64');
const unpackEmbedding = (s: string): Float32Array => bytesToEmbedding(Buffer.from(s, 'base64'));

/**
 * The owner's photos ranked by the concept, best first, scored from their stored embeddings (no decoding), each
 * with whether it carries the tag (score at or above the threshold): what a person confirms or rejects.
 */
export async function conceptPhotos(db: LibraryDb, owner: string, name: string, limit = 100): Promise<Array<{ photoId: number; score: number; tagged: boolean }>> {
  const ownerId = await ownerIdOrThrow(db, owner);
  const [row] = await conceptRows(db, ownerId, name.trim());
  if (!row) throw new LibraryError('not_found', `${owner} has no concept named ${JSON.stringify(name)}`);
  const head = Head.fromFile(JSON.parse(row.head) as HeadFile);
  const threshold = head.concepts[0].threshold;
  const scored = (await ownerEmbeddings(db, ownerId, head.model))
    .filter((p) => p.embedding.length === head.dim)
    .map((p) => ({ photoId: p.photoId, score: head.score(p.embedding, head.model)[0] }));
  scored.sort((a, b) => b.score - a.score || a.photoId - b.photoId);
  return scored.slice(0, limit).map((p) => ({ ...p, tagged: p.score >= threshold }));
}

/** Records a "was this right?" answer about a custom concept's tag on one of the owner's photos. */
export async function recordConceptFeedback(db: LibraryDb, owner: string, name: string, photoId: number, correct: boolean): Promise<void> {
  const concept = await showConcept(db, owner, name);
  const ownerId = await ownerIdOrThrow(db, owner);
  const photo = await db.selectFrom('photos').select('id').where('id', '=', photoId).where('owner_id', '=', ownerId).executeTakeFirst();
  if (!photo) throw new LibraryError('not_found', `${owner} has no photo ${photoId}`);
  await db
    .insertInto('feedback')
    .values({ photo_id: photoId, owner_id: ownerId, model_id: concept.model.id, correct: correct ? 1 : 0, wnid: null, concept_id: concept.id, at: nowIso() })
    .execute();
}

/**
 * Retrains a concept from its taught examples plus every feedback answer about it (right -> positive, wrong ->
 * negative; the latest answer per photo wins). Returns the validation F1 before and after.
 */
export async function retrainConcept(db: LibraryDb, owner: string, name: string): Promise<{ concept: ConceptDetail; before: number; after: number; added: { positives: number; negatives: number } }> {
  const ownerId = await ownerIdOrThrow(db, owner);
  const [row] = await conceptRows(db, ownerId, name.trim());
  if (!row) throw new LibraryError('not_found', `${owner} has no concept named ${JSON.stringify(name)}`);
  const old = detail(owner, row, 0);
  const examples = JSON.parse(row.examples) as { positives: string[]; positiveHashes?: Array<string | null>; negatives: string[] | null };
  const answers = await db
    .selectFrom('feedback')
    .select(['photo_id', 'correct'])
    .where('concept_id', '=', old.id)
    .orderBy('id')
    .execute();
  const latest = new Map(answers.map((a) => [a.photo_id, a.correct === 1]));
  const stored = new Map((await ownerEmbeddings(db, ownerId, old.model)).map((p) => [p.photoId, p]));
  const fbPos: Array<{ embedding: Float32Array; hash: string }> = [];
  const fbNeg: Array<{ embedding: Float32Array; hash: string }> = [];
  for (const [photoId, right] of latest) {
    const p = stored.get(photoId);
    if (p) (right ? fbPos : fbNeg).push({ embedding: p.embedding, hash: p.hash });
  }
  const positives = [...examples.positives.map((e, i) => ({ embedding: unpackEmbedding(e), hash: examples.positiveHashes?.[i] ?? undefined })), ...fbPos];
  let negatives: Array<{ embedding: Float32Array; hash?: string }> | undefined;
  if (examples.negatives) negatives = [...examples.negatives.map((e) => ({ embedding: unpackEmbedding(e) })), ...fbNeg];
  else {
    // Default negatives: the owner's other photos, minus those now answered as right.
    const rightHashes = new Set([...fbPos.map((p) => p.hash), ...(examples.positiveHashes ?? []).filter((h): h is string => h !== null)]);
    negatives = sampleNegatives([...stored.values()].filter((p) => !rightHashes.has(p.hash)).map((p) => ({ embedding: p.embedding, hash: p.hash })));
    negatives.push(...fbNeg.filter((n) => !negatives!.some((m) => m.hash === n.hash)));
  }
  const { concept } = await teachConcept(db, { owner, name: row.name, model: old.model, positives, negatives, parent: row.wnid ?? undefined });
  // teachConcept stored the combined lists; keep the taught examples and explicit negatives as they were
  // so the same feedback is not counted twice on the next retrain.
  await db.updateTable('concepts').set({ examples: row.examples }).where('id', '=', row.id).execute();
  return { concept, before: old.report.validation.f1, after: concept.report.validation.f1, added: { positives: fbPos.length, negatives: fbNeg.length } };
}

/**
 * Records a "was this right?" answer about an everyday tag (e.g. "beach") on a photo: a positive or negative for
 * that concept when the everyday head is retrained (`concepts retrain --everyday`). The latest answer per photo and
 * tag wins.
 */
export async function recordTagFeedback(
  db: LibraryDb,
  input: { photoId: number; ownerId: number | null; modelId: string; concept: string; correct: boolean },
): Promise<void> {
  if (isCustomTag(input.concept)) throw new LibraryError('bad_request', 'custom concepts take feedback through their owner’s concept');
  await db
    .insertInto('feedback')
    .values({ photo_id: input.photoId, owner_id: input.ownerId, model_id: input.modelId, correct: input.correct ? 1 : 0, wnid: null, concept_id: input.concept, at: nowIso() })
    .execute();
}

/** Every everyday-tag answer with the photo's stored embedding for `model` (latest answer per photo and tag). */
export async function everydayFeedback(db: LibraryDb, model: ModelId): Promise<Array<{ photoId: number; concept: string; correct: boolean; embedding: Float32Array }>> {
  const rows = await db
    .selectFrom('feedback as f')
    .innerJoin('analyses as a', 'a.photo_id', 'f.photo_id')
    .select(['f.photo_id', 'f.concept_id', 'f.correct', 'a.embedding'])
    .where('f.concept_id', 'is not', null)
    .where('f.concept_id', 'not like', '%/%')
    .where('a.model_id', '=', model.id)
    .where('a.model_sha256', '=', model.sha256)
    .orderBy('f.id')
    .execute();
  const latest = new Map<string, { photoId: number; concept: string; correct: boolean; embedding: Float32Array }>();
  for (const r of rows) {
    latest.set(`${r.photo_id}|${r.concept_id}`, { photoId: Number(r.photo_id), concept: r.concept_id!, correct: r.correct === 1, embedding: bytesToEmbedding(r.embedding) });
  }
  return [...latest.values()];
}
