// `pictograph worker`, `pictograph jobs` and `pictograph rollout`: the cluster commands. A worker takes ingest,
// reclassify and reindex jobs from the PostgreSQL queue (DATABASE_URL) and classifies with model servers
// (PICTOGRAPH_MODEL_SERVERS) or its own in-process model; `jobs` shows progress; `rollout` updates model servers.
import type { Command } from 'commander';
import { openLibrary } from '../library/db.js';
import type { PhotoRecognizer } from '../library/ingest.js';
import { loadRecognizer } from '../library/recognizer.js';
import { modelServersFromEnv, remoteRecognizer } from '../library/remote-recognizer.js';
import { JobQueue, queueOptionsFromEnv, type QueueProgress } from '../jobs/queue.js';
import { startWorker } from '../jobs/worker.js';
import { rollout } from '../server/rollout.js';

/** The queue from DATABASE_URL, or a clear error: the queue lives in PostgreSQL. */
export async function openQueue(opts: { supervise?: boolean } = {}): Promise<JobQueue> {
  const q = queueOptionsFromEnv();
  if (!q) throw new Error('the job queue needs PostgreSQL: set DATABASE_URL (without it, ingest and reindex run in this process)');
  return JobQueue.open({ ...q, supervise: opts.supervise });
}

/** Model servers when configured (flag or PICTOGRAPH_MODEL_SERVERS), else the in-process model. */
export async function clusterRecognizer(o: { model?: string; modelServers?: string }): Promise<PhotoRecognizer & { close(): Promise<void> }> {
  const urls = o.modelServers !== undefined ? modelServersFromEnv({ PICTOGRAPH_MODEL_SERVERS: o.modelServers }) : modelServersFromEnv();
  if (urls.length > 0) return remoteRecognizer({ urls });
  return loadRecognizer({ modelId: o.model ?? process.env.PICTOGRAPH_MODEL });
}

export function printProgress(p: QueueProgress, out: NodeJS.WritableStream = process.stdout): void {
  out.write('queue        waiting  retry  active  done    failed\n');
  for (const [name, q] of Object.entries(p.queues)) {
    out.write(`${name.padEnd(12)} ${String(q.created).padStart(7)} ${String(q.retry).padStart(6)} ${String(q.active).padStart(7)} ${String(q.completed).padStart(6)} ${String(q.failed).padStart(9)}\n`);
  }
  out.write(`retried: ${p.retried} jobs\n`);
  for (const f of p.failures) out.write(`  failed ${f.queue} ${f.id} ${f.owner ?? ''} ${f.path ?? ''} after ${f.retries} retries: ${f.reason}\n`);
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('process queued ingest / reclassify / reindex jobs (needs DATABASE_URL); run one per machine')
    .option('--concurrency <n>', 'jobs of each kind at once', '2')
    .option('-m, --model <id>', 'in-process model when no model servers are configured (default: PICTOGRAPH_MODEL or mobilenetv2-12-int8)')
    .option('--model-servers <urls>', 'comma-separated model server (or load balancer) URLs; default PICTOGRAPH_MODEL_SERVERS')
    .action(async (o: { concurrency: string; model?: string; modelServers?: string }) => {
      const concurrency = Number(o.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new Error('--concurrency must be an integer from 1 to 256');
      const queue = await openQueue({ supervise: true });
      const lib = await openLibrary();
      const recognizer = await clusterRecognizer(o);
      const worker = await startWorker({ db: lib.db, queue, recognizer }, {
        concurrency,
        onJob: (kind, r) => {
          if (r instanceof Error) process.stderr.write(`worker: ${kind} job failed (will retry unless it was the last attempt): ${r.message}\n`);
        },
      });
      process.stderr.write(`worker: ${concurrency} at a time, classifying with ${'urls' in recognizer ? `model servers ${String(recognizer.urls)}` : recognizer.model.id}\n`);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`worker: ${signal}: finishing the jobs in hand\n`);
        void (async () => {
          await worker.stop();
          await queue.close();
          await recognizer.close();
          await lib.close();
          process.exit(0);
        })();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });

  program
    .command('jobs')
    .description('progress of the job queue: jobs per queue and state, retries, latest failures with reasons')
    .option('--owner <name>', "only this owner's jobs")
    .option('--json', 'print JSON')
    .action(async (o: { owner?: string; json?: boolean }) => {
      const queue = await openQueue();
      try {
        const p = await queue.progress({ owner: o.owner });
        if (o.json) process.stdout.write(JSON.stringify(p) + '\n');
        else printProgress(p);
      } finally {
        await queue.close();
      }
    });

  program
    .command('rollout')
    .description('move model servers to another model one at a time (drain, finish in-flight work, load, wait ready); aborts and rolls back if it fails to load')
    .requiredOption('-m, --model <id>', 'the model to roll out')
    .option('--servers <urls>', 'comma-separated model server URLs (each server, not the balancer); default PICTOGRAPH_ROLLOUT_SERVERS')
    .option('--admin-token <token>', "the model servers' admin token (default PICTOGRAPH_ADMIN_TOKEN)")
    .option('--timeout <s>', 'longest wait for in-flight requests, and for the model to load, per server', '300')
    .option('--json', 'print the result as JSON')
    .action(async (o: { model: string; servers?: string; adminToken?: string; timeout: string; json?: boolean }) => {
      const servers = modelServersFromEnv({ PICTOGRAPH_MODEL_SERVERS: o.servers ?? process.env.PICTOGRAPH_ROLLOUT_SERVERS ?? '' });
      if (servers.length === 0) throw new Error('name the model servers: --servers http://host1:8081,http://host2:8081');
      const timeout = Number(o.timeout);
      if (!(timeout > 0)) throw new Error('--timeout must be a positive number of seconds');
      const r = await rollout({
        servers,
        model: o.model,
        adminToken: o.adminToken ?? (process.env.PICTOGRAPH_ADMIN_TOKEN || undefined),
        timeoutMs: timeout * 1000,
        log: o.json ? undefined : (line) => process.stderr.write(`rollout: ${line}\n`),
      });
      if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
      else process.stdout.write(r.ok ? `rolled out ${r.model} to ${r.steps.length} servers\n` : `rollout of ${r.model} aborted: ${r.error}\n`);
      if (!r.ok) process.exitCode = 1;
    });
}
