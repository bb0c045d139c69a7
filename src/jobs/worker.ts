// A queue worker: takes ingest, reclassify and reindex jobs from the queue and runs them through the library's
// own ingest and analysis swap. Bad photos end as recorded rejections; anything else throws, so pg-boss retries
// it with backoff and, after the last attempt, keeps it as failed with the reason.
import { readFile } from 'node:fs/promises';
import type PgBoss from 'pg-boss';
import type { LibraryDb } from '../library/db.js';
import { ingestFiles, type PhotoRecognizer } from '../library/ingest.js';
import { replaceAnalysis } from '../library/store.js';
import { QUEUES, type IngestJob, type JobQueue, type ReclassifyJob, type ReindexJob } from './queue.js';

/** Errors of the photo itself: retrying cannot help, so the job ends at once (recorded in `failures`). */
export const PERMANENT_CODES = new Set(['not_found', 'empty_file', 'too_large', 'too_many_pixels', 'unsupported_format', 'truncated', 'decode_failed']);

export type JobOutcome =
  | { outcome: 'stored' | 'reused' | 'skipped'; photoId: number; model: string }
  | { outcome: 'replaced' | 'current'; photoId: number; model: string }
  | { outcome: 'rejected'; code: string; message: string }
  | { outcome: 'fanned_out'; submitted: number; stale: number };

export interface WorkerDeps {
  db: LibraryDb;
  queue: JobQueue;
  recognizer: PhotoRecognizer;
  env?: NodeJS.ProcessEnv;
}

export async function runIngestJob(deps: WorkerDeps, job: IngestJob): Promise<JobOutcome> {
  const s = await ingestFiles([job.path], {
    owner: job.owner,
    visibility: job.visibility,
    keepGps: job.keepGps,
    recognizer: deps.recognizer,
    db: deps.db,
    env: deps.env,
    concurrency: 1,
    // a worker process answers no requests: blocking file calls cost its event loop nothing that matters
    blockingFileIo: true,
  });
  const err = s.errors[0];
  if (err) {
    if (PERMANENT_CODES.has(err.code)) return { outcome: 'rejected', code: err.code, message: err.message };
    throw Object.assign(new Error(`${err.code}: ${err.message}`), { code: err.code });
  }
  const photoId = s.photoIds[0]!;
  return { outcome: s.stored ? 'stored' : s.reused ? 'reused' : 'skipped', photoId, model: s.model.id };
}

export async function runReclassifyJob(deps: WorkerDeps, job: ReclassifyJob): Promise<JobOutcome> {
  const row = await deps.db
    .selectFrom('photos as p')
    .leftJoin('analyses as a', 'a.photo_id', 'p.id')
    .select(['p.id', 'p.original_path', 'a.model_id'])
    .where('p.id', '=', job.photoId)
    .executeTakeFirst();
  if (!row) return { outcome: 'rejected', code: 'not_found', message: `photo ${job.photoId} is gone` };
  if (row.model_id === job.model) return { outcome: 'current', photoId: row.id, model: job.model };
  let bytes: Buffer;
  try {
    bytes = await readFile(row.original_path);
  } catch (e) {
    return { outcome: 'rejected', code: 'not_found', message: `${row.original_path}: ${(e as Error).message}` };
  }
  let seen;
  try {
    seen = await deps.recognizer.recognize(bytes);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && PERMANENT_CODES.has(code)) return { outcome: 'rejected', code, message: (e as Error).message };
    throw e;
  }
  // Model servers mid-rollout may still answer with the old model: keep the old result and try again later.
  if (seen.analysis.model.id !== job.model) {
    throw Object.assign(new Error(`model_mismatch: asked for ${job.model}, the model servers answered with ${seen.analysis.model.id}`), { code: 'model_mismatch' });
  }
  await replaceAnalysis(deps.db, row.id, seen.analysis);
  return { outcome: 'replaced', photoId: row.id, model: job.model };
}

/** Submits one reclassify job per photo whose stored analysis came from another model (old results stay visible). */
export async function runReindexJob(deps: WorkerDeps, job: ReindexJob): Promise<JobOutcome> {
  const stale = await deps.db
    .selectFrom('photos as p')
    .innerJoin('analyses as a', 'a.photo_id', 'p.id')
    .innerJoin('owners as o', 'o.id', 'p.owner_id')
    .select(['p.id', 'p.content_hash', 'o.name', 'a.created_at'])
    .where('a.model_id', '<>', job.model)
    .orderBy('p.id')
    .execute();
  let submitted = 0;
  for (const p of stale) {
    const r = await deps.queue.submitReclassify({ photoId: p.id, owner: p.name, hash: p.content_hash, model: job.model, since: p.created_at });
    if (r.created) submitted++;
  }
  return { outcome: 'fanned_out', submitted, stale: stale.length };
}

export interface RunningWorker {
  /** Stops taking jobs and waits for the ones in hand. */
  stop(): Promise<void>;
}

/**
 * Works the three queues with `concurrency` jobs of each at once (one pg-boss poller per slot). Returns once
 * polling has started.
 */
export async function startWorker(deps: WorkerDeps, opts: { concurrency?: number; onJob?: (kind: string, outcome: JobOutcome | Error) => void } = {}): Promise<RunningWorker> {
  const boss = deps.queue.boss;
  const n = Math.max(1, opts.concurrency ?? 2);
  const poll = { batchSize: 1, pollingIntervalSeconds: deps.queue.options.pollSeconds };
  const wrap =
    <T>(kind: string, fn: (deps: WorkerDeps, data: T) => Promise<JobOutcome>) =>
    async (jobs: PgBoss.Job<T>[]) => {
      const out: JobOutcome[] = [];
      for (const j of jobs) {
        try {
          const r = await fn(deps, j.data);
          opts.onJob?.(kind, r);
          out.push(r);
        } catch (e) {
          opts.onJob?.(kind, e as Error);
          throw e;
        }
      }
      return out.length === 1 ? out[0] : out;
    };
  for (let i = 0; i < n; i++) {
    await boss.work<IngestJob>(QUEUES.ingest, poll, wrap('ingest', runIngestJob));
    await boss.work<ReclassifyJob>(QUEUES.reclassify, poll, wrap('reclassify', runReclassifyJob));
  }
  await boss.work<ReindexJob>(QUEUES.reindex, poll, wrap('reindex', runReindexJob));
  return {
    async stop() {
      await Promise.all(Object.values(QUEUES).map((q) => boss.offWork(q)));
    },
  };
}
