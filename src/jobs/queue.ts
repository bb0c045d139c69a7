// The job queue: ingest, reclassify and reindex as pg-boss jobs on the library's PostgreSQL. Job ids are
// deterministic (kind + owner + content hash + model), so a retried or doubled submission is the same job.
import { createHash } from 'node:crypto';
import PgBoss from 'pg-boss';

export const QUEUES = { ingest: 'pictograph-ingest', reclassify: 'pictograph-reclassify', reindex: 'pictograph-reindex' } as const;
export type JobKind = keyof typeof QUEUES;

export interface IngestJob {
  owner: string;
  /** Absolute path of the original, readable from every worker (a shared folder or the upload store). */
  path: string;
  hash: string;
  visibility: 'private' | 'public';
  keepGps?: boolean;
  /** The model the job was submitted for (part of its id). */
  model: string;
}

export interface ReclassifyJob {
  photoId: number;
  owner: string;
  hash: string;
  model: string;
  /** When the analysis being replaced was made (part of the id: the same stored state is the same job). */
  since: string;
}

export interface ReindexJob {
  model: string;
}

export interface QueueOptions {
  /** PostgreSQL URL (the library's DATABASE_URL). */
  databaseUrl: string;
  /** Schema of the queue's tables (default `pgboss`). */
  schema?: string;
  /** Attempts after the first before a job ends as failed (default 4). */
  retryLimit?: number;
  /** Seconds before the first retry; doubles (with jitter) each time (default 5). */
  retryDelaySeconds?: number;
  /** A job still active this long is taken as lost (its worker died) and retried (default 300). */
  expireSeconds?: number;
  /** How often a worker looks for expired jobs and archives old ones (default 30). */
  maintenanceSeconds?: number;
  /** Whether this process runs maintenance (workers do; submitters need not). */
  supervise?: boolean;
  /** Poll interval of workers in seconds (default 1). */
  pollSeconds?: number;
}

/**
 * A job id from its parts: the sha256 of kind, owner, content hash and model shaped as a UUID (pg-boss ids are
 * uuid). The same photo for the same owner and model is always the same job.
 */
export function jobId(kind: JobKind, owner: string, hash: string, model: string): string {
  const h = createHash('sha256').update(`${kind}\0${owner}\0${hash}\0${model}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export type JobState = 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';

export interface QueueProgress {
  queues: Record<string, Record<JobState, number>>;
  /** Jobs retried at least once (a worker died, or an attempt failed). */
  retried: number;
  /** The latest jobs that ended failed, with the reason. */
  failures: Array<{ queue: string; id: string; owner: string | null; path: string | null; retries: number; reason: string; at: string }>;
}

export interface Submitted {
  id: string;
  /** False when a job with this id already exists (a double submission or a retry of the submit). */
  created: boolean;
}

export class JobQueue {
  private constructor(
    readonly boss: PgBoss,
    readonly schema: string,
    readonly options: Required<Pick<QueueOptions, 'retryLimit' | 'retryDelaySeconds' | 'expireSeconds' | 'pollSeconds'>>,
  ) {}

  /** Connects, installs or migrates the queue's tables, and creates the three queues. */
  static async open(opts: QueueOptions): Promise<JobQueue> {
    const schema = opts.schema ?? 'pgboss';
    if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad queue schema name: ${schema}`);
    const boss = new PgBoss({
      connectionString: opts.databaseUrl,
      schema,
      max: 4,
      supervise: opts.supervise ?? false,
      schedule: false,
      maintenanceIntervalSeconds: opts.maintenanceSeconds ?? 30,
      application_name: 'pictograph-queue',
    });
    boss.on('error', (err) => {
      process.stderr.write(`pictograph queue: ${err instanceof Error ? err.message : String(err)}\n`);
    });
    await boss.start();
    const options = {
      retryLimit: opts.retryLimit ?? 4,
      retryDelaySeconds: opts.retryDelaySeconds ?? 5,
      expireSeconds: opts.expireSeconds ?? 300,
      pollSeconds: opts.pollSeconds ?? 1,
    };
    const queue = new JobQueue(boss, schema, options);
    for (const name of Object.values(QUEUES)) {
      const settings = {
        name,
        retryLimit: options.retryLimit,
        retryDelay: options.retryDelaySeconds,
        retryBackoff: true,
        expireInSeconds: options.expireSeconds,
        retentionDays: 7,
      };
      if (await boss.getQueue(name)) await boss.updateQueue(name, settings);
      else await boss.createQueue(name, settings).catch(async (err: unknown) => {
        if (!(await boss.getQueue(name))) throw err; // another process created it at the same moment
      });
    }
    return queue;
  }

  private async send(kind: JobKind, id: string, data: object): Promise<Submitted> {
    const sent = await this.boss.send(QUEUES[kind], data, { id });
    return { id, created: sent !== null };
  }

  submitIngest(job: IngestJob): Promise<Submitted> {
    return this.send('ingest', jobId('ingest', job.owner, job.hash, job.model), job);
  }

  submitReclassify(job: ReclassifyJob): Promise<Submitted> {
    return this.send('reclassify', jobId('reclassify', job.owner, job.hash, `${job.model}\0${job.since}`), job);
  }

  /**
   * A reindex job; it fans out into reclassify jobs (deterministic ids) for the photos another model judged.
   * Submissions within the same minute are one job; a later one runs again (and adds only what is new).
   */
  submitReindex(job: ReindexJob, now = new Date()): Promise<Submitted> {
    return this.send('reindex', jobId('reindex', '', now.toISOString().slice(0, 16), job.model), job);
  }

  /** Counts per queue and state (live and archived jobs), jobs retried, and the latest failures with reasons. */
  async progress(opts: { owner?: string; failures?: number } = {}): Promise<QueueProgress> {
    const db = this.boss.getDb();
    const s = this.schema;
    const ownerCond = opts.owner !== undefined ? `and data->>'owner' = $1` : '';
    const params = opts.owner !== undefined ? [opts.owner] : [];
    const all = `(select name, state, retry_count, data, output, completed_on, id from ${s}.job where name like 'pictograph-%' ${ownerCond}
                  union all select name, state, retry_count, data, output, completed_on, id from ${s}.archive where name like 'pictograph-%' ${ownerCond})`;
    const counts = await db.executeSql(`select name, state::text as state, count(*)::int as n, sum(case when retry_count > 0 then 1 else 0 end)::int as retried from ${all} j group by 1, 2`, params);
    const queues: QueueProgress['queues'] = {};
    for (const kind of Object.keys(QUEUES) as JobKind[]) queues[kind] = { created: 0, retry: 0, active: 0, completed: 0, cancelled: 0, failed: 0 };
    let retried = 0;
    for (const r of counts.rows as Array<{ name: string; state: JobState; n: number; retried: number }>) {
      const kind = (Object.keys(QUEUES) as JobKind[]).find((k) => QUEUES[k] === r.name);
      if (!kind) continue;
      queues[kind]![r.state] = r.n;
      retried += r.retried;
    }
    const failed = await db.executeSql(
      `select name, id::text as id, data, output, retry_count, completed_on from ${all} j where state = 'failed' order by completed_on desc limit ${Math.max(0, Math.min(1000, opts.failures ?? 20))}`,
      params,
    );
    const failures = (failed.rows as Array<{ name: string; id: string; data: Record<string, unknown>; output: unknown; retry_count: number; completed_on: Date | null }>).map((r) => ({
      queue: (Object.keys(QUEUES) as JobKind[]).find((k) => QUEUES[k] === r.name) ?? r.name,
      id: r.id,
      owner: typeof r.data?.owner === 'string' ? r.data.owner : null,
      path: typeof r.data?.path === 'string' ? r.data.path : null,
      retries: r.retry_count,
      reason: failureReason(r.output),
      at: r.completed_on ? new Date(r.completed_on).toISOString() : '',
    }));
    return { queues, retried, failures };
  }

  /** Whether every job in these queues has finished (completed, failed or cancelled). */
  async idle(kinds: JobKind[] = ['ingest', 'reclassify', 'reindex']): Promise<boolean> {
    const p = await this.progress({ failures: 0 });
    return kinds.every((k) => {
      const q = p.queues[k]!;
      return q.created + q.retry + q.active === 0;
    });
  }

  async close(): Promise<void> {
    await this.boss.stop({ graceful: true, wait: true, timeout: 30_000 });
  }
}

/** The reason pg-boss stored for a failed job: the error's message (or the timeout note). */
export function failureReason(output: unknown): string {
  const o = output as { message?: unknown; value?: { message?: unknown } } | null;
  if (o && typeof o.message === 'string') return o.message;
  if (o && o.value && typeof o.value.message === 'string') return o.value.message;
  return output === null || output === undefined ? 'unknown' : JSON.stringify(output).slice(0, 500);
}

/** The queue settings from the environment: `DATABASE_URL` plus `PICTOGRAPH_QUEUE_SCHEMA`. Undefined without a database. */
export function queueOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): QueueOptions | undefined {
  const url = env.DATABASE_URL?.trim();
  if (!url) return undefined;
  const num = (name: string): number | undefined => {
    const v = env[name]?.trim();
    if (!v) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number`);
    return n;
  };
  return {
    databaseUrl: url,
    schema: env.PICTOGRAPH_QUEUE_SCHEMA?.trim() || undefined,
    retryLimit: num('PICTOGRAPH_JOB_RETRIES'),
    retryDelaySeconds: num('PICTOGRAPH_JOB_RETRY_DELAY'),
    expireSeconds: num('PICTOGRAPH_JOB_EXPIRE'),
    maintenanceSeconds: num('PICTOGRAPH_JOB_MAINTENANCE'),
  };
}
