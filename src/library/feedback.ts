// User feedback on labels ("Was our result good?"): who judged which model's label on which photo, and the
// accuracy those judgements add up to, per model and per hedged label.
import { sql } from 'kysely';
import type { LibraryDb } from './db.js';
import { nowIso } from './db.js';
import { visibleTo, type Viewer } from './viewer.js';

export interface Feedback {
  id: number;
  photo: number;
  correct: boolean;
  wnid: string | null;
  model: string;
  owner: string | null;
  at: string;
}

export interface FeedbackSummary {
  models: Array<{ model: string; judged: number; correct: number; accuracy: number }>;
  categories: Array<{ wnid: string; name: string; judged: number; correct: number; accuracy: number }>;
}

/**
 * Records one judgement of `modelId`'s result on a photo (the caller has checked the photo is visible). A voter
 * judges a photo once: judging it again replaces the earlier judgement (so repeated answers cannot stack up).
 */
export async function addFeedback(
  db: LibraryDb,
  input: { photoId: number; ownerId: number | null; voter: string; modelId: string; correct: boolean; wnid?: string | null },
): Promise<Feedback> {
  const at = nowIso();
  const values = {
    owner_id: input.ownerId,
    model_id: input.modelId,
    correct: input.correct ? 1 : 0,
    wnid: input.wnid ?? null,
    at,
  };
  const row = await db
    .insertInto('feedback')
    .values({ ...values, photo_id: input.photoId, voter: input.voter })
    .onConflict((oc) => oc.columns(['photo_id', 'voter']).doUpdateSet(values))
    .returning('id')
    .executeTakeFirstOrThrow();
  const owner =
    input.ownerId === null
      ? null
      : ((await db.selectFrom('owners').select('name').where('id', '=', input.ownerId).executeTakeFirst())?.name ?? null);
  return {
    id: Number(row.id),
    photo: input.photoId,
    correct: input.correct,
    wnid: input.wnid ?? null,
    model: input.modelId,
    owner,
    at,
  };
}

/** One owner's own judgements of a photo, oldest first. */
export async function feedbackOf(db: LibraryDb, photoId: number, ownerId: number): Promise<Feedback[]> {
  const rows = await db
    .selectFrom('feedback as f')
    .leftJoin('owners as o', 'o.id', 'f.owner_id')
    .select(['f.id', 'f.photo_id', 'f.correct', 'f.wnid', 'f.model_id', 'o.name as owner', 'f.at'])
    .where('f.photo_id', '=', photoId)
    .where('f.owner_id', '=', ownerId)
    .orderBy('f.id')
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    photo: Number(r.photo_id),
    correct: Number(r.correct) === 1,
    wnid: r.wnid,
    model: r.model_id,
    owner: r.owner ?? null,
    at: r.at,
  }));
}

/**
 * Accuracy as judged by users, over feedback on photos `viewer` may see: per model, and per hedged label
 * (the label of the photo's current analysis by the judged model, else its top label).
 */
export async function feedbackSummary(db: LibraryDb, viewer: Viewer): Promise<FeedbackSummary> {
  const models = await db
    .selectFrom('feedback as f')
    .innerJoin('photos as p', 'p.id', 'f.photo_id')
    .where(visibleTo(viewer, 'p'))
    .select([
      'f.model_id as model',
      sql<number>`count(*)`.as('judged'),
      sql<number>`sum(f.correct)`.as('correct'),
    ])
    .groupBy('f.model_id')
    .orderBy('f.model_id')
    .execute();
  const categories = await db
    .selectFrom('feedback as f')
    .innerJoin('photos as p', 'p.id', 'f.photo_id')
    .innerJoin('analyses as a', (j) => j.onRef('a.photo_id', '=', 'f.photo_id').onRef('a.model_id', '=', 'f.model_id'))
    .where(visibleTo(viewer, 'p'))
    .select([
      sql<string>`coalesce(a.hedged_wnid, a.top_wnid)`.as('wnid'),
      sql<string | null>`max(a.hedged_name)`.as('name'),
      sql<number>`count(*)`.as('judged'),
      sql<number>`sum(f.correct)`.as('correct'),
    ])
    .groupBy(sql`coalesce(a.hedged_wnid, a.top_wnid)`)
    .orderBy(sql`count(*)`, 'desc')
    .orderBy(sql`coalesce(a.hedged_wnid, a.top_wnid)`)
    .execute();
  const acc = (c: number, n: number) => (n === 0 ? 0 : c / n);
  return {
    models: models.map((m) => ({
      model: m.model,
      judged: Number(m.judged),
      correct: Number(m.correct),
      accuracy: acc(Number(m.correct), Number(m.judged)),
    })),
    categories: categories.map((c) => ({
      wnid: c.wnid,
      name: c.name ?? c.wnid,
      judged: Number(c.judged),
      correct: Number(c.correct),
      accuracy: acc(Number(c.correct), Number(c.judged)),
    })),
  };
}
