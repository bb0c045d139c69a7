// The PostgreSQL job queue (pg-boss) with real photos, the real model and a real database: deterministic job ids
// make double submissions and repeated runs harmless; a failing job is retried with backoff and then recorded
// as failed with its reason; a bad photo is rejected at once and recorded. Runs when PICTOGRAPH_TEST_DATABASE_URL is set.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { dropPgSchema, openLibrary, type Library } from '../../src/library/db.js';
import { loadRecognizer, type LoadedRecognizer } from '../../src/library/recognizer.js';
import { remoteRecognizer } from '../../src/library/remote-recognizer.js';
import { JobQueue, jobId } from '../../src/jobs/queue.js';
import { submitIngest } from '../../src/jobs/submit.js';
import { runIngestJob, startWorker } from '../../src/jobs/worker.js';
import { calibImages, tempHome } from '../support/env.js';
import { createServer } from '../../src/server/app.js';
import { createToken } from '../../src/library/tokens.js';
import { ensureOwner } from '../../src/library/store.js';
import { multipart } from '../server/images.js';
import { readFileSync } from 'node:fs';
import { pgUrl } from '../library/support.js';

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('job ids', () => {
  it('are UUIDs made from kind, owner, content hash and model', () => {
    const a = jobId('ingest', 'ann', 'abc', 'mobilenetv2-12-int8');
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(jobId('ingest', 'ann', 'abc', 'mobilenetv2-12-int8'), a);
    assert.notEqual(jobId('ingest', 'bob', 'abc', 'mobilenetv2-12-int8'), a);
    assert.notEqual(jobId('ingest', 'ann', 'abd', 'mobilenetv2-12-int8'), a);
    assert.notEqual(jobId('ingest', 'ann', 'abc', 'shufflenet-v2-12-qdq'), a);
    assert.notEqual(jobId('reclassify', 'ann', 'abc', 'mobilenetv2-12-int8'), a);
  });
});

describe('job queue on PostgreSQL', { skip: pgUrl ? false : 'PICTOGRAPH_TEST_DATABASE_URL not set' }, () => {
  const h = tempHome('pictograph-jobs-');
  const libSchema = `t_jobs_${process.pid}_${randomBytes(3).toString('hex')}`;
  const queueSchema = `q_jobs_${process.pid}_${randomBytes(3).toString('hex')}`;
  let lib: Library;
  let queue: JobQueue;
  let recognizer: LoadedRecognizer;
  let dir: string;
  let files: string[];

  before(async () => {
    lib = await openLibrary({ databaseUrl: pgUrl!, pgSchema: libSchema, env: h.env });
    queue = await JobQueue.open({ databaseUrl: pgUrl!, schema: queueSchema, retryLimit: 2, retryDelaySeconds: 1, supervise: true, maintenanceSeconds: 1, pollSeconds: 0.5 });
    recognizer = await loadRecognizer({ env: h.env });
    dir = mkdtempSync(join(tmpdir(), 'pictograph-jobs-photos-'));
    const names = readdirSync(calibImages).sort().slice(0, 6);
    for (const n of names) copyFileSync(join(calibImages, n), join(dir, n));
    // The same content under another name: one photo for the owner, one job.
    copyFileSync(join(calibImages, names[0]!), join(dir, `copy-of-${names[0]}`));
    files = readdirSync(dir);
  });

  after(async () => {
    await queue?.close();
    await recognizer?.close();
    await lib?.close();
    await dropPgSchema(pgUrl!, libSchema);
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query(`drop schema if exists ${queueSchema} cascade`);
    await c.end();
    rmSync(dir, { recursive: true, force: true });
    h.cleanup();
  });

  it('a double submission adds no job, and every photo is stored exactly once', async () => {
    const first = await submitIngest(queue, [dir], { owner: 'ann', model: recognizer.model.id });
    assert.equal(first.files, 7);
    assert.equal(first.submitted, 6, 'the copy has the same id as its original');
    assert.equal(first.existing, 1);
    const second = await submitIngest(queue, [dir], { owner: 'ann', model: recognizer.model.id });
    assert.equal(second.submitted, 0);
    assert.equal(second.existing, 7);
    assert.deepEqual(second.jobs.map((j) => j.id), first.jobs.map((j) => j.id));

    const worker = await startWorker({ db: lib.db, queue, recognizer, env: h.env }, { concurrency: 2 });
    try {
      await until('the ingest jobs', () => queue.idle(['ingest']));
    } finally {
      await worker.stop();
    }
    const p = await queue.progress();
    assert.equal(p.queues.ingest!.completed, 6);
    assert.equal(p.queues.ingest!.failed, 0);
    const photos = await lib.db.selectFrom('photos').select(['id', 'content_hash']).execute();
    assert.equal(photos.length, 6);
    assert.equal(new Set(photos.map((r) => r.content_hash)).size, 6);

    // Running a job again (a worker died after storing, before pg-boss heard) stores nothing new.
    const again = await runIngestJob({ db: lib.db, queue, recognizer, env: h.env }, { owner: 'ann', path: join(dir, files[0]!), hash: 'x', visibility: 'private', model: recognizer.model.id });
    assert.equal(again.outcome, 'skipped');
    assert.equal((await lib.db.selectFrom('photos').select('id').execute()).length, 6);
    assert.equal(await submitIngest(queue, [dir], { owner: 'ann', model: recognizer.model.id }).then((s) => s.submitted), 0);
  });

  it('retries a failing job with backoff, then records it as failed with the reason; a bad photo is rejected at once', async () => {
    const bad = join(dir, 'not-a-photo.jpg');
    writeFileSync(bad, 'this is not a JPEG');
    // No model server listens here: every attempt fails with model_unavailable.
    const dead = await remoteRecognizer({ urls: ['http://127.0.0.1:18899'], rounds: 1, timeoutMs: 2000 });
    const owner = 'bob';
    const good = join(dir, files.find((f) => !f.startsWith('copy'))!);
    const s = await submitIngest(queue, [good, bad], { owner, model: 'mobilenetv2-12-int8' });
    assert.equal(s.submitted, 2);
    const outcomes: string[] = [];
    const worker = await startWorker({ db: lib.db, queue, recognizer: dead, env: h.env }, { concurrency: 1, onJob: (_k, r) => outcomes.push(r instanceof Error ? 'error' : r.outcome) });
    try {
      await until('the failing job to give up', () => queue.idle(['ingest']), 60_000);
    } finally {
      await worker.stop();
    }
    const p = await queue.progress({ owner });
    assert.equal(p.queues.ingest!.failed, 1);
    assert.equal(p.queues.ingest!.completed, 1, 'the bad photo ends at once (rejected, not retried)');
    assert.equal(p.failures.length, 1);
    assert.equal(p.failures[0]!.retries, 2, 'two retries after the first attempt');
    assert.match(p.failures[0]!.reason, /model_unavailable/);
    assert.equal(p.failures[0]!.path, good);
    assert.deepEqual(outcomes.filter((o) => o === 'error').length, 3);
    assert.ok(outcomes.includes('rejected'));
    // The library records the bad photo's reason too.
    const failures = await lib.db.selectFrom('failures').select(['path', 'code']).execute();
    assert.ok(failures.some((f) => f.path === bad && f.code !== 'model_unavailable'));
    assert.equal((await lib.db.selectFrom('photos as p').innerJoin('owners as o', 'o.id', 'p.owner_id').where('o.name', '=', owner).select('p.id').execute()).length, 0);
  });

  it('uploads become jobs when the server has a queue; GET /v1/jobs shows their progress per owner', async () => {
    const app = await createServer({ db: lib.db, engine: recognizer.engine, taxonomy: recognizer.taxonomy, env: h.env, queue, config: { webRoot: null } });
    try {
      const carol = await ensureOwner(lib.db, 'carol');
      const token = (await createToken(lib.db, { ownerId: carol })).token;
      const names = readdirSync(calibImages).sort().slice(10, 12);
      const form = multipart(names.map((n) => ({ name: 'file', filename: n, type: 'image/jpeg', data: readFileSync(join(calibImages, n)) })));
      const send = () => app.inject({ method: 'POST', url: '/v1/photos', headers: { authorization: `Bearer ${token}`, 'content-type': form.contentType }, payload: form.body });
      const res = await send();
      assert.equal(res.statusCode, 202, res.body);
      const jobs = (res.json() as { jobs: Array<{ file: string; job: { id: string; created: boolean } }> }).jobs;
      assert.deepEqual(jobs.map((j) => [j.file, j.job.created]), names.map((n) => [n, true]));
      const again = await send();
      assert.deepEqual((again.json() as { jobs: Array<{ job: { created: boolean } }> }).jobs.map((j) => j.job.created), [false, false], 'uploading twice adds no job');
      const progress = async () => (await app.inject({ method: 'GET', url: '/v1/jobs', headers: { authorization: `Bearer ${token}` } })).json() as { queues: { ingest: { created: number; completed: number } } };
      assert.equal((await progress()).queues.ingest.created, 2);
      const worker = await startWorker({ db: lib.db, queue, recognizer, env: h.env }, { concurrency: 2 });
      try {
        await until("carol's jobs", async () => (await progress()).queues.ingest.completed === 2);
      } finally {
        await worker.stop();
      }
      const stored = await lib.db.selectFrom('photos').select('id').where('owner_id', '=', carol).execute();
      assert.equal(stored.length, 2);
      assert.equal((await app.inject({ method: 'GET', url: '/v1/jobs' })).statusCode, 401);
    } finally {
      await app.close();
    }
  });

  it('reindex runs as background jobs: one reclassify job per photo, old results readable until each is redone', async () => {
    const before = await lib.db.selectFrom('analyses').select(['photo_id', 'model_id']).execute();
    assert.ok(before.length >= 6);
    assert.ok(before.every((a) => a.model_id === recognizer.model.id));
    const r = await queue.submitReindex({ model: 'shufflenet-v2-12-qdq' });
    assert.equal(r.created, true);
    assert.equal((await queue.submitReindex({ model: 'shufflenet-v2-12-qdq' })).created, false, 'the same minute: the same job');
    // Until a worker runs, every photo keeps its analysis.
    assert.equal((await lib.db.selectFrom('analyses').select('photo_id').execute()).length, before.length);
    const next = await loadRecognizer({ env: h.env, modelId: 'shufflenet-v2-12-qdq' });
    const worker = await startWorker({ db: lib.db, queue, recognizer: next, env: h.env }, { concurrency: 2 });
    try {
      await until('the reindex', async () => {
        const p = await queue.progress({ failures: 0 });
        return p.queues.reindex!.completed === 1 && (await queue.idle(['reindex', 'reclassify']));
      });
    } finally {
      await worker.stop();
      await next.close();
    }
    const afterwards = await lib.db.selectFrom('analyses').select(['photo_id', 'model_id']).execute();
    assert.deepEqual(afterwards.map((a) => a.photo_id).sort(), before.map((a) => a.photo_id).sort());
    assert.ok(afterwards.every((a) => a.model_id === 'shufflenet-v2-12-qdq'));
    const p = await queue.progress();
    assert.equal(p.queues.reclassify!.completed, before.length);
    assert.equal(p.queues.reclassify!.failed, 0);
  });
});
