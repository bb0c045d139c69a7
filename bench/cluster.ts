// `npm run bench -- --only cluster`: a whole cluster on this machine. A throwaway PostgreSQL
// (scripts/pg-test-server.sh), nginx with deploy/nginx/pictograph-models.conf, 2 model servers and 2 workers,
// all separate processes. (a) Classification through nginx at concurrency 16 while the model is rolled out
// mobilenetv2-12-int8 -> shufflenet-v2-12-qdq -> back: requests, failures, answers per model per phase.
// (c) Ingest throughput with 1 and with 2 workers. (b) 500 photos ingested through the queue while a worker is
// killed with SIGKILL five times: stored exactly once, none lost, none duplicated, jobs retried.
// Ports: PICTOGRAPH_BENCH_PORT (nginx; model servers the next two; default 18860); PostgreSQL: PG_TEST_PORT (default 54413).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openLibrary } from '../src/library/db.js';
import { JobQueue } from '../src/jobs/queue.js';
import { submitIngest } from '../src/jobs/submit.js';
import { rollout, serverStatus, type RolloutResult } from '../src/server/rollout.js';
import { startNginx } from '../test/support/nginx.js';
import type { BenchOptions } from './main.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');
const shared = resolve(repoRoot, '..', 'shared');
const FIRST = 'mobilenetv2-12-int8';
const SECOND = 'shufflenet-v2-12-qdq';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function cli(args: string[], env: NodeJS.ProcessEnv, name: string): ChildProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  proc.stderr!.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  });
  proc.on('exit', (code, signal) => {
    if (code !== 0 && code !== null && signal === null) process.stderr.write(`bench cluster: ${name} exited ${code}: ${tail}\n`);
  });
  return proc;
}

async function stop(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await Promise.race([exited, sleep(20_000).then(() => proc.kill('SIGKILL'))]);
}

export async function benchCluster(opts: BenchOptions): Promise<Record<string, unknown>> {
  const started = Date.now();
  const portBase = Number(process.env.PICTOGRAPH_BENCH_PORT ?? 18860);
  const pgPort = process.env.PG_TEST_PORT ?? '54413';
  const pgState = `/tmp/pictograph-pg-test-${pgPort}`;
  const pgWasRunning = existsSync(join(pgState, 'dir'));
  const baseUrl = execFileSync('bash', [join(repoRoot, 'scripts', 'pg-test-server.sh')], { env: { ...process.env, PG_TEST_PORT: pgPort }, encoding: 'utf8' }).trim();
  const dbName = `pictograph_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const databaseUrl = baseUrl.replace(/\/[^/]+$/, `/${dbName}`);

  const home = mkdtempSync(join(tmpdir(), 'pictograph-bench-cluster-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PICTOGRAPH_HOME: home,
    PICTOGRAPH_MODEL_MIRROR: process.env.PICTOGRAPH_MODEL_MIRROR ?? join(shared, 'models'),
    DATABASE_URL: databaseUrl,
  };
  const procs: ChildProcess[] = [];
  let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
  let queue: JobQueue | undefined;
  let lib: Awaited<ReturnType<typeof openLibrary>> | undefined;
  try {
    // Two model servers (one inference thread each: the machine is shared), nginx in front.
    const modelUrls = [1, 2].map((i) => `http://127.0.0.1:${portBase + i}`);
    for (let i = 0; i < 2; i++) {
      procs.push(cli(['serve', '--role', 'model', '--port', String(portBase + 1 + i), '--threads', '1', '--log-level', 'warn'], env, `model server ${i + 1}`));
    }
    for (const u of modelUrls) await until(`${u} ready`, async () => (await serverStatus(u).catch(() => null))?.ready === true, 120_000);
    nginx = await startNginx(modelUrls.map((u) => new URL(u).host), portBase);

    // (a) Classification through nginx at concurrency 16 during a rollout and back.
    const images = readdirSync(opts.folder).filter((f) => /\.jpe?g$/i.test(f)).sort().slice(0, 64).map((f) => readFileSync(join(opts.folder, f)));
    let phase = 'before';
    const perPhase: Record<string, Record<string, number>> = {};
    let requests = 0;
    let failed = 0;
    const failures: string[] = [];
    let running = true;
    const client = async (k: number) => {
      for (let i = k; running; i += 16) {
        const p = phase;
        requests++;
        try {
          const r = await fetch(`${nginx!.url}/v1/classify`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: images[i % images.length] });
          const body = (await r.json()) as { model?: { id: string } };
          if (r.status !== 200 || !body.model) throw new Error(`HTTP ${r.status}`);
          (perPhase[p] ??= {})[body.model.id] = (perPhase[p]![body.model.id] ?? 0) + 1;
        } catch (err) {
          failed++;
          if (failures.length < 10) failures.push(`${p}: ${(err as Error).message}`);
        }
      }
    };
    const clients = Array.from({ length: 16 }, (_, k) => client(k));
    const a0 = performance.now();
    await sleep(5000);
    phase = `rollout to ${SECOND}`;
    const forward: RolloutResult = await rollout({ servers: modelUrls, model: SECOND });
    phase = `on ${SECOND}`;
    await sleep(5000);
    phase = `rollout back to ${FIRST}`;
    const back: RolloutResult = await rollout({ servers: modelUrls, model: FIRST });
    phase = 'after';
    await sleep(5000);
    running = false;
    await Promise.all(clients);
    const aSeconds = (performance.now() - a0) / 1000;
    const classification = {
      concurrency: 16,
      requests,
      failed,
      failures,
      perSecond: requests / aSeconds,
      answersPerModel: perPhase,
      rollouts: [forward, back].map((r) => ({ model: r.model, ok: r.ok, seconds: r.steps.map((s) => Number(s.seconds.toFixed(2))), error: r.error })),
    };

    // The library schema and the queue exist before any worker starts.
    lib = await openLibrary({ databaseUrl });
    queue = await JobQueue.open({ databaseUrl, retryLimit: 10, retryDelaySeconds: 1 });
    const workerEnv: NodeJS.ProcessEnv = {
      ...env,
      PICTOGRAPH_MODEL_SERVERS: nginx.url,
      PICTOGRAPH_JOB_EXPIRE: '20',
      PICTOGRAPH_JOB_MAINTENANCE: '2',
      PICTOGRAPH_JOB_RETRY_DELAY: '1',
      PICTOGRAPH_JOB_RETRIES: '10',
    };
    const workers: ChildProcess[] = [];
    const startWorkerProc = (i: number) => {
      const w = cli(['worker', '--concurrency', '4'], workerEnv, `worker ${i + 1}`);
      workers[i] = w;
      procs.push(w);
    };
    const ownerDone = async (owner: string) => {
      const p = await queue!.progress({ owner, failures: 0 });
      const q = p.queues.ingest!;
      return { done: q.completed + q.failed, failed: q.failed, pending: q.created + q.retry + q.active, retried: p.retried };
    };

    // (c) Throughput: the same number of new photos with 1 worker, then with 2.
    const other = join(shared, 'data', 'photos', 'images');
    const otherFiles = readdirSync(other).sort().map((f) => join(other, f));
    const n = Math.min(Number(process.env.PICTOGRAPH_BENCH_CLUSTER_PHOTOS ?? 24), Math.floor(otherFiles.length / 2));
    const throughput: Record<string, number> = {};
    for (const count of [1, 2]) {
      for (let i = 0; i < count; i++) if (!workers[i] || workers[i]!.exitCode !== null) startWorkerProc(i);
      await sleep(3000); // workers connect and start polling
      const owner = `throughput-${count}`;
      const files = count === 1 ? otherFiles.slice(0, n) : otherFiles.slice(n, 2 * n);
      const t0 = performance.now();
      const s = await submitIngest(queue, files, { owner, model: FIRST });
      await until(`${owner} jobs`, async () => (await ownerDone(owner)).pending === 0, 600_000);
      throughput[`workers${count}PhotosPerSecond`] = s.submitted / ((performance.now() - t0) / 1000);
    }
    throughput.ratio2to1 = throughput.workers2PhotosPerSecond! / throughput.workers1PhotosPerSecond!;

    // (b) 500 photos through the queue while a worker is killed with SIGKILL five times (and restarted).
    const owner = 'killed-workers';
    const b0 = performance.now();
    const sub = await submitIngest(queue, [opts.folder], { owner, model: FIRST });
    const marks = [0.1, 0.25, 0.4, 0.55, 0.7].map((f) => Math.floor(f * sub.submitted));
    const kills: Array<{ worker: number; atDone: number }> = [];
    for (const [k, mark] of marks.entries()) {
      await until(`${mark} jobs done`, async () => (await ownerDone(owner)).done >= mark, 600_000);
      const i = k % 2;
      const victim = workers[i]!;
      victim.kill('SIGKILL');
      await new Promise((r) => (victim.exitCode !== null || victim.signalCode !== null ? r(null) : victim.once('exit', r)));
      kills.push({ worker: i + 1, atDone: (await ownerDone(owner)).done });
      startWorkerProc(i);
    }
    await until('every ingest job', async () => (await ownerDone(owner)).pending === 0, 900_000);
    const bSeconds = (performance.now() - b0) / 1000;
    const end = await ownerDone(owner);
    const rows = await lib.db
      .selectFrom('photos as p')
      .innerJoin('owners as o', 'o.id', 'p.owner_id')
      .where('o.name', '=', owner)
      .select(['p.content_hash'])
      .execute();
    const distinct = new Set(rows.map((r) => r.content_hash)).size;
    const analysed = await lib.db
      .selectFrom('photos as p')
      .innerJoin('owners as o', 'o.id', 'p.owner_id')
      .innerJoin('analyses as a', 'a.photo_id', 'p.id')
      .where('o.name', '=', owner)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const ingest = {
      files: sub.files,
      jobs: sub.submitted,
      kills: kills.length,
      killedAt: kills,
      storedExactlyOnce: distinct,
      rows: rows.length,
      withAnalysis: Number(analysed.n),
      lost: sub.submitted - distinct,
      duplicated: rows.length - distinct,
      jobsFailed: end.failed,
      retried: end.retried,
      seconds: bSeconds,
    };

    for (const w of workers) await stop(w);
    return {
      machine: { loadavg1: loadavg()[0], cores: (await import('node:os')).availableParallelism() },
      classification,
      ingest,
      throughput: { photos: n, ...throughput },
      failedRequests: failed,
      stored: distinct,
      lost: ingest.lost,
      duplicated: ingest.duplicated,
      retried: ingest.retried,
      workersRatio: throughput.ratio2to1,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    for (const p of procs) await stop(p);
    await nginx?.stop();
    await queue?.close().catch(() => undefined);
    await lib?.close().catch(() => undefined);
    await admin.query(`drop database if exists ${dbName} with (force)`).catch(() => undefined);
    await admin.end();
    if (!pgWasRunning) execFileSync('bash', [join(repoRoot, 'scripts', 'pg-test-server.sh'), 'stop'], { env: { ...process.env, PG_TEST_PORT: pgPort }, stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  }
}
